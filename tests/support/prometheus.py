"""A real Prometheus server (Debian's `prometheus` package) for the tests:
started on 127.0.0.1 with a temporary data dir, asked through its HTTP API,
stopped and reaped at the end. Also the shipped rules with every duration
scaled down, so lab events minutes long in the rules' terms play out in
seconds."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.paths import REPO
from support.processes import ServerProcess, closed_port
from support.waiting import wait_until

RULES_DIR = REPO / "dashboards" / "prometheus"
RULES = RULES_DIR / "ipsecha-rules.yml"
PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
# .ci/run installs Debian's prometheus package and sets
# IPSECHA_REQUIRE_PROMETHEUS, so these tests never skip in CI.
if os.environ.get("IPSECHA_REQUIRE_PROMETHEUS") and (PROMETHEUS is None or PROMTOOL is None):
    raise RuntimeError("IPSECHA_REQUIRE_PROMETHEUS is set but prometheus/promtool are not on PATH")
needs_prometheus = pytest.mark.skipif(
    PROMETHEUS is None or PROMTOOL is None,
    reason="needs prometheus and promtool (Debian package `prometheus`; .ci/run installs it)",
)

_DURATION = re.compile(r"(\d+)(ms|s|m|h|d)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def rules() -> list[dict[str, Any]]:
    """Every rule of the shipped file, recording and alerting."""
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def recorded_rules() -> set[str]:
    return {rule["record"] for rule in rules() if "record" in rule}


def metric_names(expr: str) -> set[str]:
    """The ipsecha metrics and recording rules a PromQL expr reads (quoted
    label values, such as job=~"ipsecha.*", are not names)."""
    unquoted = re.sub(r'"(?:[^"\\]|\\.)*"|`[^`]*`', '""', expr)
    return {name for name in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", unquoted) if "ipsecha" in name}


def _scaled(duration: str, factor: float) -> str:
    total = sum(int(n) * _UNIT_MS[unit] for n, unit in _DURATION.findall(duration))
    return f"{round(total / factor)}ms" if total else "0s"


def scaled_rules(factor: float) -> str:
    """ipsecha-rules.yml with every `for:`, `keep_firing_for:`, PromQL
    range and offset divided by `factor` (thresholds and labels untouched)."""
    data = yaml.safe_load(RULES.read_text())
    for group in data["groups"]:
        for rule in group["rules"]:
            expr = re.sub(r"\[((?:\d+(?:ms|s|m|h|d))+)\]", lambda m: f"[{_scaled(m.group(1), factor)}]", rule["expr"])
            rule["expr"] = re.sub(
                r"\boffset ((?:\d+(?:ms|s|m|h|d))+)", lambda m: f"offset {_scaled(m.group(1), factor)}", expr
            )
            for key in ("for", "keep_firing_for"):
                if key in rule:
                    rule[key] = _scaled(rule[key], factor)
    return yaml.safe_dump(data, sort_keys=False)


class PrometheusServer(ServerProcess):
    """`prometheus` on 127.0.0.1 with `config` (a dict, written to a file in
    `folder`); use as a context manager."""

    name = "prometheus"

    def __init__(self, folder: Path, config: dict[str, Any], flags: tuple[str, ...] = ()) -> None:
        """`flags`: more command-line flags, such as
        "--query.lookback-delta=5s"."""
        self.port = closed_port()  # free until Prometheus binds it
        config_path = folder / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        argv = [
            str(PROMETHEUS),
            f"--config.file={config_path}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
            *flags,
        ]
        super().__init__(folder, argv, f"http://127.0.0.1:{self.port}")

    def __enter__(self) -> PrometheusServer:
        return super().__enter__()

    def api(self, path: str, **params: Any) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as response:
            answer = json.load(response)
        assert answer["status"] == "success", answer
        return answer["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant vector: [{"metric": {...}, "value": [t, "v"]}, ...]."""
        return self.api("query", query=expr)["result"]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        return self.api("query_range", query=expr, start=start, end=end, step=step)["result"]

    def alerts(self) -> list[dict[str, Any]]:
        """Pending and firing alerts: [{"labels": {...}, "state": ...}, ...]."""
        return self.api("alerts")["alerts"]

    def targets(self) -> dict[str, Any]:
        return self.api("targets")

    def reload(self) -> None:
        """Read its config and rule files again (POST /-/reload: needs
        --web.enable-lifecycle among its flags)."""
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200

    def wait_for(self, what: str, condition: Any, timeout: float) -> None:
        """Poll `condition()` until it is true; fail after `timeout` s."""
        wait_until(condition, timeout, what, interval=0.25, describe=lambda: f"alerts: {self.alerts()}")


@dataclass
class SeenAlert:
    """One alert (one label set) as AlertHistory saw it: when it was first
    and last listed pending, and firing (time.monotonic(), None if never)."""

    labels: dict[str, str]
    first_pending: float | None = None
    last_pending: float | None = None
    first_firing: float | None = None
    last_firing: float | None = None

    def seen_at(self, state: str, moment: float) -> None:
        if state == "firing":
            self.first_firing = moment if self.first_firing is None else self.first_firing
            self.last_firing = moment
        else:
            self.first_pending = moment if self.first_pending is None else self.first_pending
            self.last_pending = moment


class AlertHistory:
    """Every alert a Prometheus server lists, pending or firing, recorded
    by a thread that asks every `interval` s: a test judges what fired over
    a scenario after the fact, short-lived alerts included. A context
    manager (the thread stops on exit)."""

    def __init__(self, prometheus: PrometheusServer, interval: float = 0.2) -> None:
        self.prometheus, self.interval = prometheus, interval
        self._alerts: dict[tuple[tuple[str, str], ...], SeenAlert] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._errors: list[str] = []
        self._thread = threading.Thread(target=self._run, name="alert-history", daemon=True)

    def __enter__(self) -> AlertHistory:
        self.record()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.record()
            except OSError as exc:  # Prometheus busy for a moment: ask again
                self._errors.append(repr(exc))

    def record(self) -> list[dict[str, Any]]:
        """Ask Prometheus now, note what it lists; the alerts listed."""
        alerts = self.prometheus.alerts()
        moment = time.monotonic()
        with self._lock:
            for alert in alerts:
                key = tuple(sorted(alert["labels"].items()))
                self._alerts.setdefault(key, SeenAlert(dict(alert["labels"]))).seen_at(alert["state"], moment)
        return alerts

    def seen(self, since: float = 0.0, state: str = "firing", **labels: str | None) -> list[SeenAlert]:
        """Alerts listed in `state` ("firing" or "pending") at some moment
        after `since` (a time.monotonic()) whose labels match `labels` (a
        None value: the label is absent or empty)."""
        with self._lock:
            alerts = list(self._alerts.values())
        found = []
        for alert in alerts:
            last = alert.last_firing if state == "firing" else alert.last_pending
            if last is None or last < since:
                continue
            if all((alert.labels.get(k) or None) == v for k, v in labels.items()):
                found.append(alert)
        return found

    def listed_now(self, **labels: str | None) -> list[dict[str, Any]]:
        """The alerts (pending or firing) listed now whose labels match."""
        return [
            alert for alert in self.record() if all((alert["labels"].get(k) or None) == v for k, v in labels.items())
        ]
