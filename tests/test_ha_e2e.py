"""The high-availability layout of docs/deployment.md, end to end on
Prometheus' own machinery: one lab over SSH, two `serve` exporters polling
it, two Prometheus each scraping both exporters (the example configs
dashboards/prometheus/prometheus-ha-{a,b}.yml: a replica external label,
dropped from the alerts by alert_relabel_configs, and both Alertmanagers
listed), two Alertmanagers gossiping as a cluster on loopback (the --cluster
flags of docs/examples/prometheus-alertmanager.service) with the shipped
alertmanager.yml, and one webhook server behind both recording every
notification. The test loads those example files as they are: only the
addresses, the intervals (below) and the rule file's path are replaced, the
last by one path for both Prometheus, as on two hosts alike (the fixture
checks that their rule groups evaluate in step: see assert_in_step).

The incident: the lab's `sync-loss` on its one pair, the standby R1 without
SA copies: one critical alert, IpsechaStandbyMissingSaCopies, one
notification group (as in tests/test_alertmanager_e2e.py), fixed by the
lab's `baseline`. Both Prometheus fire it and send it to both
Alertmanagers; the cluster must notify it once, and its resolution once.
Then the same incident with one piece killed (SIGKILL: no shutdown, no
goodbye to the cluster) at the moment that matters for it:
- an exporter, while the alert is pending: both Prometheus read the other
  one, fire and page once, and page the dead exporter once. Fixed while the
  exporter is down, the incident stays firing in both alike (the rules hold
  what fired while a scrape target fails): nothing is sent; the exporter
  back, it resolves once;
- a Prometheus, while the alert is pending: the other one pages alone;
- the Alertmanager that would send (the cluster's first by name), while the
  alert is pending: the other one pages after its peer timeout;
- that Alertmanager again, after it paged and its peer logged it: the peer
  neither pages again nor misses the resolution.
Each case asserts every notification of the run: one firing and one
resolved notification of the incident, each carrying its alert once and
without the replica label, and nothing else (but the dead exporter's).
A duplicate, be it a second notification (the nodes not deduplicating, a
resolution flapping) or the alert twice in one (the replica label left on),
fails it.

One clock, as in tests/test_alertmanager_e2e.py: the lab, `serve`
(--time.scale), the rules, Prometheus's intervals and Alertmanager's route
timings run SCALE times faster than in production, and so does the
cluster's peer timeout (CLUSTER_TIMINGS). Each case has a fresh stack (the
rules keep an hour of history): about 20 s, 30 with the exporter's
restart."""

from __future__ import annotations

import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
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
from support.paths import REPO
from support.processes import closed_port, serving_url, spawn_serve, stop
from support.prometheus import PROMTOOL, RULES_DIR, PrometheusServer, needs_prometheus, scaled_rules
from support.waiting import wait_until

from ipsec_ha_monitor.lab import Lab, LabThread

SCALE = 60  # lab, rule and Alertmanager seconds per real second
POLL_SECONDS = 30.0  # lab seconds: serve's default --poll-interval, the example configs' scrape and evaluation
LOOKBACK_SECONDS = 300.0  # Prometheus's default --query.lookback-delta


def real(lab_seconds: float) -> float:
    """Real seconds for a lab (or rule) duration."""
    return lab_seconds / SCALE


def duration(lab_seconds: float) -> str:
    """A Prometheus duration for a lab one."""
    return f"{round(real(lab_seconds) * 1000)}ms"


