"""The exporter's connection front: one thread and one `selectors` loop that
hold every connection while it has no complete request head to answer.

A connection costs a file descriptor and a little memory here, never a
worker: the front accepts it, does the TLS handshake without blocking,
reads the request line and headers into a bounded buffer, and only hands
the connection (with the head read) to a worker once the head is complete.
A kept-alive connection comes back here to wait for its next request; an
answer that closes a connection over unread bytes lingers here too.

Deadlines (monotonic): a new connection has `header_timeout` from its
accept to deliver a complete head, TLS handshake included; a kept-alive
one waits `idle_timeout` for its next request, which then has
`header_timeout` from its first byte. A head over HEAD_LIMIT bytes is
answered 431 and closed.

Caps, checked at accept, before any byte is read: at most
`max_per_client` connections open from one client address and
`max_open` in all (those handed to workers included). One more is closed
at once: plain HTTP gets a 503 first, TLS is closed without a handshake.
"""

from __future__ import annotations

import errno
import heapq
import itertools
import logging
import re
import selectors
import socket
import ssl
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from ipsec_ha_monitor.export.throttled import Throttled

log = logging.getLogger(__name__)

HEAD_LIMIT = 65536  # bytes of request line and headers
DEFAULT_MAX_OPEN_CONNECTIONS = 1024  # open connections in all, whatever their state
DEFAULT_MAX_CONNECTIONS_PER_CLIENT = 32  # open connections from one client address
ACCEPT_PAUSE_SECONDS = 0.1  # out of file descriptors: how long accepting waits before trying again
LINGER_SECONDS = 1.0  # reading what a refused client still sends, so closing does not reset the answer
_LINGER_BYTES = 1 << 20
_ACCEPTS_PER_TURN = 64  # a burst of connects does not starve the connections already held
_MOST_SELECT_WAIT = 1.0
# The end of a head as http.client reads it: a line that is empty but for
# its CR LF (or LF).
_END_OF_HEAD = re.compile(rb"\n\r?\n")


def _answer(status: str, text: str, retry: bool = False) -> bytes:
    body = text.encode()
    retry_after = b"Retry-After: 1\r\n" if retry else b""
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n".encode()
        + retry_after
        + f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


BUSY_ANSWER = _answer("503 Service Unavailable", "too many connections\n", retry=True)
_TOO_LARGE = _answer("431 Request Header Fields Too Large", f"the request head is over {HEAD_LIMIT} bytes\n")


def client_ip(address: Any) -> str:
    """The client's address as one key per host: an IPv4 client of a
    dual-stack socket (::ffff:a.b.c.d) is a.b.c.d."""
    host = str(address[0]) if isinstance(address, tuple) else str(address)
    if host.startswith("::ffff:") and "." in host:
        return host[7:]
    return host


class Connection:
    """One client connection and what the front knows of it."""

    __slots__ = (
        "address",
        "buffer",
        "closed",
        "context",
        "deadline",
        "drained",
        "draining",
        "handshaking",
        "head",
        "ip",
        "received",
        "requests",
        "scanned",
        "sock",
        "then",
        "watched",
    )

    def __init__(self, sock: socket.socket, address: Any, deadline: float) -> None:
        self.sock, self.address, self.ip = sock, address, client_ip(address)
        self.buffer = bytearray()  # read, not yet handed on: a head in the making, or the next one pipelined
        self.scanned = 0  # how much of the buffer holds no end of head
        self.head = b""  # the complete head a worker answers
        self.context: ssl.SSLContext | None = None  # TLS, not yet wrapped: no bytes have come yet
        self.handshaking = False
        self.deadline = deadline
        self.then: float | None = None  # waiting idle: the head's own timeout once its first byte comes
        self.received = False  # a byte came since it began waiting
        self.requests = 0  # answered on this connection
        self.draining = False  # answered and closing: what still comes is read and dropped
        self.drained = 0
        self.watched = 0  # selector events, 0 when not registered
        self.closed = False


