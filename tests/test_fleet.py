"""A fleet as big as one exporter carries: what may not grow with it, and
what must not hold the rest up.

- Workers follow the fleet: auto sizes the pool from the answering
  devices' poll times plus the login slots; the pool grows and shrinks.
- The dialer makes TCP connections (and waits for the device's first
  bytes) with no worker: a device that never answers TCP, and one that
  accepts and never speaks, each fail in the session's own words.
- Devices that do not answer, listed before healthy ones, never delay
  those: at start-up, with two login slots, every healthy device is
  recorded before the first silent one has even timed out.
- A restart logs in within the login budget: never more logins in
  progress at once, nor begun within a second, than configured, as the
  lab's routers count them.
- Recording one poll costs the same with 10 pairs as with 250 (counted
  in lines of Python run, not in time).
- The open-files limit: `check` raises its soft limit to the hard one and
  polls 100 lab routers under a soft limit of 64; when the hard limit is
  too low, it says so in one line.
"""

from __future__ import annotations

import dataclasses
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.inventories import FAST_POLLING
from support.processes import BlackHole, SilentHost, closed_port
from support.snapshots import snapshot_of
from support.waiting import wait_until

from ipsec_ha_monitor.core import Monitor, Recorded
from ipsec_ha_monitor.export.exporter import Exporter
from ipsec_ha_monitor.inventory import PollSettings, load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.poll.dialer import Dialer, NoBanner
from ipsec_ha_monitor.poll.workers import MIN_AUTO_WORKERS, WorkerPool, auto_workers
from ipsec_ha_monitor.snapshot import Snapshot, Status

pytestmark = pytest.mark.integration  # the lab over SSH, TCP listeners, processes


def _write_fleet(data: dict[str, Any], folder: Path, polling: dict[str, Any]) -> Path:
    """The inventory `data` with the tests' short timeouts, workers: auto,
    and `polling` over them."""
    data["polling"] = {key: value for key, value in FAST_POLLING.items() if key != "workers"} | polling
    path = folder / "fleet.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    path.chmod(0o600)
    return path


# --- the dialer ------------------------------------------------------------------------


@pytest.fixture
def dialer() -> Iterator[Dialer]:
    dialer = Dialer()
    yield dialer
    dialer.close()


def test_the_dialer_hands_over_a_connection_once_the_device_spoke(dialer: Dialer) -> None:
    with LabThread(Lab(pairs=1, branches=1)) as lab_thread:
        port = lab_thread.lab.servers["R1"].port
        sock = dialer.dial("127.0.0.1", port, timeout=5).result(10)
        try:
            # The SSH banner is there, unread, for the SSH client.
            assert sock.recv(4, socket.MSG_PEEK) == b"SSH-"
        finally:
            sock.close()


def test_the_dialer_fails_in_words_for_each_kind_of_silence(dialer: Dialer) -> None:
    with BlackHole() as hole, SilentHost() as mute:
        refused = dialer.dial("127.0.0.1", closed_port(), timeout=2)
        unanswered = dialer.dial("127.0.0.1", hole.port, timeout=1)
        speechless = dialer.dial("127.0.0.1", mute.port, timeout=1)
        with pytest.raises(OSError, match="connection refused"):
            refused.result(5)
        with pytest.raises(OSError, match=r"no answer within 1\.0 s") as no_answer:
            unanswered.result(5)
        assert not isinstance(no_answer.value, NoBanner)
        with pytest.raises(NoBanner):
            speechless.result(5)
        assert dialer.dialing == 0


def test_the_dialer_makes_hundreds_of_connections_at_once_on_one_thread(dialer: Dialer) -> None:
    threads = threading.active_count()
    with BlackHole() as hole:
        started = time.monotonic()
        futures = [dialer.dial("127.0.0.1", hole.port, timeout=1.0) for _ in range(300)]
        assert dialer.dialing == 300 and threading.active_count() == threads
        for future in futures:
            with pytest.raises(OSError, match="no answer"):
                future.result(10)
    # All at once: the 300 timeouts ran side by side, not one after another.
    assert time.monotonic() - started < 30


# --- workers sized from the fleet -----------------------------------------------------------


