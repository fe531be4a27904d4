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

- connections: one thread (export/front.py) holds every connection that
  has no complete request head yet (TLS handshake included) and every
  kept-alive one waiting for its next request: such a connection costs a
  file descriptor and under 1 KiB (about 46 KiB once a TLS handshake has
  begun), never a worker. At most `max_connections_per_client` (default
  32) are open from one client address and `max_open_connections`
  (default 1024) in all; one more is closed at once (plain HTTP: 503 with
  Retry-After first; TLS: no handshake), counted, and logged.
- workers: a complete request is answered by one of at most
  `max_connections` (default 64) worker threads; with none free it is
  answered 503 with Retry-After at once rather than queued: a scrape fails
  fast instead of hanging.
- time: a new connection has `header_timeout` (10 s) from its accept to
  deliver its request line and headers in full, TLS handshake included,
  however it trickles them; a kept-alive connection waits `idle_timeout`
  (30 s) for its next request, which then has `header_timeout` from its
  first byte. A head over 64 KiB is answered 431. Any one write of an
  answer gets `io_timeout` (30 s).
- passwords (export/password_gate.py): a credential that passed before
  passes without bcrypt; the others are checked in a small bounded pool
  (one thread per CPU, at most 4, 8 more waiting), and past that answered
  503 with Retry-After without bcrypt. An address with 20 failed logins in
  a minute gets 429 for its unverified logins for a minute (no bcrypt; a
  remembered credential from it still passes). Failed logins are logged at
  WARNING, throttled, with the address and the count of user names tried.
- requests: GET and HEAD (POST and PUT on /-/reload only; another method
  on a known path is 405, an unknown method 501). Framing is strict: more
  than one Content-Length (even equal), one that is not a number,
  Transfer-Encoding with Content-Length, or a header line that is not
  `name: value` is answered 400 and the connection closed; so is a request
  with a body (Content-Length above 0, or any Transfer-Encoding). Nothing
  after such a request on its connection is ever read as a request. A
  request the client abandoned (it hung up before the end of its headers,
  or before its /probe began) is not run.
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
import re
import select
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ipsec_ha_monitor.export.exporter import Exporter
from ipsec_ha_monitor.export.front import (
    DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
    DEFAULT_MAX_OPEN_CONNECTIONS,
    Connection,
    Front,
    client_ip,
)
from ipsec_ha_monitor.export.metrics import render, render_probe_result
from ipsec_ha_monitor.export.password_gate import (
    DEFAULT_PASSWORD_CHECKERS,
    DEFAULT_PASSWORD_QUEUE,
    PasswordGate,
    Verdict,
)
from ipsec_ha_monitor.export.throttled import Throttled
from ipsec_ha_monitor.export.web_config import WebConfig, load_web_config
from ipsec_ha_monitor.logs import one_line

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_PROBE_TIMEOUT = 10.0  # seconds, without Prometheus's scrape-timeout header
_PROBE_MARGIN = 0.5  # answer this long before Prometheus gives up on the scrape
DEFAULT_MAX_CONNECTIONS = 64  # worker threads: requests answered at once
DEFAULT_MAX_PROBES_PER_TARGET = 8
HEADER_TIMEOUT = 10.0  # seconds from accept for the request head (a new connection's TLS handshake too)
IDLE_TIMEOUT = 30.0  # seconds a kept-alive connection waits for its next request
IO_TIMEOUT = 30.0  # seconds for any one write of an answer
LISTEN_BACKLOG = 128  # a burst of scrapers is not dropped at SYN (each drop waits a 1 s retransmit)
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
# A header line as RFC 9110 spells it: a token, a colon, a value without
# CR or NUL. Anything else (a space before the colon, a folded line, a bare
# CR) is read differently by different parsers: a smuggling vector, so 400.
_HEADER_LINE = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n\0]*")
_DIGITS = re.compile(r"[0-9]+")


class ClientGone(Exception):
    """The client went away (or stalled past a deadline) while it was answered."""


