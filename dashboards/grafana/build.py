"""Writes the Grafana dashboards ipsecha-fleet.json and ipsecha-pair.json.

    python dashboards/grafana/build.py [OUTDIR]    (default: this script's folder)

Both dashboards come from this one script so that they share their
variables, value mappings and query conventions. The value mappings are
built from the package's own tables (RF_STATE_NAMES, HSRP_STATES), and every
`ipsecha_*` name an expr reads is checked against METRICS, the exporter's
own metrics and the recording rules in ../prometheus/ipsecha-rules.yml, so a
renamed metric fails here instead of as an empty panel.

Query conventions (tests/test_prometheus_e2e.py runs every expr against a
real Prometheus): device facts are folded with `max by (pair, device, ...)`
and pair facts with `max by (pair, ...)`, which drops `instance` and `job`,
so the panels read the same whether Prometheus scrapes /metrics (one target)
or /probe (one target per device, pair series once per member). The only
variables in exprs are `$pair` and `$device` as regex matchers, plus
Grafana's interval variables.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
if str(REPO) not in sys.path:  # run as a plain script from a checkout: import this checkout's package
    sys.path.insert(0, str(REPO))

from ipsec_ha_monitor.export.metrics import METRICS  # noqa: E402
from ipsec_ha_monitor.health import VERDICT_SEVERITY  # noqa: E402
from ipsec_ha_monitor.records import HSRP_STATES  # noqa: E402
from ipsec_ha_monitor.rf_states import RF_STATE_NAMES  # noqa: E402
from ipsec_ha_monitor.snapshot import Status  # noqa: E402

Json = dict[str, Any]

RULES_FILE = REPO / "dashboards" / "prometheus" / "ipsecha-rules.yml"
FLEET_UID, PAIR_UID = "ipsecha-fleet", "ipsecha-pair"
TAGS = ["ipsec-ha-monitor"]
DATASOURCE: Json = {"type": "prometheus", "uid": "${datasource}"}
ALLOWED_VARIABLES = frozenset({"pair", "device", "__rate_interval", "__interval", "__range"})

# Label matchers. Pair-level panels filter on $pair only: a pair's health does
# not depend on which of its devices the $device picker shows.
PAIR = 'pair=~"$pair"'
PAIRS = 'pair=~"$pair", pair!=""'  # `All` is .*, which would also match branch routers (pair="")
DEVICES = 'pair=~"$pair", device=~"$device"'
HUBS = 'pair=~"$pair", pair!="", device=~"$device"'

# --- value mappings ---------------------------------------------------------

GREEN, BLUE, YELLOW, ORANGE, RED, PURPLE = "green", "blue", "yellow", "orange", "red", "purple"
# Pair verdict as a number, worst highest, so `max` across exporters or
# probe targets keeps the worst verdict any of them reported: a known fault
# outranks an unknown part, critical outranks warning (VERDICT_SEVERITY in
# ipsec_ha_monitor/health.py, as the alerts page them). `degraded`: only warning rules
# failed (preemption configured, IPsec errors rising), yellow as a warning
# alert; `recovering`: critical, every rule holds but a member reloaded
# unexpectedly within the hour (the reload alert still fires), orange;
# `unknown` purple, as Icinga shows UNKNOWN.
VERDICTS = {
    0: ("healthy", GREEN),
    1: ("unknown", PURPLE),
    2: ("degraded", YELLOW),
    3: ("recovering", ORANGE),
    4: ("unhealthy", RED),
}
VERDICT_NOTES = {
    "degraded": " Only warning rules fail (preemption on the stateful group, IPsec errors rising): warning alerts.",
    "recovering": " Every health rule holds, but a hub reloaded unexpectedly within the hour.",
}
if {text for text, _ in VERDICTS.values()} != set(VERDICT_SEVERITY):
    raise SystemExit(f"VERDICTS must name every verdict of ipsec_ha_monitor/health.py: {sorted(VERDICT_SEVERITY)}")
# HSRP state as a number: 1 + its index in HSRP_STATES; 0 when no state is
# set, which the exporter writes for a group IOS shows as "Disabled".
HSRP_CODES = {0: "disabled", **{index + 1: state for index, state in enumerate(HSRP_STATES)}}
HSRP_COLORS = {"active": GREEN, "standby": BLUE, "speak": YELLOW, "listen": YELLOW, "learn": ORANGE, "init": ORANGE}


# Box-to-box redundancy group role (My Role, Peer Role) as a number, built in
# PromQL like the HSRP code: 0 when none of these roles is set (a role IOS
# prints outside them, such as DISABLED).
RG_ROLE_CODES = {0: "other", 1: "init", 2: "standby", 3: "active"}
RG_ROLE_COLORS = {"active": GREEN, "standby": BLUE, "init": ORANGE, "other": RED}


def value_mappings(values: Mapping[int, tuple[str, str]]) -> list[Json]:
    """Grafana value mappings: code -> (text, color)."""
    options = {
        str(code): {"color": color, "index": index, "text": text}
        for index, (code, (text, color)) in enumerate(sorted(values.items()))
    }
    return [{"options": options, "type": "value"}]


def rf_timeline_color(code: int) -> str:
    """ACTIVE and STANDBY HOT are the two good states; the transitional ones
    a booting or failing-over unit walks through get warning colors."""
    name = RF_STATE_NAMES[code]
    if code == 13:
        return GREEN
    if code == 8:
        return BLUE
    if name.startswith("ACTIVE"):  # ACTIVE FAST, DRAIN, PRECONFIG, ...: mid-switchover
        return YELLOW
    if code in (0, 1):  # UNKNOWN, DISABLED
        return RED
    return ORANGE  # INITIALIZATION, NEGOTIATION, STANDBY COLD*: booting or syncing


def rf_mappings(color: Callable[[int], str]) -> list[Json]:
    return value_mappings({code: (name, color(code)) for code, name in RF_STATE_NAMES.items()})


def peer_rf_color(code: int) -> str:
    """Seen from the RF-active unit only STANDBY HOT means a failover now keeps the tunnels."""
    return GREEN if code == 8 else RED


def hsrp_mappings() -> list[Json]:
    names = {code: (state.capitalize(), HSRP_COLORS.get(state, RED)) for code, state in HSRP_CODES.items()}
    return value_mappings(names)


def boolean_mappings(true: str, false: str) -> list[Json]:
    return value_mappings({0: (false, RED), 1: (true, GREEN)})


def thresholds(*steps: tuple[float | None, str]) -> Json:
    """Absolute thresholds; the first step's value is None (the base)."""
    return {"mode": "absolute", "steps": [{"color": color, "value": value} for value, color in steps]}


