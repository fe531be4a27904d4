"""Health rules and reload tracking, judged on snapshots built from the
lab's rendered outputs (parsed as a poll would), each state set by hand."""

from __future__ import annotations

import dataclasses

import pytest
from support.snapshots import snapshot_of

from ipsec_ha_monitor.health import (
    DEGRADED,
    HEALTHY,
    RECOVERING,
    RULES,
    UNHEALTHY,
    UNKNOWN,
    ErrorTrend,
    IpsecErrorHistory,
    evaluate_pair,
)
from ipsec_ha_monitor.inventory import Inventory
from ipsec_ha_monitor.lab.topology import LabPair, drop_tunnel, set_hsrp_roles
from ipsec_ha_monitor.parse import parse_output
from ipsec_ha_monitor.reloads import (
    CRASH,
    OPERATOR,
    POWER,
    RF_SELF_RELOAD,
    UNKNOWN_CAUSE,
    ReloadTracker,
    classify_reload,
    reload_cause,
)
from ipsec_ha_monitor.rf_states import ACTIVE, DISABLED, STANDBY_HOT
from ipsec_ha_monitor.snapshot import CommandResult, Snapshot, Status

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
    health = judge(pair, inventory)
    assert failed(health) == {
        "no_preempt": "preemption enabled on R1 FastEthernet0/0 group 1 (BRANCH-5-TUNNEL): "
        "a rebooted router takes over unsynced"
    }
    # A warning, as IpsechaHsrpPreemptOnStatefulGroup: it bites at the next reload.
    assert health.verdict == DEGRADED


def test_expected_peer_without_an_active_sa(pair: LabPair, inventory: Inventory) -> None:
    drop_tunnel(pair.r2.tunnels["172.16.0.5"], negotiating=True)
    assert failed(judge(pair, inventory)) == {"expected_peers_have_sa": "R2 has no active IPsec SA toward 172.16.0.5"}


def test_a_member_not_polled_is_unknown_unless_the_other_shows_a_failure(pair: LabPair, inventory: Inventory) -> None:
    down = Snapshot("R1", "HUB-PAIR-1", "hub", 1.0, 3.0, (CommandResult("show version", Status.CONNECT, error="x"),))
    health = judge(pair, inventory, R1=down)
    assert health.verdict == UNKNOWN and not health.failed
    assert {result.rule for result in health.unknown} == {
        "single_hsrp_active",
        "no_preempt",
        "standby_has_sa_copies",
        "no_ipsec_errors_rising",
    }
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
    tracker.observe({"R4": _stamped(_with_uptime(r4, 1000.0, day), 50.0)}, inventory)
    # NTP steps the monitor's wall clock 10 minutes ahead, then an hour back,
    # then 30 days ahead, a minute apart on the monotonic clock; the device
    # ran on. Only the monotonic clock is compared with its uptime.
    for n, wall in enumerate((1000.0 + 60 + 600, 1000.0 + 120 - 3600, 1000.0 + 180 + 30 * day), 1):
        observed = tracker.observe({"R4": _stamped(_with_uptime(r4, wall, day + 60 * n), 50.0 + 60 * n)}, inventory)
        assert observed == ((), ())
    # Uptime going backwards needs no clock at all, even just after a poll.
    reloads, _ = tracker.observe({"R4": _stamped(_with_uptime(r4, wall + 30, 0), 50.0 + 180 + 30)}, inventory)
    assert [r.device for r in reloads] == ["R4"]


