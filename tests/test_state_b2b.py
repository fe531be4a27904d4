"""check --state keeps the box-to-box history (RgHistory) beside the
reload tracker: from cron, a preemption between two runs fails
rg_no_preempt on the second, role changes rising over three runs fail
rg_no_flapping, and the history's times are carried across processes and
host reboots as the tracker's are (an hour later it is forgotten). A state
file without the history loads as before; a bad history is refused as a
bad tracker is.

Each run is `check` in-process on a clock the test moves (monotonic,
wall and boot id), its poll replaced by snapshots built from the real
IOS-XE group sample and recorded through the real Monitor, as
tests/test_check_b2b.py does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.b2b import DAY, PAIR, Pair, group, polled_as, vip, write_xe_inventory

from ipsec_ha_monitor import check as check_module
from ipsec_ha_monitor.check.state import load_check_state, save_state
from ipsec_ha_monitor.clock import Clock
from ipsec_ha_monitor.health_b2b import PREEMPT, RgHistory
from ipsec_ha_monitor.inventory import Inventory, load_inventory
from ipsec_ha_monitor.lab.topology import LabPair
from ipsec_ha_monitor.reloads import ReloadTracker
from ipsec_ha_monitor.snapshot import Snapshot


def _sample_to_active() -> int:
    count = group("ACTIVE").role_changes_to_active
    assert count is not None
    return count


# The sample's role changes to active: the first run's reading.
TO_ACTIVE = _sample_to_active()


class HandClock(Clock):
    """Monotonic and wall time that move only when the test says; the host's
    boot id is the test's (another one: the host rebooted)."""

    def __init__(self, at: float = 1_000.0, boot: str = "boot-a") -> None:
        super().__init__()
        self.at, self.boot = at, boot
        self.wall_offset = 1_700_000_000.0

    def monotonic(self) -> float:
        return self.at

    def wall(self) -> float:
        return self.wall_offset + self.at

    def boot_id(self) -> str | None:
        return self.boot


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_xe_inventory(tmp_path)


@pytest.fixture
def inventory(config: Path) -> Inventory:
    return load_inventory(config)


def polled(pair: LabPair, inventory: Inventory, at: float, xe1_active: bool = True, **groups: object) -> dict:
    """Both members polled at `at`, up 3 days then (no reload), XE1 or XE2
    ACTIVE owning the VIP; `xe1=`/`xe2=` field changes to that member's group."""
    xe1 = group("ACTIVE" if xe1_active else "STANDBY", **dict(groups.get("xe1", {})))  # type: ignore[call-overload]
    xe2 = group("STANDBY" if xe1_active else "ACTIVE", **dict(groups.get("xe2", {})))  # type: ignore[call-overload]
    return Pair(pair, inventory).baseline(
        at=at,
        xe1_groups=(xe1,),
        xe2_groups=(xe2,),
        xe1_vips=(vip(xe1_active),),
        xe2_vips=(vip(not xe1_active),),
        xe1_uptime=int(3 * DAY + at),
        xe2_uptime=int(3 * DAY + at),
    )


def run(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    config: Path,
    clock: HandClock,
    snapshots: dict[str, Snapshot],
    state: Path | None,
) -> tuple[int, dict[str, object], dict[str, str]]:
    """One `check --json [--state]` run polling `snapshots`: the exit code,
    the pair's verdict and its rg rules that did not pass (rule -> message)."""

    polled_as(monkeypatch, snapshots, clock.wall())
    code = check_module.main(str(config), True, str(state) if state else None, None, False, clock=clock)
    out, err = capsys.readouterr()
    assert not err, err
    (judged,) = json.loads(out)["pairs"]
    failed = {rule["rule"]: rule["message"] for rule in judged["rules"] if rule["ok"] is not True}
    return code, judged, failed