OK_IF_ZERO = thresholds((None, GREEN), (1, RED))
# Reloads of a device or hand-overs of a pair within the hour: 3 make IpsechaReloadLoop / IpsechaRfFlapping.
RELOADS = HANDOVERS = thresholds((None, GREEN), (1, ORANGE), (3, RED))
DUPLEX = boolean_mappings("Duplex", "Simplex")
UP_DOWN = boolean_mappings("Up", "Down")
DATA_AGE = thresholds((None, GREEN), (90, ORANGE), (300, RED))  # 300 s: IpsechaStaleData's threshold

# --- exprs --------------------------------------------------------------------


def verdict_code(matchers: str) -> str:
    """0 healthy, 1 unknown, 2 degraded, 3 recovering, 4 unhealthy (VERDICTS): each
    verdict series is 1 for the current verdict, and the `or` keeps them all
    (their verdict labels differ)."""
    scaled = " or ".join(
        f'ipsecha_pair_verdict{{{matchers}, verdict="{text}"}}' + (f" * {code}" if code > 1 else "")
        for code, (text, _) in sorted(VERDICTS.items(), reverse=True)
        if code
    )
    return f"max by (pair) ({scaled})"


def on_rf_active(expr: str, matchers: str) -> str:
    """`expr` (by pair, device) kept only on the RF-active member: the unit whose view of the pair counts."""
    return f"{expr} and on (pair, device) (device:ipsecha_rf_active:bool{{{matchers}}} == 1)"


def rf_active_fact(metric: str, matchers: str) -> str:
    """A device metric as the RF-active hub of each pair reports it."""
    return on_rf_active(f"max by (pair, device) ({metric}{{{matchers}}})", matchers)


def expected_peers_on_rf_active(comparison: str, matchers: str) -> str:
    """How many expected branch peers pass `comparison` (e.g. `> bool 0`) on
    the RF-active hub. `bool` makes a peer that fails count 0 instead of
    vanishing, so the sum is 0, not an empty cell, when none passes."""
    sas = f"max by (pair, device, peer) (ipsecha_ipsec_sa_active{{{matchers}}}) {comparison}"
    expected = f"on (pair, device, peer) ipsecha_ipsec_peer_expected{{{matchers}}}"
    kept = on_rf_active(f"({sas})\n  and {expected}\n ", matchers)
    return f"sum by (pair) (\n  {kept}\n)"


def sas_by_role(matchers: str) -> list[tuple[str, str]]:
    """(expr, legend) per pair: the active ESP SAs the RF-active hub holds
    toward its branches, and the standby copies the other hub holds of them.
    Equal when the sync works; the copies at 0 while the SAs are not:
    IpsechaStandbyMissingSaCopies."""
    active = on_rf_active(f"max by (pair, device, peer) (ipsecha_ipsec_sa_active{{{matchers}}})", matchers)
    copies = (
        f"max by (pair, device, peer) (ipsecha_ipsec_sa_standby{{{matchers}}})\n"
        f"  and on (pair, device) (device:ipsecha_rf_active:bool{{{matchers}}} == 0)"
    )
    return [
        (f"sum by (pair) (\n  {active}\n)", "{{pair}} active SAs (RF-active hub)"),
        (f"sum by (pair) (\n  {copies}\n)", "{{pair}} standby copies (standby hub)"),
    ]


def hsrp_state_code(matchers: str) -> str:
    """The HSRP state code of each device's stateful group (the one `scheme
    standby` names): every state series times its code, so the max is the
    code of the one state set to 1, or 0 when none is."""
    states = "\n    or ".join(
        f'ipsecha_hsrp_state{{{matchers}, state="{state}"}} * {code}' for code, state in HSRP_CODES.items() if code
    )
    return (
        f"max by (pair, device) (\n  (\n    {states}\n  )\n"
        f"  and on (pair, group_name) ipsecha_redundancy_stateful_group_info{{{PAIRS}}}\n)"
    )


def rg_role_code(metric: str, matchers: str) -> str:
    """The role code (RG_ROLE_CODES) of each member and group: every role
    series times its code, so the max is the code of the role set to 1."""
    roles = "\n    or ".join(
        f'{metric}{{{matchers}, role="{role}"}} * {code}' for code, role in RG_ROLE_CODES.items() if code
    )
    return f"max by (pair, device, group) (\n  (\n    {roles}\n  )\n)"


def rg_role_mappings() -> list[Json]:
    return value_mappings({code: (role.upper(), RG_ROLE_COLORS[role]) for code, role in RG_ROLE_CODES.items()})


# --- panels -------------------------------------------------------------------


def target(expr: str, legend: str = "", ref: str = "A", *, table: bool = False, instant: bool = False) -> Json:
    """A Prometheus query. Tables ask for one instant per series; graphs for a range."""
    instant = instant or table
    return {
        "datasource": DATASOURCE,
        "editorMode": "code",
        "expr": expr,
        "format": "table" if table else "time_series",
        "instant": instant,
        "legendFormat": legend or "__auto",
        "range": not instant,
        "refId": ref,
    }


def refs(*queries: tuple[str, str]) -> list[Json]:
    """Range targets A, B, ... from (expr, legend) pairs."""
    return [target(expr, legend, chr(ord("A") + n)) for n, (expr, legend) in enumerate(queries)]


def panel(kind: str, title: str, description: str, targets: list[Json], defaults: Json, options: Json) -> Json:
    return {
        "datasource": DATASOURCE,
        "description": description,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options,
        "targets": targets,
        "title": title,
        "type": kind,
    }


def stat(
    title: str,
    description: str,
    targets: list[Json],
    *,
    mappings: list[Json] | None = None,
    steps: Json | None = None,
    unit: str = "none",
    text_mode: str = "auto",
) -> Json:
    """Current value(s), colored by mapping or threshold."""
    for query in targets:
        query.update(instant=True, range=False)  # only the latest value is shown
    defaults = {
        "color": {"mode": "thresholds"},
        "mappings": mappings or [],
        "thresholds": steps or thresholds((None, GREEN)),
        "unit": unit,
    }
    options = {
        "colorMode": "background",
        "graphMode": "none",
        "justifyMode": "auto",
        "orientation": "auto",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "showPercentChange": False,
        "textMode": text_mode,
        "wideLayout": True,
    }
    return panel("stat", title, description, targets, defaults, options)


def timeseries(title: str, description: str, targets: list[Json], *, unit: str, stepped: bool = False) -> Json:
    """Lines per series with a table legend (last, max) to pick out one peer among many."""
    custom = {
        "drawStyle": "line",
        "fillOpacity": 0,
        "lineInterpolation": "stepAfter" if stepped else "linear",
        "lineWidth": 1,
        "showPoints": "never",
        "spanNulls": False,
    }
    defaults = {"color": {"mode": "palette-classic"}, "custom": custom, "min": 0, "unit": unit}
    options = {
        "legend": {"calcs": ["lastNotNull", "max"], "displayMode": "table", "placement": "right", "showLegend": True},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    return panel("timeseries", title, description, targets, defaults, options)


def state_timeline(title: str, description: str, targets: list[Json], mappings: list[Json]) -> Json:
    """One band per series, colored and named by the value mappings."""
    defaults = {
        "color": {"mode": "thresholds"},
        "custom": {"fillOpacity": 80, "lineWidth": 0},
        "mappings": mappings,
        "thresholds": thresholds((None, "text")),
    }
    options = {
        "alignValue": "left",
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},  # the mapped states and colors
        "mergeValues": True,
        "rowHeight": 0.8,
        "showValue": "auto",
        "tooltip": {"mode": "single", "sort": "none"},
    }
    return panel("state-timeline", title, description, targets, defaults, options)


