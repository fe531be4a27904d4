"""`ipsec-ha-monitor check`: poll the inventory once (or every N seconds
with --watch), judge every pair, print a table per pair or JSON, and exit
0 healthy / 1 unhealthy / 2 could not poll.

    --state FILE   remember boot times and RF-active members between runs,
                   so a check from cron reports reloads and switchovers
    --watch N      keep polling every N seconds on the same sessions;
                   SIGHUP reloads the inventory, keeping unchanged sessions;
                   SIGINT / SIGTERM stop (the last verdict is the exit code)

A front end over monitor.core.Monitor, as the exporter is: the same
polling, recording, reload tracking and judging.

The pollers already withhold any error or record that would give a
credential away; what `check` prints passes one last such scrub (a state
file written before that, say): a table line or a JSON string holding a
secret of the inventory, in any form, is withheld.
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from monitor.core import Monitor, SignalLoop
from monitor.health import HEALTHY, RECOVERING, UNHEALTHY, PairHealth, Reload, ReloadTracker, Switchover, reload_cause
from monitor.inventory import Inventory, InventoryError, Secret, load_inventory, reveals
from monitor.snapshot import Snapshot

EXIT_HEALTHY, EXIT_UNHEALTHY, EXIT_NOT_POLLED = 0, 1, 2


@dataclass(frozen=True)
class CheckResult:
    """One poll of the inventory, judged."""

    inventory: Inventory
    started_at: float
    duration_seconds: float
    snapshots: dict[str, Snapshot]
    pairs: tuple[PairHealth, ...]
    reloads: tuple[Reload, ...]
    switchovers: tuple[Switchover, ...]

    @property
    def exit_code(self) -> int:
        # Recovering pages too (an unexpected reload within the hour).
        if any(pair.verdict in (UNHEALTHY, RECOVERING) for pair in self.pairs):
            return EXIT_UNHEALTHY
        if any(not snapshot.up for snapshot in self.snapshots.values()) or any(
            pair.verdict != HEALTHY for pair in self.pairs
        ):
            return EXIT_NOT_POLLED
        return EXIT_HEALTHY

    def to_dict(self) -> dict[str, Any]:
        return {
            "inventory": str(self.inventory.path),
            "started_at": round(self.started_at, 3),
            "duration_seconds": round(self.duration_seconds, 3),
            "exit_code": self.exit_code,
            "pairs": [pair.to_dict() for pair in self.pairs],
            "reloads": [reload.to_dict() for reload in self.reloads],
            "switchovers": [switchover.to_dict() for switchover in self.switchovers],
            "devices": [snapshot.to_dict() for snapshot in self.snapshots.values()],
        }


def run_check(monitor: Monitor, progress: ProgressBar | None = None) -> CheckResult:
    """Poll every device once and judge every pair (the poll recorded as one)."""
    polled = monitor.poll_all(progress.advance if progress is not None else None)
    if progress is not None:
        progress.finish()
    inventory, recorded = polled.inventory, polled.recorded
    # Every pair had its members polled, so every pair was judged again
    # (a snapshot dropped as older than the one held keeps that one's verdict).
    held = {pair.pair: pair for pair in monitor.pairs()}
    pairs = tuple(
        verdict for name in inventory.pairs if (verdict := recorded.pairs.get(name) or held.get(name)) is not None
    )
    return CheckResult(
        inventory,
        polled.started_at,
        polled.duration_seconds,
        polled.snapshots,
        pairs,
        recorded.reloads,
        recorded.switchovers,
    )


# --- progress -------------------------------------------------------------------


class ProgressBar:
    """`polling [#####.....] 12/50 devices` on a terminal, redrawn in place."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self.stream = stream
        self._lock = threading.Lock()

    def advance(self, snapshot: Snapshot) -> None:
        with self._lock:
            self.done += 1
            self.failed += 0 if snapshot.up else 1
            self.stream.write("\r" + self.render())
            self.stream.flush()

    def render(self) -> str:
        filled = self.WIDTH * self.done // max(1, self.total)
        failed = f", {self.failed} failed" if self.failed else ""
        return f"polling [{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total} devices{failed}"

    def finish(self) -> None:
        self.stream.write("\r" + " " * (len(self.render()) + 2) + "\r")
        self.stream.flush()


