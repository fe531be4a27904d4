"""The committed Grafana dashboards as the tests read them: every panel
(those nested in collapsed rows too) and every query a dashboard runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from support.paths import REPO

GRAFANA = REPO / "dashboards" / "grafana"
FLEET, PAIR = "ipsecha-fleet.json", "ipsecha-pair.json"


def load(name: str) -> dict[str, Any]:
    return json.loads((GRAFANA / name).read_text(encoding="utf-8"))


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those nested in collapsed rows too."""
    stack = list(board["panels"])
    while stack:
        panel = stack.pop(0)
        stack.extend(panel.get("panels", []))
        yield panel


def exprs(board: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, expr) of every panel target and every Prometheus annotation."""
    for panel in panels(board):
        for target in panel.get("targets", []):  # every target is a Prometheus query: KeyError otherwise
            yield f"{panel['title']} ({target['refId']})", target["expr"]
    for annotation in board["annotations"]["list"]:
        if "expr" in annotation:  # the built-in Grafana annotation has none
            yield f"annotation {annotation['name']}", annotation["expr"]