@dataclass(frozen=True)
class Column:
    """One query of a table: its value becomes column `name`, or is hidden
    (name None) when the query only contributes labels (`labels`: label ->
    column name). `mappings`/`steps` color the cells."""

    expr: str
    name: str | None
    unit: str = "none"
    mappings: list[Json] = field(default_factory=list)
    steps: Json | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


def table(title: str, description: str, keys: Mapping[str, str], columns: Sequence[Column], sort_by: str) -> Json:
    """A row per `keys` labels (label -> column name): instant queries in
    table format, merged into one table on their common labels, then
    renamed, ordered and colored. Scales to hundreds of pairs, unlike a
    repeated row per pair."""
    targets = [target(c.expr, ref=chr(ord("A") + n), table=True) for n, c in enumerate(columns)]
    rename = dict(keys)
    hidden = {"Time": True}
    overrides = []
    for query, column in zip(targets, columns, strict=True):
        value = f"Value #{query['refId']}"  # Grafana's name for the value field when a panel has several queries
        rename.update(column.labels)
        if column.name is None:
            hidden[value] = True
            continue
        rename[value] = column.name
        properties: list[Json] = [{"id": "unit", "value": column.unit}]
        if column.mappings or column.steps:
            properties += [
                {"id": "mappings", "value": column.mappings},
                {"id": "thresholds", "value": column.steps or thresholds((None, GREEN))},
                {"id": "color", "value": {"mode": "thresholds"}},
                {"id": "custom.cellOptions", "value": {"type": "color-background"}},
            ]
        overrides.append({"matcher": {"id": "byName", "options": column.name}, "properties": properties})
    order = {name: index for index, name in enumerate(dict.fromkeys([*keys, *rename]))}
    defaults = {"custom": {"align": "auto", "cellOptions": {"type": "auto"}, "inspect": False}, "mappings": []}
    options = {
        "cellHeight": "sm",
        "footer": {"countRows": False, "fields": "", "reducer": ["sum"], "show": False},
        "showHeader": True,
        "sortBy": [{"desc": True, "displayName": sort_by}],
    }
    result = panel("table", title, description, targets, defaults, options)
    result["fieldConfig"]["overrides"] = overrides
    result["transformations"] = [
        {"id": "merge", "options": {}},
        {"id": "organize", "options": {"excludeByName": hidden, "indexByName": order, "renameByName": rename}},
    ]
    return result


def row(title: str) -> Json:
    return {"collapsed": False, "datasource": DATASOURCE, "panels": [], "title": title, "type": "row"}


def layout(items: Sequence[tuple[Json, int, int]]) -> list[Json]:
    """gridPos for (panel, width, height) in reading order: left to right,
    wrapping at 24 columns, a row panel always on a line of its own. Panels
    never overlap; ids are numbered in the same order."""
    panels, x, y, line_height = [], 0, 0, 0
    for number, (item, width, height) in enumerate(items, start=1):
        if item["type"] == "row":
            width, height = 24, 1
        if x + width > 24 or (item["type"] == "row" and x > 0):
            x, y, line_height = 0, y + line_height, 0
        panels.append({**item, "gridPos": {"h": height, "w": width, "x": x, "y": y}, "id": number})
        x, line_height = x + width, max(line_height, height)
    return panels


# --- dashboards -----------------------------------------------------------------


def variables() -> list[Json]:
    """$datasource, then $pair and $device (multi-value, All = .*), as both dashboards share them."""

    def query_variable(name: str, label: str, query: str) -> Json:
        return {
            "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "datasource": DATASOURCE,
            "definition": query,
            "hide": 0,
            "includeAll": True,
            "label": label,
            "multi": True,
            "name": name,
            "options": [],
            "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
            "refresh": 2,  # on time range change: pairs come and go with the inventory
            "regex": "",
            "skipUrlSync": False,
            "sort": 1,
            "type": "query",
        }

    datasource = {
        "current": {},
        "hide": 0,
        "includeAll": False,
        "label": "Data source",
        "multi": False,
        "name": "datasource",
        "options": [],
        "query": "prometheus",
        "refresh": 1,
        "regex": "",
        "skipUrlSync": False,
        "type": "datasource",
    }
    return [
        datasource,
        query_variable("pair", "Pair", 'label_values(ipsecha_device_up{pair!=""}, pair)'),
        query_variable("device", "Device", 'label_values(ipsecha_device_up{pair=~"$pair"}, device)'),
    ]


def dashboard(uid: str, title: str, description: str, panels: list[Json], annotations: list[Json]) -> Json:
    other_uid, other_title = (PAIR_UID, "Pair detail") if uid == FLEET_UID else (FLEET_UID, "Fleet overview")
    builtin = {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }
    link = {
        "asDropdown": False,
        "icon": "dashboard",
        "includeVars": True,  # carry $datasource, $pair and $device across
        "keepTime": True,
        "tags": [],
        "targetBlank": False,
        "title": other_title,
        "tooltip": "",
        "type": "link",
        "url": f"/d/{other_uid}",
    }
    return {
        "annotations": {"list": [builtin, *annotations]},
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,  # shared crosshair: line up an HSRP change with the RF states and traffic
        "id": None,
        "links": [link],
        "panels": panels,
        "refresh": "30s",
        "schemaVersion": 39,
        "tags": TAGS,
        "templating": {"list": variables()},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }


def annotation(name: str, color: str, expr: str, title: str, text: str) -> Json:
    return {
        "datasource": DATASOURCE,
        "enable": True,
        "expr": expr,
        "iconColor": color,
        "name": name,
        "step": "30s",
        "tagKeys": "pair,device",
        "textFormat": text,
        "titleFormat": title,
        "useValueForTime": False,
    }


# --- exporter health and firing alerts ---------------------------------------
#
# Both dashboards open with these, so an exporter outage reads "exporter down"
# instead of empty panels, and a green tile never hides a firing alert.

EXPORTER_JOBS = 'job=~"ipsecha.*"'  # as IpsechaExporterDown (and the example configs) name the scrape jobs
FIRING = 'alertstate="firing", alertname=~"Ipsecha.*"'