class ExporterServer:
    """The listening socket, the connection front's thread, the worker
    threads that answer complete requests, and the password checks."""

    def __init__(
        self,
        address: tuple[str, int],
        exporter: Exporter,
        web: WebConfig | None = None,
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_probes_per_target: int = DEFAULT_MAX_PROBES_PER_TARGET,
        max_open_connections: int = DEFAULT_MAX_OPEN_CONNECTIONS,
        max_connections_per_client: int = DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
        password_checkers: int = DEFAULT_PASSWORD_CHECKERS,
        password_queue: int = DEFAULT_PASSWORD_QUEUE,
        header_timeout: float = HEADER_TIMEOUT,
        idle_timeout: float = IDLE_TIMEOUT,
        io_timeout: float = IO_TIMEOUT,
        enable_lifecycle: bool = False,
        reload: Callable[[], str | None] | None = None,
    ) -> None:
        """`address` with host "" is every interface: IPv6 and IPv4 on one
        socket where the host has IPv6, else IPv4's 0.0.0.0. `reload` is
        what POST /-/reload runs when `enable_lifecycle` (None when it
        adopted the files, else the reason); set it later as `.reload`.
        `max_connections` is the number of worker threads (requests being
        answered at once); connections waiting for a request hold none."""
        if min(max_connections, max_probes_per_target, max_open_connections, max_connections_per_client) < 1:
            raise ValueError("max_connections, max_probes_per_target and the connection caps are at least 1")
        self.enable_lifecycle = enable_lifecycle
        self.reload = reload
        self.exporter = exporter
        self.web = web or WebConfig()
        self.max_connections = max_connections
        self.max_probes_per_target = max_probes_per_target
        self.io_timeout = io_timeout
        self.notes = Throttled(log)
        self._workers = threading.BoundedSemaphore(max_connections)
        self._probes: Counter[str] = Counter()  # target -> /probe requests in progress
        self._probes_lock = threading.Lock()
        self.socket = _listen(address)
        self.server_address: tuple[Any, ...] = self.socket.getsockname()
        self.passwords = PasswordGate(self.notes, checkers=password_checkers, queue=password_queue)
        self.front = Front(
            self.socket,
            dispatch=self._dispatch,
            tls=lambda: self.web.tls,  # one config per connection, read at its accept, even across a reload
            notes=self.notes,
            header_timeout=header_timeout,
            idle_timeout=idle_timeout,
            max_open=max_open_connections,
            max_per_client=max_connections_per_client,
        )
        self._thread: threading.Thread | None = None

    @property
    def header_timeout(self) -> float:
        return self.front.header_timeout

    @header_timeout.setter
    def header_timeout(self, seconds: float) -> None:  # applies to connections accepted from now on
        self.front.header_timeout = seconds

    @property
    def idle_timeout(self) -> float:
        return self.front.idle_timeout

    @idle_timeout.setter
    def idle_timeout(self, seconds: float) -> None:
        self.front.idle_timeout = seconds

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

    # --- running ------------------------------------------------------------------

    def serve_forever(self) -> None:
        """The connection front, in this thread, until `shutdown`."""
        self.front.run()

    def serve_in_thread(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.serve_forever, name="http-front", daemon=True)
        self._thread.start()
        return self._thread

    def shutdown(self) -> None:
        """Stops the front (and waits for it); requests being answered end
        on their own and their connections are closed."""
        self.front.stop()
        if self._thread is not None:
            self._thread.join(30)

    def server_close(self) -> None:
        self.front.stop()
        if self._thread is None:  # never served: nothing else closes the front's own sockets
            self.front.release()
        self.socket.close()
        self.passwords.close()

    # --- workers ------------------------------------------------------------------

    def _dispatch(self, connection: Connection) -> bool:
        """A connection with a complete head: a worker answers it, unless
        every worker is busy (False: the front answers 503)."""
        if not self._workers.acquire(blocking=False):
            self.notes.note("busy", f"request refused: {self.max_connections} requests already being answered")
            return False
        try:
            threading.Thread(target=self._work, args=(connection,), name="http-worker", daemon=True).start()
        except RuntimeError:  # no more threads to be had
            self._workers.release()
            return False
        return True

    def _work(self, connection: Connection) -> None:
        after = self.front.close
        try:
            connection.sock.settimeout(self.io_timeout)
            # The handler reads the head from `connection`, not a socketserver request.
            handler = _Handler(connection, connection.address, self)  # type: ignore[arg-type]
            if handler.lingers:
                after = self.front.linger
            elif not handler.close_connection:
                after = self.front.give_back
        except Exception:  # a reset, a TLS error: that client's, not the server's
            log.debug("connection from %s failed", connection.ip, exc_info=True)
        finally:
            self._workers.release()
            after(connection)

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


def _listen(address: tuple[str, int]) -> socket.socket:
    """The listening socket: host "" is IPv6 and IPv4 on one socket where
    the host has IPv6, else 0.0.0.0."""
    host, port = address
    if host == "":
        try:
            return _bound(socket.AF_INET6, ("::", port), dual_stack=True)
        except OSError as exc:  # a host without IPv6: IPv4 only
            if exc.errno not in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL, errno.EPROTONOSUPPORT):
                raise
            host = "0.0.0.0"
    return _bound(socket.AF_INET6 if ":" in host else socket.AF_INET, (host, port), dual_stack=False)