INTERVAL = duration(POLL_SECONDS)  # scrape, rule evaluation and exporter polling: 500ms
REPLICAS = ("a", "b")  # exporters, Prometheus and Alertmanager nodes
PROMETHEUS_CONFIGS = {replica: RULES_DIR / f"prometheus-ha-{replica}.yml" for replica in REPLICAS}
ALERTMANAGER_UNIT = REPO / "docs" / "examples" / "prometheus-alertmanager.service"
REPLICA_LABEL = "prometheus_replica"  # the example configs' external label
# The cluster's timings. The node second by name sends what the first has
# not logged as sent within the peer timeout, from what it held when it
# began to wait: 15 s by default, scaled like the routes it must stay below
# (the critical group_interval, 30 s). Longer than the group_interval, the
# test sees a resolution reach the receiver as resolved, firing, resolved.
# Gossip must cross within it: every 20 ms, not 200 ms; full state syncs
# every minute, scaled.
CLUSTER_TIMINGS = (
    f"--cluster.peer-timeout={duration(15)}",
    "--cluster.gossip-interval=20ms",
    f"--cluster.pushpull-interval={duration(60)}",
)
# After the awaited notification, long enough for any duplicate to come:
# the other node's send after its peer timeout, the incident's group
# changed (a second copy of the alert joining it) at the critical route's
# next group_interval tick (0.5 s), Prometheus's resends (a lab minute).
SETTLE = 2.0
# How far apart (real seconds) the two Prometheus may evaluate a rule group:
# in step, they are within a millisecond; out of step, anywhere in INTERVAL.
STEP_TOLERANCE = 0.05
STEP_SAMPLES = 5

PAIR = "HUB-PAIR-1"
INCIDENT = "IpsechaStandbyMissingSaCopies"  # `sync-loss`: the standby R1 holds no SA copies
STANDBY = "R1"
CRITICAL: Group = ("ipsecha-critical", (("pair", PAIR),))
EXPORTER: Group = ("ipsecha-warning", (("alertname", "IpsechaExporterDown"),))


def e2e(test: Callable[..., None]) -> Callable[..., None]:
    """The marks of a test that runs the whole layout."""
    return pytest.mark.integration(needs_prometheus(needs_alertmanager(test)))


def prometheus_config(
    replica: str, rules: Path, exporters: dict[str, str], alertmanagers: dict[str, str]
) -> dict[str, Any]:
    """The example config of `replica` with the test's addresses (the
    exporters, the Alertmanagers) and on the test's clock: scrape and
    evaluation every INTERVAL. Its rule file is `rules`, the same path for
    both replicas, as on two hosts that both keep it in /etc/prometheus:
    Prometheus times a rule group's evaluations from a hash of the group's
    name and file, so the two evaluate at the same instants (see
    rules_in_step)."""
    text = PROMETHEUS_CONFIGS[replica].read_text()
    for name, address in exporters.items():
        text = text.replace(f"ipsecha-exporter-{name}:9477", address)
    for name, address in alertmanagers.items():
        text = text.replace(f"alertmanager-{name}:9093", address)
    config = yaml.safe_load(text)
    assert "ipsecha-exporter" not in str(config) and "alertmanager-" not in str(config), config
    config["global"].update(scrape_interval=INTERVAL, evaluation_interval=INTERVAL)  # external_labels kept
    config["rule_files"] = [str(rules)]
    for job in config["scrape_configs"]:
        job["scrape_interval"] = job["scrape_timeout"] = INTERVAL
    return config


def cluster_flags(node: str, gossip: dict[str, str]) -> tuple[str, ...]:
    """The --cluster.* flags of the example unit's ExecStart for `node`:
    its listen address 0.0.0.0:9094 becomes the node's gossip address, the
    peers alertmanager-a:9094 and -b:9094 the nodes' (one file serves both
    nodes: each skips its own address); then CLUSTER_TIMINGS."""
    unit = ALERTMANAGER_UNIT.read_text().replace("\\\n", " ")
    (command,) = [line.removeprefix("ExecStart=") for line in unit.splitlines() if line.startswith("ExecStart=")]
    flags = [arg for arg in command.split() if arg.startswith("--cluster.")]
    assert len([flag for flag in flags if flag.startswith("--cluster.peer=")]) == len(gossip), flags
    replaced = []
    for flag in flags:
        flag = flag.replace("0.0.0.0:9094", gossip[node])
        for name, address in gossip.items():
            flag = flag.replace(f"alertmanager-{name}:9094", address)
        replaced.append(flag)
    return (*replaced, *CLUSTER_TIMINGS)


def start_exporter(inventory: Path, address: str) -> subprocess.Popen[str]:
    """`serve` on `address` on the lab's clock (polling every 30 lab s), not
    waited for: serving_url() tells when it serves."""
    return spawn_serve(
        inventory, "--log.level", "warn", "--time.scale", f"{SCALE:g}", listen=address, interval=f"{POLL_SECONDS:g}"
    )