def exporter_stat() -> Json:
    """1 while every ipsecha* scrape succeeds and device data arrives, 0 while
    a scrape fails; no data (no scrape job, or no device series at all) reads
    as down too, never as an empty tile."""
    down = "Exporter down"
    item = stat(
        "Exporter",
        'Whether Prometheus scrapes ipsec-ha-monitor: every `up{job=~"ipsecha.*"}` target answers and '
        "`ipsecha_device_up` series arrive. Down or no data: every other panel is blank or stale and no IPsec HA "
        "alert can fire (IpsechaExporterDown pages after 5 minutes).",
        [target(f"min(up{{{EXPORTER_JOBS}}}) and on () count(ipsecha_device_up)")],
        mappings=[
            *value_mappings({0: ("Scrape failing", RED), 1: ("Up", GREEN)}),
            {"options": {"match": "null+nan", "result": {"color": RED, "index": 2, "text": down}}, "type": "special"},
        ],
        steps=thresholds((None, RED), (1, GREEN)),
    )
    item["fieldConfig"]["defaults"]["noValue"] = down
    return item


def firing_alerts(pair_matchers: str, extra: str = "") -> str:
    """Firing ipsec-ha-monitor alerts of the selected pairs, and
    IpsechaExporterDown, which has no pair label, whatever the pair filter."""
    return (
        f"ALERTS{{{FIRING}, {pair_matchers}{extra}}}"
        f' or ALERTS{{alertstate="firing", alertname="IpsechaExporterDown"{extra}}}'
    )


def severity_matcher(severity: str) -> str:
    return f', severity="{severity}"'


def alert_stats(pair_matchers: str) -> list[Json]:
    """Firing critical alerts and warnings as counts: `or vector(0)` makes
    "none" a green 0 rather than no data."""
    return [
        stat(
            f"{title} firing",
            f"ipsec-ha-monitor {title.lower()} firing now for the selected pairs (and IpsechaExporterDown): the "
            "`ALERTS` series Prometheus keeps. Nonzero: see Firing alerts.",
            [target(f"count({firing_alerts(pair_matchers, severity_matcher(severity))}) or vector(0)")],
            steps=thresholds((None, GREEN), (1, color)),
        )
        for title, severity, color in (("Critical alerts", "critical", RED), ("Warnings", "warning", ORANGE))
    ]


def alert_table(pair_matchers: str) -> Json:
    """One row per firing alert; a single "none firing" row when there is none."""
    none = 'label_replace(vector(0), "alertname", "none firing", "", "")'
    item = table(
        "Firing alerts",
        "ipsec-ha-monitor alerts firing now for the selected pairs (and IpsechaExporterDown), from Prometheus's "
        "`ALERTS` series; each alert's runbook is in docs/runbooks.md.",
        {"alertname": "Alert", "severity": "Severity", "pair": "Pair", "device": "Device"},
        [Column(f"max by (alertname, severity, pair, device) ({firing_alerts(pair_matchers)})\nor on () {none}", None)],
        sort_by="Severity",
    )
    item["options"]["sortBy"][0]["desc"] = False  # critical first
    return item


def last_good_poll(matchers: str) -> str:
    """Seconds since each device's last successful poll (device_up 1), at
    one-minute resolution over the last 6 hours; absent for a device not
    polled successfully in that time."""
    return (
        "time() - max by (pair, device) (\n"
        f"  max_over_time(timestamp(device:ipsecha_device_up:max{{{matchers}}} == 1)[6h:1m])\n)"
    )


LAST_GOOD_POLL = thresholds((None, GREEN), (180, ORANGE), (600, RED))  # 600 s: IpsechaDeviceNotPolled's for:


def fleet() -> Json:
    code = verdict_code(PAIRS)
    pair_link = {
        "title": "Pair detail: ${__value.raw}",
        "url": "/d/ipsecha-pair?var-pair=${__value.raw}&${datasource:queryparam}&${__url_time_range}",
    }
    pairs = table(
        "Pairs",
        "One row per pair, worst verdict first (degraded: only warning rules fail, such as preemption on the "
        "stateful group or IPsec errors rising; recovering: healthy again, but a hub reloaded unexpectedly within "
        "the hour). Redundancy columns are read on the RF-active hub. Branch SAs: expected branch peers with an "
        "active ESP SA on the RF-active hub; without standby copy: branch peers whose SAs the STANDBY HOT hub holds "
        "no copy of. RF hand-overs: switchovers within the hour (3: IpsechaRfFlapping). Since reload: the lower "
        "uptime of the two hubs, with that hub's last reload cause and reason. Click a pair for its detail "
        "dashboard.",
        {"pair": "Pair"},
        [
            Column(code, "Verdict", mappings=value_mappings(VERDICTS)),
            Column(
                f"max by (pair, device) (device:ipsecha_rf_active:bool{{{PAIRS}}} == 1)",
                None,
                labels={"device": "RF active"},
            ),
            Column(
                rf_active_fact("ipsecha_redundancy_peer_state", PAIRS),
                "Peer state",
                mappings=rf_mappings(peer_rf_color),
            ),
            Column(rf_active_fact("ipsecha_redundancy_duplex", PAIRS), "Mode", mappings=DUPLEX),
            Column(rf_active_fact("ipsecha_redundancy_communications_up", PAIRS), "Communications", mappings=UP_DOWN),
            Column(
                f"pair:ipsecha_hsrp_active_members:sum{{{PAIRS}}}",
                "HSRP active",
                steps=thresholds((None, RED), (1, GREEN), (2, RED)),  # exactly one
            ),
            Column(expected_peers_on_rf_active("> bool 0", PAIRS), "Branch SAs"),
            Column(
                f"count by (pair) (max by (pair, peer) (ipsecha_ipsec_peer_expected{{{PAIRS}}}))", "Expected branches"
            ),
            Column(expected_peers_on_rf_active("== bool 0", PAIRS), "Branches without SA", steps=OK_IF_ZERO),
            Column(
                f"count by (pair) (device_peer:ipsecha_ipsec_sa_standby_missing:count{{{PAIRS}}})\n"
                f"or on (pair) 0 * count by (pair) (device:ipsecha_device_up:max{{{PAIRS}}})",
                "Branches without standby copy",
                steps=OK_IF_ZERO,
            ),
            Column(f"pair:ipsecha_rf_handovers:1h{{{PAIRS}}}", "RF hand-overs (1h)", steps=HANDOVERS),
            Column(
                f"min by (pair) (device:ipsecha_uptime_seconds:max{{{PAIRS}}})",
                "Since reload",
                unit="dtdurations",
                steps=thresholds((None, ORANGE), (3600, GREEN)),
            ),
            # The cause and reason of the hub with the lower uptime; topk picks one when both hubs share it.
            Column(
                f"topk by (pair) (1, max by (pair, cause, reason) (\n  ipsecha_reload_info{{{PAIRS}}}\n"
                "  and on (pair, device) (\n"
                f"    device:ipsecha_uptime_seconds:max{{{PAIRS}}}\n"
                f"    == on (pair) group_left min by (pair) (device:ipsecha_uptime_seconds:max{{{PAIRS}}})\n"
                "  )\n))",
                None,
                labels={"cause": "Reload cause", "reason": "Reload reason"},
            ),
            Column(
                f"sum by (pair) (device:ipsecha_device_up:max{{{PAIRS}}})",
                "Hubs polled",
                steps=thresholds((None, RED), (2, GREEN)),
            ),
            Column(f"max by (pair) (ipsecha_data_age_seconds{{{PAIRS}}})", "Data age", unit="s", steps=DATA_AGE),
        ],
        sort_by="Verdict",
    )
    pairs["fieldConfig"]["overrides"].append(
        {"matcher": {"id": "byName", "options": "Pair"}, "properties": [{"id": "links", "value": [pair_link]}]}
    )
    devices = table(
        "Devices",
        "Every polled device (hubs and branch routers): whether its last poll worked, how old and slow it was, "
        "how many commands failed, its reloads within the hour (3: IpsechaReloadLoop) and the cause and reason of "
        "its last one.",
        {"pair": "Pair", "device": "Device"},
        [
            Column(f"device:ipsecha_device_up:max{{{DEVICES}}}", "Polled", mappings=UP_DOWN),
            Column(
                f"sum by (pair, device) (1 - max by (pair, device, command) (ipsecha_command_success{{{DEVICES}}}))",
                "Failed commands",
                steps=OK_IF_ZERO,
            ),
            Column(
                f"max by (pair, device) (ipsecha_data_age_seconds{{{DEVICES}}})", "Data age", unit="s", steps=DATA_AGE
            ),
            Column(last_good_poll(DEVICES), "Since last good poll", unit="s", steps=LAST_GOOD_POLL),
            Column(f"max by (pair, device) (ipsecha_poll_duration_seconds{{{DEVICES}}})", "Poll duration", unit="s"),
            Column(f"device:ipsecha_uptime_seconds:max{{{DEVICES}}}", "Uptime", unit="dtdurations"),
            Column(f"device:ipsecha_reloads:1h{{{DEVICES}}}", "Reloads (1h)", steps=RELOADS),
            Column(
                f"max by (pair, device, cause, reason) (ipsecha_reload_info{{{DEVICES}}})",
                None,
                labels={"cause": "Reload cause", "reason": "Reload reason"},
            ),
        ],
        sort_by="Failed commands",
    )
    by_verdict = timeseries(
        "Pairs by verdict",
        "How many pairs had each verdict over time.",
        refs(*((f"sum({code} == bool {n})", text) for n, (text, _) in VERDICTS.items())),
        unit="none",
        stepped=True,
    )
    by_verdict["fieldConfig"]["overrides"] = [
        {
            "matcher": {"id": "byName", "options": text},
            "properties": [{"id": "color", "value": {"fixedColor": color, "mode": "fixed"}}],
        }
        for text, color in VERDICTS.values()
    ]
    # Healthy pairs are always green; any other verdict colors its total in the verdict's color.
    totals = [
        stat(
            f"Pairs {text}",
            f"Pairs whose verdict is {text}." + VERDICT_NOTES.get(text, ""),
            [target(f"sum({code} == bool {n})")],
            steps=thresholds((None, GREEN), (1, color)) if n else thresholds((None, GREEN)),
        )
        for n, (text, color) in VERDICTS.items()
    ]
    device_totals = [
        stat(
            "Devices not polled",
            "Devices whose last poll failed (unreachable, auth, a command that failed).",
            [target(f"sum(device:ipsecha_device_up:max{{{DEVICES}}} == bool 0)")],
            steps=OK_IF_ZERO,
        ),
        stat(
            "Devices with stale data",
            "Devices whose latest poll is older than 5 minutes.",
            [target(f"sum(max by (pair, device) (ipsecha_data_age_seconds{{{DEVICES}}}) > bool 300)")],
            steps=OK_IF_ZERO,
        ),
        stat(
            "Devices reloaded (1h)",
            "Devices back from a reload within the last hour (their boot time moved forward).",
            [target(f"sum(device:ipsecha_rebooted:1h{{{DEVICES}}})")],
            steps=thresholds((None, GREEN), (1, ORANGE)),
        ),
    ]
    health = [
        exporter_stat(),
        stat(
            "Oldest data",
            "Age of the oldest device data the exporter serves (selected pairs); above 300 s IpsechaStaleData fires. "
            "No data: the exporter is down or not scraped.",
            [target(f"max(ipsecha_data_age_seconds{{{DEVICES}}})")],
            steps=DATA_AGE,
            unit="s",
        ),
        *alert_stats(PAIR),
    ]
    panels = [
        (row("Exporter and alerts"), 24, 1),
        *((item, 4, 4) for item in health),
        (alert_table(PAIR), 8, 4),
        (row("Fleet"), 24, 1),
        *((item, 3, 4) for item in totals),
        *((item, 3, 4) for item in device_totals),
        (pairs, 24, 12),
        (by_verdict, 24, 7),
        (row("Devices"), 24, 1),
        (devices, 24, 10),
    ]
    return dashboard(
        FLEET_UID,
        "IPsec HA: fleet overview",
        "Health of every IPsec stateful failover hub pair (HSRP + SSO inter-device redundancy).",
        layout(panels),
        [],
    )


