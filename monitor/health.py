"""Health rules, shared by `check` and the exporter.

Per pair (each rule says ok, failed, or unknown when the data it needs is
missing):

    one_rf_active            exactly one member is RF ACTIVE (13)
    peer_standby_hot         the RF-active member's peer is STANDBY HOT (8)
    duplex                   the RF-active member runs Mode = Duplex
    communications_up        ... and Communications = Up
    stateful_group_consistent the group `scheme standby` names (inventory `stateful_group` or
                             show redundancy inter-device) is known, agreed, and on both members
    hsrp_active_present      some member is HSRP active on the stateful group
    single_hsrp_active       no second member is HSRP active (split brain)
    hsrp_active_is_rf_active the HSRP-active member is the RF-active unit
    no_preempt               no preemption on a stateful group
    expected_peers_have_sa   every expected branch peer has an active SA on the RF-active member
    standby_has_sa_copies    the STANDBY HOT member holds standby copies of the SAs of every
                             branch peer with active SAs on the RF-active member
    no_unexpected_reload     no member reloaded unexpectedly within the last hour
    no_reload_loop           no member reloaded 3 or more times within the last hour
    no_rf_flapping           the RF-active role changed hands fewer than 3 times within the hour

When a member answers no poll while the other reports it ACTIVE as its
peer with Communications Up, that member counts as the RF-active one and
the rules on it are judged from its peer's view, or left unknown: a hub
the monitor cannot reach is not a pair without an active unit.

Verdict (worst first): `unhealthy` when a rule failed; `recovering` when
the only failed rule is no_unexpected_reload (the pair works again, but a
member reloaded unexpectedly within the hour: the window the reload alert
keeps firing); `unknown` when a member could not be polled or a rule could
not be judged; otherwise `healthy`.

Reloads (ReloadTracker): a device's uptime going backwards between two
good polls, or its boot time (poll time minus uptime) falling after the
previous good poll. A failed poll is never a reload. Its cause comes from
the device's own log when the log kept the message that preceded the boot
(`%RF_INTERDEV-4-RELOAD` RF self-reload, `%SYS-5-RELOAD` operator), else
from `show version`'s reason. Expected only for an operator reload when
the pair did not switch over in the same window.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.inventory import Inventory, Pair
from monitor.records import LogMessage, Version
from monitor.rf_states import ACTIVE, STANDBY_HOT
from monitor.snapshot import Snapshot

HEALTHY, RECOVERING, UNHEALTHY, UNKNOWN = "healthy", "recovering", "unhealthy", "unknown"
VERDICTS = (HEALTHY, RECOVERING, UNHEALTHY, UNKNOWN)

RULES: dict[str, str] = {
    "one_rf_active": "exactly one member is RF ACTIVE",
    "peer_standby_hot": "the RF-active member's peer is STANDBY HOT",
    "duplex": "the RF-active member runs Duplex",
    "communications_up": "the RF-active member's IPC communications are Up",
    "stateful_group_consistent": "the stateful HSRP group is known, the same everywhere, and configured on both",
    "hsrp_active_present": "a member is HSRP active on the stateful group",
    "single_hsrp_active": "no second member is HSRP active",
    "hsrp_active_is_rf_active": "the HSRP-active member is the RF-active unit",
    "no_preempt": "no preemption on a stateful HSRP group",
    "expected_peers_have_sa": "every expected branch peer has an active IPsec SA on the RF-active member",
    "standby_has_sa_copies": "the STANDBY HOT member holds copies of the RF-active member's SAs for every branch peer",
    "no_unexpected_reload": "no member reloaded unexpectedly within the last hour",
    "no_reload_loop": "no member reloaded 3 or more times within the last hour",
    "no_rf_flapping": "the RF-active role changed hands fewer than 3 times within the last hour",
}

# Shared with the alert rules (dashboards/prometheus/ipsecha-rules.yml), which
# must say the same: tests/test_shared_constants.py holds them to these.
#
# `show version` reasons that an operator asked for (reload command, install),
# matched whole and case-blind (Prometheus anchors `=~`; RE2 reads it as Python).
OPERATOR_RELOAD_PATTERN = r"\s*(reload( command)?|admin reload cli|.*\binstall\b.*)\s*"
_OPERATOR_RELOAD = re.compile(OPERATOR_RELOAD_PATTERN, re.IGNORECASE)
# How far the boot time (poll time minus uptime) may move before it is a
# reload: `uptime is` has minute resolution, plus clock slack.
BOOT_TIME_TOLERANCE_SECONDS = 120.0
# How long a reload or a switchover counts against a pair (the reload
# alert keeps firing this long), and how many within it make a loop.
RECENT_SECONDS = 3600.0
RELOAD_LOOP_COUNT = 3
RF_FLAPPING_COUNT = 3

# Why a device reloaded, as ipsecha_reload_info's `cause` label says it.
RELOAD_CAUSES = ("operator", "rf_self_reload", "crash", "power", "unknown")
OPERATOR, RF_SELF_RELOAD, CRASH, POWER, UNKNOWN_CAUSE = RELOAD_CAUSES
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
class RuleResult:
    rule: str
    ok: bool | None  # None: could not be judged from the data at hand
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "ok": self.ok, "message": self.message}


@dataclass(frozen=True, slots=True)
class Reload:
    device: str
    pair: str
    detected_at: float  # Unix time of the poll that saw it
    uptime_seconds: int  # uptime at that poll
    previous_uptime_seconds: int
    reason: str  # as `show version` gives it ("" when it gives none)
    expected: bool
    why: str  # why it counts as expected or not
    cause: str = UNKNOWN_CAUSE  # one of RELOAD_CAUSES
    evidence: str = ""  # what told the cause: the log message, or show version's reason

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
    detected_at: float
    previous_active: str
    active: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "pair": self.pair,
            "detected_at": round(self.detected_at, 3),
            "previous_active": self.previous_active,
            "active": self.active,
        }


@dataclass(frozen=True, slots=True)
class PairHealth:
    pair: str
    members: tuple[str, str]
    verdict: str  # healthy, unhealthy or unknown
    rf_active: str | None  # the member that is RF ACTIVE, when exactly one is
    hsrp_active: tuple[str, ...]  # members HSRP active on a stateful group
    results: tuple[RuleResult, ...]
    rf_active_members: tuple[str, ...] = ()  # every member that is RF ACTIVE

    @property
    def failed(self) -> tuple[RuleResult, ...]:
        return tuple(result for result in self.results if result.ok is False)

    @property
    def unknown(self) -> tuple[RuleResult, ...]:
        return tuple(result for result in self.results if result.ok is None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pair": self.pair,
            "members": list(self.members),
            "verdict": self.verdict,
            "rf_active": self.rf_active,
            "hsrp_active": list(self.hsrp_active),
            "rf_active_members": list(self.rf_active_members),
            "rules": [result.to_dict() for result in self.results],
        }


def evaluate_pair(
    pair: Pair,
    snapshots: Mapping[str, Snapshot],
    inventory: Inventory,
    reloads: tuple[Reload, ...] = (),
    switchovers: tuple[Switchover, ...] = (),
) -> PairHealth:
    """Judge one pair from its members' latest snapshots (a member missing
    from `snapshots` counts as not polled), the reloads and the switchovers
    seen within the last hour (ReloadTracker.recent)."""
    return _PairJudge(pair, snapshots, inventory, reloads, switchovers).judge()


class _PairJudge:
    def __init__(
        self,
        pair: Pair,
        snapshots: Mapping[str, Snapshot],
        inventory: Inventory,
        reloads: tuple[Reload, ...],
        switchovers: tuple[Switchover, ...],
    ) -> None:
        self.pair = pair
        self.inventory = inventory
        self.reloads = tuple(r for r in reloads if r.device in pair.members)
        self.switchovers = tuple(s for s in switchovers if s.pair == pair.name)
        self.snapshots = {name: snapshots.get(name) for name in pair.members}
        self.not_polled = [name for name, snap in self.snapshots.items() if snap is None or not snap.up]
        self.states = {
            name: snap.redundancy_states for name, snap in self.snapshots.items() if snap and snap.redundancy_states
        }
        self.rf_actives = [name for name, states in self.states.items() if states.my_state.code == ACTIVE]
        # A member whose RF state is not known, reported ACTIVE by its peer
        # over working IPC: (that member, the peer that says so).
        self.reported: tuple[str, str] | None = None
        if not self.rf_actives and len(self.states) == len(pair.members) - 1:
            reporter, states = next(iter(self.states.items()))
            silent = next(name for name in pair.members if name not in self.states)
            if states.peer_state is not None and states.peer_state.code == ACTIVE and states.communications_up:
                self.reported = (silent, reporter)
                self.rf_actives = [silent]
        self.rf_active = self.rf_actives[0] if len(self.rf_actives) == 1 else None
        self.rf_standby = next((name for name in pair.members if name != self.rf_active), None)
        # The group `scheme standby` names, per member that answered show
        # redundancy inter-device with one.
        self.schemes = {
            name: snap.inter_device.group_name
            for name, snap in self.snapshots.items()
            if snap is not None and snap.inter_device is not None and snap.inter_device.group_name
        }
        self.scheme_known = pair.stateful_group is not None or any(
            snap is not None and snap.inter_device is not None for snap in self.snapshots.values()
        )
        self.scheme = pair.stateful_group or next(iter(self.schemes.values()), None)
        self.stateful = self._stateful_groups()
        self.hsrp_active = tuple(
            name for name, groups in self.stateful.items() if any(group.state == "active" for group in groups)
        )

    def _stateful_groups(self) -> dict[str, list[Any]]:
        """Per member whose groups are known, its HSRP groups that carry the
        stateful failover: the group `scheme standby` names, as the pair's
        `stateful_group` in the inventory or either member's show redundancy
        inter-device says. Both members share the scheme, so one answer
        serves for both; with neither, the groups are unknown (a LAN group
        with its own preemption must not be judged as the stateful one).
        All groups count only when IOS shows no scheme name at all."""
        if not self.scheme_known:
            return {}
        result: dict[str, list[Any]] = {}
        for name, snap in self.snapshots.items():
            groups = snap.hsrp_groups if snap is not None else None
            if groups is None:  # failed or not polled: unknown, unlike "no groups"
                continue
            result[name] = [group for group in groups if group.group_name == self.scheme or not self.scheme]
        return result

    def _missing(self, command: str, members: Any = None) -> str:
        """Why `command`'s data is missing on these members (default: every
        member): never calls a polled device unpolled."""
        reasons = []
        for name in self.pair.members if members is None else members:
            snap = self.snapshots[name]
            result = snap.result(command) if snap is not None else None
            if snap is None:
                reasons.append(f"{name} not polled yet")
            elif result is None:
                reasons.append(f"{name}: {command} not run")
            elif not result.ok:
                reasons.append(f"{name}: {command} failed ({result.status})")
        return "; ".join(reasons)

    def _hsrp_unknown(self) -> str:
        """Why the stateful HSRP groups of some member are unknown."""
        if not self.scheme_known:
            return (
                "the stateful HSRP group is unknown: "
                + (self._missing("show redundancy inter-device") or "show redundancy inter-device gave no group")
                + f"; set stateful_group: <HSRP group name> on pair {self.pair.name} in the inventory"
            )
        return self._missing("show standby", [name for name in self.pair.members if name not in self.stateful])

    def judge(self) -> PairHealth:
        results = (
            self.one_rf_active(),
            self.on_active("peer_standby_hot", self._peer_standby_hot),
            self.on_active("duplex", self._duplex),
            self.on_active("communications_up", self._communications),
            self.stateful_group_consistent(),
            self.hsrp_active_present(),
            self.single_hsrp_active(),
            self.hsrp_active_is_rf_active(),
            self.no_preempt(),
            self.on_active("expected_peers_have_sa", self._expected_peers),
            self.standby_has_sa_copies(),
            self.no_unexpected_reload(),
            self.no_reload_loop(),
            self.no_rf_flapping(),
        )
        failed = {result.rule for result in results if result.ok is False}
        if failed == {"no_unexpected_reload"}:
            verdict = RECOVERING
        elif failed:
            verdict = UNHEALTHY
        elif self.not_polled or any(result.ok is None for result in results):
            verdict = UNKNOWN
        else:
            verdict = HEALTHY
        return PairHealth(
            self.pair.name,
            self.pair.members,
            verdict,
            self.rf_active,
            self.hsrp_active,
            results,
            tuple(self.rf_actives),
        )

    # --- rules ----------------------------------------------------------------

    def one_rf_active(self) -> RuleResult:
        rule = "one_rf_active"
        if len(self.rf_actives) > 1:
            return RuleResult(rule, False, f"both {' and '.join(self.rf_actives)} are RF ACTIVE")
        if self.reported is not None:
            silent, reporter = self.reported
            return RuleResult(
                rule, True, f"{silent} is RF ACTIVE as {reporter} reports it ({self._missing_member(silent)})"
            )
        if self.rf_active is not None:
            return RuleResult(rule, True, f"{self.rf_active} is RF ACTIVE")
        if len(self.states) < len(self.pair.members):
            return RuleResult(
                rule, None, f"no member is RF ACTIVE as far as known; {self._missing('show redundancy states')}"
            )
        states = ", ".join(f"{name} {states.my_state.name}" for name, states in self.states.items())
        return RuleResult(rule, False, f"no member is RF ACTIVE ({states})")

    def on_active(self, rule: str, check: Any) -> RuleResult:
        if self.rf_active is None:
            return RuleResult(rule, None, "no single RF-active member to judge")
        if self.reported is not None:
            return self._from_peer_view(rule)
        ok, message = check(self.rf_active, self.states[self.rf_active])
        return RuleResult(rule, ok, message)

    def _from_peer_view(self, rule: str) -> RuleResult:
        """A rule on an RF-active member that answers no poll, judged from
        what its peer reports: the peer's own state (it is the peer the
        rule asks about), and the mode and IPC the two share."""
        assert self.reported is not None
        silent, reporter = self.reported
        states = self.states[reporter]
        why = f"as {reporter} reports ({self._missing_member(silent)})"
        if rule == "peer_standby_hot":
            ok = states.my_state.code == STANDBY_HOT
            return RuleResult(rule, ok, f"{reporter} is {states.my_state.name}, {why}")
        if rule == "duplex":
            return RuleResult(rule, None if states.mode is None else states.duplex is True, f"{states.mode}, {why}")
        if rule == "communications_up":
            return RuleResult(rule, True, f"Communications = {states.communications}, {why}")
        return RuleResult(rule, None, f"{silent}'s own data is needed: {self._missing_member(silent)}")

    def _missing_member(self, name: str) -> str:
        return self._missing("show redundancy states", [name]) or f"{name}: no RF state"

    def _peer_standby_hot(self, name: str, states: Any) -> tuple[bool, str]:
        peer = states.peer_state
        if peer is None:
            return False, f"{name} shows no peer state"
        if peer.code == STANDBY_HOT:
            return True, f"{name}'s peer is STANDBY HOT"
        return False, f"{name}'s peer is {peer.name} ({peer.code}), not STANDBY HOT: a failover now drops the tunnels"

    def _duplex(self, name: str, states: Any) -> tuple[bool | None, str]:
        if states.mode is None:
            return None, f"{name} does not show its mode"
        return states.duplex is True, f"{name} runs {states.mode}"

    def _communications(self, name: str, states: Any) -> tuple[bool | None, str]:
        if states.communications is None:
            return None, f"{name} does not show Communications"
        reason = f" ({states.communications_reason})" if states.communications_reason else ""
        return states.communications_up is True, f"{name}: Communications = {states.communications}{reason}"

    def _expected_peers(self, name: str, states: Any) -> tuple[bool | None, str]:
        expected = self.inventory.devices[name].expected_peers
        snapshot = self.snapshots[name]
        if not expected:
            return True, f"{name} has no expected peers in the inventory"
        counts = snapshot.active_sas_by_peer() if snapshot is not None else None
        if counts is None:
            return None, self._missing("show crypto ipsec sa", [name])
        missing = [peer for peer in expected if counts.get(peer, 0) == 0]
        if missing:
            return False, f"{name} has no active IPsec SA toward {', '.join(missing)}"
        return True, f"{name} has active SAs toward all {len(expected)} expected peers"

    def hsrp_active_present(self) -> RuleResult:
        rule = "hsrp_active_present"
        if self.hsrp_active:
            return RuleResult(rule, True, f"{', '.join(self.hsrp_active)} HSRP active")
        if len(self.stateful) < len(self.pair.members):
            return RuleResult(rule, None, f"no member is HSRP active as far as known; {self._hsrp_unknown()}")
        return RuleResult(rule, False, "no member is HSRP active: the tunnels' virtual IP has no owner")

    def single_hsrp_active(self) -> RuleResult:
        rule = "single_hsrp_active"
        if len(self.hsrp_active) > 1:
            return RuleResult(rule, False, f"split brain: {' and '.join(self.hsrp_active)} are both HSRP active")
        if len(self.stateful) < len(self.pair.members):
            return RuleResult(rule, None, self._hsrp_unknown())
        return RuleResult(rule, True, "at most one member is HSRP active")

    def stateful_group_consistent(self) -> RuleResult:
        rule = "stateful_group_consistent"
        configured = self.pair.stateful_group
        named = sorted(set(self.schemes.values()))
        if configured is not None and any(name != configured for name in named):
            where = ", ".join(f"{member} says {name}" for member, name in self.schemes.items() if name != configured)
            return RuleResult(
                rule,
                False,
                f"the inventory names stateful group {configured} but show redundancy inter-device on {where}: "
                "fix stateful_group in the inventory or `scheme standby` on the routers",
            )
        if len(named) > 1:
            where = ", ".join(f"{member} {name}" for member, name in self.schemes.items())
            return RuleResult(rule, False, f"the members' scheme standby names differ ({where})")
        if not self.scheme_known:
            return RuleResult(rule, None, self._hsrp_unknown())
        if self.scheme is None:
            return RuleResult(rule, True, "show redundancy inter-device names no group: all HSRP groups count")
        lacking = [name for name, groups in self.stateful.items() if not groups]
        if lacking:
            who = f"{lacking[0]} has" if len(lacking) == 1 else f"{' and '.join(lacking)} have"
            return RuleResult(rule, False, f"{who} no HSRP group named {self.scheme} (show standby)")
        source = "the inventory" if configured is not None else "show redundancy inter-device"
        return RuleResult(rule, True, f"stateful HSRP group {self.scheme} (from {source})")

    def hsrp_active_is_rf_active(self) -> RuleResult:
        rule = "hsrp_active_is_rf_active"
        if self.rf_active is None or not self.hsrp_active:
            return RuleResult(rule, None, "needs one RF-active and an HSRP-active member")
        wrong = [name for name in self.hsrp_active if name != self.rf_active]
        if wrong:
            return RuleResult(rule, False, f"{', '.join(wrong)} is HSRP active but {self.rf_active} is RF ACTIVE")
        return RuleResult(rule, True, f"{self.rf_active} is both HSRP and RF active")

    def no_preempt(self) -> RuleResult:
        rule = "no_preempt"
        preempting = [
            f"{name} {group.interface} group {group.group}" + (f" ({group.group_name})" if group.group_name else "")
            for name, groups in self.stateful.items()
            for group in groups
            if group.preempt
        ]
        if preempting:
            return RuleResult(
                rule, False, f"preemption enabled on {', '.join(preempting)}: a rebooted router takes over unsynced"
            )
        if len(self.stateful) < len(self.pair.members):
            return RuleResult(rule, None, self._hsrp_unknown())
        return RuleResult(rule, True, "no preemption on the stateful group")

    def standby_has_sa_copies(self) -> RuleResult:
        rule = "standby_has_sa_copies"
        active, standby = self.rf_active, self.rf_standby
        if active is None or standby is None:
            return RuleResult(rule, None, "no single RF-active member to judge")
        states = self.states.get(standby)
        if states is None:
            return RuleResult(rule, None, self._missing("show redundancy states", [standby]))
        if states.my_state.code != STANDBY_HOT:
            # Not synchronised yet, or gone: peer_standby_hot says so.
            return RuleResult(rule, None, f"{standby} is {states.my_state.name}, not STANDBY HOT: holds no copies yet")
        active_snap, standby_snap = self.snapshots[active], self.snapshots[standby]
        counts = active_snap.active_sas_by_peer() if active_snap is not None else None
        if counts is None:
            return RuleResult(rule, None, self._missing("show crypto ipsec sa", [active]))
        copies = standby_snap.standby_sas_by_peer() if standby_snap is not None else None
        labelled_active = standby_snap.active_sas_by_peer() if standby_snap is not None else None
        if copies is None or labelled_active is None:
            return RuleResult(rule, None, self._missing("show crypto ipsec sa", [standby]))
        # Per peer, not per SPI: a rekey replaces the active SAs first and
        # their copies follow within seconds, while the previous copies stay.
        # Any SA the standby unit holds is a copy, whatever its Status says
        # (STANDBY as IOS 12.4 prints it; an image may print ACTIVE there).
        peers = sorted(peer for peer, count in counts.items() if count > 0)
        lacking = [peer for peer in peers if copies.get(peer, 0) + labelled_active.get(peer, 0) == 0]
        if lacking:
            shown = ", ".join(lacking[:5]) + (f" and {len(lacking) - 5} more" if len(lacking) > 5 else "")
            return RuleResult(
                rule,
                False,
                f"{standby} is STANDBY HOT but holds no SA copy for {len(lacking)} of the {len(peers)} branch "
                f"peers with active SAs on {active} ({shown}): a failover now drops their tunnels",
            )
        return RuleResult(rule, True, f"{standby} holds SA copies for all {len(peers)} peers active on {active}")

    def no_unexpected_reload(self) -> RuleResult:
        rule = "no_unexpected_reload"
        unexpected = [reload for reload in self.reloads if not reload.expected]
        if unexpected:
            text = "; ".join(
                f"{r.device} reloaded ({r.cause}, {r.reason or 'no reason given'}: {r.why})" for r in unexpected
            )
            return RuleResult(rule, False, text + " within the last hour")
        return RuleResult(rule, True, "no unexpected reload within the last hour")

    def no_reload_loop(self) -> RuleResult:
        rule = "no_reload_loop"
        counts = Counter(reload.device for reload in self.reloads)
        looping = [f"{device} {count} times" for device, count in counts.items() if count >= RELOAD_LOOP_COUNT]
        if looping:
            return RuleResult(rule, False, f"reload loop: {', '.join(looping)} within the last hour")
        return RuleResult(rule, True, f"fewer than {RELOAD_LOOP_COUNT} reloads of any member within the last hour")

    def no_rf_flapping(self) -> RuleResult:
        rule = "no_rf_flapping"
        count = len(self.switchovers)
        if count >= RF_FLAPPING_COUNT:
            path = " -> ".join([self.switchovers[0].previous_active, *(s.active for s in self.switchovers)])
            return RuleResult(rule, False, f"the RF-active role changed hands {count} times within the hour ({path})")
        return RuleResult(rule, True, f"{count} switchover(s) within the last hour")


def classify_reload(reason: str, switchover: bool, cause: ReloadCause | None = None) -> tuple[bool, str]:
    """(expected, why) for a reload: `cause` as reload_cause gives it
    (default: from `reason`, show version's, alone)."""
    if cause is None:
        cause = reload_cause(Version("", None, None, "", 0, reason or None, None, None, None), ())
    if switchover:
        return False, "the pair switched over in the same window"
    if cause.cause == OPERATOR:
        return True, "operator reload"
    if cause.cause == RF_SELF_RELOAD:
        return False, "an RF self-reload is never expected"
    return False, "not an operator reload"


@dataclass
class _Seen:
    boot_time: float  # Unix time: poll start minus uptime
    uptime: int
    polled_at: float
    booted_at: float  # the boot time first estimated for this boot: steady until the next reload


@dataclass
class ReloadTracker:
    """Remembers each device's boot time and each pair's RF-active member
    between polls, reports reloads and switchovers, and keeps those of the
    last hour (RECENT_SECONDS) for the rules that look back. Its state is
    plain data (`to_dict` / `from_dict`), so `check --state FILE` can keep
    it across runs."""

    devices: dict[str, _Seen] = field(default_factory=dict)
    rf_active: dict[str, str] = field(default_factory=dict)  # pair -> its RF-active member when last seen
    switched_at: dict[str, float] = field(default_factory=dict)  # pair -> Unix time of its last switchover seen
    recent_reloads: list[Reload] = field(default_factory=list)  # within RECENT_SECONDS of the last observation
    recent_switchovers: list[Switchover] = field(default_factory=list)

    def observe(
        self, snapshots: Mapping[str, Snapshot], inventory: Inventory
    ) -> tuple[tuple[Reload, ...], tuple[Switchover, ...]]:
        """Reloads and switchovers since the previous observation."""
        switchovers = self._switchovers(snapshots, inventory)
        reloads: list[Reload] = []
        for name, snapshot in snapshots.items():
            version = snapshot.version
            if version is None or version.uptime_seconds is None:
                continue  # a failed poll is not a reload
            boot_time = snapshot.started_at - version.uptime_seconds
            seen = self.devices.get(name)
            # Uptime never goes backwards on a running device (IOS prints it
            # in whole minutes, floored); a boot after the previous good poll
            # also catches a reload missed while the device was unreachable.
            # Only the first test trusts the clocks, and only the second needs
            # the tolerance (a stepped host clock must not reload the fleet).
            rebooted = seen is not None and (
                version.uptime_seconds < seen.uptime or boot_time > seen.polled_at + BOOT_TIME_TOLERANCE_SECONDS
            )
            booted_at = seen.booted_at if seen is not None and not rebooted else boot_time
            self.devices[name] = _Seen(boot_time, version.uptime_seconds, snapshot.started_at, booted_at)
            if seen is None or not rebooted:
                continue
            reason = version.reload_reason or version.returned_to_rom_by or ""
            # The pair switched over since the device was last seen: in this
            # poll, or in one made while the device was down.
            switched_at = self.switched_at.get(snapshot.pair)
            in_switchover = bool(snapshot.pair) and switched_at is not None and switched_at >= seen.polled_at
            cause = reload_cause(version, snapshot.log_messages)
            expected, why = classify_reload(reason, in_switchover, cause)
            uptime = version.uptime_seconds
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
                )
            )
        self.recent_reloads += reloads
        self.recent_switchovers += switchovers
        latest = max((snapshot.started_at for snapshot in snapshots.values()), default=None)
        if latest is not None:
            self._forget_before(latest - RECENT_SECONDS)
        return tuple(reloads), switchovers

    def recent(self) -> tuple[tuple[Reload, ...], tuple[Switchover, ...]]:
        """The reloads and switchovers seen within the last hour."""
        return tuple(self.recent_reloads), tuple(self.recent_switchovers)

    def booted_at(self) -> dict[str, float]:
        """Per device, when its current boot began (Unix time), as first
        estimated: steady for the life of the boot, new with each reload."""
        return {name: seen.booted_at for name, seen in self.devices.items()}

    def _forget_before(self, cutoff: float) -> None:
        self.recent_reloads = [r for r in self.recent_reloads if r.detected_at >= cutoff]
        self.recent_switchovers = [s for s in self.recent_switchovers if s.detected_at >= cutoff]

    def _switchovers(self, snapshots: Mapping[str, Snapshot], inventory: Inventory) -> tuple[Switchover, ...]:
        found: list[Switchover] = []
        for pair in inventory.pairs.values():
            actives = []
            for member in pair.members:
                snap = snapshots.get(member)
                if snap is None:
                    continue
                states = snap.redundancy_states
                if states is not None and states.my_state.code == ACTIVE:
                    actives.append((member, snap.started_at))
            if len(actives) != 1:
                continue  # no clear active unit now: judge when there is one
            member, at = actives[0]
            previous = self.rf_active.get(pair.name)
            self.rf_active[pair.name] = member
            if previous is not None and previous != member:
                self.switched_at[pair.name] = at
                found.append(Switchover(pair.name, at, previous, member))
        return tuple(found)

    def forget(self, devices: list[str]) -> None:
        """Drop what is known of these devices (removed, or now another host)."""
        gone = set(devices)
        for name in gone:
            self.devices.pop(name, None)
        self.recent_reloads = [r for r in self.recent_reloads if r.device not in gone]

    def forget_pairs(self, pairs: list[str]) -> None:
        """Drop the RF-active member known of these pairs (removed, or their
        members changed): the next one seen is no switchover."""
        for name in pairs:
            self.rf_active.pop(name, None)
            self.switched_at.pop(name, None)
        self.recent_switchovers = [s for s in self.recent_switchovers if s.pair not in pairs]

    def to_dict(self) -> dict[str, Any]:
        return {
            "devices": {
                name: {"boot_time": s.boot_time, "uptime": s.uptime, "polled_at": s.polled_at, "booted_at": s.booted_at}
                for name, s in self.devices.items()
            },
            "rf_active": dict(self.rf_active),
            "switched_at": dict(self.switched_at),
            "recent_reloads": [reload.to_dict() for reload in self.recent_reloads],
            "recent_switchovers": [switchover.to_dict() for switchover in self.recent_switchovers],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReloadTracker:
        """Rebuild from `to_dict` output; raises ValueError on a bad shape."""
        try:
            devices = {
                str(name): _Seen(
                    float(s["boot_time"]),
                    int(s["uptime"]),
                    float(s["polled_at"]),
                    float(s.get("booted_at", s["boot_time"])),
                )
                for name, s in dict(data.get("devices", {})).items()
            }
            rf_active = {str(pair): str(member) for pair, member in dict(data.get("rf_active", {})).items()}
            switched_at = {str(pair): float(at) for pair, at in dict(data.get("switched_at", {})).items()}
            reloads = [Reload.from_dict(item) for item in list(data.get("recent_reloads", []))]
            switchovers = [
                Switchover(
                    str(item["pair"]), float(item["detected_at"]), str(item["previous_active"]), str(item["active"])
                )
                for item in list(data.get("recent_switchovers", []))
            ]
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise ValueError(f"not a state this monitor wrote: {exc}") from None
        return cls(devices, rf_active, switched_at, reloads, switchovers)
