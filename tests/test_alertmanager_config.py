"""The shipped Alertmanager config, checked by amtool: its syntax, and
where each kind of alert goes (`amtool config routes test`): a pair's
critical and warning alerts apart, each grouped by pair, a branch router's
(no pair label) by device, and an exporter outage in a group of its own.
The alert names and severities are read from the shipped rules."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml
from support.alertmanager import ALERTMANAGER_CONFIG, AMTOOL, needs_amtool
from support.prometheus import rules

pytestmark = needs_amtool

CRITICAL, WARNING = "ipsecha-critical", "ipsecha-warning"


def severity(alertname: str) -> str:
    (rule,) = [rule for rule in rules() if rule.get("alert") == alertname]
    return rule["labels"]["severity"]


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(AMTOOL), *args], capture_output=True, text=True, timeout=60, check=False)


def route(receiver: str, *labels: str) -> str:
    """`amtool config routes test`, verifying the receiver; its matching route tree."""
    result = amtool(
        "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}", f"--verify.receivers={receiver}",
        "--tree", *labels,
    )  # fmt: skip
    assert result.returncode == 0, (labels, result.stdout, result.stderr)
    return result.stdout


def test_amtool_check_config_passes() -> None:
    result = amtool("check-config", str(ALERTMANAGER_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_severities_are_the_rules_own() -> None:
    """The routes match the severity label values the rules set, no others."""
    values = {rule["labels"]["severity"] for rule in rules() if "alert" in rule}
    assert values == {"critical", "warning"}


@pytest.mark.parametrize(
    ("alertname", "receiver"),
    [
        ("IpsechaPairSimplex", CRITICAL),
        ("IpsechaPeerNotStandbyHot", CRITICAL),
        ("IpsechaUnexpectedReload", CRITICAL),
        ("IpsechaStandbyMissingSaCopies", CRITICAL),
        ("IpsechaReloadLoop", CRITICAL),
        ("IpsechaRfFlapping", CRITICAL),
        ("IpsechaPairNotOneRfActive", CRITICAL),
        ("IpsechaHsrpPreemptOnStatefulGroup", WARNING),
        ("IpsechaDeviceNotPolled", WARNING),
    ],
)
def test_a_pair_alert_goes_by_severity(alertname: str, receiver: str) -> None:
    assert severity(alertname) == receiver.removeprefix("ipsecha-")
    tree = route(receiver, f"alertname={alertname}", f"severity={severity(alertname)}", "pair=HUB-PAIR-1", "device=R1")
    assert f'{{severity="{severity(alertname)}"}}' in tree
    assert 'pair=""' not in tree  # grouped by pair


@pytest.mark.parametrize(
    ("alertname", "receiver"),
    [("IpsechaDeviceNotPolled", WARNING), ("IpsechaUnexpectedReload", CRITICAL), ("IpsechaReloadLoop", CRITICAL)],
)
def test_a_branch_alert_without_pair_is_grouped_by_device(alertname: str, receiver: str) -> None:
    # The exporter labels branch routers pair="": Prometheus drops empty labels.
    tree = route(receiver, f"alertname={alertname}", f"severity={severity(alertname)}", "device=R3")
    assert '{pair=""}' in tree
    tree = route(receiver, f"alertname={alertname}", f"severity={severity(alertname)}", "device=R3", "pair=")
    assert '{pair=""}' in tree


@pytest.mark.parametrize("labels", [(), ("job=ipsecha", "instance=127.0.0.1:9477")])
def test_exporter_down_is_one_group_of_its_own(labels: tuple[str, ...]) -> None:
    """With no labels (`count(up == 0)`, `absent()`) or a target's (an `up == 0` form)."""
    tree = route(WARNING, "alertname=IpsechaExporterDown", f"severity={severity('IpsechaExporterDown')}", *labels)
    assert '{alertname="IpsechaExporterDown"}' in tree


def test_a_wrong_receiver_fails_the_check() -> None:
    """--verify.receivers does fail on a mismatch (so the cases above test something)."""
    result = amtool(
        "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}", f"--verify.receivers={WARNING}",
        "alertname=IpsechaPairSimplex", "severity=critical", "pair=HUB-PAIR-1",
    )  # fmt: skip
    assert result.returncode != 0


def group_by(config_route: dict, labels: dict[str, str]) -> list[str]:
    """The group_by of the route an alert with `labels` ends on (first match,
    equality and empty-value matchers only, as the shipped config uses)."""

    def matches(child: dict) -> bool:
        for matcher in child.get("matchers", []):
            assert "=~" not in matcher and "!=" not in matcher, f"a matcher this helper does not handle: {matcher}"
            name, _, value = matcher.partition("=")
            if labels.get(name, "") != value.strip('"'):
                return False
        return True

    current, grouping = config_route, config_route["group_by"]
    while True:
        child = next((c for c in current.get("routes", []) if matches(c)), None)
        if child is None:
            return grouping
        current, grouping = child, child.get("group_by", grouping)


