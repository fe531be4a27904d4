"""Time you can trust (ipsec_ha_monitor/clock.py): monotonic time orders and ages
everything, the wall clock is only read by people, and one scale
(--time.scale) scales every duration the product reasons in.

A Clock whose wall clock can be stepped (as NTP steps a VM's clock that ran
ahead) is injected, never libfaketime: -1 h, +30 days, then back. Nothing
freezes, no reload is invented, data age stays right, and a failover of
the lab during the step is still seen (serve's pieces in-process over the
lab, below). The reload tracker's unit tests: steps, a real reload during
one, the recent window, two reloads a scaled minute apart with distinct
`boot` labels, and the --state file across a host reboot (boot id)."""

from __future__ import annotations

import dataclasses
import json
import time
import urllib.request
from pathlib import Path

import pytest
from support.exposition import Samples, parse_samples
from support.exposition import sample as get
from support.inventories import write_inventory
from support.processes import serving_url, spawn_serve, stop
from support.snapshots import snapshot_of
from support.waiting import wait_until

from ipsec_ha_monitor.check.state import load_state, save_state
from ipsec_ha_monitor.cli import build_parser
from ipsec_ha_monitor.clock import Clock
from ipsec_ha_monitor.core import Monitor
from ipsec_ha_monitor.export.exporter import Exporter
from ipsec_ha_monitor.export.metrics import ExportView, render
from ipsec_ha_monitor.export.server import ExporterServer
from ipsec_ha_monitor.inventory import Inventory, load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.lab.topology import LabPair
from ipsec_ha_monitor.poll import Poller
from ipsec_ha_monitor.reloads import RECENT_SECONDS, ReloadTracker, boot_label
from ipsec_ha_monitor.snapshot import Snapshot

DAY = 86_400.0
# The wall clock's steps: an hour back (a clock that ran ahead, corrected),
# 30 days ahead, then back to the truth.
STEPS = (-3600.0, 30 * DAY, 0.0)


class SteppedClock(Clock):
    """The system's clocks, but the wall clock is `offset` seconds off, and
    the boot id is the test's. real_monotonic() stays time.monotonic()
    unless told (the SSH sessions' deadlines are in that frame)."""

    def __init__(self, scale: float = 1.0, boot: str = "boot-a", monotonic_offset: float = 0.0) -> None:
        super().__init__(scale)
        self.offset = 0.0
        self.boot = boot
        self.monotonic_offset = monotonic_offset

    def wall(self) -> float:
        return time.time() + self.offset

    def real_monotonic(self) -> float:
        return time.monotonic() + self.monotonic_offset

    def boot_id(self) -> str | None:
        return self.boot

    def step_to(self, offset: float) -> None:
        self.offset = offset


# --- the clock ------------------------------------------------------------------------


def test_the_clock_converts_product_seconds_at_its_scale() -> None:
    clock = Clock(60)
    assert (clock.real(30), clock.product(0.5)) == (0.5, 30)
    before = time.monotonic() * 60
    reading = clock.monotonic()
    assert before <= reading <= time.monotonic() * 60
    # The wall time of a monotonic instant 60 product seconds ago: a real second ago.
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="time scale"):
            Clock(bad)
    assert Clock().boot_id() in (None, Path("/proc/sys/kernel/random/boot_id").read_text().strip())


