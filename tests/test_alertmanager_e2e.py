"""End to end through a real Alertmanager: the lab over SSH, `serve` as a
process, Prometheus with the shipped rules and the example scrape config,
and Alertmanager with the shipped alertmanager.yml, its receivers' webhook
URLs pointed at an HTTP server in this test that records every
notification. Each scenario gets a fresh stack (the rules keep an hour of
history, which would carry one scenario's reload into the next) and asserts
the notification groups it produces: one per incident and pair (per
receiver: critical and warning go apart), holding the alerts the scenario
sets off, less the ones inhibited; and none at baseline.

Scaling, as in test_prometheus_e2e.py: the rules' durations are divided by
RULE_SCALE (15 minutes become 7.5 s) and the lab runs LAB_SCALE times
faster. Alertmanager's group_wait, group_interval and repeat_interval are
divided by the same RULE_SCALE (30 s -> 250 ms, 5 m -> 2.5 s, 4 h -> 2 min),
so that they keep their proportion to the rules' `for:`; the route tree,
the grouping and the inhibitions are the shipped ones."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.alertmanager import (
    AlertmanagerServer,
    Notification,
    WebhookRecorder,
    needs_alertmanager,
    scaled_alertmanager_config,
)
from support.exposition import parse_samples
from support.inventories import write_inventory
from support.processes import start_serve, stop
from support.prometheus import RULES_DIR, PrometheusServer, needs_prometheus, scaled_rules
from support.waiting import wait_until

from monitor.lab import Lab, LabThread

pytestmark = [needs_prometheus, needs_alertmanager, pytest.mark.integration]

RULE_SCALE = 120  # rule minutes -> test half-seconds
AM_SCALE = RULE_SCALE  # Alertmanager's intervals keep their proportion to the rules' `for:`
LAB_SCALE = 2  # a lab failover (about 45 lab seconds) takes about 22 s
INTERVAL = "500ms"  # scrape, rule evaluation and exporter polling
SETTLE = 6.0  # after the expected notifications: over two scaled group_intervals (2.5 s) for stragglers
PAIR = "HUB-PAIR-1"
Group = tuple[str, tuple[tuple[str, str], ...]]  # (receiver, sorted group labels)
CRITICAL: Group = ("ipsecha-critical", (("pair", PAIR),))
WARNING: Group = ("ipsecha-warning", (("pair", PAIR),))
EXPORTER: Group = ("ipsecha-warning", (("alertname", "IpsechaExporterDown"),))


def polled_everything(address: str, devices: set[str]) -> bool:
    """`serve` at `address` reports every device up."""
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
        up = parse_samples(response.read().decode()).get("ipsecha_device_up", {})
    return {dict(key)["device"] for key, value in up.items() if value == 1} == devices


def prometheus_config(folder: Path, exporter: str, alertmanager: str) -> dict[str, Any]:
    """The shipped one-exporter example, fast and local, with the scaled
    rules and an `alerting` section pointing at the test's Alertmanager."""
    config = yaml.safe_load((RULES_DIR / "prometheus.yml").read_text().replace("ipsecha-exporter:9477", exporter))
    rules = folder / "rules.yml"
    rules.write_text(scaled_rules(RULE_SCALE))
    config["global"] = {"scrape_interval": INTERVAL, "evaluation_interval": INTERVAL}
    config["rule_files"] = [str(rules)]
    for job in config["scrape_configs"]:
        job["scrape_interval"] = job["scrape_timeout"] = INTERVAL
    config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    return config


