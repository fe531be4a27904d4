"""The syslog receiver of `serve --syslog.listen-address`: UDP and TCP on
one address, one thread, and what it counts.

Each message goes, cheapest check first:

    source address known? -> within its source's rate? -> envelope (framing.py)
    -> which device (sources.py) -> Cisco log line (parse.parse_log_message)
    -> counted; a watched one (watched.py) asks for a poll of its pair (trigger.py)

Anything refused on the way is dropped and counted by reason, never
parsed further: an unknown or spoofed source costs a dictionary look-up,
a flood from one source its token bucket, so neither slows the scrapes,
the polls or the other sources. What a message says is never taken as
state: the poll it triggers is.

Limits (real seconds: the network and the CPU do not run faster with
--time.scale): at most MAX_MESSAGE_BYTES per message; per source address
`rate_limit` messages a second (bursts of BURST_SECONDS' worth); TCP: at
most MAX_CONNECTIONS connections, MAX_CONNECTIONS_PER_SOURCE from one
address, each closed after IDLE_SECONDS without a byte.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import selectors
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ipsec_ha_monitor.clock import Clock
from ipsec_ha_monitor.inventory import Inventory
from ipsec_ha_monitor.parse import ParseError, parse_log_message
from ipsec_ha_monitor.syslog.framing import MAX_MESSAGE_BYTES, Dropped, TcpFramer, read_envelope
from ipsec_ha_monitor.syslog.sources import SourceMap
from ipsec_ha_monitor.syslog.trigger import MIN_GAP_SECONDS, SETTLE_SECONDS, Debouncer
from ipsec_ha_monitor.syslog.watched import OTHER, watched

log = logging.getLogger(__name__)

DEFAULT_RATE_LIMIT = 100.0  # messages a second per source address
BURST_SECONDS = 5.0  # a source may send this many seconds' worth at once (a failover's burst)
MAX_CONNECTIONS = 64
MAX_CONNECTIONS_PER_SOURCE = 4
IDLE_SECONDS = 300.0
QUIET_SECONDS = 1.0  # a TCP stream quiet this long: its last message, without a line feed, is complete
_UDP_BATCH = 256  # datagrams read per wake-up before the TCP connections get their turn
_TICK = 0.5  # the loop looks at its timers at least this often (seconds)
_WARN_EVERY = 60.0  # seconds between two warnings about one flooding source
FLOOD_PAUSE = 0.005  # seconds the receiver waits after a batch that held datagrams it dropped unread

# Every reason a message is dropped: the ipsecha_syslog_dropped_total labels.
DROP_REASONS = (
    "unknown_source",  # no inventory device has that address
    "ambiguous_source",  # several devices share the address and the message names none of them
    "rate_limited",  # its source sent more than --syslog.rate-limit
    "oversize",  # larger than MAX_MESSAGE_BYTES
    "malformed",  # no syslog: no <PRI>, binary, not UTF-8, RFC 5424 that does not read
    "framing",  # a TCP stream that breaks its framing (the connection is closed)
    "not_cisco",  # syslog from a known device with no %FACILITY-SEVERITY-MNEMONIC: message
    "connection_limit",  # a TCP connection beyond the limits, closed at once
)


@dataclass
class _Bucket:
    tokens: float
    at: float
    refused: int = 0  # messages refused since the last warning about this source
    warned: float = float("-inf")  # when that warning was logged


@dataclass
class _Connection:
    sock: socket.socket
    address: str
    framer: TcpFramer = field(default_factory=TcpFramer)
    last_read: float = 0.0


class SyslogStats:
    """What the receiver counted, for /metrics. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages: Counter[tuple[str, str]] = Counter()  # (device, label)
        self.dropped: Counter[str] = Counter({reason: 0 for reason in DROP_REASONS})
        self.last_watched: dict[str, float] = {}  # device -> Unix time its last watched message came
        self.polls: Counter[str] = Counter()  # device -> polls its messages asked for

    def count(self, device: str, label: str, wall: float | None) -> None:
        with self._lock:
            self.messages[(device, label)] += 1
            if wall is not None:
                self.last_watched[device] = wall

    def drop(self, reason: str, count: int = 1) -> None:
        with self._lock:
            self.dropped[reason] += count

    def polled(self, devices: tuple[str, ...]) -> None:
        with self._lock:
            for device in devices:
                self.polls[device] += 1

    def forget(self, inventory: Inventory) -> None:
        with self._lock:
            for key in [key for key in self.messages if key[0] not in inventory.devices]:
                del self.messages[key]
            for name in [name for name in self.last_watched if name not in inventory.devices]:
                del self.last_watched[name]
            for name in [name for name in self.polls if name not in inventory.devices]:
                del self.polls[name]

    def read(self) -> SyslogCounts:
        """A consistent copy, for the exporter to render (export/metrics.py)."""
        with self._lock:
            return SyslogCounts(dict(self.messages), dict(self.dropped), dict(self.last_watched), dict(self.polls))


