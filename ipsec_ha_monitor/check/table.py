"""The default output: a table per pair (then the pairs not judged, the
devices in no pair), the poll failures, the events and the exit code. A
box-to-box pair's table has a row per member and watched group: its role
and its peer's, the RF states, runtime and configured priority."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ipsec_ha_monitor.health import PairHealth
from ipsec_ha_monitor.inventory import B2B, Inventory, Pair
from ipsec_ha_monitor.reloads import reload_cause
from ipsec_ha_monitor.snapshot import Snapshot, Status
from ipsec_ha_monitor.words import count, duration, plural

if TYPE_CHECKING:
    from ipsec_ha_monitor.check.result import CheckResult

_COLUMNS = ("DEVICE", "POLL", "HSRP", "RF MY/PEER", "MODE", "COMMS", "SAS", "UPTIME", "LAST RELOAD REASON")
_B2B_COLUMNS = (
    "DEVICE",
    "POLL",
    "GROUP",
    "ROLE MY/PEER",
    "RF MY/PEER",
    "PRIORITY RUN/CONF",
    "SAS",
    "UPTIME",
    "LAST RELOAD REASON",
)


def render_text(result: CheckResult) -> str:
    inventory = result.inventory
    lines: list[str] = [
        f"{inventory.path}: {count(len(result.snapshots), 'device')} polled in {duration(result.duration_seconds)} "
        f"at {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(result.started_at))}"
    ]
    for pair in result.pairs:
        lines.append("")
        lines.append(f"pair {pair.pair}: {pair.verdict.upper()}{active_note(pair)}")
        if pair.mode == B2B:
            lines += _table(_b2b_rows(pair, result.snapshots, inventory), _B2B_COLUMNS)
        else:
            lines += _table([_device_row(result.snapshots.get(name), name, inventory) for name in pair.members])
        for rule in pair.failed:
            lines.append(f"  FAILED  {rule.rule}: {rule.message}")
        unanswered = unreachable(pair, result.snapshots)
        if unanswered is not None:  # one cause, one line: not each rule's own advice
            lines.append(f"  UNKNOWN {count(len(pair.unknown), 'rule')}: {unanswered}")
        else:
            for rule in pair.unknown:
                lines.append(f"  UNKNOWN {rule.rule}: {rule.message}")
    for partial in result.partial_pairs:
        lines.append("")
        selected = [name for name in partial.members if name in inventory.devices]
        lines.append(f"pair {partial.name}: NOT JUDGED ({not_judged(partial, selected)})")
        lines += _table([_device_row(result.snapshots.get(name), name, inventory) for name in selected])
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
            lines += failure_lines(snapshot)
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
    if result.timeout_note:
        lines.append("")
        lines.append(f"{result.timeout_note} (shown timed out, with what they did answer)")
    lines.append("")
    verdicts = (
        "healthy",
        "a pair unhealthy, recovering from an unexpected reload within the hour, or degraded",
        "not every device could be polled or judged",
    )
    lines.append(f"exit {result.exit_code}: {verdicts[result.exit_code]}")
    return "\n".join(lines) + "\n"


# What to look at when no command of a pair's members ran, by why.
_UNREACHABLE_ADVICE = {
    Status.CONNECT: "check that they are up and that this host reaches their SSH port (routes, ACLs, firewalls)",
    Status.TIMEOUT: "check that they are up and that this host reaches their SSH port (routes, ACLs, firewalls)",
    Status.AUTH: "check the inventory's credentials (and the AAA server)",
}


def unreachable(pair: PairHealth, snapshots: Mapping[str, Snapshot]) -> str | None:
    """When not one command of either member ran (both unreachable, say):
    why in one line with the advice that fits, instead of every rule's own
    (which would advise, four times, on configuration it could not read);
    None when a member answered anything."""
    polled = [snapshots.get(name) for name in pair.members]
    if not pair.unknown or any(s is None or any(r.ok for r in s.results) or not s.failures for s in polled):
        return None
    statuses = [snapshot.failures[0].status for snapshot in polled if snapshot is not None]
    why = "; ".join(f"{name}: {status}" for name, status in zip(pair.members, statuses, strict=True))
    advice = {_UNREACHABLE_ADVICE.get(status, "see the poll failures") for status in statuses}
    return f"no member answered ({why}): {'; '.join(sorted(advice))}"


def active_note(pair: PairHealth) -> str:
    """The pair's active unit, as its verdict line names it: the RF-active
    hub, or a b2b pair's ACTIVE member of its first watched group."""
    if not pair.rf_active:
        return ""
    if pair.mode == B2B and pair.rg_members:
        return f" (group {pair.rg_members[0].group} ACTIVE: {pair.rf_active})"
    return f" (RF active: {pair.rf_active})"