@dataclass
class Stack:
    lab_thread: LabThread
    exporter: subprocess.Popen[str] | None
    prometheus: PrometheusServer
    alertmanager: AlertmanagerServer
    webhook: WebhookRecorder
    started: float = field(default_factory=time.monotonic)
    firing_seen: set[str] = field(default_factory=set)  # in Prometheus
    firing_at: dict[str, float] = field(default_factory=dict)  # first seen firing, seconds since `started`
    suppressed_seen: set[str] = field(default_factory=set)  # in Alertmanager (inhibited)

    def stop_exporter(self) -> None:
        if self.exporter is not None:
            stop(self.exporter)
            self.exporter = None

    def value(self, expr: str) -> float | None:
        result = self.prometheus.query(expr)
        return float(result[0]["value"][1]) if result else None

    def observe(self) -> None:
        for alert in self.prometheus.alerts():
            if alert["state"] == "firing":
                self.firing_seen.add(alert["labels"]["alertname"])
                self.firing_at.setdefault(alert["labels"]["alertname"], round(time.monotonic() - self.started, 1))
        self.suppressed_seen |= {
            a["labels"]["alertname"] for a in self.alertmanager.alerts() if a["status"]["state"] == "suppressed"
        }

    def groups(self) -> dict[Group, list[Notification]]:
        grouped: dict[Group, list[Notification]] = {}
        for notification in self.webhook.received():
            grouped.setdefault(notification.group, []).append(notification)
        return grouped

    def notified(self, group: Group) -> set[str]:
        """Every alert name a group's notifications carried firing."""
        return {name for n in self.groups().get(group, []) for name in n.alertnames("firing")}

    def notified_devices(self, group: Group, alertname: str) -> set[str]:
        """The devices of a group's notified alerts named `alertname`."""
        return {
            alert["labels"].get("device", "")
            for n in self.groups().get(group, [])
            for alert in n.body["alerts"]
            if alert["labels"]["alertname"] == alertname
        }

    def wait_for(self, what: str, condition: Callable[[], bool], timeout: float) -> None:
        def check() -> bool:
            self.observe()
            return condition()

        wait_until(check, timeout, what, interval=0.25, describe=self.describe)

    def settle(self, seconds: float = SETTLE) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.observe()
            time.sleep(0.25)

    def describe(self) -> str:
        """What was notified, for failure messages and the test log."""
        lines = [f"firing in Prometheus (first seen, s): {self.firing_at}; inhibited: {sorted(self.suppressed_seen)}"]
        for n in self.webhook.received():
            alerts = ", ".join(
                f"{a['labels']['alertname']}[{a['labels'].get('device', a['labels'].get('instance', ''))}]"
                f"={a['status']}"
                for a in n.body["alerts"]
            )
            lines.append(f"  +{n.at - self.started:5.1f}s {n.receiver} {dict(n.group[1])} {n.body['status']}: {alerts}")
        return "\n".join(lines)


@contextmanager
def running_stack(folder: Path) -> Iterator[Stack]:
    """A fresh lab, `serve`, Alertmanager and Prometheus, at baseline with
    nothing notified; every process stopped on the way out."""
    with LabThread(Lab(pairs=1, branches=2, time_scale=LAB_SCALE)) as lab_thread, WebhookRecorder() as webhook:
        inventory = write_inventory(lab_thread.lab, folder / "lab.yml")
        exporter, address = start_serve(inventory, "0.5")
        stack: Stack | None = None
        try:
            # Prometheus starts once `serve` has polled every router, or
            # IpsechaExporterDown (no ipsecha_device_up at all) would fire for
            # the first SSH logins: they take longer than its scaled 2.5 s.
            devices = {router.name for router in lab_thread.lab.routers}
            wait_until(lambda: polled_everything(address, devices), 60, "serve to poll every lab router", 0.25)
            config = scaled_alertmanager_config(AM_SCALE, webhook.url)
            with AlertmanagerServer(folder, config) as alertmanager:
                with PrometheusServer(folder, prometheus_config(folder, address, alertmanager.address)) as prometheus:
                    stack = Stack(lab_thread, exporter, prometheus, alertmanager, webhook)
                    stack.wait_for(
                        "the lab's baseline in Prometheus",
                        lambda: (
                            stack.value(f'pair:ipsecha_hsrp_active_members:sum{{pair="{PAIR}"}}') == 1
                            and stack.value('device:ipsecha_rf_active:bool{device="R2"}') == 1
                        ),
                        60,
                    )
                    assert webhook.received() == [], stack.describe()
                    stack.started = time.monotonic()
                    stack.firing_seen.clear()
                    stack.firing_at.clear()
                    stack.suppressed_seen.clear()
                    yield stack
                    print(f"\n{stack.describe()}")
        finally:
            if stack is not None:
                stack.stop_exporter()
            else:
                stop(exporter)