@dataclass(frozen=True)
class SyslogCounts:
    messages: dict[tuple[str, str], int]  # (device, mnemonic label) -> messages
    dropped: dict[str, int]  # reason -> messages
    last_watched: dict[str, float]  # device -> Unix time of its last watched message
    polls: dict[str, int]  # device -> polls its pair's messages asked for


class SyslogReceiver:
    """UDP and TCP syslog on `address` ((host, port); host "" or "::" is
    every interface, IPv4 and IPv6), for the devices of the inventory that
    `refresh` was last given. A watched message calls `request_polls`
    with the device names to poll (its pair's members), which returns
    those whose poll it moved earlier or added."""

    def __init__(
        self,
        address: tuple[str, int],
        inventory: Inventory,
        request_polls: Callable[[tuple[str, ...]], tuple[str, ...]],
        clock: Clock,
        *,
        rate_limit: float = DEFAULT_RATE_LIMIT,
    ) -> None:
        if not rate_limit > 0:
            raise ValueError(f"the syslog rate limit must be a positive number of messages a second, got {rate_limit}")
        self.clock = clock
        self.stats = SyslogStats()
        self.rate_limit = rate_limit
        self._burst = rate_limit * BURST_SECONDS
        self._request_polls = request_polls
        self._inventory = inventory
        self._sources = SourceMap(inventory)
        self._new_inventory: Inventory | None = None
        self._buckets: dict[str, _Bucket] = {}
        self._debouncer = Debouncer(clock.real(MIN_GAP_SECONDS), clock.real(SETTLE_SECONDS))
        self._connections: dict[int, _Connection] = {}
        self._stopped = threading.Event()
        self._udp, self._tcp = _bind(address)  # first: an address in use leaves nothing open
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._wake_write.setblocking(False)
        self._udp_buffer = bytearray(MAX_MESSAGE_BYTES + 1)  # one read buffer: a flood allocates nothing
        self._udp_view = memoryview(self._udp_buffer)
        self.address: tuple[str, int] = self._udp.getsockname()[:2]
        self._selector.register(self._udp, selectors.EVENT_READ, "udp")
        self._selector.register(self._tcp, selectors.EVENT_READ, "listen")
        self._selector.register(self._wake_read, selectors.EVENT_READ, "wake")
        self._thread = threading.Thread(target=self._loop, name="syslog", daemon=True)

    # --- control ----------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._wake()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(5)
        if self._thread.is_alive():  # held up (a DNS look-up of a reload): the port is freed all the same
            log.warning("syslog receiver still busy after 5 s; closing its sockets under it")
        for connection in list(self._connections.values()):
            connection.sock.close()
        self._connections.clear()
        for sock in (self._udp, self._tcp, self._wake_read, self._wake_write):
            sock.close()
        with contextlib.suppress(Exception):  # the busy thread may still hold it
            self._selector.close()

    def refresh(self, inventory: Inventory) -> None:
        """A new inventory (SIGHUP): its devices' addresses are taken in the
        receiver's thread (a host name may need DNS)."""
        self._new_inventory = inventory
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_write.send(b"x")

    # --- the loop -----------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopped.is_set():
            try:
                self._once()
            except Exception:  # a bug must not end the receiver for good
                log.exception("syslog receiver failed; carrying on")
                self._stopped.wait(_TICK)

    def _once(self) -> None:
        now = self.clock.real_monotonic()
        due = self._debouncer.next_due()
        timeout = _TICK if due is None else min(_TICK, max(0.0, due - now))
        for key, _ in self._selector.select(timeout):
            if key.data == "udp":
                self._read_udp()
            elif key.data == "listen":
                self._accept()
            elif key.data == "wake":
                with contextlib.suppress(OSError):
                    self._wake_read.recv(4096)
            else:
                self._read_tcp(key.data)
        now = self.clock.real_monotonic()
        for target in self._debouncer.due(now):
            self._poll(target)
        if self._new_inventory is not None:
            inventory, self._new_inventory = self._new_inventory, None
            self._inventory, self._sources = inventory, SourceMap(inventory)
            self.stats.forget(inventory)  # here: no message of a removed device comes after
            self._buckets = {a: b for a, b in self._buckets.items() if self._sources.knows(a)}
            self._debouncer.forget(set(inventory.pairs) | set(inventory.devices))
        for fd, connection in list(self._connections.items()):
            if now - connection.last_read > IDLE_SECONDS:
                self._close(fd)
            elif connection.framer.pending and now - connection.last_read > QUIET_SECONDS:
                self._take_frames(connection.framer.flush(), connection.address)  # IOS's unframed stream

    def _read_udp(self) -> None:
        """A batch of datagrams. A flood costs each of its datagrams a read
        into one buffer, a look-up and its source's bucket: nothing is
        copied, locked or parsed for a message dropped by source or rate."""
        now = self.clock.real_monotonic()
        buffer, view = self._udp_buffer, self._udp_view
        refused: Counter[str] = Counter()
        drained = False
        try:
            for _ in range(_UDP_BATCH):
                try:
                    size, source = self._udp.recvfrom_into(buffer)
                except (BlockingIOError, InterruptedError):
                    drained = True
                    return
                except OSError as exc:  # an ICMP error queued on the socket, and the like
                    log.debug("syslog: UDP receive: %s", exc)
                    return
                address = source[0]
                reason = self._refused(address, now)
                if reason is None:
                    self._take(bytes(view[:size]), address)
                else:
                    refused[reason] += 1
        finally:
            for reason, count in refused.items():
                self.stats.drop(reason, count)
            if refused and drained:
                # A flood (or a spoofer) that the reads keep up with: let the
                # socket buffer gather the next datagrams rather than wake
                # for every few, which costs the scrapes and polls the
                # interpreter far more than the reads do. Never after a full
                # batch: a faster flood is read as fast as it comes, so that
                # the routers' own datagrams are not lost in a full buffer.
                # They wait FLOOD_PAUSE at most.
                time.sleep(FLOOD_PAUSE)

    def _accept(self) -> None:
        try:
            sock, source = self._tcp.accept()
        except OSError:
            return
        address = source[0]
        if not self._sources.knows(address):
            self.stats.drop("unknown_source")
            sock.close()
            return
        from_source = sum(1 for c in self._connections.values() if c.address == address)
        if len(self._connections) >= MAX_CONNECTIONS or from_source >= MAX_CONNECTIONS_PER_SOURCE:
            self.stats.drop("connection_limit")
            sock.close()
            return
        sock.setblocking(False)
        self._connections[sock.fileno()] = _Connection(sock, address, last_read=self.clock.real_monotonic())
        self._selector.register(sock, selectors.EVENT_READ, sock.fileno())

    def _read_tcp(self, fd: int) -> None:
        connection = self._connections.get(fd)
        if connection is None:
            return
        try:
            data = connection.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._take_frames(connection.framer.flush(), connection.address)  # a last one without its line feed
            self._close(fd)
            return
        connection.last_read = self.clock.real_monotonic()
        try:
            frames = connection.framer.feed(data)
        except Dropped as dropped:
            log.debug("syslog: TCP from %s closed: %s", connection.address, dropped)
            self.stats.drop(dropped.reason)
            self._close(fd)
            return
        self._take_frames(frames, connection.address)

    def _close(self, fd: int) -> None:
        connection = self._connections.pop(fd, None)
        if connection is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(connection.sock)
            connection.sock.close()

    # --- one message ----------------------------------------------------------------------

    def _refused(self, address: str, now: float) -> str | None:
        """Why a message from `address` is dropped unread (its drop reason),
        None to read it: the checks that cost a look-up, before any other."""
        if not self._sources.knows(address):
            return "unknown_source"  # a TCP peer too, after a reload took its address away
        if not self._within_rate(address, now):
            return "rate_limited"
        return None

    def _take_frames(self, frames: list[bytes], address: str) -> None:
        """TCP frames from `address`, each checked as a datagram is."""
        now = self.clock.real_monotonic()
        for frame in frames:
            reason = self._refused(address, now)
            if reason is None:
                self._take(frame, address)
            else:
                self.stats.drop(reason)

    def _take(self, data: bytes, address: str) -> None:
        """One message from `address`, its source and rate checked (_refused)."""
        try:
            envelope = read_envelope(data)
            device = self._sources.device(address, envelope.hostname)
            message = parse_log_message(envelope.line, self._inventory.devices[device].platform)
        except Dropped as dropped:
            log.debug("syslog: from %s: dropped: %s", address, dropped)
            self.stats.drop(dropped.reason)
            return
        except ParseError:
            self.stats.drop("not_cisco")
            return
        except Exception:  # a bug, never the receiver's end nor a stall: that message alone is lost
            log.exception("syslog: from %s: a message could not be read (a bug; please report it)", address)
            self.stats.drop("malformed")
            return
        row = watched(message)
        if row is None:
            self.stats.count(device, OTHER, None)
            return
        self.stats.count(device, row.label, self.clock.wall())
        target = self._inventory.devices[device].pair or device
        if self._debouncer.note(target, self.clock.real_monotonic()):
            self._poll(target)

    def _within_rate(self, address: str, now: float) -> bool:
        bucket = self._buckets.get(address)
        if bucket is None:
            bucket = self._buckets[address] = _Bucket(self._burst, now)
        if now > bucket.at:
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.at) * self.rate_limit)
            bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return True
        bucket.refused += 1
        if now - bucket.warned >= _WARN_EVERY:  # who floods: one line per source and minute at most
            names = self._sources.names(address)
            log.warning(
                "syslog: %s (%s) sends more than %g messages a second: %d dropped (rate_limited) since the last"
                " such line",
                address,
                ", ".join(names),
                self.rate_limit,
                bucket.refused,
            )
            bucket.warned, bucket.refused = now, 0
        return False

    def _poll(self, target: str) -> None:
        pair = self._inventory.pairs.get(target)
        devices = pair.members if pair is not None else (target,) if target in self._inventory.devices else ()
        if devices:
            self.stats.polled(self._request_polls(devices))  # those whose poll was moved earlier or added