def not_judged(pair: Pair, selected: list[str]) -> str:
    return f"only {', '.join(selected)} selected; select both members, or --pair {pair.name}"


def _b2b_rows(pair: PairHealth, snapshots: Mapping[str, Snapshot], inventory: Inventory) -> list[tuple[str, ...]]:
    """A row per member and watched group (PairHealth.rg_members): the
    device's own columns (poll, SAs, uptime, reload) on its first row only."""
    rows: list[tuple[str, ...]] = []
    shown: set[str] = set()
    for state in sorted(pair.rg_members, key=lambda state: pair.members.index(state.device)):
        snapshot = snapshots.get(state.device)
        if state.device in shown:
            device: tuple[str, ...] = ("", "")
            rest: tuple[str, ...] = ("", "", "")
        else:
            shown.add(state.device)
            device = (state.device, _poll(snapshot) if snapshot is not None else "not polled")
            rest = _device_tail(snapshot, state.device, inventory) if snapshot is not None else ("-", "-", "-")
        if state.role is None:
            group = (str(state.group), state.note or "-", "-", "-")
        else:
            group = (
                str(state.group),
                f"{state.role}/{state.peer_role or '?'}",
                f"{state.rf_state or '?'}/{state.peer_rf_state or '?'}",
                f"{_number(state.runtime_priority)}/{_number(state.priority)}",
            )
        rows.append((*device, *group, *rest))
    return rows


def _number(value: int | None) -> str:
    return "?" if value is None else str(value)


def _poll(snapshot: Snapshot) -> str:
    failures = snapshot.failures
    return "ok" if not failures else f"{failures[0].status} ({len(failures)}/{len(snapshot.results)})"


def _device_row(snapshot: Snapshot | None, name: str, inventory: Inventory) -> tuple[str, ...]:
    if snapshot is None:
        return (name, "not polled", *("-" * 7))
    poll = _poll(snapshot)
    groups = snapshot.hsrp_groups
    hsrp = ",".join(sorted({group.state for group in groups})) if groups else "-"
    states = snapshot.redundancy_states
    rf = "-"
    if states is not None:
        peer = states.peer_state.name if states.peer_state else "?"
        rf = f"{states.my_state.name}/{peer}"
    mode = (states.mode or "?") if states else "-"
    comms = (states.communications or "?") if states else "-"
    return (name, poll, hsrp, rf, mode, comms, *_device_tail(snapshot, name, inventory))


def _device_tail(snapshot: Snapshot, name: str, inventory: Inventory) -> tuple[str, str, str]:
    """The SAS, UPTIME and LAST RELOAD REASON columns of a device."""
    device = inventory.devices[name]
    sas = "-"
    ipsec = snapshot.result("show crypto ipsec sa")
    counts = snapshot.active_sas_by_peer() if ipsec is not None and ipsec.ok else None
    copies = snapshot.standby_sas_by_peer() if ipsec is not None and ipsec.ok else None
    if counts is not None and copies and not any(counts.values()):
        # The standby unit: its synchronised copies, not active SAs.
        sas = f"{count(sum(1 for n in copies.values() if n), 'peer')} (copies)"
    elif counts is not None:
        if device.expected_peers:
            expected = len(device.expected_peers)
            up = sum(1 for peer in device.expected_peers if counts.get(peer, 0))
            sas = f"{up}/{expected} {plural(expected, 'peer')}"
        else:
            sas = count(sum(1 for n in counts.values() if n), "peer")
    version = snapshot.version
    uptime = _duration(version.uptime_seconds) if version and version.uptime_seconds is not None else "-"
    reason = "-"
    if version is not None:
        cause = reload_cause(version, snapshot.log_messages).cause
        reason = f"{version.reload_reason or version.returned_to_rom_by or '-'} ({cause})"
    return (sas, uptime, reason)


def failure_lines(snapshot: Snapshot) -> list[str]:
    """One line per failed command, or one for the device when the same
    failure stopped every command (a refused login, say)."""
    failures = snapshot.failures
    first = failures[0]
    if len(failures) == len(snapshot.results) > 1 and all(
        f.status == first.status and f.error in (first.error, f"not run: {first.error}") for f in failures
    ):
        return [f"  {snapshot.device}: all {len(failures)} commands: {first.status}: {first.error}"]
    return [f"  {snapshot.device}: {f.command}: {f.status}: {f.error}" for f in failures]


def _table(rows: list[tuple[str, ...]], columns: tuple[str, ...] = _COLUMNS) -> list[str]:
    widths = [max(len(str(row[i])) for row in (columns, *rows)) for i in range(len(columns))]
    return [
        "  " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (columns, *rows)
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
