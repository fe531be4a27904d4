"""The exporter's HTTP endpoints:

    /metrics            every device's latest snapshot, pair verdicts, own metrics
    /probe?target=NAME  poll that inventory device now; only its metrics
    /targets            the inventory in Prometheus HTTP service-discovery format
    /                   links and a short health table

A /probe target not in the inventory gets 404 and no connection is made:
credentials only ever go to hosts the inventory names.
"""

from __future__ import annotations

import html
import json
import logging
import math
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from monitor.export.exporter import Exporter
from monitor.export.metrics import render
from monitor.export.web_config import WebConfig

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_PROBE_TIMEOUT = 10.0  # seconds, without Prometheus's scrape-timeout header
_PROBE_MARGIN = 0.5  # answer this long before Prometheus gives up on the scrape


class ExporterServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops the SYNs of a burst of
    # scrapers, and each dropped one waits a 1 s retransmit.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], exporter: Exporter, web: WebConfig | None = None) -> None:
        self.exporter = exporter
        self.web = web or WebConfig()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), self.server_address[1]
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self.web.tls else 'http'}://{host}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that is not TLS on the TLS port, or hangs up mid-request:
        # a debug line, not a traceback on stderr.
        log.debug("connection from %s failed", client_address, exc_info=True)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        if self.web.tls is not None:
            # The handshake happens on first read, in the handler's thread:
            # a slow or broken client never holds up accepting the others.
            connection = self.web.tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: ExporterServer
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection or a stalled TLS handshake frees its thread

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        if not self.server.web.authorized(self.headers.get("Authorization")):
            self.send_response(HTTPStatus.UNAUTHORIZED)
            self.send_header("WWW-Authenticate", 'Basic realm="ipsec-ha-monitor"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        url = urlsplit(self.path)
        routes = {"/metrics": self._metrics, "/probe": self._probe, "/targets": self._targets, "/": self._index}
        route = routes.get(url.path)
        if route is None:
            self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", f"no such page: {url.path}\n")
            return
        try:
            route(parse_qs(url.query))
        except Exception:
            log.exception("%s failed", url.path)
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8", "internal error (see the log)\n")

    def _metrics(self, query: dict[str, list[str]]) -> None:
        gzipped = _accepts_gzip(self.headers.get("Accept-Encoding", ""))
        body = self.server.exporter.metrics_page(gzipped)
        headers = {"Vary": "Accept-Encoding"} | ({"Content-Encoding": "gzip"} if gzipped else {})
        self._send(HTTPStatus.OK, CONTENT_TYPE, body, headers)

    def _probe(self, query: dict[str, list[str]]) -> None:
        exporter = self.server.exporter
        targets = query.get("target", [])
        if len(targets) != 1 or not targets[0]:
            self._send(HTTPStatus.BAD_REQUEST, "text/plain; charset=utf-8", "expected exactly one ?target=<device>\n")
            return
        target = targets[0]
        if target not in exporter.inventory.devices:
            # The name is echoed escaped and cut short; nothing is contacted.
            shown = target[:64].encode("unicode_escape").decode()
            self._send(
                HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", f"unknown target {shown!r}: not in the inventory\n"
            )
            return
        self._send(HTTPStatus.OK, CONTENT_TYPE, render(exporter.probe(target, self._probe_timeout())))

    def _probe_timeout(self) -> float:
        """Prometheus's scrape timeout less a margin, within sane bounds:
        never past the time a poll may take at all."""
        header = self.headers.get("X-Prometheus-Scrape-Timeout-Seconds")
        try:
            timeout = float(header) if header else DEFAULT_PROBE_TIMEOUT
        except ValueError:
            timeout = DEFAULT_PROBE_TIMEOUT
        if not math.isfinite(timeout):
            timeout = DEFAULT_PROBE_TIMEOUT
        return min(self.server.exporter.longest_probe_seconds, max(0.5, timeout - _PROBE_MARGIN))

    def _targets(self, query: dict[str, list[str]]) -> None:
        inventory = self.server.exporter.inventory
        groups = [
            {"targets": [name], "labels": {"device": name, "pair": device.pair or "", "role": device.role}}
            for name, device in inventory.devices.items()
        ]
        self._send(HTTPStatus.OK, "application/json", json.dumps(groups, indent=1) + "\n")

    def _index(self, query: dict[str, list[str]]) -> None:
        rows = "".join(
            f"<tr><td>{html.escape(pair.pair)}</td><td>{pair.verdict}</td><td>{html.escape(pair.rf_active or '-')}</td>"
            f"<td>{html.escape('; '.join(f'{r.rule}: {r.message}' for r in pair.failed) or '-')}</td></tr>"
            for pair in self.server.exporter.pair_table()
        )
        page = (
            "<!doctype html><html><head><title>ipsec-ha-monitor</title></head><body>"
            "<h1>ipsec-ha-monitor</h1><p><a href='/metrics'>/metrics</a> &middot; "
            "<a href='/targets'>/targets</a> &middot; /probe?target=&lt;device&gt;</p>"
            "<table border='1'><tr><th>pair</th><th>verdict</th><th>RF active</th><th>failing rules</th></tr>"
            f"{rows}</table></body></html>\n"
        )
        self._send(HTTPStatus.OK, "text/html; charset=utf-8", page)

    def _send(
        self, status: HTTPStatus, content_type: str, body: str | bytes, headers: dict[str, str] | None = None
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _accepts_gzip(header: str) -> bool:
    """`gzip` listed in Accept-Encoding with a quality above 0."""
    for item in header.split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        if coding.lower() != "gzip":
            continue
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False