def evaluated_at(timestamp: str) -> float:
    """Seconds since the epoch of an RFC 3339 time as Prometheus writes it
    (nanoseconds and Z, which datetime does not read)."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z", timestamp)
    assert match, timestamp
    whole = datetime.strptime(match[1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    return whole + float(match[2] or 0)


def labels_of(notification: Notification) -> list[tuple[str, str, str]]:
    """(alertname, device, status) of each alert a notification carries,
    sorted, repeats kept: an alert twice in one notification shows."""
    return sorted(
        (alert["labels"]["alertname"], alert["labels"].get("device", ""), alert["status"])
        for alert in notification.body["alerts"]
    )


@dataclass
class HaStack:
    lab_thread: LabThread
    inventory: Path
    addresses: dict[str, str]  # each exporter's host:port, by replica
    exporters: dict[str, subprocess.Popen[str]]  # the running ones, by replica
    prometheus: dict[str, PrometheusServer]  # the running ones, by replica
    alertmanagers: dict[str, AlertmanagerServer]  # the running ones, by node
    webhook: WebhookRecorder
    started: float = field(default_factory=time.monotonic)
    events: list[str] = field(default_factory=list)  # what the test killed or restarted, for the log

    def note(self, event: str) -> None:
        self.events.append(f"+{time.monotonic() - self.started:5.1f}s {event}")

    def kill_exporter(self, replica: str) -> None:
        stop(self.exporters.pop(replica), signal.SIGKILL)
        self.note(f"exporter {replica} killed")

    def restart_exporter(self, replica: str) -> None:
        """`serve` again, on the address both Prometheus scrape."""
        self.exporters[replica] = process = start_exporter(self.inventory, self.addresses[replica])
        assert serving_url(process) == f"http://{self.addresses[replica]}"
        self.note(f"exporter {replica} restarted")

    def kill_prometheus(self, replica: str) -> None:
        self.prometheus.pop(replica).kill()
        self.note(f"prometheus {replica} killed")

    def kill_alertmanager(self, node: str) -> None:
        self.alertmanagers.pop(node).kill()
        self.note(f"alertmanager {node} killed")

    def sender(self) -> str:
        """The Alertmanager node that sends while both run: the first by
        name, the one that waits no peer timeout."""
        (first,) = [node for node, server in self.alertmanagers.items() if server.cluster_position() == 0]
        return first

    def sent_by(self, notification: Notification) -> str:
        """The node that sent a notification: its externalURL ends with the
        node's web port."""
        url = notification.body["externalURL"]
        (node,) = [node for node, server in self.alertmanagers.items() if url.endswith(f":{server.port}")]
        return node

    def incident_state(self, replica: str) -> str | None:
        """The incident in Prometheus `replica`: "pending", "firing" or None."""
        for alert in self.prometheus[replica].alerts():
            if alert["labels"]["alertname"] == INCIDENT and alert["labels"].get("device") == STANDBY:
                return str(alert["state"])
        return None

    def held_by(self, node: str) -> bool:
        """Alertmanager `node` holds the incident, active."""
        return any(
            alert["labels"]["alertname"] == INCIDENT and alert["status"]["state"] == "active"
            for alert in self.alertmanagers[node].alerts()
        )

    def sent_to(self, replica: str) -> dict[str, float]:
        """How many alerts Prometheus `replica` has sent to each running
        Alertmanager, by node (its own prometheus_notifications_sent_total)."""
        with urllib.request.urlopen(f"{self.prometheus[replica].url}/metrics", timeout=10) as response:
            sent = parse_samples(response.read().decode()).get("prometheus_notifications_sent_total", {})
        by_url = {dict(key)["alertmanager"]: value for key, value in sent.items()}
        return {
            node: sum(value for url, value in by_url.items() if f"//{server.address}/" in url)
            for node, server in self.alertmanagers.items()
        }

    def evaluation_phases(self) -> dict[str, dict[str, float | None]]:
        """Each running Prometheus's rule groups, by replica: when within
        INTERVAL each was last evaluated (seconds), None before its first
        evaluation."""
        interval = real(POLL_SECONDS)
        return {
            replica: {
                group["name"]: evaluated_at(group["lastEvaluation"]) % interval
                if not group["lastEvaluation"].startswith("0001-")
                else None
                for group in server.api("rules")["groups"]
            }
            for replica, server in self.prometheus.items()
        }

    def groups(self) -> dict[Group, list[Notification]]:
        return self.webhook.groups()

    def notifications(self, group: Group, status: str | None = None) -> list[Notification]:
        """A group's notifications, or those whose overall status is `status`."""
        return self.webhook.of(group, status)

    def wait(self, what: str, condition: Callable[[], object], timeout: float) -> None:
        wait_until(condition, timeout, what, interval=0.1, describe=self.describe)

    def settle(self, seconds: float = SETTLE) -> None:
        """Let `seconds` pass, after the awaited notification: time for a
        duplicate to come, were there one."""
        time.sleep(seconds)

    def describe(self) -> str:
        """What happened and what was notified by which node, for failure
        messages and the test's log."""
        lines = [*self.events]
        for replica, server in self.prometheus.items():
            try:
                alerts = [(a["labels"]["alertname"], a["state"]) for a in server.alerts()]
            except OSError as exc:
                alerts = [(repr(exc), "")]
            lines.append(f"  prometheus {replica} now: {alerts}")
        nodes = {f":{server.port}": node for node, server in self.alertmanagers.items()}
        for n in self.webhook.received():
            url = n.body["externalURL"]
            node = next((node for port, node in nodes.items() if url.endswith(port)), url)
            alerts = [(a["labels"], a["status"]) for a in n.body["alerts"]]
            group = f"{n.receiver} {dict(n.group[1])}"
            lines.append(f"+{n.at - self.started:5.1f}s from {node}: {group} {n.body['status']}: {alerts}")
        return "\n".join(lines)


