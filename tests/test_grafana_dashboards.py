"""The Grafana dashboards in dashboards/grafana: current with the script
that writes them, wired to the `$datasource` variable, and reading only
metrics that exist. (tests/test_prometheus_e2e.py runs every expr against
a real Prometheus.)"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from support.dashboards import FLEET, GRAFANA, PAIR, exprs, load, panels
from support.prometheus import metric_names, recorded_rules

from ipsec_ha_monitor.export.metrics import METRICS
from ipsec_ha_monitor.records import HSRP_STATES
from ipsec_ha_monitor.rf_states import RF_STATE_NAMES

BUILD = GRAFANA / "build.py"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
VARIABLE_QUERIES = {
    "pair": 'label_values(ipsecha_device_up{pair!=""}, pair)',
    "device": 'label_values(ipsecha_device_up{pair=~"$pair"}, device)',
}


@pytest.fixture(params=[FLEET, PAIR])
def board(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load(request.param)


def mapping_lists(panel: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    """The panel's value mappings: its defaults' and every override's."""
    yield panel.get("fieldConfig", {}).get("defaults", {}).get("mappings", [])
    for override in panel.get("fieldConfig", {}).get("overrides", []):
        for prop in override["properties"]:
            if prop["id"] == "mappings":
                yield prop["value"]


def value_options(mappings: list[dict[str, Any]]) -> dict[str, str]:
    """code -> text of the `value` mappings."""
    return {code: option["text"] for m in mappings if m["type"] == "value" for code, option in m["options"].items()}


@pytest.mark.integration  # build.py as a process
def test_the_committed_dashboards_are_what_build_writes(tmp_path) -> None:
    for folder in (tmp_path / "first", tmp_path / "second"):
        folder.mkdir()
        subprocess.run([sys.executable, str(BUILD), str(folder)], check=True, cwd=tmp_path)
    for name in (FLEET, PAIR):
        written = (tmp_path / "first" / name).read_bytes()
        assert written == (tmp_path / "second" / name).read_bytes(), f"{name}: build.py is not deterministic"
        assert written == (GRAFANA / name).read_bytes(), f"{name} is stale: run python dashboards/grafana/build.py"
    assert sorted(p.name for p in (tmp_path / "first").iterdir()) == [FLEET, PAIR]


def test_the_dashboards_identify_themselves_and_link_to_each_other() -> None:
    fleet, pair = load(FLEET), load(PAIR)
    assert (fleet["uid"], fleet["title"]) == ("ipsecha-fleet", "IPsec HA: fleet overview")
    assert (pair["uid"], pair["title"]) == ("ipsecha-pair", "IPsec HA: pair detail")
    for board, other in ((fleet, pair), (pair, fleet)):
        assert board["schemaVersion"] == 39
        assert board["editable"] is True
        assert board["time"] == {"from": "now-6h", "to": "now"}
        assert board["refresh"] == "30s"
        assert board["tags"] == ["ipsec-ha-monitor"]
        assert [link["url"] for link in board["links"] if link["type"] == "link"] == [f"/d/{other['uid']}"]


def test_the_variables_are_datasource_pair_and_device(board: dict[str, Any]) -> None:
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert list(variables) == ["datasource", "pair", "device"]
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name, query in VARIABLE_QUERIES.items():
        variable = variables[name]
        assert variable["type"] == "query", name
        assert variable["datasource"] == DATASOURCE, name
        assert variable["query"]["query"] == variable["definition"] == query, name
        assert variable["multi"] is True and variable["includeAll"] is True, name
        assert variable["allValue"] == ".*", name


def test_every_panel_and_query_uses_the_datasource_variable(board: dict[str, Any]) -> None:
    for panel in panels(board):
        assert panel["datasource"] == DATASOURCE, panel["title"]
        for target in panel.get("targets", []):
            assert target["datasource"] == DATASOURCE, (panel["title"], target["refId"])
    for annotation in board["annotations"]["list"]:
        if not annotation.get("builtIn"):
            assert annotation["datasource"] == DATASOURCE, annotation["name"]


def test_panel_ids_are_unique_and_panels_do_not_overlap(board: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in panels(board)]
    assert len(ids) == len(set(ids)), ids
    cells: dict[tuple[int, int], str] = {}
    for panel in board["panels"]:
        pos = panel["gridPos"]
        assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = panel["title"]


def test_rf_value_mappings_name_every_rf_state(board: dict[str, Any]) -> None:
    """Every mapping of RF codes names them all, as RF_STATE_NAMES does; and
    every panel showing an RF state code has such a mapping."""
    expected = {str(code): name for code, name in RF_STATE_NAMES.items()}
    found = 0
    for panel in panels(board):
        rf = [value_options(m) for m in mapping_lists(panel) if "STANDBY HOT" in value_options(m).values()]
        for options in rf:
            assert options == expected, panel["title"]
        found += len(rf)
        reads_rf = any(re.search(r"ipsecha_redundancy_(my|peer)_state\b", t["expr"]) for t in panel.get("targets", []))
        assert rf or not reads_rf, f"{panel['title']!r} shows RF state codes without naming them"
    assert found, "no RF state value mapping"


def test_the_hsrp_timeline_maps_the_codes_its_query_builds() -> None:
    """The HSRP state code is built in PromQL (`state="X"} * code`); the
    mapping must name each code as that state."""
    timelines = [p for p in panels(load(PAIR)) if "ipsecha_hsrp_state{" in json.dumps(p.get("targets"))]
    assert timelines, "no HSRP state panel"
    for panel in timelines:
        codes = {
            code: state
            for target in panel["targets"]
            for state, code in re.findall(r'state="(\w+)"\}\s*\*\s*(\d+)', target["expr"])
        }
        assert set(codes.values()) == set(HSRP_STATES), panel["title"]
        options = value_options(panel["fieldConfig"]["defaults"]["mappings"])
        for code, state in codes.items():
            assert options[code].lower() == state, (panel["title"], code)