def test_a_preemption_between_two_cron_runs_fails_the_second(
    pair: LabPair,
    config: Path,
    inventory: Inventory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock = HandClock(1_000.0)
    before = polled(pair, inventory, clock.at)
    # Five minutes later XE2 is ACTIVE: XE1 was ACTIVE with its peer STANDBY
    # HOT, faults Up, no fault switchover, no reload: preemption.
    after = polled(pair, inventory, 1_300.0, xe1_active=False, xe2={"role_changes_to_active": TO_ACTIVE + 1})

    # Without --state each run sees one poll: the takeover goes unseen.
    assert run(monkeypatch, capsys, config, clock, before, None)[0] == 0
    clock.at = 1_300.0
    code, judged, failed = run(monkeypatch, capsys, config, clock, after, None)
    assert (code, failed) == (0, {}), failed

    state = tmp_path / "state.json"
    clock.at = 1_000.0
    code, judged, failed = run(monkeypatch, capsys, config, clock, before, state)
    assert (code, judged["verdict"], failed) == (0, "healthy", {})
    assert "rg_history" in json.loads(state.read_text(encoding="utf-8"))
    clock.at = 1_300.0
    code, judged, failed = run(monkeypatch, capsys, config, clock, after, state)
    assert (code, judged["verdict"]) == (1, "degraded")  # rg_no_preempt is a warning
    assert list(failed) == ["rg_no_preempt"], failed
    assert failed["rg_no_preempt"].startswith("group 1: XE2 took the ACTIVE role from XE1 0 s ago: preemption (XE1 ")

    # The next run, XE2 still ACTIVE: the takeover of the hour is still failing...
    clock.at = 1_600.0
    later = polled(pair, inventory, 1_600.0, xe1_active=False, xe2={"role_changes_to_active": TO_ACTIVE + 1})
    failed = run(monkeypatch, capsys, config, clock, later, state)[2]
    assert list(failed) == ["rg_no_preempt"]
    assert failed["rg_no_preempt"].startswith("group 1: XE2 took the ACTIVE role from XE1 5 min ago: preemption")
    # ...and once the hour is past, forgotten.
    clock.at = 1_300.0 + 3_601
    past = polled(pair, inventory, clock.at, xe1_active=False, xe2={"role_changes_to_active": TO_ACTIVE + 1})
    code, _, failed = run(monkeypatch, capsys, config, clock, past, state)
    assert (code, failed) == (0, {})


def test_role_changes_rising_over_three_cron_runs_fail_rg_no_flapping(
    pair: LabPair,
    config: Path,
    inventory: Inventory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = tmp_path / "state.json"
    clock = HandClock(1_000.0)
    code, _, failed = run(monkeypatch, capsys, config, clock, polled(pair, inventory, clock.at), state)
    assert (code, failed) == (0, {})
    # XE1 stays ACTIVE (no takeover), but its group went to active once more...
    clock.at = 1_300.0
    xe1 = {"role_changes_to_active": TO_ACTIVE + 1}
    code, judged, failed = run(monkeypatch, capsys, config, clock, polled(pair, inventory, clock.at, xe1=xe1), state)
    assert (code, failed) == (0, {}), failed
    flapping = next(rule for rule in judged["rules"] if rule["rule"] == "rg_no_flapping")  # type: ignore[attr-defined]
    assert flapping["message"] == "group 1: 1 role changes to active and fault switchovers within the last hour"
    # ...and once more, XE2 once too, and XE2 counted an authentication failure.
    clock.at = 1_600.0
    xe1 = {"role_changes_to_active": TO_ACTIVE + 2}
    xe2 = {"role_changes_to_active": TO_ACTIVE + 1, "authentication_failures": 1}
    snapshots = polled(pair, inventory, clock.at, xe1=xe1, xe2=xe2)
    code, judged, failed = run(monkeypatch, capsys, config, clock, snapshots, state)
    assert (code, judged["verdict"]) == (1, "unhealthy")  # rg_no_flapping is critical
    assert sorted(failed) == ["rg_control_link_clean", "rg_no_flapping"], failed
    assert failed["rg_no_flapping"] == (
        "group 1: 3 role changes to active and fault switchovers within the last hour "
        "(XE1 2 to active and 0 fault switchovers, XE2 1 to active and 0 fault switchovers)"
    )
    assert failed["rg_control_link_clean"] == (
        "group 1: on XE2 authentication failures rose by 1 within the last 10 min"
    )


def _history_with_a_preemption(pair: LabPair, inventory: Inventory) -> RgHistory:
    """XE2 preempted XE1 at 1300; XE2's role changes to active rose then by 1."""
    history = RgHistory()
    xe_pair = inventory.pairs[PAIR]
    assert history.observe(xe_pair, polled(pair, inventory, 1_000.0)) == ()
    after = polled(pair, inventory, 1_300.0, xe1_active=False, xe2={"role_changes_to_active": TO_ACTIVE + 1})
    (takeover,) = history.observe(xe_pair, after)
    assert (takeover.active, takeover.cause, takeover.at) == ("XE2", PREEMPT, 1_300.0)
    return history


def test_the_history_is_carried_across_processes_and_host_reboots(
    pair: LabPair, inventory: Inventory, tmp_path: Path
) -> None:
    xe_pair = inventory.pairs[PAIR]
    path = tmp_path / "state.json"
    saving = HandClock(1_400.0)  # saved 100 s after the takeover
    save_state(path, ReloadTracker(clock=saving), _history_with_a_preemption(pair, inventory))

    def takeover_and_flaps(clock: HandClock) -> tuple[list[tuple[str, float]], tuple[tuple[str, int, int], ...]]:
        (view,) = load_check_state(path, clock).rg_history.view(xe_pair, clock.at).values()
        return [(t.active, t.at) for t in view.takeovers], view.flaps

    # The same boot of the host, 10 minutes later: the stamps as they were.
    assert takeover_and_flaps(HandClock(1_900.0)) == (
        [("XE2", 1_300.0)],
        (("XE1", 0, 0), ("XE2", 1, 0)),
    )

    # The host rebooted (another boot id, the monotonic clock restarted at
    # 0) and the wall clock says 10 minutes passed since the save: the
    # takeover happened 100 s before the save, 700 s before now.
    rebooted = HandClock(50.0, boot="boot-b")
    rebooted.wall_offset += 1_400.0 + 600 - 50.0
    (takeovers, flaps) = takeover_and_flaps(rebooted)
    assert takeovers == [("XE2", pytest.approx(50.0 - 700))]
    assert flaps == (("XE1", 0, 0), ("XE2", 1, 0))
    # A preemption seen before the reboot still fails the next run's judgement.
    history = load_check_state(path, rebooted).rg_history
    history.observe(
        xe_pair, polled(pair, inventory, 50.0, xe1_active=False, xe2={"role_changes_to_active": TO_ACTIVE + 1})
    )
    (view,) = history.view(xe_pair).values()
    assert [t.cause for t in view.takeovers] == [PREEMPT]

    # An hour after the takeover (same boot): forgotten, and the counters
    # read then are no baseline (a rise since then is not placed in this hour).
    later = HandClock(1_300.0 + 3_601)
    assert takeover_and_flaps(later) == ([], ())
    history = load_check_state(path, later).rg_history
    history.observe(
        xe_pair,
        polled(pair, inventory, later.at, xe1_active=False, xe2={"role_changes_to_active": TO_ACTIVE + 5}),
    )
    (view,) = history.view(xe_pair).values()
    assert (view.takeovers, view.flaps) == ((), (("XE1", 0, 0), ("XE2", 0, 0)))
    # But the ACTIVE member is remembered, as the tracker's RF-active one
    # is: XE1 taking the group back after the gap is a takeover.
    history.observe(xe_pair, polled(pair, inventory, later.at + 60, xe1={"role_changes_to_active": TO_ACTIVE + 1}))
    (view,) = history.view(xe_pair).values()
    assert [(t.previous_active, t.active) for t in view.takeovers] == [("XE2", "XE1")]


def test_a_state_file_without_the_history_loads_as_before(
    pair: LabPair,
    config: Path,
    inventory: Inventory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "state.json"
    clock = HandClock(1_000.0)
    tracker = ReloadTracker(clock=clock)
    tracker.observe(polled(pair, inventory, 900.0), inventory)
    save_state(path, tracker)  # as the monitor before the history wrote it
    assert "rg_history" not in json.loads(path.read_text(encoding="utf-8"))
    loaded = load_check_state(path, clock)
    assert sorted(loaded.tracker.devices) == ["XE1", "XE2"]
    assert loaded.rg_history.to_dict() == RgHistory().to_dict()
    # check runs on it, and writes the history from then on.
    code, _, failed = run(monkeypatch, capsys, config, clock, polled(pair, inventory, clock.at), path)
    assert (code, failed) == (0, {})
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert sorted(saved["rg_history"]["pairs"][PAIR]["1"]["members"]) == ["XE1", "XE2"]
    assert sorted(saved["devices"]) == ["XE1", "XE2"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda history: history.update(latest="yesterday"),
        lambda history: history["pairs"][PAIR]["1"]["members"]["XE1"]["values"].update(to_active="3"),
        lambda history: history["pairs"][PAIR]["1"]["takeovers"][0].update(cause="sunspots"),
        lambda history: history["pairs"][PAIR]["1"].update(active_record={"my_role": "ACTIVE"}),
        lambda history: history["pairs"][PAIR]["1"]["members"]["XE2"].update(rises=[[1300, "to_active", -1]]),
        lambda history: history["pairs"].update({PAIR: []}),
    ],
    ids=["time", "counter", "cause", "record", "rise", "shape"],
)
def test_a_bad_history_is_refused_as_a_bad_tracker_is(
    damage: object,
    pair: LabPair,
    config: Path,
    inventory: Inventory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "state.json"
    clock = HandClock(1_400.0)
    save_state(path, ReloadTracker(clock=clock), _history_with_a_preemption(pair, inventory))
    state = json.loads(path.read_text(encoding="utf-8"))
    damage(state["rg_history"])  # type: ignore[operator]
    path.write_text(json.dumps(state), encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"^state file .*state\.json: not a box-to-box history this monitor wrote"):
        load_check_state(path, clock)
    code = check_module.main(str(config), False, str(path), None, False, clock=clock)
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith(f"ipsec-ha-monitor check: state file {path}: "), err
    assert path.read_bytes() == before  # left as it is


def test_a_history_without_the_clock_is_refused(pair: LabPair, inventory: Inventory, tmp_path: Path) -> None:
    """Its stamps are monotonic readings: without the file's clock they mean nothing."""
    path = tmp_path / "state.json"
    clock = HandClock(1_400.0)
    save_state(path, ReloadTracker(clock=clock), _history_with_a_preemption(pair, inventory))
    state = json.loads(path.read_text(encoding="utf-8"))
    state.update(version=1)
    del state["clock"]
    path.write_text(json.dumps(state), encoding="utf-8")
    with pytest.raises(ValueError, match="a box-to-box history without a clock"):
        load_check_state(path, clock)


def test_the_history_round_trips_whole(pair: LabPair, inventory: Inventory) -> None:
    history = _history_with_a_preemption(pair, inventory)
    data = history.to_dict()
    again = RgHistory.from_dict(json.loads(json.dumps(data)), lambda stamp: stamp)
    assert again.to_dict() == data
    xe_pair = inventory.pairs[PAIR]
    assert again.view(xe_pair) == history.view(xe_pair)
    # What the takeover's cause was judged on is kept: XE1's record as ACTIVE.
    assert data["pairs"][PAIR]["1"]["active"] == "XE2"
    assert data["pairs"][PAIR]["1"]["active_record"]["peer_rf_state"] == 8