@pytest.fixture
def ha(tmp_path: Path) -> Iterator[HaStack]:
    """A fresh lab and the whole layout over it, at baseline with nothing
    notified and the cluster formed; every process stopped on the way out.
    Everything starts side by side (Prometheus takes about 5 s to apply its
    scrape targets, the rest less)."""
    with ExitStack() as stack:
        lab_thread = stack.enter_context(LabThread(Lab(pairs=1, branches=2, time_scale=SCALE)))
        webhook = stack.enter_context(WebhookRecorder())
        inventory = write_inventory(lab_thread.lab, tmp_path / "lab.yml")
        addresses = {replica: f"127.0.0.1:{closed_port()}" for replica in REPLICAS}
        exporters = {replica: start_exporter(inventory, address) for replica, address in addresses.items()}
        stack.callback(lambda: [stop(process) for process in exporters.values()])  # the running ones, at the end
        config = scaled_alertmanager_config(SCALE, webhook.url)
        gossip = {node: f"127.0.0.1:{closed_port()}" for node in REPLICAS}
        alertmanagers = {}
        for node in REPLICAS:
            (tmp_path / f"alertmanager-{node}").mkdir()
            alertmanagers[node] = AlertmanagerServer(
                tmp_path / f"alertmanager-{node}", config, cluster_flags(node, gossip)
            )
        flags = (
            f"--query.lookback-delta={duration(LOOKBACK_SECONDS)}",
            f"--rules.alert.resend-delay={duration(60)}",  # its default minute, scaled
            "--web.enable-lifecycle",  # for the rules' reload
        )
        # One rule file for both, empty until the exporters are scraped.
        rules = tmp_path / "ipsecha-rules.yml"
        rules.write_text("groups: []\n")
        prometheus = {}
        for replica in REPLICAS:
            folder = tmp_path / f"prometheus-{replica}"
            folder.mkdir()
            targets = {node: server.address for node, server in alertmanagers.items()}
            prometheus[replica] = PrometheusServer(folder, prometheus_config(replica, rules, addresses, targets), flags)
        for server in [*alertmanagers.values(), *prometheus.values()]:  # all four started: wait for each
            stack.enter_context(server)
        for replica, process in exporters.items():
            assert serving_url(process) == f"http://{addresses[replica]}", f"serve {replica} on another address"
        ha = HaStack(lab_thread, inventory, addresses, exporters, prometheus, alertmanagers, webhook)
        ha.wait(
            "the two Alertmanagers to form a cluster and settle (they notify nothing before)",
            lambda: all(
                (status := server.status()["cluster"])["status"] == "ready" and len(status["peers"]) == 2
                for server in alertmanagers.values()
            ),
            30,
        )

        def everywhere(expr: str, wanted: float) -> bool:
            """`expr` is `wanted` in both Prometheus."""
            results = [server.query(expr) for server in prometheus.values()]
            return all(result and float(result[0]["value"][1]) == wanted for result in results)

        # Every router polled by both exporters, in both Prometheus.
        series = 2 * len(lab_thread.lab.routers)
        ha.wait(
            "both Prometheus to scrape both exporters", lambda: everywhere("count(ipsecha_device_up == 1)", series), 60
        )
        # The rules only now (as tests/test_alertmanager_e2e.py loads them):
        # Prometheus evaluates them from its first second but applies its
        # scrape targets after about 5 s, IpsechaExporterDown's scaled 5
        # minutes without data. The reload makes it find the Alertmanagers
        # again, within 5 s, before the incident fires (5 s after it began);
        # an alert that fires earlier is sent again a lab minute later.
        rules.write_text(scaled_rules(SCALE))
        for server in prometheus.values():
            server.reload()
        ha.wait(
            "both Prometheus to evaluate the rules",
            lambda: all(phases and None not in phases.values() for phases in ha.evaluation_phases().values()),
            10,
        )
        samples = []  # a few: an evaluation that starts late on a busy machine is not out of step
        for _ in range(STEP_SAMPLES):
            samples.append(ha.evaluation_phases())
            time.sleep(real(POLL_SECONDS) * 0.7)
        assert_in_step(samples, real(POLL_SECONDS))
        ha.wait(
            "the lab's baseline in both Prometheus",
            lambda: (
                everywhere(f'pair:ipsecha_hsrp_active_members:sum{{pair="{PAIR}"}}', 1)
                and everywhere('device:ipsecha_rf_active:bool{device="R2"}', 1)
            ),
            60,
        )
        assert webhook.received() == [], ha.describe()
        assert all(server.alerts() == [] for server in alertmanagers.values()), ha.describe()
        ha.started = time.monotonic()
        yield ha
        print(f"\n{ha.describe()}")


