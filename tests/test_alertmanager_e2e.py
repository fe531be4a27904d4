"""End to end through a real Alertmanager: the lab over SSH, `serve` as a
process, Prometheus with the shipped rules and the example scrape config,
and Alertmanager with the shipped alertmanager.yml, its receivers' webhook
URLs pointed at an HTTP server in this test that records every
notification. Each scenario gets a fresh stack (the rules keep an hour of
history, which would carry one scenario's reload into the next) and asserts
the notification groups it produces: one per incident and pair (per
receiver: critical and warning go apart), holding the alerts the scenario
sets off, less the ones inhibited; and none at baseline.

One clock: everything that measures time runs SCALE times faster than in
production (60: a lab minute per real second). The lab's clock; `serve`'s
(`--time.scale`: its 30 s poll interval, data age and the resolution of
the reload alert's `boot` label); every duration of the rules (15 minutes
become 15 s); Alertmanager's group_wait, group_interval and repeat_interval
(30 s -> 500 ms, 5 m -> 5 s, 4 h -> 4 min), so that they keep their
proportion to the rules' `for:`; Prometheus's scrapes and evaluations (30
lab s: 500 ms) and its lookback delta. So a lab failover
pages what a real one would: the reload, not the half-hour outage it read
as when the rules ran 60 times faster than the lab. The route tree, the
grouping and the inhibitions are the shipped ones."""

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
    Group,
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

from ipsec_ha_monitor.lab import Lab, LabThread

pytestmark = [needs_prometheus, needs_alertmanager, pytest.mark.integration]

SCALE = 60  # lab, rule and Alertmanager seconds per real second
POLL_SECONDS = 30.0  # lab seconds: serve's default --poll-interval, the example config's scrape and evaluation
LOOKBACK_SECONDS = 300.0  # Prometheus's default --query.lookback-delta
SETTLE = 11.0  # after the expected notifications: over two scaled group_intervals (5 s) for stragglers


def real(lab_seconds: float) -> float:
    """Real seconds for a lab (or rule) duration."""
    return lab_seconds / SCALE


def duration(lab_seconds: float) -> str:
    """A Prometheus duration for a lab one."""
    return f"{round(real(lab_seconds) * 1000)}ms"


INTERVAL = duration(POLL_SECONDS)  # scrape, rule evaluation and exporter polling: 500ms
PAIR = "HUB-PAIR-1"
CRITICAL: Group = ("ipsecha-critical", (("pair", PAIR),))
WARNING: Group = ("ipsecha-warning", (("pair", PAIR),))
EXPORTER: Group = ("ipsecha-warning", (("alertname", "IpsechaExporterDown"),))


def polled_everything(address: str, devices: set[str]) -> bool:
    """`serve` at `address` reports every device up."""
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
        up = parse_samples(response.read().decode()).get("ipsecha_device_up", {})
    return {dict(key)["device"] for key, value in up.items() if value == 1} == devices


def prometheus_config(folder: Path, exporter: str, alertmanager: str) -> dict[str, Any]:
    """The shipped one-exporter example, fast and local, with an `alerting`
    section pointing at the test's Alertmanager. Its rule file starts empty:
    load_rules() fills it in once Prometheus has scraped the exporter."""
    config = yaml.safe_load((RULES_DIR / "prometheus.yml").read_text().replace("ipsecha-exporter:9477", exporter))
    rules = folder / "rules.yml"
    rules.write_text("groups: []\n")
    config["global"] = {"scrape_interval": INTERVAL, "evaluation_interval": INTERVAL}
    config["rule_files"] = [str(rules)]
    for job in config["scrape_configs"]:
        job["scrape_interval"] = job["scrape_timeout"] = INTERVAL
    config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    return config


