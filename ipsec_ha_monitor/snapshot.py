"""What one poll of one device yields: the parsed records of every command,
each command's status with its error text, and when the poll ran.

The contract between the pollers (ipsec_ha_monitor/poll), the health rules
(ipsec_ha_monitor/health.py), `check` and the exporter. A device is up only when
every command ran and parsed; a failed command never leaves older data in
its place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from ipsec_ha_monitor.parse.commands import COMMANDS, XE_B2B_COMMANDS
from ipsec_ha_monitor.records import (
    CryptoSession,
    HsrpGroup,
    Ikev2Sa,
    InterDeviceRedundancy,
    IpsecSa,
    IsakmpSa,
    LogMessage,
    Record,
    RedundancyGroup,
    RedundancyStates,
    RgInterface,
    Version,
)

R = TypeVar("R", bound=Record)
# Each polled command by the record it yields, from the command table.
_COMMAND_OF: dict[type[Record], str] = {spec.record: spec.command for spec in (*COMMANDS, *XE_B2B_COMMANDS)}


class Status(str, Enum):
    OK = "ok"
    TIMEOUT = "timeout"  # no (complete) answer in time: no prompt, output stalled
    AUTH = "auth"  # login refused, or the enable secret
    CONNECT = "connect"  # TCP or SSH failed: refused, unreachable, host key, algorithms, session dropped
    INVALID_COMMAND = "invalid_command"  # IOS rejected it: % Invalid input, ambiguous, incomplete
    PARSE = "parse"  # the answer came but did not parse
    PAGING = "paging"  # the output stopped at --More--: `terminal length 0` was refused (AAA authorization)
    PRIVILEGE = "privilege"  # logged in at user EXEC (>) with no enable secret to go further
    # More than polling.max_output_bytes for one command, or max_banner_bytes
    # before the first prompt: the session is dropped.
    OUTPUT_TOO_LARGE = "output_too_large"
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
    duration_seconds: float = 0.0  # real seconds
    # Clock.monotonic() when the answer came (OK results the pollers make):
    # the instant a reading such as show version's uptime is from.
    monotonic: float | None = None
    # Informational lines the template stepped over (a newer train's extra
    # labels): counted, so a reader can tell "all read" from "mostly read".
    skipped_lines: int = 0

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
    started_at: float  # Unix time the poll began: for a person to read, never to order or age (it may step)
    duration_seconds: float  # real seconds
    results: tuple[CommandResult, ...]  # one per polled command, in polling order
    session_opened: bool = False  # a new SSH session was opened (first poll, or reopened)
    # Clock.monotonic() (product seconds, ipsec_ha_monitor/clock.py) when the poll
    # began and ended: what orders polls (newest wins) and ages them (data
    # age, /probe reuse). The pollers always stamp them; a snapshot built
    # without (a test, a bench) falls back on started_at (see began/ended).
    monotonic: float | None = None
    monotonic_end: float | None = None

    @property
    def began(self) -> float:
        """When the poll began, on the monotonic scale."""
        return self.started_at if self.monotonic is None else self.monotonic

    @property
    def ended(self) -> float:
        """When the poll ended, on the monotonic scale."""
        return self.began + self.duration_seconds if self.monotonic_end is None else self.monotonic_end

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

    def records(self, command: str) -> tuple[Any, ...] | None:
        """The command's records: () when it ran and there was nothing (no
        SAs yet), None when it failed or was not polled."""
        result = self.result(command)
        return result.records if result is not None and result.ok else None

    def records_of(self, kind: type[R]) -> tuple[R, ...] | None:
        """The records of type `kind` (the command table says which command
        yields them): () when there were none, None when the command failed
        or was not polled."""
        return self.records(_COMMAND_OF[kind])

    # The records the health rules, check and the exporter read, typed. None
    # always means "not known" (failed or not polled), never "none".
    @property
    def version(self) -> Version | None:
        return _first(self.records_of(Version))

    @property
    def redundancy_states(self) -> RedundancyStates | None:
        return _first(self.records_of(RedundancyStates))

    @property
    def inter_device(self) -> InterDeviceRedundancy | None:
        return _first(self.records_of(InterDeviceRedundancy))

    @property
    def hsrp_groups(self) -> tuple[HsrpGroup, ...] | None:
        return self.records_of(HsrpGroup)

    @property
    def redundancy_groups(self) -> tuple[RedundancyGroup, ...] | None:
        """IOS-XE box-to-box redundancy groups (show redundancy application
        group all); None when the command failed or was not polled."""
        return self.records_of(RedundancyGroup)

    def redundancy_group(self, group_id: int) -> RedundancyGroup | None:
        """One redundancy group; None when unknown or not configured."""
        return next((group for group in self.redundancy_groups or () if group.group_id == group_id), None)

    @property
    def rg_interfaces(self) -> tuple[RgInterface, ...] | None:
        """The interfaces whose VIPs the redundancy groups own (show
        redundancy application if-mgr group); None when unknown."""
        return self.records_of(RgInterface)

    @property
    def ipsec_sas(self) -> tuple[IpsecSa, ...] | None:
        return self.records_of(IpsecSa)

    @property
    def isakmp_sas(self) -> tuple[IsakmpSa, ...] | None:
        return self.records_of(IsakmpSa)

    @property
    def ikev2_sas(self) -> tuple[Ikev2Sa, ...] | None:
        """IKEv2 SAs: () on an IKEv1-only device, None when show crypto
        ikev2 sa failed, was not polled, or the image has no IKEv2
        (not_supported)."""
        return self.records_of(Ikev2Sa)

    def ikev2_sas_by_status(self) -> dict[str, int] | None:
        """IKEv2 SAs per status as IOS prints it (READY, IN-NEG, DELETE);
        None when show crypto ikev2 sa gave no answer (see ikev2_sas)."""
        sas = self.ikev2_sas
        if sas is None:
            return None
        counts: dict[str, int] = {}
        for sa in sas:
            counts[sa.status] = counts.get(sa.status, 0) + 1
        return counts

    @property
    def crypto_sessions(self) -> tuple[CryptoSession, ...] | None:
        return self.records_of(CryptoSession)

    def active_sas_by_peer(self) -> dict[str, int] | None:
        """Active inbound+outbound ESP SAs per peer address; None when
        show crypto ipsec sa failed or was not polled."""
        return self._sas_by_peer(lambda sa: sa.active_esp_sa_count)

    def standby_sas_by_peer(self) -> dict[str, int] | None:
        """Standby ESP SA copies (inbound+outbound) per peer address; None
        when show crypto ipsec sa failed or was not polled."""
        return self._sas_by_peer(lambda sa: sa.standby_esp_sa_count)

    def _sas_by_peer(self, count: Callable[[IpsecSa], int]) -> dict[str, int] | None:
        sas = self.ipsec_sas
        if sas is None:
            return None
        counts: dict[str, int] = {}
        for sa in sas:
            counts[sa.peer] = counts.get(sa.peer, 0) + count(sa)
        return counts

    @property
    def log_messages(self) -> tuple[LogMessage, ...] | None:
        return self.records_of(LogMessage)

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


def _first(records: tuple[Any, ...] | None) -> Any:
    return records[0] if records else None
