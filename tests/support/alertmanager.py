"""A real Alertmanager (Debian's `prometheus-alertmanager` package) for the
tests: started on 127.0.0.1 with a temporary storage dir, alone (no
clustering) or as a node of a gossip cluster on loopback, asked through its
HTTP API, stopped and reaped at the end. Also the shipped
alertmanager.yml with its intervals scaled down and its receivers pointed
at a webhook server in the test, which records every notification."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.exposition import parse_samples
from support.paths import REPO
from support.processes import ServerProcess, closed_port

ALERTMANAGER_CONFIG = REPO / "dashboards" / "alertmanager" / "alertmanager.yml"
PLACEHOLDER_URL = "http://127.0.0.1:5001"  # the receivers' placeholder webhook in the shipped config
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
AMTOOL = shutil.which("amtool")
# .ci/run installs Debian's prometheus-alertmanager package and sets
# IPSECHA_REQUIRE_PROMETHEUS, so these tests never skip in CI.
if os.environ.get("IPSECHA_REQUIRE_PROMETHEUS") and (ALERTMANAGER is None or AMTOOL is None):
    raise RuntimeError("IPSECHA_REQUIRE_PROMETHEUS is set but prometheus-alertmanager/amtool are not on PATH")
needs_amtool = pytest.mark.skipif(
    AMTOOL is None, reason="needs amtool (Debian package `prometheus-alertmanager`; .ci/run installs it)"
)
needs_alertmanager = pytest.mark.skipif(
    ALERTMANAGER is None or AMTOOL is None,
    reason="needs prometheus-alertmanager (Debian package `prometheus-alertmanager`; .ci/run installs it)",
)

INTERVALS = ("group_wait", "group_interval", "repeat_interval")
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def scaled_duration(duration: str, factor: float) -> str:
    """An Alertmanager duration ("5m", "1h30m") divided by `factor`, in ms."""
    total = sum(int(n) * _UNIT_MS[unit] for n, unit in _DURATION.findall(duration))
    return f"{max(1, round(total / factor))}ms"


def scaled_alertmanager_config(factor: float, webhook_base: str) -> dict[str, Any]:
    """The shipped alertmanager.yml, structure untouched: every route's
    group_wait, group_interval and repeat_interval divided by `factor`, and
    the receivers' placeholder webhook host replaced by `webhook_base`
    (their paths, one per receiver, kept)."""
    text = ALERTMANAGER_CONFIG.read_text()
    assert PLACEHOLDER_URL in text, f"the shipped receivers no longer post to {PLACEHOLDER_URL}"
    config = yaml.safe_load(text.replace(PLACEHOLDER_URL, webhook_base.rstrip("/")))

    def scale(route: dict[str, Any]) -> None:
        for key in INTERVALS:
            if key in route:
                route[key] = scaled_duration(route[key], factor)
        for child in route.get("routes", []):
            scale(child)

    scale(config["route"])
    return config


Group = tuple[str, tuple[tuple[str, str], ...]]  # (receiver, sorted group labels)


@dataclass
class Notification:
    at: float  # time.monotonic() when received
    path: str
    body: dict[str, Any]

    @property
    def receiver(self) -> str:
        return self.body["receiver"]

    @property
    def group(self) -> Group:
        """(receiver, sorted group labels): one notification group."""
        return self.receiver, tuple(sorted(self.body["groupLabels"].items()))

    def alertnames(self, status: str | None = "firing") -> set[str]:
        return {
            alert["labels"]["alertname"] for alert in self.body["alerts"] if status is None or alert["status"] == status
        }


class WebhookRecorder:
    """An HTTP server on 127.0.0.1 in a thread that records every JSON body
    POSTed to it (Alertmanager's webhook notifications); a context manager."""

    def __init__(self) -> None:
        self.notifications: list[Notification] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with recorder._lock:
                    recorder.notifications.append(Notification(time.monotonic(), self.path, body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="webhook", daemon=True)

    def __enter__(self) -> WebhookRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(10)

    def received(self) -> list[Notification]:
        with self._lock:
            return list(self.notifications)

    def groups(self) -> dict[Group, list[Notification]]:
        """The notifications received, by group, each group's in order."""
        grouped: dict[Group, list[Notification]] = {}
        for notification in self.received():
            grouped.setdefault(notification.group, []).append(notification)
        return grouped

    def of(self, group: Group, status: str | None = None) -> list[Notification]:
        """A group's notifications, or those whose overall status is `status` ("firing", "resolved")."""
        return [n for n in self.groups().get(group, []) if status is None or n.body["status"] == status]


class AlertmanagerServer(ServerProcess):
    """`prometheus-alertmanager` on 127.0.0.1 with `config` (a dict, written
    to a file in `folder`); use as a context manager. Clustering off unless
    `cluster` gives the --cluster.* flags of a node (two nodes need two
    folders: each keeps its config, data and log in its own)."""

    name = "alertmanager"

    def __init__(self, folder: Path, config: dict[str, Any], cluster: tuple[str, ...] = ()) -> None:
        self.port = closed_port()
        self.address = f"127.0.0.1:{self.port}"
        config_path = folder / "alertmanager.yml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        argv = [
            str(ALERTMANAGER),
            f"--config.file={config_path}",
            f"--storage.path={folder / 'alertmanager-data'}",
            f"--web.listen-address={self.address}",
            # No gossip unless asked: one instance, no port beside the web one.
            *(cluster or ("--cluster.listen-address=",)),
            "--log.level=warn",
        ]
        super().__init__(folder, argv, f"http://{self.address}")

    def __enter__(self) -> AlertmanagerServer:
        return super().__enter__()

    def status(self) -> dict[str, Any]:
        """/api/v2/status: its cluster ({"name", "status": "ready" |
        "settling" | "disabled", "peers": [{"name", "address"}]}), config,
        version."""
        with urllib.request.urlopen(f"{self.url}/api/v2/status", timeout=10) as response:
            return json.load(response)

    def cluster_position(self) -> int:
        """Its place among the cluster's members sorted by name, as
        Alertmanager computes it: the node at N waits N peer timeouts before
        it sends a notification that its peers have not logged as sent, so 0
        is the one that sends while every node is up."""
        cluster = self.status()["cluster"]
        return sorted(peer["name"] for peer in cluster["peers"]).index(cluster["name"])

    def metric(self, name: str, **labels: str) -> float:
        """The sum of the samples of its own /metrics named `name` whose
        labels include `labels` (0 when there is none)."""
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as response:
            samples = parse_samples(response.read().decode())
        return sum(
            value
            for key, value in samples.get(name, {}).items()
            if all(dict(key).get(label) == wanted for label, wanted in labels.items())
        )

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert Alertmanager holds, active, silenced and inhibited:
        [{"labels": {...}, "status": {"state": "active"|"suppressed",
        "inhibitedBy": [...]}}, ...]."""
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=10) as response:
            return json.load(response)