def test_auto_workers_follow_the_fleets_poll_times() -> None:
    auto = PollSettings(login_concurrency=10, max_workers=300)
    # Twice what the answering polls keep busy, plus one per login slot.
    assert auto_workers(auto, busy_seconds=600.0, period=30.0, devices=5000) == 2 * 20 + 10
    assert auto_workers(auto, busy_seconds=3000.0, period=30.0, devices=5000) == 2 * 100 + 10
    assert auto_workers(auto, busy_seconds=30000.0, period=30.0, devices=5000) == 300  # max_workers
    assert auto_workers(auto, busy_seconds=3000.0, period=30.0, devices=40) == 40  # never more than devices
    assert auto_workers(PollSettings(login_concurrency=1), 0.0, 30.0, 5000) == MIN_AUTO_WORKERS
    assert auto_workers(PollSettings(workers=4), busy_seconds=3000.0, period=30.0, devices=5000) == 4  # fixed


def test_the_worker_pool_grows_and_shrinks() -> None:
    pool = WorkerPool(2, name="test-pool")
    try:
        release = threading.Event()
        started = threading.Semaphore(0)

        def job() -> int:
            started.release()
            release.wait(10)
            return threading.get_ident()

        def running(count: int) -> bool:
            return all(started.acquire(timeout=5) for _ in range(count))

        futures = [pool.submit(job) for _ in range(5)]
        assert running(2) and not started.acquire(timeout=0.2)  # two at a time
        pool.resize(5)
        assert pool.size == 5 and running(3)  # the queued ones start at once
        release.set()
        assert len({future.result(10) for future in futures}) == 5
        pool.resize(1)
        release.clear()
        futures = [pool.submit(job) for _ in range(2)]
        assert running(1) and not started.acquire(timeout=0.3)  # one left
        release.set()
        for future in futures:
            future.result(10)
    finally:
        pool.shutdown()


# --- silent devices first -------------------------------------------------------------------