def _stamped(snapshot: Snapshot, monotonic: float) -> Snapshot:
    """`snapshot` as a poller stamps it: its monotonic reading apart from its wall time."""
    return dataclasses.replace(snapshot, monotonic=monotonic, monotonic_end=monotonic + snapshot.duration_seconds)


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
    from ipsec_ha_monitor.lab.router import LabHsrpGroup

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
        ("R2", False, "the pair switched over within the hour before")
    ]
    health = evaluate_pair(inventory.pairs["HUB-PAIR-1"], back, inventory, reloads)
    assert failed(health)["no_unexpected_reload"] == (
        "R2 reloaded (operator, reload: the pair switched over within the hour before) within the last hour"
    )
    # R2 runs on; an operator reloads it half an hour after the switchover:
    # still part of the incident, as IpsechaUnexpectedReload judges it
    # (any hand-over of the pair within the hour before). An hour after
    # the switchover, the next operator reload is expected again.
    later = {"R2": _with_uptime(snapshot_of(pair.r2), 1030.0 + 1800, 60, "reload")}
    assert [(r.expected, r.why) for r in tracker.observe(later, inventory)[0]] == [
        (False, "the pair switched over within the hour before")
    ]
    much_later = {"R2": _with_uptime(snapshot_of(pair.r2), 1030.0 + 3700, 60, "reload")}
    assert [(r.expected, r.why) for r in tracker.observe(much_later, inventory)[0]] == [(True, "operator reload")]
    # The tracker's state survives a round trip through JSON-able data.
    assert ReloadTracker.from_dict(tracker.to_dict()) == tracker
    with pytest.raises(ValueError, match="not a state this monitor wrote"):
        ReloadTracker.from_dict({"devices": {"R1": {"boot_time": "x"}}})
    with pytest.raises(ValueError, match="not a state this monitor wrote"):  # int(inf)
        ReloadTracker.from_dict({"devices": {"R1": {"boot_time": 1.0, "uptime": 1e400, "polled_at": 1.0}}})


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
    health = judge(pair, wrong)
    problems = failed(health)
    # Said once, as a warning: no HSRP group to judge is not "no HSRP active".
    assert set(problems) == {"stateful_group_consistent"} and health.verdict == DEGRADED
    assert {r.rule: r.message for r in health.unknown}["hsrp_active_present"] == (
        "no member is HSRP active, but R1 and R2 have no HSRP group named BRANCH-6-TUNNEL"
    )
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


# --- the standby's SA copies ----------------------------------------------------


def test_standby_without_sa_copies_fails_per_branch_peer(pair: LabPair, inventory: Inventory) -> None:
    health = judge(pair, inventory)
    results = {result.rule: result for result in health.results}
    assert results["standby_has_sa_copies"].ok is True
    assert results["standby_has_sa_copies"].message == "R1 holds SA copies for all 2 peers active on R2"
    # R1 stays STANDBY HOT but lost the copies of 172.16.0.5's SAs.
    drop_tunnel(pair.r1.tunnels["172.16.0.5"], negotiating=False)
    health = judge(pair, inventory)
    assert health.verdict == UNHEALTHY
    assert failed(health) == {
        "standby_has_sa_copies": "R1 is STANDBY HOT but holds no SA copy for 1 of the 2 branch peers with active "
        "SAs on R2 (172.16.0.5): a failover now drops their tunnels"
    }


def test_standby_copies_are_not_judged_before_standby_hot(pair: LabPair, inventory: Inventory) -> None:
    for tunnel in pair.r1.tunnels.values():
        drop_tunnel(tunnel, negotiating=False)
    pair.r1.set_rf(NEGOTIATION, ACTIVE)
    pair.r2.set_rf(ACTIVE, NEGOTIATION)
    health = judge(pair, inventory)
    assert set(failed(health)) == {"peer_standby_hot"}  # what is wrong, said once
    assert next(r for r in health.results if r.rule == "standby_has_sa_copies").ok is None


# --- a member the monitor cannot reach -------------------------------------------


def test_an_unreachable_active_hub_reported_active_by_its_peer_is_no_pair_failure(
    pair: LabPair, inventory: Inventory
) -> None:
    down = Snapshot("R2", "HUB-PAIR-1", "hub", 1.0, 3.0, (CommandResult("show version", Status.CONNECT, error="x"),))
    health = judge(pair, inventory, R2=down)
    assert health.verdict == UNKNOWN and not health.failed
    assert health.rf_active == "R2" and health.rf_active_members == ("R2",)
    results = {result.rule: result for result in health.results}
    assert results["one_rf_active"].ok is True
    assert results["one_rf_active"].message == ("R2 is RF ACTIVE as R1 reports it (R2: show redundancy states not run)")
    assert results["peer_standby_hot"].ok is True and results["duplex"].ok is True
    assert results["expected_peers_have_sa"].ok is None  # R2's own SAs are not known
    # Never polled at all: the same.
    assert judge(pair, inventory, R2=None).rf_active == "R2"
    # Without working IPC the peer's word is no proof: unknown, not "R2".
    pair.r1.communications_up = False
    health = judge(pair, inventory, R2=down)
    assert health.rf_active is None and not health.failed
    assert next(r for r in health.results if r.rule == "one_rf_active").ok is None


# --- reload causes --------------------------------------------------------------------


def _log(*lines: str):
    return parse_output("show logging", "\n".join(lines), filtered=True)


def _version(reason: str):
    (version,) = parse_output("show version", _show_version(reason))
    return version


