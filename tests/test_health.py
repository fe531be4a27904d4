"""Health rules and reload tracking, judged on snapshots built from the
lab's rendered outputs (parsed as a poll would), each state set by hand."""

from __future__ import annotations

import dataclasses

import pytest
from support.snapshots import snapshot_of

from monitor.health import (
    HEALTHY,
    RULES,
    UNHEALTHY,
    UNKNOWN,
    ReloadTracker,
    classify_reload,
    evaluate_pair,
)
from monitor.inventory import Inventory
from monitor.lab.topology import LabPair, drop_tunnel, set_hsrp_roles
from monitor.rf_states import ACTIVE, DISABLED, STANDBY_HOT
from monitor.snapshot import CommandResult, Snapshot, Status

NEGOTIATION = 3


def judge(pair: LabPair, inventory: Inventory, **replaced: Snapshot | None):
    snapshots = {hub.name: snapshot_of(hub) for hub in pair.hubs}
    snapshots.update(replaced)
    snapshots = {name: snap for name, snap in snapshots.items() if snap is not None}
    return evaluate_pair(inventory.pairs["HUB-PAIR-1"], snapshots, inventory)


def failed(health) -> dict[str, str]:
    return {result.rule: result.message for result in health.failed}


def test_baseline_is_healthy(pair: LabPair, inventory: Inventory) -> None:
    health = judge(pair, inventory)
    assert health.verdict == HEALTHY
    assert health.rf_active == "R2" and health.hsrp_active == ("R2",)
    assert [result.rule for result in health.results] == list(RULES)
    assert all(result.ok for result in health.results)


def test_peer_not_standby_hot(pair: LabPair, inventory: Inventory) -> None:
    pair.r2.set_rf(ACTIVE, NEGOTIATION)
    health = judge(pair, inventory)
    assert health.verdict == UNHEALTHY
    assert failed(health) == {
        "peer_standby_hot": "R2's peer is NEGOTIATION (3), not STANDBY HOT: a failover now drops the tunnels"
    }


def test_simplex_and_communications_down(pair: LabPair, inventory: Inventory) -> None:
    for hub in pair.hubs:
        hub.duplex, hub.communications_up, hub.communications_reason = False, False, "Failure"
    pair.r2.set_rf(ACTIVE, DISABLED)
    assert set(failed(judge(pair, inventory))) == {"peer_standby_hot", "duplex", "communications_up"}


def test_split_brain(pair: LabPair, inventory: Inventory) -> None:
    pair.r1.set_hsrp(pair.r1.hsrp[0], "active")
    problems = failed(judge(pair, inventory))
    assert problems["single_hsrp_active"] == "split brain: R1 and R2 are both HSRP active"
    assert problems["hsrp_active_is_rf_active"] == "R1 is HSRP active but R2 is RF ACTIVE"


def test_hsrp_active_on_the_rf_standby_unit(pair: LabPair, inventory: Inventory) -> None:
    set_hsrp_roles(pair, pair.r1, pair.r2)
    assert set(failed(judge(pair, inventory))) == {"hsrp_active_is_rf_active"}


def test_no_hsrp_active_member(pair: LabPair, inventory: Inventory) -> None:
    for hub in pair.hubs:
        hub.set_hsrp(hub.hsrp[0], "listen")
    assert failed(judge(pair, inventory))["hsrp_active_present"].startswith("no member is HSRP active")


def test_two_rf_active_members(pair: LabPair, inventory: Inventory) -> None:
    pair.r1.set_rf(ACTIVE, DISABLED)
    health = judge(pair, inventory)
    assert failed(health)["one_rf_active"] == "both R1 and R2 are RF ACTIVE"
    assert health.rf_active is None


def test_preemption_on_the_stateful_group(pair: LabPair, inventory: Inventory) -> None:
    pair.r1.hsrp[0].preempt = True
    assert failed(judge(pair, inventory)) == {
        "no_preempt": "preemption enabled on R1 FastEthernet0/0 group 1 (BRANCH-5-TUNNEL): "
        "a rebooted router takes over unsynced"
    }