# --- the table ------------------------------------------------------------------

_COLUMNS = ("DEVICE", "POLL", "HSRP", "RF MY/PEER", "MODE", "COMMS", "SAS", "UPTIME", "LAST RELOAD REASON")


def render_text(result: CheckResult) -> str:
    inventory = result.inventory
    lines: list[str] = [
        f"{inventory.path}: {len(result.snapshots)} devices polled in {result.duration_seconds:.1f} s "
        f"at {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(result.started_at))}"
    ]
    for pair in result.pairs:
        lines.append("")
        active = f" (RF active: {pair.rf_active})" if pair.rf_active else ""
        lines.append(f"pair {pair.pair}: {pair.verdict.upper()}{active}")
        rows = [_device_row(result.snapshots.get(name), name, inventory) for name in pair.members]
        lines += _table(rows)
        for rule in pair.failed:
            lines.append(f"  FAILED  {rule.rule}: {rule.message}")
        for rule in pair.unknown:
            lines.append(f"  UNKNOWN {rule.rule}: {rule.message}")
    loose = [name for name, device in inventory.devices.items() if device.pair is None]
    if loose:
        lines.append("")
        lines.append("devices in no pair:")
        lines += _table([_device_row(result.snapshots.get(name), name, inventory) for name in loose])
    failed = [snapshot for snapshot in result.snapshots.values() if snapshot.failures]
    if failed:
        lines.append("")
        lines.append("poll failures:")
        for snapshot in failed:
            lines += _failure_lines(snapshot)
    if result.switchovers or result.reloads:
        lines.append("")
        lines.append("events since the last poll:")
        lines += [
            f"  switchover in {s.pair}: {s.active} took over from {s.previous_active}" for s in result.switchovers
        ]
        for reload in result.reloads:
            kind = "expected" if reload.expected else "UNEXPECTED"
            evidence = f" from {reload.evidence}" if reload.evidence else ""
            lines.append(
                f"  {kind} reload of {reload.device}: {reload.cause}{evidence} ({reload.why}), "
                f"up {_duration(reload.uptime_seconds)}"
            )
    lines.append("")
    verdicts = (
        "healthy",
        "unhealthy, or recovering from an unexpected reload within the hour",
        "not every device could be polled or judged",
    )
    lines.append(f"exit {result.exit_code}: {verdicts[result.exit_code]}")
    return "\n".join(lines) + "\n"


def _device_row(snapshot: Snapshot | None, name: str, inventory: Inventory) -> tuple[str, ...]:
    if snapshot is None:
        return (name, "not polled", *("-" * 7))
    device = inventory.devices[name]
    failures = snapshot.failures
    poll = "ok" if not failures else f"{failures[0].status} ({len(failures)}/{len(snapshot.results)})"
    groups = snapshot.hsrp_groups
    hsrp = ",".join(sorted({group.state for group in groups})) if groups else "-"
    states = snapshot.redundancy_states
    rf = "-"
    if states is not None:
        peer = states.peer_state.name if states.peer_state else "?"
        rf = f"{states.my_state.name}/{peer}"
    mode = (states.mode or "?") if states else "-"
    comms = (states.communications or "?") if states else "-"
    sas = "-"
    ipsec = snapshot.result("show crypto ipsec sa")
    counts = snapshot.active_sas_by_peer() if ipsec is not None and ipsec.ok else None
    copies = snapshot.standby_sas_by_peer() if ipsec is not None and ipsec.ok else None
    if counts is not None and copies and not any(counts.values()):
        # The standby unit: its synchronised copies, not active SAs.
        sas = f"{sum(1 for count in copies.values() if count)} peers (copies)"
    elif counts is not None:
        if device.expected_peers:
            sas = (
                f"{sum(1 for peer in device.expected_peers if counts.get(peer, 0))}/{len(device.expected_peers)} peers"
            )
        else:
            sas = f"{sum(1 for count in counts.values() if count)} peers"
    version = snapshot.version
    uptime = _duration(version.uptime_seconds) if version and version.uptime_seconds is not None else "-"
    reason = "-"
    if version is not None:
        cause = reload_cause(version, snapshot.log_messages).cause
        reason = f"{version.reload_reason or version.returned_to_rom_by or '-'} ({cause})"
    return (name, poll, hsrp, rf, mode, comms, sas, uptime, reason)


