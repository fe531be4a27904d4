"""One check: which devices and pairs are selected (Selection), one poll of
them judged (CheckResult, run_check), and the exit codes of the default
output (the --nagios ones: ipsec_ha_monitor.check.nagios)."""

from __future__ import annotations

import dataclasses
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ipsec_ha_monitor.check.nagios import NAGIOS_CRITICAL, NAGIOS_OK, NAGIOS_UNKNOWN, NAGIOS_WARNING
from ipsec_ha_monitor.health import CRITICAL, HEALTHY, VERDICT_SEVERITY, WARNING, PairHealth
from ipsec_ha_monitor.inventory import Inventory, Pair
from ipsec_ha_monitor.reloads import Reload, Switchover
from ipsec_ha_monitor.snapshot import Snapshot

if TYPE_CHECKING:
    from ipsec_ha_monitor.check.progress import ProgressBar
    from ipsec_ha_monitor.core import Monitor

EXIT_HEALTHY, EXIT_UNHEALTHY, EXIT_NOT_POLLED = 0, 1, 2
EXIT_REFUSED = 2  # bad usage or input: nothing polled


@dataclass(frozen=True)
class Selection:
    """--pair and --device: which devices are polled and which pairs judged."""

    pairs: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.pairs or self.devices)

    def apply(self, inventory: Inventory) -> tuple[Inventory, tuple[Pair, ...]]:
        """The inventory narrowed to the selected devices (a --pair selects
        both its members) and the pairs whose members are both selected;
        and the pairs only one of whose members is selected (polled, not
        judged). ValueError naming the first unknown name and the known ones."""
        if not self:
            return inventory, ()
        for flag, names, known in (
            ("--pair", self.pairs, inventory.pairs),
            ("--device", self.devices, inventory.devices),
        ):
            for name in names:
                if name not in known:
                    kind = "pairs" if flag == "--pair" else "devices"
                    raise ValueError(
                        f"{flag} {name}: not in the inventory {inventory.path}; its {kind}: {_names(list(known))}"
                    )
        chosen = set(self.devices) | {member for name in self.pairs for member in inventory.pairs[name].members}
        devices = {name: device for name, device in inventory.devices.items() if name in chosen}
        pairs = {name: pair for name, pair in inventory.pairs.items() if set(pair.members) <= chosen}
        partial = tuple(
            pair for name, pair in inventory.pairs.items() if name not in pairs and set(pair.members) & chosen
        )
        return dataclasses.replace(inventory, devices=devices, pairs=pairs), partial


def _names(names: list[str], most: int = 20) -> str:
    if not names:
        return "none"
    shown = ", ".join(names[:most])
    return shown if len(names) <= most else f"{shown} and {len(names) - most} more"


@dataclass(frozen=True)
class CheckResult:
    """One poll of the inventory (narrowed to the selection), judged."""

    inventory: Inventory
    started_at: float
    duration_seconds: float
    snapshots: dict[str, Snapshot]
    pairs: tuple[PairHealth, ...]
    reloads: tuple[Reload, ...]
    switchovers: tuple[Switchover, ...]
    partial_pairs: tuple[Pair, ...] = ()  # one member selected: polled, not judged
    selection: Selection = Selection()
    timeout: float | None = None  # --timeout, product seconds (None: no budget)
    not_answered: tuple[str, ...] = ()  # devices that did not answer within the --timeout budget

    @property
    def timeout_note(self) -> str | None:
        """One line naming the devices that did not answer within the
        --timeout budget; None when there are none."""
        if not self.not_answered or self.timeout is None:
            return None
        more = len(self.not_answered) - 5
        names = ", ".join(self.not_answered[:5]) + (f" and {more} more" if more > 0 else "")
        return f"not answered within --timeout {self.timeout:g} s: {names}"

    @property
    def exit_code(self) -> int:
        # Any known fault: unhealthy, recovering (an unexpected reload within
        # the hour) or degraded (warning rules failed).
        if any(VERDICT_SEVERITY[pair.verdict] is not None for pair in self.pairs):
            return EXIT_UNHEALTHY
        if any(not snapshot.up for snapshot in self.snapshots.values()) or any(
            pair.verdict != HEALTHY for pair in self.pairs
        ):
            return EXIT_NOT_POLLED
        return EXIT_HEALTHY

    @property
    def nagios_code(self) -> int:
        """The worst verdict's severity (health.VERDICT_SEVERITY, as the
        alerts page it): CRITICAL for an unhealthy or recovering pair,
        WARNING for a degraded one; UNKNOWN for a device not polled or a
        pair not judged; else OK."""
        verdicts = {pair.verdict for pair in self.pairs}
        severities = {VERDICT_SEVERITY[verdict] for verdict in verdicts}
        if CRITICAL in severities:
            return NAGIOS_CRITICAL
        if WARNING in severities:
            return NAGIOS_WARNING
        if verdicts - {HEALTHY} or any(not snapshot.up for snapshot in self.snapshots.values()):
            return NAGIOS_UNKNOWN
        return NAGIOS_OK

    def to_dict(self) -> dict[str, Any]:
        report = {
            "inventory": str(self.inventory.path),
            "started_at": round(self.started_at, 3),
            "duration_seconds": round(self.duration_seconds, 3),
            "exit_code": self.exit_code,
            "pairs": [pair.to_dict() for pair in self.pairs],
            "reloads": [reload.to_dict() for reload in self.reloads],
            "switchovers": [switchover.to_dict() for switchover in self.switchovers],
            "devices": [snapshot.to_dict() for snapshot in self.snapshots.values()],
        }
        if self.timeout is not None:
            report["timeout"] = {"seconds": self.timeout, "not_answered": list(self.not_answered)}
        if self.selection:
            report["selection"] = {
                "pairs": list(self.selection.pairs),
                "devices": list(self.selection.devices),
                "not_judged": [pair.name for pair in self.partial_pairs],
            }
        return report


def run_check(
    monitor: Monitor, progress: ProgressBar | None = None, deadline: float | None = None, why: str = ""
) -> CheckResult:
    """Poll every device once and judge every pair (the poll recorded as
    one). `deadline` (real monotonic): devices not answered by then are
    timed out, saying `why` (Monitor.poll_all)."""
    with progress if progress is not None else nullcontext():
        polled = monitor.poll_all(progress.advance if progress is not None else None, deadline=deadline, why=why)
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
        not_answered=polled.abandoned,
    )