def test_expected_peer_without_an_active_sa(pair: LabPair, inventory: Inventory) -> None:
    drop_tunnel(pair.r2.tunnels["172.16.0.5"], negotiating=True)
    assert failed(judge(pair, inventory)) == {"expected_peers_have_sa": "R2 has no active IPsec SA toward 172.16.0.5"}


def test_a_member_not_polled_is_unknown_unless_the_other_shows_a_failure(pair: LabPair, inventory: Inventory) -> None:
    down = Snapshot("R1", "HUB-PAIR-1", "hub", 1.0, 3.0, (CommandResult("show version", Status.CONNECT, error="x"),))
    health = judge(pair, inventory, R1=down)
    assert health.verdict == UNKNOWN and not health.failed
    assert {result.rule for result in health.unknown} == {"single_hsrp_active", "no_preempt"}
    pair.r2.set_rf(ACTIVE, DISABLED)
    assert judge(pair, inventory, R1=None).verdict == UNHEALTHY


# --- reloads --------------------------------------------------------------------


def _with_uptime(snapshot: Snapshot, at: float, uptime: int, reason: str = "Reload Command") -> Snapshot:
    results = []
    for result in snapshot.results:
        if result.command == "show version":
            version = dataclasses.replace(result.records[0], uptime_seconds=uptime, reload_reason=reason)
            result = dataclasses.replace(result, records=(version,))
        results.append(result)
    return dataclasses.replace(snapshot, started_at=at, results=tuple(results))


def _failed_poll(snapshot: Snapshot, at: float) -> Snapshot:
    results = tuple(CommandResult(r.command, Status.CONNECT, error="connection refused") for r in snapshot.results)
    return dataclasses.replace(snapshot, started_at=at, results=results)


def test_reload_is_uptime_going_backwards_not_a_failed_poll(pair: LabPair, inventory: Inventory) -> None:
    tracker = ReloadTracker()
    r4 = snapshot_of(pair.branches[0])
    day = 86_400
    assert tracker.observe({"R4": _with_uptime(r4, 1000.0, day)}, inventory) == ((), ())
    # Unreachable, then back with an uptime that kept growing: no reload.
    assert tracker.observe({"R4": _failed_poll(r4, 1060.0)}, inventory) == ((), ())
    assert tracker.observe({"R4": _with_uptime(r4, 1120.0, day + 120)}, inventory) == ((), ())
    # Minute resolution: an uptime that lags the clock by under 120 s is not a reload.
    assert tracker.observe({"R4": _with_uptime(r4, 1200.0, day + 120)}, inventory) == ((), ())
    reloads, _ = tracker.observe({"R4": _with_uptime(r4, 1260.0, 60)}, inventory)
    (reload,) = reloads
    assert (reload.device, reload.pair, reload.uptime_seconds, reload.previous_uptime_seconds) == (
        "R4",
        "",
        60,
        day + 120,
    )
    assert (reload.reason, reload.expected, reload.why) == ("Reload Command", True, "operator reload")
    # A reload missed by the polls (the router was down meanwhile) still counts:
    # its boot time moved forward even though the uptime grew past the old one.
    reloads, _ = tracker.observe({"R4": _with_uptime(r4, 1260.0 + 2 * day, day, "power-on")}, inventory)
    assert [(r.expected, r.reason) for r in reloads] == [(False, "power-on")]


def test_a_host_clock_step_is_not_a_reload(pair: LabPair, inventory: Inventory) -> None:
    tracker = ReloadTracker()
    r4 = snapshot_of(pair.branches[0])
    day = 86_400
    tracker.observe({"R4": _with_uptime(r4, 1000.0, day)}, inventory)
    # NTP steps the monitor's clock 10 minutes ahead; the device ran on.
    assert tracker.observe({"R4": _with_uptime(r4, 1000.0 + 60 + 600, day + 60)}, inventory) == ((), ())
    # Uptime going backwards needs no clock at all, even just after a poll.
    reloads, _ = tracker.observe({"R4": _with_uptime(r4, 1000.0 + 60 + 630, 0)}, inventory)
    assert [r.device for r in reloads] == ["R4"]