class _Order:
    """The order in which devices' polls were recorded, with their statuses."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[tuple[str, frozenset[Status]]] = []

    def __call__(self, recorded: Recorded) -> None:
        with self.lock:
            for name, snapshot in recorded.snapshots.items():
                self.seen.append((name, frozenset(result.status for result in snapshot.results)))

    def names(self) -> list[str]:
        with self.lock:
            return [name for name, _ in self.seen]


def test_silent_devices_listed_first_never_delay_the_answering_ones(tmp_path: Path) -> None:
    with BlackHole() as hole, SilentHost() as mute, LabThread(Lab(pairs=2, branches=2)) as lab_thread:
        lab = lab_thread.lab
        data: dict[str, Any] = lab.inventory()
        healthy = [device["name"] for device in data["devices"]]
        silent = [
            {"name": f"SILENT-{kind}-{n}", "host": "127.0.0.1", "port": port, "role": "branch"}
            for kind, port in (("hole", hole.port), ("mute", mute.port))
            for n in range(40)
        ]
        data["devices"] = silent + data["devices"]
        # Two login slots and as few workers as auto allows: without the
        # dialer, the silent devices would hold both for 4 s per wave.
        polling = {"login_concurrency": 2, "connect_timeout": 4, "poll_timeout": 8}
        exporter = Exporter(load_inventory(_write_fleet(data, tmp_path, polling)))
        order = _Order()
        exporter.monitor.subscribe(on_record=order)
        try:
            exporter.start(30.0)
            wait_until(lambda: len(order.names()) >= len(silent) + len(healthy), 60, "every device's first poll")
        finally:
            exporter.stop()
    seen = dict(order.seen)
    first = order.names()[: len(healthy)]
    assert sorted(first) == sorted(healthy), f"a silent device ended before a healthy one: {first}"
    assert all(seen[name] == {Status.OK} for name in healthy)
    assert all(seen[device["name"]] == {Status.CONNECT} for device in silent)
    snapshots = exporter.monitor.state().snapshots
    assert "no answer within 4.0 s" in snapshots["SILENT-hole-0"].results[0].error
    assert "no SSH banner within 4.0 s" in snapshots["SILENT-mute-0"].results[0].error


# --- logins that never storm ---------------------------------------------------------------


def _first_sweep(lab: Lab, folder: Path, polling: dict[str, Any]) -> tuple[dict[str, Snapshot], str]:
    """Start an exporter over `lab` with `polling`, counting the lab's
    logins from then: every device's first poll, and the exporter's own
    metrics once they are all in."""
    with LabThread(lab):
        exporter = Exporter(load_inventory(_write_fleet(lab.inventory(), folder, polling)))
        try:
            lab.logins.reset()
            exporter.start(300.0)
            wait_until(exporter.monitor.polled_every_device, 90, "every device's first poll")
            return exporter.monitor.state().snapshots, exporter.own_metrics()
        finally:
            exporter.stop()


def _down(snapshots: dict[str, Snapshot]) -> dict[str, str]:
    return {name: snapshot.failures[0].error for name, snapshot in snapshots.items() if not snapshot.up}


def test_a_restart_logs_in_within_the_login_budget(tmp_path: Path) -> None:
    # Routers at router speed (scaled ten times down), and a budget far
    # below what the fleet would take at once: the lab counts the logins.
    lab = Lab(pairs=5, branches=6, time_scale=10, latency="router")
    polling = {"login_concurrency": 3, "logins_per_second": 10, "poll_timeout": 30}
    snapshots, own = _first_sweep(lab, tmp_path, polling)
    assert len(snapshots) == 40 and _down(snapshots) == {}
    logins = lab.logins
    assert logins.started == 40, logins.started
    assert logins.max_in_progress <= 3, logins.max_in_progress
    assert logins.max_started_within(1.0) <= 10, logins.max_started_within(1.0)
    assert "ipsecha_exporter_logins_total 40\n" in own


def test_dialed_connections_never_wait_past_the_routers_ssh_timeout(tmp_path: Path) -> None:
    # A slow login budget (one login every 0.5 s or more, two at once) and
    # routers that drop a connection not logged in within 6 s: connections
    # dialed for every device at start would be dropped before their turn.
    lab = Lab(pairs=3, branches=6, time_scale=10, latency="router", ssh_timeout=60)
    snapshots, _ = _first_sweep(lab, tmp_path, {"login_concurrency": 2, "logins_per_second": 2, "poll_timeout": 60})
    assert _down(snapshots) == {}
    assert lab.logins.started == 24


# --- the cost of recording one poll ---------------------------------------------------------


def _lines_run(call: Callable[[], object]) -> int:
    """Lines of Python executed by `call()` (its own and every callee's)."""
    count = 0

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        call()
    finally:
        sys.settrace(None)
    return count


def _cost_of_recording_one_poll(pairs: int, tmp_path: Path) -> int:
    lab = Lab(pairs=pairs, branches=1, base_port=30000)  # never started: its routers render the outputs
    inventory = load_inventory(lab.write_inventory(tmp_path / f"fleet-{pairs}.yml"))
    monitor = Monitor(inventory)
    try:
        hub = lab.router("P1-R1") if pairs > 1 else lab.router("R1")
        template = snapshot_of(hub, pair=inventory.pair_of(hub.name))
        polled = {
            name: dataclasses.replace(template, device=name, pair=inventory.pair_of(name), monotonic=1.0)
            for name in inventory.devices
        }
        monitor.record(polled)  # every device known, every pair judged once
        again = {hub.name: dataclasses.replace(template, monotonic=2.0)}
        return _lines_run(lambda: monitor.record(again))
    finally:
        monitor.close()


def test_recording_a_poll_costs_the_same_whatever_the_fleet(tmp_path: Path) -> None:
    small, large = _cost_of_recording_one_poll(10, tmp_path), _cost_of_recording_one_poll(250, tmp_path)
    assert small > 0
    assert large == small, f"recording one poll ran {small} lines with 10 pairs and {large} with 250"


# --- the open-files limit -------------------------------------------------------------------


def _check_under(limit: tuple[int, int], inventory: Path) -> subprocess.CompletedProcess[str]:
    def lower() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, limit)

    return subprocess.run(
        [sys.executable, "-m", "ipsec_ha_monitor", "check", "--config", str(inventory), "--progress", "never"],
        capture_output=True,
        text=True,
        timeout=240,
        preexec_fn=lower,
    )


def test_check_raises_its_open_files_limit_to_poll_a_fleet_past_the_soft_one(tmp_path: Path) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 4096:
        pytest.skip(f"needs a hard open-files limit of 4096 or more to lower the soft one under (this has {hard})")
    with LabThread(Lab(pairs=25, branches=2)) as lab_thread:  # 100 routers: 100 sessions
        polling = {"connect_timeout": 20, "poll_timeout": 60, "logins_per_second": 200}
        done = _check_under((64, 4096), _write_fleet(lab_thread.lab.inventory(), tmp_path, polling))
    assert "open files" not in done.stderr, done.stderr
    assert "Too many open files" not in done.stdout + done.stderr
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])


def test_check_warns_in_one_line_when_the_hard_limit_cannot_hold_the_fleet(tmp_path: Path) -> None:
    with LabThread(Lab(pairs=1, branches=1)) as lab_thread:
        path = lab_thread.lab.write_inventory(tmp_path / "lab.yml")
        done = _check_under((64, 64), path)
    warnings = [line for line in done.stderr.splitlines() if "open files" in line]
    assert len(warnings) == 1, done.stderr
    assert "the limit is 64" in warnings[0] and "LimitNOFILE" in warnings[0]
