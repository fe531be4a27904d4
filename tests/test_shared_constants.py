"""Facts that live in Python and in the shipped PromQL rules say the same in
both: the boot-time tolerance of reload detection, the operator-reload
reasons, and the RF state codes the rules compare against. Python is the
source; the rules must follow it."""

from __future__ import annotations

import re

import yaml
from support.paths import REPO

from monitor.health import BOOT_TIME_TOLERANCE_SECONDS, OPERATOR_RELOAD_PATTERN, classify_reload
from monitor.rf_states import ACTIVE, RF_STATE_NAMES, STANDBY_HOT

RULES_FILE = REPO / "dashboards" / "prometheus" / "ipsecha-rules.yml"


def _rules() -> dict[str, str]:
    """Every rule's expression, by its record or alert name."""
    document = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    return {
        rule.get("record") or rule["alert"]: rule["expr"] for group in document["groups"] for rule in group["rules"]
    }


def test_the_boot_time_tolerance_is_the_one_health_uses() -> None:
    expr = _rules()["device:ipsecha_rebooted:1h"]
    (tolerance,) = re.findall(r"\[1h\]\)\s*\+\s*(\d+(?:\.\d+)?)", expr)
    assert float(tolerance) == BOOT_TIME_TOLERANCE_SECONDS


def test_the_operator_reload_reasons_are_the_ones_check_accepts() -> None:
    (pattern,) = re.findall(r"reason!~`([^`]+)`", _rules()["IpsechaUnexpectedReload"])
    assert pattern == "(?i)" + OPERATOR_RELOAD_PATTERN
    # And they mean the same: Prometheus anchors the regex, as fullmatch does.
    anchored = re.compile(pattern)
    for reason in ("Reload Command", "reload", "Admin reload CLI", "  reload  ", "Install Reload", "install commit"):
        assert classify_reload(reason, switchover=False)[0] and anchored.fullmatch(reason), reason
    for reason in ("power-on", "Unknown reason", "bus error at PC 0x6082F7C0", "Reload Command by crash"):
        assert not classify_reload(reason, switchover=False)[0] and not anchored.fullmatch(reason), reason


_NAMING = re.compile(r'ipsecha_redundancy_(my|peer)_state(?::\w+)?\s*==\s*(\d+)\s*,\s*"rf_state"\s*,\s*"([^"]+)"')
_COMPARISON = re.compile(r"ipsecha_redundancy_(my|peer)_state(?::\w+)?(?:\{[^}]*\})?\s*(?:==|!=)\s*(?:bool\s+)?(\d+)")


def test_the_rf_codes_the_rules_compare_against_are_the_ones_health_uses() -> None:
    exprs = list(_rules().values())
    # Rules that name the states (label rf_state) use RF_STATE_NAMES's names.
    for expr in exprs:
        for _side, code, name in _NAMING.findall(expr):
            assert RF_STATE_NAMES[int(code)] == name, (code, name)
    # Every other comparison is "my state is ACTIVE" or "peer state is (not) STANDBY HOT".
    judged = {pair for expr in exprs for pair in _COMPARISON.findall(_NAMING.sub("", expr))}
    assert judged == {("my", str(ACTIVE)), ("peer", str(STANDBY_HOT))}
    # The header comment that explains the codes lists them as IOS prints them.
    header = RULES_FILE.read_text(encoding="utf-8").split("groups:")[0]
    for code, name in ((STANDBY_HOT, "STANDBY HOT"), (ACTIVE, "ACTIVE")):
        assert RF_STATE_NAMES[code] == name and f"{code} {name}" in " ".join(header.replace("#", " ").split())
