"""The shipped Prometheus rules and configs, checked by promtool: syntax,
the unit tests (every alert firing and not firing), and that the unit-test
file is what its builder writes. Plus what promtool cannot see: every alert
carries for/severity/summary/description, every metric a rule reads is one
the exporter serves, and the rules' operator-reload regex agrees with the
`check` command's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support.prometheus import PROMTOOL, RULES, RULES_DIR, metric_names, needs_prometheus, recorded_rules, rules

from monitor.export.metrics import METRICS
from monitor.health import classify_reload

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


def test_the_operator_reload_regex_agrees_with_check() -> None:
    """IpsechaUnexpectedReload and `check` must call the same reasons
    expected. (Prometheus anchors the regex; RE2 reads it as Python does.)"""
    expr = alerts()["IpsechaUnexpectedReload"]["expr"]
    pattern = re.compile(re.search(r"reason!~`([^`]+)`", expr).group(1))
    reasons = [
        "reload",
        "Reload Command",
        "reload command",
        "Admin reload CLI",
        "Reload - install",
        "power-on",
        "Power Failure",
        "RF induced self-reload",
        "Critical software exception",
        "",
        "s/w reset",
    ]
    for reason in reasons:
        expected, _ = classify_reload(reason, switchover=False)
        assert bool(pattern.fullmatch(reason)) == expected, reason