class Front:
    """The accept-and-read loop (`run`, in one thread) and what workers
    call on it (`give_back`, `linger`, `close`), from any thread."""

    def __init__(
        self,
        listener: socket.socket,
        *,
        dispatch: Callable[[Connection], bool],
        tls: Callable[[], ssl.SSLContext | None],
        notes: Throttled,
        header_timeout: float,
        idle_timeout: float,
        max_open: int = DEFAULT_MAX_OPEN_CONNECTIONS,
        max_per_client: int = DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
    ) -> None:
        """`dispatch` hands a connection with a complete head to a worker
        (False: none is free, the front answers 503); `tls` is the TLS
        context for a new connection, read at its accept (None: plain)."""
        if max_open < 1 or max_per_client < 1:
            raise ValueError("max_open and max_per_client are at least 1")
        self.listener, self.dispatch, self.tls, self.notes = listener, dispatch, tls, notes
        self.header_timeout, self.idle_timeout = header_timeout, idle_timeout
        self.max_open, self.max_per_client = max_open, max_per_client
        self.refused = 0  # connections closed at accept, over a cap
        self._selector = selectors.DefaultSelector()
        self._held: set[Connection] = set()  # touched by the loop's thread only
        self._deadlines: list[tuple[float, int, Connection]] = []
        self._order = itertools.count()
        self._lock = threading.Lock()  # the counts and the hand-back queue, shared with workers
        self._open = 0
        self._per_client: Counter[str] = Counter()
        self._returned: deque[tuple[Connection, bool]] = deque()  # (connection, lingering)
        self._stopping = False
        self._stopped = threading.Event()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)
        self._accept_paused_until: float | None = None

    # --- what other threads read and call ---------------------------------------

    @property
    def open_connections(self) -> int:
        with self._lock:
            return self._open

    def open_from(self, ip: str) -> int:
        with self._lock:
            return self._per_client[ip]

    def give_back(self, connection: Connection) -> None:
        """A worker answered and the connection stays: wait for its next request."""
        self._return(connection, lingering=False)

    def linger(self, connection: Connection) -> None:
        """A worker answered and shut its side over unread bytes: read and
        drop what still comes for a moment, then close."""
        self._return(connection, lingering=True)

    def close(self, connection: Connection) -> None:
        """Closes and counts the connection out (once)."""
        with self._lock:
            if connection.closed:
                return
            connection.closed = True
            self._open -= 1
            self._per_client[connection.ip] -= 1
            if self._per_client[connection.ip] <= 0:
                del self._per_client[connection.ip]
        try:
            connection.sock.close()
        except OSError:
            pass

    def stop(self) -> None:
        """Ends `run` (it closes what it holds); workers' connections are
        closed as they come back."""
        with self._lock:
            self._stopping = True
        self._wake()

    def wait_stopped(self, timeout: float | None = None) -> bool:
        return self._stopped.wait(timeout)

    def _return(self, connection: Connection, lingering: bool) -> None:
        with self._lock:
            stopping = self._stopping
            if not stopping:
                self._returned.append((connection, lingering))
        if stopping:
            self.close(connection)
        else:
            self._wake()

    def _wake(self) -> None:
        try:
            self._wake_writer.send(b"\0")
        except OSError:  # full: a wake is pending anyway; closed: stopped
            pass

    # --- the loop ---------------------------------------------------------------

    def run(self) -> None:
        self.listener.setblocking(False)
        self._selector.register(self.listener, selectors.EVENT_READ, None)
        self._selector.register(self._wake_reader, selectors.EVENT_READ, self._wake_reader)
        try:
            while True:
                with self._lock:
                    if self._stopping:
                        break
                for key, _ in self._selector.select(self._wait()):
                    if key.data is None:
                        self._accept()
                    elif key.data is self._wake_reader:
                        self._drain_wakes()
                    elif not key.data.closed and key.data in self._held:
                        try:
                            self._service(key.data)
                        except Exception:  # a bug: that connection is lost, never the front
                            log.exception("connection from %s: unexpected failure, closed", key.data.ip)
                            self._drop(key.data)
                self._adopt_returned()
                self._expire()
                self._resume_accepting()
        finally:
            self._shut()

    def _shut(self) -> None:
        for connection in list(self._held):
            self._drop(connection)
        with self._lock:
            returned, self._returned = list(self._returned), deque()
        for connection, _ in returned:
            self.close(connection)
        self.release()
        self._stopped.set()

    def release(self) -> None:
        """Closes what the front owns besides connections (again: no harm);
        for a front that never ran, the whole of closing it."""
        self._selector.close()
        self._wake_reader.close()
        self._wake_writer.close()

    def _wait(self) -> float:
        """Seconds until the next deadline (or accepting resumes), at most a second."""
        now = time.monotonic()
        wait = _MOST_SELECT_WAIT
        while self._deadlines:
            deadline, _, connection = self._deadlines[0]
            if connection.closed or connection not in self._held or connection.deadline != deadline:
                heapq.heappop(self._deadlines)  # stale: the connection moved on
                continue
            wait = min(wait, deadline - now)
            break
        if self._accept_paused_until is not None:
            wait = min(wait, self._accept_paused_until - now)
        return max(0.0, wait)

    def _drain_wakes(self) -> None:
        try:
            while self._wake_reader.recv(4096):
                pass
        except OSError:
            pass

    # --- accepting ----------------------------------------------------------------

    def _accept(self) -> None:
        for _ in range(_ACCEPTS_PER_TURN):
            try:
                sock, address = self.listener.accept()
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE):
                    # Out of file descriptors: the client stays queued, and
                    # the loop, which would find the listener ready again at
                    # once, must not spin meanwhile.
                    self.notes.note("fds", "out of file descriptors: accepting pauses (raise the open-files limit)")
                    self._selector.unregister(self.listener)
                    self._accept_paused_until = time.monotonic() + ACCEPT_PAUSE_SECONDS
                    return
                log.debug("accept failed", exc_info=True)
                continue  # ECONNABORTED and the like: that client is gone, not the others
            ip = client_ip(address)
            with self._lock:
                if self._open >= self.max_open:
                    over = f"{self.max_open} connections open in all"
                elif self._per_client[ip] >= self.max_per_client:
                    over = f"{self.max_per_client} connections already open from {ip}"
                else:
                    over = ""
                    self._open += 1
                    self._per_client[ip] += 1
            context = self.tls()
            if over:
                self.refused += 1
                self.notes.note("crowded", f"connection from {ip} refused: {over}")
                _refuse(sock, plain=context is None)
                continue
            connection = Connection(sock, address, time.monotonic() + self.header_timeout)
            # TLS is wrapped when the first bytes come (a connection that
            # never sends its ClientHello costs no TLS state), and the
            # handshake is stepped by this loop, under the head's deadline.
            connection.context = context
            connection.handshaking = context is not None
            try:
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
            except OSError:
                log.debug("connection from %s failed at accept", ip, exc_info=True)
                self.close(connection)
                continue
            self._hold(connection, selectors.EVENT_READ)
            self._push_deadline(connection)

    def _resume_accepting(self) -> None:
        if self._accept_paused_until is not None and time.monotonic() >= self._accept_paused_until:
            self._accept_paused_until = None
            self._selector.register(self.listener, selectors.EVENT_READ, None)

    # --- holding connections -----------------------------------------------------------

    def _hold(self, connection: Connection, events: int) -> None:
        self._held.add(connection)
        if connection.watched == 0:
            self._selector.register(connection.sock, events, connection)
        elif connection.watched != events:
            self._selector.modify(connection.sock, events, connection)
        connection.watched = events

    def _release(self, connection: Connection) -> None:
        """No longer the front's: off the selector (a worker has it)."""
        self._held.discard(connection)
        if connection.watched:
            try:
                self._selector.unregister(connection.sock)
            except (KeyError, ValueError):
                pass
            connection.watched = 0

    def _drop(self, connection: Connection) -> None:
        self._release(connection)
        self.close(connection)

    def _push_deadline(self, connection: Connection) -> None:
        heapq.heappush(self._deadlines, (connection.deadline, next(self._order), connection))

    def _adopt_returned(self) -> None:
        with self._lock:
            returned, self._returned = list(self._returned), deque()
        now = time.monotonic()
        for connection, lingering in returned:
            try:
                connection.sock.setblocking(False)
            except OSError:
                self.close(connection)
                continue
            if lingering:
                connection.buffer.clear()
            connection.draining = lingering
            connection.received = bool(connection.buffer)  # a pipelined request has begun
            if lingering:
                connection.deadline, connection.then = now + LINGER_SECONDS, None
            elif connection.received:
                connection.deadline, connection.then = now + self.header_timeout, None
            else:
                connection.deadline, connection.then = now + self.idle_timeout, self.header_timeout
            self._hold(connection, selectors.EVENT_READ)
            self._push_deadline(connection)
            if connection.received:
                self._look_for_head(connection)

    def _expire(self) -> None:
        now = time.monotonic()
        while self._deadlines and self._deadlines[0][0] <= now:
            deadline, _, connection = heapq.heappop(self._deadlines)
            if connection.closed or connection not in self._held or connection.deadline != deadline:
                continue
            if not connection.draining and (connection.received or connection.requests == 0):
                # Silent when a kept-alive connection just sat idle.
                self.notes.note(
                    "slow",
                    f"{connection.address[0]}: no complete request within {self.header_timeout:g} s: closed",
                )
            self._drop(connection)

    # --- reading ------------------------------------------------------------------------

    def _service(self, connection: Connection) -> None:
        if connection.context is not None:
            context, connection.context = connection.context, None
            self._release(connection)  # off the selector: the wrapped socket replaces this one
            try:
                connection.sock = context.wrap_socket(connection.sock, server_side=True, do_handshake_on_connect=False)
            except OSError:
                log.debug("connection from %s failed at TLS", connection.ip, exc_info=True)
                self.close(connection)
                return
            self._hold(connection, selectors.EVENT_READ)
        if connection.handshaking:
            try:
                connection.sock.do_handshake()  # type: ignore[attr-defined]
            except ssl.SSLWantReadError:
                self._hold(connection, selectors.EVENT_READ)
                return
            except ssl.SSLWantWriteError:
                self._hold(connection, selectors.EVENT_WRITE)
                return
            except OSError:  # not TLS on the TLS port, a reset, a bad certificate on their side
                log.debug("TLS handshake with %s failed", connection.ip, exc_info=True)
                self._drop(connection)
                return
            connection.handshaking = False
            self._hold(connection, selectors.EVENT_READ)
        self._read(connection)

    def _read(self, connection: Connection) -> None:
        sock = connection.sock
        while True:
            try:
                chunk = sock.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError):
                break
            except ssl.SSLWantWriteError:
                self._hold(connection, selectors.EVENT_WRITE)
                break
            except OSError:
                log.debug("connection from %s failed", connection.ip, exc_info=True)
                self._drop(connection)
                return
            if not chunk:
                self._hung_up(connection)
                return
            if connection.draining:
                connection.drained += len(chunk)
                if connection.drained > _LINGER_BYTES:
                    self._drop(connection)
                    return
            else:
                if not connection.received:
                    connection.received = True
                    if connection.then is not None:  # its next request began: the head's own deadline
                        connection.deadline, connection.then = time.monotonic() + connection.then, None
                        self._push_deadline(connection)
                connection.buffer += chunk
            # TLS may hold decrypted bytes the selector cannot see.
            if not (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                break
        if connection.watched == selectors.EVENT_WRITE:
            self._hold(connection, selectors.EVENT_READ)
        if not connection.draining:
            self._look_for_head(connection)

    def _look_for_head(self, connection: Connection) -> None:
        buffer = connection.buffer
        found = _END_OF_HEAD.search(buffer, max(0, connection.scanned - 2))
        if found is None or found.end() > HEAD_LIMIT:
            connection.scanned = len(buffer)
            if len(buffer) > HEAD_LIMIT:
                self.notes.note("large", f"{connection.address[0]}: request head over {HEAD_LIMIT} bytes: 431")
                self._release(connection)
                _send_quietly(connection.sock, _TOO_LARGE)
                self.close(connection)
            return
        connection.head = bytes(buffer[: found.end()])
        del buffer[: found.end()]
        connection.scanned = 0
        connection.requests += 1
        self._release(connection)
        if not self.dispatch(connection):
            _send_quietly(connection.sock, BUSY_ANSWER)
            self.close(connection)

    def _hung_up(self, connection: Connection) -> None:
        """The client closed its side: whatever it began is not run."""
        if connection.buffer and not connection.draining:
            words = bytes(connection.buffer.split(b"\n", 1)[0]).decode("latin-1").split()
            method, target = [*words, "", ""][:2]
            self.notes.note(
                "hung-up",
                f"{connection.address[0]}: hung up in the middle of {method[:16]} {target[:100]!r}: not run",
            )
        self._drop(connection)


def _refuse(sock: socket.socket, plain: bool) -> None:
    """Closed at once, without a worker: plain HTTP gets a 503 first (and
    what it sent is read, so the close does not reset the answer away);
    TLS is closed without a handshake."""
    try:
        sock.setblocking(False)
        if plain:
            sock.send(BUSY_ANSWER)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
    except OSError:
        pass
    sock.close()


def _send_quietly(sock: socket.socket, answer: bytes) -> None:
    """A short final answer, without waiting: it fits in the socket's
    buffer, and a client that cannot take it loses it."""
    try:
        sock.setblocking(False)
        sock.send(answer)
    except OSError:
        pass