def pair() -> Json:
    status = [
        stat(
            "Verdict",
            "The exporter's verdict for the pair (`ipsec-ha-monitor check` lists the failing rules): healthy, "
            "unknown (not every rule could be judged), degraded (only warning rules fail: their alerts are "
            "warnings), recovering (every rule holds, but a hub reloaded unexpectedly within the hour: "
            "IpsechaUnexpectedReload still fires, critical) or unhealthy (a critical rule fails).",
            [target(verdict_code(PAIRS), "{{pair}}")],
            mappings=value_mappings(VERDICTS),
        ),
        stat(
            "RF active",
            "The hub that is RF ACTIVE and holds the IPsec state.",
            [target(f"max by (pair, device) (device:ipsecha_rf_active:bool{{{PAIRS}}} == 1)", "{{device}}")],
            text_mode="name",
        ),
        stat(
            "HSRP active",
            "The hub that is HSRP active on the stateful group and owns the tunnels' virtual IP.",
            [target(f"max by (pair, device) (device:ipsecha_hsrp_stateful_active:max{{{PAIRS}}} == 1)", "{{device}}")],
            text_mode="name",
        ),
        stat(
            "Peer state",
            "The standby's RF state as the RF-active hub reports it: anything but STANDBY HOT and a failover now "
            "drops the tunnels.",
            [target(rf_active_fact("ipsecha_redundancy_peer_state", PAIRS), "{{device}}")],
            mappings=rf_mappings(peer_rf_color),
        ),
        stat(
            "Mode",
            "Redundancy mode on the RF-active hub.",
            [target(rf_active_fact("ipsecha_redundancy_duplex", PAIRS), "{{device}}")],
            mappings=DUPLEX,
        ),
        stat(
            "Communications",
            "RF communications (the IPC link to the peer) on the RF-active hub.",
            [target(rf_active_fact("ipsecha_redundancy_communications_up", PAIRS), "{{device}}")],
            mappings=UP_DOWN,
        ),
    ]
    rules = stat(
        "Health rules",
        "Each health rule the exporter judges for the pair (absent while it cannot be judged).",
        [target(f"min by (pair, rule) (ipsecha_pair_rule_ok{{{PAIRS}}})", "{{rule}}")],  # min: a failure wins
        mappings=value_mappings({0: ("FAIL", RED), 1: ("OK", GREEN)}),
        text_mode="value_and_name",
    )
    changes = stat(
        "RF hand-overs (1h)",
        "Hand-overs of the RF-active role within the last hour, one per switchover or failover; 3 raise "
        "IpsechaRfFlapping.",
        [target(f"pair:ipsecha_rf_handovers:1h{{{PAIRS}}}", "{{pair}}")],
        steps=HANDOVERS,
    )
    uptime = stat(
        "Uptime",
        "Since each hub's last reload (show version; minute resolution).",
        [target(f"device:ipsecha_uptime_seconds:max{{{HUBS}}}", "{{device}}")],
        unit="dtdurations",
        steps=thresholds((None, RED), (3600, BLUE)),
        text_mode="value_and_name",
    )
    hsrp = state_timeline(
        "HSRP state (stateful group)",
        "HSRP state of the group `scheme standby` names, per hub. One Active and one Standby is the goal.",
        refs((hsrp_state_code(HUBS), "{{device}}")),
        hsrp_mappings(),
    )
    my_state = state_timeline(
        "RF state",
        "Each hub's own Redundancy Facility state (show redundancy states: my state).",
        refs((f"max by (pair, device) (ipsecha_redundancy_my_state{{{HUBS}}})", "{{device}}")),
        rf_mappings(rf_timeline_color),
    )
    peer_state = state_timeline(
        "RF peer state",
        "The peer's RF state as each hub reports it (show redundancy states: peer state).",
        refs((f"max by (pair, device) (ipsecha_redundancy_peer_state{{{HUBS}}})", "{{device}}")),
        rf_mappings(rf_timeline_color),
    )
    link = state_timeline(
        "Redundancy mode and communications",
        "Mode (Duplex/Simplex) and RF communications as each hub reports them.",
        refs(
            (f"max by (pair, device) (ipsecha_redundancy_duplex{{{HUBS}}})", "{{device}} mode"),
            (f"max by (pair, device) (ipsecha_redundancy_communications_up{{{HUBS}}})", "{{device}} communications"),
        ),
        boolean_mappings("Duplex", "Simplex"),
    )
    link["fieldConfig"]["overrides"] = [
        {
            "matcher": {"id": "byFrameRefID", "options": "B"},
            "properties": [{"id": "mappings", "value": boolean_mappings("Up", "Down")}],
        }
    ]
    syslog = timeseries(
        "Syslog: redundancy messages within 10 minutes",
        "HSRP, RF, reload and IPsec messages each hub sent within the last 10 minutes, by mnemonic "
        "(serve --syslog.listen-address; empty without it): what happened between two polls, such as an HSRP "
        "group that flaps or a peer that fell back and walked up to STANDBY HOT again.",
        refs(
            (
                f'device_mnemonic:ipsecha_syslog_messages:10m{{{HUBS}, mnemonic!="other"}} > 0',
                "{{device}} {{mnemonic}}",
            )
        ),
        unit="short",
        stepped=True,
    )
    peer_series = "max by (pair, device, peer) (rate({metric}{{" + HUBS + "}}[$__rate_interval]))"
    traffic = timeseries(
        "IPsec packets per branch peer",
        "Packets encrypted toward (up) and decrypted from (down) each branch peer, per hub. Only the RF-active "
        "hub should carry traffic.",
        refs(
            (peer_series.format(metric="ipsecha_ipsec_packets_encrypted_total"), "{{device}} → {{peer}}"),
            (peer_series.format(metric="ipsecha_ipsec_packets_decrypted_total"), "{{device}} ← {{peer}}"),
        ),
        unit="pps",
    )
    traffic["fieldConfig"]["defaults"].pop("min")  # decrypted packets are drawn below zero
    traffic["fieldConfig"]["overrides"] = [
        {
            "matcher": {"id": "byFrameRefID", "options": "B"},
            "properties": [{"id": "custom.transform", "value": "negative-Y"}],
        }
    ]
    errors = timeseries(
        "IPsec errors per branch peer",
        "Send and receive errors per branch peer (replay, decrypt and verify failures, ...).",
        refs(
            (peer_series.format(metric="ipsecha_ipsec_send_errors_total"), "{{device}} → {{peer}} send"),
            (peer_series.format(metric="ipsecha_ipsec_receive_errors_total"), "{{device}} ← {{peer}} receive"),
        ),
        unit="pps",
    )
    reloads = table(
        "Reloads",
        "Each hub's current boot: uptime, reloads within the last hour (3: IpsechaReloadLoop), and the cause of "
        "its last reload (operator, rf_self_reload, crash, power, unknown: from its log where it kept the reload "
        "message, else from `show version`), with `show version`'s reason and when the boot began.",
        {"device": "Hub"},
        [
            Column(f"device:ipsecha_uptime_seconds:max{{{HUBS}}}", "Uptime", unit="dtdurations"),
            Column(f"device:ipsecha_reloads:1h{{{HUBS}}}", "Reloads (1h)", steps=RELOADS),
            Column(
                f"max by (pair, device, cause, reason, boot) (ipsecha_reload_info{{{HUBS}}})",
                None,
                labels={"cause": "Cause", "reason": "Reason", "boot": "Boot (UTC)", "pair": "Pair"},
            ),
        ],
        sort_by="Reloads (1h)",
    )
    sync = timeseries(
        "Active SAs vs standby copies",
        "Per pair: the active ESP SAs the RF-active hub holds toward its branches, and the standby copies of "
        "them the other hub holds. Equal while the SA sync works; copies missing on a STANDBY HOT hub for 5 "
        "minutes raise IpsechaStandbyMissingSaCopies.",
        refs(*sas_by_role(HUBS)),
        unit="none",
        stepped=True,
    )
    copies = timeseries(
        "Standby SA copies per branch peer",
        "Standby copies of the ESP SAs (Status STANDBY in show crypto ipsec sa) each hub holds toward each "
        "branch peer: the standby hub should hold as many as the RF-active hub holds active.",
        refs((f"max by (pair, device, peer) (ipsecha_ipsec_sa_standby{{{HUBS}}})", "{{device}} ⇢ {{peer}}")),
        unit="none",
        stepped=True,
    )
    sas = timeseries(
        "Active SAs per branch peer",
        "Active inbound+outbound ESP SAs toward each branch peer: 0 on the RF-active hub means that branch is down.",
        refs((f"max by (pair, device, peer) (ipsecha_ipsec_sa_active{{{HUBS}}})", "{{device}} → {{peer}}")),
        unit="none",
        stepped=True,
    )
    isakmp = timeseries(
        "ISAKMP SAs by state",
        "IKE SAs per hub, state and status (QM_IDLE is established; status standby: the STDBY copies on the "
        "standby hub, empty where IOS prints no status column).",
        refs(
            (
                f"max by (pair, device, state, status) (ipsecha_isakmp_sas{{{HUBS}}})",
                "{{device}} {{state}} {{status}}",
            )
        ),
        unit="none",
        stepped=True,
    )
    device_up = state_timeline(
        "Device polled",
        "Whether each hub's poll reached it and every command ran and parsed.",
        refs((f"device:ipsecha_device_up:max{{{HUBS}}}", "{{device}}")),
        boolean_mappings("Up", "Down"),
    )
    commands = state_timeline(
        "Command success",
        "Each show command of the last poll: OK, or failed (the Command status table says why).",
        refs((f"max by (pair, device, command) (ipsecha_command_success{{{HUBS}}})", "{{device}} {{command}}")),
        boolean_mappings("OK", "Failed"),
    )
    duration = timeseries(
        "Poll duration",
        "Wall time of each hub's last poll.",
        refs((f"max by (pair, device) (ipsecha_poll_duration_seconds{{{HUBS}}})", "{{device}}")),
        unit="s",
    )
    age = timeseries(
        "Data age",
        "Seconds since each hub's last poll ended; above 300 s IpsechaStaleData fires.",
        refs((f"max by (pair, device) (ipsecha_data_age_seconds{{{HUBS}}})", "{{device}}")),
        unit="s",
    )
    command_status = table(
        "Command status",
        f"Outcome of each command in the last poll: {', '.join(status.value for status in Status)}.",
        {"device": "Device", "command": "Command"},
        [
            Column(
                f"max by (pair, device, command, status) (ipsecha_command_status{{{HUBS}}})",
                None,
                labels={"status": "Status", "pair": "Pair"},
            ),
            Column(
                f"max by (pair, device, command) (ipsecha_command_success{{{HUBS}}})",
                "OK",
                mappings=boolean_mappings("OK", "Failed"),
            ),
        ],
        sort_by="OK",
    )
    command_status["options"]["sortBy"][0]["desc"] = False  # failures first
    health = [
        exporter_stat(),
        *alert_stats(PAIRS),
        stat(
            "Data age",
            "Seconds since each hub's last poll ended; above 300 s IpsechaStaleData fires. No data: the exporter is "
            "down or not scraped.",
            [target(f"max by (pair, device) (ipsecha_data_age_seconds{{{HUBS}}})", "{{device}}")],
            steps=DATA_AGE,
            unit="s",
            text_mode="value_and_name",
        ),
        stat(
            "Since last good poll",
            "Seconds since each hub's last successful poll (every command ran and parsed), at one-minute "
            "resolution; IpsechaDeviceNotPolled fires after 10 minutes.",
            [target(last_good_poll(HUBS), "{{device}}")],
            steps=LAST_GOOD_POLL,
            unit="s",
            text_mode="value_and_name",
        ),
    ]
    box_to_box = b2b_panels()
    panels = [
        (row("Exporter and alerts"), 24, 1),
        *((item, 3, 4) for item in health),
        (alert_table(PAIRS), 9, 4),
        (row("Pair status"), 24, 1),
        *((item, 4, 4) for item in status),
        (rules, 16, 5),
        (changes, 4, 5),
        (uptime, 4, 5),
        (reloads, 24, 5),
        (row("HSRP and redundancy"), 24, 1),
        (hsrp, 12, 7),
        (my_state, 12, 7),
        (peer_state, 12, 7),
        (link, 12, 7),
        (syslog, 24, 7),
        (row("Box-to-box redundancy groups (IOS-XE)"), 24, 1),
        *box_to_box,
        (row("IPsec"), 24, 1),
        (traffic, 12, 8),
        (errors, 12, 8),
        (sas, 12, 8),
        (copies, 12, 8),
        (sync, 12, 8),
        (isakmp, 12, 8),
        (row("Polling"), 24, 1),
        (device_up, 12, 8),
        (commands, 12, 8),
        (duration, 8, 7),
        (age, 8, 7),
        (command_status, 8, 7),
    ]
    # Reload: the recording rule's "uptime below the one seen before" (steady
    # across exporter restarts and replica moves; every reload, a second one
    # within the hour too), marked for the 2 minutes after the first poll
    # that shows it; the offset copy ends the mark.
    reloaded = f"device:ipsecha_reloaded:5m{{{PAIRS}}}"
    reload = (
        f"max by (pair, device, cause, reason) (ipsecha_reload_info{{{PAIRS}}})\n"
        f"and on (pair, device) ({reloaded} == 1)\n"
        f"unless on (pair, device) ({reloaded} offset 2m == 1)"
    )
    # Switchover: the hub that became RF ACTIVE within the last 2 minutes.
    # Both annotations' values are 1 (the left-hand side's), which every
    # Grafana version takes as "event here".
    switchover = (
        f"device:ipsecha_rf_active:bool{{{PAIRS}}} == 1\n"
        f"and on (pair, device) (changes(device:ipsecha_rf_active:bool{{{PAIRS}}}[2m]) > 0)"
    )
    annotations = [
        annotation(
            "Reloads", RED, reload, "{{device}} reloaded", "{{pair}}: {{device}} reloaded ({{cause}}: {{reason}})"
        ),
        annotation(
            "Switchovers", ORANGE, switchover, "Switchover to {{device}}", "{{pair}}: {{device}} became RF ACTIVE"
        ),
    ]
    return dashboard(
        PAIR_UID,
        "IPsec HA: pair detail",
        "One IPsec stateful failover hub pair: HSRP and RF states over time, switchovers and reloads, "
        "per-branch IPsec traffic and SAs, and polling health; for an IOS-XE box-to-box pair, its redundancy "
        "groups.",
        layout(panels),
        annotations,
    )


