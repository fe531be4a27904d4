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

from monitor.export.metrics import METRICS
from monitor.health import RELOAD_CAUSES, ReloadCause, classify_reload

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
    broken = RULES.read_text().replace("expr: pair:ipsecha_hsrp_active_members:sum > 1", "expr: vector(0) > 1")
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
    known = set(METRICS) | recorded_rules()
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
