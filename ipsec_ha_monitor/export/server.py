"""The exporter's HTTP endpoints (GET, and HEAD: the same headers, no body;
a HEAD of /probe polls as its GET does):

    /metrics            every device's latest snapshot, pair verdicts, own
                        metrics, process_* / python_* and ipsecha_build_info
    /probe?target=NAME  poll that inventory device now; only its metrics, plus
                        probe_success and probe_duration_seconds; `module` is
                        optional and only "ipsecha" exists (another: 400)
    /targets            the inventory in Prometheus HTTP service-discovery format
    /                   links, a short health table and each pair's recent
                        events; refreshes itself
    /-/healthy          200 while the process serves
    /-/ready            503 until every device's first background poll ended
                        (at once with --poll-interval 0), then 200
    POST /-/reload      what SIGHUP does (inventory and web config): 200, or 500
                        with the reason when refused (the old config stays);
                        403 unless --web.enable-lifecycle, as in Prometheus

Basic auth (the web config) applies to every path. A /probe target not in
the inventory gets 404 and no connection is made: credentials only ever go
to hosts the inventory names.

What one client can take, and no more:

- connections: at most `max_connections` (default 64) are handled at once,
  one thread each; one more is answered 503 at once (plain HTTP; with TLS it
  is closed) rather than queued: a scrape fails fast instead of hanging.
- time: a new connection has `header_timeout` (10 s, the TLS handshake
  included) to send its request line and headers in full, however it
  trickles them; a kept-alive connection waits `idle_timeout` (30 s) for its
  next request, which then has `header_timeout` from its first byte. Any
  one write of an answer gets `io_timeout` (30 s).
- requests: GET and HEAD (POST and PUT on /-/reload only; another method
  on a known path is 405, an unknown method 501); a request with a body
  (Content-Length above 0, or a Transfer-Encoding) is answered 400 and the
  connection closed, its body never read as a request. A request the client abandoned (it hung up
  before the end of its headers, or before its /probe began) is not run.
- probes: at most `max_probes_per_target` (default 8) /probe requests of
  one device wait at once (they share one poll); one more is answered 503
  with Retry-After at once, nothing contacted. A probe within a second of
  the device's last poll is answered from it (Monitor.probe).

Abuse is logged as one line per kind and minute at most (how many since),
never as a traceback. The Server header names the exporter, no versions.
"""

from __future__ import annotations

import errno
import html
import io
import json
import logging
import math
import select
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ipsec_ha_monitor.export.exporter import Exporter
from ipsec_ha_monitor.export.metrics import render, render_probe_result
from ipsec_ha_monitor.export.web_config import WebConfig, load_web_config
from ipsec_ha_monitor.logs import one_line

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_PROBE_TIMEOUT = 10.0  # seconds, without Prometheus's scrape-timeout header
_PROBE_MARGIN = 0.5  # answer this long before Prometheus gives up on the scrape
DEFAULT_MAX_CONNECTIONS = 64
DEFAULT_MAX_PROBES_PER_TARGET = 8
HEADER_TIMEOUT = 10.0  # seconds for a request line and headers (a new connection's TLS handshake too)
IDLE_TIMEOUT = 30.0  # seconds a kept-alive connection waits for its next request
IO_TIMEOUT = 30.0  # seconds for any one write of an answer
ACCEPT_PAUSE_SECONDS = 0.1  # out of file descriptors: how long accepting waits before trying again
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 1\r\n"
    b"Connection: close\r\nContent-Length: 21\r\n\r\ntoo many connections\n"
)
_LINGER_SECONDS = 1.0  # reading what a refused client still sends, so closing does not reset the answer
# /probe's `module`: absent, empty or one of these (blackbox_exporter's
# convention; there is one kind of probe).
PROBE_MODULES = ("ipsecha",)
# The landing page reloads itself every poll interval, this often at least
# (and this slowly without background polling).
INDEX_REFRESH_MIN_SECONDS = 2
INDEX_REFRESH_PROBE_ONLY_SECONDS = 10
_PLAIN = "text/plain; charset=utf-8"
_READ = ("GET", "HEAD")
# Each path and the methods it answers.
_ROUTES: dict[str, tuple[str, tuple[str, ...]]] = {
    "/metrics": ("_metrics", _READ),
    "/probe": ("_probe", _READ),
    "/targets": ("_targets", _READ),
    "/": ("_index", _READ),
    "/-/healthy": ("_healthy", _READ),
    "/-/ready": ("_ready", _READ),
    "/-/reload": ("_reload", ("POST", "PUT")),
}


class ClientGone(Exception):
    """The client went away (or stalled past a deadline) while it was answered."""


class ExporterServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stopping never waits on a probe still running
    # socketserver's default backlog of 5 drops the SYNs of a burst of
    # scrapers, and each dropped one waits a 1 s retransmit.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        exporter: Exporter,
        web: WebConfig | None = None,
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_probes_per_target: int = DEFAULT_MAX_PROBES_PER_TARGET,
        header_timeout: float = HEADER_TIMEOUT,
        idle_timeout: float = IDLE_TIMEOUT,
        io_timeout: float = IO_TIMEOUT,
        enable_lifecycle: bool = False,
        reload: Callable[[], str | None] | None = None,
    ) -> None:
        """`address` with host "" is every interface: IPv6 and IPv4 on one
        socket where the host has IPv6, else IPv4's 0.0.0.0. `reload` is
        what POST /-/reload runs when `enable_lifecycle` (None when it
        adopted the files, else the reason); set it later as `.reload`."""
        if max_connections < 1 or max_probes_per_target < 1:
            raise ValueError("max_connections and max_probes_per_target are at least 1")
        self.enable_lifecycle = enable_lifecycle
        self.reload = reload
        self.exporter = exporter
        self.web = web or WebConfig()
        self.max_connections = max_connections
        self.max_probes_per_target = max_probes_per_target
        self.header_timeout, self.idle_timeout, self.io_timeout = header_timeout, idle_timeout, io_timeout
        self.notes = Throttled(log)
        self._slots = threading.BoundedSemaphore(max_connections)
        self._probes: Counter[str] = Counter()  # target -> /probe requests in progress
        self._probes_lock = threading.Lock()
        self._dual_stack = address[0] == ""
        if self._dual_stack:
            try:
                self.address_family = socket.AF_INET6
                super().__init__(("::", address[1]), _Handler)
                return
            except OSError as exc:  # a host without IPv6: IPv4 only
                if exc.errno not in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL, errno.EPROTONOSUPPORT):
                    raise
                self._dual_stack = False
                address = ("0.0.0.0", address[1])
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        if self._dual_stack:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), self.server_address[1]
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self.web.tls else 'http'}://{host}:{port}"

    @property
    def every_interface(self) -> bool:
        return str(self.server_address[0]) in ("::", "0.0.0.0")

    def reload_web_config(self, path: str) -> bool:
        """SIGHUP: adopt the web config as it is now in `path` (new TLS
        certificate and users apply to new connections and requests), or
        keep the current one when the file is bad: one line naming it."""
        return self.try_reload_web_config(path) is None

    def try_reload_web_config(self, path: str) -> str | None:
        """reload_web_config, saying why not: None when adopted, else the
        reason in one line (logged too)."""
        try:
            web = load_web_config(path)
        except ValueError as exc:  # WebConfigError names the file and the field
            reason = one_line(str(exc))
            log.error("web config reload refused, keeping the previous one: %s", reason)
            return reason
        except Exception as exc:  # never end the exporter over a reload
            reason = f"{path}: {type(exc).__name__}"
            log.error("web config reload refused, keeping the previous one: %s", reason)
            log.debug("web config reload failed", exc_info=True)
            return reason
        self.web = web
        if web.open:
            log.warning("web config %s reloaded: it sets neither TLS nor basic auth: %s is open", path, self.url)
        else:
            log.info("web config %s reloaded: %s: %s", path, self.url, web.describe())
        return None

    # --- connections ------------------------------------------------------------

    def get_request(self) -> tuple[socket.socket, Any]:
        try:
            connection, address = super().get_request()
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE):
                # Out of file descriptors (a fleet past the open-files limit):
                # the client stays queued, and the accept loop, which would
                # find it ready again at once, must not spin meanwhile.
                time.sleep(ACCEPT_PAUSE_SECONDS)
            raise
        web = self.web  # one config for the whole connection, even across a reload
        if web.tls is not None:
            # The handshake happens on first read, in the handler's thread
            # and under its header deadline: a slow or broken client never
            # holds up accepting the others.
            connection = web.tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.notes.note("busy", f"connection refused: {self.max_connections} connections already open")
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _refuse(self, request: socket.socket) -> None:
        """503 at once, without a thread (with TLS: closed, no handshake)."""
        try:
            request.setblocking(False)
            if not isinstance(request, ssl.SSLSocket):
                request.send(_BUSY)
                request.shutdown(socket.SHUT_WR)
                while request.recv(65536):  # what has arrived: closing over unread data resets the answer
                    pass
        except OSError:
            pass
        request.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that is not TLS on the TLS port, or that breaks the
        # connection: a debug line, not a traceback on stderr.
        log.debug("connection from %s failed", client_address, exc_info=True)

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)
        thread.start()
        return thread

    # --- probes -----------------------------------------------------------------

    def enter_probe(self, target: str) -> bool:
        """Count a /probe of `target` in, unless as many already wait."""
        with self._probes_lock:
            if self._probes[target] >= self.max_probes_per_target:
                return False
            self._probes[target] += 1
            return True

    def leave_probe(self, target: str) -> None:
        with self._probes_lock:
            self._probes[target] -= 1
            if self._probes[target] <= 0:
                del self._probes[target]