def b2b_panels() -> list[tuple[Json, int, int]]:
    """The IOS-XE box-to-box row of the pair dashboard (pairs of mode b2b;
    empty for a classic pair): per redundancy group and member, the roles,
    RF states, priorities against the inventory's failover threshold, the
    control link, the takeovers the exporter counted and who owns the VIPs."""
    group_legend = "{{device}} group {{group}}"
    roles = state_timeline(
        "Group role",
        "My Role of each member in each redundancy group (show redundancy application group all). One ACTIVE and "
        "one STANDBY per group is the goal; both ACTIVE is a split brain (IpsechaRgSplitBrain), none ACTIVE while "
        "both answer IpsechaRgNoActive.",
        refs((rg_role_code("ipsecha_rg_role", HUBS), group_legend)),
        rg_role_mappings(),
    )
    rf = state_timeline(
        "Group RF state and peer RF state",
        "Each member's RF state in the group and its peer's as it reports it. The ACTIVE member's peer should be "
        "STANDBY HOT: otherwise past the reload timer IpsechaRgPeerNotStandbyHot fires.",
        refs(
            (f"max by (pair, device, group) (ipsecha_rg_rf_state{{{HUBS}}})", group_legend),
            (f"max by (pair, device, group) (ipsecha_rg_peer_rf_state{{{HUBS}}})", "{{device}} group {{group}} peer"),
        ),
        rf_mappings(rf_timeline_color),
    )
    peer = state_timeline(
        "Peer presence, communication and control interface",
        "Peer Presence, Peer Comm and the control interface (Ctrl Intf(s) state) as each member reports them: any "
        "of them down raises IpsechaRgPeerLost.",
        refs(
            (f"max by (pair, device, group) (ipsecha_rg_peer_present{{{HUBS}}})", "{{device}} group {{group}} present"),
            (f"max by (pair, device, group) (ipsecha_rg_peer_comm{{{HUBS}}})", "{{device}} group {{group}} comm"),
            (
                f"max by (pair, device, group) (ipsecha_rg_control_interface_up{{{HUBS}}})",
                "{{device}} group {{group}} control interface",
            ),
        ),
        boolean_mappings("Up", "Down"),
    )
    priority = timeseries(
        "Runtime vs configured priority",
        "Each member's runtime priority (the configured one less the decrements of tracked objects that are down), "
        "its configured priority, and the inventory's failover threshold for the group. Runtime below configured "
        "raises IpsechaRgPriorityDecremented; at or below the threshold IpsechaRgPriorityAtThreshold.",
        refs(
            (
                f"max by (pair, device, group) (ipsecha_rg_runtime_priority{{{HUBS}}})",
                "{{device}} group {{group}} runtime",
            ),
            (f"max by (pair, device, group) (ipsecha_rg_priority{{{HUBS}}})", "{{device}} group {{group}} configured"),
            (f"max by (pair, group) (ipsecha_rg_failover_threshold{{{PAIRS}}})", "group {{group}} failover threshold"),
        ),
        unit="none",
        stepped=True,
    )
    link = timeseries(
        "Control link: hellos lost and authentication failures",
        "Hello packets lost on the group's control link (each side's Pkt Loss) and hellos failing authentication, "
        "per interval: any rise raises IpsechaRgControlLinkErrors for 10 minutes.",
        refs(
            (
                "max by (pair, device, group, side) "
                f"(increase(ipsecha_rg_hello_packets_lost_total{{{HUBS}}}[$__rate_interval]))",
                "{{device}} group {{group}} lost ({{side}})",
            ),
            (
                "max by (pair, device, group) "
                f"(increase(ipsecha_rg_authentication_failures_total{{{HUBS}}}[$__rate_interval]))",
                "{{device}} group {{group}} auth failures",
            ),
        ),
        unit="short",
        stepped=True,
    )
    takeovers = stat(
        "Takeovers (1h)",
        "Takeovers of the ACTIVE role within the last hour, per group and cause, as the exporter saw them (fault, "
        "peer_lost, preempt, unknown). A preempt raises IpsechaRgPreempted; role changes plus fault switchovers "
        "reaching 3 within the hour IpsechaRgFlapping.",
        [
            target(
                f"round(max by (pair, group, cause) (increase(ipsecha_rg_takeovers_total{{{PAIRS}}}[1h])))",
                "group {{group}} {{cause}}",
            )
        ],
        steps=HANDOVERS,
        text_mode="value_and_name",
    )
    vips = state_timeline(
        "VIP ownership",
        "Which member answers for each virtual IP of each group (`no shut` in show redundancy application if-mgr "
        "group): one owner per VIP; both is IpsechaRgVipOnBoth.",
        refs(
            (
                f"max by (pair, device, group, vip) (ipsecha_rg_vip_owned{{{HUBS}}})",
                "{{device}} group {{group}} {{vip}}",
            )
        ),
        value_mappings({0: ("shut", BLUE), 1: ("owner", GREEN)}),
    )
    return [
        (roles, 12, 7),
        (rf, 12, 7),
        (peer, 12, 7),
        (vips, 12, 7),
        (priority, 12, 8),
        (link, 12, 8),
        (takeovers, 24, 4),
    ]