def load_rules(folder: Path, prometheus: PrometheusServer) -> None:
    """The scaled rules in the rule file, and Prometheus reloaded. Not at its
    start: Prometheus evaluates rules from its first second but applies its
    scrape targets after about 5 s (5 lab minutes), so the rules would read
    no data at all for IpsechaExporterDown's 5 minutes, and notify it."""
    (folder / "rules.yml").write_text(scaled_rules(SCALE))
    request = urllib.request.Request(f"{prometheus.url}/-/reload", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def start_exporter(inventory: Path, listen: str = "127.0.0.1:0") -> tuple[subprocess.Popen[str], str]:
    """`serve` on the lab's clock: polling every 30 lab seconds (0.5 s)."""
    return start_serve(inventory, f"{POLL_SECONDS:g}", "--time.scale", f"{SCALE:g}", listen=listen)


@dataclass
class Stack:
    lab_thread: LabThread
    exporter: subprocess.Popen[str] | None
    inventory: Path
    address: str  # serve's host:port, the one Prometheus scrapes
    prometheus: PrometheusServer
    alertmanager: AlertmanagerServer
    webhook: WebhookRecorder
    started: float = field(default_factory=time.monotonic)
    firing_seen: set[str] = field(default_factory=set)  # in Prometheus
    firing_at: dict[str, float] = field(default_factory=dict)  # first seen firing, seconds since `started`
    suppressed_seen: set[str] = field(default_factory=set)  # in Alertmanager (inhibited)
    # Each alert (its sorted labels) first seen firing in Prometheus, time.monotonic().
    alert_firing_at: dict[tuple[tuple[str, str], ...], float] = field(default_factory=dict)

    def stop_exporter(self) -> None:
        if self.exporter is not None:
            stop(self.exporter)
            self.exporter = None

    def restart_exporter(self) -> None:
        """`serve` again, on the address Prometheus scrapes."""
        assert self.exporter is None
        self.exporter, address = start_exporter(self.inventory, listen=self.address)
        assert address == self.address

    def value(self, expr: str) -> float | None:
        result = self.prometheus.query(expr)
        return float(result[0]["value"][1]) if result else None

    def observe(self) -> None:
        for alert in self.prometheus.alerts():
            if alert["state"] == "firing":
                self.firing_seen.add(alert["labels"]["alertname"])
                self.alert_firing_at.setdefault(tuple(sorted(alert["labels"].items())), time.monotonic())
                self.firing_at.setdefault(alert["labels"]["alertname"], round(time.monotonic() - self.started, 1))
        self.suppressed_seen |= {
            a["labels"]["alertname"] for a in self.alertmanager.alerts() if a["status"]["state"] == "suppressed"
        }

    def groups(self) -> dict[Group, list[Notification]]:
        return self.webhook.groups()

    def notifications(self, group: Group, status: str | None = None) -> list[Notification]:
        """A group's notifications, or those whose overall status is `status`."""
        return self.webhook.of(group, status)

    def resolved(self, group: Group) -> set[str]:
        """Every alert name a group's notifications carried resolved."""
        return {name for n in self.groups().get(group, []) for name in n.alertnames("resolved")}

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
    with LabThread(Lab(pairs=1, branches=2, time_scale=SCALE)) as lab_thread, WebhookRecorder() as webhook:
        inventory = write_inventory(lab_thread.lab, folder / "lab.yml")
        exporter, address = start_exporter(inventory)
        stack: Stack | None = None
        try:
            # Prometheus starts once `serve` has polled every router, or
            # IpsechaExporterDown (no ipsecha_device_up at all) would fire for
            # the first SSH logins: they take longer than its scaled 5 s.
            devices = {router.name for router in lab_thread.lab.routers}
            wait_until(lambda: polled_everything(address, devices), 60, "serve to poll every lab router", 0.25)
            config = scaled_alertmanager_config(SCALE, webhook.url)
            flags = (
                f"--query.lookback-delta={duration(LOOKBACK_SECONDS)}",
                f"--rules.alert.resend-delay={duration(60)}",  # its default minute, scaled
                "--web.enable-lifecycle",  # for load_rules()
            )
            with AlertmanagerServer(folder, config) as alertmanager:
                prometheus_server = PrometheusServer(
                    folder, prometheus_config(folder, address, alertmanager.address), flags
                )
                with prometheus_server as prometheus:
                    stack = Stack(lab_thread, exporter, inventory, address, prometheus, alertmanager, webhook)
                    stack.wait_for(
                        "Prometheus to scrape every lab router",
                        lambda: stack.value("count(ipsecha_device_up == 1)") == len(devices),
                        60,
                    )
                    load_rules(folder, prometheus)
                    # The reload rediscovers the Alertmanager: alerts sent
                    # before it is known again would wait for a resend.
                    stack.wait_for(
                        "Prometheus to know its Alertmanager",
                        lambda: bool(prometheus.api("alertmanagers")["activeAlertmanagers"]),
                        30,
                    )
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
                    stack.alert_firing_at.clear()
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
    """Past the longest scaled `for:` (15 s) and group_wait, nothing."""
    stack.settle(real(16 * 60))
    assert stack.webhook.received() == []
    assert stack.alertmanager.alerts() == []


def test_failover_is_one_critical_group_the_reload(stack: Stack) -> None:
    """The RF-active R2 fails and self-reloads, R1 takes over, R2 is back
    STANDBY HOT within a lab minute: one page, the RF self-reload. Its peer
    was not STANDBY HOT for well under 15 minutes, it answered no poll for
    well under 10: nothing else."""
    stack.lab_thread.trigger("failover")
    stack.wait_for("R2 back and STANDBY HOT", lambda: stack.value('ipsecha_redundancy_my_state{device="R2"}') == 8, 30)
    # R2 may be HSRP active half a lab second before R1 is RF ACTIVE, which
    # may just reach the 2 minutes.
    assert_groups(stack, {CRITICAL: ({"IpsechaUnexpectedReload"}, {"IpsechaHsrpActiveNotRfActive"})}, 30)
    assert stack.notified_devices(CRITICAL, "IpsechaUnexpectedReload") == {"R2"}, stack.describe()


def test_preempt_is_one_critical_and_one_warning_group(stack: Stack) -> None:
    stack.lab_thread.trigger("preempt")
    # R2 fails and R1 takes over; R2 comes back, preempts HSRP before its
    # SAs are synced, R1 self-reloads and R2 is RF ACTIVE without SAs (the
    # branches send on SPIs it never learnt) until they renegotiate; R1
    # rejoins last.
    stack.wait_for("R1 RF ACTIVE", lambda: stack.value('device:ipsecha_rf_active:bool{device="R1"}') == 1, 30)
    stack.wait_for("R2 RF ACTIVE again", lambda: stack.value('device:ipsecha_rf_active:bool{device="R2"}') == 1, 30)
    stack.wait_for("R1 back and STANDBY HOT", lambda: stack.value('ipsecha_redundancy_my_state{device="R1"}') == 8, 30)
    # Both reloads page (one alert each), and the preemption that caused the
    # second; the branches renegotiate their SAs within a lab minute, well
    # inside IpsechaBranchSaMissing's 5. R2 may be HSRP active half a lab
    # second before it is RF ACTIVE, which may just reach the 2 minutes.
    assert_groups(
        stack,
        {
            CRITICAL: ({"IpsechaUnexpectedReload"}, {"IpsechaHsrpActiveNotRfActive"}),
            WARNING: ({"IpsechaHsrpPreemptOnStatefulGroup"}, set()),
        },
        30,
    )
    assert stack.notified_devices(CRITICAL, "IpsechaUnexpectedReload") == {"R1", "R2"}, stack.describe()


def test_simplex_is_one_critical_group(stack: Stack) -> None:
    stack.lab_thread.trigger("simplex")
    # No reload: nothing inhibits the aftermath alerts, all three are the fault.
    assert_groups(
        stack,
        {CRITICAL: ({"IpsechaPairSimplex", "IpsechaIpcCommunicationsDown", "IpsechaPeerNotStandbyHot"}, set())},
        60,
    )


def test_split_brain_pages_once_and_its_resolution_names_only_it(stack: Stack) -> None:
    """R1 is HSRP active while R2 is RF ACTIVE, the split brain seen twice:
    the rules leave IpsechaHsrpActiveNotRfActive out while the split brain
    fires, so it is never an alert, and when the lab is whole again the
    resolved notification names the split brain alone (an alert inhibited
    in Alertmanager would resolve in the same group and be listed)."""
    stack.lab_thread.trigger("split-brain")
    assert_groups(stack, {CRITICAL: ({"IpsechaHsrpSplitBrain"}, set())}, 30)
    assert "IpsechaHsrpActiveNotRfActive" not in stack.firing_seen, stack.describe()
    assert stack.alertmanager.alerts() and all(
        a["labels"]["alertname"] == "IpsechaHsrpSplitBrain" for a in stack.alertmanager.alerts()
    ), stack.describe()
    stack.lab_thread.trigger("baseline")
    stack.wait_for("the split brain resolved", lambda: bool(stack.notifications(CRITICAL, "resolved")), 30)
    stack.settle()
    (resolved,) = stack.notifications(CRITICAL, "resolved")
    assert {(a["labels"]["alertname"], a["status"]) for a in resolved.body["alerts"]} == {
        ("IpsechaHsrpSplitBrain", "resolved")
    }, stack.describe()
    assert set(stack.groups()) == {CRITICAL}, stack.describe()


def test_sa_loss_is_one_critical_group(stack: Stack) -> None:
    stack.lab_thread.trigger("sa-loss")
    assert_groups(stack, {CRITICAL: ({"IpsechaBranchSaMissing"}, set())}, 30)
    (notification, *_) = stack.groups()[CRITICAL]
    lost = stack.lab_thread.lab.pair().branches[0].outside_ip
    assert {a["labels"]["peer"] for a in notification.body["alerts"]} == {lost}


def test_the_exporter_killed_is_one_exporter_down_group(stack: Stack) -> None:
    """Every device's series stop: the rules call none of them stale while
    its scrape target fails (IpsechaStaleData would page again just as the
    outage ends, the restarted exporter's first poll still running): one
    IpsechaExporterDown notification, nothing else in Alertmanager."""
    stack.stop_exporter()
    assert_groups(stack, {EXPORTER: ({"IpsechaExporterDown"}, set())}, 30)
    assert len(stack.groups()[EXPORTER]) == 1, "one notification: nothing joined or changed"
    assert "IpsechaStaleData" not in stack.firing_seen, stack.describe()
    assert {a["labels"]["alertname"] for a in stack.alertmanager.alerts()} == {"IpsechaExporterDown"}


def test_the_active_hub_unreachable_is_one_warning_group(stack: Stack) -> None:
    """The RF-active R2's management is cut (SSH refused) while RF, HSRP and
    the SAs carry on: R1 still reports its peer ACTIVE with Communications
    Up, so the pair has its RF-active hub. Only IpsechaDeviceNotPolled, after
    its 10 minutes; no pair page."""
    stack.lab_thread.trigger("active-unreachable")
    assert_groups(stack, {WARNING: ({"IpsechaDeviceNotPolled"}, set())}, real(10 * 60) + 15)
    assert stack.notified_devices(WARNING, "IpsechaDeviceNotPolled") == {"R2"}, stack.describe()
    assert "IpsechaPairNotOneRfActive" not in stack.firing_seen, stack.describe()


def test_a_standby_self_reload_is_one_critical_group(stack: Stack) -> None:
    """The standby R1 self-reloads (RF induced) with no switchover: never
    expected, its log says so although `show version` reads "reload"."""
    stack.lab_thread.trigger("standby-reload")
    stack.wait_for("R1 back and STANDBY HOT", lambda: stack.value('ipsecha_redundancy_my_state{device="R1"}') == 8, 30)
    assert_groups(stack, {CRITICAL: ({"IpsechaUnexpectedReload"}, set())}, 30)
    assert stack.notified_devices(CRITICAL, "IpsechaUnexpectedReload") == {"R1"}, stack.describe()


def test_a_reload_loop_is_one_critical_group(stack: Stack) -> None:
    """An operator reloads the standby R1 three times in a row: each reload
    is expected (no reload alert), three within the hour are a loop. Its
    pair's Simplex and peer alerts, if any, are muted under the loop."""
    stack.lab_thread.trigger("reload-loop")
    assert_groups(stack, {CRITICAL: ({"IpsechaReloadLoop"}, set())}, 60)
    assert stack.notified_devices(CRITICAL, "IpsechaReloadLoop") == {"R1"}, stack.describe()


def test_sync_loss_is_one_critical_group(stack: Stack) -> None:
    """The standby stays STANDBY HOT without SA copies: one alert for it."""
    stack.lab_thread.trigger("sync-loss")
    assert_groups(stack, {CRITICAL: ({"IpsechaStandbyMissingSaCopies"}, set())}, real(5 * 60) + 15)
    assert stack.notified_devices(CRITICAL, "IpsechaStandbyMissingSaCopies") == {"R1"}, stack.describe()


def test_an_exporter_outage_does_not_rewrite_a_standing_incident(stack: Stack) -> None:
    """The standby holds no SA copies (paged). The exporter is killed for 15
    lab minutes and comes back to the same incident: the page is neither
    resolved nor sent again (the rules hold a firing state alert while its
    device's scrape target fails), the outage is one IpsechaExporterDown
    group, and the incident resolves when the lab fixes it, naming only
    what paged."""
    stack.lab_thread.trigger("sync-loss")
    assert_groups(stack, {CRITICAL: ({"IpsechaStandbyMissingSaCopies"}, set())}, real(5 * 60) + 15)
    stack.stop_exporter()
    stopped = time.monotonic()
    stack.wait_for("IpsechaExporterDown notified", lambda: "IpsechaExporterDown" in stack.notified(EXPORTER), 30)
    stack.settle(stopped + real(15 * 60) - time.monotonic())
    stack.restart_exporter()
    stack.wait_for("IpsechaExporterDown resolved", lambda: bool(stack.notifications(EXPORTER, "resolved")), 60)
    # Past the alert's `for:` (5 lab minutes) and the hold's 5 minutes after
    # the data returned: time for a resolution or a new page, were there any.
    stack.settle(real(7 * 60))
    assert len(stack.notifications(CRITICAL)) == 1, stack.describe()
    assert stack.resolved(CRITICAL) == set(), stack.describe()
    assert len(stack.notifications(EXPORTER, "firing")) == 1, stack.describe()
    assert set(stack.groups()) == {CRITICAL, EXPORTER}, stack.describe()
    stack.lab_thread.trigger("baseline")
    stack.wait_for("the incident resolved", lambda: bool(stack.notifications(CRITICAL, "resolved")), 30)
    stack.settle()
    assert len(stack.notifications(CRITICAL)) == 2, stack.describe()
    (resolved,) = stack.notifications(CRITICAL, "resolved")
    assert {a["labels"]["alertname"] for a in resolved.body["alerts"]} == {"IpsechaStandbyMissingSaCopies"}
    assert set(stack.groups()) == {CRITICAL, EXPORTER}, stack.describe()


def arrival_after_firing(stack: Stack, alertname: str, **labels: str) -> list[float]:
    """For each alert named `alertname` (with `labels`) a notification
    carried firing: seconds from its first firing in Prometheus to the
    first notification that carried it."""
    delays = []
    for key, fired in stack.alert_firing_at.items():
        found = dict(key)
        if found["alertname"] != alertname or any(found.get(k) != v for k, v in labels.items()):
            continue
        arrived = [
            n.at
            for n in stack.webhook.received()
            for a in n.body["alerts"]
            if a["status"] == "firing" and {k: a["labels"].get(k) for k in found} == found
        ]
        if arrived:
            delays.append(min(arrived) - fired)
    return delays


def test_two_reloads_a_minute_apart_are_two_pages(stack: Stack) -> None:
    """The standby R1 self-reloads, is back STANDBY HOT, and self-reloads
    again about a lab minute later: two boots, two IpsechaUnexpectedReload
    alerts (their `boot` labels differ: `serve` runs on the lab's clock),
    each reaching the receiver. The second is a second critical in a pair
    that has already paged: it joins the pair's group and reaches the
    receiver within a lab minute of firing in Prometheus (the critical
    route's group_interval), not at a 5-minute tick."""
    stack.lab_thread.trigger("standby-reload")
    stack.wait_for("R1 back and STANDBY HOT", lambda: stack.value('ipsecha_redundancy_my_state{device="R1"}') == 8, 30)
    stack.wait_for("the first reload paged", lambda: "IpsechaUnexpectedReload" in stack.notified(CRITICAL), 30)
    back = time.monotonic()
    stack.settle(back + real(60) - time.monotonic())
    stack.lab_thread.trigger("standby-reload")
    stack.wait_for(
        "two reload alerts notified",
        lambda: len(arrival_after_firing(stack, "IpsechaUnexpectedReload", device="R1")) == 2,
        30,
    )
    stack.settle()
    boots = {
        a["labels"]["boot"]
        for n in stack.notifications(CRITICAL)
        for a in n.body["alerts"]
        if a["labels"]["alertname"] == "IpsechaUnexpectedReload"
    }
    assert len(boots) == 2, stack.describe()
    delays = sorted(arrival_after_firing(stack, "IpsechaUnexpectedReload", device="R1"))
    assert delays[-1] <= real(60), (delays, stack.describe())
    assert stack.resolved(CRITICAL) == set(), stack.describe()