def test_serve_and_check_take_the_time_scale(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    for command in ("serve", "check"):
        args = parser.parse_args([command, "--config.file", "x.yml", "--time.scale", "60"])
        assert args.time_scale == 60
        assert parser.parse_args([command, "--config.file", "x.yml"]).time_scale == 1
        with pytest.raises(SystemExit):
            parser.parse_args([command, "--config.file", "x.yml", "--time.scale", "0"])
        capsys.readouterr()
        with pytest.raises(SystemExit):
            parser.parse_args([command, "--help"])
        help_text = " ".join(capsys.readouterr().out.split())
        assert "product seconds per real second" in help_text and "timeouts stay real seconds" in help_text


def test_the_boot_label_resolution_is_a_scaled_minute() -> None:
    at = 1_780_000_020.0  # 2026-05-28T20:27:00Z
    assert boot_label(at) == "2026-05-28T20:27Z" == boot_label(at + 59.9)
    assert boot_label(at + 60) == "2026-05-28T20:28Z"
    # At 60x a scaled minute is a real second: the label carries seconds.
    assert boot_label(at + 1.5, 60) == "2026-05-28T20:27:01Z" != boot_label(at + 2, 60)
    # At 600x, a tenth of a second.
    assert boot_label(at + 0.25, 600) == "2026-05-28T20:27:00.2Z" != boot_label(at + 0.3, 600)
    assert boot_label(float("inf")) == ""


# --- the reload tracker ---------------------------------------------------------------


def _polled(snapshot: Snapshot, clock: SteppedClock, uptime: float, at: float) -> Snapshot:
    """`snapshot` as a poller makes it at monotonic `at` (product seconds):
    its wall time as the (stepped) wall clock reads then, its uptime."""
    wall = clock.wall() - clock.real(clock.monotonic() - at)
    results = []
    for result in snapshot.results:
        if result.command == "show version":
            version = dataclasses.replace(result.records[0], uptime_seconds=int(uptime), reload_reason="power-on")
            result = dataclasses.replace(result, records=(version,), monotonic=at + 0.1)
        results.append(result)
    return dataclasses.replace(snapshot, started_at=wall, results=tuple(results), monotonic=at, monotonic_end=at + 0.2)


def test_wall_clock_steps_invent_no_reload_and_a_real_one_is_still_seen(pair: LabPair, inventory: Inventory) -> None:
    clock = SteppedClock()
    tracker = ReloadTracker(clock=clock)
    r4 = snapshot_of(pair.branches[0])
    start = clock.monotonic()
    at, uptime = start - 3 * DAY, 40 * DAY  # the tracker first saw R4 three days ago
    assert tracker.observe({"R4": _polled(r4, clock, uptime, at)}, inventory) == ((), ())
    boot = tracker.booted_at()["R4"]
    # Polls a minute apart while the wall clock steps: the uptime grows
    # with the monotonic clock, whatever the wall clock says. No reload,
    # and the boot (its label) stays put.
    for offset in (*STEPS, *STEPS):
        clock.step_to(offset)
        at, uptime = at + 60, uptime + 60
        assert tracker.observe({"R4": _polled(r4, clock, uptime, at)}, inventory) == ((), ())
        assert tracker.booted_at()["R4"] == boot
    # A poll missed (an hour unreachable), the wall clock 30 days ahead: the
    # uptime grew an hour, so still no reload.
    clock.step_to(30 * DAY)
    at, uptime = at + 3600, uptime + 3600
    assert tracker.observe({"R4": _polled(r4, clock, uptime, at)}, inventory) == ((), ())
    # A real reload during the step, seen half an hour later.
    at = at + 1800
    (reload,), _ = tracker.observe({"R4": _polled(r4, clock, 1500, at)}, inventory)
    assert (reload.device, reload.previous_uptime_seconds, reload.uptime_seconds) == ("R4", uptime, 1500)
    assert reload.cause == "power" and not reload.expected
    assert reload.detected_at == pytest.approx(time.time() + 30 * DAY - clock.real(clock.monotonic() - at), abs=1)
    # The wall clock corrected: the future-dated reload stays recent for
    # exactly the window on the monotonic clock, not for the step's length.
    clock.step_to(0.0)
    later = at + RECENT_SECONDS - 1
    tracker.observe({"R4": _polled(r4, clock, 1500 + RECENT_SECONDS - 1, later)}, inventory)
    assert [r.device for r in tracker.recent()[0]] == ["R4"]
    tracker.observe({"R4": _polled(r4, clock, 1500 + RECENT_SECONDS + 1, at + RECENT_SECONDS + 1)}, inventory)
    assert tracker.recent() == ((), ())


def test_a_login_before_show_version_is_not_time_elapsed(pair: LabPair, inventory: Inventory) -> None:
    """At 60x a slow login is a product minute: the uptime is judged at the
    instant show version answered, not at the poll's start."""
    clock = SteppedClock(60)
    tracker = ReloadTracker(clock=clock)
    r4 = snapshot_of(pair.branches[0])
    at = clock.monotonic()
    first = _polled(r4, clock, 86_400, at)  # its answer came after a 1.5 s (90 product s) login
    answer = dataclasses.replace(first.results[0], monotonic=at + 90)
    tracker.observe({"R4": dataclasses.replace(first, results=(answer, *first.results[1:]))}, inventory)
    # The next poll, on the open session, half a real second later: 120
    # product seconds after the first began, 30 after its answer; the uptime
    # (whole minutes, floored) still reads the same minute. No reload.
    assert tracker.observe({"R4": _polled(r4, clock, 86_400, at + 120)}, inventory) == ((), ())


def test_answer_jitter_is_real_time_at_any_scale(pair: LabPair, inventory: Inventory) -> None:
    """At 60x a show version answer 2.5 real seconds later than the uptime
    it carries is 150 product seconds: more than the 120 s minute tolerance,
    but network and load jitter, not a reload. Beyond the real floor (3 s)
    the uptime did fall behind: a reload missed while unreachable."""
    clock = SteppedClock(60)
    tracker = ReloadTracker(clock=clock)
    r4 = snapshot_of(pair.branches[0])
    at = clock.monotonic()
    tracker.observe({"R4": _polled(r4, clock, DAY, at)}, inventory)
    assert tracker.observe({"R4": _polled(r4, clock, DAY + 60, at + 60 + 150)}, inventory) == ((), ())
    reloads, _ = tracker.observe({"R4": _polled(r4, clock, DAY + 120, at + 210 + 60 + 200)}, inventory)
    assert [r.device for r in reloads] == ["R4"]


def test_one_clock_for_every_layer(inventory: Inventory) -> None:
    """A poller or tracker on another clock would stamp on one scale and age
    on another: the Monitor refuses it."""
    clock = Clock(60)
    with pytest.raises(ValueError, match="one clock for all"):
        Monitor(inventory, poller=Poller(inventory, Clock(60)), clock=clock)
    with pytest.raises(ValueError, match="one clock for all"):
        Monitor(inventory, ReloadTracker(clock=Clock(60)), clock=clock)
    assert Monitor(inventory, ReloadTracker(clock=clock), clock=clock).tracker.clock is clock


def _labels(tracker: ReloadTracker, r4: Snapshot, inventory: Inventory, scale: float) -> str:
    page = render(
        ExportView(inventory, {"R4": r4}, booted_at=tracker.booted_at(), scale=scale, now=r4.ended + 1)
    ).decode()
    (info,) = parse_samples(page)["ipsecha_reload_info"]
    return dict(info)["boot"]


@pytest.mark.parametrize("scale", [1.0, 60.0])
def test_two_reloads_a_scaled_minute_apart_have_distinct_boot_labels(
    pair: LabPair, inventory: Inventory, scale: float
) -> None:
    clock = SteppedClock(scale)
    tracker = ReloadTracker(clock=clock)
    r4 = snapshot_of(pair.branches[0])
    at = clock.monotonic() - 600  # product seconds: ten product minutes ago
    polled = _polled(r4, clock, DAY, at)
    tracker.observe({"R4": polled}, inventory)
    labels = [_labels(tracker, polled, inventory, scale)]
    # Three reloads, each boot seen at uptime 60 and again a minute on. The
    # second comes with the wall clock stepped back two product minutes, so
    # its boot estimate is the first's to the microsecond; the third's is a
    # scaled minute or two later. Each boot gets its own label, kept for
    # the life of the boot.
    for elapsed, step in ((120, 0.0), (60, -clock.real(120)), (60, 0.0)):
        clock.step_to(clock.offset + step)
        at += elapsed
        polled = _polled(r4, clock, 60, at)
        reloads, _ = tracker.observe({"R4": polled}, inventory)
        assert [r.device for r in reloads] == ["R4"]
        labels.append(_labels(tracker, polled, inventory, scale))
        at += 60
        polled = _polled(r4, clock, 120, at)
        assert tracker.observe({"R4": polled}, inventory) == ((), ())
        assert _labels(tracker, polled, inventory, scale) == labels[-1]
    assert len(set(labels)) == len(labels) == 4, labels
    assert all(label.count(":") == (1 if scale == 1 else 2) for label in labels), labels  # minutes, or seconds


def test_the_state_file_carries_monotonic_time_within_a_boot_and_wall_time_across(
    pair: LabPair, inventory: Inventory, tmp_path: Path
) -> None:
    path = tmp_path / "state.json"
    r4 = snapshot_of(pair.branches[0])
    before = SteppedClock(boot="boot-a")
    tracker = ReloadTracker(clock=before)
    at = before.monotonic() - 100
    tracker.observe({"R4": _polled(r4, before, DAY, at)}, inventory)
    tracker.observe({"R4": _polled(r4, before, 60, at + 1)}, inventory)  # a reload, kept an hour
    save_state(path, tracker)
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["version"] == 2 and saved["clock"]["boot_id"] == "boot-a"
    age = saved["clock"]["monotonic"] - saved["devices"]["R4"]["monotonic"]  # of R4's last poll, at the save
    assert 98 < age < 100

    # The same boot, the wall clock stepped 30 days ahead since: monotonic
    # time says 99 s passed since R4's uptime read 60, so 159 is no reload
    # (by the wall clock, 30 days would have passed: a reload).
    same = SteppedClock(boot="boot-a")
    same.step_to(30 * DAY)
    loaded = load_state(path, same)
    assert loaded.devices["R4"].polled_at == tracker.devices["R4"].polled_at
    assert [r.device for r in loaded.recent()[0]] == ["R4"]
    assert loaded.observe({"R4": _polled(r4, same, 159, at + 100)}, inventory) == ((), ())
    assert [r.device for r in loaded.recent()[0]] == ["R4"]  # still within the hour

    # After a host reboot (another boot id, the monotonic clock restarted):
    # the wall clock tells the time between the runs, here 40 minutes.
    rebooted = SteppedClock(boot="boot-b", monotonic_offset=5 - time.monotonic())
    rebooted.step_to(2400)
    loaded = load_state(path, rebooted)
    now = rebooted.monotonic()
    assert loaded.devices["R4"].polled_at == pytest.approx(now - 2400 - age, abs=2)
    elapsed = now - loaded.devices["R4"].polled_at
    assert loaded.observe({"R4": _polled(r4, rebooted, 60 + int(elapsed), now)}, inventory) == ((), ())
    # The device rebooted meanwhile too: an uptime that grew, but by less
    # than the 40 minutes.
    loaded = load_state(path, rebooted)
    (reload,), _ = loaded.observe({"R4": _polled(r4, rebooted, 300, now)}, inventory)
    assert (reload.previous_uptime_seconds, reload.uptime_seconds) == (60, 300)
    # A wall clock that went backwards across the reboot: no time passed
    # since the save (never less than zero), so no reload is read into it.
    rebooted.step_to(-3600)
    loaded = load_state(path, rebooted)
    now = rebooted.monotonic()
    assert loaded.devices["R4"].polled_at == pytest.approx(now - age, abs=2)
    assert loaded.observe({"R4": _polled(r4, rebooted, 61, now)}, inventory) == ((), ())


def test_a_version_1_state_file_still_loads(tmp_path: Path) -> None:
    """Version 1 (and the unmarked files before it) stamped Unix times."""
    path = tmp_path / "state.json"
    wall = time.time()
    reload = {
        "device": "R4",
        "pair": "",
        "detected_at": wall - 600,
        "uptime_seconds": 60,
        "previous_uptime_seconds": 99_999,
        "reason": "power-on",
        "expected": False,
        "why": "not an operator reload",
    }
    version_1 = {
        "format": "ipsec-ha-monitor check state",
        "version": 1,
        "devices": {"R4": {"boot_time": wall - 660, "uptime": 600, "polled_at": wall - 60, "booted_at": wall - 660}},
        "rf_active": {"HUB-PAIR-1": "R2"},
        "switched_at": {"HUB-PAIR-1": wall - 300},
        "recent_reloads": [reload],
        "recent_switchovers": [],
    }
    path.write_text(json.dumps(version_1), encoding="utf-8")
    clock = SteppedClock()
    tracker = load_state(path, clock)
    now = clock.monotonic()
    assert tracker.devices["R4"].polled_at == pytest.approx(now - 60, abs=2)
    assert tracker.devices["R4"].booted_at == wall - 660  # the boot label's instant, as it was
    assert tracker.switched_at["HUB-PAIR-1"] == pytest.approx(now - 300, abs=2)
    (loaded,) = tracker.recent()[0]
    assert loaded.instant == pytest.approx(now - 600, abs=2) and loaded.detected_at == wall - 600


# --- the Monitor and the exporter -------------------------------------------------------


def test_newest_wins_and_data_age_by_the_monotonic_clock(pair: LabPair, inventory: Inventory) -> None:
    clock = SteppedClock(60)
    exporter = Exporter(inventory, clock=clock)
    try:
        r4 = snapshot_of(pair.branches[0])
        at = clock.monotonic() - 60  # a real second ago
        assert exporter.record({"R4": _polled(r4, clock, DAY, at - 30)})
        # The wall clock an hour back: the next poll reads an hour "older" and
        # still replaces the one held (it used to freeze everything).
        clock.step_to(-3600)
        newer = _polled(r4, clock, DAY + 30, at)
        assert exporter.record({"R4": newer}).snapshots == {"R4": newer}
        # A poll that began earlier on the monotonic clock never replaces it,
        # even stamped 30 days ahead on the wall clock.
        older = dataclasses.replace(_polled(r4, clock, DAY + 20, at - 10), started_at=time.time() + 30 * DAY)
        assert not exporter.record({"R4": older})
        assert exporter.monitor.state().snapshots["R4"] is newer
        # Data age, in product seconds, grows while polls stop, whatever the
        # wall clock does (it was clamped to 0 after a step back).
        ages = []
        for offset in STEPS:
            clock.step_to(offset)
            page = parse_samples(exporter.metrics_page(max_age=0).decode())
            ages.append(get(page, "ipsecha_data_age_seconds", device="R4", pair=""))
            time.sleep(0.05)
        assert all(age is not None and age > 0 for age in ages), ages
        assert ages == sorted(ages) and ages[-1] - ages[0] >= 0.1 * 60 * 0.9, ages  # two sleeps, 60x
        assert ages[-1] < 60 + 30, ages  # a second of real time, and a half
    finally:
        exporter.stop()


def test_probe_reuse_is_judged_on_the_monotonic_clock(pair: LabPair, inventory: Inventory) -> None:
    clock = SteppedClock()
    monitor = Monitor(inventory, clock=clock)
    try:
        r4 = snapshot_of(pair.branches[0])
        held = _polled(r4, clock, DAY, clock.monotonic() - 5)  # ended 5 s ago
        monitor.record({"R4": held})
        clock.step_to(-3600)  # wall time says it ended an hour in the future: still 5 s old
        polled: list[str] = []
        device = monitor.poller.device("R4")
        fresh = _polled(r4, clock, DAY + 5, clock.monotonic())
        device.poll = lambda: polled.append("R4") or fresh  # type: ignore[method-assign]
        assert monitor.probe("R4", timeout=5).snapshot is fresh and polled == ["R4"]
        # Within the reuse window (1 product second): answered from the last poll.
        assert monitor.probe("R4", timeout=5).snapshot is fresh and polled == ["R4"]
    finally:
        monitor.close()


# --- serve over the lab, the wall clock stepped -----------------------------------------

SCALE = 60.0  # the lab and serve: a lab minute per real second, as the end-to-end tests run
POLL = 30.0  # product seconds: every half real second
R1 = {"device": "R1", "pair": "HUB-PAIR-1"}
R2 = {"device": "R2", "pair": "HUB-PAIR-1"}
R4 = {"device": "R4", "pair": ""}
DEVICES = (R1, R2, R4)


class Served:
    """serve's pieces in-process (the exporter polling in the background, its
    HTTP server) over a lab at SCALE, on a SteppedClock at SCALE."""

    def __init__(self, lab: Lab, folder: Path) -> None:
        self.lab = lab
        self.clock = SteppedClock(SCALE)
        self.exporter = Exporter(load_inventory(write_inventory(lab, folder / "lab.yml")), clock=self.clock)
        self.server = ExporterServer(("127.0.0.1", 0), self.exporter)
        self.server.serve_in_thread()
        self.exporter.start(POLL)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.exporter.stop()

    def samples(self, path: str = "/metrics") -> Samples:
        with urllib.request.urlopen(self.server.url + path, timeout=30) as response:
            return parse_samples(response.read().decode())

    def wait_for(self, condition, what: str, timeout: float = 60.0) -> Samples:
        found: list[Samples] = []

        def met() -> bool:
            found[:] = [self.samples()]
            return bool(condition(found[0]))

        wait_until(met, timeout, what, interval=0.1, describe=lambda: {k: found[0].get(k) for k in WATCHED})
        return found[0]


WATCHED = ("ipsecha_reloads_total", "ipsecha_data_age_seconds", "ipsecha_pair_rule_ok", "ipsecha_exporter_polls_total")


def _polls(samples: Samples, device: dict[str, str]) -> float:
    return get(samples, "ipsecha_exporter_polls_total", device=device["device"], result="success") or 0


def _unexpected_reloads(samples: Samples) -> dict[str, float | None]:
    return {d["device"]: get(samples, "ipsecha_reloads_total", **d, expected="false") for d in DEVICES}


def _ages_right(samples: Samples) -> bool:
    """Every device's data age in product seconds: above 0 (never clamped)
    and within a few poll intervals (4 real seconds: a loaded machine),
    neither an hour nor 30 days."""
    ages = [get(samples, "ipsecha_data_age_seconds", **d) for d in DEVICES]
    return all(age is not None and 0 < age < 8 * POLL for age in ages)


@pytest.mark.integration  # the lab over SSH, the exporter's HTTP server
def test_serve_through_wall_clock_steps_sees_the_failover_and_invents_nothing(tmp_path: Path) -> None:
    with LabThread(Lab(pairs=1, branches=1, time_scale=SCALE)) as running:
        served = Served(running.lab, tmp_path)
        try:
            healthy = served.wait_for(
                lambda s: (
                    get(s, "ipsecha_pair_rule_ok", pair="HUB-PAIR-1", rule="no_unexpected_reload") == 1
                    and all(get(s, "ipsecha_device_up", **d) == 1 for d in DEVICES)
                ),
                "the baseline",
            )
            boot_before = _boot(healthy, R2)
            for offset in STEPS:
                served.clock.step_to(offset)
                # Nothing freezes: every device's polls go on counting, its
                # uptime moves on, and the data age stays right.
                before = served.samples()
                after = served.wait_for(
                    lambda s, before=before: (
                        all(_polls(s, d) >= _polls(before, d) + 3 for d in DEVICES)
                        and all(
                            get(s, "ipsecha_uptime_seconds", **d) > get(before, "ipsecha_uptime_seconds", **d)
                            for d in DEVICES
                        )
                    ),
                    f"polls to go on with the wall clock stepped {offset:+g} s",
                )
                assert _ages_right(after), after["ipsecha_data_age_seconds"]
                # /probe answers a fresh poll, not a frozen one (reuse: a product second).
                first = served.samples("/probe?target=R4")
                time.sleep(1.2)  # more than a lab minute: the uptime's resolution
                second = served.samples("/probe?target=R4")
                assert get(second, "ipsecha_uptime_seconds", **R4) > get(first, "ipsecha_uptime_seconds", **R4)
                assert 0 < get(second, "ipsecha_data_age_seconds", **R4) < 2 * POLL
                if offset == STEPS[0]:
                    # The lab fails over during the step back: R2 (RF active)
                    # self-reloads, R1 takes over. Seen, once, as it happened.
                    running.trigger("failover")
                    running.wait(60)
                    seen = served.wait_for(
                        lambda s: (
                            _unexpected_reloads(s)["R2"] == 1
                            and get(s, "ipsecha_redundancy_my_state", **R1) == 13
                            and get(s, "ipsecha_device_up", **R2) == 1
                        ),
                        "the failover",
                    )
                    reloaded_at = time.monotonic()
                    assert _cause(seen, R2) == "rf_self_reload"
                    assert _boot(seen, R2) != boot_before
                    assert get(seen, "ipsecha_pair_rule_ok", pair="HUB-PAIR-1", rule="no_unexpected_reload") == 0
                # No reload invented by a step: R2's one, nothing else.
                assert _unexpected_reloads(after) in (
                    {"R1": 0, "R2": 0, "R4": 0},
                    {"R1": 0, "R2": 1, "R4": 0},
                ), _unexpected_reloads(after)
                assert get(after, "ipsecha_reloads_total", **R1, expected="true") == 0
            final = served.samples()
            assert _unexpected_reloads(final) == {"R1": 0, "R2": 1, "R4": 0}
            assert _boot(final, R2) == _boot(seen, R2)  # one boot, one label, through the steps
            # The reload counts against the pair for the hour on the monotonic
            # clock (a real minute at 60x): not forgotten at once after the
            # correction (as a wall-clock window 30 days ahead was), and over on time.
            elapsed = time.monotonic() - reloaded_at
            assert elapsed < RECENT_SECONDS / SCALE - 10, "the steps took too long to judge the window"
            assert get(final, "ipsecha_pair_rule_ok", pair="HUB-PAIR-1", rule="no_unexpected_reload") == 0
            served.wait_for(
                lambda s: get(s, "ipsecha_pair_rule_ok", pair="HUB-PAIR-1", rule="no_unexpected_reload") == 1,
                "the reload to leave the window",
                timeout=RECENT_SECONDS / SCALE + 15,
            )
            over = time.monotonic() - reloaded_at
            assert RECENT_SECONDS / SCALE - 5 < over < RECENT_SECONDS / SCALE + 15, over
        finally:
            served.close()


def _info(samples: Samples, device: dict[str, str]) -> dict[str, str]:
    (labels,) = [dict(key) for key in samples["ipsecha_reload_info"] if dict(key)["device"] == device["device"]]
    return labels


def _boot(samples: Samples, device: dict[str, str]) -> str:
    return _info(samples, device)["boot"]


def _cause(samples: Samples, device: dict[str, str]) -> str:
    return _info(samples, device)["cause"]


@pytest.mark.integration  # the lab over SSH, serve as a process
def test_serve_at_60x_polls_every_half_second_and_ages_in_product_seconds(tmp_path: Path) -> None:
    """What the end-to-end tests run: `serve --time.scale 60 --poll-interval 30`."""
    with LabThread(Lab(pairs=1, branches=1, time_scale=SCALE)) as running:
        path = write_inventory(running.lab, tmp_path / "lab.yml")
        process = spawn_serve(path, "--time.scale", "60", interval="30")
        try:
            url = serving_url(process)

            def scrape() -> Samples:
                with urllib.request.urlopen(url + "/metrics", timeout=30) as response:
                    return parse_samples(response.read().decode())

            def polled() -> Samples | None:
                samples = scrape()
                return samples if _polls(samples, R4) >= 1 else None

            first = wait_until(polled, 60, "a first poll")
            started = time.monotonic()
            time.sleep(3)
            second = scrape()
            polls = _polls(second, R4) - _polls(first, R4)
            real = time.monotonic() - started
            # Every 0.5 s after the previous poll ended (at scale 1: none in 3 s).
            assert 2 <= polls <= real / 0.5 + 1, polls
            age = get(second, "ipsecha_data_age_seconds", **R4)
            assert age is not None and 0 < age < 8 * POLL, age
        finally:
            stop(process)