def _without_inter_device(snapshot: Snapshot, status: Status = Status.TIMEOUT) -> Snapshot:
    """`snapshot` with its `show redundancy inter-device` failed (timed out;
    or rejected, `% Invalid input`, as on an image that lacks it)."""
    results = tuple(
        dataclasses.replace(r, status=status, records=(), error=str(status))
        if r.command == "show redundancy inter-device"
        else r
        for r in snapshot.results
    )
    return dataclasses.replace(snapshot, results=results)


def test_stateful_groups_come_from_either_member_and_are_unknown_without_both(
    pair: LabPair, inventory: Inventory
) -> None:
    from monitor.lab.router import LabHsrpGroup

    for hub in pair.hubs:  # a LAN group, preempting, active on R1: not the stateful group
        lan = LabHsrpGroup("FastEthernet0/1", 2, "LAN-2", "192.168.1.254", 100, preempt=True)
        hub.hsrp.append(lan)
        hub.set_hsrp(lan, "active" if hub is pair.r1 else "standby")
    assert judge(pair, inventory).verdict == HEALTHY  # only BRANCH-5-TUNNEL counts
    # R1's inter-device answer is missing: R2's names the stateful group for both.
    health = judge(pair, inventory, R1=_without_inter_device(snapshot_of(pair.r1)))
    assert health.verdict == UNKNOWN and not health.failed  # R1 was not fully polled
    ok = {r.rule for r in health.results if r.ok}
    assert {"single_hsrp_active", "no_preempt", "hsrp_active_is_rf_active"} <= ok
    # Neither answered: the stateful group is unknown, never guessed.
    both = {hub.name: _without_inter_device(snapshot_of(hub)) for hub in pair.hubs}
    health = judge(pair, inventory, **both)
    assert health.verdict == UNKNOWN and not health.failed
    assert {"single_hsrp_active", "no_preempt", "hsrp_active_present"} <= {r.rule for r in health.unknown}


def test_a_reload_across_a_switchover_is_unexpected(pair: LabPair, inventory: Inventory) -> None:
    tracker = ReloadTracker()
    day = 86_400
    r1, r2 = snapshot_of(pair.r1), snapshot_of(pair.r2)
    tracker.observe({"R1": _with_uptime(r1, 1000.0, day), "R2": _with_uptime(r2, 1000.0, day)}, inventory)
    # R2 goes down, R1 takes over (seen while R2 is unreachable) ...
    pair.r1.set_rf(ACTIVE, DISABLED)
    reloads, switchovers = tracker.observe({"R1": _with_uptime(snapshot_of(pair.r1), 1030.0, day + 30)}, inventory)
    assert reloads == () and [(s.previous_active, s.active) for s in switchovers] == [("R2", "R1")]
    # ... and R2 comes back. Its reason reads like an operator's, but the
    # pair switched over while it was away: unexpected.
    pair.r1.set_rf(ACTIVE, STANDBY_HOT)
    pair.r2.set_rf(STANDBY_HOT, ACTIVE)
    back = {
        "R1": _with_uptime(snapshot_of(pair.r1), 1090.0, day + 90),
        "R2": _with_uptime(snapshot_of(pair.r2), 1090.0, 40, "reload"),
    }
    reloads, switchovers = tracker.observe(back, inventory)
    assert switchovers == ()
    assert [(r.device, r.expected, r.why) for r in reloads] == [
        ("R2", False, "the pair switched over in the same window")
    ]
    health = evaluate_pair(inventory.pairs["HUB-PAIR-1"], back, inventory, reloads)
    assert failed(health)["no_unexpected_reload"] == "R2 reloaded (reload: the pair switched over in the same window)"
    # The tracker's state survives a round trip through JSON-able data.
    assert ReloadTracker.from_dict(tracker.to_dict()) == tracker
    with pytest.raises(ValueError, match="not a state this monitor wrote"):
        ReloadTracker.from_dict({"devices": {"R1": {"boot_time": "x"}}})


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("Reload Command", True),
        ("Reload command", True),
        ("reload", True),
        ("Admin reload CLI", True),
        ("Image Install", True),
        ("power-on", False),
        ("Unknown reason", False),
        ("LocalSoft", False),
        ("SSO Switchover", False),
        ("bus error at PC 0x602DADE0, address 0x480811", False),
        ("Critical software exception, check bootflash:crashinfo_RP_00_00", False),
        ("", False),
    ],
)
def test_reload_reasons(reason: str, expected: bool) -> None:
    assert classify_reload(reason, switchover=False)[0] is expected
    assert classify_reload(reason, switchover=True)[0] is False