def _bind(address: tuple[str, int]) -> tuple[socket.socket, socket.socket]:
    """A UDP and a TCP socket on one address; host "" (or "::") binds IPv6
    and IPv4 together where the system allows, else 0.0.0.0. Port 0: the
    TCP socket takes the UDP socket's free port."""
    host, port = address
    every = host in ("", "::")
    family = socket.AF_INET6 if ":" in host or (every and socket.has_ipv6) else socket.AF_INET
    bind_host = ("::" if family == socket.AF_INET6 else "0.0.0.0") if every else host
    opened: list[socket.socket] = []
    try:
        udp = socket.socket(family, socket.SOCK_DGRAM)
        opened.append(udp)
        tcp = socket.socket(family, socket.SOCK_STREAM)
        opened.append(tcp)
        for sock in (udp, tcp):
            if family == socket.AF_INET6 and every:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with contextlib.suppress(OSError):  # room for a failover's burst while the thread is busy
            udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        udp.bind((bind_host, port))
        tcp.bind((bind_host, udp.getsockname()[1]))
        tcp.listen(MAX_CONNECTIONS)
        udp.setblocking(False)
        tcp.setblocking(False)
    except OSError as exc:
        for sock in opened:
            sock.close()
        if exc.errno == errno.EAFNOSUPPORT and every and family == socket.AF_INET6:  # a host with IPv6 off
            return _bind(("0.0.0.0", port))
        raise
    return udp, tcp