class Throttled:
    """Log lines about abuse: the first of a kind at once, then at most one
    per `every` seconds with the count of the others since."""

    def __init__(self, logger: logging.Logger, every: float = 60.0, level: int = logging.WARNING) -> None:
        self.logger, self.every, self.level = logger, every, level
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._held: Counter[str] = Counter()

    def note(self, kind: str, message: str) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < self.every:
                self._held[kind] += 1
                return
            self._last[kind] = now
            held = self._held.pop(kind, 0)
        suffix = f" (and {held} more like it in the last {now - last:.0f} s)" if held and last is not None else ""
        self.logger.log(self.level, "%s%s", message, suffix)


class _DeadlineReader(io.RawIOBase):
    """The connection's reads, each bounded by what is left of the current
    deadline (so a client trickling a byte at a time is cut off on time),
    or by `timeout` when there is none. Notes an end of file."""

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self.sock, self.timeout = sock, timeout
        self.deadline: float | None = None
        self.idle_then: float | None = None  # waiting for a request: the header timeout once a byte comes
        self.eof = False
        self.received = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.deadline is None:
            self.sock.settimeout(self.timeout)
        else:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("request deadline passed")
            self.sock.settimeout(remaining)
        count = self.sock.recv_into(buffer)
        if count == 0:
            self.eof = True
        else:
            self.received = True
            if self.idle_then is not None:
                self.deadline, self.idle_then = time.monotonic() + self.idle_then, None
        return count

    def expect_request(self, deadline: float, then: float | None) -> None:
        """Wait for a request until `deadline`; with `then`, the request's
        first bytes move the deadline to `then` seconds from their arrival."""
        self.deadline, self.idle_then = deadline, then
        self.eof = self.received = False


