"""The exporter over HTTP against the lab: the metric contract on the
baseline and through every scenario, /probe (known, unknown, shared,
deadline), /targets, the landing page, and `serve` as a process."""

from __future__ import annotations

import gzip
import json
import signal
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support.exposition import parse_samples
from support.exposition import sample as get
from support.inventories import write_inventory
from support.processes import closed_port, serving_url, spawn_serve, start_monitor, stop
from support.waiting import wait_until

from ipsec_ha_monitor.export.exporter import Exporter
from ipsec_ha_monitor.export.server import ExporterServer
from ipsec_ha_monitor.health import PAIR_RULES, RuleResult, verdict_of
from ipsec_ha_monitor.inventory import load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.lab.router import Faults

pytestmark = pytest.mark.integration  # the lab, the exporter's HTTP server, `serve` and `demo` as processes

TIME_SCALE = 20
R1 = {"device": "R1", "pair": "HUB-PAIR-1"}
R2 = {"device": "R2", "pair": "HUB-PAIR-1"}


class Running:
    """A lab and an exporter over it on 127.0.0.1, polling every
    `interval` seconds in the background (None: only when probed)."""

    def __init__(self, tmp_path: Path, interval: float | None = 0.3) -> None:
        self.lab_thread = LabThread(Lab(pairs=1, branches=2, time_scale=TIME_SCALE))
        self.lab_thread.start()
        self.lab = self.lab_thread.lab
        self.exporter = Exporter(load_inventory(write_inventory(self.lab, tmp_path / "lab.yml")))
        self.server = ExporterServer(("127.0.0.1", 0), self.exporter)
        self.server.serve_in_thread()
        if interval is not None:
            self.exporter.start(interval)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.exporter.stop()
        self.lab_thread.stop()

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        request = urllib.request.Request(self.server.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def samples(self, path: str = "/metrics") -> dict[str, dict[tuple, float]]:
        status, text = self.get(path)
        assert status == 200, text
        return parse_samples(text)

    def wait_for(self, condition, timeout: float = 60.0) -> dict:
        """The first scrape whose samples meet `condition`."""
        found: list[dict] = []

        def met() -> bool:
            found[:] = [self.samples()]
            return bool(condition(found[0]))

        wait_until(met, timeout, "the metrics", interval=0.1)
        return found[0]


@pytest.fixture
def running(tmp_path: Path):
    running = Running(tmp_path)
    try:
        # Every device recorded and the pair judged from both members, not
        # just the first device in (the tests read R2, R4 and the verdict).
        running.wait_for(
            lambda s: (
                all(
                    get(s, "ipsecha_device_up", device=name, pair=pair) == 1
                    for name, pair in (("R1", "HUB-PAIR-1"), ("R2", "HUB-PAIR-1"), ("R4", ""), ("R5", ""))
                )
                and get(s, "ipsecha_pair_verdict", pair="HUB-PAIR-1", verdict="healthy") == 1
            )
        )
        yield running
    finally:
        running.close()


def test_the_contract_on_the_baseline(running: Running) -> None:
    samples = running.samples()
    assert get(samples, "ipsecha_device_up", **R2) == 1 and get(samples, "ipsecha_device_up", device="R4", pair="") == 1
    assert (
        get(samples, "ipsecha_redundancy_my_state", **R2) == 13
        and get(samples, "ipsecha_redundancy_peer_state", **R2) == 8
    )
    assert get(samples, "ipsecha_redundancy_duplex", **R1) == 1
    assert get(samples, "ipsecha_redundancy_communications_up", **R1) == 1
    group = {"interface": "FastEthernet0/0", "group": "1"}
    assert get(samples, "ipsecha_hsrp_state", **R2, **group, group_name="BRANCH-5-TUNNEL", state="active") == 1
    assert get(samples, "ipsecha_hsrp_preempt", **R2, **group) == 0
    assert get(samples, "ipsecha_hsrp_priority", **R2, **group) == running.lab.router("R2").hsrp[0].priority
    assert get(samples, "ipsecha_ipsec_sa_active", **R2, peer="172.16.0.4") == 2
    assert get(samples, "ipsecha_uptime_seconds", **R2) > 86_400
    assert 0 < get(samples, "ipsecha_poll_duration_seconds", **R2) < 5
    assert get(samples, "ipsecha_pair_verdict", pair="HUB-PAIR-1", verdict="healthy") == 1
    # No reload seen yet: every device's counters at 0, for both kinds.
    assert set(samples["ipsecha_reloads_total"].values()) == {0}
    assert len(samples["ipsecha_reloads_total"]) == 2 * len(samples["ipsecha_device_up"])
    assert get(samples, "ipsecha_exporter_polls_total", device="R2", result="success") >= 1
    assert get(samples, "ipsecha_exporter_poll_duration_seconds_count", device="R2") >= 1
    # The background schedule: a round once every device's poll ended, no
    # more polls at once than workers, every device answering.
    own = running.wait_for(lambda s: (get(s, "ipsecha_exporter_poll_cycles_total") or 0) >= 1)
    assert 0 <= get(own, "ipsecha_exporter_polls_running") <= 8  # FAST_POLLING's workers
    assert get(own, "ipsecha_exporter_devices_unanswering") == 0
    assert get(own, "ipsecha_exporter_poll_start_delay_seconds_count") >= 4
    assert get(own, "ipsecha_exporter_polls_waiting") is not None


def test_failover_in_the_metrics(running: Running) -> None:
    running.lab_thread.trigger("failover")
    # While R2 reloads: it is down, its state series are gone, R1 is active without a peer.
    # (The poll that R2's reload cuts short keeps what ran before it: wait for
    # one made while R2 was down, in which every command failed.)
    outage = running.wait_for(
        lambda s: (
            get(s, "ipsecha_device_up", **R2) == 0
            and get(s, "ipsecha_command_success", **R2, command="show version") == 0
            and get(s, "ipsecha_command_success", **R2, command="show redundancy states") == 0
        )
    )
    assert get(outage, "ipsecha_redundancy_my_state", **R2) is None
    running.wait_for(lambda s: get(s, "ipsecha_redundancy_my_state", **R1) == 13)
    # Back: the reload is counted once, as unexpected, with its reason; R1 keeps
    # the active role and its peer is STANDBY HOT (8) again.
    back = running.wait_for(
        lambda s: (
            get(s, "ipsecha_reloads_total", **R2, expected="false") == 1
            and get(s, "ipsecha_redundancy_peer_state", **R1) == 8
        )
    )
    (info,) = [dict(key) for key in back["ipsecha_reload_info"] if dict(key)["device"] == "R2"]
    # show version says "reload"; R2's own log says the RF reloaded it.
    assert (info["reason"], info["returned_to_rom_by"], info["cause"]) == ("reload", "reload", "rf_self_reload")
    assert get(back, "ipsecha_reloads_by_cause_total", **R2, cause="rf_self_reload") == 1
    assert get(back, "ipsecha_redundancy_my_state", **R1) == 13
    assert get(back, "ipsecha_reloads_total", **R1, expected="false") == 0  # from 0: the first reload is an increase
    assert get(back, "ipsecha_ipsec_sa_active", **R1, peer="172.16.0.4") == 2


@pytest.mark.parametrize(
    ("scenario", "failing"),
    [
        ("preempt", "no_preempt"),
        ("simplex", "communications_up"),
        ("split-brain", "single_hsrp_active"),
        ("sa-loss", "expected_peers_have_sa"),
        ("sync-loss", "standby_has_sa_copies"),
    ],
)
def test_scenarios_in_the_metrics(running: Running, scenario: str, failing: str) -> None:
    running.lab_thread.trigger(scenario)
    running.lab_thread.wait()
    samples = running.wait_for(lambda s: get(s, "ipsecha_pair_rule_ok", pair="HUB-PAIR-1", rule=failing) == 0)
    # The verdict on the page is the one the failed rules on the same page
    # give, by their severities (health.PAIR_RULES): a warning rule alone
    # (preempt) is degraded, a critical one unhealthy; the preempt scenario's
    # reload may still fail a critical rule at the first scrape that shows it.
    failed = [
        RuleResult(rule, False)
        for rule in PAIR_RULES
        if get(samples, "ipsecha_pair_rule_ok", pair="HUB-PAIR-1", rule=rule) == 0
    ]
    expected = verdict_of(failed)
    assert get(samples, "ipsecha_pair_verdict", pair="HUB-PAIR-1", verdict=expected) == 1, (expected, failed)
    if scenario == "split-brain":
        assert get(samples, "ipsecha_pair_hsrp_active_members", pair="HUB-PAIR-1") == 2
    if scenario == "simplex":
        assert get(samples, "ipsecha_redundancy_duplex", **R2) == 0
    if scenario == "sa-loss":
        assert get(samples, "ipsecha_ipsec_sa_active", **R2, peer="172.16.0.4") == 0
    if scenario == "preempt":
        assert get(samples, "ipsecha_hsrp_preempt", **R2, interface="FastEthernet0/0", group="1") == 1
    if scenario == "sync-loss":  # R1 stays STANDBY HOT without a copy
        assert get(samples, "ipsecha_ipsec_sa_standby", **R1, peer="172.16.0.4") == 0
        assert get(samples, "ipsecha_redundancy_my_state", **R1) == 8


@pytest.fixture
def probed(tmp_path: Path):
    running = Running(tmp_path, interval=None)  # as with Prometheus scheduling every poll via /probe
    try:
        yield running
    finally:
        running.close()


def test_probe_known_unknown_and_shared(probed: Running) -> None:
    running = probed
    # --poll-interval 0: nothing is polled in the background.
    idle = running.samples()
    assert "ipsecha_device_up" not in idle or not idle["ipsecha_device_up"]
    assert get(idle, "ipsecha_exporter_poll_cycles_total") == 0 and get(idle, "ipsecha_exporter_polls_running") == 0
    samples = running.samples("/probe?target=R4")
    assert {dict(key)["device"] for key in samples["ipsecha_device_up"]} == {"R4"}
    assert get(samples, "ipsecha_device_up", device="R4", pair="") == 1
    # Not in the inventory: 404, and nothing is contacted (not even a lab router by its address).
    r5 = running.lab.router("R5")
    before = len(r5.commands_received)
    for target in (f"127.0.0.1:{running.lab.servers['R5'].port}", "evil.example.com", ""):
        status, _ = running.get(f"/probe?target={target}")
        assert status in (400, 404), (target, status)
    assert len(r5.commands_received) == before
    # Five Prometheus replicas probing one device at once: one poll on the
    # device, counted once.
    r5.faults = Faults(slow_seconds=0.2)
    before = list(r5.commands_received).count("show version")
    polls = get(running.samples(), "ipsecha_exporter_polls_total", device="R5", result="success") or 0
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: running.get("/probe?target=R5"), range(5)))
    assert all(status == 200 for status, _ in answers)
    assert list(r5.commands_received).count("show version") - before == 1
    assert get(running.samples(), "ipsecha_exporter_polls_total", device="R5", result="success") == polls + 1