def _failure_lines(snapshot: Snapshot) -> list[str]:
    """One line per failed command, or one for the device when the same
    failure stopped every command (a refused login, say)."""
    failures = snapshot.failures
    first = failures[0]
    if len(failures) == len(snapshot.results) > 1 and all(
        f.status == first.status and f.error in (first.error, f"not run: {first.error}") for f in failures
    ):
        return [f"  {snapshot.device}: all {len(failures)} commands: {first.status}: {first.error}"]
    return [f"  {snapshot.device}: {f.command}: {f.status}: {f.error}" for f in failures]


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(str(row[i])) for row in (_COLUMNS, *rows)) for i in range(len(_COLUMNS))]
    return [
        "  " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (_COLUMNS, *rows)
    ]


def _duration(seconds: int) -> str:
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m"
    return f"{minutes}m{int(seconds) % 60}s" if minutes else f"{int(seconds)}s"


# --- state file -----------------------------------------------------------------


def load_state(path: Path) -> ReloadTracker:
    """The tracker saved by the previous run; a fresh one when there is none.
    A file this monitor did not write is an error, not silently replaced;
    every error is one line naming the file (raised as ValueError)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ReloadTracker()
    except OSError as exc:
        raise ValueError(f"state file {path}: cannot read it: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"state file {path}: not UTF-8 text: not a state this monitor wrote") from None
    try:
        state = json.loads(text)
    except RecursionError:  # json.loads recurses once per level: 100,000 nested lists
        raise ValueError(f"state file {path}: nested too deeply: not a state this monitor wrote") from None
    except ValueError as exc:
        raise ValueError(f"state file {path}: not JSON: {_one_line(str(exc))}") from None
    if not isinstance(state, Mapping):
        raise ValueError(f"state file {path}: not a JSON object: not a state this monitor wrote")
    try:
        return ReloadTracker.from_dict(state)
    except ValueError as exc:
        raise ValueError(f"state file {path}: {_one_line(str(exc))}") from None
    except Exception:  # a shape from_dict did not foresee (int(inf), a list nested too deeply for str())
        raise ValueError(f"state file {path}: not a state this monitor wrote") from None


def save_state(path: Path, tracker: ReloadTracker) -> None:
    """Written aside and renamed: a crash never leaves half a state file,
    and runs at the same time never share a partial file (each writes its
    own, in the same directory, and the last rename wins whole)."""
    text = json.dumps(tracker.to_dict(), indent=1, sort_keys=True).encode("utf-8")
    partial: Path | None = None
    try:
        for _ in range(100):
            partial = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.partial")
            try:  # created with the umask's mode, as the file itself would be
                fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                break
            except FileExistsError:
                continue
        else:
            raise FileExistsError(17, "no unused partial file name")
        with os.fdopen(fd, "wb") as out:
            out.write(text)
        os.replace(partial, path)
        partial = None
    except OSError as exc:
        raise ValueError(f"state file {path}: cannot write it: {exc.strerror}") from None
    finally:
        if partial is not None:
            try:
                partial.unlink()
            except OSError:  # never created, or already gone
                pass
    _sweep_partials(path)


# A partial file this old was left by a run killed mid-write (a write takes
# milliseconds): removed by the next run that saves.
_STALE_PARTIAL_SECONDS = 600.0


def _sweep_partials(path: Path) -> None:
    cutoff = time.time() - _STALE_PARTIAL_SECONDS
    try:
        leftovers = list(path.parent.glob(f".{glob.escape(path.name)}.*.partial"))
    except OSError:
        return
    for leftover in leftovers:
        try:
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
        except OSError:  # another run swept it first
            pass


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- secrets --------------------------------------------------------------------

_WITHHELD = "(withheld: it contained a credential of the inventory)"


def _secrets(inventory: Inventory) -> set[Secret]:
    found: set[Secret] = set()
    for device in inventory.devices.values():
        found.add(device.credentials.password)
        if device.credentials.enable_secret is not None:
            found.add(device.credentials.enable_secret)
    return found


def _withhold_lines(text: str, held: set[Secret]) -> str:
    """The table with every line that holds a secret, in any form, withheld."""
    if not reveals(text, held):
        return text
    kept = "".join(f"{_WITHHELD}\n" if reveals(line, held) else line for line in text.splitlines(keepends=True))
    return f"{_WITHHELD}\n" if reveals(kept, held) else kept  # one spanning lines: nothing shown


def _withhold_values(report: dict[str, Any], held: set[Secret]) -> dict[str, Any]:
    """The report with every string that holds a secret, in any form, withheld."""
    if not reveals("\0".join(_report_strings(report)), held):
        return report

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return _WITHHELD if reveals(value, held) else value
        if isinstance(value, Mapping):
            return {scrub(key): scrub(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [scrub(item) for item in value]
        return value

    scrubbed: dict[str, Any] = scrub(report)
    return scrubbed


def _report_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _report_strings(key)
            yield from _report_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _report_strings(item)


# --- the command ----------------------------------------------------------------


def main(config: str, as_json: bool, state: str | None, watch: float | None, progress: bool | None) -> int:
    """The `check` subcommand; returns the exit code."""
    try:
        inventory = load_inventory(config)
    except InventoryError as exc:
        print(f"ipsec-ha-monitor check: {exc}", file=sys.stderr)
        return EXIT_NOT_POLLED
    state_path = Path(state) if state else None
    try:
        tracker = load_state(state_path) if state_path else ReloadTracker()
    except ValueError as exc:
        print(f"ipsec-ha-monitor check: {exc}", file=sys.stderr)
        return EXIT_NOT_POLLED
    show_progress = sys.stderr.isatty() if progress is None else progress
    monitor = Monitor(inventory, tracker)
    exit_code = EXIT_NOT_POLLED
    try:
        # Once: no signal handling (Ctrl-C interrupts as usual). --watch: the
        # signal loop (SIGHUP reloads the inventory; SIGINT/SIGTERM stop).
        with SignalLoop(monitor, config) if watch is not None else nullcontext() as signals:
            while True:
                bar = ProgressBar(len(monitor.inventory.devices), sys.stderr) if show_progress else None
                result = run_check(monitor, bar)
                exit_code = result.exit_code
                if state_path is not None:
                    try:
                        save_state(state_path, monitor.tracker)
                    except ValueError as exc:  # the verdict still prints; the exit code tells of the failure
                        print(f"ipsec-ha-monitor check: {exc}", file=sys.stderr)
                        exit_code = exit_code or EXIT_NOT_POLLED
                held = _secrets(result.inventory)
                if as_json:
                    report = _withhold_values(result.to_dict(), held)
                    sys.stdout.write(json.dumps(report, indent=None if watch else 2) + "\n")
                else:
                    sys.stdout.write(_withhold_lines(render_text(result), held))
                sys.stdout.flush()
                if signals is None or signals.wait(watch or 0.0):
                    return exit_code
    except KeyboardInterrupt:  # --watch ends here: the last verdict stands
        return exit_code
    finally:
        monitor.close()