def assert_in_step(samples: list[dict[str, dict[str, float | None]]], interval: float) -> None:
    """Both Prometheus evaluate each rule group at the same instants (within
    STEP_TOLERANCE, in the closest of a few samples). Out of step, one can
    still send an incident firing after the other sent it resolved, and
    Alertmanager, which keeps the last word, sends it again: resolved,
    firing, resolved."""
    closest: dict[str, float] = {}
    for phases in samples:
        a, b = (phases[replica] for replica in REPLICAS)
        assert a.keys() == b.keys(), phases
        for name, phase in a.items():
            other = b[name]
            assert phase is not None and other is not None, phases
            apart = abs(phase - other)
            closest[name] = min(closest.get(name, interval), apart, interval - apart)
    assert max(closest.values()) <= STEP_TOLERANCE, f"rule groups evaluated apart (s): {closest}; samples: {samples}"


def incident(ha: HaStack) -> None:
    """`sync-loss`, and the wait until every running Prometheus has the
    incident pending (it fires 5 lab minutes later): the moment to kill
    something before it fires."""
    ha.lab_thread.trigger("sync-loss")
    ha.note("sync-loss")
    ha.wait(
        f"{INCIDENT} pending in every Prometheus",
        lambda: all(ha.incident_state(replica) == "pending" for replica in ha.prometheus),
        real(3 * POLL_SECONDS) + 10,
    )


