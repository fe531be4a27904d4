"""The shipped Prometheus rules and configs, checked by promtool: syntax,
the unit tests (every alert firing and not firing), and that the unit-test
file is what its builder writes. Plus what promtool cannot see: every alert
carries for/severity/summary/description, every metric a rule reads is one
the exporter serves, and the reload alert calls expected the reloads the
`check` command does."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support.prometheus import PROMTOOL, RULES, RULES_DIR, metric_names, needs_prometheus, recorded_rules, rules

from ipsec_ha_monitor.export.metrics import METRICS, SYSLOG_METRICS
from ipsec_ha_monitor.reloads import RELOAD_CAUSES, ReloadCause, classify_reload

RULE_TESTS = RULES_DIR / "ipsecha-rules.test.yml"
CONFIGS = ("prometheus.yml", "prometheus-scale-out.yml")


def alerts() -> dict[str, dict]:
    return {rule["alert"]: rule for rule in rules() if "alert" in rule}


def promtool(*args: str, cwd: Path = RULES_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PROMTOOL), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.integration
@needs_prometheus
def test_promtool_accepts_the_rules_and_the_example_configs() -> None:
    checked = promtool("check", "rules", RULES.name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules())} rules found" in checked.stdout
    for config in CONFIGS:
        checked = promtool("check", "config", config)
        assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.integration
@needs_prometheus
def test_promtool_unit_tests_pass() -> None:
    tested = promtool("test", "rules", RULE_TESTS.name)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


@pytest.mark.integration
@needs_prometheus
def test_promtool_unit_tests_catch_a_broken_rule(tmp_path) -> None:
    """The unit tests would notice a rule that no longer fires: the split
    brain threshold raised past two members fails them."""
    threshold = "(\n            pair:ipsecha_hsrp_active_members:sum > 1\n"
    broken = RULES.read_text().replace(
        threshold, threshold.replace("pair:ipsecha_hsrp_active_members:sum", "vector(0)")
    )
    assert broken != RULES.read_text()
    (tmp_path / RULES.name).write_text(broken)
    (tmp_path / RULE_TESTS.name).write_text(RULE_TESTS.read_text())
    tested = promtool("test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert tested.returncode != 0
    assert "alertname: IpsechaHsrpSplitBrain" in tested.stdout + tested.stderr


@pytest.mark.integration  # the builder as a process
def test_the_unit_test_file_is_what_its_builder_writes(tmp_path) -> None:
    written = tmp_path / "tests.yml"
    subprocess.run([sys.executable, str(RULES_DIR / "build_rule_tests.py"), str(written)], check=True, timeout=60)
    assert written.read_text() == RULE_TESTS.read_text(), "run dashboards/prometheus/build_rule_tests.py"


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    seen: dict[str, set[bool]] = {name: set() for name in alerts()}
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for check in case["alert_rule_test"]:
            seen[check["alertname"]].add(bool(check["exp_alerts"]))
    assert {name: fired for name, fired in seen.items() if fired != {True, False}} == {}


@pytest.mark.parametrize("name", sorted(alerts()))
def test_every_alert_tells_on_call_what_to_check(name: str) -> None:
    rule = alerts()[name]
    assert "for" in rule, name
    assert rule["labels"]["severity"] in {"critical", "warning"}
    assert rule["annotations"]["summary"].strip()
    # The description says what to do and names a command or series to look at.
    description = rule["annotations"]["description"]
    assert re.search(r"\b(Check|Remove)\b", description) and re.search(r"`[a-z][^`]+`", description), name


def test_every_metric_the_rules_read_is_served() -> None:
    known = set(METRICS) | set(SYSLOG_METRICS) | recorded_rules()
    for rule in rules():
        unknown = metric_names(rule["expr"]) - known
        assert not unknown, (rule.get("alert") or rule.get("record"), unknown)


def test_the_reload_alert_expects_what_check_expects() -> None:
    """IpsechaUnexpectedReload and `check` call the same reloads expected: by
    cause (ipsecha_reload_info's label, the exporter's reload_cause), and
    none after a hand-over of the RF-active role in the pair."""
    expr = alerts()["IpsechaUnexpectedReload"]["expr"]
    (expected_cause,) = re.findall(r'ipsecha_reload_info\{cause!="(\w+)"\}', expr)
    assert "pair:ipsecha_rf_handovers:1h > 0" in expr
    for cause in RELOAD_CAUSES:
        for switchover in (False, True):
            by_rules = cause == expected_cause and not switchover
            by_check, _ = classify_reload("", switchover, ReloadCause(cause, ""))
            assert by_rules == by_check, (cause, switchover)


def test_one_reload_alert_per_boot() -> None:
    """The reload alert's labels are the device's and its boot's: a second
    reload within the hour (a new boot) is a second alert."""
    expr = alerts()["IpsechaUnexpectedReload"]["expr"]
    assert expr.startswith("max by (pair, device, boot) (ipsecha_reload_info)")
    assert "boot" in METRICS["ipsecha_reload_info"].labels


@pytest.mark.parametrize(
    ("name", "severity"),
    [
        ("IpsechaStandbyMissingSaCopies", "critical"),
        ("IpsechaReloadLoop", "critical"),
        ("IpsechaRfFlapping", "critical"),
        ("IpsechaUnexpectedReload", "critical"),
        ("IpsechaPairNotOneRfActive", "critical"),
        # IOS-XE box-to-box redundancy groups (the pair rules rg_*).
        ("IpsechaRgSplitBrain", "critical"),
        ("IpsechaRgNoActive", "critical"),
        ("IpsechaRgPeerNotStandbyHot", "critical"),
        ("IpsechaRgPeerLost", "critical"),
        ("IpsechaRgDown", "critical"),
        ("IpsechaRgPriorityAtThreshold", "critical"),
        ("IpsechaRgPriorityDecremented", "warning"),
        ("IpsechaRgFlapping", "critical"),
        ("IpsechaRgControlLinkErrors", "warning"),
        ("IpsechaRgVipOnBoth", "critical"),
        ("IpsechaRgPreempted", "warning"),
    ],
)
def test_the_stateful_failover_alerts_exist(name: str, severity: str) -> None:
    assert alerts()[name]["labels"]["severity"] == severity


def test_no_expr_times_events_in_seconds() -> None:
    """The end-to-end tests scale every duration of the rules (ranges,
    offsets, for, keep_firing_for) to play minutes in seconds, and the lab
    reports its uptimes on its own clock: a reload or hand-over timed against
    the wall clock (`time()`, a tolerance of so many seconds added) would
    not follow. Events are counted and compared, never timed."""
    for rule in rules():
        name = rule.get("alert") or rule.get("record")
        assert "time()" not in rule["expr"], name
        assert not re.search(r"[+-]\s*\d{2,}", rule["expr"]), name


# State alerts: they judge the current data, so an exporter outage takes
# their series away. Not held: the event alerts (the reload alert keeps
# firing an hour on its own, the loop and flapping counts read an hour of
# history that outlives an outage) and the exporter's own alerts.
NOT_HELD = {
    "IpsechaUnexpectedReload",
    "IpsechaReloadLoop",
    "IpsechaRfFlapping",
    "IpsechaHsrpFlapping",
    "IpsechaRfEventsBetweenPolls",
    "IpsechaStaleData",
    "IpsechaExporterDown",
    # Box-to-box events: counter increases over a window that outlives an outage.
    "IpsechaRgFlapping",
    "IpsechaRgControlLinkErrors",
    "IpsechaRgPreempted",
}


@pytest.mark.parametrize("name", sorted(set(alerts()) - NOT_HELD))
def test_every_state_alert_is_held_through_an_exporter_outage(name: str) -> None:
    """`<condition> or (its last value where it fired, while the device's
    scrape target fails)`: a firing state alert neither resolves nor pages
    again across an exporter outage (ipsecha-rules.test.yml plays one for
    /metrics and one for /probe)."""
    expr = alerts()[name]["expr"]
    held = expr[expr.rindex("\nor (") :]
    assert f'ALERTS{{alertname="{name}", alertstate="firing"}}' in held, name
    assert re.search(r"and on \(pair(, device)?\) (device|pair):ipsecha_scrape_failed:5m", held), name
    # The held value is the one the alert fired with: its texts read it.
    labels = re.search(r"max by \(([^)]*)\)", held).group(1)
    assert "pair" in labels.split(", "), name
    uses_value = "$value" in "".join(alerts()[name]["annotations"].values())
    body = re.sub(r"^\s*or \(\s*", "", held)
    constant = body.startswith(("0 * max", "max by (" + labels + ") (ALERTS"))
    assert "alert:ipsecha_alert_value:held" in held or constant, name
    if uses_value and constant:
        assert name in {
            "IpsechaPairSimplex",
            "IpsechaIpcCommunicationsDown",
            "IpsechaNoHsrpActive",
            "IpsechaBranchSaMissing",
            "IpsechaDeviceNotPolled",
        }, name  # their value is always 0


def test_the_hold_covers_both_scrape_layouts_and_outlasts_any_outage() -> None:
    """The device's scrape target is found by (instance, job), as /metrics
    (one target) and /probe (one per device) label it, and carried from
    evaluation to evaluation while its `up` has been 0 within 5 minutes (a
    restarted exporter answers before its first poll): no range limits how
    long an outage may last."""
    by_name = {rule.get("record"): rule["expr"] for rule in rules() if "record" in rule}
    target = " ".join(by_name["device:ipsecha_scrape_target:info"].split())
    assert "max by (pair, device, instance, job)" in target
    assert (
        "last_over_time(device:ipsecha_scrape_target:info[2m]) and on (instance, job) (min_over_time(up[5m]) == 0)"
        in target
    )
    assert "min_over_time(up[5m]) == 0" in by_name["device:ipsecha_scrape_failed:5m"]