def test_the_box_to_box_role_timeline_maps_the_codes_its_query_builds() -> None:
    """The redundancy group role code is built in PromQL like the HSRP one
    (`role="X"} * code`); the mapping names each code as that role, and the
    row shows the group's RF states by name, the priorities against the
    threshold, the control link, the takeovers and the VIP owners."""
    board = list(panels(load(PAIR)))
    timelines = [p for p in board if "ipsecha_rg_role{" in json.dumps(p.get("targets"))]
    assert timelines, "no redundancy group role panel"
    for panel in timelines:
        codes = {
            code: role
            for target in panel["targets"]
            for role, code in re.findall(r'role="(\w+)"\}\s*\*\s*(\d+)', target["expr"])
        }
        assert set(codes.values()) == {"init", "standby", "active"}, panel["title"]
        options = value_options(panel["fieldConfig"]["defaults"]["mappings"])
        for code, role in codes.items():
            assert options[code].lower() == role, (panel["title"], code)
    every = json.dumps([t["expr"] for p in board for t in p.get("targets", [])])
    for metric in (
        "ipsecha_rg_peer_rf_state",
        "ipsecha_rg_runtime_priority",
        "ipsecha_rg_priority",
        "ipsecha_rg_failover_threshold",
        "ipsecha_rg_hello_packets_lost_total",
        "ipsecha_rg_authentication_failures_total",
        "ipsecha_rg_takeovers_total",
        "ipsecha_rg_vip_owned",
    ):
        assert metric + "{" in every, metric
    (rf,) = [p for p in board if "ipsecha_rg_peer_rf_state{" in json.dumps(p.get("targets"))]
    assert any("STANDBY HOT" in value_options(m).values() for m in mapping_lists(rf))


def test_every_metric_an_expr_reads_exists(board: dict[str, Any]) -> None:
    known = set(METRICS) | recorded_rules()  # device series only: the dashboards work over /probe too
    checked = 0
    for where, expr in exprs(board):
        used = metric_names(expr)
        # The alert panels read Prometheus's own ALERTS series (ipsec-ha-monitor's alerts by name).
        assert used or "ALERTS{" in expr, f"{where}: reads no ipsecha metric: {expr}"
        assert used <= known, f"{where}: unknown {sorted(used - known)}"
        checked += 1
    assert checked >= 10


def test_exprs_use_only_pair_and_device_as_regex_matchers(board: dict[str, Any]) -> None:
    allowed = {"pair", "device", "__rate_interval", "__interval", "__range"}
    for where, expr in exprs(board):
        assert set(re.findall(r"\$\{?(\w+)", expr)) <= allowed, (where, expr)
        for name in ("pair", "device"):
            assert expr.count(f"${name}") == expr.count(f'{name}=~"${name}"'), (where, expr)


def test_the_builder_rejects_a_metric_that_does_not_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("grafana_build", BUILD)
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, build)  # its dataclasses look their module up there
    spec.loader.exec_module(build)
    recorded = build.recorded_rules()
    assert build.check_expr('max by (pair, device) (ipsecha_device_up{pair=~"$pair"})', recorded) == []
    assert build.check_expr("ipsecha_no_such_metric", recorded)
    assert build.check_expr("device:ipsecha_no_such_rule:max", recorded)
    assert build.check_expr('ipsecha_device_up{pair="$pair"}', recorded)
    board = build.pair()
    board["panels"][1]["targets"][0]["expr"] = "ipsecha_renamed_metric"
    with pytest.raises(ValueError, match="ipsecha_renamed_metric"):
        build.check(board, recorded)


def test_both_dashboards_show_the_exporter_health_and_the_firing_alerts(board: dict[str, Any]) -> None:
    """An exporter outage reads "Exporter down", never an empty tile; data age
    and the last successful poll are shown; the firing alerts of the selected
    pairs are counted and listed, and those queries always return a series
    (0 or a "none firing" row), so a green tile never hides a firing page
    and "no alerts" is a value, not a blank."""
    by_title = {panel["title"]: panel for panel in panels(board)}
    exporter = by_title["Exporter"]
    assert 'up{job=~"ipsecha.*"}' in exporter["targets"][0]["expr"]
    defaults = exporter["fieldConfig"]["defaults"]
    assert defaults["noValue"] == "Exporter down"
    special = [m for m in defaults["mappings"] if m["type"] == "special"]
    assert special and special[0]["options"]["result"]["text"] == "Exporter down"
    assert value_options(defaults["mappings"]) == {"0": "Scrape failing", "1": "Up"}
    every = json.dumps([t["expr"] for p in panels(board) for t in p.get("targets", [])])
    assert "ipsecha_data_age_seconds" in every
    assert "timestamp(device:ipsecha_device_up:max" in every  # the last successful poll
    alert_exprs = [(where, expr) for where, expr in exprs(board) if "ALERTS{" in expr]
    assert {where.split(" (")[0] for where, _ in alert_exprs} == {
        "Critical alerts firing",
        "Warnings firing",
        "Firing alerts",
    }
    for where, expr in alert_exprs:
        assert 'alertstate="firing"' in expr and 'pair=~"$pair"' in expr, where
        assert 'alertname="IpsechaExporterDown"' in expr, where  # no pair label: shown whatever the filter
        assert expr.rstrip().endswith(("or vector(0)", '"none firing", "", "")')), where
    # The health row comes first: nothing below it can look green while it does not.
    first_row = next(panel for panel in board["panels"] if panel["type"] == "row")
    assert first_row["title"] == "Exporter and alerts"
