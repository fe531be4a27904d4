"""The exporter's background polling, each device on its own clock, against
the lab over SSH: healthy routers are polled again about every interval
while a stalled router and a host that accepts TCP and never answers SSH
hold workers for seconds; an inventory update schedules new devices and
drops removed ones; stop() does not wait for the stalled poll."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.exposition import parse_samples
from support.exposition import sample as get
from support.processes import SilentHost
from support.waiting import wait_until

from ipsec_ha_monitor.core import Recorded
from ipsec_ha_monitor.export.exporter import Exporter
from ipsec_ha_monitor.inventory import load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.lab.router import Faults
from ipsec_ha_monitor.snapshot import Status

pytestmark = pytest.mark.integration  # the lab over SSH, a TCP listener

INTERVAL = 1.5
# One poll of the stalled router (two stalled commands of 2 s, the session
# reopened between them) and one of the silent host (its 2 s connect
# timeout) can fill a pool of two workers, as a cycle used to wait for both.
POLLING = {
    "workers": 2,
    "connect_timeout": 2,
    "command_timeout": 2,
    "poll_timeout": 5,
    "keepalive": 5,
    "backoff_initial": 0.5,
    "backoff_max": 2,
}
HEALTHY = ("R1", "R2", "R4")
STALLED, SILENT, ADDED = "R5", "SILENT", "R6"


def write(lab: Lab, silent: SilentHost, path: Path, drop: tuple[str, ...], workers: int = 2) -> Path:
    data: dict[str, Any] = lab.inventory()
    data["polling"] = dict(POLLING, workers=workers)
    data["devices"] = [device for device in data["devices"] if device["name"] not in drop]
    data["devices"].append({"name": SILENT, "host": "127.0.0.1", "port": silent.port, "role": "branch"})
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    path.chmod(0o600)
    return path


class Recordings:
    """When each device's poll was recorded (time.monotonic()), and its snapshot."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ends: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, list[set[Status]]] = defaultdict(list)

    def __call__(self, recorded: Recorded) -> None:
        now = time.monotonic()
        with self.lock:
            for name, snapshot in recorded.snapshots.items():
                self.ends[name].append(now)
                self.statuses[name].append({result.status for result in snapshot.results})

    def count(self, name: str) -> int:
        with self.lock:
            return len(self.ends[name])

    def between(self, name: str, start: float, end: float) -> list[float]:
        with self.lock:
            return [at for at in self.ends[name] if start <= at <= end]


@dataclass
class Fleet:
    lab: Lab
    silent: SilentHost
    exporter: Exporter
    recordings: Recordings
    workers: int


@pytest.fixture
def fleet(tmp_path: Path, request: pytest.FixtureRequest):
    """R1, R2, R4 healthy, R5 stalled, SILENT silent (R6 left out), the
    exporter over them with `workers` (the test's parameter, default 2),
    not polling yet."""
    workers = getattr(request, "param", 2)
    silent = SilentHost()
    lab_thread = LabThread(Lab(pairs=1, branches=3, time_scale=20))
    try:
        lab_thread.start()
        lab = lab_thread.lab
        lab.router(STALLED).faults = Faults(stall_output=True)
        exporter = Exporter(load_inventory(write(lab, silent, tmp_path / "lab.yml", (ADDED,), workers)))
        try:
            recordings = Recordings()
            exporter.monitor.subscribe(on_record=recordings)
            yield Fleet(lab, silent, exporter, recordings, workers)
        finally:
            exporter.stop()
    finally:
        lab_thread.stop()
        silent.close()


