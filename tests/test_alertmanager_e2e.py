"""End to end through a real Alertmanager: the lab over SSH, `serve` as a
process, Prometheus with the shipped rules and the example scrape config,
and Alertmanager with the shipped alertmanager.yml, its receivers' webhook
URLs pointed at an HTTP server in this test that records every
notification. Each test asserts the notification groups its scenario
produces: one per incident and pair (per receiver: critical and warning go
apart), holding the alerts the scenario sets off, less the ones inhibited;
and none at baseline.

Scenarios play on separate pairs of one lab, with one `serve`, one
Prometheus and one Alertmanager (a module fixture), so that their hour-long
windows (IpsechaUnexpectedReload keeps firing for an hour,
IpsechaReloadLoop counts an hour) run at the same time and do not carry one
scenario's reloads into the next: every scenario that concerns one pair
(failover, preempt, simplex, split-brain, sa-loss, active-unreachable,
standby-reload, reload-loop, sync-loss, two standby reloads a minute apart)
starts at once on its own pair, played by a thread of its own, and one pair
plays nothing (the baseline). Alertmanager groups by pair per receiver, so
each test judges its own pair's groups (branch routers' groups, by device,
count with their pair): exactly the expected ones, and no group that
belongs to no pair (the exporter's); the baseline's pair has none at all,
and no group belongs to it or to a device outside the pairs that played.
The two scenarios that stop the exporter touch every pair: each gets a
fresh stack of its own, with one pair, as before, and plays before the
shared stack starts. On every stack a thread records the alerts Prometheus
lists firing and Alertmanager holds inhibited, from the baseline on.

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
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
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
BRANCHES = 2  # per pair
PLAY_TIMEOUT = 300.0  # real seconds: a play's own waits end it well before

# One pair per scenario on the shared stack, by the lab's pair names (its
# hubs are P<k>-R1 and P<k>-R2); the lone stacks' one pair is HUB-PAIR-1.
(
    BASELINE,
    FAILOVER,
    PREEMPT,
    SIMPLEX,
    SPLIT_BRAIN,
    SA_LOSS,
    ACTIVE_UNREACHABLE,
    STANDBY_RELOAD,
    RELOAD_LOOP,
    SYNC_LOSS,
    TWO_RELOADS,
) = PAIR_NAMES = tuple(f"HUB-PAIR-{k}" for k in range(1, 12))
EXPORTER: Group = ("ipsecha-warning", (("alertname", "IpsechaExporterDown"),))

Labels = tuple[tuple[str, str], ...]  # an alert's labels, sorted


def real(lab_seconds: float) -> float:
    """Real seconds for a lab (or rule) duration."""
    return lab_seconds / SCALE


def duration(lab_seconds: float) -> str:
    """A Prometheus duration for a lab one."""
    return f"{round(real(lab_seconds) * 1000)}ms"


INTERVAL = duration(POLL_SECONDS)  # scrape, rule evaluation and exporter polling: 500ms


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
    """One lab, `serve`, Prometheus and Alertmanager, and a thread that
    records every alert Prometheus lists firing and every one Alertmanager
    holds inhibited, from the lab's baseline on."""

    lab_thread: LabThread
    exporter: subprocess.Popen[str] | None
    inventory: Path
    address: str  # serve's host:port, the one Prometheus scrapes
    prometheus: PrometheusServer
    alertmanager: AlertmanagerServer
    webhook: WebhookRecorder
    started: float = field(default_factory=time.monotonic)  # the baseline in Prometheus
    # Each alert (its sorted labels) first seen firing in Prometheus, time.monotonic().
    alert_firing_at: dict[Labels, float] = field(default_factory=dict)
    suppressed_seen: set[Labels] = field(default_factory=set)  # in Alertmanager (inhibited)
    errors: list[str] = field(default_factory=list)  # the observer's failed rounds
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def lab(self) -> Lab:
        return self.lab_thread.lab

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

    def owner(self, labels: dict[str, str]) -> str | None:
        """The lab pair an alert or a group is of: its `pair` label, or
        that of its `device` (a branch's alerts carry no pair); None for
        neither (the exporter's)."""
        if labels.get("pair"):
            return labels["pair"]
        for pair in self.lab.pairs:
            if labels.get("device") in {router.name for router in (*pair.hubs, *pair.branches)}:
                return pair.name
        return None

    def observe(self) -> None:
        firing = [a["labels"] for a in self.prometheus.alerts() if a["state"] == "firing"]
        suppressed = [a["labels"] for a in self.alertmanager.alerts() if a["status"]["state"] == "suppressed"]
        now = time.monotonic()
        with self._lock:
            for labels in firing:
                self.alert_firing_at.setdefault(tuple(sorted(labels.items())), now)
            self.suppressed_seen |= {tuple(sorted(labels.items())) for labels in suppressed}

    def seen_firing(self) -> dict[Labels, float]:
        with self._lock:
            return dict(self.alert_firing_at)

    def seen_suppressed(self) -> set[Labels]:
        with self._lock:
            return set(self.suppressed_seen)

    @contextmanager
    def observing(self, interval: float = 0.25) -> Iterator[None]:
        """From now on, a thread observes every `interval` s."""
        self.started = time.monotonic()
        with self._lock:
            self.alert_firing_at.clear()
            self.suppressed_seen.clear()

        def run() -> None:
            while True:
                try:
                    self.observe()
                except Exception as exc:  # any: the tests fail on it (Plays.result)
                    self.errors.append(repr(exc))
                if self._stop.wait(interval):
                    return

        thread = threading.Thread(target=run, name="observer", daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join(30)


@dataclass
class Scene:
    """One pair of a stack as its test sees it: its groups (by `pair`, or
    by `device` for its branches), its alerts, and anything that belongs to
    no pair (the exporter's); never another pair's."""

    stack: Stack
    pair: str
    started: float = field(default_factory=time.monotonic)

    @property
    def r1(self) -> str:
        """The pair's R1: STANDBY HOT at baseline."""
        return self.stack.lab.pair(self.pair).r1.name

    @property
    def r2(self) -> str:
        """The pair's R2: RF ACTIVE at baseline."""
        return self.stack.lab.pair(self.pair).r2.name

    @property
    def critical(self) -> Group:
        return ("ipsecha-critical", (("pair", self.pair),))

    @property
    def warning(self) -> Group:
        return ("ipsecha-warning", (("pair", self.pair),))

    def trigger(self, scenario: str) -> None:
        self.stack.lab_thread.trigger(scenario, self.pair)

    def value(self, expr: str) -> float | None:
        return self.stack.value(expr)

    def mine(self, labels: dict[str, str]) -> bool:
        return self.stack.owner(labels) in (self.pair, None)

    def groups(self) -> dict[Group, list[Notification]]:
        return {group: ns for group, ns in self.stack.webhook.groups().items() if self.mine(dict(group[1]))}

    def notifications(self, group: Group, status: str | None = None) -> list[Notification]:
        """A group's notifications, or those whose overall status is `status`."""
        return [n for n in self.groups().get(group, []) if status is None or n.body["status"] == status]

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

    def alert_firing_at(self) -> dict[Labels, float]:
        """Each of its alerts first seen firing in Prometheus, time.monotonic()."""
        return {labels: at for labels, at in self.stack.seen_firing().items() if self.mine(dict(labels))}

    @property
    def firing_seen(self) -> set[str]:
        """The names of its alerts seen firing in Prometheus."""
        return {dict(labels)["alertname"] for labels in self.alert_firing_at()}

    def alertmanager_alerts(self) -> list[dict[str, Any]]:
        """Its alerts Alertmanager holds, active, silenced and inhibited."""
        return [a for a in self.stack.alertmanager.alerts() if self.mine(a["labels"])]

    def wait_for(self, what: str, condition: Callable[[], bool], timeout: float) -> None:
        wait_until(condition, timeout, f"{what} ({self.pair})", interval=0.25, describe=self.describe)

    def settle(self, seconds: float = SETTLE) -> None:
        """`seconds` pass (the observer carries on)."""
        time.sleep(max(0.0, seconds))

    def describe(self) -> str:
        """What was notified, for failure messages and the test log."""
        firing_at: dict[str, float] = {}
        for labels, at in sorted(self.alert_firing_at().items(), key=lambda item: item[1]):
            firing_at.setdefault(dict(labels)["alertname"], round(at - self.started, 1))
        inhibited = sorted(
            {dict(labels)["alertname"] for labels in self.stack.seen_suppressed() if self.mine(dict(labels))}
        )
        lines = [f"{self.pair}: firing in Prometheus (first seen, s): {firing_at}; inhibited: {inhibited}"]
        if self.stack.errors:
            lines.append(f"  observer errors: {self.stack.errors}")
        for n in self.stack.webhook.received():
            if not self.mine(dict(n.group[1])):
                continue
            alerts = ", ".join(
                f"{a['labels']['alertname']}[{a['labels'].get('device', a['labels'].get('instance', ''))}]"
                f"={a['status']}"
                for a in n.body["alerts"]
            )
            lines.append(f"  +{n.at - self.started:5.1f}s {n.receiver} {dict(n.group[1])} {n.body['status']}: {alerts}")
        return "\n".join(lines)


@contextmanager
def running_stack(folder: Path, pairs: int) -> Iterator[Stack]:
    """A fresh lab of `pairs` pairs, `serve`, Alertmanager and Prometheus,
    at baseline with nothing notified and the observer running; every
    process stopped on the way out."""
    lab = Lab(pairs=pairs, branches=BRANCHES, time_scale=SCALE)
    with LabThread(lab) as lab_thread, WebhookRecorder() as webhook:
        inventory = write_inventory(lab, folder / "lab.yml")
        exporter, address = start_exporter(inventory)
        stack: Stack | None = None
        try:
            # Prometheus starts once `serve` has polled every router, or
            # IpsechaExporterDown (no ipsecha_device_up at all) would fire for
            # the first SSH logins: they take longer than its scaled 5 s.
            devices = {router.name for router in lab.routers}
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
                    wait_until(
                        lambda: stack.value("count(ipsecha_device_up == 1)") == len(devices),
                        60,
                        "Prometheus to scrape every lab router",
                        0.25,
                    )
                    load_rules(folder, prometheus)
                    # The reload rediscovers the Alertmanager: alerts sent
                    # before it is known again would wait for a resend.
                    wait_until(
                        lambda: bool(prometheus.api("alertmanagers")["activeAlertmanagers"]),
                        30,
                        "Prometheus to know its Alertmanager",
                        0.25,
                    )
                    actives = {pair.r2.name for pair in lab.pairs}
                    wait_until(
                        lambda: (
                            {s["metric"]["pair"] for s in prometheus.query("pair:ipsecha_hsrp_active_members:sum == 1")}
                            >= {pair.name for pair in lab.pairs}
                            and {s["metric"]["device"] for s in prometheus.query("device:ipsecha_rf_active:bool == 1")}
                            == actives
                        ),
                        60,
                        "the lab's baseline in Prometheus",
                        0.25,
                    )
                    assert webhook.received() == [], webhook.received()
                    with stack.observing():
                        yield stack
        finally:
            if stack is not None:
                stack.stop_exporter()
            else:
                stop(exporter)


def assert_groups(scene: Scene, expected: dict[Group, tuple[set[str], set[str]]], timeout: float) -> None:
    """Wait until each expected group has notified its required alerts
    (firing), let stragglers arrive, then: exactly the expected groups of
    the pair (and none of no pair), each with its required alerts and
    nothing beyond `required | allowed`."""
    scene.wait_for(
        f"notifications {expected}",
        lambda: all(required <= scene.notified(group) for group, (required, _) in expected.items()),
        timeout,
    )
    scene.settle()
    assert set(scene.groups()) == set(expected), scene.describe()
    for group, (required, allowed) in expected.items():
        assert required <= scene.notified(group) <= required | allowed, (group, scene.describe())


# The plays: one per pair of the shared stack, each a thread started with
# the others once the stack is at baseline; its test waits for it.
PLAYS: dict[str, Callable[[Scene], None]] = {}


def plays_on(pair: str) -> Callable[[Callable[[Scene], None]], Callable[[Scene], None]]:
    def register(play: Callable[[Scene], None]) -> Callable[[Scene], None]:
        PLAYS[pair] = play
        return play

    return register


class Plays:
    """Every play started at once on its pair of `stack`, each in a thread."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.scenes = {pair: Scene(stack, pair) for pair in PLAYS}
        self._pool = ThreadPoolExecutor(len(PLAYS), thread_name_prefix="play")
        self.futures: dict[str, Future[None]] = {
            pair: self._pool.submit(self._play, play, self.scenes[pair]) for pair, play in PLAYS.items()
        }

    @staticmethod
    def _play(play: Callable[[Scene], None], scene: Scene) -> None:
        scene.started = time.monotonic()
        play(scene)

    def result(self, pair: str) -> Scene:
        """The pair's play over: its failure raised here, its log printed."""
        scene = self.scenes[pair]
        try:
            self.futures[pair].result(PLAY_TIMEOUT)
        finally:
            print(f"\n{scene.describe()}")
        assert self.stack.errors == [], "the observer missed rounds"
        return scene

    def wait_all(self) -> None:
        """Every play over, passed or failed."""
        wait_futures(self.futures.values(), PLAY_TIMEOUT)
        assert all(future.done() for future in self.futures.values()), "plays still running"

    def close(self) -> None:
        self.wait_all()
        self._pool.shutdown(wait=True)


@pytest.fixture(scope="module")
def plays(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plays]:
    """The shared stack, one pair per play, and every play started."""
    with running_stack(tmp_path_factory.mktemp("alertmanager-e2e"), pairs=len(PAIR_NAMES)) as stack:
        assert set(PLAYS) == set(PAIR_NAMES) == {pair.name for pair in stack.lab.pairs}
        started = Plays(stack)
        try:
            yield started
        finally:
            started.close()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """A fresh stack of its own, one pair: for the scenarios that stop the
    exporter (every pair's data goes with it)."""
    with running_stack(tmp_path, pairs=1) as running:
        yield running
        print(f"\n{Scene(running, 'HUB-PAIR-1', running.started).describe()}")


# First, the lone stacks: the shared one starts with the first test that asks
# for its plays, and would poll its pairs all the while beside them.


def test_the_exporter_killed_is_one_exporter_down_group(stack: Stack) -> None:
    """Every device's series stop: the rules call none of them stale while
    its scrape target fails (IpsechaStaleData would page again just as the
    outage ends, the restarted exporter's first poll still running): one
    IpsechaExporterDown notification, nothing else in Alertmanager."""
    scene = Scene(stack, "HUB-PAIR-1", stack.started)  # the lab's one pair: every group and alert is its or no pair's
    stack.stop_exporter()
    assert_groups(scene, {EXPORTER: ({"IpsechaExporterDown"}, set())}, 30)
    assert len(scene.groups()[EXPORTER]) == 1, "one notification: nothing joined or changed"
    assert "IpsechaStaleData" not in scene.firing_seen, scene.describe()
    assert {a["labels"]["alertname"] for a in stack.alertmanager.alerts()} == {"IpsechaExporterDown"}
    assert stack.errors == [], "the observer missed rounds"


def test_an_exporter_outage_does_not_rewrite_a_standing_incident(stack: Stack) -> None:
    """The standby holds no SA copies (paged). The exporter is killed for 15
    lab minutes and comes back to the same incident: the page is neither
    resolved nor sent again (the rules hold a firing state alert while its
    device's scrape target fails), the outage is one IpsechaExporterDown
    group, and the incident resolves when the lab fixes it, naming only
    what paged."""
    scene = Scene(stack, "HUB-PAIR-1", stack.started)  # the lab's one pair: every group and alert is its or no pair's
    critical = scene.critical
    scene.trigger("sync-loss")
    assert_groups(scene, {critical: ({"IpsechaStandbyMissingSaCopies"}, set())}, real(5 * 60) + 15)
    stack.stop_exporter()
    stopped = time.monotonic()
    scene.wait_for("IpsechaExporterDown notified", lambda: "IpsechaExporterDown" in scene.notified(EXPORTER), 30)
    scene.settle(stopped + real(15 * 60) - time.monotonic())
    stack.restart_exporter()
    scene.wait_for("IpsechaExporterDown resolved", lambda: bool(scene.notifications(EXPORTER, "resolved")), 60)
    # Past the alert's `for:` (5 lab minutes) and the hold's 5 minutes after
    # the data returned: time for a resolution or a new page, were there any.
    scene.settle(real(7 * 60))
    assert len(scene.notifications(critical)) == 1, scene.describe()
    assert scene.resolved(critical) == set(), scene.describe()
    assert len(scene.notifications(EXPORTER, "firing")) == 1, scene.describe()
    assert set(scene.groups()) == {critical, EXPORTER}, scene.describe()
    scene.trigger("baseline")
    scene.wait_for("the incident resolved", lambda: bool(scene.notifications(critical, "resolved")), 30)
    scene.settle()
    assert len(scene.notifications(critical)) == 2, scene.describe()
    (resolved,) = scene.notifications(critical, "resolved")
    assert {a["labels"]["alertname"] for a in resolved.body["alerts"]} == {"IpsechaStandbyMissingSaCopies"}
    assert set(scene.groups()) == {critical, EXPORTER}, scene.describe()
    assert stack.errors == [], "the observer missed rounds"


@plays_on(BASELINE)
def play_the_baseline(scene: Scene) -> None:
    """Past the longest scaled `for:` (15 s) and group_wait, nothing."""
    scene.settle(scene.stack.started + real(16 * 60) - time.monotonic())
    assert scene.groups() == {}, scene.describe()
    assert scene.alertmanager_alerts() == [], scene.describe()


@plays_on(FAILOVER)
def play_failover(scene: Scene) -> None:
    scene.trigger("failover")
    scene.wait_for(
        f"{scene.r2} back and STANDBY HOT",
        lambda: scene.value(f'ipsecha_redundancy_my_state{{device="{scene.r2}"}}') == 8,
        30,
    )
    # R2 may be HSRP active half a lab second before R1 is RF ACTIVE, which
    # may just reach the 2 minutes.
    assert_groups(scene, {scene.critical: ({"IpsechaUnexpectedReload"}, {"IpsechaHsrpActiveNotRfActive"})}, 30)
    assert scene.notified_devices(scene.critical, "IpsechaUnexpectedReload") == {scene.r2}, scene.describe()


def test_failover_is_one_critical_group_the_reload(plays: Plays) -> None:
    """The RF-active R2 fails and self-reloads, R1 takes over, R2 is back
    STANDBY HOT within a lab minute: one page, the RF self-reload. Its peer
    was not STANDBY HOT for well under 15 minutes, it answered no poll for
    well under 10: nothing else."""
    plays.result(FAILOVER)


@plays_on(PREEMPT)
def play_preempt(scene: Scene) -> None:
    scene.trigger("preempt")
    # R2 fails and R1 takes over; R2 comes back, preempts HSRP before its
    # SAs are synced, R1 self-reloads and R2 is RF ACTIVE without SAs (the
    # branches send on SPIs it never learnt) until they renegotiate; R1
    # rejoins last.
    r1, r2 = scene.r1, scene.r2
    scene.wait_for(f"{r1} RF ACTIVE", lambda: scene.value(f'device:ipsecha_rf_active:bool{{device="{r1}"}}') == 1, 30)
    scene.wait_for(
        f"{r2} RF ACTIVE again", lambda: scene.value(f'device:ipsecha_rf_active:bool{{device="{r2}"}}') == 1, 30
    )
    scene.wait_for(
        f"{r1} back and STANDBY HOT", lambda: scene.value(f'ipsecha_redundancy_my_state{{device="{r1}"}}') == 8, 30
    )
    # Both reloads page (one alert each), and the preemption that caused the
    # second; the branches renegotiate their SAs within a lab minute, well
    # inside IpsechaBranchSaMissing's 5. R2 may be HSRP active half a lab
    # second before it is RF ACTIVE, which may just reach the 2 minutes.
    assert_groups(
        scene,
        {
            scene.critical: ({"IpsechaUnexpectedReload"}, {"IpsechaHsrpActiveNotRfActive"}),
            scene.warning: ({"IpsechaHsrpPreemptOnStatefulGroup"}, set()),
        },
        30,
    )
    assert scene.notified_devices(scene.critical, "IpsechaUnexpectedReload") == {r1, r2}, scene.describe()


def test_preempt_is_one_critical_and_one_warning_group(plays: Plays) -> None:
    plays.result(PREEMPT)


@plays_on(SIMPLEX)
def play_simplex(scene: Scene) -> None:
    scene.trigger("simplex")
    # No reload: nothing inhibits the aftermath alerts, all three are the fault.
    assert_groups(
        scene,
        {scene.critical: ({"IpsechaPairSimplex", "IpsechaIpcCommunicationsDown", "IpsechaPeerNotStandbyHot"}, set())},
        60,
    )


def test_simplex_is_one_critical_group(plays: Plays) -> None:
    plays.result(SIMPLEX)


@plays_on(SPLIT_BRAIN)
def play_split_brain(scene: Scene) -> None:
    scene.trigger("split-brain")
    assert_groups(scene, {scene.critical: ({"IpsechaHsrpSplitBrain"}, set())}, 30)
    assert "IpsechaHsrpActiveNotRfActive" not in scene.firing_seen, scene.describe()
    held = scene.alertmanager_alerts()
    assert held and all(a["labels"]["alertname"] == "IpsechaHsrpSplitBrain" for a in held), scene.describe()
    scene.trigger("baseline")
    scene.wait_for("the split brain resolved", lambda: bool(scene.notifications(scene.critical, "resolved")), 30)
    scene.settle()
    (resolved,) = scene.notifications(scene.critical, "resolved")
    assert {(a["labels"]["alertname"], a["status"]) for a in resolved.body["alerts"]} == {
        ("IpsechaHsrpSplitBrain", "resolved")
    }, scene.describe()
    assert set(scene.groups()) == {scene.critical}, scene.describe()


def test_split_brain_pages_once_and_its_resolution_names_only_it(plays: Plays) -> None:
    """R1 is HSRP active while R2 is RF ACTIVE, the split brain seen twice:
    the rules leave IpsechaHsrpActiveNotRfActive out while the split brain
    fires, so it is never an alert, and when the lab is whole again the
    resolved notification names the split brain alone (an alert inhibited
    in Alertmanager would resolve in the same group and be listed)."""
    plays.result(SPLIT_BRAIN)


@plays_on(SA_LOSS)
def play_sa_loss(scene: Scene) -> None:
    scene.trigger("sa-loss")
    assert_groups(scene, {scene.critical: ({"IpsechaBranchSaMissing"}, set())}, 30)
    (notification, *_) = scene.groups()[scene.critical]
    lost = scene.stack.lab.pair(scene.pair).branches[0].outside_ip
    assert {a["labels"]["peer"] for a in notification.body["alerts"]} == {lost}, scene.describe()


def test_sa_loss_is_one_critical_group(plays: Plays) -> None:
    plays.result(SA_LOSS)


@plays_on(ACTIVE_UNREACHABLE)
def play_active_unreachable(scene: Scene) -> None:
    scene.trigger("active-unreachable")
    assert_groups(scene, {scene.warning: ({"IpsechaDeviceNotPolled"}, set())}, real(10 * 60) + 15)
    assert scene.notified_devices(scene.warning, "IpsechaDeviceNotPolled") == {scene.r2}, scene.describe()
    assert "IpsechaPairNotOneRfActive" not in scene.firing_seen, scene.describe()


def test_the_active_hub_unreachable_is_one_warning_group(plays: Plays) -> None:
    """The RF-active R2's management is cut (SSH refused) while RF, HSRP and
    the SAs carry on: R1 still reports its peer ACTIVE with Communications
    Up, so the pair has its RF-active hub. Only IpsechaDeviceNotPolled, after
    its 10 minutes; no pair page."""
    plays.result(ACTIVE_UNREACHABLE)


@plays_on(STANDBY_RELOAD)
def play_standby_reload(scene: Scene) -> None:
    scene.trigger("standby-reload")
    scene.wait_for(
        f"{scene.r1} back and STANDBY HOT",
        lambda: scene.value(f'ipsecha_redundancy_my_state{{device="{scene.r1}"}}') == 8,
        30,
    )
    assert_groups(scene, {scene.critical: ({"IpsechaUnexpectedReload"}, set())}, 30)
    assert scene.notified_devices(scene.critical, "IpsechaUnexpectedReload") == {scene.r1}, scene.describe()


def test_a_standby_self_reload_is_one_critical_group(plays: Plays) -> None:
    """The standby R1 self-reloads (RF induced) with no switchover: never
    expected, its log says so although `show version` reads "reload"."""
    plays.result(STANDBY_RELOAD)


@plays_on(RELOAD_LOOP)
def play_reload_loop(scene: Scene) -> None:
    scene.trigger("reload-loop")
    assert_groups(scene, {scene.critical: ({"IpsechaReloadLoop"}, set())}, 60)
    assert scene.notified_devices(scene.critical, "IpsechaReloadLoop") == {scene.r1}, scene.describe()


def test_a_reload_loop_is_one_critical_group(plays: Plays) -> None:
    """An operator reloads the standby R1 three times in a row: each reload
    is expected (no reload alert), three within the hour are a loop. Its
    pair's Simplex and peer alerts, if any, are muted under the loop."""
    plays.result(RELOAD_LOOP)


@plays_on(SYNC_LOSS)
def play_sync_loss(scene: Scene) -> None:
    scene.trigger("sync-loss")
    assert_groups(scene, {scene.critical: ({"IpsechaStandbyMissingSaCopies"}, set())}, real(5 * 60) + 15)
    assert scene.notified_devices(scene.critical, "IpsechaStandbyMissingSaCopies") == {scene.r1}, scene.describe()


def test_sync_loss_is_one_critical_group(plays: Plays) -> None:
    """The standby stays STANDBY HOT without SA copies: one alert for it."""
    plays.result(SYNC_LOSS)


def arrival_after_firing(scene: Scene, alertname: str, **labels: str) -> list[float]:
    """For each of the pair's alerts named `alertname` (with `labels`) a
    notification carried firing: seconds from its first firing in
    Prometheus to the first notification that carried it."""
    delays = []
    for key, fired in scene.alert_firing_at().items():
        found = dict(key)
        if found["alertname"] != alertname or any(found.get(k) != v for k, v in labels.items()):
            continue
        arrived = [
            n.at
            for n in scene.stack.webhook.received()
            for a in n.body["alerts"]
            if a["status"] == "firing" and {k: a["labels"].get(k) for k in found} == found
        ]
        if arrived:
            delays.append(min(arrived) - fired)
    return delays


@plays_on(TWO_RELOADS)
def play_two_reloads(scene: Scene) -> None:
    r1 = scene.r1
    scene.trigger("standby-reload")
    scene.wait_for(
        f"{r1} back and STANDBY HOT", lambda: scene.value(f'ipsecha_redundancy_my_state{{device="{r1}"}}') == 8, 30
    )
    scene.wait_for("the first reload paged", lambda: "IpsechaUnexpectedReload" in scene.notified(scene.critical), 30)
    back = time.monotonic()
    scene.settle(back + real(60) - time.monotonic())
    scene.trigger("standby-reload")
    scene.wait_for(
        "two reload alerts notified",
        lambda: len(arrival_after_firing(scene, "IpsechaUnexpectedReload", device=r1)) == 2,
        30,
    )
    scene.settle()
    boots = {
        a["labels"]["boot"]
        for n in scene.notifications(scene.critical)
        for a in n.body["alerts"]
        if a["labels"]["alertname"] == "IpsechaUnexpectedReload"
    }
    assert len(boots) == 2, scene.describe()
    delays = sorted(arrival_after_firing(scene, "IpsechaUnexpectedReload", device=r1))
    assert delays[-1] <= real(60), (delays, scene.describe())
    assert scene.resolved(scene.critical) == set(), scene.describe()


def test_two_reloads_a_minute_apart_are_two_pages(plays: Plays) -> None:
    """The standby R1 self-reloads, is back STANDBY HOT, and self-reloads
    again about a lab minute later: two boots, two IpsechaUnexpectedReload
    alerts (their `boot` labels differ: `serve` runs on the lab's clock),
    each reaching the receiver. The second is a second critical in a pair
    that has already paged: it joins the pair's group and reaches the
    receiver within a lab minute of firing in Prometheus (the critical
    route's group_interval), not at a 5-minute tick."""
    plays.result(TWO_RELOADS)


def test_the_baseline_notifies_nothing(plays: Plays) -> None:
    """The pair that plays nothing: past the longest scaled `for:` (15 s)
    and group_wait, nothing (its play), and still nothing once every other
    play is over. No group at all belongs to a pair or device that played
    nothing, and none to no pair."""
    plays.result(BASELINE)
    plays.wait_all()
    scene = plays.scenes[BASELINE]
    assert scene.groups() == {}, scene.describe()
    assert scene.alertmanager_alerts() == [], scene.describe()
    played = set(PLAYS) - {BASELINE}
    stray = {group for group in plays.stack.webhook.groups() if plays.stack.owner(dict(group[1])) not in played}
    assert stray == set(), stray
