"""Reloads and switchovers, seen between polls.

ReloadTracker: a device reloaded when its uptime went backwards between two
good polls, or grew less than the monotonic time that passed between them
(uptime_now < uptime_before + elapsed - BOOT_TIME_TOLERANCE_SECONDS: a
reload missed while the device was unreachable). Only the device's own
clock (its uptime) and the monitor's monotonic clock are compared; the
monitor's wall clock never is, so a stepped host clock (NTP, a VM's clock
running ahead) invents no reload and hides none. A failed poll is never a
reload. Its cause comes from the device's own log when the log kept the
message that preceded the boot (`%RF_INTERDEV-4-RELOAD` RF self-reload,
`%SYS-5-RELOAD` operator), else from `show version`'s reason. Expected only
for an operator reload when the pair did not switch over in the same
window. A member of a box-to-box pair that its redundancy group reloaded
(the group's `reload events: local request` counter rose across the
reload, or its peer's `peer request` one: the group's log counters outlive
the box's reload) has the cause `rg_reload`, never expected. A b2b pair's
switchover is the ACTIVE role of its first watched group changing hands.
The reloads and switchovers of the last hour (RECENT_SECONDS, on
the monotonic clock) count against a pair (ipsec_ha_monitor/health.py).

Every duration here is in product seconds (ipsec_ha_monitor/clock.py: real seconds
times --time.scale), the unit of device uptimes in a scaled lab.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ipsec_ha_monitor.clock import SYSTEM_CLOCK, Clock
from ipsec_ha_monitor.inventory import B2B, Inventory, Pair
from ipsec_ha_monitor.records import RG_ACTIVE, LogMessage, Version
from ipsec_ha_monitor.rf_states import ACTIVE
from ipsec_ha_monitor.snapshot import Snapshot

# must say the same: tests/test_shared_constants.py holds them to these.
#
# `show version` reasons that an operator asked for (reload command, install),
# matched whole and case-blind (Prometheus anchors `=~`; RE2 reads it as Python).
OPERATOR_RELOAD_PATTERN = r"\s*(reload( command)?|admin reload cli|.*\binstall\b.*)\s*"
_OPERATOR_RELOAD = re.compile(OPERATOR_RELOAD_PATTERN, re.IGNORECASE)
# How much less than the time elapsed between two polls a device's uptime
# may grow before it is a reload: `uptime is` has minute resolution, plus
# the poll's own duration (product seconds).
BOOT_TIME_TOLERANCE_SECONDS = 120.0
# ... and never less than this many *real* seconds: how much later one
# poll's show version answer may arrive after the device read its uptime
# than another's (SSH, a loaded host). The network does not run faster
# with the lab, so at --time.scale 60 this floor (180 product seconds)
# is the larger.
ANSWER_JITTER_REAL_SECONDS = 3.0
# How long a reload or a switchover counts against a pair (the reload
# alert keeps firing this long; product seconds on the monotonic clock),
# and how many within it make a loop.
RECENT_SECONDS = 3600.0
# The resolution of ipsecha_reload_info's `boot` label: a minute (product
# seconds), so a scaled minute of real time at --time.scale.
BOOT_LABEL_RESOLUTION_SECONDS = 60.0
RELOAD_LOOP_COUNT = 3
RF_FLAPPING_COUNT = 3

# Why a device reloaded, as ipsecha_reload_info's `cause` label says it.
RELOAD_CAUSES = ("operator", "rf_self_reload", "rg_reload", "crash", "power", "unknown")
OPERATOR, RF_SELF_RELOAD, RG_RELOAD, CRASH, POWER, UNKNOWN_CAUSE = RELOAD_CAUSES
# The log messages IOS writes just before it goes down, by (facility,
# mnemonic), and the one it writes once it is back.
_RELOAD_MESSAGES = {("RF_INTERDEV", "RELOAD"): RF_SELF_RELOAD, ("SYS", "RELOAD"): OPERATOR}
_RESTART_MESSAGE = ("SYS", "RESTART")
# `show version` reasons, when the log has no word on it ("System
# returned to ROM by bus error at PC ...", "power-on", "Critical software
# exception, check bootflash:crashinfo...").
_POWER_REASON = re.compile(r"\bpower", re.IGNORECASE)
_CRASH_REASON = re.compile(
    r"crash|exception|error|watchdog|parity|\babort|segv|illegal|\bsignal|\bbus\b", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class Reload:
    device: str
    pair: str
    detected_at: float  # Unix time of the poll that saw it (to read)
    uptime_seconds: int  # uptime at that poll
    previous_uptime_seconds: int
    reason: str  # as `show version` gives it ("" when it gives none)
    expected: bool
    why: str  # why it counts as expected or not
    cause: str = UNKNOWN_CAUSE  # one of RELOAD_CAUSES
    evidence: str = ""  # what told the cause: the log message, or show version's reason
    monotonic: float | None = None  # Clock.monotonic() of that poll: what ages it (None: detected_at)

    @property
    def instant(self) -> float:
        """When it was seen, on the monotonic scale."""
        return self.detected_at if self.monotonic is None else self.monotonic

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "pair": self.pair,
            "detected_at": round(self.detected_at, 3),
            "uptime_seconds": self.uptime_seconds,
            "previous_uptime_seconds": self.previous_uptime_seconds,
            "reason": self.reason,
            "expected": self.expected,
            "why": self.why,
            "cause": self.cause,
            "evidence": self.evidence,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reload:
        return cls(
            str(data["device"]),
            str(data["pair"]),
            float(data["detected_at"]),
            int(data["uptime_seconds"]),
            int(data["previous_uptime_seconds"]),
            str(data["reason"]),
            bool(data["expected"]),
            str(data["why"]),
            str(data.get("cause", UNKNOWN_CAUSE)),
            str(data.get("evidence", "")),
        )


@dataclass(frozen=True, slots=True)
class ReloadCause:
    cause: str  # one of RELOAD_CAUSES
    evidence: str  # "show logging: %RF_INTERDEV-4-RELOAD: ...", "show version: reload", or ""


def reload_cause(version: Version | None, log: Sequence[LogMessage] | None) -> ReloadCause:
    """Why the device's current boot began. The device's own log first:
    the last reload message before the last restart message (a buffer that
    a reload cleared has no such pair, so the log then says nothing).
    Else `show version`'s reason; an RF self-reload reads "reload" there,
    like the operator's command, which only the log tells apart."""
    pending: LogMessage | None = None
    before_boot: LogMessage | None = None
    for message in log or ():
        key = (message.facility, message.mnemonic)
        if key == _RESTART_MESSAGE:
            before_boot, pending = pending, None
        elif key in _RELOAD_MESSAGES:
            pending = message
    if before_boot is not None:
        cause = _RELOAD_MESSAGES[(before_boot.facility, before_boot.mnemonic)]
        return ReloadCause(cause, f"show logging: {before_boot.message}")
    reason = (version.reload_reason or version.returned_to_rom_by or "") if version is not None else ""
    if not reason:
        return ReloadCause(UNKNOWN_CAUSE, "")
    evidence = f"show version: {reason}"
    if _OPERATOR_RELOAD.fullmatch(reason):
        return ReloadCause(OPERATOR, evidence)
    if _POWER_REASON.search(reason):
        return ReloadCause(POWER, evidence)
    if _CRASH_REASON.search(reason):
        return ReloadCause(CRASH, evidence)
    return ReloadCause(UNKNOWN_CAUSE, evidence)


