"""IOS-XE box-to-box pairs end to end, with a real Prometheus: the lab's XE
pairs over SSH, `serve` as a process, and Prometheus with the shipped
example config and rules, on one clock (SCALE times faster than production;
see tests/test_prometheus_e2e.py for what scales and what does not).

Each XE scenario plays on its own pair of one lab, all started together
once the baseline is quiet, so that their hour-long windows run side by
side; the lab's classic pair plays nothing and stays quiet. A thread records
every alert Prometheus lists, and each scenario's pair must have fired
exactly the alerts it expects (alertname, device and cause), no more."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from support.dashboards import exprs
from support.inventories import write_inventory
from support.processes import start_serve, stop
from support.prometheus import AlertHistory, PrometheusServer, needs_prometheus
from test_prometheus_e2e import (
    DASHBOARDS,
    LOOKBACK_SECONDS,
    POLL_SECONDS,
    SCALE,
    SLACK,
    duration,
    example_config,
    real,
    substituted,
)

from ipsec_ha_monitor.lab import Lab, LabThread

pytestmark = [needs_prometheus, pytest.mark.integration]  # the lab, `serve` and Prometheus as processes

MINUTE = 60.0  # lab seconds
# The longest `for:` among the alerts these scenarios set off
# (IpsechaDeviceNotPolled's 10 minutes), and time to spare beyond it.
LONGEST_FOR = 10 * MINUTE
Key = tuple[str, str]  # (alertname, device or "" for a pair's alert)


@dataclass(frozen=True)
class Scenario:
    name: str
    # (alertname, which hub: "active" or "standby" at baseline, or "" for a
    # pair's alert)
    pages: frozenset[tuple[str, str]]
    # A reload the scenario makes: (which hub, its cause in ipsecha_reload_info).
    reload: tuple[str, str] | None = None
    within: float = LONGEST_FOR  # lab seconds after the start by which they have all fired


SCENARIOS = {
    # A priority change alone fails over only with `preempt`: the takeover is the page.
    "xe-failover-priority": Scenario("xe-failover-priority", frozenset({("IpsechaRgPreempted", "")})),
    # The active's group faults: a fault switchover, and the group reloads the
    # box, which comes back as the standby within the peer's hold and the
    # alerts' `for:` (nothing else pages).
    "xe-failover-fault": Scenario(
        "xe-failover-fault", frozenset({("IpsechaUnexpectedReload", "active")}), reload=("active", "rg_reload")
    ),
    "xe-standby-reload": Scenario(
        "xe-standby-reload", frozenset({("IpsechaUnexpectedReload", "standby")}), reload=("standby", "rg_reload")
    ),
    # Both boxes ACTIVE, neither hears the other (its hellos lost), and both
    # answer for the VIPs.
    "xe-control-link-cut": Scenario(
        "xe-control-link-cut",
        frozenset(
            {
                ("IpsechaRgSplitBrain", ""),
                ("IpsechaRgPeerLost", "active"),
                ("IpsechaRgPeerLost", "standby"),
                ("IpsechaRgVipOnBoth", ""),
                ("IpsechaRgControlLinkErrors", "active"),
                ("IpsechaRgControlLinkErrors", "standby"),
            }
        ),
    ),
    # The standby is dark: the active has no peer to fail over to, and the
    # monitor cannot poll the standby. (Its peer RF state is judged only while
    # both members answer: an unpolled peer pages as not polled.)
    "xe-peer-power-off": Scenario(
        "xe-peer-power-off",
        frozenset({("IpsechaRgPeerLost", "active"), ("IpsechaDeviceNotPolled", "standby")}),
    ),
    # A tracked interface falls: the runtime priority drops below the configured one.
    "xe-track-down": Scenario("xe-track-down", frozenset({("IpsechaRgPriorityDecremented", "active")})),
    # Three operator reloads of the standby within the hour: expected each, a loop together.
    "xe-reload-loop": Scenario("xe-reload-loop", frozenset({("IpsechaReloadLoop", "standby")})),
}
XE_PAIRS = len(SCENARIOS)


@dataclass
class Stack:
    lab_thread: LabThread
    prometheus: PrometheusServer
    history: AlertHistory
    started: float  # time.time(): the start of the dashboards' range

    @property
    def lab(self) -> Lab:
        return self.lab_thread.lab


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("xe-e2e")
    lab = Lab(pairs=1, xe_pairs=XE_PAIRS, branches=1, time_scale=SCALE)
    with LabThread(lab) as lab_thread:
        inventory = write_inventory(lab, folder / "lab.yml")
        exporter, address = start_serve(inventory, f"{POLL_SECONDS:g}", "--time.scale", f"{SCALE:g}")
        try:
            config = example_config("prometheus.yml", folder, {"ipsecha-exporter:9477": address})
            flags = (f"--query.lookback-delta={duration(LOOKBACK_SECONDS)}",)
            with PrometheusServer(folder, config, flags) as prometheus:
                xe_pairs = {pair.name for pair in lab.pairs if pair.mode == "b2b"}
                assert len(xe_pairs) == XE_PAIRS
                prometheus.wait_for(
                    "every XE pair with one ACTIVE box in Prometheus",
                    lambda: (
                        {
                            series["metric"]["pair"]
                            for series in prometheus.query('sum by (pair) (ipsecha_rg_role{role="active"}) == 1')
                        }
                        >= xe_pairs
                    ),
                    60,
                )
                # Prometheus evaluates rules before its first scrape: wait out
                # the start's IpsechaExporterDown.
                prometheus.wait_for("the startup's alerts gone", lambda: prometheus.alerts() == [], 30)
                with AlertHistory(prometheus) as history:
                    yield Stack(lab_thread, prometheus, history, time.time())
        finally:
            stop(exporter)


def _hubs(lab: Lab, pair: str) -> dict[str, str]:
    """{"active": name, "standby": name} at baseline."""
    from ipsec_ha_monitor.lab.xe_topology import rg

    hubs = lab.pair(pair).hubs
    active = next(hub for hub in hubs if rg(hub).role == "Active")
    return {"active": active.name, "standby": next(hub.name for hub in hubs if hub is not active), "": ""}


def test_xe_scenarios_page_what_they_should_and_nothing_else(stack: Stack) -> None:
    """Past the baseline's longest `for:` nothing is even pending; then every
    scenario, each on its pair, fires exactly its expected alerts."""
    time.sleep(real(LONGEST_FOR) + 2)
    assert stack.history.listed_now() == [], "the baseline set off alerts"
    xe_pairs = [pair.name for pair in stack.lab.pairs if pair.mode == "b2b"]
    expected: dict[str, set[Key]] = {}
    reloads: dict[str, str] = {}  # device -> the cause its reload must be recorded with
    for pair, scenario in zip(xe_pairs, SCENARIOS.values(), strict=True):
        hubs = _hubs(stack.lab, pair)
        expected[pair] = {(alert, hubs[hub]) for alert, hub in scenario.pages}
        if scenario.reload is not None:
            reloads[hubs[scenario.reload[0]]] = scenario.reload[1]
    began = time.monotonic()
    for pair, scenario in zip(xe_pairs, SCENARIOS.values(), strict=True):
        stack.lab_thread.trigger(scenario.name, pair)

    def fired(pair: str) -> set[Key]:
        return {
            (alert.labels["alertname"], alert.labels.get("device", ""))
            for alert in stack.history.seen(began, "firing", pair=pair)
        }

    deadline = began + real(max(s.within for s in SCENARIOS.values())) + SLACK
    while time.monotonic() < deadline and any(not expected[pair] <= fired(pair) for pair in xe_pairs):
        time.sleep(0.25)
    # Time for anything unexpected to show up as well: the scenarios' longest `for:` again.
    time.sleep(real(LONGEST_FOR))
    wrong = {
        f"{scenario.name} on {pair}": {"missing": sorted(expected[pair] - got), "extra": sorted(got - expected[pair])}
        for pair, scenario in zip(xe_pairs, SCENARIOS.values(), strict=True)
        if (got := fired(pair)) != expected[pair]
    }
    assert not wrong, "\n".join(f"{name}: {diff}" for name, diff in wrong.items())
    classic = stack.lab.pairs[0].name
    assert fired(classic) == set(), "the classic pair played nothing"
    # The reload alert names its cause from ipsecha_reload_info: a reload by
    # the group is recorded as rg_reload, counted as unexpected.
    for device, cause in reloads.items():
        causes = {  # of the boot it runs now, the one the reload began
            series["metric"]["cause"] for series in stack.prometheus.query(f'ipsecha_reload_info{{device="{device}"}}')
        }
        assert causes == {cause}, (device, causes)
        unexpected = stack.prometheus.query(f'ipsecha_reloads_total{{device="{device}",expected="false"}}')
        assert [float(series["value"][1]) for series in unexpected] == [1.0], (device, unexpected)


def test_every_box_to_box_dashboard_query_returns_data(stack: Stack) -> None:
    """The dashboards' box-to-box panels, as Grafana would query them for
    the pair whose roles changed hands (xe-failover-priority's, played by
    the test above), over the run so far: none is empty."""
    pair = next(pair for pair in stack.lab.pairs if pair.mode == "b2b")
    devices = "|".join(hub.name for hub in pair.hubs)
    end = time.time()
    empty, count = [], 0
    for path in DASHBOARDS:
        for where, expr in exprs(json.loads(path.read_text())):
            if "ipsecha_rg_" not in expr:
                continue
            count += 1
            query = substituted(expr, end - stack.started, pair.name, devices)
            if not stack.prometheus.query_range(query, stack.started, end, 1):
                empty.append(f"{path.name}: {where}: {query}")
    assert count >= 5
    assert empty == []