def assert_groups(stack: Stack, expected: dict[Group, tuple[set[str], set[str]]], timeout: float) -> None:
    """Wait until each expected group has notified its required alerts
    (firing), let stragglers arrive, then: exactly the expected groups, each
    with its required alerts and nothing beyond `required | allowed`."""
    stack.wait_for(
        f"notifications {expected}",
        lambda: all(required <= stack.notified(group) for group, (required, _) in expected.items()),
        timeout,
    )
    stack.settle()
    assert set(stack.groups()) == set(expected), stack.describe()
    for group, (required, allowed) in expected.items():
        assert required <= stack.notified(group) <= required | allowed, (group, stack.describe())


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with running_stack(tmp_path) as running:
        yield running


def test_the_baseline_notifies_nothing(stack: Stack) -> None:
    """Past the longest scaled `for:` (7.5 s) and group_wait, nothing."""
    stack.settle(9)
    assert stack.webhook.received() == []
    assert stack.alertmanager.alerts() == []


def test_failover_is_one_critical_and_one_warning_group(stack: Stack) -> None:
    stack.lab_thread.trigger("failover")
    stack.wait_for("R2 back and STANDBY HOT", lambda: stack.value('ipsecha_redundancy_my_state{device="R2"}') == 8, 90)
    # Scaled, the lab's R2 is out for about half an hour of rule time (30
    # lab seconds, 15 real ones, against 7.5 s for the peer alert's 15
    # minutes): the peer alert fires and is notified before R2 is back and
    # the reload alert can inhibit it; once the reload alert fires, the peer
    # alert is inhibited until it resolves. R2 answers no poll meanwhile.
    assert_groups(
        stack,
        {
            CRITICAL: ({"IpsechaPeerNotStandbyHot", "IpsechaUnexpectedReload"}, {"IpsechaHsrpActiveNotRfActive"}),
            WARNING: ({"IpsechaDeviceNotPolled"}, set()),
        },
        60,
    )
    assert stack.notified_devices(CRITICAL, "IpsechaUnexpectedReload") == {"R2"}, stack.describe()
    # Still firing (R2 rejoining) when the reload alert fired, and held.
    assert "IpsechaPeerNotStandbyHot" in stack.suppressed_seen, stack.describe()


def test_preempt_is_one_critical_and_one_warning_group(stack: Stack) -> None:
    stack.lab_thread.trigger("preempt")
    # R2 fails and R1 takes over; R2 comes back, preempts HSRP before its
    # SAs are synced, R1 self-reloads and R2 is RF ACTIVE without SAs (the
    # branches send on SPIs it never learnt) until they renegotiate; R1
    # rejoins last.
    stack.wait_for("R1 RF ACTIVE", lambda: stack.value('device:ipsecha_rf_active:bool{device="R1"}') == 1, 30)
    stack.wait_for("R2 RF ACTIVE again", lambda: stack.value('device:ipsecha_rf_active:bool{device="R2"}') == 1, 90)
    stack.wait_for("R1 back and STANDBY HOT", lambda: stack.value('ipsecha_redundancy_my_state{device="R1"}') == 8, 90)
    # As in the failover, the peer alert is notified before R2 is back; R1's
    # reload then falls inside R2's reload alert, which inhibits it. R2 is
    # HSRP active half a lab second before it is RF ACTIVE, which may just
    # reach the scaled 2 minutes.
    assert_groups(
        stack,
        {
            CRITICAL: (
                {"IpsechaPeerNotStandbyHot", "IpsechaUnexpectedReload", "IpsechaBranchSaMissing"},
                {"IpsechaHsrpActiveNotRfActive"},
            ),
            WARNING: (
                {"IpsechaHsrpPreemptOnStatefulGroup", "IpsechaDeviceNotPolled", "IpsechaIpsecErrorsRising"},
                set(),
            ),
        },
        60,
    )
    assert stack.notified_devices(CRITICAL, "IpsechaUnexpectedReload") == {"R1", "R2"}, stack.describe()
    assert stack.notified_devices(WARNING, "IpsechaDeviceNotPolled") == {"R1", "R2"}, stack.describe()