@dataclass(frozen=True, slots=True)
class Switchover:
    pair: str
    detected_at: float  # Unix time (to read)
    previous_active: str
    active: str
    monotonic: float | None = None  # Clock.monotonic() of the poll that saw it (None: detected_at)

    @property
    def instant(self) -> float:
        """When it was seen, on the monotonic scale."""
        return self.detected_at if self.monotonic is None else self.monotonic

    def to_dict(self) -> dict[str, Any]:
        return {
            "pair": self.pair,
            "detected_at": round(self.detected_at, 3),
            "previous_active": self.previous_active,
            "active": self.active,
        }


def classify_reload(reason: str, switchover: bool, cause: ReloadCause | None = None) -> tuple[bool, str]:
    """(expected, why) for a reload: `cause` as reload_cause gives it
    (default: from `reason`, show version's, alone)."""
    if cause is None:
        cause = reload_cause(Version("", None, None, "", 0, reason or None, None, None, None), ())
    if switchover:
        return False, "the pair switched over within the hour before"
    if cause.cause == OPERATOR:
        return True, "operator reload"
    if cause.cause == RF_SELF_RELOAD:
        return False, "an RF self-reload is never expected"
    if cause.cause == RG_RELOAD:
        return False, "a reload by the redundancy group is never expected"
    return False, "not an operator reload"