# --- the stateful group: inventory or show redundancy inter-device ------------


def _inventory_with(inventory: Inventory, stateful_group: str | None) -> Inventory:
    pairs = {name: dataclasses.replace(p, stateful_group=stateful_group) for name, p in inventory.pairs.items()}
    return dataclasses.replace(inventory, pairs=pairs)


def _judge_without_inter_device(pair: LabPair, inventory: Inventory, status: Status):
    snapshots = {hub.name: _without_inter_device(snapshot_of(hub), status) for hub in pair.hubs}
    return evaluate_pair(inventory.pairs["HUB-PAIR-1"], snapshots, inventory)


def test_no_inter_device_command_and_no_stateful_group_says_how_to_fix_it(pair: LabPair, inventory: Inventory) -> None:
    health = _judge_without_inter_device(pair, inventory, Status.INVALID_COMMAND)
    assert health.verdict == UNKNOWN and not health.failed
    unknown = {result.rule: result.message for result in health.unknown}
    assert set(unknown) == {
        "stateful_group_consistent",
        "hsrp_active_present",
        "single_hsrp_active",
        "hsrp_active_is_rf_active",
        "no_preempt",
    }
    for message in unknown.values():
        if message.startswith("needs one"):
            continue
        assert "R1: show redundancy inter-device failed (invalid_command)" in message
        assert "set stateful_group: <HSRP group name> on pair HUB-PAIR-1" in message
    # Both members answered everything else: neither is ever called unpolled.
    assert not any("not polled" in result.message for result in health.results)


def test_stateful_group_from_the_inventory_judges_hsrp_without_inter_device(
    pair: LabPair, inventory: Inventory
) -> None:
    configured = _inventory_with(inventory, "BRANCH-5-TUNNEL")
    health = _judge_without_inter_device(pair, configured, Status.NOT_SUPPORTED)
    assert health.verdict == HEALTHY, [(r.rule, r.message) for r in health.results if not r.ok]
    assert health.hsrp_active == ("R2",)
    results = {result.rule: result.message for result in health.results}
    assert results["stateful_group_consistent"] == "stateful HSRP group BRANCH-5-TUNNEL (from the inventory)"
    # ... and the rules still bite: split brain on that group fails.
    pair.r1.set_hsrp(pair.r1.hsrp[0], "active")
    health = _judge_without_inter_device(pair, configured, Status.NOT_SUPPORTED)
    assert failed(health)["single_hsrp_active"] == "split brain: R1 and R2 are both HSRP active"


def test_stateful_group_that_disagrees_with_the_routers_fails(pair: LabPair, inventory: Inventory) -> None:
    wrong = _inventory_with(inventory, "BRANCH-6-TUNNEL")
    problems = failed(judge(pair, wrong))
    assert problems["stateful_group_consistent"] == (
        "the inventory names stateful group BRANCH-6-TUNNEL but show redundancy inter-device on "
        "R1 says BRANCH-5-TUNNEL, R2 says BRANCH-5-TUNNEL: fix stateful_group in the inventory or "
        "`scheme standby` on the routers"
    )
    # Without the inter-device answers, a name no member has fails too.
    health = _judge_without_inter_device(pair, wrong, Status.NOT_SUPPORTED)
    assert failed(health)["stateful_group_consistent"] == (
        "R1 and R2 have no HSRP group named BRANCH-6-TUNNEL (show standby)"
    )
