"""Basic-auth checks that cannot hold every worker: the exporter's front door
for passwords.

A credential that passed before (WebConfig.remembered) passes at once,
without bcrypt, whoever else is knocking. Every other one is checked with
bcrypt (WebConfig.authorized, slow on purpose) in a small pool of
`checkers` threads with room for `queue` more waiting; when that is full,
the request is answered 503 with Retry-After at once (not 401: the password
was not even looked at, and a 401 would tell a right one it is wrong).

A client address with `failures` failed logins within `window` seconds is
penalised for `penalty` seconds: its logins that have not passed before get
429 with Retry-After, without bcrypt. Failed logins are logged at WARNING
(throttled) with the address and how many user names it tried, never a
password nor a name.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
import time
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ipsec_ha_monitor.export.throttled import Throttled
from ipsec_ha_monitor.export.web_config import WebConfig, basic_credentials
from ipsec_ha_monitor.words import count

log = logging.getLogger(__name__)

DEFAULT_PASSWORD_CHECKERS = max(1, min(4, os.cpu_count() or 1))  # bcrypt threads: one per CPU, at most 4
DEFAULT_PASSWORD_QUEUE = 8  # checks waiting for a bcrypt thread, beyond those running
FAILURES_BEFORE_PENALTY = 20  # in the window: a flood, not a person mistyping a few times
FAILURE_WINDOW_SECONDS = 60.0
PENALTY_SECONDS = 60.0
_ADDRESSES_KEPT = 10_000  # failure records: the oldest go first
_USER_NAMES_KEPT = 100  # per address, only to count them


class Verdict(enum.Enum):
    PASS = "pass"
    DENIED = "denied"  # 401: wrong or missing credentials
    BUSY = "busy"  # 503: no room to check the password now
    PENALISED = "penalised"  # 429: this address failed too often of late


@dataclass
class _Record:
    """One client address's recent failed logins."""

    failures: deque[float] = field(default_factory=deque)  # monotonic times, within the window
    users: set[str] = field(default_factory=set)  # names tried (counted, never logged)
    total: int = 0
    penalised_until: float = 0.0
    refused: int = 0


class PasswordGate:
    def __init__(
        self,
        notes: Throttled,
        *,
        checkers: int = DEFAULT_PASSWORD_CHECKERS,
        queue: int = DEFAULT_PASSWORD_QUEUE,
        failures: int = FAILURES_BEFORE_PENALTY,
        window: float = FAILURE_WINDOW_SECONDS,
        penalty: float = PENALTY_SECONDS,
    ) -> None:
        if checkers < 1 or queue < 0 or failures < 1:
            raise ValueError("checkers and failures are at least 1, queue at least 0")
        self.notes = notes
        self.checkers, self.queue = checkers, queue
        self.failures_allowed, self.window, self.penalty = failures, window, penalty
        self.checks = 0  # bcrypt checks started
        self.refused_busy = 0
        self.refused_penalised = 0
        self._pool = ThreadPoolExecutor(max_workers=checkers, thread_name_prefix="password-check")
        self._room = threading.BoundedSemaphore(checkers + queue)
        self._lock = threading.Lock()
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def check(self, web: WebConfig, header: str | None, ip: str) -> Verdict:
        """The verdict on an Authorization header from client address `ip`;
        waits for bcrypt only when there was room to queue it."""
        if web.remembered(header):
            return Verdict.PASS
        credentials = basic_credentials(header)
        if credentials is None:  # no credentials at all (a browser's first try): nothing to check
            return Verdict.DENIED
        user = credentials[0]
        now = time.monotonic()
        with self._lock:
            record = self._records.get(ip)
            if record is not None and record.penalised_until > now:
                record.refused += 1
                self.refused_penalised += 1
                return Verdict.PENALISED
        if not self._room.acquire(blocking=False):
            self.refused_busy += 1
            self.notes.note("password-busy", f"{ip}: password check refused (503): every password checker is busy")
            return Verdict.BUSY
        try:
            future = self._pool.submit(web.authorized, header)
        except RuntimeError:  # shut down: the exporter is stopping
            self._room.release()
            return Verdict.BUSY
        future.add_done_callback(lambda _: self._room.release())
        with self._lock:
            self.checks += 1
        try:
            passed = future.result()
        except Exception:
            log.debug("password check failed", exc_info=True)
            passed = False
        if passed:
            return Verdict.PASS
        self._failed(ip, user)
        return Verdict.DENIED

    def _failed(self, ip: str, user: str) -> None:
        now = time.monotonic()
        with self._lock:
            record = self._records.pop(ip, None) or _Record()
            self._records[ip] = record  # the most recent last
            while len(self._records) > _ADDRESSES_KEPT:
                self._records.popitem(last=False)
            record.total += 1
            if len(record.users) < _USER_NAMES_KEPT:
                record.users.add(user)
            record.failures.append(now)
            while record.failures and record.failures[0] < now - self.window:
                record.failures.popleft()
            penalised = len(record.failures) >= self.failures_allowed
            if penalised:
                record.penalised_until = now + self.penalty
                record.failures.clear()
            total, names = record.total, len(record.users)
        self.notes.note(
            "login",
            f"failed login from {ip}: {count(total, 'failure')} from this address, {count(names, 'user name')} tried",
        )
        if penalised:
            self.notes.note(
                "login-penalty",
                f"{ip}: {self.failures_allowed} failed logins within {self.window:g} s: its logins that have not "
                f"passed before are refused (429) for {self.penalty:g} s; a verified password still passes",
            )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