def wait_for_page(ha: HaStack) -> Notification:
    """The incident's first notification (firing), once it has come."""
    ha.wait(f"{INCIDENT} notified", lambda: ha.notifications(CRITICAL, "firing"), real(5 * 60) + 15)
    return ha.notifications(CRITICAL, "firing")[0]


def assert_paged_once(ha: HaStack, others: frozenset[Group] = frozenset()) -> Notification:
    """After SETTLE: one notification of the incident, firing, carrying its
    alert once and without the replica label; no other group but `others`."""
    ha.settle()
    assert set(ha.groups()) == {CRITICAL, *others}, ha.describe()
    (page,) = ha.notifications(CRITICAL)
    assert labels_of(page) == [(INCIDENT, STANDBY, "firing")], ha.describe()
    assert not [alert for alert in page.body["alerts"] if REPLICA_LABEL in alert["labels"]], ha.describe()
    return page


def fix(ha: HaStack) -> None:
    ha.lab_thread.trigger("baseline")
    ha.note("baseline")


def assert_resolved_once(ha: HaStack) -> Notification:
    """Once the incident's resolution has come, and SETTLE: it alone, its
    alert once; the incident's group holds the page and it, no more."""
    ha.wait(f"{INCIDENT} resolved", lambda: ha.notifications(CRITICAL, "resolved"), real(10 * 60) + 15)
    ha.settle()
    (resolved,) = ha.notifications(CRITICAL, "resolved")
    assert labels_of(resolved) == [(INCIDENT, STANDBY, "resolved")], ha.describe()
    assert len(ha.notifications(CRITICAL)) == 2, ha.describe()
    return resolved


@e2e
def test_one_incident_is_one_notification_from_two_of_everything(ha: HaStack) -> None:
    """Both Prometheus fire the incident and send it to both Alertmanagers:
    one notification, from the first node, the second's held back by what
    the first logged and gossiped; one resolved notification the same way."""
    sender = ha.sender()
    incident(ha)
    page = wait_for_page(ha)
    ha.wait(
        "the incident firing in both Prometheus, and held by both Alertmanagers",
        lambda: all(ha.incident_state(r) == "firing" for r in REPLICAS) and all(ha.held_by(n) for n in REPLICAS),
        10,
    )
    # Each Prometheus sent its alerts to each node: the one notification
    # stands for four copies of the alert.
    assert all(all(count > 0 for count in ha.sent_to(r).values()) for r in REPLICAS), ha.describe()
    assert assert_paged_once(ha) is page
    assert ha.sent_by(page) == sender, ha.describe()
    fix(ha)
    assert ha.sent_by(assert_resolved_once(ha)) == sender, ha.describe()


@e2e
def test_an_exporter_killed_during_the_incident_misses_nothing_and_sends_nothing_twice(ha: HaStack) -> None:
    """Exporter a dies while the alert is pending: both Prometheus read
    exporter b, fire and page once, and page the dead exporter once. The
    incident fixed while exporter a is down: both Prometheus keep it firing
    alike (the rules hold an alert that fired while a scrape target of its
    device fails), so nothing is sent, no resolution and no flapping.
    Exporter a back: the incident resolves, once, as does the outage."""
    incident(ha)
    ha.kill_exporter("a")
    wait_for_page(ha)
    ha.wait("IpsechaExporterDown notified", lambda: ha.notifications(EXPORTER, "firing"), real(5 * 60) + 15)
    assert_paged_once(ha, frozenset({EXPORTER}))
    (down,) = ha.notifications(EXPORTER)
    assert labels_of(down) == [("IpsechaExporterDown", "", "firing")], ha.describe()
    fix(ha)
    missing = f'device_peer:ipsecha_ipsec_sa_standby_missing:count{{device="{STANDBY}"}}'
    ha.wait(
        "both Prometheus reading the fix from exporter b, and holding the incident",
        lambda: all(not ha.prometheus[r].query(missing) and ha.incident_state(r) == "firing" for r in REPLICAS),
        real(3 * POLL_SECONDS) + 10,
    )
    ha.settle()
    assert len(ha.webhook.received()) == 2, ha.describe()
    ha.restart_exporter("a")
    # The hold ends 5 lab minutes after exporter a's scrapes succeed again.
    assert_resolved_once(ha)
    ha.wait("IpsechaExporterDown resolved", lambda: ha.notifications(EXPORTER, "resolved"), real(10 * 60) + 15)
    ha.settle()
    assert [n.body["status"] for n in ha.notifications(EXPORTER)] == ["firing", "resolved"], ha.describe()
    assert len(ha.notifications(CRITICAL)) == 2, ha.describe()


