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
    no_unexpected_reload     no member reloaded unexpectedly since the last poll

Verdict: `unhealthy` when a rule failed; otherwise `unknown` when a member
could not be polled or a rule could not be judged; otherwise `healthy`.

Reloads (ReloadTracker): a device's uptime going backwards between two
good polls, or its boot time (poll time minus uptime) falling after the
previous good poll. A failed poll is never a reload.
Expected only when `show version` gives an operator reload as the reason
and the pair did not switch over in the same window.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.inventory import Inventory, Pair
from monitor.rf_states import ACTIVE, STANDBY_HOT
from monitor.snapshot import Snapshot

HEALTHY, UNHEALTHY, UNKNOWN = "healthy", "unhealthy", "unknown"

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
    "no_unexpected_reload": "no member reloaded unexpectedly since the last poll",
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
        }


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
) -> PairHealth:
    """Judge one pair from its members' latest snapshots (a member missing
    from `snapshots` counts as not polled)."""
    return _PairJudge(pair, snapshots, inventory, reloads).judge()


class _PairJudge:
    def __init__(
        self, pair: Pair, snapshots: Mapping[str, Snapshot], inventory: Inventory, reloads: tuple[Reload, ...]
    ) -> None:
        self.pair = pair
        self.inventory = inventory
        self.reloads = tuple(r for r in reloads if r.device in pair.members)
        self.snapshots = {name: snapshots.get(name) for name in pair.members}
        self.not_polled = [name for name, snap in self.snapshots.items() if snap is None or not snap.up]
        self.states = {
            name: snap.redundancy_states for name, snap in self.snapshots.items() if snap and snap.redundancy_states
        }
        self.rf_actives = [name for name, states in self.states.items() if states.my_state.code == ACTIVE]
        self.rf_active = self.rf_actives[0] if len(self.rf_actives) == 1 else None
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
            self.no_unexpected_reload(),
        )
        if any(result.ok is False for result in results):
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
        ok, message = check(self.rf_active, self.states[self.rf_active])
        return RuleResult(rule, ok, message)

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

    def no_unexpected_reload(self) -> RuleResult:
        rule = "no_unexpected_reload"
        unexpected = [reload for reload in self.reloads if not reload.expected]
        if unexpected:
            text = "; ".join(f"{r.device} reloaded ({r.reason or 'no reason given'}: {r.why})" for r in unexpected)
            return RuleResult(rule, False, text)
        return RuleResult(rule, True, "no unexpected reload seen")


def classify_reload(reason: str, switchover: bool) -> tuple[bool, str]:
    """(expected, why) for a reload with `reason` from `show version`."""
    if switchover:
        return False, "the pair switched over in the same window"
    if reason and _OPERATOR_RELOAD.fullmatch(reason):
        return True, "operator reload"
    return False, "not an operator reload"


@dataclass
class _Seen:
    boot_time: float  # Unix time: poll start minus uptime
    uptime: int
    polled_at: float


@dataclass
class ReloadTracker:
    """Remembers each device's boot time and each pair's RF-active member
    between polls, and reports reloads and switchovers. Its state is plain
    data (`to_dict` / `from_dict`), so `check --state FILE` can keep it
    across runs."""

    devices: dict[str, _Seen] = field(default_factory=dict)
    rf_active: dict[str, str] = field(default_factory=dict)  # pair -> its RF-active member when last seen
    switched_at: dict[str, float] = field(default_factory=dict)  # pair -> Unix time of its last switchover seen

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
            self.devices[name] = _Seen(boot_time, version.uptime_seconds, snapshot.started_at)
            # Uptime never goes backwards on a running device (IOS prints it
            # in whole minutes, floored); a boot after the previous good poll
            # also catches a reload missed while the device was unreachable.
            # Only the first test trusts the clocks, and only the second needs
            # the tolerance (a stepped host clock must not reload the fleet).
            if seen is None or not (
                version.uptime_seconds < seen.uptime or boot_time > seen.polled_at + BOOT_TIME_TOLERANCE_SECONDS
            ):
                continue
            reason = version.reload_reason or version.returned_to_rom_by or ""
            # The pair switched over since the device was last seen: in this
            # poll, or in one made while the device was down.
            switched_at = self.switched_at.get(snapshot.pair)
            in_switchover = bool(snapshot.pair) and switched_at is not None and switched_at >= seen.polled_at
            expected, why = classify_reload(reason, in_switchover)
            uptime = version.uptime_seconds
            reloads.append(Reload(name, snapshot.pair, snapshot.started_at, uptime, seen.uptime, reason, expected, why))
        return tuple(reloads), switchovers

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
        for name in devices:
            self.devices.pop(name, None)

    def forget_pairs(self, pairs: list[str]) -> None:
        """Drop the RF-active member known of these pairs (removed, or their
        members changed): the next one seen is no switchover."""
        for name in pairs:
            self.rf_active.pop(name, None)
            self.switched_at.pop(name, None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "devices": {
                name: {"boot_time": s.boot_time, "uptime": s.uptime, "polled_at": s.polled_at}
                for name, s in self.devices.items()
            },
            "rf_active": dict(self.rf_active),
            "switched_at": dict(self.switched_at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReloadTracker:
        """Rebuild from `to_dict` output; raises ValueError on a bad shape."""
        try:
            devices = {
                str(name): _Seen(float(s["boot_time"]), int(s["uptime"]), float(s["polled_at"]))
                for name, s in dict(data.get("devices", {})).items()
            }
            rf_active = {str(pair): str(member) for pair, member in dict(data.get("rf_active", {})).items()}
            switched_at = {str(pair): float(at) for pair, at in dict(data.get("switched_at", {})).items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a state this monitor wrote: {exc}") from None
        return cls(devices, rf_active, switched_at)