def _show_version(reason: str) -> str:
    from ipsec_ha_monitor.lab.outputs import show_version
    from ipsec_ha_monitor.lab.router import Clock, LabCredentials, Router

    router = Router("R9", "hub", "10.9.9.9", LabCredentials("u", "p", "s"), Clock())
    router.returned_to_rom_by = reason
    return show_version(router)


RF_LOG = (
    "Nov 30 12:00:01.000: %RF_INTERDEV-4-RELOAD: % RF induced self-reload. my state = NEGOTIATION peer state = ACTIVE"
)
OPERATOR_LOG = (
    "Nov 30 12:00:01.000: %SYS-5-RELOAD: Reload requested by admin on vty0 (192.168.1.100). "
    "Reload Reason: Reload Command."
)
RESTART_LOG = "Nov 30 12:01:00.000: %SYS-5-RESTART: System restarted --"


def test_reload_cause_comes_from_the_log_before_the_boot() -> None:
    version = _version("reload")  # what IOS says for both kinds
    assert reload_cause(version, _log(RF_LOG, RESTART_LOG)).cause == RF_SELF_RELOAD
    assert reload_cause(version, _log(OPERATOR_LOG, RESTART_LOG)).cause == OPERATOR
    # The message before the *last* restart counts: an older boot's does not.
    assert reload_cause(version, _log(RF_LOG, RESTART_LOG, OPERATOR_LOG, RESTART_LOG)).cause == OPERATOR
    assert reload_cause(version, _log(OPERATOR_LOG, RESTART_LOG, RESTART_LOG)).evidence == "show version: reload"
    # A reload message after the boot is a reload to come, not this boot's cause.
    assert reload_cause(version, _log(RESTART_LOG, RF_LOG)).cause == OPERATOR
    evidence = reload_cause(version, _log(RF_LOG, RESTART_LOG)).evidence
    assert evidence.startswith("show logging: %RF_INTERDEV-4-RELOAD: % RF induced self-reload")


@pytest.mark.parametrize(
    ("reason", "cause"),
    [
        ("reload", OPERATOR),
        ("Reload Command", OPERATOR),
        ("power-on", POWER),
        ("power cycle at 10:00:00 UTC Mon Nov 30 2026 (SP by power on)", POWER),
        ("bus error at PC 0x602DADE0, address 0x480811", CRASH),
        ("error - a Software forced crash, PC 0x60435894", CRASH),
        ("watchdog timer expired", CRASH),
        ("Critical software exception, check bootflash:crashinfo_RP_00_00", CRASH),
        ("Unknown reason", UNKNOWN_CAUSE),
        ("SSO Switchover", UNKNOWN_CAUSE),
    ],
)
def test_reload_cause_without_the_log_falls_back_to_show_version(reason: str, cause: str) -> None:
    assert reload_cause(_version(reason), ()).cause == cause
    assert reload_cause(_version(reason), None).cause == cause


def test_an_rf_self_reload_is_unexpected_without_a_switchover(pair: LabPair, inventory: Inventory) -> None:
    tracker = ReloadTracker()
    day = 86_400
    tracker.observe({"R1": _with_uptime(snapshot_of(pair.r1), 1000.0, day, "reload")}, inventory)
    pair.r1.syslog(RF_LOG.partition(": ")[2])
    pair.r1.syslog(RESTART_LOG.partition(": ")[2])
    (reload,) = tracker.observe({"R1": _with_uptime(snapshot_of(pair.r1), 1300.0, 120, "reload")}, inventory)[0]
    assert (reload.cause, reload.expected, reload.why) == (RF_SELF_RELOAD, False, "an RF self-reload is never expected")
    # The same reload, logged as the operator's: expected.
    tracker = ReloadTracker()
    tracker.observe({"R1": _with_uptime(snapshot_of(pair.r1), 1000.0, day, "reload")}, inventory)
    pair.r1.syslog(OPERATOR_LOG.partition(": ")[2])
    pair.r1.syslog(RESTART_LOG.partition(": ")[2])
    (reload,) = tracker.observe({"R1": _with_uptime(snapshot_of(pair.r1), 1300.0, 120, "reload")}, inventory)[0]
    assert (reload.cause, reload.expected) == (OPERATOR, True)


# --- the last hour: recovering, reload loops, flapping ------------------------------


