"""The rules of an IOS-XE box-to-box pair (health_b2b.py through
health.evaluate_pair), their history (RgHistory: counters and takeovers),
the `rg_reload` cause and a b2b pair's switchovers (reloads.py), and the
Monitor keeping it all. Snapshots are built from records: the group
records from the real IOS-XE sample (Genie's, parsed as a poll would), each
value set by hand; the crypto results from the lab's rendered outputs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from support.b2b import (
    DAY,
    DISABLED_RF,
    PAIR,
    REAL,
    STANDBY_COLD_RF,
    Pair,
    group,
    vip,
    write_xe_inventory,
    xe,
)
from support.snapshots import snapshot_of

from ipsec_ha_monitor.core import Monitor
from ipsec_ha_monitor.health import (
    DEGRADED,
    HEALTHY,
    PAIR_RULES,
    RECOVERING,
    RULES,
    RULES_BY_MODE,
    UNHEALTHY,
    UNKNOWN,
    evaluate_pair,
)
from ipsec_ha_monitor.health_b2b import (
    FAULT,
    PEER_LOST,
    PREEMPT,
    RG_CONTROL_LINK_SECONDS,
    RG_RECENT_SECONDS,
    RG_RELOAD_TIMER_SECONDS,
    UNKNOWN_TAKEOVER,
    RgHistory,
)
from ipsec_ha_monitor.inventory import B2B, CLASSIC, Inventory, RedundancyGroupWatch, load_inventory
from ipsec_ha_monitor.lab.topology import LabPair
from ipsec_ha_monitor.reloads import OPERATOR, RELOAD_CAUSES, RG_RELOAD, Reload, ReloadTracker
from ipsec_ha_monitor.snapshot import Snapshot, Status


@pytest.fixture
def xe_inventory(tmp_path: Path) -> Inventory:
    return load_inventory(write_xe_inventory(tmp_path))


@pytest.fixture
def xe_pair(pair: LabPair, xe_inventory: Inventory) -> Pair:
    return Pair(pair, xe_inventory)


def failed(health) -> dict[str, str]:
    return {result.rule: result.message for result in health.failed}


def result(health, rule: str):
    return next(result for result in health.results if result.rule == rule)


# --- the rule table ------------------------------------------------------------------


def test_the_rule_table_keeps_the_classic_rules_and_adds_the_b2b_ones() -> None:
    assert RULES_BY_MODE[CLASSIC] == tuple(RULES)
    assert list(PAIR_RULES)[: len(RULES)] == list(RULES)  # the classic rules first, in their order
    b2b = {name: (rule.severity, rule.alerts) for name, rule in PAIR_RULES.items() if B2B in rule.modes}
    assert b2b == {
        "expected_peers_have_sa": ("critical", ("IpsechaBranchSaMissing",)),
        "no_ipsec_errors_rising": ("warning", ("IpsechaIpsecErrorsRising",)),
        "no_unexpected_reload": ("critical", ("IpsechaUnexpectedReload",)),
        "no_reload_loop": ("critical", ("IpsechaReloadLoop",)),
        "rg_single_active": ("critical", ("IpsechaRgSplitBrain",)),
        "rg_active_present": ("critical", ("IpsechaRgNoActive",)),
        "rg_peer_standby_hot": ("critical", ("IpsechaRgPeerNotStandbyHot",)),
        "rg_peer_communicating": ("critical", ("IpsechaRgPeerLost",)),
        "rg_up": ("critical", ("IpsechaRgDown",)),
        "rg_priority_above_threshold": ("critical", ("IpsechaRgPriorityAtThreshold",)),
        "rg_priority_not_decremented": ("warning", ("IpsechaRgPriorityDecremented",)),
        "rg_no_flapping": ("critical", ("IpsechaRgFlapping",)),
        "rg_control_link_clean": ("warning", ("IpsechaRgControlLinkErrors",)),
        "rg_vip_single_owner": ("critical", ("IpsechaRgVipOnBoth",)),
        "rg_no_preempt": ("warning", ("IpsechaRgPreempted",)),
    }
    assert "rg_reload" in RELOAD_CAUSES


def test_a_classic_pair_is_judged_as_before(pair: LabPair, inventory: Inventory) -> None:
    snapshots = {hub.name: snapshot_of(hub) for hub in pair.hubs}
    health = evaluate_pair(inventory.pairs["HUB-PAIR-1"], snapshots, inventory)
    assert [result.rule for result in health.results] == list(RULES)
    assert health.verdict == HEALTHY and health.mode == CLASSIC and health.rg_members == ()
    assert "mode" not in health.to_dict() and "groups" not in health.to_dict()


# --- each rule, both ways -----------------------------------------------------------


def test_baseline_is_healthy(xe_pair: Pair) -> None:
    health = xe_pair.judge(xe_pair.baseline())
    assert [result.rule for result in health.results] == list(RULES_BY_MODE[B2B])
    assert health.verdict == HEALTHY, health.failed + health.unknown
    assert (health.rf_active, health.rf_active_members, health.mode) == ("XE1", ("XE1",), B2B)
    assert result(health, "rg_single_active").message == "group 1: XE1 is the only ACTIVE member"
    assert result(health, "expected_peers_have_sa").message == "XE1 has active SAs toward all 2 expected peers"
    assert result(health, "rg_vip_single_owner").message == "group 1: VIP 10.0.0.3 on XE1"
    report = health.to_dict()
    assert report["mode"] == "b2b"
    assert [(g["device"], g["role"], g["rf_state"], g["peer_rf_state"]) for g in report["groups"]] == [
        ("XE1", "ACTIVE", "ACTIVE", "STANDBY HOT"),
        ("XE2", "STANDBY", "STANDBY HOT", "ACTIVE"),
    ]


def test_split_brain(xe_pair: Pair) -> None:
    health = xe_pair.judge(xe_pair.baseline(xe2_groups=(group("ACTIVE", peer_rf_state=DISABLED_RF),)))
    assert failed(health)["rg_single_active"] == "group 1: XE1 and XE2 are both ACTIVE (split brain)"
    assert health.verdict == UNHEALTHY and health.rf_active is None
    assert result(health, "rg_active_present").ok is True


def test_no_active_member(xe_pair: Pair) -> None:
    health = xe_pair.judge(xe_pair.baseline(xe1_groups=(group("STANDBY"),), xe2_groups=(group("INIT"),)))
    assert failed(health)["rg_active_present"] == "group 1: no member is ACTIVE (XE1 STANDBY, XE2 INIT)"
    assert result(health, "rg_single_active").ok is True
    assert result(health, "rg_peer_standby_hot").ok is None  # no ACTIVE member to judge
    assert health.verdict == UNHEALTHY


def test_peer_not_standby_hot_past_the_reload_timer(xe_pair: Pair) -> None:
    cold = (group("ACTIVE", peer_rf_state=STANDBY_COLD_RF),)
    health = xe_pair.judge(xe_pair.baseline(xe1_groups=cold))
    assert failed(health) == {
        "rg_peer_standby_hot": "group 1: XE1's peer XE2 is STANDBY COLD (4), not STANDBY HOT: "
        "a failover now drops the tunnels"
    }
    assert health.verdict == UNHEALTHY
    # A peer that came up less than the group's reload timer ago is still walking to STANDBY HOT.
    young = int(RG_RELOAD_TIMER_SECONDS) - 30
    health = xe_pair.judge(xe_pair.baseline(xe1_groups=cold, xe2_uptime=young))
    assert result(health, "rg_peer_standby_hot").ok is True
    assert "up 90 s: within the group's 2 min reload timer" in result(health, "rg_peer_standby_hot").message
    health = xe_pair.judge(xe_pair.baseline(xe1_groups=cold, xe2_uptime=int(RG_RELOAD_TIMER_SECONDS)))
    assert result(health, "rg_peer_standby_hot").ok is False


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"peer_present": False}, "group 1: XE1 reports its peer not present"),
        ({"peer_comm": False}, "group 1: XE1 reports no communication with its peer"),
        (
            {"control_interface_up": False, "control_interface_state": "Down"},
            "group 1: XE1 reports its control interface Down",
        ),
    ],
)
def test_peer_not_communicating(xe_pair: Pair, changes: dict, message: str) -> None:
    health = xe_pair.judge(xe_pair.baseline(xe1_groups=(group("ACTIVE", **changes),)))
    assert failed(health) == {"rg_peer_communicating": message}
    assert health.verdict == UNHEALTHY


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"admin_up": False, "administrative_state": "Shutdown"}, "group 1: XE2 has it Shutdown"),
        ({"operational_up": False, "operational_state": "Down"}, "group 1: XE2's aggregate operational state is Down"),
        ({"faults_up": False, "faults_state": "Down"}, "group 1: XE2's RG faults state is Down"),
    ],
)
def test_group_not_up(xe_pair: Pair, changes: dict, message: str) -> None:
    health = xe_pair.judge(xe_pair.baseline(xe2_groups=(group("STANDBY", **changes),)))
    assert failed(health) == {"rg_up": message}


def test_a_group_missing_on_a_member_fails_rg_up(xe_pair: Pair) -> None:
    other = (group("STANDBY", group_id=2, group_name="BLUE"),)
    health = xe_pair.judge(xe_pair.baseline(xe2_groups=other))
    assert failed(health)["rg_up"] == (
        "group 1: not configured on XE2 (show redundancy application group all shows no group 1)"
    )
    assert health.verdict == UNHEALTHY
    states = {(state.device, state.group): state for state in health.rg_members}
    assert states[("XE2", 1)].role is None and states[("XE2", 1)].note == "group not configured"


def test_runtime_priority_at_the_failover_threshold(xe_pair: Pair) -> None:
    low = (group("STANDBY", runtime_priority=100, priority=100),)
    health = xe_pair.judge(xe_pair.baseline(xe2_groups=low))
    assert failed(health) == {
        "rg_priority_above_threshold": "group 1: XE2's runtime priority 100 is at or below the failover threshold 100"
    }
    assert health.verdict == UNHEALTHY
    above = (group("STANDBY", runtime_priority=101, priority=101),)
    assert xe_pair.judge(xe_pair.baseline(xe2_groups=above)).verdict == HEALTHY
    # No threshold in the inventory: not judged, and said so.
    unset = dataclasses.replace(xe_pair.inventory.pairs[PAIR], groups=(RedundancyGroupWatch(1),))
    health = xe_pair.judge(xe_pair.baseline(xe2_groups=low), pair=unset)
    assert result(health, "rg_priority_above_threshold").message == "group 1: no failover threshold configured"
    assert health.verdict == HEALTHY


def test_runtime_priority_decremented_is_a_warning(xe_pair: Pair) -> None:
    tracked = (group("ACTIVE", runtime_priority=140, priority=150),)
    health = xe_pair.judge(xe_pair.baseline(xe1_groups=tracked))
    assert failed(health) == {
        "rg_priority_not_decremented": "group 1: XE1's runtime priority 140 is below its configured 150 "
        "(a tracked object fell)"
    }
    assert health.verdict == DEGRADED


def test_a_vip_owned_by_both_members(xe_pair: Pair) -> None:
    health = xe_pair.judge(xe_pair.baseline(xe2_vips=(vip(True),)))
    assert failed(health) == {"rg_vip_single_owner": "group 1: VIP 10.0.0.3 is no shut on both XE1 and XE2"}
    assert health.verdict == UNHEALTHY
    # Another group's VIP, or another VIP, is no second owner.
    health = xe_pair.judge(xe_pair.baseline(xe2_vips=(vip(True, group_id=2), vip(True, "10.0.0.4"))))
    assert result(health, "rg_vip_single_owner").ok is True
    health = xe_pair.judge(xe_pair.baseline(xe2_vips=None))  # if-mgr refused
    assert result(health, "rg_vip_single_owner").ok is None
    assert "XE2: show redundancy application if-mgr group: refused" in result(health, "rg_vip_single_owner").message
    assert health.verdict == UNKNOWN


def test_expected_peers_are_judged_on_the_active_member(xe_pair: Pair) -> None:
    # XE2 holds only copies: as the ACTIVE member it has no active SA toward the branches.
    swapped = xe_pair.baseline(
        xe1_groups=(group("STANDBY"),), xe2_groups=(group("ACTIVE"),), xe2_crypto=xe_pair.standby_crypto
    )
    health = xe_pair.judge(swapped)
    assert health.rf_active == "XE2"
    assert failed(health)["expected_peers_have_sa"].startswith("XE2 has no active IPsec SA toward 172.16.0.4")


# --- members and commands that did not answer -----------------------------------------


def test_a_member_not_polled_leaves_its_rules_unknown(xe_pair: Pair) -> None:
    snapshots = xe_pair.baseline()
    del snapshots["XE2"]
    health = xe_pair.judge(snapshots)
    assert health.verdict == UNKNOWN and not health.failed
    assert result(health, "rg_single_active").message == "group 1: XE1 is ACTIVE; XE2 not polled yet"
    assert result(health, "rg_up").message == "group 1: XE2 not polled yet"
    assert result(health, "rg_active_present").ok is True
    assert result(health, "expected_peers_have_sa").ok is True  # on XE1, the ACTIVE member


def test_an_unpolled_active_member_reported_by_its_peer(xe_pair: Pair) -> None:
    snapshots = xe_pair.baseline()
    del snapshots["XE1"]
    health = xe_pair.judge(snapshots)
    assert health.rf_active == "XE1" and health.verdict == UNKNOWN and not health.failed
    assert result(health, "rg_active_present").message == (
        "group 1: XE1 is ACTIVE as XE2 reports it (XE1 not polled yet)"
    )
    assert result(health, "rg_peer_standby_hot").ok is True  # XE2 is STANDBY HOT, as it says itself
    assert result(health, "expected_peers_have_sa").ok is None


def test_a_known_fault_outranks_a_member_not_polled(xe_pair: Pair) -> None:
    snapshots = xe_pair.baseline(xe1_groups=(group("ACTIVE", peer_present=False, peer_comm=False),))
    del snapshots["XE2"]
    health = xe_pair.judge(snapshots)
    assert "rg_peer_communicating" in failed(health) and health.verdict == UNHEALTHY


def test_groups_not_supported_leave_the_group_rules_unknown(xe_pair: Pair) -> None:
    snapshots = xe_pair.baseline(xe1_groups=None, xe1_group_status=Status.NOT_SUPPORTED)
    assert snapshots["XE1"].up  # refused, not failed: the device is up
    health = xe_pair.judge(snapshots)
    assert health.verdict == UNKNOWN and not health.failed
    message = result(health, "rg_up").message
    assert message.startswith("group 1: XE1: show redundancy application group all: refused (invalid_input); no box")
    group_rules = [name for name in RULES_BY_MODE[B2B] if name.startswith("rg_")]
    unknown = {name for name in group_rules if result(health, name).ok is None}
    # All but what XE2 tells of XE1 (its peer, ACTIVE, and XE2's own STANDBY
    # HOT), the VIPs (if-mgr answered) and the takeovers seen (none).
    assert set(group_rules) - unknown == {
        "rg_active_present",
        "rg_peer_standby_hot",
        "rg_vip_single_owner",
        "rg_no_preempt",
    }


# --- verdicts ---------------------------------------------------------------------------


def test_an_rg_reload_within_the_hour_reads_recovering(xe_pair: Pair) -> None:
    reload = Reload("XE2", PAIR, 1_000.0, 300, 3 * DAY, "Reload Command", False, "never expected", RG_RELOAD, "", 900.0)
    health = xe_pair.judge(xe_pair.baseline(xe2_uptime=300), reloads=(reload,))
    assert set(failed(health)) == {"no_unexpected_reload"}
    assert "XE2 reloaded (rg_reload" in failed(health)["no_unexpected_reload"]
    assert health.verdict == RECOVERING


# --- history: counters ----------------------------------------------------------------


def observe(history: RgHistory, xe_pair: Pair, snapshots: dict[str, Snapshot], reloads: tuple = ()):
    return history.observe(xe_pair.inventory.pairs[PAIR], snapshots, reloads)


def judge_with(history: RgHistory, xe_pair: Pair, snapshots: dict[str, Snapshot], now: float):
    return xe_pair.judge(snapshots, rg_history=history.view(xe_pair.inventory.pairs[PAIR], now))


def test_flapping_counts_role_changes_and_fault_switchovers_of_both_members_within_the_hour(xe_pair: Pair) -> None:
    history = RgHistory()
    to_active, faults = REAL.role_changes_to_active or 0, REAL.fault_switchovers or 0
    steps = [  # (at, XE1's role changes to active, XE2's fault switchovers)
        (0.0, to_active, faults),
        (100.0, to_active + 1, faults),
        (200.0, to_active + 1, faults + 1),
    ]
    for at, xe1_to_active, xe2_faults in steps:
        snapshots = xe_pair.baseline(
            at=at,
            xe1_groups=(group("ACTIVE", role_changes_to_active=xe1_to_active),),
            xe2_groups=(group("STANDBY", fault_switchovers=xe2_faults),),
        )
        observe(history, xe_pair, snapshots)
    health = judge_with(history, xe_pair, snapshots, 200.0)
    assert result(health, "rg_no_flapping").ok is True
    assert result(health, "rg_no_flapping").message == (
        "group 1: 2 role changes to active and fault switchovers within the last hour"
    )
    # A counter that went down is a reload: its new value counts (1 more).
    snapshots = xe_pair.baseline(
        at=300.0,
        xe1_groups=(group("ACTIVE", role_changes_to_active=1),),
        xe2_groups=(group("STANDBY", fault_switchovers=faults + 1),),
    )
    observe(history, xe_pair, snapshots)
    health = judge_with(history, xe_pair, snapshots, 300.0)
    assert failed(health) == {
        "rg_no_flapping": "group 1: 3 role changes to active and fault switchovers within the last hour "
        "(XE1 2 to active and 0 fault switchovers, XE2 0 to active and 1 fault switchover)"
    }
    assert health.verdict == UNHEALTHY
    # An hour after the first rise, it has aged out of the window.
    assert result(judge_with(history, xe_pair, snapshots, 100.0 + RG_RECENT_SECONDS), "rg_no_flapping").ok is True
    # Re-reading the same snapshots (the partner's latest, judged again) adds nothing.
    observe(history, xe_pair, snapshots)
    assert result(judge_with(history, xe_pair, snapshots, 300.0), "rg_no_flapping").message.startswith("group 1: 3 ")


def test_control_link_errors_within_ten_minutes_are_a_warning(xe_pair: Pair) -> None:
    history = RgHistory()
    observe(history, xe_pair, xe_pair.baseline(at=0.0))
    snapshots = xe_pair.baseline(at=60.0, xe2_groups=(group("STANDBY", packet_loss=3, authentication_failures=1),))
    observe(history, xe_pair, snapshots)
    health = judge_with(history, xe_pair, snapshots, 60.0)
    assert failed(health) == {
        "rg_control_link_clean": "group 1: on XE2 its hello packet loss rose by 3, authentication failures rose "
        "by 1 within the last 10 min"
    }
    assert health.verdict == DEGRADED
    later = judge_with(history, xe_pair, snapshots, 60.0 + RG_CONTROL_LINK_SECONDS)
    assert result(later, "rg_control_link_clean").ok is True
    # The peer's hellos lost, as this member counts them, count too.
    snapshots = xe_pair.baseline(
        at=120.0, xe1_groups=(group("ACTIVE", peer_packet_loss=2),), xe2_groups=snapshots["XE2"].redundancy_groups
    )
    observe(history, xe_pair, snapshots)
    assert (
        "on XE1 the hello loss of its peer's packets rose by 2"
        in failed(judge_with(history, xe_pair, snapshots, 120.0))["rg_control_link_clean"]
    )


# --- history: takeovers -----------------------------------------------------------------


def takeover_after(xe_pair: Pair, before: dict, after: dict, reloads: tuple = ()):
    """The takeovers RgHistory sees from a steady XE1-ACTIVE poll (changed
    by `before`) to an XE2-ACTIVE one (XE1's snapshot changed by `after`)."""
    history = RgHistory()
    assert observe(history, xe_pair, xe_pair.baseline(at=0.0, **before)) == ()
    snapshots = xe_pair.baseline(
        at=100.0, xe1_groups=(group("STANDBY"),), xe2_groups=(group("ACTIVE"),), xe1_uptime=3 * DAY + 100
    )
    if after.get("groups", ()) is None:
        del snapshots["XE1"]
    elif after:
        snapshots["XE1"] = xe("XE1", at=100.0, **{"uptime": 3 * DAY + 100, "vips": (vip(False),), **after})
    return history, snapshots, observe(history, xe_pair, snapshots, reloads)


def test_a_takeover_from_a_steady_active_is_preemption(xe_pair: Pair) -> None:
    history, snapshots, (takeover,) = takeover_after(xe_pair, {}, {})
    assert (takeover.previous_active, takeover.active, takeover.cause) == ("XE1", "XE2", PREEMPT)
    assert history.takeovers() == {(PAIR, 1, PREEMPT): 1}
    health = judge_with(history, xe_pair, snapshots, 100.0)
    message = failed(health)["rg_no_preempt"]
    assert message.startswith("group 1: XE2 took the ACTIVE role from XE1 0 s ago: preemption (XE1 was ACTIVE")
    assert health.verdict == DEGRADED
    assert result(judge_with(history, xe_pair, snapshots, 100.0 + RG_RECENT_SECONDS), "rg_no_preempt").ok is True


def test_a_takeover_after_a_fault_switchover(xe_pair: Pair) -> None:
    faulted = (group("STANDBY", fault_switchovers=(REAL.fault_switchovers or 0) + 1),)
    _, _, (takeover,) = takeover_after(xe_pair, {}, {"groups": faulted})
    assert takeover.cause == FAULT and "fault switchovers rose (8 -> 9)" in takeover.why
    down = (group("INIT", faults_up=False, faults_state="Down"),)
    _, _, (takeover,) = takeover_after(xe_pair, {}, {"groups": down})
    assert takeover.cause == FAULT


def test_a_takeover_from_a_lost_or_reloaded_peer(xe_pair: Pair) -> None:
    _, _, (takeover,) = takeover_after(xe_pair, {}, {"groups": None})  # XE1 gone dark
    assert takeover.cause == PEER_LOST
    _, _, (takeover,) = takeover_after(xe_pair, {}, {"groups": (group("INIT"),), "uptime": 40})
    assert (takeover.cause, takeover.why) == (PEER_LOST, "XE1 reloaded")


def test_a_takeover_from_an_active_without_a_hot_standby_is_unknown(xe_pair: Pair) -> None:
    before = {"xe1_groups": (group("ACTIVE", peer_rf_state=STANDBY_COLD_RF),)}
    history, _, (takeover,) = takeover_after(xe_pair, before, {})
    assert takeover.cause == UNKNOWN_TAKEOVER
    assert history.takeovers() == {(PAIR, 1, UNKNOWN_TAKEOVER): 1}


def test_forgetting_a_pair_drops_its_takeovers(xe_pair: Pair) -> None:
    history, _, _ = takeover_after(xe_pair, {}, {})
    history.forget_pairs([PAIR])
    assert history.takeovers() == {}
    # The next ACTIVE member seen is no takeover.
    assert observe(history, xe_pair, xe_pair.baseline(at=200.0)) == ()


# --- reloads and switchovers of a b2b pair (reloads.py) ----------------------------------


def test_a_member_the_group_reloaded_is_an_rg_reload(xe_pair: Pair) -> None:
    tracker = ReloadTracker()
    tracker.observe(xe_pair.baseline(at=0.0), xe_pair.inventory)
    local = (REAL.reload_requests_local or 0) + 1
    after = xe_pair.baseline(
        at=600.0, xe1_uptime=3 * DAY + 600, xe2_uptime=60, xe2_groups=(group("INIT", reload_requests_local=local),)
    )
    (reload,), _ = tracker.observe(after, xe_pair.inventory)
    assert (reload.device, reload.cause, reload.expected) == ("XE2", RG_RELOAD, False)
    assert reload.evidence == "show redundancy application group all: group 1 reload events: local request 8 -> 9"
    assert reload.why == "a reload by the redundancy group is never expected"
    # The state file keeps the counters a reload is compared with.
    restored = ReloadTracker.from_dict(tracker.to_dict())
    assert restored.devices["XE2"].rg == {1: (local, REAL.reload_requests_peer)}


def test_a_reload_the_peer_requested_is_an_rg_reload(xe_pair: Pair) -> None:
    tracker = ReloadTracker()
    tracker.observe(xe_pair.baseline(at=0.0), xe_pair.inventory)
    requested = (group("ACTIVE", reload_requests_peer=(REAL.reload_requests_peer or 0) + 1),)
    after = xe_pair.baseline(at=600.0, xe1_uptime=3 * DAY + 600, xe2_uptime=60, xe1_groups=requested)
    (reload,), _ = tracker.observe(after, xe_pair.inventory)
    assert (reload.device, reload.cause) == ("XE2", RG_RELOAD)
    assert "on XE1: group 1 reload events: peer request 0 -> 1" in reload.evidence


def test_a_reload_without_the_group_counters_rising_keeps_its_cause(xe_pair: Pair) -> None:
    tracker = ReloadTracker()
    tracker.observe(xe_pair.baseline(at=0.0), xe_pair.inventory)
    after = xe_pair.baseline(at=600.0, xe1_uptime=3 * DAY + 600, xe2_uptime=60)
    (reload,), _ = tracker.observe(after, xe_pair.inventory)
    assert (reload.device, reload.cause, reload.expected) == ("XE2", OPERATOR, True)


def test_a_b2b_switchover_is_the_first_groups_active_role_changing_hands(xe_pair: Pair) -> None:
    tracker = ReloadTracker()
    tracker.observe(xe_pair.baseline(at=0.0), xe_pair.inventory)
    swapped = xe_pair.baseline(
        at=60.0,
        xe1_uptime=3 * DAY + 60,
        xe2_uptime=3 * DAY + 60,
        xe1_groups=(group("STANDBY"),),
        xe2_groups=(group("ACTIVE"),),
    )
    _, (switchover,) = tracker.observe(swapped, xe_pair.inventory)
    assert (switchover.pair, switchover.previous_active, switchover.active) == (PAIR, "XE1", "XE2")


# --- the Monitor keeps the history --------------------------------------------------------


def test_the_monitor_keeps_the_group_history_and_its_takeovers(xe_pair: Pair) -> None:
    monitor = Monitor(xe_pair.inventory)
    try:
        monitor.record(xe_pair.baseline(at=0.0))
        swapped = xe_pair.baseline(
            at=100.0,
            xe1_uptime=3 * DAY + 100,
            xe2_uptime=3 * DAY + 100,
            xe1_groups=(group("STANDBY"),),
            xe2_groups=(group("ACTIVE"),),
        )
        recorded = monitor.record(swapped)
        (health,) = recorded.pairs.values()
        assert [(t.previous_active, t.active, t.cause) for t in recorded.takeovers] == [("XE1", "XE2", PREEMPT)]
        assert [(s.previous_active, s.active) for s in recorded.switchovers] == [("XE1", "XE2")]
        assert "rg_no_preempt" in failed(health)
        assert monitor.state().rg_takeovers == {(PAIR, 1, PREEMPT): 1}
        # The pair leaving the inventory takes its history along.
        monitor.update_inventory(dataclasses.replace(xe_pair.inventory, pairs={}))
        assert monitor.state().rg_takeovers == {}
    finally:
        monitor.close()