def test_grouping_per_pair_per_device_and_for_the_exporter() -> None:
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    top = config["route"]
    assert group_by(top, {"alertname": "IpsechaPairSimplex", "severity": "critical", "pair": "P"}) == ["pair"]
    assert group_by(top, {"alertname": "IpsechaStaleData", "severity": "warning", "pair": "P"}) == ["pair"]
    assert group_by(top, {"alertname": "IpsechaStaleData", "severity": "warning", "device": "R3"}) == ["device"]
    assert group_by(top, {"alertname": "IpsechaUnexpectedReload", "severity": "critical", "device": "R3"}) == ["device"]
    assert group_by(top, {"alertname": "IpsechaExporterDown", "severity": "warning"}) == ["alertname"]


def test_inhibitions_name_alerts_the_rules_define() -> None:
    """Every alert name an inhibit rule matches is one of the shipped rules'."""
    names = {rule["alert"] for rule in rules() if "alert" in rule}
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    mentioned: set[str] = set()
    for inhibit in config["inhibit_rules"]:
        for matcher in inhibit["source_matchers"] + inhibit["target_matchers"]:
            name, _, value = matcher.replace("=~", "=").partition("=")
            assert name == "alertname", matcher
            mentioned |= set(value.strip('"').split("|"))
    assert mentioned - names == set()
    assert {"IpsechaExporterDown", "IpsechaUnexpectedReload"} <= mentioned


def test_the_faults_that_resolve_with_their_source_are_left_out_by_the_rules() -> None:
    """A split brain and two (or no) RF-active hubs end together with what
    they set off: inhibited in Alertmanager, those alerts would resolve in
    the same group and the resolved notification would list alerts that
    never paged. The rules leave them out (`unless` the source fires), and
    no inhibit rule names these sources any more."""
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    sources = {m for inhibit in config["inhibit_rules"] for m in inhibit["source_matchers"]}
    assert not [m for m in sources if "SplitBrain" in m or "NotOneRfActive" in m], sources
    exprs = {rule["alert"]: rule["expr"] for rule in rules() if "alert" in rule}
    not_one = 'unless on (pair) ALERTS{alertname="IpsechaPairNotOneRfActive", alertstate="firing"}'
    for name in (
        "IpsechaPairSimplex",
        "IpsechaIpcCommunicationsDown",
        "IpsechaPeerNotStandbyHot",
        "IpsechaBranchSaMissing",
    ):
        assert not_one in exprs[name], name
    assert (
        'unless on (pair) ALERTS{alertname=~"IpsechaHsrpSplitBrain|IpsechaPairNotOneRfActive", alertstate="firing"}'
        in exprs["IpsechaHsrpActiveNotRfActive"]
    )


def seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)(ms|s|m|h)", duration))


def test_follow_on_criticals_go_out_within_a_minute_and_incidents_repeat_rarely() -> None:
    """A new alert joins a group that has already notified at the group's
    next group_interval tick, never at once: the critical route's must put
    a follow-on (a second reload, a loop) on the pager within a minute of
    firing; an unchanged group is sent again only after repeat_interval."""
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    (critical,) = [r for r in config["route"]["routes"] if r["matchers"] == ['severity="critical"']]
    assert seconds(critical["group_interval"]) <= 30
    assert seconds(critical["repeat_interval"]) >= 4 * 3600
    assert seconds(config["route"]["repeat_interval"]) >= 4 * 3600


def test_reload_alerts_mute_the_aftermath_but_never_each_other() -> None:
    """A reload (unexpected, or one of a loop) mutes its pair's Simplex, IPC
    and peer alerts (a box-to-box pair's peer lost and peer not STANDBY HOT);
    no inhibition mutes a reload alert, a reload loop, RF or group flapping,
    missing SA copies, a split brain or a preemption: each must reach a human."""
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())

    def names(matchers: list[str]) -> set[str]:
        return {n for m in matchers for n in m.replace("=~", "=").partition("=")[2].strip('"').split("|")}

    sources = {frozenset(names(i["source_matchers"])): i for i in config["inhibit_rules"]}
    reload = sources[frozenset({"IpsechaUnexpectedReload", "IpsechaReloadLoop"})]
    assert names(reload["target_matchers"]) == {
        "IpsechaPairSimplex",
        "IpsechaIpcCommunicationsDown",
        "IpsechaPeerNotStandbyHot",
        "IpsechaRgPeerLost",
        "IpsechaRgPeerNotStandbyHot",
    }
    assert reload["equal"] == ["pair"]
    never_muted = {
        "IpsechaUnexpectedReload",
        "IpsechaReloadLoop",
        "IpsechaRfFlapping",
        "IpsechaStandbyMissingSaCopies",
        "IpsechaRgFlapping",
        "IpsechaRgSplitBrain",
        "IpsechaRgPreempted",
    }
    for inhibit in config["inhibit_rules"]:
        assert not names(inhibit["target_matchers"]) & never_muted, inhibit
