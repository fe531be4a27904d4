"""`ipsec-ha-monitor check`: poll the inventory once (or every N seconds
with --watch), judge every pair, print a table per pair, JSON, or one
Nagios plugin result, and exit with the verdict.

    --state FILE   remember uptimes and RF-active members between runs,
                   so a check from cron reports reloads and switchovers,
                   and the box-to-box groups' counters and ACTIVE members,
                   so it sees flapping, control-link errors and takeovers
                   (monotonic time on one boot of the host, see state.py)
    --watch N      keep polling every N seconds on the same sessions;
                   SIGHUP reloads the inventory, keeping unchanged sessions;
                   SIGINT / SIGTERM stop (the last verdict is the exit code)
    --time.scale F product seconds per real second (accelerated tests
                   against the lab): --watch, the reload window and
                   tolerance are product seconds (ipsec_ha_monitor/clock.py)
    --nagios       one plugin result (status line, perfdata, long text) and
                   the plugin exit codes; not with --json or --watch
    -t SECONDS     the time budget (below): devices not answered by then
                   are reported timed out, the rest judged
    --pair NAME    poll only that pair's members (repeatable)
    --device NAME  poll only that device (repeatable; with --pair: the union).
                   A pair is judged only when both its members are selected;
                   a pair with one member selected shows that member's row
                   and "not judged", and counts toward no verdict.

Exit codes, the first that applies wins:

    default       2  refused before any poll: bad usage, a bad inventory, an
                     unknown --pair/--device name, an unusable --state file
                     (nothing is polled, so nothing else can apply)
                  1  a selected pair is unhealthy, recovering (an
                     unexpected reload within the hour) or degraded (only
                     warning rules failed)
                  2  a selected device could not be polled, a pair's verdict
                     is unknown, or the state could not be saved
                  0  every selected pair healthy and every device polled
    --nagios      3  UNKNOWN: refused before any poll (as the 2 above: a
                     plugin never says CRITICAL for its own bad input)
                  2  CRITICAL: a pair is unhealthy or recovering (a
                     critical rule failed: the severity of its alert)
                  1  WARNING: a pair is degraded (only warning rules
                     failed, such as preemption or rising IPsec errors)
                  3  UNKNOWN: a device could not be polled, a pair's verdict
                     is unknown, or the state could not be saved
                  0  OK
                  (after a poll: CRITICAL > WARNING > UNKNOWN > OK, as
                  check_multi and Icinga's worst-state rules rank them: a
                  known fault is never hidden behind an unknown part)

The --state file is checked before any poll: it must be absent (a fresh
state), empty, or one this monitor wrote (it carries a "format" marker;
files written before the marker are recognised by their exact fields), and
its directory must take a new file (it is created when missing, as mkdir -p
would). Otherwise: one line naming the path, exit 2 (UNKNOWN 3 with
--nagios), and the file is left as it is.

-t/--timeout (default 50 s with --nagios, none without) is the time budget
of the run, monotonic, in product seconds: devices that have not answered
by then are reported as timed out and the rest judged, and the result is
out before the budget ends whatever the devices do (ipsec_ha_monitor/check/budget.py).

A front end over ipsec_ha_monitor.core.Monitor, as the exporter is: the same
polling, recording, reload tracking and judging.

The pollers already mask every credential in what they report; what
`check` prints passes one last such scrub (a state file written before
that, say): a secret of the inventory, in any form, is masked in the table,
the JSON and the plugin text.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import threading
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TextIO

from ipsec_ha_monitor.check.budget import DEFAULT_NAGIOS_TIMEOUT, Budget, not_answered
from ipsec_ha_monitor.check.nagios import (
    NAGIOS_CRITICAL,
    NAGIOS_OK,
    NAGIOS_UNKNOWN,
    NAGIOS_WARNING,
    nagios_line,
    render_nagios,
)
from ipsec_ha_monitor.check.progress import ProgressBar
from ipsec_ha_monitor.check.result import (
    EXIT_HEALTHY,
    EXIT_NOT_POLLED,
    EXIT_REFUSED,
    EXIT_UNHEALTHY,
    CheckResult,
    Selection,
    run_check,
)
from ipsec_ha_monitor.check.scrub import scrub_lines, scrub_nagios, scrub_values, secrets_of
from ipsec_ha_monitor.check.state import CheckState, check_state_writable, load_check_state, load_state, save_state
from ipsec_ha_monitor.check.table import render_text
from ipsec_ha_monitor.clock import Clock
from ipsec_ha_monitor.core import Monitor, SignalLoop, describe_error
from ipsec_ha_monitor.health_b2b import RgHistory
from ipsec_ha_monitor.inventory import Inventory, InventoryError, Pair, load_inventory
from ipsec_ha_monitor.limits import fit_open_files, open_files_needed
from ipsec_ha_monitor.logs import one_line
from ipsec_ha_monitor.reloads import ReloadTracker

__all__ = [
    "EXIT_HEALTHY",
    "EXIT_NOT_POLLED",
    "EXIT_REFUSED",
    "EXIT_UNHEALTHY",
    "NAGIOS_CRITICAL",
    "NAGIOS_OK",
    "NAGIOS_UNKNOWN",
    "NAGIOS_WARNING",
    "CheckResult",
    "ProgressBar",
    "Selection",
    "load_state",
    "main",
    "render_nagios",
    "render_text",
    "run_check",
    "save_state",
]

log = logging.getLogger(__name__)


class _Refused(Exception):
    """Bad usage or input, found before any poll: one line."""


def main(
    config: str,
    as_json: bool,
    state: str | None,
    watch: float | None,
    progress: bool | None,
    *,
    nagios: bool = False,
    pairs: Sequence[str] = (),
    devices: Sequence[str] = (),
    time_scale: float = 1.0,
    clock: Clock | None = None,
    timeout: float | None = None,
    started: float | None = None,
    hard_exit: bool = False,
) -> int:
    """The `check` subcommand; returns the exit code (see the module's
    docstring for which wins). `progress` None: a bar when stderr is a
    terminal. `nagios`: one plugin result on stdout, exit 0-3; bad input
    is UNKNOWN (3) there, and so is any error of check itself (Python's
    own exit 1 would read as WARNING). `clock` (tests: a stepped one)
    defaults to the system's at `time_scale`.

    `timeout` (product seconds; None: DEFAULT_NAGIOS_TIMEOUT with `nagios`,
    else no budget) from `started` (Clock.real_monotonic(), default now):
    see ipsec_ha_monitor/check/budget.py; with --watch, each round's. `hard_exit`
    (the command line): a one-shot check whose budget runs out before it
    has answered writes what it can and ends the process (os._exit)."""
    clock = clock if clock is not None else Clock(time_scale)
    _answered.clear()  # this run's result: none yet (a caller may run several checks in one process)
    if timeout is None and nagios:
        timeout = DEFAULT_NAGIOS_TIMEOUT
    budget = None
    if timeout is not None:
        budget = Budget(timeout, clock.real_monotonic() if started is None else started, clock)
    watchdog = _Watchdog(budget, nagios) if budget is not None and hard_exit and watch is None else None
    try:
        selection = Selection(tuple(pairs), tuple(devices))
        return _run(config, as_json, state, watch, progress, nagios, selection, clock, budget)
    finally:
        if watchdog is not None:
            watchdog.cancel()


def _run(
    config: str,
    as_json: bool,
    state: str | None,
    watch: float | None,
    progress: bool | None,
    nagios: bool,
    selection: Selection,
    clock: Clock,
    budget: Budget | None,
) -> int:
    if not nagios:
        try:
            return _main(config, as_json, state, watch, progress, selection, False, clock, budget)
        except _Refused as exc:
            _write(f"ipsec-ha-monitor check: {exc}\n", EXIT_REFUSED, sys.stderr)
            return EXIT_REFUSED
    try:
        if as_json or watch is not None:
            raise _Refused("--nagios gives one plugin result: it cannot be combined with --json or --watch")
        return _main(config, False, state, None, False, selection, True, clock, budget)
    except _Refused as exc:
        _write(nagios_line(NAGIOS_UNKNOWN, str(exc)), NAGIOS_UNKNOWN)
    except KeyboardInterrupt:
        _write(nagios_line(NAGIOS_UNKNOWN, "interrupted"), NAGIOS_UNKNOWN)
    except Exception as exc:  # a bug: the plugin still answers UNKNOWN, never Python's exit 1 (WARNING)
        log.debug("check failed", exc_info=True)
        _write(nagios_line(NAGIOS_UNKNOWN, f"check failed: {type(exc).__name__}"), NAGIOS_UNKNOWN)
    return NAGIOS_UNKNOWN


# The result is written once, under this lock: the watchdog never writes a
# second one, nor into the middle of the first.
_OUTPUT_LOCK = threading.Lock()
_answered: list[int] = []  # the exit code of the result written, once one is


def _write(text: str, code: int | None = None, stream: TextIO | None = None) -> None:
    """Write a result (`code`: the exit code it goes with, noted for the
    watchdog; None: a --watch round, which notes nothing)."""
    stream = sys.stdout if stream is None else stream
    with _OUTPUT_LOCK:
        try:
            stream.write(text)
            stream.flush()
        except BrokenPipeError:  # the reader left
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
        if code is not None:
            _answered.append(code)


class _Watchdog:
    """At the end of the budget: a check that has not answered yet writes
    one line (UNKNOWN with --nagios; exit 2 otherwise) and ends; one that
    has (its sessions still closing) ends with its own exit code. Never
    later than the budget, whatever a device, a file system or a logout does."""

    def __init__(self, budget: Budget, nagios: bool) -> None:
        self.budget, self.nagios = budget, nagios
        self._cancelled = threading.Event()
        threading.Thread(target=self._run, name="check-timeout", daemon=True).start()

    def cancel(self) -> None:
        self._cancelled.set()

    def _run(self) -> None:
        if self._cancelled.wait(max(0.0, self.budget.left())):
            return
        with _OUTPUT_LOCK:
            if self._cancelled.is_set():
                return
            if _answered:
                code = _answered[-1]
            else:
                why = f"timed out after {self.budget.seconds:g} s (--timeout) before the result was complete"
                code = NAGIOS_UNKNOWN if self.nagios else EXIT_NOT_POLLED
                text = nagios_line(code, why) if self.nagios else f"ipsec-ha-monitor check: {why}\n"
                stream = sys.stdout if self.nagios else sys.stderr
                try:
                    stream.write(text)
                    stream.flush()
                except (OSError, ValueError):
                    pass
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os._exit(code)


def _load(config: str, selection: Selection) -> tuple[Inventory, tuple[Pair, ...]]:
    """The inventory narrowed to the selection (_Refused: one line naming the file)."""
    try:
        inventory = load_inventory(config)
    except InventoryError as exc:
        raise _Refused(one_line(str(exc))) from None
    except Exception as exc:  # whatever load_inventory did not foresee: never a traceback, never exit 1
        raise _Refused(f"{config}: {describe_error(exc)}") from None
    try:
        return selection.apply(inventory)
    except ValueError as exc:
        raise _Refused(str(exc)) from None


def _main(
    config: str,
    as_json: bool,
    state: str | None,
    watch: float | None,
    progress: bool | None,
    selection: Selection,
    nagios: bool,
    clock: Clock,
    budget: Budget | None = None,
) -> int:
    original, partial = _load(config, selection)
    inventory = budget.capped(original) if budget is not None else original
    uncapped = [original]  # as the file has it (SIGHUP may change it): whose timeouts the budget capped
    state_path = Path(state) if state else None
    try:
        kept = (
            load_check_state(state_path, clock) if state_path else CheckState(ReloadTracker(clock=clock), RgHistory())
        )
        if state_path is not None:
            check_state_writable(state_path)
    except ValueError as exc:
        raise _Refused(str(exc)) from None
    show_progress = sys.stderr.isatty() if progress is None else progress
    fit_open_files(open_files_needed(len(inventory.devices)))
    monitor = Monitor(inventory, kept.tracker, clock=clock, rg_history=kept.rg_history)
    narrowed = [partial]  # the pairs not judged, as the inventory now is (SIGHUP may change it)

    def narrow(inventory: Inventory) -> Inventory:
        """SIGHUP: the file read again is narrowed to the selection again (a
        selected name gone is a ValueError: the reload is refused), and its
        poll timeouts capped by the budget again."""
        adopted, narrowed[0] = selection.apply(inventory)
        uncapped[0] = adopted
        return budget.capped(adopted) if budget is not None else adopted

    exit_code = EXIT_NOT_POLLED
    try:
        # Once: no signal handling (Ctrl-C interrupts as usual). --watch: the
        # signal loop (SIGHUP reloads the inventory; SIGINT/SIGTERM stop).
        loop = SignalLoop(monitor, None, [lambda: monitor.try_reload_inventory(config, narrow)])
        with loop if watch is not None else nullcontext() as signals:
            while True:
                bar = ProgressBar(len(monitor.inventory.devices), sys.stderr) if show_progress else None
                deadline, why = None, ""
                if budget is not None:
                    budget = budget if signals is None else budget.restarted()
                    deadline = budget.poll_deadline
                    why = f"no answer within the check's --timeout ({budget.seconds:g} s)"
                result = dataclasses.replace(
                    run_check(monitor, bar, deadline, why), partial_pairs=narrowed[0], selection=selection
                )
                if budget is not None:
                    late = not_answered(uncapped[0], result.snapshots, result.not_answered, budget)
                    result = dataclasses.replace(result, timeout=budget.seconds, not_answered=late)
                exit_code = result.exit_code
                problems: list[str] = []
                if state_path is not None:
                    try:
                        save_state(state_path, monitor.tracker, monitor.rg_history)
                    except ValueError as exc:  # the verdict still prints; the exit code tells of the failure
                        problems.append(str(exc))
                        if not nagios:
                            print(f"ipsec-ha-monitor check: {exc}", file=sys.stderr)
                        exit_code = exit_code or EXIT_NOT_POLLED
                held = secrets_of(result.inventory)
                once = exit_code if signals is None else None
                if nagios:
                    exit_code, text = render_nagios(result, problems)
                    _write(scrub_nagios(text, held), exit_code)
                elif as_json:
                    report = scrub_values(result.to_dict(), held)
                    _write(json.dumps(report, indent=None if watch else 2) + "\n", once)
                else:
                    _write(scrub_lines(render_text(result), held), once)
                if signals is None or signals.wait(clock.real(watch or 0.0)):
                    return exit_code
    except KeyboardInterrupt:  # --watch ends here: the last verdict stands
        if nagios:
            raise
        return exit_code
    finally:
        monitor.close()