def _bound(family: socket.AddressFamily, address: tuple[str, int], dual_stack: bool) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if dual_stack:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(LISTEN_BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


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
    """One request whose head the front has read in full; the front holds
    the connection before and after."""

    server: ExporterServer  # type: ignore[assignment]
    protocol_version = "HTTP/1.1"
    server_version = "ipsec-ha-monitor"
    sys_version = ""

    def version_string(self) -> str:
        return self.server_version  # no Python or BaseHTTP version on display

    def setup(self) -> None:
        connection: Connection = self.request
        self.connection = connection.sock
        self.head = connection.head
        self.rfile = io.BytesIO(connection.head)
        self.wfile = _Writer(connection.sock)
        self.lingers = False  # closing over bytes not read: the front reads and drops them a moment first

    def handle(self) -> None:
        self.close_connection = True
        self.handle_one_request()

    def finish(self) -> None:
        pass  # the connection is the front's again (or closed by it)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def handle_one_request(self) -> None:
        self.command = self.requestline = self.request_version = ""
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.parse_request():  # answered with its error
                return
            framing = self._framing_error()
            if framing is not None:
                self._refuse(f"bad framing: {framing}\n")
                return
            method = getattr(self, f"do_{self.command}", None)
            if method is None:  # closes the connection: a body it may carry is never read as a request
                self.send_error(HTTPStatus.NOT_IMPLEMENTED, f"Unsupported method ({self.command!r})")
                if self._has_body():
                    self._stop_sending()
                return
            if self._has_body():
                self._refuse(f"a {self.command} request has no body\n")
                return
            method()
        except ClientGone as gone:
            self.close_connection = True
            self.lingers = False
            self.server.notes.note("gone", f"{self.address_string()}: {self.command} {self.path[:100]!r}: {gone}")

    def _framing_error(self) -> str | None:
        """Why the request's framing is ambiguous (None: it is not). Every
        one of these may be read as a body by a proxy in front, and its
        bytes as a request by us, or the other way round."""
        for line in self.head.split(b"\n")[1:]:
            line = line[:-1] if line.endswith(b"\r") else line
            if not line:
                break
            if not _HEADER_LINE.fullmatch(line):
                return "a header line that is not name: value"
        lengths = self.headers.get_all("Content-Length") or []
        if len(lengths) > 1:
            return "more than one Content-Length"
        if lengths and not _DIGITS.fullmatch(lengths[0].strip()):
            return "a Content-Length that is not a number"
        if lengths and self.headers.get("Transfer-Encoding") is not None:
            return "Transfer-Encoding with Content-Length"
        return None

    def _has_body(self) -> bool:
        length = self.headers.get("Content-Length")
        # Digits only (checked by _framing_error), read without int(): 5,000 of them would raise.
        return self.headers.get("Transfer-Encoding") is not None or (length is not None and length.strip("0 \t") != "")

    def _refuse(self, reason: str) -> None:
        """400, and the connection closed without reading what follows as
        another request."""
        self.close_connection = True
        self._send(HTTPStatus.BAD_REQUEST, _PLAIN, reason)
        self._stop_sending()

    def _stop_sending(self) -> None:
        """After an answer that closes the connection over bytes not read:
        our side is shut, and the front reads and drops what still comes for
        a moment, so the close does not reset the answer away."""
        try:
            socket.socket.shutdown(self.connection, socket.SHUT_WR)  # the TCP side, under TLS too
        except OSError:
            return
        self.lingers = True

    def do_GET(self) -> None:
        # The web config as it is now: a user removed by a reload is refused
        # at once, kept-alive connections included. Every path, /-/ ones too.
        server = self.server
        verdict = server.passwords.check(server.web, self.headers.get("Authorization"), client_ip(self.client_address))
        if verdict is not Verdict.PASS:
            self._refuse_login(verdict)
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

    def _refuse_login(self, verdict: Verdict) -> None:
        if verdict is Verdict.DENIED:
            self.send_response(HTTPStatus.UNAUTHORIZED)
            self.send_header("WWW-Authenticate", 'Basic realm="ipsec-ha-monitor"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        # Not a verdict on the password: come back later (and meanwhile this
        # connection is not kept for a client that keeps knocking).
        self.close_connection = True
        if verdict is Verdict.BUSY:
            self._send(
                HTTPStatus.SERVICE_UNAVAILABLE, _PLAIN, "password checks are busy: try again\n", {"Retry-After": "1"}
            )
        else:
            penalty = self.server.passwords.penalty
            self._send(
                HTTPStatus.TOO_MANY_REQUESTS,
                _PLAIN,
                "too many failed logins from this address: try again later\n",
                {"Retry-After": str(math.ceil(penalty))},
            )

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
