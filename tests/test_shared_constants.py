"""Facts that live in Python and in the shipped PromQL rules say the same in
both: the reload causes and which of them is expected, the hour a reload or a
hand-over counts, the counts that make a reload loop and RF flapping, and
the RF state codes the rules compare against. Python is the source; the rules
must follow it."""

from __future__ import annotations

import re

import yaml
from support.paths import REPO

from ipsec_ha_monitor.reloads import OPERATOR, RECENT_SECONDS, RELOAD_CAUSES, RELOAD_LOOP_COUNT, RF_FLAPPING_COUNT
from ipsec_ha_monitor.rf_states import ACTIVE, RF_STATE_NAMES, STANDBY_HOT

RULES_FILE = REPO / "dashboards" / "prometheus" / "ipsecha-rules.yml"


def _document() -> list[dict]:
    document = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def _rules() -> dict[str, str]:
    """Every rule's expression, by its record or alert name."""
    return {rule.get("record") or rule["alert"]: rule["expr"] for rule in _document()}


def _alert(name: str) -> dict:
    (rule,) = [rule for rule in _document() if rule.get("alert") == name]
    return rule


def _seconds(duration: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smh])", duration))


def test_the_reload_causes_are_the_ones_health_writes() -> None:
    """The reload alert expects only the operator's cause, and its texts
    name every other cause the exporter writes on ipsecha_reload_info."""
    rule = _alert("IpsechaUnexpectedReload")
    assert re.findall(r'cause!="(\w+)"', rule["expr"]) == [OPERATOR]
    for key in ("summary", "description"):
        named = set(re.findall(r'eq \$cause "(\w+)"', rule["annotations"][key]))
        assert named <= set(RELOAD_CAUSES), key
        assert set(RELOAD_CAUSES) - named == {"unknown"}, key  # the fallback branch


def test_the_hour_a_reload_and_a_hand_over_count_is_the_one_health_uses() -> None:
    """`check` keeps a pair out of healthy for RECENT_SECONDS after an
    unexpected reload (the verdict `recovering`) and counts loops and
    flapping over it: the rules count over the same window and keep the
    reload alert firing as long."""
    window = f"[{int(RECENT_SECONDS // 3600)}h]"
    rules = _rules()
    counts = [
        name for name in rules if re.fullmatch(r"device:ipsecha_reloads_\w+:1h|pair:ipsecha_rf_handovers:1h", name)
    ]
    assert len(counts) == 4, counts  # three counts of reloads (device:ipsecha_reloads:1h keeps the largest)
    for name in counts:
        assert re.findall(r"\[(\w+)\]", rules[name]) and set(re.findall(r"\[\w+\]", rules[name])) == {window}, name
    assert "pair:ipsecha_rf_handovers:1h > 0" in rules["IpsechaUnexpectedReload"]  # no hand-over within the hour
    assert _seconds(_alert("IpsechaUnexpectedReload")["keep_firing_for"]) == RECENT_SECONDS


def test_the_loop_and_flapping_counts_are_the_ones_health_uses() -> None:
    rules = _rules()
    assert rules["IpsechaReloadLoop"].strip() == f"device:ipsecha_reloads:1h >= {RELOAD_LOOP_COUNT}"
    assert rules["IpsechaRfFlapping"].strip() == f"pair:ipsecha_rf_handovers:1h >= {RF_FLAPPING_COUNT}"


_NAMING = re.compile(r'ipsecha_redundancy_(my|peer)_state(?::\w+)?\s*==\s*(\d+)\s*,\s*"rf_state"\s*,\s*"([^"]+)"')
# A state series (or its fold: `max by (...) (ipsecha_redundancy_peer_state{...})`) compared with a code.
_COMPARISON = re.compile(
    r"ipsecha_redundancy_(my|peer)_state(?::\w+)?(?:\{[^}]*\})?\)?\s*(?:==|!=)\s*(?:bool\s+)?(\d+)"
)


def test_the_rf_codes_the_rules_compare_against_are_the_ones_health_uses() -> None:
    exprs = list(_rules().values())
    # Rules that name the states (label rf_state) use RF_STATE_NAMES's names.
    for expr in exprs:
        for _side, code, name in _NAMING.findall(expr):
            assert RF_STATE_NAMES[int(code)] == name, (code, name)
    # Every other comparison is with ACTIVE or STANDBY HOT: a hub's own state
    # (the RF-active one, the STANDBY HOT one that must hold SA copies) or
    # what it reports of its peer (not STANDBY HOT; ACTIVE for a peer the
    # monitor cannot reach).
    judged = {pair for expr in exprs for pair in _COMPARISON.findall(_NAMING.sub("", expr))}
    assert judged == {
        ("my", str(ACTIVE)),
        ("my", str(STANDBY_HOT)),
        ("peer", str(STANDBY_HOT)),
        ("peer", str(ACTIVE)),
    }
    # The header comment that explains the codes lists them as IOS prints them.
    header = RULES_FILE.read_text(encoding="utf-8").split("groups:")[0]
    for code, name in ((STANDBY_HOT, "STANDBY HOT"), (ACTIVE, "ACTIVE")):
        assert RF_STATE_NAMES[code] == name and f"{code} {name}" in " ".join(header.replace("#", " ").split())
