"""What one poll of one device yields: the parsed records of every command,
each command's status with its error text, and when the poll ran.

The contract between the pollers (monitor/poll), the health rules
(monitor/health.py), `check` and the exporter. A device is up only when
every command ran and parsed; a failed command never leaves older data in
its place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from monitor.records import HsrpGroup, InterDeviceRedundancy, IpsecSa, RedundancyStates, Version


class Status(str, Enum):
    OK = "ok"
    TIMEOUT = "timeout"  # no (complete) answer in time: no prompt, output stalled
    AUTH = "auth"  # login refused, or the enable secret
    CONNECT = "connect"  # TCP or SSH failed: refused, unreachable, host key, algorithms, session dropped
    INVALID_COMMAND = "invalid_command"  # IOS rejected it: % Invalid input, ambiguous, incomplete
    PARSE = "parse"  # the answer came but did not parse
    PAGING = "paging"  # the output stopped at --More--: `terminal length 0` was refused (AAA authorization)
    PRIVILEGE = "privilege"  # logged in at user EXEC (>) with no enable secret to go further
    # The image lacks an optional command: show redundancy inter-device on a
    # pair whose inventory names its stateful group. Not a failure.
    NOT_SUPPORTED = "not_supported"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class CommandResult:
    command: str
    status: Status
    records: tuple[Any, ...] = ()  # empty unless status is OK
    error: str = ""  # why it failed; never holds a secret
    duration_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "status": self.status.value,
            "error": self.error,
            "duration_seconds": round(self.duration_seconds, 6),
            "records": [record.to_dict() for record in self.records],
        }


@dataclass(frozen=True, slots=True)
class Snapshot:
    device: str
    pair: str  # "" for a device in no pair
    role: str  # "hub" or "branch"
    started_at: float  # Unix time the poll began
    duration_seconds: float
    results: tuple[CommandResult, ...]  # one per polled command, in polling order
    session_opened: bool = False  # a new SSH session was opened (first poll, or reopened)

    @property
    def up(self) -> bool:
        return bool(self.results) and not self.failures

    @property
    def failures(self) -> tuple[CommandResult, ...]:
        return tuple(result for result in self.results if not result.ok and result.status is not Status.NOT_SUPPORTED)

    def result(self, command: str) -> CommandResult | None:
        for result in self.results:
            if result.command == command:
                return result
        return None

    def records(self, command: str) -> tuple[Any, ...]:
        """The command's records, or () when it was not polled or failed."""
        result = self.result(command)
        return result.records if result is not None and result.ok else ()

    # The records the health rules read, typed; None / () when missing.
    @property
    def version(self) -> Version | None:
        return _first(self.records("show version"))

    @property
    def redundancy_states(self) -> RedundancyStates | None:
        return _first(self.records("show redundancy states"))

    @property
    def inter_device(self) -> InterDeviceRedundancy | None:
        return _first(self.records("show redundancy inter-device"))

    @property
    def hsrp_groups(self) -> tuple[HsrpGroup, ...]:
        return self.records("show standby")

    @property
    def ipsec_sas(self) -> tuple[IpsecSa, ...]:
        return self.records("show crypto ipsec sa")

    def active_sas_by_peer(self) -> dict[str, int]:
        """Active inbound+outbound ESP SAs per peer address."""
        counts: dict[str, int] = {}
        for sa in self.ipsec_sas:
            counts[sa.peer] = counts.get(sa.peer, 0) + sa.active_esp_sa_count
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "pair": self.pair,
            "role": self.role,
            "up": self.up,
            "started_at": round(self.started_at, 3),
            "duration_seconds": round(self.duration_seconds, 6),
            "session_opened": self.session_opened,
            "commands": [result.to_dict() for result in self.results],
        }


def _first(records: tuple[Any, ...]) -> Any:
    return records[0] if records else None
