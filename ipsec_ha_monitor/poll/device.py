"""One device's poller: its SSH session, kept from one poll to the next,
dropped and reopened once when a command or the transport fails, and an
exponential backoff while the device refuses the login (so the account is
not locked out). A device that cannot be reached is tried at every poll:
a hub back from a reload is polled at the next one.

`poll()` runs one poll at a time per device: a caller arriving while a poll
runs waits for that poll and shares its snapshot (several Prometheus
replicas or /probe scrapes never multiply the logins).

No secret of the device leaves here in any form (ipsec_ha_monitor.secret_text:
as is, escaped, quoted, repr'd, JSON-encoded, mangled): a command's output is
masked as it arrives, before the parser can quote or cut any of it (a
device that prints the password back, in a reload reason, a log line or an
echo), and so is every error message. Every error, log line and record that
`check`, the exporter and the health rules see passes through here.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from ipsec_ha_monitor.clock import SYSTEM_CLOCK, Clock
from ipsec_ha_monitor.inventory import Device, PollSettings
from ipsec_ha_monitor.parse import ParseError, parse_result
from ipsec_ha_monitor.parse import errors as parse_errors
from ipsec_ha_monitor.poll.commands import (
    OPTIONAL_WITH_STATEFUL_GROUP,
    SUPPLEMENTARY,
    TYPED,
    WITHOUT,
    commands_for,
    typed,
)
from ipsec_ha_monitor.poll.dialer import NoBanner
from ipsec_ha_monitor.poll.logins import LoginBudget, NoLoginSlot
from ipsec_ha_monitor.poll.session import CommandFailure, DeviceSession, no_banner, tcp_failure
from ipsec_ha_monitor.secret_text import mask, reveals
from ipsec_ha_monitor.snapshot import CommandResult, Snapshot, Status

log = logging.getLogger(__name__)

_INVALID_COMMAND_KINDS = {
    parse_errors.INVALID_INPUT,
    parse_errors.AMBIGUOUS,
    parse_errors.INCOMPLETE_COMMAND,
}
# Failures that say the session itself is unusable: drop it and reopen once.
_SESSION_FAILURES = {Status.TIMEOUT, Status.CONNECT}
# How long past its poll timeout a poll is still waited for (netmiko's own
# timeouts are not exact); after that it is reported as timed out.
GRACE_SECONDS = 5.0


class DevicePoller:
    def __init__(
        self,
        device: Device,
        settings: PollSettings,
        session_factory: Callable[[Device, PollSettings], DeviceSession] = DeviceSession,
        clock: Clock = SYSTEM_CLOCK,
        logins: LoginBudget | None = None,
    ) -> None:
        self.device = device
        self.clock = clock
        self.logins = logins  # shared by every device of a Poller; None: no budget (one-off tools)
        self.settings = device.settings(settings)  # with the device's own timeouts
        self.commands = commands_for(device.role, device.pair_mode)
        self._session = session_factory(device, self.settings)
        self._lock = threading.Lock()
        self._inflight: Future[Snapshot] | None = None
        self._failures = 0  # consecutive failed logins
        self._retry_at = 0.0  # clock.real_monotonic() before which no login is tried (real seconds)
        self._last_login_failure: CommandFailure | None = None
        self._closed = False  # removed from the inventory, or shutting down: no more logins
        self.sessions_opened = 0

    @property
    def session_open(self) -> bool:
        return self._session.is_open

    def wants_dial(self) -> bool:
        """Whether its next poll would open a TCP connection of its own
        (no session open, no login backoff, no ProxyJump/ProxyCommand): the
        Scheduler dials such a device first, with no worker held
        (ipsec_ha_monitor.poll.dialer), and hands the socket to poll()."""
        return (
            not self._closed
            and self.device.ssh_config_file is None
            and not self._session.is_open
            and self._backoff_failure(self.clock.real_monotonic()) is None
        )

    def poll(self, dialed: socket.socket | None = None) -> Snapshot:
        """Poll now, or join the poll already running for this device.
        `dialed`: a TCP connection to the device to log in over, when one
        is needed (closed when not)."""
        with self._lock:
            inflight = self._inflight
            owner = inflight is None
            if owner:
                inflight = self._inflight = Future()
        assert inflight is not None
        if not owner:
            if dialed is not None:
                dialed.close()
            wait = self.settings.poll_timeout + GRACE_SECONDS
            try:
                return inflight.result(timeout=wait)
            except FutureTimeout:
                return self.timed_out(f"a poll of this device has been running for over {wait:g} s")
        try:
            snapshot = self._poll(dialed)
        except BaseException as exc:  # a bug must not leave waiters hanging, nor its text leak a secret
            if isinstance(exc, Exception) and self._holds_secret(str(exc)):
                masked = RuntimeError(f"{type(exc).__name__} while polling {self.device.name}: {self._scrub(str(exc))}")
                inflight.set_exception(masked)
                raise masked from None
            inflight.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._inflight = None
        inflight.set_result(snapshot)
        return snapshot

    def close(self) -> None:
        """No more logins; log out, or drop the session at once when a poll
        is using it (that poll then ends with the session gone)."""
        with self._lock:
            self._closed = True
            busy = self._inflight is not None
        if busy:
            self._session.abort()
        else:
            self._session.close()

    # --- one poll -------------------------------------------------------------

    def unreachable(self, error: OSError, duration: float, began: float) -> Snapshot:
        """A poll that ended at its connection (the dialer's `error`): every
        command failed to connect, in the words the session would use."""
        where = f"{self.device.host}:{self.device.port}"
        failure = (
            no_banner(where, self.settings.connect_timeout)
            if isinstance(error, NoBanner)
            else tcp_failure(where, str(error))
        )
        message = self._scrub(failure.message)
        log.warning("%s: %s", self.device.name, message)
        return self._stand_in(failure.status, message, self.clock.wall() - duration, began, duration, opened=True)

    def _poll(self, dialed: socket.socket | None = None) -> Snapshot:
        # Wall time for a person to read, monotonic product seconds to order
        # and age the poll, real monotonic seconds for the transport's deadline.
        started_at, began, started = self.clock.wall(), self.clock.monotonic(), self.clock.real_monotonic()
        deadline = started + self.settings.poll_timeout
        results: list[CommandResult] = []
        opened = False
        backoff = self._backoff_failure(started)
        session_open = self._session.is_open
        if dialed is not None and (backoff is not None or session_open):
            dialed.close()  # not needed after all
            dialed = None
        if backoff is not None:
            return self._snapshot(started_at, began, started, self._all(backoff.status, backoff.message), opened)
        reopened = False  # the one reopen this poll allows
        if not session_open:
            failure = self._open(deadline, dialed)
            opened = True
            if failure is not None:
                return self._snapshot(started_at, began, started, self._all(failure.status, failure.message), opened)
        pending = list(self.commands)
        while pending:
            if self.clock.real_monotonic() >= deadline:  # out of time, not out of step: the session stays
                error = f"not run: poll timeout ({self.settings.poll_timeout:g} s) reached"
                results += [CommandResult(c, Status.TIMEOUT, error=error) for c in pending]
                break
            command = pending[0]
            result = self._run(command, deadline)
            if result.status in _SESSION_FAILURES and not reopened and self.clock.real_monotonic() < deadline:
                # A dropped or stuck session (a reload, an idle timeout, a
                # stall): reopen once and carry on from this command.
                reopened = opened = True
                log.info("%s: %s; reopening the session", self.device.name, result.error)
                failure = self._open(deadline)
                if failure is None:
                    continue
                results.append(result)
                results += [CommandResult(c, failure.status, error=failure.message) for c in pending[1:]]
                break
            results.append(result)
            pending.pop(0)
            pager_stuck = result.status is Status.PAGING and not self._session.is_open  # it dropped the session
            if result.status in _SESSION_FAILURES or pager_stuck:
                self._session.abort()  # out of step with the device: never reuse it
                results += [CommandResult(c, result.status, error=f"not run: {result.error}") for c in pending]
                break
        return self._snapshot(started_at, began, started, results, opened)

    def _open(self, deadline: float, dialed: socket.socket | None = None) -> CommandFailure | None:
        removed = CommandFailure(Status.CONNECT, "not polled: the device left the inventory or the poller stopped")
        if self._closed:
            if dialed is not None:
                dialed.close()
            return removed
        try:
            if self.logins is None:
                self._session.open(deadline, dialed)
            else:
                with self.logins.login(deadline):
                    self._session.open(deadline, dialed)
        except NoLoginSlot as exc:
            if dialed is not None:
                dialed.close()
            message = f"not logged in: {exc} until the poll's deadline (polling.login_concurrency, logins_per_second)"
            log.warning("%s: %s", self.device.name, message)
            return CommandFailure(Status.TIMEOUT, message)
        except CommandFailure as failure:
            failure = CommandFailure(failure.status, self._scrub(failure.message))
            if failure.status is not Status.AUTH:
                # Refused, unreachable, no prompt: tried again at the next
                # poll, so a hub back from a reload is seen at once.
                log.warning("%s: %s", self.device.name, failure.message)
                return failure
            # A refused login is retried ever more slowly: each one counts
            # toward the account's lockout on the device or the AAA server.
            self._failures += 1
            delay = min(self.settings.backoff_max, self.settings.backoff_initial * 2 ** (self._failures - 1))
            self._retry_at = self.clock.real_monotonic() + delay
            self._last_login_failure = failure
            log.warning("%s: %s", self.device.name, failure.message)
            # At INFO: `check` (warning and above by default) makes no next
            # poll in one-shot mode, so it must not promise one.
            log.info("%s: next login in %.0f s (refused logins back off)", self.device.name, delay)
            return failure
        with self._lock:
            closed = self._closed
        if closed:  # closed while this login ran: nobody would ever log it out
            self._session.abort()
            return removed
        self._failures = 0
        self._retry_at = 0.0
        self._last_login_failure = None
        self.sessions_opened += 1
        return None

    def _backoff_failure(self, now: float) -> CommandFailure | None:
        last = self._last_login_failure
        if last is None or now >= self._retry_at:
            return None
        wait = self._retry_at - now
        return CommandFailure(
            last.status,
            f"not retried for another {wait:.0f} s after {self._failures} failed login(s); last: {last.message}",
        )

    def _run(self, command: str, deadline: float) -> CommandResult:
        began = self.clock.real_monotonic()
        remaining = deadline - began

        def result(
            status: Status,
            error: str = "",
            records: tuple[Any, ...] = (),
            monotonic: float | None = None,
            skipped_lines: int = 0,
        ) -> CommandResult:
            """This command's result, timed from `began` (real seconds)."""
            duration = self.clock.real_monotonic() - began
            return CommandResult(command, status, records, error, duration, monotonic, skipped_lines=skipped_lines)

        try:
            # Masked before the parser sees it: an error quotes a line cut
            # short, and a secret cut in half would no longer be found.
            text = self._scrub(self._session.run(typed(command), min(self.settings.command_timeout, remaining)))
            answered = self.clock.monotonic()
        except CommandFailure as failure:
            error = self._scrub(failure.message)
            return result(failure.status, error)
        try:
            # run() returns only once the prompt came: the output's last line is whole.
            parsed = parse_result(command, text, self.device.platform, filtered=command in TYPED, complete=True)
            records = tuple(parsed.records)
            if self._holds_secret("\0".join(_strings(records))):
                # The output was masked; a record that still gives a secret
                # away (in a form only the record's escaping makes) is not shown.
                error = f"{command}: output withheld: it contained a credential of this device"
                return result(Status.PARSE, error)
        except ParseError as exc:
            if exc.kind in _INVALID_COMMAND_KINDS and command in SUPPLEMENTARY:
                error = f"{typed(command)}: refused ({exc.kind}); {WITHOUT[command]}"
                return result(Status.NOT_SUPPORTED, error)
            if (
                exc.kind in _INVALID_COMMAND_KINDS
                and self.device.stateful_group
                and command in OPTIONAL_WITH_STATEFUL_GROUP
            ):
                error = (
                    f"{command}: not on this image ({exc.kind}); the inventory names the stateful group "
                    f"{self.device.stateful_group}"
                )
                return result(Status.NOT_SUPPORTED, error)
            if exc.kind in _INVALID_COMMAND_KINDS:
                status = Status.INVALID_COMMAND
            elif exc.kind == parse_errors.PAGING:
                status = Status.PAGING
            else:
                status = Status.PARSE
            error = self._scrub(str(exc))
            return result(status, error)
        if parsed.skipped:
            # Lines inside a known block that the template does not know:
            # read past, and counted, so that a new IOS line is noticed.
            number, line = parsed.skipped[0]
            log.debug(
                "%s: %s: skipped %d informational line(s) the template does not know, first at line %d: %r",
                self.device.name,
                command,
                parsed.skipped_lines,
                number,
                self._scrub(parse_errors.redact(line.strip())),
            )
        return result(Status.OK, records=records, monotonic=answered, skipped_lines=parsed.skipped_lines)

    def _snapshot(
        self, started_at: float, began: float, started: float, results: list[CommandResult], opened: bool
    ) -> Snapshot:
        """`started_at` wall time, `began` Clock.monotonic(), `started`
        Clock.real_monotonic(), all read when the poll began."""
        ended, finished = self.clock.monotonic(), self.clock.real_monotonic()
        snapshot = Snapshot(
            device=self.device.name,
            pair=self.device.pair or "",
            role=self.device.role,
            started_at=started_at,
            duration_seconds=finished - started,
            results=tuple(results),
            session_opened=opened,
            monotonic=began,
            monotonic_end=ended,
        )
        for failure in snapshot.failures:
            log.debug("%s: %s: %s: %s", self.device.name, failure.command, failure.status, failure.error)
        return snapshot

    def timed_out(
        self, message: str, started_at: float | None = None, duration: float = 0.0, began: float | None = None
    ) -> Snapshot:
        """A stand-in for a poll not waited for (a shared poll running too
        long, a probe past its deadline, a poll abandoned or crashed): every
        command timed out, with `message`. It began `duration` real seconds
        ago, or at `began` (Clock.monotonic()) when the caller read it then:
        the poll's own result, which began later, must stay newer."""
        started_at = self.clock.wall() - duration if started_at is None else started_at
        if began is None:
            began = self.clock.monotonic() - self.clock.product(duration)
        return self._stand_in(Status.TIMEOUT, message, started_at, began, duration, opened=False)

    def _stand_in(
        self, status: Status, message: str, started_at: float, began: float, duration: float, opened: bool
    ) -> Snapshot:
        """A poll that ran no command (`status` and `message` for each),
        begun `duration` real seconds ago."""
        message = self._scrub(message)
        started = self.clock.real_monotonic() - duration
        return self._snapshot(started_at, began, started, self._all(status, message), opened)

    def _all(self, status: Status, error: str) -> list[CommandResult]:
        """One failure for every command of the poll."""
        return [CommandResult(command, status, error=error) for command in self.commands]

    def _scrub(self, text: str) -> str:
        """`text` with the device's secrets masked, in any form they can take
        (escaped, quoted, repr'd, JSON-encoded)."""
        return mask(text, self.device.credentials.secrets)

    def _holds_secret(self, text: str) -> bool:
        return reveals(text, self.device.credentials.secrets)


def _strings(value: object) -> Iterator[str]:
    """Every text in parsed records (dataclasses, lists, tuples, dicts)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for spec in dataclasses.fields(value):
            yield from _strings(getattr(value, spec.name))