def test_simplex_is_one_critical_group(stack: Stack) -> None:
    stack.lab_thread.trigger("simplex")
    # No reload: nothing inhibits the aftermath alerts, all three are the fault.
    assert_groups(
        stack,
        {CRITICAL: ({"IpsechaPairSimplex", "IpsechaIpcCommunicationsDown", "IpsechaPeerNotStandbyHot"}, set())},
        60,
    )


def test_split_brain_inhibits_hsrp_active_not_rf_active(stack: Stack) -> None:
    stack.lab_thread.trigger("split-brain")
    assert_groups(stack, {CRITICAL: ({"IpsechaHsrpSplitBrain"}, set())}, 30)
    # R1 HSRP active while R2 is RF ACTIVE: it fires in Prometheus, and
    # Alertmanager holds it inhibited.
    assert "IpsechaHsrpActiveNotRfActive" in stack.firing_seen, stack.describe()
    assert "IpsechaHsrpActiveNotRfActive" in stack.suppressed_seen, stack.describe()


def test_sa_loss_is_one_critical_group(stack: Stack) -> None:
    stack.lab_thread.trigger("sa-loss")
    assert_groups(stack, {CRITICAL: ({"IpsechaBranchSaMissing"}, set())}, 30)
    (notification, *_) = stack.groups()[CRITICAL]
    lost = stack.lab_thread.lab.pair().branches[0].outside_ip
    assert {a["labels"]["peer"] for a in notification.body["alerts"]} == {lost}


def test_the_exporter_killed_is_one_exporter_down_group(stack: Stack) -> None:
    stack.stop_exporter()
    # Every device's StaleData fires with it (their series stopped), inhibited.
    stack.wait_for("IpsechaStaleData inhibited", lambda: "IpsechaStaleData" in stack.suppressed_seen, 30)
    assert_groups(stack, {EXPORTER: ({"IpsechaExporterDown"}, set())}, 30)
    assert len(stack.groups()[EXPORTER]) == 1, "one notification: nothing joined or changed"
    stale = [a for a in stack.alertmanager.alerts() if a["labels"]["alertname"] == "IpsechaStaleData"]
    devices = {router.name for router in stack.lab_thread.lab.routers}
    assert {a["labels"]["device"] for a in stale} == devices
    assert all(a["status"]["state"] == "suppressed" for a in stale)


def test_the_active_hub_unreachable_is_one_critical_and_one_warning_group(stack: Stack) -> None:
    lab = stack.lab_thread.lab
    active = lab.pair().r2  # RF ACTIVE at baseline
    # As a reload does (Lab._set_reachable): the router is marked down and
    # its SSH server stops listening, so the exporter's connections are
    # refused. Its peer stays STANDBY HOT: nothing takes over.
    active.reachable = False
    stack.lab_thread.run(lab.servers[active.name].stop())
    assert_groups(
        stack,
        {CRITICAL: ({"IpsechaPairNotOneRfActive"}, set()), WARNING: ({"IpsechaDeviceNotPolled"}, set())},
        30,
    )
