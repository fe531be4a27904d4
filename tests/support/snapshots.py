"""Snapshots without SSH: each polled command rendered by the lab's router
state and parsed, exactly as a poll of that router would yield."""

from __future__ import annotations

from ipsec_ha_monitor.lab.outputs import SHOW_COMMANDS
from ipsec_ha_monitor.lab.router import Router
from ipsec_ha_monitor.parse import parse_output
from ipsec_ha_monitor.poll import COMMANDS_BY_ROLE
from ipsec_ha_monitor.snapshot import CommandResult, Snapshot, Status


def snapshot_of(router: Router, pair: str = "HUB-PAIR-1", started_at: float = 1_000_000.0) -> Snapshot:
    results = []
    for command in COMMANDS_BY_ROLE[router.role]:
        text = SHOW_COMMANDS[tuple(command.split())](router)
        results.append(CommandResult(command, Status.OK, tuple(parse_output(command, text))))
    return Snapshot(router.name, pair if router.role == "hub" else "", router.role, started_at, 0.2, tuple(results))
