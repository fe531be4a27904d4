"""End to end with a real Prometheus: the lab over SSH, `serve` as a
process, and Prometheus on 127.0.0.1 scraping it with the shipped example
config and rules (durations scaled down 120x, so the rules' 15 minutes are
7.5 s). Alerts are read through Prometheus's HTTP API; every dashboard
query runs against the same server. The scale-out example runs two `serve
--poll-interval 0` replicas behind one Prometheus."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.dashboards import GRAFANA, exprs
from support.exposition import parse_samples
from support.inventories import write_inventory
from support.processes import start_serve, stop
from support.prometheus import RULES_DIR, PrometheusServer, needs_prometheus, scaled_rules

from monitor.lab import Lab, LabThread

pytestmark = [needs_prometheus, pytest.mark.integration]  # the lab, `serve` and Prometheus as processes

RULE_SCALE = 120  # rule minutes -> test half-seconds
LAB_SCALE = 2  # a lab failover (about 45 lab seconds) takes about 22 s
INTERVAL = "500ms"  # scrape, rule evaluation and exporter polling
DASHBOARDS = sorted(GRAFANA.glob("*.json"))


def example_config(
    name: str, folder: Path, addresses: dict[str, str], scrape: tuple[str, str] = (INTERVAL, INTERVAL)
) -> dict[str, Any]:
    """A shipped example config, made fast and local: rule evaluation every
    INTERVAL, the scaled rules, scrapes every `scrape` (interval, timeout),
    the placeholder exporter hosts replaced."""
    text = (RULES_DIR / name).read_text()
    for placeholder, address in addresses.items():
        text = text.replace(placeholder, address)
    config = yaml.safe_load(text)
    rules = folder / "rules.yml"
    rules.write_text(scaled_rules(RULE_SCALE))
    config["global"] = {"scrape_interval": INTERVAL, "evaluation_interval": INTERVAL}
    config["rule_files"] = [str(rules)]
    for job in config["scrape_configs"]:
        job["scrape_interval"], job["scrape_timeout"] = scrape
        for sd in job.get("http_sd_configs", []):
            sd["refresh_interval"] = "1s"
    return config


@dataclass
class Stack:
    lab_thread: LabThread
    prometheus: PrometheusServer
    started: float
    firing_seen: set[str] = field(default_factory=set)
    failover_done: bool = False

    def trigger(self, scenario: str) -> None:
        self.lab_thread.trigger(scenario)

    def watch(self, what: str, condition: Any, timeout: float) -> None:
        """Wait for `condition(alerts)`, noting every alert seen firing meanwhile."""

        def check() -> bool:
            alerts = self.prometheus.alerts()
            self.firing_seen |= {a["labels"]["alertname"] for a in alerts if a["state"] == "firing"}
            return condition(alerts)

        self.prometheus.wait_for(what, check, timeout)

    def failover(self) -> None:
        """The failover scenario, watched until the pair is whole again."""
        self.trigger("failover")
        self.watch("R1 RF ACTIVE", lambda _: self.value('device:ipsecha_rf_active:bool{device="R1"}') == 1, 20)
        self.watch("R2 back and STANDBY HOT", lambda _: self.value('ipsecha_redundancy_my_state{device="R2"}') == 8, 60)
        self.failover_done = True

    def value(self, expr: str) -> float | None:
        result = self.prometheus.query(expr)
        return float(result[0]["value"][1]) if result else None


def firing(alerts: list[dict[str, Any]], alertname: str, **labels: str) -> bool:
    return any(
        a["state"] == "firing"
        and a["labels"]["alertname"] == alertname
        and all(a["labels"].get(k) == v for k, v in labels.items())
        for a in alerts
    )


def listed(alerts: list[dict[str, Any]], alertname: str) -> bool:
    return any(a["labels"]["alertname"] == alertname for a in alerts)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("e2e")
    with LabThread(Lab(pairs=1, branches=2, time_scale=LAB_SCALE)) as lab_thread:
        inventory = write_inventory(lab_thread.lab, folder / "lab.yml")
        exporter, address = start_serve(inventory, "0.5")
        try:
            config = example_config("prometheus.yml", folder, {"ipsecha-exporter:9477": address})
            with PrometheusServer(folder, config) as prometheus:
                running = Stack(lab_thread, prometheus, time.time())
                prometheus.wait_for(
                    "the lab's baseline in Prometheus",
                    lambda: (
                        running.value('pair:ipsecha_hsrp_active_members:sum{pair="HUB-PAIR-1"}') == 1
                        and running.value('device:ipsecha_rf_active:bool{device="R2"}') == 1
                    ),
                    60,
                )
                yield running
        finally:
            stop(exporter)


def test_the_baseline_fires_nothing(stack: Stack) -> None:
    """Past the longest scaled `for:` (15m / 120 = 7.5 s), nothing is even pending."""
    deadline = time.monotonic() + 9
    while time.monotonic() < deadline:
        assert stack.prometheus.alerts() == []
        time.sleep(0.5)


def test_failover_pages_the_reload_and_the_peer_then_resolves(stack: Stack) -> None:
    stack.trigger("failover")
    reload_r2 = {"device": "R2", "pair": "HUB-PAIR-1"}
    stack.watch(
        "IpsechaPeerNotStandbyHot on R1 (R2 reloading)",
        lambda alerts: firing(alerts, "IpsechaPeerNotStandbyHot", device="R1", pair="HUB-PAIR-1"),
        30,
    )
    stack.watch(
        "IpsechaUnexpectedReload on R2",
        lambda alerts: firing(alerts, "IpsechaUnexpectedReload", **reload_r2, reason="reload"),
        60,
    )
    stack.watch("IpsechaPeerNotStandbyHot resolved", lambda a: not listed(a, "IpsechaPeerNotStandbyHot"), 60)
    # It resolved because R2 is STANDBY HOT, as R1 reports it.
    assert stack.value('ipsecha_redundancy_peer_state{device="R1"}') == 8
    assert stack.value('ipsecha_redundancy_my_state{device="R2"}') == 8
    # The reload stays for its (scaled) hour, then resolves.
    stack.watch("IpsechaUnexpectedReload resolved", lambda a: not listed(a, "IpsechaUnexpectedReload"), 60)
    stack.failover_done = True
    # The lab's failover lasts about 45 minutes in the scaled rules' terms
    # (R2 answers no poll for half an hour of it): the peer and not-polled
    # alerts are right to fire. R1 is HSRP active half a lab second before
    # it is RF ACTIVE, which may just reach the scaled 2 minutes. Nothing else.
    assert {"IpsechaPeerNotStandbyHot", "IpsechaUnexpectedReload"} <= stack.firing_seen
    allowed = {"IpsechaPeerNotStandbyHot", "IpsechaUnexpectedReload", "IpsechaDeviceNotPolled"}
    assert stack.firing_seen - allowed - {"IpsechaHsrpActiveNotRfActive"} == set()


def test_split_brain_and_sa_loss_fire_their_alerts(stack: Stack) -> None:
    stack.trigger("split-brain")
    stack.watch("IpsechaHsrpSplitBrain", lambda alerts: firing(alerts, "IpsechaHsrpSplitBrain", pair="HUB-PAIR-1"), 30)
    stack.trigger("baseline")
    stack.watch("split brain healed", lambda alerts: not listed(alerts, "IpsechaHsrpSplitBrain"), 30)
    lost = stack.lab_thread.lab.pair().branches[0].outside_ip
    active = stack.lab_thread.lab.pair().r2.name  # the baseline's RF-active hub
    stack.trigger("sa-loss")
    stack.watch(
        f"IpsechaBranchSaMissing toward {lost}",
        lambda alerts: firing(alerts, "IpsechaBranchSaMissing", device=active, peer=lost),
        30,
    )
    others = [b.outside_ip for b in stack.lab_thread.lab.pair().branches[1:]]
    assert not any(firing(stack.prometheus.alerts(), "IpsechaBranchSaMissing", peer=peer) for peer in others), (
        "only the lost branch's SA is missing"
    )
    stack.trigger("baseline")


def substituted(expr: str, elapsed: float) -> str:
    """Template variables as Grafana fills them in: the lab's pair, its
    hubs, and intervals that span several scrapes."""
    values = {
        "$pair": "HUB-PAIR-1",
        "$device": "R1|R2",
        "$__rate_interval": "4s",
        "$__interval": "1s",
        "$__range": f"{int(elapsed)}s",
    }
    for name, value in sorted(values.items(), key=lambda item: -len(item[0])):
        expr = expr.replace(name, value).replace("${" + name[1:] + "}", value)
    assert "$" not in expr, f"a template variable the test does not know: {expr}"
    return expr


def test_every_dashboard_query_returns_data(stack: Stack) -> None:
    assert len(DASHBOARDS) >= 2, DASHBOARDS
    if not stack.failover_done:  # the reload and switchover annotations need one
        stack.failover()
    end = time.time()
    empty, count = [], 0
    for path in DASHBOARDS:
        for where, expr in exprs(json.loads(path.read_text())):
            count += 1
            query = substituted(expr, end - stack.started)
            if not stack.prometheus.query_range(query, stack.started, end, 1):
                empty.append(f"{path.name}: {where}: {query}")
    assert count >= 10
    assert empty == []


def test_every_dashboard_variable_query_finds_values(stack: Stack) -> None:
    for path in DASHBOARDS:
        for variable in json.loads(path.read_text())["templating"]["list"]:
            query = variable.get("query")
            query = query.get("query") if isinstance(query, dict) else query
            match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query or "")
            if match is None:
                continue
            selector, label = match.groups()
            result = stack.prometheus.query(substituted(selector, 60))
            assert {series["metric"].get(label) for series in result} - {None}, (path.name, variable["name"])


def test_scale_out_polls_each_device_on_exactly_one_replica(tmp_path: Path) -> None:
    with LabThread(Lab(pairs=2, branches=2, time_scale=10)) as lab_thread:
        inventory = write_inventory(lab_thread.lab, tmp_path / "lab.yml")
        devices = {router.name for router in lab_thread.lab.routers}
        replicas: list[tuple[subprocess.Popen[str], str]] = []
        try:
            for _ in range(2):
                replicas.append(start_serve(inventory, "0"))
            addresses = {f"ipsecha-exporter-{n}:9477": address for n, (_, address) in enumerate(replicas)}
            # A probe polls over SSH: a 2 s scrape (1.5 s timeout) leaves it 1 s.
            config = example_config("prometheus-scale-out.yml", tmp_path, addresses, ("2s", "1500ms"))
            with PrometheusServer(tmp_path, config) as prometheus:
                prometheus.wait_for(
                    "every lab device scraped",
                    lambda: {s["metric"]["device"] for s in prometheus.query("ipsecha_device_up == 1")} == devices,
                    60,
                )
                per_device = {
                    s["metric"]["device"]: float(s["value"][1])
                    for s in prometheus.query("count by (device) (ipsecha_device_up)")
                }
                assert per_device == dict.fromkeys(devices, 1.0)
                # Each device is an active target of exactly one replica's job...
                jobs: dict[str, set[str]] = {}
                for target in prometheus.targets()["activeTargets"]:
                    jobs.setdefault(target["labels"]["instance"], set()).add(target["labels"]["job"])
                assert set(jobs) == devices and all(len(names) == 1 for names in jobs.values()), jobs
                assert len({job for names in jobs.values() for job in names}) == 2, "both replicas have a shard"
                # ... both hubs of a pair on the same one, so the pair is judged whole...
                for pair in lab_thread.lab.pairs:
                    assert len({next(iter(jobs[hub.name])) for hub in pair.hubs}) == 1
                    verdict = prometheus.query(f'max(ipsecha_pair_verdict{{pair="{pair.name}",verdict="healthy"}})')
                    assert float(verdict[0]["value"][1]) == 1
                # ... and the rules see one RF-active member per pair.
                pairs = {pair.name: 1.0 for pair in lab_thread.lab.pairs}
                prometheus.wait_for(
                    "one RF-active member per pair in the recording rules",
                    lambda: (
                        {
                            s["metric"]["pair"]: float(s["value"][1])
                            for s in prometheus.query("pair:ipsecha_rf_active_members:sum")
                        }
                        == pairs
                    ),
                    10,
                )
            # Each replica logged in only to its own shard (no background polling).
            polled: dict[str, int] = {}
            for _, address in replicas:
                with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
                    samples = parse_samples(response.read().decode())
                for device in {dict(key)["device"] for key in samples.get("ipsecha_exporter_polls_total", {})}:
                    polled[device] = polled.get(device, 0) + 1
            assert polled == dict.fromkeys(devices, 1)
        finally:
            for process, _ in replicas:
                stop(process)
