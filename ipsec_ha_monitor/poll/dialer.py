"""The dialer: TCP connections to devices, thousands at once, on one thread.

A device that does not answer (powered off, filtered, a wrong address, an
SSH daemon that hangs or a tarpit that accepts and never speaks) would hold
a poll worker, and a login slot, for its whole connect timeout:
900 of them listed before 100 healthy routers kept those waiting for
minutes at start-up. The Scheduler dials a device with no open session
here first, with no worker and no login slot; only a connected socket goes
on to a worker, which logs in over it (netmiko's `sock`). So a silent
device costs one file descriptor and one selector entry for its connect
timeout, and never delays one that answers. A connection counts as made
once the device has spoken: an SSH server sends its identification string
first thing (RFC 4253, 4.2), and that text stays unread for the SSH client.

    dialer = Dialer()
    future = dialer.dial("10.0.0.1", 22, timeout=10.0)   # Future[socket.socket]
    dialer.close()

A failure is an OSError whose text is the operator's: "connection refused",
"no answer within 10.0 s"; NoBanner when TCP connected and nothing came
(a worker would have waited for the SSH banner as long). Host names are resolved by a few threads of
their own (a slow DNS answer delays only its device).
"""

from __future__ import annotations

import errno
import heapq
import ipaddress
import itertools
import logging
import os
import selectors
import socket
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

RESOLVER_THREADS = 4


class NoBanner(OSError):
    """TCP connected, and the device sent nothing before the timeout."""


@dataclass(order=True)
class _Dial:
    deadline: float  # time.monotonic()
    order: int
    host: str = field(compare=False)
    port: int = field(compare=False)
    timeout: float = field(compare=False)
    future: Future[socket.socket] = field(compare=False)
    addresses: list[tuple[int, tuple[object, ...]]] = field(default_factory=list, compare=False)
    sock: socket.socket | None = field(default=None, compare=False)
    error: str = field(default="", compare=False)  # the last address's failure
    connected: bool = field(default=False, compare=False)  # TCP is up: waiting for the device's first bytes


