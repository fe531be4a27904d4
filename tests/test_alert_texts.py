"""The alert texts read right for every label set the rules can produce.

The rendered annotations come from promtool: every firing case of
ipsecha-rules.test.yml carries the exact text Prometheus renders for it
(`promtool test rules` fails on any difference), so checking those texts
checks what on-call reads. The cases cover alerts with a pair and without
(branch routers, pair=""), series from /metrics and from /probe, and
IpsechaExporterDown from a failing /metrics scrape, failing /probe targets
and absent() (no labels at all). Texts made from labels only are also
rendered here for a wider matrix of label sets. Plus: every alert links to
its runbook section, and the tables the templates repeat (RF state names,
the reload causes) agree with the code and the exprs."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from support.paths import REPO
from support.prometheus import PROMTOOL, RULES_DIR, needs_prometheus, rules

from ipsec_ha_monitor.reloads import RELOAD_CAUSES
from ipsec_ha_monitor.rf_states import RF_STATE_NAMES

RULE_TESTS = RULES_DIR / "ipsecha-rules.test.yml"
RUNBOOKS = REPO / "docs" / "runbooks.md"
# Alerts whose exprs only produce pair labels that are set (they read
# {pair!=""} series or the pair:* rules built from them).
PAIR_ONLY = {
    "IpsechaPeerNotStandbyHot",
    "IpsechaPairSimplex",
    "IpsechaIpcCommunicationsDown",
    "IpsechaNoHsrpActive",
    "IpsechaHsrpSplitBrain",
    "IpsechaHsrpActiveNotRfActive",
    "IpsechaPairNotOneRfActive",
    "IpsechaHsrpPreemptOnStatefulGroup",
    "IpsechaStatefulGroupInconsistent",
    "IpsechaStandbyMissingSaCopies",
    "IpsechaRfFlapping",
    "IpsechaHsrpFlapping",
    "IpsechaRfEventsBetweenPolls",
    # IOS-XE box-to-box: only pairs of mode b2b are polled for redundancy groups.
    "IpsechaRgSplitBrain",
    "IpsechaRgNoActive",
    "IpsechaRgPeerNotStandbyHot",
    "IpsechaRgPeerLost",
    "IpsechaRgDown",
    "IpsechaRgPriorityAtThreshold",
    "IpsechaRgPriorityDecremented",
    "IpsechaRgFlapping",
    "IpsechaRgControlLinkErrors",
    "IpsechaRgVipOnBoth",
    "IpsechaRgPreempted",
}
NO_LABELS = {"IpsechaExporterDown"}  # one alert for the whole setup


def alerts() -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for rule in rules() if "alert" in rule}


def builder() -> Any:
    spec = importlib.util.spec_from_file_location("build_rule_tests", RULES_DIR / "build_rule_tests.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def problems(text: str) -> list[str]:
    """What reads wrong in one rendered annotation."""
    found = []
    if not text.strip():
        found.append("empty")
    if text != text.strip():
        found.append("leading or trailing space")
    for bad in ("()", "( )", "  ", '""', "{{", "<no value>", " ,", " :", ": ,", "(,", "(pair)"):
        if bad in text:
            found.append(f"contains {bad!r}")
    if re.search(r"\(\s*\)|\(pair\s*\)| \.(?!\.)", text):  # an empty value: "(pair )", "R1 ." (not "...")
        found.append("an empty value")
    return found


def firing_cases() -> Iterator[tuple[dict[str, Any], str, dict[str, str], dict[str, str]]]:
    """(test case, alertname, expected labels, expected annotations) of every firing check."""
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for check in case["alert_rule_test"]:
            for expected in check["exp_alerts"]:
                yield case, check["alertname"], expected.get("exp_labels", {}), expected["exp_annotations"]


def test_every_rendered_annotation_reads_right() -> None:
    bad = []
    checked = 0
    for _, name, labels, texts in firing_cases():
        assert set(texts) == set(alerts()[name]["annotations"]), name
        for key, text in texts.items():
            checked += 1
            bad += [f"{name} {labels} {key}: {problem}: {text!r}" for problem in problems(text)]
    assert checked > 80
    assert bad == []


def test_the_firing_cases_cover_every_label_set_the_rules_produce() -> None:
    """With a pair and (for device alerts) without; IpsechaExporterDown from
    /metrics, from /probe and from absent(), each time one alert without
    labels. No alert carries instance or job, so the texts do not depend
    on how Prometheus scrapes (the cases also mix /metrics and /probe)."""
    seen: dict[str, set[str]] = {name: set() for name in alerts()}
    for case, name, labels, _ in firing_cases():
        assert not {"instance", "job"} & set(labels), (name, labels)
        if name in NO_LABELS:
            assert set(labels) == {"alertname", "severity"}, labels
            ups = [s["series"] for s in case["input_series"] if s["series"].startswith("up{")]
            if any('job="ipsecha"' in up for up in ups):
                seen[name].add("metrics")
            elif any('job="ipsecha-replica-' in up for up in ups):
                seen[name].add("probe")
            else:
                seen[name].add("absent")
            firing_now = [c for c in case["alert_rule_test"] if c["alertname"] == name and c["exp_alerts"]]
            assert all(len(c["exp_alerts"]) == 1 for c in firing_now), "IpsechaExporterDown is one alert"
            continue
        seen[name].add("pair" if labels.get("pair") else "no pair")
        device = labels.get("device")
        sources = {
            "metrics" if 'instance="exporter:9477"' in s["series"] else "probe"  # /probe: one instance per device
            for s in case["input_series"]
            if device is None or f'device="{device}"' in s["series"]
        }
        seen[name] |= sources
    wanted = {
        name: {"metrics", "probe", "absent"}
        if name in NO_LABELS
        else {"pair", "metrics"} | (set() if name in PAIR_ONLY else {"no pair"})
        for name in alerts()
    }
    assert {n: wanted[n] - seen[n] for n in alerts() if wanted[n] - seen[n]} == {}
    # Device alerts that fire for branch routers also fire from /probe input.
    for name in set(alerts()) - PAIR_ONLY - NO_LABELS:
        assert "probe" in seen[name], name


@pytest.mark.parametrize("name", sorted(PAIR_ONLY))
def test_pair_only_alerts_read_only_series_with_a_pair(name: str) -> None:
    expr = alerts()[name]["expr"]
    assert 'pair!=""' in expr or re.search(r"\bpair:ipsecha_\w+:\w+", expr) or "stateful_active" in expr, name


BOOT = "2026-11-30T12:34Z"
LABEL_SETS = [
    {
        "pair": "HUB-PAIR-1",
        "device": "R1",
        "peer": "172.16.0.4",
        "interface": "Gi0/0",
        "group": "1",
        "boot": BOOT,
        "vip": "10.0.0.3",  # the box-to-box VIP alert's
    },
    {"pair": "", "device": "R4", "peer": "10.0.0.1", "interface": "Gi0/0", "group": "1", "boot": BOOT},
    {"device": "R4", "peer": "10.0.0.1", "boot": BOOT},  # an empty label is no label
]
SOURCES = [{}, {"instance": "exporter:9477", "job": "ipsecha"}, {"instance": "R4", "job": "ipsecha-replica-1"}]


def test_label_only_texts_read_right_for_every_label_set() -> None:
    """Every annotation made from labels alone, rendered for a hub, a branch
    and a device without the pair label, each as /metrics and /probe would
    label it (the extra labels are dropped by the rules, and unused)."""
    build = builder()
    rendered = 0
    bad = []
    for name, rule in alerts().items():
        for key, template in rule["annotations"].items():
            for labels in LABEL_SETS if name not in NO_LABELS else [{}]:
                if name in PAIR_ONLY and not labels.get("pair"):
                    continue
                for source in SOURCES:
                    try:
                        text = build.render_text(template, 3.0, {**labels, **source})
                    except build.NeedsPrometheus:
                        continue  # rendered by promtool in the firing cases
                    rendered += 1
                    bad += [f"{name} {labels} {key}: {p}: {text!r}" for p in problems(text)]
    assert rendered > 50
    assert bad == []


@pytest.mark.integration
@needs_prometheus
def test_promtool_renders_the_expected_texts() -> None:
    tested = subprocess.run(
        [str(PROMTOOL), "test", "rules", RULE_TESTS.name], cwd=RULES_DIR, capture_output=True, text=True, timeout=120
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def github_anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_alert_links_to_its_runbook_section() -> None:
    anchors = {github_anchor(h) for h in re.findall(r"^#{1,6} (.+)$", RUNBOOKS.read_text(), re.M)}
    for name, rule in alerts().items():
        url = rule["annotations"].get("runbook_url")
        assert url, f"{name} has no runbook_url"
        path, _, anchor = re.sub(r"\{\{[^}]*\}\}", "", url).partition("#")
        assert path == "docs/runbooks.md", (name, url)
        assert anchor == name.lower() and anchor in anchors, (name, url)


def test_every_runbook_section_says_what_to_run_and_do() -> None:
    sections = re.split(r"^## ", RUNBOOKS.read_text(), flags=re.M)[1:]
    by_name = {section.split("\n", 1)[0].strip(): section for section in sections}
    for name in alerts():
        section = by_name[name]
        for part in ("**Means**", "**Normal during a failover**", "**Run**", "**Do**"):
            assert part in section, (name, part)
        assert re.search(r"`show [a-z]", section) or "ipsecha_" in section, name
    text = RUNBOOKS.read_text()
    for command in ("show redundancy states", "show redundancy inter-device", "show standby", "show logging"):
        assert f"`{command}" in text, command
    assert "`show crypto ipsec sa peer <ip>`" in text


def test_the_rf_state_names_of_the_rules_are_the_codes() -> None:
    for record in ("device:ipsecha_redundancy_my_state_named:max", "device:ipsecha_redundancy_peer_state_named:last2m"):
        (rule,) = [r for r in rules() if r.get("record") == record]
        named = {int(code): name for code, name in re.findall(r'== (\d+), "rf_state", "([^"]+)"', rule["expr"])}
        assert named == RF_STATE_NAMES, record


def test_the_reload_texts_name_every_cause() -> None:
    """IpsechaUnexpectedReload's texts tell each cause the exporter writes
    (RELOAD_CAUSES; unknown is the fallback), and the firing cases render
    the text of every cause through promtool: each read right above."""
    rule = alerts()["IpsechaUnexpectedReload"]
    for key in ("summary", "description"):
        named = re.findall(r'eq \$cause "(\w+)"', rule["annotations"][key])
        assert set(named) == set(RELOAD_CAUSES) - {"unknown"}, key
    rendered = set()
    for case, name, labels, _ in firing_cases():
        if name != "IpsechaUnexpectedReload":
            continue
        (info,) = [
            s["series"]
            for s in case["input_series"]
            if s["series"].startswith("ipsecha_reload_info{")
            and f'device="{labels["device"]}"' in s["series"]
            and f'boot="{labels["boot"]}"' in s["series"]
        ]
        rendered.add(re.search(r'cause="(\w+)"', info).group(1))
    assert rendered == set(RELOAD_CAUSES)


def test_exporter_down_is_one_rule() -> None:
    assert [rule["alert"] for rule in rules() if rule.get("alert") == "IpsechaExporterDown"] == ["IpsechaExporterDown"]
    assert re.fullmatch(r"count\(.*\) or absent\(.*\)", alerts()["IpsechaExporterDown"]["expr"].strip())


def test_the_checker_catches_the_faults_it_looks_for() -> None:
    for text in ("scrape failing ()", "data from  (or none)", "R1 (pair )", " lead", "trail ", ""):
        assert problems(text), text
    assert problems("R2 (HUB-PAIR-1): no fresh data") == []


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