class _Writer(io.BufferedIOBase):
    """The connection's writes; any failure is the client's going away."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        try:
            self.sock.sendall(data)
        except OSError as exc:  # reset, broken pipe, a TLS error, the write timeout
            raise ClientGone(f"went away before its answer ({type(exc).__name__})") from None
        with memoryview(data) as view:
            return view.nbytes


class _Handler(BaseHTTPRequestHandler):
    server: ExporterServer
    protocol_version = "HTTP/1.1"
    server_version = "ipsec-ha-monitor"
    sys_version = ""

    def version_string(self) -> str:
        return self.server_version  # no Python or BaseHTTP version on display

    def setup(self) -> None:
        self.connection = self.request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        self.reader = _DeadlineReader(self.connection, self.server.io_timeout)
        self.reader.expect_request(time.monotonic() + self.server.header_timeout, None)
        self.rfile = io.BufferedReader(self.reader)
        self.wfile = _Writer(self.connection)
        self._requests = 0

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def handle_one_request(self) -> None:
        server, reader = self.server, self.reader
        if self._requests:  # kept alive: the next request may take its time to start, not to arrive
            reader.expect_request(time.monotonic() + server.idle_timeout, server.header_timeout)
        self._requests += 1
        self.command = self.requestline = self.request_version = ""
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return
            if not self.raw_requestline:  # closed between requests: fine
                self.close_connection = True
                return
            if not self.parse_request():  # answered with its error
                return
        except TimeoutError:
            self.close_connection = True
            if reader.received or self._requests == 1:  # silent when a kept-alive connection just sat idle
                server.notes.note(
                    "slow",
                    f"{self.address_string()}: no complete request within {server.header_timeout:g} s: closed",
                )
            return
        except ClientGone:
            self.close_connection = True
            return
        except OSError:  # a reset, or not TLS on the TLS port
            self.close_connection = True
            log.debug("connection from %s failed", self.address_string(), exc_info=True)
            return
        finally:
            reader.deadline = reader.idle_then = None
            self.connection.settimeout(server.io_timeout)
        if reader.eof:  # the headers ended at an end of file, not a blank line
            self.close_connection = True
            server.notes.note(
                "hung-up",
                f"{self.address_string()}: hung up in the middle of {self.command} {self.path[:100]!r}: not run",
            )
            return
        try:
            method = getattr(self, f"do_{self.command}", None)
            if method is None:  # closes the connection: a body it may carry is never read as a request
                self.send_error(HTTPStatus.NOT_IMPLEMENTED, f"Unsupported method ({self.command!r})")
                if self._has_body():
                    _linger(self.connection)
                return
            if self._has_body():
                self._refuse_body()
                return
            method()
        except ClientGone as gone:
            self.close_connection = True
            server.notes.note("gone", f"{self.address_string()}: {self.command} {self.path[:100]!r}: {gone}")

    def _has_body(self) -> bool:
        length = self.headers.get("Content-Length")
        return self.headers.get("Transfer-Encoding") is not None or (length is not None and length.strip() != "0")

    def _refuse_body(self) -> None:
        """No request here carries a body: 400, and the connection closed
        without reading the body as another request."""
        self.close_connection = True
        self._send(HTTPStatus.BAD_REQUEST, _PLAIN, f"a {self.command} request has no body\n")
        _linger(self.connection)

    def do_GET(self) -> None:
        # The web config as it is now: a user removed by a reload is refused
        # at once, kept-alive connections included. Every path, /-/ ones too.
        if not self.server.web.authorized(self.headers.get("Authorization")):
            self.send_response(HTTPStatus.UNAUTHORIZED)
            self.send_header("WWW-Authenticate", 'Basic realm="ipsec-ha-monitor"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        url = urlsplit(self.path)
        route = _ROUTES.get(url.path)
        if route is None:
            self._send(HTTPStatus.NOT_FOUND, _PLAIN, f"no such page: {url.path}\n")
            return
        name, methods = route
        if self.command not in methods:
            self._send(
                HTTPStatus.METHOD_NOT_ALLOWED,
                _PLAIN,
                f"{url.path} answers {' and '.join(methods)} only\n",
                {"Allow": ", ".join(methods)},
            )
            return
        try:
            getattr(self, name)(parse_qs(url.query, keep_blank_values=True))
        except ClientGone:
            raise
        except Exception:
            log.exception("%s failed", url.path)
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, _PLAIN, "internal error (see the log)\n")

    do_HEAD = do_POST = do_PUT = do_GET  # routed by path; HEAD: _send writes no body

    def _healthy(self, query: dict[str, list[str]]) -> None:
        self._send(HTTPStatus.OK, _PLAIN, "ipsec-ha-monitor is Healthy.\n")

    def _ready(self, query: dict[str, list[str]]) -> None:
        exporter = self.server.exporter
        if exporter.ready:
            self._send(HTTPStatus.OK, _PLAIN, "ipsec-ha-monitor is Ready.\n")
            return
        self._send(
            HTTPStatus.SERVICE_UNAVAILABLE,
            _PLAIN,
            "ipsec-ha-monitor is not ready: the first poll of every device has not ended yet\n",
        )

    def _reload(self, query: dict[str, list[str]]) -> None:
        server = self.server
        if not server.enable_lifecycle:
            self._send(HTTPStatus.FORBIDDEN, _PLAIN, "Lifecycle API is not enabled.\n")
            return
        reason = server.reload() if server.reload is not None else None
        if reason is None:
            self._send(HTTPStatus.OK, _PLAIN, "reloaded\n")
        else:
            self._send(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                _PLAIN,
                f"reload refused, the previous configuration stays: {one_line(reason)}\n",
            )

    def _metrics(self, query: dict[str, list[str]]) -> None:
        gzipped = _accepts_gzip(self.headers.get("Accept-Encoding", ""))
        body = self.server.exporter.metrics_page(gzipped)
        headers = {"Vary": "Accept-Encoding"} | ({"Content-Encoding": "gzip"} if gzipped else {})
        self._send(HTTPStatus.OK, CONTENT_TYPE, body, headers)

    def _probe(self, query: dict[str, list[str]]) -> None:
        started = time.monotonic()
        server = self.server
        exporter = server.exporter
        modules = query.get("module", [])
        if len(modules) > 1 or (modules and modules[0] and modules[0] not in PROBE_MODULES):
            shown = ", ".join(repr(module[:64].encode("unicode_escape").decode()) for module in modules)
            known = ", ".join(PROBE_MODULES)
            self._send(
                HTTPStatus.BAD_REQUEST,
                _PLAIN,
                f"unknown module {shown}: the modules are {known} (or none)\n",
            )
            return
        targets = query.get("target", [])
        if len(targets) != 1 or not targets[0]:
            self._send(HTTPStatus.BAD_REQUEST, _PLAIN, "expected exactly one ?target=<device>\n")
            return
        target = targets[0]
        if target not in exporter.inventory.devices:
            # The name is echoed escaped and cut short; nothing is contacted.
            shown = target[:64].encode("unicode_escape").decode()
            self._send(HTTPStatus.NOT_FOUND, _PLAIN, f"unknown target {shown!r}: not in the inventory\n")
            return
        if _hung_up(self.connection):
            raise ClientGone("hung up before its poll: not polled")
        if not server.enter_probe(target):
            server.notes.note("probes", f"/probe?target={target}: {server.max_probes_per_target} probes already wait")
            self._send(
                HTTPStatus.SERVICE_UNAVAILABLE,
                _PLAIN,
                f"{server.max_probes_per_target} probes of this target already wait: try again\n",
                {"Retry-After": "1"},
            )
            return
        try:
            view = exporter.probe(target, self._probe_timeout())
        finally:
            server.leave_probe(target)
        snapshot = view.snapshots.get(target)
        success = snapshot is not None and snapshot.up
        self._send(HTTPStatus.OK, CONTENT_TYPE, render(view) + render_probe_result(success, time.monotonic() - started))

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
        exporter = self.server.exporter
        rows = "".join(
            f"<tr><td>{html.escape(pair.pair)}</td><td>{pair.verdict}</td><td>{html.escape(pair.rf_active or '-')}</td>"
            f"<td>{html.escape('; '.join(f'{r.rule}: {r.message}' for r in pair.failed) or '-')}</td></tr>"
            for pair in exporter.pair_table()
        )
        interval = exporter.clock.real(exporter.interval) if exporter.interval else None  # real seconds
        refresh = max(INDEX_REFRESH_MIN_SECONDS, math.ceil(interval)) if interval else INDEX_REFRESH_PROBE_ONLY_SECONDS
        page = (
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<meta http-equiv='refresh' content='{refresh}'><title>ipsec-ha-monitor</title></head><body>"
            "<h1>ipsec-ha-monitor</h1><p><a href='/metrics'>/metrics</a> &middot; "
            "<a href='/targets'>/targets</a> &middot; /probe?target=&lt;device&gt; &middot; "
            "<a href='/-/healthy'>/-/healthy</a> &middot; <a href='/-/ready'>/-/ready</a></p>"
            "<table border='1'><tr><th>pair</th><th>verdict</th><th>RF active</th><th>failing rules</th></tr>"
            f"{rows}</table>{_events_html(exporter)}"
            f"<p><small>This page reloads every {refresh} s.</small></p></body></html>\n"
        )
        self._send(HTTPStatus.OK, "text/html; charset=utf-8", page)

    def _send(
        self, status: HTTPStatus, content_type: str, body: str | bytes, headers: dict[str, str] | None = None
    ) -> None:
        """The answer; to a HEAD request the same headers (Content-Length
        included) and no body."""
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def _events_html(exporter: Exporter) -> str:
    """Each pair's recent events (then those of devices in no pair), newest
    first, escaped."""
    events = exporter.monitor.events()
    sections = [(name, name) for name in exporter.inventory.pairs] + [("", "devices in no pair")]
    parts = ["<h2>Recent events</h2>"]
    for key, title in sections:
        if key == "" and not events.get(""):
            continue
        items = "".join(
            f"<li>{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(event.at))} UTC: {html.escape(event.text)}</li>"
            for event in events.get(key, [])
        )
        parts.append(f"<h3>{html.escape(title)}</h3>" + (f"<ul>{items}</ul>" if items else "<p>none yet</p>"))
    return "".join(parts)


def _hung_up(connection: socket.socket) -> bool:
    """Whether the client has closed its side (Linux: POLLRDHUP; elsewhere
    only a reset or an error shows). A client that half-closes after its
    request counts as gone: /probe is not run for it."""
    if not hasattr(select, "poll"):
        return False
    poller = select.poll()
    hangup = getattr(select, "POLLRDHUP", 0) | select.POLLHUP | select.POLLERR
    poller.register(connection.fileno(), hangup)
    return any(events & hangup for _, events in poller.poll(0))


def _linger(connection: socket.socket) -> None:
    """After an answer that closes the connection before its request was
    read in full: stop sending and read (and drop) what still comes for a
    moment, so the close does not reset the answer away."""
    try:
        socket.socket.shutdown(connection, socket.SHUT_WR)  # the TCP side, under TLS too
        connection.settimeout(0.1)
        until = time.monotonic() + _LINGER_SECONDS
        received = 0
        while time.monotonic() < until and received < 1 << 20:
            try:
                chunk = connection.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                break
            received += len(chunk)
    except OSError:
        pass


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