def boot_estimate(started_at: float, uptime_seconds: float, scale: float = 1.0) -> float:
    """When a boot began (Unix time, for the `boot` label): the poll's wall
    time less the uptime it read (product seconds, so divided by the scale)."""
    return started_at - uptime_seconds / scale


def boot_label_resolution(scale: float = 1.0) -> float:
    """The `boot` label's resolution in real (wall) seconds: a product
    minute."""
    return BOOT_LABEL_RESOLUTION_SECONDS / scale


def boot_label(booted_at: float, scale: float = 1.0) -> str:
    """A boot's start (Unix time) as ipsecha_reload_info's `boot` label, to
    the label's resolution (a minute at scale 1: 2026-11-30T12:34Z; with
    seconds, and their fraction, when a scaled minute is shorter):
    "" for an instant no calendar date holds (bounded uptimes never give
    one)."""
    resolution = boot_label_resolution(scale)
    try:
        instant = math.floor(booted_at / resolution) * resolution
        when = dt.datetime.fromtimestamp(instant, dt.timezone.utc)
    except (ArithmeticError, ValueError, OSError):
        return ""
    if resolution >= 60 - 1e-9:
        return when.strftime("%Y-%m-%dT%H:%MZ")
    if resolution >= 1 - 1e-9:
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    digits = min(6, math.ceil(-math.log10(resolution)))
    fraction = f"{when.microsecond / 1e6:.{digits}f}"[1:]  # ".25"
    return when.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def next_boot(booted_at: float, previous: float, scale: float = 1.0) -> float:
    """A new boot's start for its label: `booted_at`, unless its label
    would equal the previous boot's (reloads within one label resolution,
    or a wall clock stepped back): then the start of the next label after
    the previous one. Two boots of a device in a row never share a label."""
    before = boot_label(previous, scale)
    if boot_label(booted_at, scale) != before:
        return booted_at
    resolution = boot_label_resolution(scale)
    bumped = (math.floor(previous / resolution) + 1) * resolution
    for _ in range(4):  # float rounding at an odd resolution: nudge into the next label
        if boot_label(bumped, scale) != before:
            return bumped
        bumped += resolution / 1000
    return previous + resolution * 1.01


# Per redundancy group id, its (reload events: local request, peer request)
# counters as a member printed them.
RgReloadCounters = dict[int, tuple[int | None, int | None]]


@dataclass
class _Seen:
    uptime: int  # seconds, as the device printed it
    polled_at: float  # Clock.monotonic() when that uptime was read (show version's answer)
    booted_at: float  # Unix time the current boot began, as first estimated: steady until the next reload
    # b2b members: its groups' reload request counters at that poll, and its
    # peer's as known then (what a reload is compared against: rg_reload).
    rg: RgReloadCounters = field(default_factory=dict)
    peer_rg: RgReloadCounters = field(default_factory=dict)
    # The cause of the reload that began the current boot, as judged when it
    # was seen (the group's counters tell rg_reload, which the boot's own
    # show version and log cannot); None: the boot began before the monitor
    # knew the device.
    boot_cause: str | None = None


def rg_reload_counters(snapshot: Snapshot | None) -> RgReloadCounters | None:
    """A member's redundancy groups' reload request counters; None when
    its group output is not known."""
    groups = snapshot.redundancy_groups if snapshot is not None else None
    if groups is None:
        return None
    return {group.group_id: (group.reload_requests_local, group.reload_requests_peer) for group in groups}


