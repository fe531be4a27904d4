"""How long a simulated router takes to answer, and how many logins it sees.

A real IOS router spends a fraction of a second on the SSH key exchange, up to
seconds on an AAA (TACACS+/RADIUS) password check, hundreds of milliseconds
per command, more for a long output, and then prints that output at its vty's
pace. The lab answers in milliseconds unless a LatencyProfile says otherwise:
`fast` (no delay, the lab as it always was) or `router` (the figures of
docs/lab.md#latency-profiles, where each comes from).

Every figure is in LAB seconds: RouterLatency divides by the lab clock's
time_scale, so an accelerated lab stays faithful to the router it plays.

LoginCounter is the device side of a login storm: how many SSH logins the
lab's routers saw begin, how many were in progress at once, and how many
began within any window of real time.
"""

from __future__ import annotations

import random
import threading
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields

from ipsec_ha_monitor.lab.router import Clock

KIB = 1024
# Paced output goes out in pieces of at least this many bytes, or 50 real ms
# of output when that is more: a handful of timer wake-ups per command, never
# one per byte, so that thousands of paced routers stay cheap.
CHUNK_BYTES = 4 * KIB
CHUNK_SECONDS = 0.05


@dataclass(frozen=True)
class LatencyProfile:
    """How slowly one kind of router answers. Every duration is in lab
    seconds; 0 everywhere is `fast`."""

    name: str
    handshake_seconds: float = 0.0  # SSH key exchange on the router's CPU, before authentication
    aaa_seconds: float = 0.0  # the password check (TACACS+/RADIUS round trips), per login
    command_seconds: float = 0.0  # per command typed, before its output starts
    seconds_per_kib: float = 0.0  # more per KiB of the command's output (building a long show)
    output_bytes_per_second: float = 0.0  # the vty's output rate; 0: at once
    jitter: float = 0.0  # each delay is drawn in [1 - jitter, 1 + jitter] times its figure

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name != "name" and not value >= 0:  # `not >=` also refuses NaN
                raise ValueError(f"latency profile {self.name!r}: {field.name} must not be negative, got {value}")
        if self.jitter >= 1:
            raise ValueError(f"latency profile {self.name!r}: jitter is a fraction below 1, got {self.jitter}")


PROFILES: dict[str, LatencyProfile] = {
    "fast": LatencyProfile("fast"),
    # Sources and reasoning for each figure: docs/lab.md#latency-profiles.
    "router": LatencyProfile(
        "router",
        handshake_seconds=0.3,
        aaa_seconds=1.0,
        command_seconds=0.3,
        seconds_per_kib=0.005,
        output_bytes_per_second=64 * KIB,
        jitter=0.2,
    ),
}


def profile(name: str) -> LatencyProfile:
    """The profile called `name`; ValueError naming the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown latency profile {name!r}; known: {', '.join(PROFILES)}") from None


def as_profile(latency: str | LatencyProfile) -> LatencyProfile:
    return latency if isinstance(latency, LatencyProfile) else profile(latency)


class RouterLatency:
    """One router's delays, in REAL seconds: its profile's figures with
    jitter, divided by the lab clock's time_scale (read at each call, so
    the lab's scale is the one that counts). The jitter comes from a
    random.Random seeded with `seed` (the lab seeds it per router): the
    same seed and the same sequence of logins and commands draw the same
    delays, run after run."""

    def __init__(self, profile: LatencyProfile, clock: Clock, seed: object = 0) -> None:
        self.profile = profile
        self.clock = clock
        self.seed = seed
        self._random = random.Random(str(seed))  # a str seed hashes the same in every process

    def _real(self, lab_seconds: float) -> float:
        if lab_seconds <= 0:
            return 0.0  # no draw: a profile without this delay leaves the others' sequence alone
        jitter = self.profile.jitter
        factor = self._random.uniform(1 - jitter, 1 + jitter) if jitter else 1.0
        return lab_seconds * factor / self.clock.time_scale

    def handshake(self) -> float:
        return self._real(self.profile.handshake_seconds)

    def aaa(self) -> float:
        return self._real(self.profile.aaa_seconds)

    def command(self, output_bytes: int) -> float:
        """Before a command's output starts: the base delay and the cost of
        building that much output (one draw for both)."""
        return self._real(self.profile.command_seconds + self.profile.seconds_per_kib * output_bytes / KIB)

    def paced(self, text: str) -> list[tuple[str, float]]:
        """`text` cut in pieces, each with the real seconds after the first
        write at which it is all out at the vty's rate: the last one at
        len(text) / rate. Unpaced: the whole text, at once."""
        rate = self.profile.output_bytes_per_second * self.clock.time_scale
        if not rate or not text:
            return [(text, 0.0)]
        size = max(CHUNK_BYTES, int(rate * CHUNK_SECONDS))
        pieces, sent = [], 0
        for start in range(0, len(text), size):
            piece = text[start : start + size]
            sent += len(piece.encode("utf-8", "replace"))
            pieces.append((piece, sent / rate))
        return pieces


class LoginCounter:
    """SSH logins seen by a lab's routers, all of them (the device side of a
    login storm). A login begins with the client's first bytes (its SSH
    version string: a TCP connection alone is none) and ends when its shell
    or exec request opens after authentication, or when the connection
    closes before that. Times are real (time.monotonic).

    Updated on the lab's event loop and readable from any thread (LabThread
    users read it from theirs): every method holds one lock. The start times
    of the last `keep` logins are kept for max_started_within()."""

    def __init__(self, keep: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._starts: deque[float] = deque(maxlen=keep)
        self._open: set[int] = set()
        self._next = 0
        self._started = 0
        self._max_in_progress = 0

    def begin(self) -> int:
        """A login starts now; returns its token for end()."""
        with self._lock:
            token = self._next
            self._next += 1
            self._open.add(token)
            self._started += 1
            self._starts.append(self._clock())
            self._max_in_progress = max(self._max_in_progress, len(self._open))
            return token

    def end(self, token: int) -> None:
        """That login ended (a second call for the same token does nothing)."""
        with self._lock:
            self._open.discard(token)

    @property
    def started(self) -> int:
        """Logins begun since the counter was made or reset."""
        with self._lock:
            return self._started

    @property
    def in_progress(self) -> int:
        with self._lock:
            return len(self._open)

    @property
    def max_in_progress(self) -> int:
        """The most logins in progress at once since the counter was made or reset."""
        with self._lock:
            return self._max_in_progress

    def max_started_within(self, seconds: float) -> int:
        """The most logins begun within any window of `seconds` real seconds
        (both ends included), among the last `keep` since the reset."""
        if not seconds >= 0:
            raise ValueError(f"a window of {seconds} seconds: it must not be negative")
        with self._lock:
            starts = list(self._starts)  # monotonic, so already in order
        best = 0
        for last, moment in enumerate(starts):
            first = bisect_left(starts, moment - seconds, 0, last + 1)
            best = max(best, last - first + 1)
        return best

    def reset(self) -> None:
        """Forget what was counted; logins still in progress stay counted as
        in progress (their end comes later), not as started."""
        with self._lock:
            self._starts.clear()
            self._started = 0
            self._max_in_progress = len(self._open)
