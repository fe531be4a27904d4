"""The login budget: how hard the exporter may knock on the fleet's doors.

A restart, or a fleet coming back after an outage, would otherwise log in
to every device at once: a storm on the TACACS+/RADIUS servers and on the
routers' vty lines (IOS throttles new SSH sessions as sshd's MaxStartups
does). Every login of a Poller, scheduled poll or /probe, goes through one
LoginBudget:

- at most `concurrency` logins in progress at once (from the SSH
  handshake to the first prompt);
- starts spaced at least 1 / `per_second` apart (product seconds, so an
  accelerated test keeps the proportions), each gap stretched by a random
  share of up to `jitter` of it, so logins never fall into lockstep with
  anyone's timer. The rate is a ceiling: jitter only ever slows it.

Only logins wait here: a poll over an open session never does, and a
device that does not answer TCP never takes a slot (the dialer finds that
out first, see ipsec_ha_monitor.poll.dialer).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from ipsec_ha_monitor.clock import SYSTEM_CLOCK, Clock


class NoLoginSlot(Exception):
    """The poll's deadline came before the budget allowed its login."""


class LoginBudget:
    def __init__(
        self,
        concurrency: int,
        per_second: float,
        jitter: float = 0.0,
        clock: Clock = SYSTEM_CLOCK,
        rng: random.Random | None = None,
    ) -> None:
        if concurrency < 1 or per_second <= 0 or not 0 <= jitter <= 1:
            raise ValueError(f"bad login budget: {concurrency} at once, {per_second}/s, jitter {jitter}")
        self.concurrency = concurrency
        self.per_second = per_second
        self.jitter = jitter
        self._clock = clock
        self._rng = rng or random.Random()
        self._slots = threading.BoundedSemaphore(concurrency)
        self._turnstile = threading.Lock()  # one start at a time, each after the previous one's gap
        self._next_start = 0.0  # Clock.real_monotonic() before which no login starts
        self._lock = threading.Lock()
        self.in_progress = 0
        self.started = 0

    def describe(self) -> str:
        return f"{self.concurrency} at once, {self.per_second:g} per second"

    @contextmanager
    def login(self, deadline: float) -> Iterator[None]:
        """Hold a login slot for the body, once the budget allows one;
        NoLoginSlot when that would be after `deadline`
        (Clock.real_monotonic())."""
        if not self._slots.acquire(timeout=max(0.0, deadline - self._clock.real_monotonic())):
            raise NoLoginSlot(f"every one of the {self.concurrency} login slots stayed busy")
        try:
            self._wait_turn(deadline)
            with self._lock:
                self.in_progress += 1
                self.started += 1
            try:
                yield
            finally:
                with self._lock:
                    self.in_progress -= 1
        finally:
            self._slots.release()

    def _wait_turn(self, deadline: float) -> None:
        if not self._turnstile.acquire(timeout=max(0.0, deadline - self._clock.real_monotonic())):
            raise NoLoginSlot(f"the login rate ({self.per_second:g} per second) left no turn")
        try:
            wait = self._next_start - self._clock.real_monotonic()
            if wait > 0:
                if self._clock.real_monotonic() + wait > deadline:
                    raise NoLoginSlot(f"the login rate ({self.per_second:g} per second) left no turn")
                time.sleep(wait)
            gap = self._clock.real(1.0 / self.per_second) * (1.0 + self.jitter * self._rng.random())
            self._next_start = self._clock.real_monotonic() + gap
        finally:
            self._turnstile.release()