def test_probe_answers_within_the_scrape_timeout(probed: Running) -> None:
    running = probed
    running.lab.router("R4").faults = Faults(slow_seconds=1.0)  # 4 commands: 4 s
    started = time.monotonic()
    status, text = running.get("/probe?target=R4", {"X-Prometheus-Scrape-Timeout-Seconds": "1.5"})
    elapsed = time.monotonic() - started
    assert status == 200 and elapsed < 1.5
    assert 'ipsecha_command_status{device="R4",pair="",command="show version",status="timeout"} 1' in text
    assert 'ipsecha_device_up{device="R4",pair=""} 0' in text


def test_targets_and_landing_page(running: Running) -> None:
    status, text = running.get("/targets")
    assert status == 200
    groups = json.loads(text)
    assert {"targets": ["R1"], "labels": {"device": "R1", "pair": "HUB-PAIR-1", "role": "hub"}} in groups
    assert {"targets": ["R4"], "labels": {"device": "R4", "pair": "", "role": "branch"}} in groups
    status, page = running.get("/")
    assert status == 200 and "HUB-PAIR-1" in page and "healthy" in page and "/metrics" in page
    assert running.get("/nope")[0] == 404
    # Prometheus asks for gzip: the same page, compressed.
    request = urllib.request.Request(running.server.url + "/metrics", headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        text = gzip.decompress(response.read()).decode()
    assert 'ipsecha_device_up{device="R1",pair="HUB-PAIR-1"} 1' in text


def test_serve_as_a_process(tmp_path: Path) -> None:
    with LabThread(Lab(pairs=1, branches=1, time_scale=TIME_SCALE)) as lab_thread:
        path = write_inventory(lab_thread.lab, tmp_path / "lab.yml")
        process = spawn_serve(path, interval="0.5")
        try:
            url = serving_url(process) + "/metrics"
            assert url.startswith("http://127.0.0.1:"), url
            text = wait_until(lambda: _scraped(url, 'ipsecha_device_up{device="R4",pair=""} 1'), 30, "R4 up")
            # SIGHUP: the inventory without R4; R4's series leave, the others stay.
            write_inventory(lab_thread.lab, path, drop=("R4",))
            process.send_signal(signal.SIGHUP)
            text = wait_until(lambda: _scraped(url, unless='device="R4"'), 30, "R4's series gone")
            assert 'device="R4"' not in text and 'ipsecha_device_up{device="R1",pair="HUB-PAIR-1"} 1' in text
        finally:
            stderr = stop(process)
    assert process.returncode == 0, stderr
    assert "served without TLS or authentication" in stderr
    assert lab_thread.lab.credentials.password not in stderr


def _scraped(url: str, wanted: str = "", unless: str | None = None) -> str:
    """The page at `url` if it holds `wanted` (and not `unless`), else ""."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return text if wanted in text and (unless is None or unless not in text) else ""


def test_demo_needs_no_configuration() -> None:
    ports = [closed_port(), closed_port()]
    process = start_monitor(
        "demo", "--web.listen-address", f"127.0.0.1:{ports[0]}", "--control-address", f"127.0.0.1:{ports[1]}"
    )
    try:
        # The lab and what to try on stdout; the start record (serving 5
        # devices) on stderr, once it serves.
        lines = []
        while not lines or not lines[-1].startswith("Ctrl-C stops the demo."):
            line = process.stdout.readline()
            assert line, f"the demo's stdout ended early: {lines}"
            lines.append(line)
        assert any(f"lab trigger failover --control-address 127.0.0.1:{ports[1]}" in line for line in lines), lines
        assert serving_url(process) == f"http://127.0.0.1:{ports[0]}"
        url = f"http://127.0.0.1:{ports[0]}/metrics"

        def every_device_polled() -> str:
            text = _scraped(url)
            polled = (
                text.count("ipsecha_device_up{") == 5 and " 0\n" not in text.split("# HELP ipsecha_poll_duration")[0]
            )
            return text if polled else ""

        text = wait_until(every_device_polled, 30, "all 5 demo devices polled")
        assert 'ipsecha_pair_verdict{pair="HUB-PAIR-1",verdict="healthy"} 1' in text
    finally:
        stop(process)
    assert process.returncode == 0


def test_late_and_removed_snapshots_are_ignored(probed: Running, tmp_path: Path) -> None:
    running = probed
    exporter = running.exporter
    older = running.exporter.poller.poll("R4")
    newer = running.exporter.poller.poll("R4")
    exporter.record({"R4": newer})
    exporter.record({"R4": older})  # a slow poll's result landing after a probe's
    samples = running.samples()
    assert get(samples, "ipsecha_exporter_polls_total", device="R4", result="success") == 1
    assert set(samples["ipsecha_reloads_total"].values()) == {0}  # its smaller uptime was not read as a reload
    # SIGHUP removes R5 while a poll of it still runs: its late result stays out.
    late = running.exporter.poller.poll("R5")
    exporter.update_inventory(load_inventory(write_inventory(running.lab, tmp_path / "smaller.yml", drop=("R5",))))
    exporter.record({"R5": late})
    assert 'device="R5"' not in running.get("/metrics")[1]