@e2e
def test_a_prometheus_killed_during_the_incident_misses_nothing(ha: HaStack) -> None:
    """Prometheus a dies while the alert is pending: b pages alone, and
    resolves alone."""
    incident(ha)
    ha.kill_prometheus("a")
    wait_for_page(ha)
    assert_paged_once(ha)
    assert all(count > 0 for count in ha.sent_to("b").values()), ha.describe()
    fix(ha)
    assert_resolved_once(ha)


@e2e
def test_the_sending_alertmanager_killed_before_it_sends_misses_nothing(ha: HaStack) -> None:
    """The node that would send dies while the alert is pending: the other
    one, holding the alert from both Prometheus, finds nothing logged as
    sent after its peer timeout and pages; then it resolves."""
    sender = ha.sender()
    (survivor,) = set(REPLICAS) - {sender}
    incident(ha)
    ha.kill_alertmanager(sender)
    page = wait_for_page(ha)
    assert assert_paged_once(ha) is page
    assert ha.sent_by(page) == survivor, ha.describe()
    fix(ha)
    assert ha.sent_by(assert_resolved_once(ha)) == survivor, ha.describe()


@e2e
def test_the_sending_alertmanager_killed_after_it_paged_sends_nothing_twice(ha: HaStack) -> None:
    """The node that sent the page dies once its peer has the page logged
    (gossip "update" messages: none before): the peer does not page again,
    and sends the resolution, once."""
    sender = ha.sender()
    (survivor,) = set(REPLICAS) - {sender}
    gossiped = "alertmanager_cluster_messages_received_total"
    assert ha.alertmanagers[survivor].metric(gossiped, msg_type="update") == 0, ha.describe()
    incident(ha)
    page = wait_for_page(ha)
    assert ha.sent_by(page) == sender, ha.describe()
    ha.wait(
        "the page's log entry gossiped to the other node",
        lambda: ha.alertmanagers[survivor].metric(gossiped, msg_type="update") > 0,
        10,
    )
    ha.kill_alertmanager(sender)
    assert assert_paged_once(ha) is page
    fix(ha)
    assert ha.sent_by(assert_resolved_once(ha)) == survivor, ha.describe()


@pytest.mark.integration  # promtool as a process
@needs_prometheus
def test_promtool_accepts_the_ha_configs() -> None:
    for path in PROMETHEUS_CONFIGS.values():
        checked = subprocess.run(
            [str(PROMTOOL), "check", "config", path.name], cwd=RULES_DIR, capture_output=True, text=True, timeout=120
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_two_prometheus_configs_differ_in_the_replica_label_only() -> None:
    """As their comments say, and docs/deployment.md, which shows one."""
    a, b = (yaml.safe_load(PROMETHEUS_CONFIGS[replica].read_text()) for replica in REPLICAS)
    assert a["global"]["external_labels"] == {REPLICA_LABEL: "a"}
    assert b["global"]["external_labels"] == {REPLICA_LABEL: "b"}
    assert a["alerting"]["alert_relabel_configs"] == [{"action": "labeldrop", "regex": REPLICA_LABEL}]
    b["global"]["external_labels"][REPLICA_LABEL] = "a"
    assert a == b


def test_the_deployment_page_shows_the_tested_files() -> None:
    """docs/deployment.md shows Prometheus A's config whole and the
    Alertmanager unit's command, as this test loads them."""
    page = (REPO / "docs" / "deployment.md").read_text()
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", page, flags=re.S | re.M)
    assert ("yaml", PROMETHEUS_CONFIGS["a"].read_text()) in blocks
    (command,) = [text for kind, text in blocks if kind == "ini"]
    assert command.startswith("ExecStart=") and command in ALERTMANAGER_UNIT.read_text()
