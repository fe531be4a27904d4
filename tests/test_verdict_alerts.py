"""Verdict = alerts: the pair verdict (`check`, its Nagios state, the
exporter's ipsecha_pair_verdict, the dashboards) and the alert rules of
dashboards/prometheus/ipsecha-rules.yml agree on every condition and its
severity. One table says it (PAIR_RULES, MONITOR_ALERTS and SYSLOG_ALERTS in
ipsec_ha_monitor/health.py); this file walks every alert of the rules file and
every verdict rule against it, then judges each rule failing on
snapshots built from the lab's outputs. An alert or a rule added without
its line in the table, or a severity changed on one side only, fails here."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from support.exposition import parse_samples
from support.paths import REPO
from support.snapshots import snapshot_of

from ipsec_ha_monitor.check import CheckResult
from ipsec_ha_monitor.check.nagios import NAGIOS_CRITICAL, NAGIOS_OK, NAGIOS_UNKNOWN, NAGIOS_WARNING
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
from ipsec_ha_monitor.inventory import Inventory
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


def test_every_verdict_rule_is_judged_in_table_order(pair: LabPair, inventory: Inventory) -> None:
    health = _judge(pair, inventory)
    assert [result.rule for result in health.results] == list(PAIR_RULES)
    assert health.verdict == HEALTHY


# --- the verdict follows the severities ----------------------------------------------


NAGIOS = {CRITICAL: NAGIOS_CRITICAL, WARNING: NAGIOS_WARNING}


@pytest.mark.parametrize("rule", list(PAIR_RULES))
def test_a_failed_rule_gives_its_severity_to_the_verdict_and_to_check(rule: str, inventory: Inventory) -> None:
    results = [RuleResult(name, name != rule) for name in PAIR_RULES]
    verdict = verdict_of(results)
    assert verdict == _expected_verdict(rule)
    result = _check_result(inventory, verdict, results)
    assert result.nagios_code == NAGIOS[PAIR_RULES[rule].severity]
    assert result.exit_code == 1  # a known fault, whatever its severity
    # A part not judged never hides a known fault ...
    partly = [RuleResult(name, None if name != rule and i % 2 else name != rule) for i, name in enumerate(PAIR_RULES)]
    assert verdict_of(partly, every_member_polled=False) == verdict


def test_the_worst_severity_wins() -> None:
    def verdict(*failed: str) -> str:
        return verdict_of([RuleResult(name, name not in failed) for name in PAIR_RULES])

    assert verdict("no_preempt", "no_ipsec_errors_rising") == DEGRADED
    assert verdict("no_unexpected_reload", "no_preempt") == RECOVERING  # critical: the reload pages
    assert verdict("no_unexpected_reload", "peer_standby_hot") == UNHEALTHY  # the pair does not work yet
    assert verdict("no_preempt", "peer_standby_hot") == UNHEALTHY
    assert verdict() == HEALTHY
    assert verdict_of([RuleResult(name, True) for name in PAIR_RULES], every_member_polled=False) == UNKNOWN


def _check_result(inventory: Inventory, verdict: str, results: list[RuleResult]) -> CheckResult:
    health = PairHealth("HUB-PAIR-1", ("R1", "R2"), verdict, "R2", ("R2",), tuple(results))
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


# Per rule, the pair made to fail it (the lab's router state set by hand).
SCENARIOS: dict[str, Callable[[LabPair, Inventory], PairHealth]] = {
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
}


def test_every_rule_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(PAIR_RULES)


@pytest.mark.parametrize("rule", list(PAIR_RULES))
def test_a_pair_failing_the_rule_gets_the_verdict_of_its_severity(
    rule: str, pair: LabPair, inventory: Inventory
) -> None:
    health = SCENARIOS[rule](pair, inventory)
    failed = {result.rule for result in health.failed}
    assert rule in failed, [(r.rule, r.ok, r.message) for r in health.results]
    # What else fails with it is as bad (split brain is also the wrong hub
    # HSRP active): the verdict is the rule's own.
    assert {(PAIR_RULES[name].severity, PAIR_RULES[name].event) for name in failed} == {
        (PAIR_RULES[rule].severity, PAIR_RULES[rule].event)
    }, failed
    assert health.verdict == _expected_verdict(rule)
    assert VERDICT_SEVERITY[health.verdict] == PAIR_RULES[rule].severity


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