def rg_reload_evidence(
    own: tuple[RgReloadCounters, RgReloadCounters], peer: tuple[str, RgReloadCounters, RgReloadCounters]
) -> str | None:
    """What says the redundancy group reloaded a member: its own groups'
    `local request` counter rose from before the reload (own[0]) to after
    (own[1]), or its peer's `peer request` counter did (peer: the peer's
    name, its counters before and after). None when neither rose."""
    before, after = own
    for group, (local, _) in sorted(after.items()):
        was = before.get(group, (None, None))[0]
        if local is not None and was is not None and local > was:
            return f"show redundancy application group all: group {group} reload events: local request {was} -> {local}"
    name, peer_before, peer_after = peer
    for group, (_, requested) in sorted(peer_after.items()):
        was = peer_before.get(group, (None, None))[1]
        if requested is not None and was is not None and requested > was:
            return (
                f"show redundancy application group all on {name}: group {group} reload events: "
                f"peer request {was} -> {requested}"
            )
    return None


@dataclass
class ReloadTracker:
    """Remembers each device's uptime and each pair's RF-active member
    between polls, reports reloads and switchovers, and keeps those of the
    last hour (RECENT_SECONDS) for the rules that look back. Its state is
    plain data (`to_dict` / `from_dict`), so `check --state FILE` can keep
    it across runs.

    Across runs, monotonic readings only compare within one boot of the
    host: `to_dict` saves the host's boot id and the monotonic and wall
    readings at the time; `from_dict` on the same boot carries the
    monotonic stamps over as they are, after a host reboot (or when the
    boot id is not known) it trusts the wall clock for the time between
    the save and the load, never less than zero. Files written before the
    boot id (wall stamps only) are read the same way."""

    devices: dict[str, _Seen] = field(default_factory=dict)
    rf_active: dict[str, str] = field(default_factory=dict)  # pair -> its RF-active member when last seen
    switched_at: dict[str, float] = field(default_factory=dict)  # pair -> Clock.monotonic() of its last switchover
    recent_reloads: list[Reload] = field(default_factory=list)  # within RECENT_SECONDS of the last observation
    recent_switchovers: list[Switchover] = field(default_factory=list)
    clock: Clock = field(default=SYSTEM_CLOCK, compare=False, repr=False)
    # The recent events by pair, rebuilt only after they change: judging one
    # pair must not cost a pass over the whole fleet's events.
    _by_pair: dict[str, tuple[tuple[Reload, ...], tuple[Switchover, ...]]] | None = field(
        default=None, init=False, compare=False, repr=False
    )
    _oldest: float = field(default=-math.inf, init=False, compare=False, repr=False)  # of the recent events

    def observe(
        self, snapshots: Mapping[str, Snapshot], inventory: Inventory
    ) -> tuple[tuple[Reload, ...], tuple[Switchover, ...]]:
        """Reloads and switchovers since the previous observation."""
        switchovers = self._switchovers(snapshots, inventory)
        reloads: list[Reload] = []
        # The b2b peers' group reload counters, as they stood before this
        # observation (only theirs: observing a poll never costs the fleet).
        peers = {name: _b2b_peer(inventory, name) for name in snapshots}
        held_rg = {
            peer: seen.rg
            for peer in peers.values()
            if peer is not None and (seen := self.devices.get(peer)) is not None and seen.rg
        }
        for name, snapshot in snapshots.items():
            version = snapshot.version
            if version is None or version.uptime_seconds is None:
                continue  # a failed poll is not a reload
            # When the uptime was read: show version's answer (a login before
            # it, in one poll and not the next, must not count as time elapsed).
            answer = snapshot.result("show version")
            at = answer.monotonic if answer is not None and answer.monotonic is not None else snapshot.began
            uptime = version.uptime_seconds
            seen = self.devices.get(name)
            if seen is not None and at < seen.polled_at:
                continue  # older than what is known: never read backwards
            # Uptime never goes backwards on a running device (IOS prints it
            # in whole minutes, floored), and grows as fast as the monotonic
            # clock: growing less than the time elapsed (less the tolerance
            # for the minute resolution) catches a reload missed while the
            # device was unreachable. No wall clock takes part.
            rebooted = seen is not None and (
                uptime < seen.uptime or uptime < seen.uptime + (at - seen.polled_at) - self._tolerance()
            )
            if seen is not None and not rebooted:
                booted_at = seen.booted_at
            else:
                # For the label: the wall time of the boot, as the poll's wall reading gives it.
                booted_at = boot_estimate(snapshot.started_at, uptime, self.clock.scale)
                if seen is not None:
                    booted_at = next_boot(booted_at, seen.booted_at, self.clock.scale)
            peer = peers[name]
            rg = rg_reload_counters(snapshot)
            if rg is None:  # not read this time: what was known stays the reference
                rg = seen.rg if seen is not None else {}
            peer_rg = (rg_reload_counters(snapshots.get(peer)) or held_rg.get(peer, {})) if peer else {}
            self.devices[name] = _Seen(uptime, at, booted_at, rg, peer_rg, seen.boot_cause if seen else None)
            if seen is None or not rebooted:
                continue
            reason = version.reload_reason or version.returned_to_rom_by or ""
            # The pair switched over since the device was last seen (in this
            # poll, or in one made while the device was down) or within the
            # hour before: as IpsechaUnexpectedReload judges it (an operator's
            # reload soon after a failover is part of the incident).
            switched_at = self.switched_at.get(snapshot.pair)
            in_switchover = (
                bool(snapshot.pair)
                and switched_at is not None
                and switched_at >= min(seen.polled_at, at - RECENT_SECONDS)
            )
            cause = reload_cause(version, snapshot.log_messages)
            if peer is not None:
                # The group's own counters are the specific word: they outrank
                # the log and show version (which reads "reload" for it).
                evidence = rg_reload_evidence((seen.rg, rg), (peer, seen.peer_rg, peer_rg))
                if evidence is not None:
                    cause = ReloadCause(RG_RELOAD, evidence)
            expected, why = classify_reload(reason, in_switchover, cause)
            self.devices[name].boot_cause = cause.cause
            reloads.append(
                Reload(
                    name,
                    snapshot.pair,
                    snapshot.started_at,
                    uptime,
                    seen.uptime,
                    reason,
                    expected,
                    why,
                    cause.cause,
                    cause.evidence,
                    at,
                )
            )
        if reloads or switchovers:
            self.recent_reloads += reloads
            self.recent_switchovers += switchovers
            self._oldest = min([self._oldest, *(r.instant for r in reloads), *(s.instant for s in switchovers)])
            self._by_pair = None
        latest = max((snapshot.began for snapshot in snapshots.values()), default=None)
        if latest is not None:
            self._forget_before(latest - RECENT_SECONDS)
        return tuple(reloads), switchovers

    def _tolerance(self) -> float:
        """How much less than the elapsed time an uptime may grow (product seconds)."""
        return max(BOOT_TIME_TOLERANCE_SECONDS, self.clock.product(ANSWER_JITTER_REAL_SECONDS))

    def recent(self, pair: str | None = None) -> tuple[tuple[Reload, ...], tuple[Switchover, ...]]:
        """The reloads and switchovers seen within the last hour: all of
        them, or those of one pair ("": devices in no pair)."""
        if pair is None:
            return tuple(self.recent_reloads), tuple(self.recent_switchovers)
        if self._by_pair is None:
            by_pair: dict[str, tuple[list[Reload], list[Switchover]]] = {}
            for reload in self.recent_reloads:
                by_pair.setdefault(reload.pair, ([], []))[0].append(reload)
            for switchover in self.recent_switchovers:
                by_pair.setdefault(switchover.pair, ([], []))[1].append(switchover)
            self._by_pair = {name: (tuple(r), tuple(s)) for name, (r, s) in by_pair.items()}
        return self._by_pair.get(pair, ((), ()))

    def booted_at(self) -> dict[str, float]:
        """Per device, when its current boot began (Unix time, for the boot
        label), as first estimated: steady for the life of the boot, new
        with each reload, and never in the same label as the previous boot."""
        return {name: seen.booted_at for name, seen in self.devices.items()}

    def boot_causes(self) -> dict[str, str]:
        """Per device whose current boot began while it was watched, the
        cause its reload was recorded with (what ipsecha_reload_info says)."""
        return {name: seen.boot_cause for name, seen in self.devices.items() if seen.boot_cause is not None}

    def _forget_before(self, cutoff: float) -> None:
        if self._oldest >= cutoff:
            return  # nothing to forget: no pass over the events
        self.recent_reloads = [r for r in self.recent_reloads if r.instant >= cutoff]
        self.recent_switchovers = [s for s in self.recent_switchovers if s.instant >= cutoff]
        instants = [r.instant for r in self.recent_reloads] + [s.instant for s in self.recent_switchovers]
        self._oldest = min(instants, default=math.inf)
        self._by_pair = None

    def _switchovers(self, snapshots: Mapping[str, Snapshot], inventory: Inventory) -> tuple[Switchover, ...]:
        found: list[Switchover] = []
        polled = dict.fromkeys(inventory.devices[name].pair for name in snapshots if name in inventory.devices)
        for pair in (inventory.pairs[name] for name in polled if name in inventory.pairs):
            actives = []
            for member in pair.members:
                snap = snapshots.get(member)
                if snap is None:
                    continue
                if _is_active(pair, snap):
                    actives.append((member, snap))
            if len(actives) != 1:
                continue  # no clear active unit now: judge when there is one
            member, snap = actives[0]
            previous = self.rf_active.get(pair.name)
            self.rf_active[pair.name] = member
            if previous is not None and previous != member:
                self.switched_at[pair.name] = snap.began
                found.append(Switchover(pair.name, snap.started_at, previous, member, snap.began))
        return tuple(found)

    def forget(self, devices: list[str]) -> None:
        """Drop what is known of these devices (removed, or now another host)."""
        gone = set(devices)
        for name in gone:
            self.devices.pop(name, None)
        self.recent_reloads = [r for r in self.recent_reloads if r.device not in gone]
        self._by_pair = None

    def forget_pairs(self, pairs: list[str]) -> None:
        """Drop the RF-active member known of these pairs (removed, or their
        members changed): the next one seen is no switchover."""
        for name in pairs:
            self.rf_active.pop(name, None)
            self.switched_at.pop(name, None)
        self.recent_switchovers = [s for s in self.recent_switchovers if s.pair not in pairs]
        self._by_pair = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data: every stamp a Clock.monotonic() reading, and under
        "clock" the host's boot id and the clock's readings now, which
        from_dict needs to carry the stamps into another process."""
        clock = self.clock
        return {
            "clock": {
                "boot_id": clock.boot_id(),
                "monotonic": clock.monotonic(),
                "wall": clock.wall(),
                "scale": clock.scale,
            },
            "devices": {
                name: {
                    "uptime": s.uptime,
                    "monotonic": s.polled_at,
                    "booted_at": s.booted_at,
                    **({"rg": _rg_to_dict(s.rg), "peer_rg": _rg_to_dict(s.peer_rg)} if s.rg or s.peer_rg else {}),
                    **({"boot_cause": s.boot_cause} if s.boot_cause is not None else {}),
                }
                for name, s in self.devices.items()
            },
            "rf_active": dict(self.rf_active),
            "switched_at": dict(self.switched_at),
            "recent_reloads": [{**reload.to_dict(), "monotonic": reload.instant} for reload in self.recent_reloads],
            "recent_switchovers": [
                {**switchover.to_dict(), "monotonic": switchover.instant} for switchover in self.recent_switchovers
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], clock: Clock = SYSTEM_CLOCK) -> ReloadTracker:
        """Rebuild from `to_dict` output, its stamps carried onto `clock`'s
        monotonic scale (see the class). Also reads the earlier shape,
        whose stamps are Unix times (`polled_at`, `detected_at`,
        `switched_at`). Raises ValueError on a bad shape."""
        try:
            rebase = rebase_stamps(data.get("clock"), clock)
            stamped = "clock" in data

            def at(item: Mapping[str, Any], wall_key: str) -> float:
                return rebase(float(item["monotonic"] if stamped else item[wall_key]))

            devices = {
                str(name): _Seen(
                    int(s["uptime"]),
                    at(s, "polled_at"),
                    float(s["booted_at"]) if "booted_at" in s or stamped else float(s["boot_time"]),
                    _rg_from_dict(s.get("rg", {})),
                    _rg_from_dict(s.get("peer_rg", {})),
                    str(s["boot_cause"]) if s.get("boot_cause") in RELOAD_CAUSES else None,
                )
                for name, s in dict(data.get("devices", {})).items()
            }
            rf_active = {str(pair): str(member) for pair, member in dict(data.get("rf_active", {})).items()}
            switched_at = {str(pair): rebase(float(when)) for pair, when in dict(data.get("switched_at", {})).items()}
            reloads = [
                replace(Reload.from_dict(item), monotonic=at(item, "detected_at"))
                for item in list(data.get("recent_reloads", []))
            ]
            switchovers = [
                Switchover(
                    str(item["pair"]),
                    float(item["detected_at"]),
                    str(item["previous_active"]),
                    str(item["active"]),
                    at(item, "detected_at"),
                )
                for item in list(data.get("recent_switchovers", []))
            ]
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise ValueError(f"not a state this monitor wrote: {exc}") from None
        return cls(devices, rf_active, switched_at, reloads, switchovers, clock)


def _is_active(pair: Pair, snapshot: Snapshot) -> bool:
    """Whether the member holds the pair's active role: RF ACTIVE in a
    classic pair, the ACTIVE role of the first watched group in a b2b one."""
    if pair.mode == B2B:
        group = snapshot.redundancy_group(pair.watched_groups[0].id)
        return group is not None and group.my_role == RG_ACTIVE
    states = snapshot.redundancy_states
    return states is not None and states.my_state.code == ACTIVE


def _b2b_peer(inventory: Inventory, name: str) -> str | None:
    """The other member of the b2b pair `name` is in; None otherwise."""
    device = inventory.devices.get(name)
    pair = inventory.pairs.get(device.pair) if device is not None and device.pair else None
    if pair is None or pair.mode != B2B:
        return None
    return next((member for member in pair.members if member != name), None)


def _rg_to_dict(counters: RgReloadCounters) -> dict[str, list[int | None]]:
    return {str(group): list(pair) for group, pair in counters.items()}


def _rg_from_dict(data: Any) -> RgReloadCounters:
    return {
        int(group): (None if local is None else int(local), None if peer is None else int(peer))
        for group, (local, peer) in dict(data).items()
    }


def rebase_stamps(saved: Any, clock: Clock) -> Callable[[float], float]:
    """`saved`: the "clock" a state file carries (ReloadTracker.to_dict's;
    None for the files before it). A function taking a saved stamp (a
    Clock.monotonic() reading of the saving process when `monotonic`, else
    a Unix time) to `clock`'s monotonic scale. On the same boot of the host
    the monotonic clock is the same: the stamp as it is (converted if the
    scale differs). Otherwise now, less the time since the save (the wall
    clock's difference, never below zero), less the stamp's age at the save.
    Every part of a state file rebases its stamps with it (the box-to-box
    history too: RgHistory.from_dict)."""
    now, wall = clock.monotonic(), clock.wall()
    if saved is None:  # a file from before the boot id: stamps are Unix times, ages by the wall clock
        return lambda stamp: now - clock.product(max(0.0, wall - _finite(stamp)))
    saved = dict(saved)
    saved_monotonic, saved_wall = _finite(float(saved["monotonic"])), _finite(float(saved["wall"]))
    saved_scale = _finite(float(saved.get("scale", 1.0)))
    if not saved_scale > 0:
        raise ValueError(f"not a time scale: {saved_scale!r}")
    boot_id = saved.get("boot_id")
    if boot_id is not None and boot_id == clock.boot_id():
        if saved_scale == clock.scale:
            return lambda stamp: _finite(stamp)
        return lambda stamp: clock.product(_finite(stamp) / saved_scale)
    since = max(0.0, clock.product(wall - saved_wall))
    # How long before the save each stamp was, in the saving run's product seconds, made ours.
    return lambda stamp: now - since - clock.product(max(0.0, saved_monotonic - _finite(stamp)) / saved_scale)


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"not a time: {value!r}")
    return value
