"""Verdict = alerts: the pair verdict (`check`, its Nagios state, the
exporter's ipsecha_pair_verdict, the dashboards) and the alert rules of
dashboards/prometheus/ipsecha-rules.yml agree on every condition and its
severity. One table says it (PAIR_RULES, MONITOR_ALERTS and SYSLOG_ALERTS in
ipsec_ha_monitor/health.py); this file walks every alert of the rules file and
every verdict rule against it, then judges each rule failing on
snapshots built from the lab's outputs (a classic pair's rules on the lab's
hubs, a box-to-box pair's on IOS-XE members: tests/support/b2b.py), and
reads each failing pair's verdict back from `check --nagios` and the
exporter. An alert or a rule added without its line in the table, or a
severity changed on one side only, fails here."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.b2b import DAY, REAL, STANDBY_COLD_RF, group, vip, write_xe_inventory
from support.b2b import PAIR as XE_PAIR
from support.b2b import Pair as XePair
from support.exposition import parse_samples
from support.paths import REPO
from support.snapshots import snapshot_of

from ipsec_ha_monitor.check import CheckResult
from ipsec_ha_monitor.check.nagios import (
    NAGIOS_CRITICAL,
    NAGIOS_OK,
    NAGIOS_STATES,
    NAGIOS_UNKNOWN,
    NAGIOS_WARNING,
    render_nagios,
)
from ipsec_ha_monitor.core import Monitor
from ipsec_ha_monitor.export import ExportView, render
from ipsec_ha_monitor.health import (
    CRITICAL,
    DEGRADED,
    ERRORS_INCREASE_SECONDS,
    ERRORS_RISING_FOR_SECONDS,
    HEALTHY,
    MONITOR_ALERT_SEVERITY,
    MONITOR_ALERTS,
    PAIR_RULES,
    RECOVERING,
    RULES_BY_MODE,
    SEVERITIES,
    SYSLOG_ALERT_SEVERITY,
    SYSLOG_ALERTS,
    UNHEALTHY,
    UNKNOWN,
    VERDICT_SEVERITY,
    VERDICTS,
    WARNING,
    IpsecErrorHistory,
    PairHealth,
    RuleResult,
    evaluate_pair,
    verdict_of,
)
from ipsec_ha_monitor.health_b2b import RgHistory
from ipsec_ha_monitor.inventory import B2B, CLASSIC, PAIR_MODES, Inventory, load_inventory
from ipsec_ha_monitor.lab.topology import LabPair, drop_tunnel, set_hsrp_roles
from ipsec_ha_monitor.reloads import Reload, Switchover
from ipsec_ha_monitor.rf_states import ACTIVE, DISABLED
from ipsec_ha_monitor.snapshot import Snapshot

RULES_FILE = REPO / "dashboards" / "prometheus" / "ipsecha-rules.yml"
NEGOTIATION = 3


def _alerts() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    return {rule["alert"]: rule for group in document["groups"] for rule in group["rules"] if "alert" in rule}


ALERTS = _alerts()


def _mode(rule: str) -> str:
    """The pair mode a rule is made to fail on: classic for the rules both
    modes judge (their b2b side is tests/test_health_b2b.py's)."""
    modes = PAIR_RULES[rule].modes
    return CLASSIC if CLASSIC in modes else modes[0]


@pytest.fixture
def inventories(inventory: Inventory, tmp_path: Path) -> dict[str, Inventory]:
    """Per pair mode, the inventory naming its pair: HUB-PAIR-1 (the lab's
    hubs R1, R2) and XE-PAIR-1 (IOS-XE members XE1, XE2, group 1)."""
    return {CLASSIC: inventory, B2B: load_inventory(write_xe_inventory(tmp_path))}


def _expected_verdict(rule: str) -> str:
    """The verdict of a pair whose only failed rule is `rule`, as the table
    has it: a critical condition is unhealthy (or recovering, for an event
    of the hour whose pair works again), a warning one degraded."""
    entry = PAIR_RULES[rule]
    if entry.severity == WARNING:
        return DEGRADED
    return RECOVERING if entry.event else UNHEALTHY


# --- the table against the rules file ----------------------------------------------


def test_every_alert_is_in_the_table_once() -> None:
    mapped = [alert for rule in PAIR_RULES.values() for alert in rule.alerts] + [*MONITOR_ALERTS, *SYSLOG_ALERTS]
    assert len(mapped) == len(set(mapped)), sorted(alert for alert in mapped if mapped.count(alert) > 1)
    assert set(ALERTS) - set(mapped) == set(), "alerts no verdict rule (nor MONITOR_ALERTS, SYSLOG_ALERTS) accounts for"
    assert set(mapped) - set(ALERTS) == set(), "the table names alerts ipsecha-rules.yml does not have"


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_the_alert_and_the_verdict_give_the_same_severity(alert: str) -> None:
    severity = ALERTS[alert]["labels"]["severity"]
    assert severity in SEVERITIES, severity
    if alert in MONITOR_ALERTS:
        # The monitor itself: its pairs are `unknown`, which no failed rule outranks silently.
        assert severity == MONITOR_ALERT_SEVERITY
        return
    if alert in SYSLOG_ALERTS:
        # What syslog announced between polls: no verdict rule reads it, so never more than a warning.
        assert severity == SYSLOG_ALERT_SEVERITY
        return
    (rule,) = [name for name, entry in PAIR_RULES.items() if alert in entry.alerts]
    assert severity == PAIR_RULES[rule].severity, f"{alert} is {severity}, verdict rule {rule} is not"
    assert VERDICT_SEVERITY[_expected_verdict(rule)] == severity


@pytest.mark.parametrize("rule", list(PAIR_RULES))
def test_every_verdict_rule_is_paged_by_an_alert(rule: str) -> None:
    assert PAIR_RULES[rule].alerts, f"no alert pages {rule}"


def test_the_table_is_whole() -> None:
    for name, rule in PAIR_RULES.items():
        assert rule.severity in SEVERITIES, name
        assert rule.severity == CRITICAL or not rule.event, f"{name}: an event rule is critical (its alert pages)"
    # Warnings that differ from the plain reading say why.
    assert all(rule.why for rule in PAIR_RULES.values() if rule.severity == WARNING or rule.event)
    assert set(VERDICT_SEVERITY) == set(VERDICTS)
    assert {VERDICT_SEVERITY[verdict] for verdict in VERDICTS} == {CRITICAL, WARNING, None}


def test_every_verdict_rule_is_judged_in_table_order(pair: LabPair, inventories: dict[str, Inventory]) -> None:
    assert set(RULES_BY_MODE) == set(PAIR_MODES)
    assert {name for rules in RULES_BY_MODE.values() for name in rules} == set(PAIR_RULES)  # none judged nowhere
    health = _judge(pair, inventories[CLASSIC])
    assert [result.rule for result in health.results] == list(RULES_BY_MODE[CLASSIC])
    assert health.verdict == HEALTHY
    xe = XePair(pair, inventories[B2B])
    health = xe.judge(xe.baseline())
    assert [result.rule for result in health.results] == list(RULES_BY_MODE[B2B])
    assert health.verdict == HEALTHY, [(r.rule, r.ok, r.message) for r in health.results if not r.ok]
    for mode in PAIR_MODES:  # each mode's rules in the table's order
        assert list(RULES_BY_MODE[mode]) == [name for name in PAIR_RULES if name in RULES_BY_MODE[mode]]


# --- the verdict follows the severities ----------------------------------------------


NAGIOS = {CRITICAL: NAGIOS_CRITICAL, WARNING: NAGIOS_WARNING}


@pytest.mark.parametrize(("rule", "mode"), [(rule, mode) for rule, entry in PAIR_RULES.items() for mode in entry.modes])
def test_a_failed_rule_gives_its_severity_to_the_verdict_and_to_check(
    rule: str, mode: str, inventories: dict[str, Inventory]
) -> None:
    """On a pair of each mode the rule is judged in, among that mode's rules."""
    judged = RULES_BY_MODE[mode]
    results = [RuleResult(name, name != rule) for name in judged]
    verdict = verdict_of(results)
    assert verdict == _expected_verdict(rule)
    result = _check_result(inventories[mode], verdict, results, mode)
    assert result.nagios_code == NAGIOS[PAIR_RULES[rule].severity]
    assert result.exit_code == 1  # a known fault, whatever its severity
    # A part not judged never hides a known fault ...
    partly = [RuleResult(name, None if name != rule and i % 2 else name != rule) for i, name in enumerate(judged)]
    assert verdict_of(partly, every_member_polled=False) == verdict


def test_the_worst_severity_wins() -> None:
    def verdict(*failed: str, mode: str = CLASSIC) -> str:
        return verdict_of([RuleResult(name, name not in failed) for name in RULES_BY_MODE[mode]])

    assert verdict("no_preempt", "no_ipsec_errors_rising") == DEGRADED
    assert verdict("no_unexpected_reload", "no_preempt") == RECOVERING  # critical: the reload pages
    assert verdict("no_unexpected_reload", "peer_standby_hot") == UNHEALTHY  # the pair does not work yet
    assert verdict("no_preempt", "peer_standby_hot") == UNHEALTHY
    assert verdict() == HEALTHY
    assert verdict("rg_no_preempt", "rg_control_link_clean", "no_ipsec_errors_rising", mode=B2B) == DEGRADED
    assert verdict("no_unexpected_reload", "rg_priority_not_decremented", mode=B2B) == RECOVERING
    assert verdict("no_unexpected_reload", "rg_single_active", mode=B2B) == UNHEALTHY
    assert verdict("rg_no_preempt", "rg_peer_standby_hot", mode=B2B) == UNHEALTHY
    assert verdict(mode=B2B) == HEALTHY
    for mode in PAIR_MODES:
        every = [RuleResult(name, True) for name in RULES_BY_MODE[mode]]
        assert verdict_of(every, every_member_polled=False) == UNKNOWN


# Per mode, the pair judged and its members.
PAIR_NAMES = {CLASSIC: ("HUB-PAIR-1", ("R1", "R2")), B2B: (XE_PAIR, ("XE1", "XE2"))}


def _check_result(inventory: Inventory, verdict: str, results: list[RuleResult], mode: str = CLASSIC) -> CheckResult:
    name, members = PAIR_NAMES[mode]
    health = PairHealth(name, members, verdict, members[1], (members[1],), tuple(results), mode=mode)
    return CheckResult(inventory, 0.0, 1.0, {}, (health,), (), ())


@pytest.mark.parametrize(
    ("verdict", "nagios", "exit_code"),
    [
        (HEALTHY, NAGIOS_OK, 0),
        (DEGRADED, NAGIOS_WARNING, 1),
        (RECOVERING, NAGIOS_CRITICAL, 1),
        (UNHEALTHY, NAGIOS_CRITICAL, 1),
        (UNKNOWN, NAGIOS_UNKNOWN, 2),
    ],
)
def test_check_says_each_verdict_with_its_severity(
    verdict: str, nagios: int, exit_code: int, inventory: Inventory
) -> None:
    assert set(VERDICTS) == {HEALTHY, DEGRADED, RECOVERING, UNHEALTHY, UNKNOWN}  # a new verdict needs a line here
    result = _check_result(inventory, verdict, [])
    assert (result.nagios_code, result.exit_code) == (nagios, exit_code)


# --- each rule failing on real snapshots --------------------------------------------


def _judge(pair: LabPair, inventory: Inventory, **extra: Any) -> PairHealth:
    snapshots = {hub.name: snapshot_of(hub) for hub in pair.hubs}
    return evaluate_pair(inventory.pairs["HUB-PAIR-1"], snapshots, inventory, **extra)


def _reload(device: str, expected: bool) -> Reload:
    why = "operator reload" if expected else "an RF self-reload is never expected"
    cause = "operator" if expected else "rf_self_reload"
    return Reload(device, "HUB-PAIR-1", 1_000_000.0, 60, 86_400, "reload", expected, why, cause)


def _polled_with_errors(pair: LabPair, minute: int, send: int = 0, receive: int = 0) -> dict[str, Snapshot]:
    """Both hubs polled at `minute`, R2's SAs carrying these error counts."""
    at = 1_000_000.0 + minute * 60
    snapshots = {hub.name: dataclasses.replace(snapshot_of(hub), started_at=at) for hub in pair.hubs}
    r2 = snapshots["R2"]
    results = tuple(
        dataclasses.replace(
            result,
            records=tuple(dataclasses.replace(sa, send_errors=send, recv_errors=receive) for sa in result.records),
        )
        if result.command == "show crypto ipsec sa"
        else result
        for result in r2.results
    )
    snapshots["R2"] = dataclasses.replace(r2, results=results)
    return snapshots


def _errors_rising(pair: LabPair, inventory: Inventory) -> PairHealth:
    """R2's receive errors toward the branches rise at every poll (a minute
    apart) for 15 minutes, as IpsechaIpsecErrorsRising sees them."""
    history = IpsecErrorHistory()
    hub_pair = inventory.pairs["HUB-PAIR-1"]
    for minute in range(16):
        snapshots = _polled_with_errors(pair, minute, receive=4 * minute)
        for snapshot in snapshots.values():
            history.observe(snapshot, snapshot.started_at)
    return evaluate_pair(hub_pair, snapshots, inventory, ipsec_errors=history.trends(hub_pair.members))


def test_the_monitor_keeps_the_error_history_between_polls(pair: LabPair, inventory: Inventory) -> None:
    """`check --watch` and the exporter judge through one Monitor, which
    reads every poll's counters into its IpsecErrorHistory."""
    monitor = Monitor(inventory)
    try:
        for minute in range(16):
            recorded = monitor.record(_polled_with_errors(pair, minute, send=minute))
        (health,) = recorded.pairs.values()
        assert health.verdict == DEGRADED
        assert {result.rule for result in health.failed} == {"no_ipsec_errors_rising"}
    finally:
        monitor.close()


def _with_stateful_group(inventory: Inventory, name: str) -> Inventory:
    pairs = {key: dataclasses.replace(p, stateful_group=name) for key, p in inventory.pairs.items()}
    return dataclasses.replace(inventory, pairs=pairs)


def _both_hsrp_listen(pair: LabPair, inventory: Inventory) -> PairHealth:
    for hub in pair.hubs:
        hub.set_hsrp(hub.hsrp[0], "listen")
    return _judge(pair, inventory)


def _preempt(pair: LabPair, inventory: Inventory) -> PairHealth:
    pair.r1.hsrp[0].preempt = True
    return _judge(pair, inventory)


def _simplex(pair: LabPair, inventory: Inventory) -> PairHealth:
    pair.r2.duplex = False
    return _judge(pair, inventory)


def _communications_down(pair: LabPair, inventory: Inventory) -> PairHealth:
    pair.r2.communications_up, pair.r2.communications_reason = False, "Failure"
    return _judge(pair, inventory)


def _split_brain(pair: LabPair, inventory: Inventory) -> PairHealth:
    pair.r1.set_hsrp(pair.r1.hsrp[0], "active")
    return _judge(pair, inventory)


# --- box-to-box pairs: IOS-XE members' group records set by hand --------------------

Scenario = Callable[[LabPair, Inventory], PairHealth]


def _b2b(**overrides: object) -> Scenario:
    """XE-PAIR-1 polled once, its baseline changed by `overrides`
    (XePair.baseline's `xe1_<field>=`, `xe2_<field>=`)."""

    def judge(pair: LabPair, inventory: Inventory) -> PairHealth:
        xe = XePair(pair, inventory)
        return xe.judge(xe.baseline(**overrides))

    return judge


def _b2b_polls(*polls: dict[str, object]) -> Scenario:
    """XE-PAIR-1 polled once a minute, each poll the baseline changed by
    its overrides (both members up all along), RgHistory taking every poll
    in as the Monitor does; judged at the last poll."""

    def judge(pair: LabPair, inventory: Inventory) -> PairHealth:
        xe, watched, history = XePair(pair, inventory), inventory.pairs[XE_PAIR], RgHistory()
        for minute, overrides in enumerate(polls):
            at = 60.0 * minute
            uptimes = {"xe1_uptime": 3 * DAY + int(at), "xe2_uptime": 3 * DAY + int(at)}
            snapshots = xe.baseline(at=at, **{**uptimes, **overrides})
            history.observe(watched, snapshots)
        return xe.judge(snapshots, rg_history=history.view(watched, at))

    return judge


# XE2 takes the ACTIVE role (and the VIP) from a steady XE1: what preempt does.
_SWAPPED = {
    "xe1_groups": (group("STANDBY"),),
    "xe2_groups": (group("ACTIVE"),),
    "xe1_vips": (vip(False),),
    "xe2_vips": (vip(True),),
}

# Per rule, the pair made to fail it (the lab's router state set by hand),
# a pair of the rule's mode (_mode), given that mode's inventory.
SCENARIOS: dict[str, Scenario] = {
    "one_rf_active": lambda pair, inventory: (pair.r1.set_rf(ACTIVE, DISABLED), _judge(pair, inventory))[1],
    "peer_standby_hot": lambda pair, inventory: (pair.r2.set_rf(ACTIVE, NEGOTIATION), _judge(pair, inventory))[1],
    "duplex": _simplex,
    "communications_up": _communications_down,
    "stateful_group_consistent": lambda pair, inventory: _judge(
        pair, _with_stateful_group(inventory, "BRANCH-6-TUNNEL")
    ),
    "hsrp_active_present": _both_hsrp_listen,
    "single_hsrp_active": _split_brain,
    "hsrp_active_is_rf_active": lambda pair, inventory: (
        set_hsrp_roles(pair, pair.r1, pair.r2),
        _judge(pair, inventory),
    )[1],
    "no_preempt": _preempt,
    "expected_peers_have_sa": lambda pair, inventory: (
        drop_tunnel(pair.r2.tunnels["172.16.0.5"], negotiating=True),
        _judge(pair, inventory),
    )[1],
    "standby_has_sa_copies": lambda pair, inventory: (
        drop_tunnel(pair.r1.tunnels["172.16.0.5"], negotiating=False),
        _judge(pair, inventory),
    )[1],
    "no_ipsec_errors_rising": _errors_rising,
    "no_unexpected_reload": lambda pair, inventory: _judge(pair, inventory, reloads=(_reload("R1", False),)),
    "no_reload_loop": lambda pair, inventory: _judge(pair, inventory, reloads=(_reload("R1", True),) * 3),
    "no_rf_flapping": lambda pair, inventory: _judge(
        pair,
        inventory,
        switchovers=tuple(
            Switchover("HUB-PAIR-1", 1_000_000.0 + n, *(("R1", "R2") if n % 2 else ("R2", "R1"))) for n in range(3)
        ),
    ),
    # Both ACTIVE, each still seeing a STANDBY HOT peer: the split brain alone.
    "rg_single_active": _b2b(xe2_groups=(group("ACTIVE"),)),
    "rg_active_present": _b2b(xe1_groups=(group("STANDBY"),), xe2_groups=(group("INIT"),)),
    "rg_peer_standby_hot": _b2b(xe1_groups=(group("ACTIVE", peer_rf_state=STANDBY_COLD_RF),)),
    "rg_peer_communicating": _b2b(xe1_groups=(group("ACTIVE", peer_present=False),)),
    "rg_up": _b2b(xe2_groups=(group("STANDBY", faults_up=False, faults_state="Down"),)),
    "rg_priority_above_threshold": _b2b(xe2_groups=(group("STANDBY", runtime_priority=100, priority=100),)),
    "rg_priority_not_decremented": _b2b(xe1_groups=(group("ACTIVE", runtime_priority=140, priority=150),)),
    "rg_no_flapping": _b2b_polls(
        {}, {"xe1_groups": (group("ACTIVE", role_changes_to_active=(REAL.role_changes_to_active or 0) + 3),)}
    ),
    "rg_control_link_clean": _b2b_polls(
        {}, {"xe2_groups": (group("STANDBY", packet_loss=(REAL.packet_loss or 0) + 3),)}
    ),
    "rg_vip_single_owner": _b2b(xe2_vips=(vip(True),)),
    "rg_no_preempt": _b2b_polls({}, _SWAPPED),
}


def test_every_rule_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(PAIR_RULES)


# What a scenario cannot fail alone, each as bad as the rule (same severity,
# same event-ness): the classic split brain also has the wrong hub HSRP active.
ALSO_FAILED = {"single_hsrp_active": {"hsrp_active_is_rf_active"}}


@pytest.mark.parametrize("rule", list(PAIR_RULES))
def test_a_pair_failing_the_rule_gets_the_verdict_of_its_severity(
    rule: str, pair: LabPair, inventories: dict[str, Inventory]
) -> None:
    health = SCENARIOS[rule](pair, inventories[_mode(rule)])
    assert health.mode == _mode(rule)
    failed = {result.rule for result in health.failed}
    assert failed == {rule, *ALSO_FAILED.get(rule, ())}, [(r.rule, r.ok, r.message) for r in health.results]
    # What else fails with it is as bad: the verdict is the rule's own.
    assert {(PAIR_RULES[name].severity, PAIR_RULES[name].event) for name in failed} == {
        (PAIR_RULES[rule].severity, PAIR_RULES[rule].event)
    }, failed
    assert health.verdict == _expected_verdict(rule)
    assert VERDICT_SEVERITY[health.verdict] == PAIR_RULES[rule].severity


@pytest.mark.parametrize("rule", list(PAIR_RULES))
def test_check_and_the_exporter_say_the_failing_pairs_verdict(
    rule: str, pair: LabPair, inventories: dict[str, Inventory]
) -> None:
    """`check --nagios` names the pair with the failed rule under the
    rule's severity; the exporter's ipsecha_pair_verdict says the verdict
    and ipsecha_pair_rule_ok the failed rules, as the alerts read them."""
    inventory = inventories[_mode(rule)]
    health = SCENARIOS[rule](pair, inventory)
    failed = {result.rule for result in health.failed}
    code, text = render_nagios(CheckResult(inventory, 0.0, 1.0, {}, (health,), (), ()))
    assert code == NAGIOS[PAIR_RULES[rule].severity]
    status = text.splitlines()[0]
    assert status.startswith(f"IPSECHA {NAGIOS_STATES[code]} - 1 pair {health.verdict}: {health.pair} ("), status
    assert f"{health.pair} ({', '.join(result.rule for result in health.failed)})" in status, status
    samples = parse_samples(render(ExportView(inventory, {}, [health], {}, now=1_000_010.0)).decode())
    states = {dict(key)["verdict"]: value for key, value in samples["ipsecha_pair_verdict"].items()}
    assert states == {verdict: float(verdict == _expected_verdict(rule)) for verdict in VERDICTS}
    rule_ok = {dict(key)["rule"]: value for key, value in samples["ipsecha_pair_rule_ok"].items()}
    assert {name for name, value in rule_ok.items() if value == 0} == failed
    assert set(rule_ok) <= set(RULES_BY_MODE[_mode(rule)])


def test_the_exporter_and_the_dashboards_show_every_verdict(pair: LabPair, inventory: Inventory) -> None:
    """ipsecha_pair_verdict is a state set over VERDICTS (the dashboards
    give each its word and colour: dashboards/grafana/build.py refuses to
    build without one); a degraded pair reads degraded there."""
    health = _preempt(pair, inventory)
    snapshots = {hub.name: snapshot_of(hub) for hub in pair.hubs}
    samples = parse_samples(render(ExportView(inventory, snapshots, [health], {}, now=1_000_010.0)).decode())
    states = {dict(key)["verdict"]: value for key, value in samples["ipsecha_pair_verdict"].items()}
    assert states == {verdict: float(verdict == DEGRADED) for verdict in VERDICTS}
    grafana = (REPO / "dashboards" / "grafana" / "ipsecha-fleet.json").read_text(encoding="utf-8")
    for verdict in VERDICTS:
        assert f'"text": "{verdict}"' in grafana, verdict


# --- the conditions: the same thresholds and windows on both sides -------------------


def _seconds(duration: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return float(sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smh])", duration)))


def test_errors_rising_is_judged_over_the_alerts_windows() -> None:
    """IpsecErrorHistory judges what the alert does: send plus receive
    errors toward a peer increased within the range, held for `for:`."""
    alert = ALERTS["IpsechaIpsecErrorsRising"]
    expr = " ".join(alert["expr"].split())
    condition = re.search(
        r"max by \(pair, device, peer\) \( increase\(ipsecha_ipsec_send_errors_total\[(\w+)\]\) "
        r"\+ increase\(ipsecha_ipsec_receive_errors_total\[(\w+)\]\) \) > 0",
        expr,
    )
    assert condition, expr
    assert _seconds(condition.group(1)) == _seconds(condition.group(2)) == ERRORS_INCREASE_SECONDS
    assert _seconds(alert["for"]) == ERRORS_RISING_FOR_SECONDS
    history = IpsecErrorHistory()
    assert (history.increase_seconds, history.for_seconds) == (ERRORS_INCREASE_SECONDS, ERRORS_RISING_FOR_SECONDS)
    assert f"{ERRORS_RISING_FOR_SECONDS / 60:.0f} minutes" in PAIR_RULES["no_ipsec_errors_rising"].description