def test_reloads_count_for_an_hour_and_three_make_a_loop(pair: LabPair, inventory: Inventory) -> None:
    tracker = ReloadTracker()
    hub_pair = inventory.pairs["HUB-PAIR-1"]
    at, uptime = 1000.0, 86_400
    tracker.observe({"R1": _with_uptime(snapshot_of(pair.r1), at, uptime)}, inventory)
    boots = []
    for n in range(1, 4):  # three operator reloads of R1, 10 minutes apart
        at += 600
        reloads, _ = tracker.observe({"R1": _with_uptime(snapshot_of(pair.r1), at, 60)}, inventory)
        assert [r.expected for r in reloads] == [True]
        boots.append(tracker.booted_at()["R1"])
        snapshots = {"R1": _with_uptime(snapshot_of(pair.r1), at, 60), "R2": snapshot_of(pair.r2, started_at=at)}
        health = evaluate_pair(hub_pair, snapshots, inventory, *tracker.recent())
        assert health.verdict == (HEALTHY if n < 3 else UNHEALTHY)
    assert failed(health) == {"no_reload_loop": "reload loop: R1 3 times within the last hour"}
    assert len(set(boots)) == 3  # each boot its own start
    # The boot's start stays put while the device runs on.
    tracker.observe({"R1": _with_uptime(snapshot_of(pair.r1), at + 30, 60)}, inventory)
    assert tracker.booted_at()["R1"] == boots[-1]
    # An hour after the first, it no longer counts.
    tracker.observe({"R1": _with_uptime(snapshot_of(pair.r1), 1000.0 + 600 + 3601, 3000)}, inventory)
    assert len(tracker.recent()[0]) == 2
    assert ReloadTracker.from_dict(tracker.to_dict()) == tracker


def test_an_unexpected_reload_keeps_the_pair_recovering_for_the_hour(pair: LabPair, inventory: Inventory) -> None:
    tracker = ReloadTracker()
    hub_pair = inventory.pairs["HUB-PAIR-1"]

    def judged(at: float, uptime: int):
        r1 = _with_uptime(snapshot_of(pair.r1), at, uptime, "power-on")
        snapshots = {"R1": r1, "R2": snapshot_of(pair.r2, started_at=at)}
        tracker.observe(snapshots, inventory)
        return evaluate_pair(hub_pair, snapshots, inventory, *tracker.recent())

    assert judged(1000.0, 86_400).verdict == HEALTHY
    health = judged(1300.0, 60)  # back from a power cycle
    assert health.verdict == RECOVERING
    assert failed(health) == {
        "no_unexpected_reload": "R1 reloaded (power, power-on: not an operator reload) within the last hour"
    }
    assert judged(1300.0 + 3000, 3060).verdict == RECOVERING  # still within the hour
    assert judged(1300.0 + 3601, 3660).verdict == HEALTHY


def test_three_switchovers_within_the_hour_are_flapping(pair: LabPair, inventory: Inventory) -> None:
    tracker = ReloadTracker()
    hub_pair = inventory.pairs["HUB-PAIR-1"]
    at = 1000.0
    tracker.observe({hub.name: snapshot_of(hub, started_at=at) for hub in pair.hubs}, inventory)
    active, standby = pair.r2, pair.r1
    for n in range(1, 4):
        at += 300
        active.set_rf(STANDBY_HOT, ACTIVE)
        standby.set_rf(ACTIVE, STANDBY_HOT)
        set_hsrp_roles(pair, standby, active)
        active, standby = standby, active
        snapshots = {hub.name: snapshot_of(hub, started_at=at) for hub in pair.hubs}
        _, switchovers = tracker.observe(snapshots, inventory)
        assert len(switchovers) == 1
        health = evaluate_pair(hub_pair, snapshots, inventory, *tracker.recent())
        rule = next(r for r in health.results if r.rule == "no_rf_flapping")
        assert rule.ok is (n < 3)
    assert rule.message == "the RF-active role changed hands 3 times within the hour (R2 -> R1 -> R2 -> R1)"


# --- IPsec errors rising: judged as IpsechaIpsecErrorsRising ------------------------


def _with_errors(snapshot: Snapshot, at: float, errors: dict[str, tuple[int, int]]) -> Snapshot:
    """`snapshot` polled at `at`, its SAs toward each peer in `errors`
    carrying those (send, receive) error counts (on the peer's first SA)."""
    results = []
    for result in snapshot.results:
        if result.command == "show crypto ipsec sa":
            seen: set[str] = set()
            records = []
            for sa in result.records:
                send, receive = errors.get(sa.peer, (0, 0)) if sa.peer not in seen else (0, 0)
                seen.add(sa.peer)
                records.append(dataclasses.replace(sa, send_errors=send, recv_errors=receive))
            result = dataclasses.replace(result, records=tuple(records))
        results.append(result)
    return dataclasses.replace(snapshot, started_at=at, results=tuple(results))


