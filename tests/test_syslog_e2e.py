"""Syslog end to end, on a scaled clock: the lab's routers send their syslog
to one `serve` (--syslog.listen-address), a second `serve` only polls, a real
Prometheus with the shipped rules scrapes each. A failover's post-reload walk
lasts less than one poll and is counted by the syslog counters, and the
reload page fires sooner with syslog than with polls alone."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.dashboards import GRAFANA, exprs
from support.inventories import write_inventory
from support.processes import start_serve, stop
from support.prometheus import AlertHistory, PrometheusServer, needs_prometheus, scaled_rules
from support.waiting import wait_until

from ipsec_ha_monitor.demo import free_syslog_port
from ipsec_ha_monitor.lab import Lab, LabThread

pytestmark = [needs_prometheus, pytest.mark.integration]  # the lab, two `serve` and two Prometheus as processes

SCALE = 20  # lab, exporter and rule seconds per real second
POLL_SECONDS = 300.0  # lab seconds between a device's polls: the failover's reload and walk fit in one
SCRAPE = f"{round(15_000 / SCALE)}ms"  # 15 lab seconds: scrapes and rule evaluations


def _config(folder: Path, address: str) -> dict[str, Any]:
    rules = folder / "rules.yml"
    rules.write_text(scaled_rules(SCALE))
    return {
        "global": {"scrape_interval": SCRAPE, "evaluation_interval": SCRAPE},
        "rule_files": [str(rules)],
        "scrape_configs": [
            {"job_name": "ipsecha", "scrape_timeout": SCRAPE, "static_configs": [{"targets": [address]}]}
        ],
    }


def _value(prometheus: PrometheusServer, expr: str) -> float | None:
    result = prometheus.query(expr)
    return float(result[0]["value"][1]) if result else None


@pytest.fixture
def stacks(tmp_path: Path) -> Iterator[tuple[LabThread, dict[str, PrometheusServer]]]:
    port = free_syslog_port("127.0.0.1")
    lab = Lab(pairs=1, branches=1, time_scale=SCALE, syslog_to=("127.0.0.1", port))
    with LabThread(lab) as running:
        inventory = write_inventory(lab, tmp_path / "lab.yml")
        scaled = ("--time.scale", f"{SCALE:g}")
        listening, listening_at = start_serve(
            inventory, f"{POLL_SECONDS:g}", *scaled, "--syslog.listen-address", f"127.0.0.1:{port}"
        )
        polling, polling_at = start_serve(inventory, f"{POLL_SECONDS:g}", *scaled)
        try:
            servers: dict[str, PrometheusServer] = {}
            for name, address in (("syslog", listening_at), ("polls", polling_at)):
                folder = tmp_path / name
                folder.mkdir()
                flags = (f"--query.lookback-delta={round(300_000 / SCALE)}ms",)
                servers[name] = PrometheusServer(folder, _config(folder, address), flags).__enter__()
            try:
                yield running, servers
            finally:
                for server in servers.values():
                    server.__exit__(None, None, None)
        finally:
            stop(listening)
            stop(polling)


def test_a_walk_shorter_than_a_poll_is_counted_and_the_reload_pages_sooner(
    stacks: tuple[LabThread, dict[str, PrometheusServer]],
) -> None:
    running, servers = stacks
    lab = running.lab
    for server in servers.values():
        server.wait_for(
            "the baseline scraped",
            lambda server=server: (
                _value(server, 'ipsecha_redundancy_my_state{device="R2"}') == 13
                and _value(server, 'ipsecha_redundancy_my_state{device="R1"}') == 8
            ),
            60,
        )
    # Start right after the poll-only exporter polled R2: its next poll of R2
    # is then a whole interval away, long after R2 is back (30 lab seconds).
    polls = 'ipsecha_exporter_polls_total{device="R2"}'
    before = _value(servers["polls"], polls) or 0
    wait_until(lambda: (_value(servers["polls"], polls) or 0) > before, POLL_SECONDS / SCALE + 20, "a poll of R2")
    with AlertHistory(servers["syslog"]) as heard, AlertHistory(servers["polls"]) as polled:
        began = time.monotonic()
        running.trigger("failover")
        page = {"alertname": "IpsechaUnexpectedReload", "device": "R2"}
        wait_until(lambda: heard.seen(began, "firing", **page), 60, "the reload page, with syslog")
        wait_until(lambda: polled.seen(began, "firing", **page), POLL_SECONDS / SCALE + 60, "the reload page, polls")
        (with_syslog,) = heard.seen(began, "firing", **page)
        (polls_only,) = polled.seen(began, "firing", **page)
    assert with_syslog.first_firing is not None and polls_only.first_firing is not None
    # Sooner by most of a poll interval (lab seconds: real seconds x SCALE).
    earlier = (polls_only.first_firing - with_syslog.first_firing) * SCALE
    assert earlier > POLL_SECONDS / 3, f"syslog's page only {earlier:.0f} lab s sooner"

    # R2's walk back, from its return to STANDBY HOT, lasted less than a poll...
    steps = {step: at for at, pair, step in lab.timeline if pair == "HUB-PAIR-1"}
    back = next(at for step, at in steps.items() if step.startswith("R2 is back"))
    hot = next(at for step, at in steps.items() if step.startswith("R2 STANDBY HOT"))
    assert hot - back < POLL_SECONDS
    # ...and every step of it is counted in Prometheus, where polls alone see none.
    syslog = servers["syslog"]

    def counted(mnemonic: str) -> float | None:
        return _value(syslog, f'ipsecha_syslog_messages_total{{device="R2",mnemonic="{mnemonic}"}}')

    wait_until(lambda: counted("RF-5-RF_TERMINAL_STATE") == 1, 30, "STANDBY HOT reached, as counted")
    assert (counted("HSRP-5-STATECHANGE") or 0) >= 4  # Init; Listen, Speak, Standby after the reload
    assert counted("SYS-5-RESTART") == counted("RF_INTERDEV-4-RELOAD") == 1
    assert servers["polls"].query("ipsecha_syslog_messages_total") == []
    # The dashboards' syslog panels show it (test_prometheus_e2e's stack runs without syslog).
    panels = [
        expr
        for board in sorted(GRAFANA.glob("*.json"))
        for _, expr in exprs(json.loads(board.read_text()))
        if "ipsecha_syslog" in expr
    ]
    assert panels
    for expr in panels:
        query = expr.replace("$pair", "HUB-PAIR-1").replace("$device", "R1|R2")
        assert syslog.query_range(query, time.time() - 120, time.time(), 1), query
    assert _value(syslog, 'ipsecha_syslog_dropped_total{reason="unknown_source"}') == 0