class Dialer:
    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._selector.register(self._wake_read, selectors.EVENT_READ)
        self._lock = threading.Lock()
        self._incoming: list[_Dial] = []
        self._deadlines: list[_Dial] = []  # heap, earliest first
        self._order = itertools.count()
        self._closed = False
        self._pending = 0
        self._resolver = ThreadPoolExecutor(RESOLVER_THREADS, thread_name_prefix="dial-resolve")
        self._thread = threading.Thread(target=self._loop, name="dialer", daemon=True)
        self._thread.start()

    @property
    def dialing(self) -> int:
        """Connections being made now."""
        with self._lock:
            return self._pending

    def dial(self, host: str, port: int, timeout: float) -> Future[socket.socket]:
        """A TCP connection to host:port within `timeout` real seconds (every
        address the name resolves to, in order, within that time)."""
        future: Future[socket.socket] = Future()
        future.set_running_or_notify_cancel()
        with self._lock:
            self._pending += 1
        future.add_done_callback(self._ended)
        attempt = _Dial(time.monotonic() + timeout, next(self._order), host, port, timeout, future)
        if _is_address(host):
            attempt.addresses = _addresses(host, port)
            self._hand_over(attempt)
        else:
            self._resolver.submit(self._resolve, attempt)
        return future

    def _ended(self, future: Future[socket.socket]) -> None:
        with self._lock:
            self._pending -= 1

    def close(self) -> None:
        """Stop: connections being made fail, the thread ends."""
        with self._lock:
            self._closed = True
        self._wake()
        self._thread.join(5.0)
        self._resolver.shutdown(wait=False, cancel_futures=True)

    # --- the dialer's thread -------------------------------------------------------------

    def _resolve(self, attempt: _Dial) -> None:
        try:
            attempt.addresses = _addresses(attempt.host, attempt.port)
        except OSError as exc:
            _fail(attempt, f"cannot resolve {attempt.host}: {exc.strerror or exc}")
            return
        self._hand_over(attempt)

    def _hand_over(self, attempt: _Dial) -> None:
        with self._lock:
            if self._closed:
                _fail(attempt, "the poller stopped")
                return
            self._incoming.append(attempt)
        self._wake()

    def _wake(self) -> None:
        try:
            os.write(self._wake_write, b"x")
        except BlockingIOError:  # the pipe is full: a wake-up is pending anyway
            pass

    def _loop(self) -> None:
        while True:
            try:
                if self._turn():
                    return
            except Exception:  # a bug must not end every dial for good
                log.exception("dialer failed; carrying on")
                time.sleep(0.1)

    def _turn(self) -> bool:
        """One pass: take new dials, end late ones, wait for sockets. True
        once closed."""
        with self._lock:
            closed = self._closed
            incoming, self._incoming = self._incoming, []
        if closed:
            self._fail_all(incoming)
            return True
        for attempt in incoming:
            heapq.heappush(self._deadlines, attempt)
            self._next_address(attempt)
        now = time.monotonic()
        while self._deadlines and self._deadlines[0].deadline <= now:
            attempt = heapq.heappop(self._deadlines)
            self._drop(attempt)
            if attempt.connected:
                _fail(attempt, f"nothing received within {attempt.timeout:.1f} s", NoBanner)
            else:
                _fail(attempt, f"no answer within {attempt.timeout:.1f} s")
        wait = max(0.0, self._deadlines[0].deadline - now) if self._deadlines else None
        for key, _ in self._selector.select(wait):
            if key.fd == self._wake_read:
                try:
                    while os.read(self._wake_read, 4096):
                        pass
                except BlockingIOError:
                    pass
                continue
            self._connected(key.data)
        return False

    def _next_address(self, attempt: _Dial) -> None:
        """Start connecting to the next address; fail when none is left."""
        while attempt.addresses:
            family, address = attempt.addresses.pop(0)
            try:  # out of file descriptors (EMFILE), an unusable address family: this device's failure only
                sock = socket.socket(family, socket.SOCK_STREAM)
            except OSError as exc:
                attempt.error = _reason(exc.errno or 0)
                continue
            sock.setblocking(False)
            code = sock.connect_ex(address)
            if code in (0, errno.EINPROGRESS):
                attempt.sock = sock
                self._selector.register(sock, selectors.EVENT_WRITE, attempt)
                return
            sock.close()
            attempt.error = _reason(code)
        _fail(attempt, attempt.error or "no address to connect to")

    def _connected(self, attempt: _Dial) -> None:
        sock = attempt.sock
        assert sock is not None
        if attempt.connected:  # the device spoke (or closed: the SSH client will say so)
            self._selector.unregister(sock)
            attempt.sock = None
            sock.setblocking(True)
            if not attempt.future.done():
                attempt.future.set_result(sock)
            else:
                sock.close()
            return
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code == 0:
            attempt.connected = True
            self._selector.modify(sock, selectors.EVENT_READ, attempt)
            return
        self._selector.unregister(sock)
        sock.close()
        attempt.sock = None
        attempt.error = _reason(code)
        self._next_address(attempt)

    def _drop(self, attempt: _Dial) -> None:
        if attempt.sock is not None:
            self._selector.unregister(attempt.sock)
            attempt.sock.close()
            attempt.sock = None

    def _fail_all(self, incoming: list[_Dial]) -> None:
        for attempt in [*incoming, *self._deadlines]:
            self._drop(attempt)
            _fail(attempt, "the poller stopped")
        self._deadlines.clear()
        self._selector.close()
        os.close(self._wake_read)
        os.close(self._wake_write)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _addresses(host: str, port: int) -> list[tuple[int, tuple[object, ...]]]:
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [(family, address) for family, _, _, _, address in found]


def _reason(code: int) -> str:
    return os.strerror(code).lower() if code else "failed"


def _fail(attempt: _Dial, reason: str, kind: type[OSError] = OSError) -> None:
    if not attempt.future.done():
        attempt.future.set_exception(kind(reason))