# --- checks -------------------------------------------------------------------


def recorded_rules(path: Path = RULES_FILE) -> set[str]:
    data = yaml.safe_load(path.read_text())
    return {rule["record"] for group in data["groups"] for rule in group["rules"] if "record" in rule}


def queries(board: Json) -> Iterator[tuple[str, str]]:
    """(where, expr) of every target and annotation."""
    for item in board["panels"]:
        for query in item.get("targets", []):
            yield f"panel {item['title']!r} ({query['refId']})", query["expr"]
    for item in board["annotations"]["list"]:
        if "expr" in item:
            yield f"annotation {item['name']!r}", item["expr"]


def check_expr(expr: str, recorded: set[str]) -> list[str]:
    """What is wrong with `expr`: unknown metrics or rules, variables other
    than the allowed ones, $pair/$device other than as regex matchers."""
    problems = []
    for name in re.findall(r"\$\{?(\w+)", expr):
        if name not in ALLOWED_VARIABLES:
            problems.append(f"variable ${name} is not allowed in an expr")
    for name in ("pair", "device"):
        if expr.count(f"${name}") != expr.count(f'{name}=~"${name}"'):
            problems.append(f'${name} must be used as {name}=~"${name}"')
    unquoted = re.sub(r'"(?:[^"\\]|\\.)*"|`[^`]*`', '""', expr)  # label values are no metric names
    for name in sorted(set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", unquoted))):
        if "ipsecha" not in name:
            continue
        if ":" in name:
            if name not in recorded:
                problems.append(f"recording rule {name} is not in {RULES_FILE.name}")
        elif name not in METRICS:
            # Also refuses the exporter's own ipsecha_exporter_* series: they
            # are on /metrics only, and the dashboards must work over /probe.
            problems.append(f"metric {name} is not exported (ipsec_ha_monitor.export.metrics.METRICS)")
    return problems


def check(board: Json, recorded: set[str]) -> None:
    problems = [f"{where}: {problem}" for where, expr in queries(board) for problem in check_expr(expr, recorded)]
    if problems:
        raise ValueError(f"dashboard {board['uid']}:\n  " + "\n  ".join(problems))


def render(board: Json) -> str:
    return json.dumps(board, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] = sys.argv[1:]) -> None:
    outdir = Path(argv[0]) if argv else HERE
    recorded = recorded_rules()
    for name, board in (("ipsecha-fleet.json", fleet()), ("ipsecha-pair.json", pair())):
        check(board, recorded)
        (outdir / name).write_text(render(board), encoding="utf-8")


if __name__ == "__main__":
    main()