def _rising(history: IpsecErrorHistory, now: float) -> list[str]:
    return [peer for peer, _, _ in history.trends(["R2"], now)["R2"].rising]


def test_errors_rising_needs_a_rise_in_every_window_for_ten_minutes(pair: LabPair) -> None:
    history = IpsecErrorHistory()
    r2 = snapshot_of(pair.r2)
    for minute in range(0, 21):  # a poll a minute; errors rise at every poll from minute 1 to 12
        errors = min(minute, 12) * 5
        history.observe(_with_errors(r2, minute * 60.0, {"172.16.0.4": (errors, errors)}), minute * 60.0)
        rising = _rising(history, minute * 60.0)
        # Rising since minute 1; `for: 10m` holds at 11; the last rise (12)
        # keeps increase([5m]) > 0 until just before minute 17.
        assert rising == (["172.16.0.4"] if 11 <= minute <= 16 else []), minute
        if minute == 12:  # +10 at each poll within the last 5 minutes (minutes 8 to 12)
            assert history.trends(["R2"], minute * 60.0)["R2"] == ErrorTrend((("172.16.0.4", 50, 660.0),), 720.0)


def test_a_pause_of_a_whole_window_restarts_the_ten_minutes(pair: LabPair) -> None:
    history = IpsecErrorHistory()
    r2 = snapshot_of(pair.r2)
    errors = 0
    for minute in range(0, 31):
        if minute % 5 == 0 or minute >= 20:  # every 5 minutes: each window of 5 minutes has a gap
            errors += 1
        history.observe(_with_errors(r2, minute * 60.0, {"172.16.0.4": (errors, 0)}), minute * 60.0)
        if minute < 20:
            assert _rising(history, minute * 60.0) == [], minute
    # From minute 20 a rise at every poll: 10 minutes later, rising.
    assert _rising(history, 29 * 60.0) == [] and _rising(history, 30 * 60.0) == ["172.16.0.4"]


def test_a_rekey_resets_the_counters_and_is_no_rise(pair: LabPair) -> None:
    r2 = snapshot_of(pair.r2)

    def rising_after(*counts: int) -> list[str]:
        # No `for:` and 30-second windows: the windows are the caller's (they scale with the clock).
        history = IpsecErrorHistory(increase_seconds=30.0, for_seconds=0.0)
        for step, errors in enumerate(counts):
            history.observe(_with_errors(r2, step * 6.0, {"172.16.0.4": (0, errors)}), step * 6.0)
        return _rising(history, (len(counts) - 1) * 6.0)

    assert rising_after(500, 500) == []
    assert rising_after(500, 501) == ["172.16.0.4"]
    # The SA was replaced: its counters start again at 0, no error counted ...
    assert rising_after(500, 0) == []
    # ... and one that starts above 0 counts its value, as increase() does.
    assert rising_after(500, 3) == ["172.16.0.4"]
    # Rises older than the window no longer count.
    assert rising_after(500, 501, 501, 501, 501, 501, 501) == []


def test_the_rule_fails_on_rising_errors_as_a_warning(pair: LabPair, inventory: Inventory) -> None:
    history = IpsecErrorHistory()
    hub_pair = inventory.pairs["HUB-PAIR-1"]
    for minute in range(0, 16):
        at = minute * 60.0
        snapshots = {
            "R1": dataclasses.replace(snapshot_of(pair.r1), started_at=at),
            "R2": _with_errors(snapshot_of(pair.r2), at, {"172.16.0.5": (0, 7 * minute)}),
        }
        for snapshot in snapshots.values():
            history.observe(snapshot, at)
        health = evaluate_pair(hub_pair, snapshots, inventory, ipsec_errors=history.trends(hub_pair.members, at))
        if minute == 1:  # one rise seen, but a minute of counters cannot tell
            result = next(r for r in health.results if r.rule == "no_ipsec_errors_rising")
            assert (result.ok, result.message) == (
                True,
                "no IPsec errors rising as far as seen (counters over 60 s; 15 min of polls judge a rise)",
            )
    assert health.verdict == DEGRADED
    assert failed(health) == {
        "no_ipsec_errors_rising": "IPsec send/receive errors kept rising for 10 min: R2 toward 172.16.0.5 "
        "(+35 in the last 5 min)"
    }
    # A one-shot judgement (no history at all) sees no rise.
    health = evaluate_pair(hub_pair, snapshots, inventory)
    assert health.verdict == HEALTHY