def test_healthy_devices_keep_their_interval_beside_a_stalled_and_a_silent_one(fleet: Fleet) -> None:
    exporter, recordings = fleet.exporter, fleet.recordings
    exporter.start(INTERVAL)
    # Warm-up: the first polls of the stalled and the silent device, which
    # nothing yet tells from healthy ones, have ended.
    wait_until(lambda: recordings.count(STALLED) >= 1 and recordings.count(SILENT) >= 1, 30, "the first bad polls")
    start = time.monotonic()
    worst_age = 0.0
    while time.monotonic() - start < 6 * INTERVAL:
        samples = parse_samples(exporter.metrics_page(max_age=0).decode())  # rendered now
        ages = [get(samples, "ipsecha_data_age_seconds", device=name, pair=_pair(name)) for name in HEALTHY]
        assert None not in ages, ages
        worst_age = max(worst_age, *ages)
        time.sleep(0.2)
    end = time.monotonic()
    # Every healthy device polled again about every interval: an end at
    # most two intervals after the previous one, through the whole window.
    for name in HEALTHY:
        before = recordings.between(name, start - 2 * INTERVAL, start)[-1:] or [start]
        ends = recordings.between(name, start, end)
        gaps = [b - a for a, b in zip([*before, *ends], [*ends, end], strict=False)]
        assert len(ends) >= 4 and max(gaps) < 2 * INTERVAL, (name, [round(gap, 2) for gap in gaps])
    # ... its data never older than that on /metrics ...
    assert worst_age < 2 * INTERVAL, worst_age
    # ... while the stalled router's polls time out and the silent host's
    # never connect, each still retried (sharing the workers the healthy leave).
    assert recordings.between(STALLED, start, end) and recordings.between(SILENT, start, end)
    assert all(Status.TIMEOUT in statuses for statuses in recordings.statuses[STALLED])
    assert all(statuses <= {Status.TIMEOUT, Status.CONNECT} for statuses in recordings.statuses[SILENT])
    assert fleet.silent.accepted >= 1
    own = parse_samples(exporter.own_metrics())
    assert get(own, "ipsecha_exporter_devices_unanswering") == 2
    assert get(own, "ipsecha_exporter_polls_running") <= fleet.workers
    # stop() starts no more polls at once: it does not wait for the stalled
    # poll (up to 5 s) or the silent host's login (2 s) to end.
    stopped = time.monotonic()
    exporter.stop()
    assert time.monotonic() - stopped < 2.0
    polls = {name: recordings.count(name) for name in HEALTHY}
    time.sleep(2 * INTERVAL)
    assert {name: recordings.count(name) for name in HEALTHY} == polls


# Four workers: the stalled and the silent device busy two, the answering keep one: one is left for R6.
@pytest.mark.parametrize("fleet", [4], indirect=True)
def test_an_inventory_update_schedules_new_devices_and_drops_removed_ones(fleet: Fleet, tmp_path: Path) -> None:
    lab, exporter, recordings = fleet.lab, fleet.exporter, fleet.recordings
    exporter.start(INTERVAL)
    wait_until(lambda: recordings.count("R4") >= 2 and recordings.count(STALLED) >= 1, 30, "R4 polled twice")
    assert recordings.count(ADDED) == 0
    # R4 leaves, R6 comes in.
    exporter.update_inventory(load_inventory(write(lab, fleet.silent, tmp_path / "next.yml", ("R4",), fleet.workers)))
    updated = time.monotonic()
    # R6 is polled at once, before the stalled and the silent device, due
    # too, and then every interval.
    wait_until(lambda: recordings.count(ADDED) >= 1, 10, "R6 polled")
    assert recordings.ends[ADDED][0] - updated < INTERVAL
    wait_until(lambda: recordings.count(ADDED) >= 3, 10, "R6 polled three times")
    ends = recordings.ends[ADDED]
    assert max(b - a for a, b in pairwise(ends)) < 2 * INTERVAL
    # R4: no longer polled (a poll that ran at the update may still end),
    # its series gone.
    r4, r1 = lab.router("R4"), recordings.count("R1")
    wait_until(lambda: recordings.count("R1") >= r1 + 1, 10, "R1 polled after the update")
    commands, r1 = len(r4.commands_received), recordings.count("R1")
    wait_until(lambda: recordings.count("R1") >= r1 + 2, 10, "R1 polled twice more")
    assert len(r4.commands_received) == commands
    text = exporter.metrics_page().decode()
    assert [line for line in text.splitlines() if 'device="R4"' in line] == []
    assert f'ipsecha_device_up{{device="{ADDED}",pair=""}} 1' in text
    assert "R4" not in exporter.monitor.state().snapshots


def _pair(name: str) -> str:
    return "HUB-PAIR-1" if name in ("R1", "R2") else ""
