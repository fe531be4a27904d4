"""The rules of an IOS-XE box-to-box pair (inventory mode b2b), and the
history they look back on.

Each rule is judged across every watched redundancy group of the pair (the
inventory's `groups`) and gives one RuleResult whose message names each
failing group and member. The rules, their severities and their alerts are
in PAIR_RULES (ipsec_ha_monitor/health.py), which also judges the rules a
b2b pair shares with the classic one (expected SAs, IPsec errors, reloads)
and makes the verdict.

    rg_single_active             no group has both members ACTIVE (split brain)
    rg_active_present            some member is ACTIVE in every group (both answered)
    rg_peer_standby_hot          the ACTIVE member's peer RF state is STANDBY HOT, once
                                 the peer has been up past the group's reload timer
    rg_peer_communicating        every member sees its peer present, talking, over a
                                 control interface that is Up
    rg_up                        every member has the group, not shut, operational and
                                 its faults state Up
    rg_priority_above_threshold  runtime priority above the inventory's failover threshold
    rg_priority_not_decremented  runtime priority not below the configured one
    rg_no_flapping               fewer than 3 role changes to active plus fault
                                 switchovers (both members) within the last hour
    rg_control_link_clean        no hello loss nor authentication failure within 10 minutes
    rg_vip_single_owner          no VIP `no shut` on both members (show ... if-mgr group)
    rg_no_preempt                no takeover by preemption within the last hour

RgHistory (kept by the Monitor, as IpsecErrorHistory) holds what the
counter and takeover rules need: the counters of each member per group
with the monotonic time they were read, and the takeovers (the ACTIVE
member of a group changing between two judgements) with their cause.
`check --state` keeps it across runs (to_dict / from_dict, its stamps
carried as the reload tracker's). Every duration is in product seconds (ipsec_ha_monitor/clock.py): the
windows scale with --time.scale, as the times the caller passes do.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ipsec_ha_monitor.health import RuleResult, minutes
from ipsec_ha_monitor.inventory import Pair, RedundancyGroupWatch
from ipsec_ha_monitor.records import RG_ACTIVE as ACTIVE_ROLE
from ipsec_ha_monitor.records import RedundancyGroup
from ipsec_ha_monitor.reloads import RECENT_SECONDS, Reload
from ipsec_ha_monitor.rf_states import STANDBY_HOT
from ipsec_ha_monitor.snapshot import Snapshot

# IOS-XE's `timers delay 10 reload 120` default: how long a group waits for
# its peer after a reload. A peer up for less is still allowed to walk
# INIT -> STANDBY COLD -> STANDBY HOT (product seconds).
RG_RELOAD_TIMER_SECONDS = 120.0
# How far back rg_no_flapping and rg_no_preempt look (the reload window's
# hour), and how many role changes and fault switchovers within it flap.
RG_RECENT_SECONDS = RECENT_SECONDS
RG_FLAPPING_COUNT = 3
# How far back rg_control_link_clean looks for hello loss and
# authentication failures, as IpsechaRgControlLinkErrors' increase[10m].
RG_CONTROL_LINK_SECONDS = 600.0

GROUP_COMMAND = "show redundancy application group all"
IF_MGR_COMMAND = "show redundancy application if-mgr group"

# Why a member took the ACTIVE role from its peer (ipsecha_rg_takeovers_total's `cause`).
TAKEOVER_CAUSES = ("fault", "peer_lost", "preempt", "unknown")
FAULT, PEER_LOST, PREEMPT, UNKNOWN_TAKEOVER = TAKEOVER_CAUSES

# The counters RgHistory follows: the name it keeps them by, and the field.
_FLAP_COUNTERS = {"to_active": "role_changes_to_active", "fault_switchovers": "fault_switchovers"}
_LINK_COUNTERS = {
    "packet_loss": "packet_loss",
    "peer_packet_loss": "peer_packet_loss",
    "auth_failures": "authentication_failures",
}
_COUNTERS = {**_FLAP_COUNTERS, **_LINK_COUNTERS}


@dataclass(frozen=True, slots=True)
class Takeover:
    """A member of a pair took the ACTIVE role of a group from the other."""

    pair: str
    group: int
    previous_active: str
    active: str
    cause: str  # one of TAKEOVER_CAUSES
    why: str  # what told the cause
    at: float  # Clock.monotonic() of the poll that saw the new ACTIVE member (product seconds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pair": self.pair,
            "group": self.group,
            "previous_active": self.previous_active,
            "active": self.active,
            "cause": self.cause,
            "why": self.why,
        }


@dataclass(frozen=True, slots=True)
class GroupHistory:
    """One group's history as the rules read it (RgHistory.view)."""

    # (member, role changes to active, fault switchovers) added within recent_seconds
    flaps: tuple[tuple[str, int, int], ...] = ()
    # (member, own hello loss, peer's hello loss, authentication failures) added within control_link_seconds
    link_errors: tuple[tuple[str, int, int, int], ...] = ()
    takeovers: tuple[Takeover, ...] = ()  # within recent_seconds
    seen_seconds: float = 0.0  # how far back the counters go
    recent_seconds: float = RG_RECENT_SECONDS
    control_link_seconds: float = RG_CONTROL_LINK_SECONDS


@dataclass(frozen=True, slots=True)
class RgMemberState:
    """One member's view of one watched group, as `check` shows it."""

    group: int
    device: str
    role: str | None  # My Role; None when not known
    peer_role: str | None
    rf_state: str | None
    peer_rf_state: str | None
    runtime_priority: int | None
    priority: int | None  # configured
    note: str = ""  # why the rest is not known: "not polled", "group not configured", ...

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "device": self.device,
            "role": self.role,
            "peer_role": self.peer_role,
            "rf_state": self.rf_state,
            "peer_rf_state": self.peer_rf_state,
            "runtime_priority": self.runtime_priority,
            "priority": self.priority,
            "note": self.note,
        }


# --- history ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ActiveSeen:
    """What _cause reads of a member's group record: the ACTIVE member's as
    it was, the same member's now. Plain data, so a state file keeps it."""

    my_role: str
    peer_rf_state: int | None  # the code
    peer_present: bool | None
    faults_up: bool | None
    faults_state: str | None
    operational_up: bool | None
    operational_state: str | None
    fault_switchovers: int | None

    @classmethod
    def of(cls, record: RedundancyGroup) -> _ActiveSeen:
        peer_rf = record.peer_rf_state.code if record.peer_rf_state is not None else None
        return cls(
            record.my_role,
            peer_rf,
            record.peer_present,
            record.faults_up,
            record.faults_state,
            record.operational_up,
            record.operational_state,
            record.fault_switchovers,
        )


@dataclass
class _Counters:
    at: float  # when last read (product seconds)
    values: dict[str, int | None]
    rises: deque[tuple[float, str, int]] = field(default_factory=deque)  # (at, counter, added)


@dataclass
class _Group:
    first: float  # the first read
    members: dict[str, _Counters] = field(default_factory=dict)
    active: str | None = None  # the single ACTIVE member at the last judgement that had one
    active_record: _ActiveSeen | None = None  # its record then, what a takeover's cause reads
    active_at: float = 0.0  # when that record was read
    active_uptime: int | None = None  # its uptime then (a smaller one later is a reload)
    takeovers: deque[Takeover] = field(default_factory=deque)


class RgHistory:
    """Per pair and watched group: each member's counters as read at every
    poll (role changes to active, fault switchovers, hello loss own and
    peer's, authentication failures), and the takeovers seen between two
    judgements. A counter that went down is a device reload: its new value
    counts as added, as Prometheus's increase() reads it. Time is what the
    caller passes (each snapshot's `began`, product seconds): nothing here
    reads a clock. Called under the Monitor's lock."""

    def __init__(
        self,
        recent_seconds: float = RG_RECENT_SECONDS,
        control_link_seconds: float = RG_CONTROL_LINK_SECONDS,
    ) -> None:
        self.recent_seconds = recent_seconds
        self.control_link_seconds = control_link_seconds
        self.latest: float | None = None  # the newest read taken in
        self._pairs: dict[str, dict[int, _Group]] = {}
        self._counts: Counter[tuple[str, int, str]] = Counter()

    def observe(
        self, pair: Pair, snapshots: Mapping[str, Snapshot], reloads: Iterable[Reload] = ()
    ) -> tuple[Takeover, ...]:
        """Take in the members' latest snapshots (a snapshot already taken
        in adds no counter reading) and `reloads` (the pair's recent ones,
        ReloadTracker.recent): the takeovers seen since the last call."""
        members = {name: snap for name in pair.members if (snap := snapshots.get(name)) is not None}
        reloads = tuple(reloads)
        found: list[Takeover] = []
        for watch in pair.watched_groups:
            records = {
                name: snap.redundancy_group(watch.id)
                for name, snap in members.items()
                if snap.redundancy_groups is not None
            }
            if not records:
                continue
            now = max(members[name].began for name in records)
            self.latest = now if self.latest is None else max(self.latest, now)
            state = self._pairs.setdefault(pair.name, {}).get(watch.id)
            if state is None:
                state = self._pairs[pair.name][watch.id] = _Group(now)
            for name, record in records.items():
                if record is not None:
                    self._read(state, name, record, members[name].began)
            takeover = self._takeover(pair, watch.id, state, members, records, reloads)
            if takeover is not None:
                state.takeovers.append(takeover)
                self._counts[(pair.name, watch.id, takeover.cause)] += 1
                found.append(takeover)
            horizon = now - max(self.recent_seconds, self.control_link_seconds)
            for held in state.members.values():
                while held.rises and held.rises[0][0] < horizon:
                    held.rises.popleft()
            while state.takeovers and state.takeovers[0].at < now - self.recent_seconds:
                state.takeovers.popleft()
        return tuple(found)

    def _read(self, state: _Group, name: str, record: RedundancyGroup, at: float) -> None:
        values = {key: getattr(record, attribute) for key, attribute in _COUNTERS.items()}
        held = state.members.get(name)
        if held is None:
            state.members[name] = _Counters(at, values)
            return
        if at <= held.at:
            return  # read already (the partner's latest, judged again), or older
        for key, value in values.items():
            before = held.values.get(key)
            if value is None or before is None:
                continue
            added = value - before if value >= before else value
            if added > 0:
                held.rises.append((at, key, added))
        held.at, held.values = at, values

    def _takeover(
        self,
        pair: Pair,
        group: int,
        state: _Group,
        snapshots: Mapping[str, Snapshot],
        records: Mapping[str, RedundancyGroup | None],
        reloads: Sequence[Reload],
    ) -> Takeover | None:
        actives = [name for name, record in records.items() if record is not None and record.my_role == ACTIVE_ROLE]
        if len(actives) != 1:
            return None  # no clear ACTIVE member now: judge when there is one
        (active,) = actives
        record = records[active]
        assert record is not None
        snapshot = snapshots[active]
        previous, was = state.active, state.active_record
        takeover = None
        if previous is not None and previous != active and was is not None:
            old_now = records.get(previous)
            old_uptime = _uptime(snapshots.get(previous))
            reloaded = any(r.device == previous and r.instant > state.active_at for r in reloads) or (
                old_uptime is not None and state.active_uptime is not None and old_uptime < state.active_uptime
            )
            old = _ActiveSeen.of(old_now) if old_now is not None else None
            cause, why = _cause(previous, active, was, old, record, reloaded)
            takeover = Takeover(pair.name, group, previous, active, cause, why, snapshot.began)
        state.active, state.active_record, state.active_at = active, _ActiveSeen.of(record), snapshot.began
        state.active_uptime = _uptime(snapshot)
        return takeover

    def view(self, pair: Pair, now: float | None = None) -> dict[int, GroupHistory]:
        """Per watched group with history, what the rules read up to `now`
        (default: the newest read taken in)."""
        if now is None:
            now = self.latest if self.latest is not None else 0.0
        out: dict[int, GroupHistory] = {}
        for group, state in self._pairs.get(pair.name, {}).items():
            flaps, link = [], []
            for name, held in state.members.items():
                recent: Counter[str] = Counter()  # per counter, what it added within its window
                for at, key, added in held.rises:
                    if now - self._window_of(key) < at <= now:
                        recent[key] += added
                flaps.append((name, recent["to_active"], recent["fault_switchovers"]))
                link.append((name, recent["packet_loss"], recent["peer_packet_loss"], recent["auth_failures"]))
            takeovers = tuple(t for t in state.takeovers if now - self.recent_seconds < t.at <= now)
            out[group] = GroupHistory(
                tuple(flaps),
                tuple(link),
                takeovers,
                max(0.0, now - state.first),
                self.recent_seconds,
                self.control_link_seconds,
            )
        return out

    def _window_of(self, counter: str) -> float:
        """How far back a rise of this counter counts."""
        return self.control_link_seconds if counter in _LINK_COUNTERS else self.recent_seconds

    def takeovers(self) -> dict[tuple[str, int, str], int]:
        """Takeovers seen since the start, per (pair, group, cause): what
        ipsecha_rg_takeovers_total counts."""
        return dict(self._counts)

    def forget(self, devices: Iterable[str]) -> None:
        """Drop what is known of these devices (removed, or now another host):
        their counters, and the ACTIVE member of a group when it is one."""
        gone = set(devices)
        for groups in self._pairs.values():
            for state in groups.values():
                for name in gone & set(state.members):
                    del state.members[name]
                if state.active in gone:
                    state.active, state.active_record, state.active_uptime = None, None, None

    def forget_pairs(self, pairs: Iterable[str]) -> None:
        """Drop what is known of these pairs (removed, or changed): the next
        ACTIVE member seen is no takeover, and their takeover counts go."""
        gone = set(pairs)
        for name in gone:
            self._pairs.pop(name, None)
        for key in [key for key in self._counts if key[0] in gone]:
            del self._counts[key]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for `check --state` (ipsec_ha_monitor/check/state.py):
        every stamp a Clock.monotonic() reading, as the ReloadTracker's
        beside it, whose "clock" carries them into another process. The
        takeover counts are not kept: ipsecha_rg_takeovers_total counts
        from the process's start, as the reload counters do."""
        return {
            "latest": self.latest,
            "pairs": {
                pair: {str(group): _group_to_dict(state) for group, state in groups.items()}
                for pair, groups in self._pairs.items()
            },
        }

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        rebase: Callable[[float], float],
        now: float | None = None,
        recent_seconds: float = RG_RECENT_SECONDS,
        control_link_seconds: float = RG_CONTROL_LINK_SECONDS,
    ) -> RgHistory:
        """Rebuild from `to_dict` output, each stamp through `rebase` (the
        state file's: reloads.rebase_stamps). With `now` (the loading
        clock's monotonic reading), what has aged out is dropped: rises and
        takeovers past their windows, and a member's counters read longer
        ago than recent_seconds (a rise since a reading that old cannot be
        placed within the hour, as increase()[1h] sees none). The ACTIVE
        member is kept whatever its age, as the tracker's RF-active member
        is: a takeover between two runs far apart is still seen. Raises
        ValueError on a bad shape."""
        history = cls(recent_seconds, control_link_seconds)
        try:
            latest = data["latest"]
            history.latest = None if latest is None else rebase(_number(latest))
            for pair, groups in _mapping(data["pairs"]).items():
                history._pairs[str(pair)] = {
                    int(group): _group_from_dict(_mapping(state), rebase) for group, state in _mapping(groups).items()
                }
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise ValueError(f"not a box-to-box history this monitor wrote: {exc}") from None
        if now is not None:
            history._age(now)
        return history

    def _age(self, now: float) -> None:
        """Drop what is older than the windows at `now` (see from_dict)."""
        for groups in self._pairs.values():
            for state in groups.values():
                for name, held in list(state.members.items()):
                    if held.at <= now - self.recent_seconds:
                        del state.members[name]
                        continue
                    held.rises = deque(rise for rise in held.rises if rise[0] > now - self._window_of(rise[1]))
                state.takeovers = deque(t for t in state.takeovers if t.at > now - self.recent_seconds)


def _cause(
    previous: str,
    active: str,
    was: _ActiveSeen,
    old_now: _ActiveSeen | None,
    record: RedundancyGroup,
    reloaded: bool,
) -> tuple[str, str]:
    """Why `active` took the group from `previous`: `was` is the old ACTIVE
    member's record when it was last ACTIVE, `old_now` its record now (None:
    not polled, or the group gone from it), `record` the new ACTIVE's."""
    switchovers_rose = (
        old_now is not None
        and was.fault_switchovers is not None
        and old_now.fault_switchovers is not None
        and old_now.fault_switchovers > was.fault_switchovers
    )
    if switchovers_rose:
        assert old_now is not None
        return FAULT, f"{previous}'s fault switchovers rose ({was.fault_switchovers} -> {old_now.fault_switchovers})"
    for state in (was, old_now):
        if state is not None and (state.faults_up is False or state.operational_up is False):
            return FAULT, (
                f"{previous}'s group was not Up (faults {state.faults_state}, operational {state.operational_state})"
            )
    if old_now is None:
        return PEER_LOST, f"{previous} was not polled, or shows the group no more"
    if reloaded:
        return PEER_LOST, f"{previous} reloaded"
    if record.peer_present is False or record.peer_comm is False:
        return PEER_LOST, f"{active} lost its peer (present {_yes(record.peer_present)}, comm {_yes(record.peer_comm)})"
    if (
        was.my_role == ACTIVE_ROLE
        and was.peer_rf_state == STANDBY_HOT
        and was.peer_present is True
        and was.faults_up is True
    ):
        return PREEMPT, (
            f"{previous} was ACTIVE with its peer STANDBY HOT, faults Up, without a fault switchover or a reload"
        )
    return UNKNOWN_TAKEOVER, "no fault, reload or lost peer seen, and the group was not in a steady state before"


# --- the history as plain data ----------------------------------------------------


def _group_to_dict(state: _Group) -> dict[str, Any]:
    return {
        "first": state.first,
        "members": {
            name: {
                "monotonic": held.at,
                "values": dict(held.values),
                "rises": [[at, key, added] for at, key, added in held.rises],
            }
            for name, held in state.members.items()
        },
        "active": state.active,
        "active_record": dataclasses.asdict(state.active_record) if state.active_record is not None else None,
        "active_at": state.active_at,
        "active_uptime": state.active_uptime,
        "takeovers": [{**takeover.to_dict(), "monotonic": takeover.at} for takeover in state.takeovers],
    }


def _group_from_dict(data: Mapping[str, Any], rebase: Callable[[float], float]) -> _Group:
    members = {}
    for name, item in _mapping(data["members"]).items():
        held = _mapping(item)
        values = {str(key): _count(value) for key, value in _mapping(held["values"]).items()}
        if set(values) - set(_COUNTERS):
            raise ValueError(f"unknown counters {sorted(set(values) - set(_COUNTERS))}")
        rises: deque[tuple[float, str, int]] = deque()
        for at, key, added in held["rises"]:
            if key not in _COUNTERS or type(added) is not int or added <= 0:
                raise ValueError(f"not a rise: {key!r} {added!r}")
            rises.append((rebase(_number(at)), key, added))
        members[str(name)] = _Counters(rebase(_number(held["monotonic"])), values, rises)
    active, record = data["active"], data["active_record"]
    if (active is None) != (record is None):
        raise ValueError("an ACTIVE member without its record, or a record without the member")
    takeovers = deque(
        Takeover(
            str(item["pair"]),
            int(item["group"]),
            str(item["previous_active"]),
            str(item["active"]),
            _one_of(item["cause"], TAKEOVER_CAUSES),
            str(item["why"]),
            rebase(_number(item["monotonic"])),
        )
        for item in map(_mapping, data["takeovers"])
    )
    return _Group(
        rebase(_number(data["first"])),
        members,
        None if active is None else str(active),
        None if record is None else _active_seen(_mapping(record)),
        rebase(_number(data["active_at"])),
        _count(data["active_uptime"]),
        takeovers,
    )


def _active_seen(data: Mapping[str, Any]) -> _ActiveSeen:
    fields = {known.name for known in dataclasses.fields(_ActiveSeen)}
    if set(data) != fields:
        raise ValueError(f"an ACTIVE member's record with fields {sorted(data)}")
    for name in ("peer_rf_state", "fault_switchovers"):
        _count(data[name])
    for name in ("peer_present", "faults_up", "operational_up"):
        if data[name] is not None and type(data[name]) is not bool:
            raise ValueError(f"{name} {data[name]!r} is not a yes or no")
    for name in ("my_role", "faults_state", "operational_state"):
        if (data[name] is not None or name == "my_role") and type(data[name]) is not str:
            raise ValueError(f"{name} {data[name]!r} is not text")
    return _ActiveSeen(**data)


def _mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{type(value).__name__} where an object was expected")
    return value


def _number(value: Any) -> float:
    if type(value) not in (int, float):
        raise TypeError(f"{value!r} is not a time")
    return float(value)


def _count(value: Any) -> int | None:
    if value is not None and type(value) is not int:
        raise TypeError(f"{value!r} is not a counter")
    return value


def _one_of(value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
    return str(value)


def _window(seconds: float) -> str:
    """A look-back window as a rule's message says it: "hour", "10 min"."""
    return "hour" if seconds == 3600 else minutes(seconds)


def _yes(value: bool | None) -> str:
    return "?" if value is None else "Yes" if value else "No"


def _uptime(snapshot: Snapshot | None) -> int | None:
    version = snapshot.version if snapshot is not None else None
    return version.uptime_seconds if version is not None else None


# --- the rules -------------------------------------------------------------------

# One group's outcome of a rule: ok (None: unknown) and what it says.
_Outcome = tuple[bool | None, str]


class B2bJudge:
    """The group rules of one b2b pair (see the module). `missing(command,
    members)` says why a command's data is missing on those members (the
    pair judge's); `history` is RgHistory.view's for the pair (None: no
    history yet, as a single `check` without --state has)."""

    def __init__(
        self,
        pair: Pair,
        snapshots: Mapping[str, Snapshot | None],
        missing: Callable[[str, Sequence[str]], str],
        history: Mapping[int, GroupHistory] | None = None,
    ) -> None:
        self.pair = pair
        self.snapshots = {name: snapshots.get(name) for name in pair.members}
        self.missing = missing
        self.history = history or {}
        self.watched = pair.watched_groups
        # Members whose group output is known (None: not polled, failed, not supported).
        self.groups: dict[str, tuple[RedundancyGroup, ...]] = {
            name: groups
            for name, snap in self.snapshots.items()
            if snap is not None and (groups := snap.redundancy_groups) is not None
        }
        self.unknown = [name for name in pair.members if name not in self.groups]
        answered = [snap for snap in self.snapshots.values() if snap is not None]
        self.now = max((snap.began for snap in answered), default=0.0)

    # --- what the pair judge reads --------------------------------------------------------

    def record(self, member: str, group: int) -> RedundancyGroup | None:
        return next((g for g in self.groups.get(member, ()) if g.group_id == group), None)

    def actives(self, group: int) -> list[str]:
        return [
            name for name in self.groups if (r := self.record(name, group)) is not None and r.my_role == ACTIVE_ROLE
        ]

    def reported_active(self, group: int) -> tuple[str, str] | None:
        """(silent member, reporter) when the member whose group output is
        unknown is reported ACTIVE by its peer over working communication."""
        if self.actives(group) or len(self.unknown) != 1:
            return None
        (silent,) = self.unknown
        reporter = next(name for name in self.pair.members if name != silent)
        record = self.record(reporter, group)
        if record is not None and record.peer_role == ACTIVE_ROLE and record.peer_comm is True:
            return silent, reporter
        return None

    def first_group_actives(self) -> tuple[list[str], tuple[str, str] | None]:
        """The ACTIVE members of the first watched group (the pair's
        active unit for the shared rules), and the (silent, reporter) pair
        when the only one is reported by its peer."""
        group = self.watched[0].id
        reported = self.reported_active(group)
        return ([reported[0]] if reported else self.actives(group)), reported

    def member_states(self) -> tuple[RgMemberState, ...]:
        states = []
        for watch in self.watched:
            for name in self.pair.members:
                record = self.record(name, watch.id)
                if record is None:
                    note = "group not configured" if name in self.groups else self._why(GROUP_COMMAND, name)
                    states.append(RgMemberState(watch.id, name, None, None, None, None, None, None, note))
                    continue
                states.append(
                    RgMemberState(
                        watch.id,
                        name,
                        record.my_role,
                        record.peer_role,
                        record.rf_state.name if record.rf_state else None,
                        record.peer_rf_state.name if record.peer_rf_state else None,
                        record.runtime_priority,
                        record.priority,
                    )
                )
        return tuple(states)

    def results(self) -> tuple[RuleResult, ...]:
        rules: tuple[tuple[str, Callable[[RedundancyGroupWatch], _Outcome]], ...] = (
            ("rg_single_active", self._single_active),
            ("rg_active_present", self._active_present),
            ("rg_peer_standby_hot", self._peer_standby_hot),
            ("rg_peer_communicating", self._peer_communicating),
            ("rg_up", self._up),
            ("rg_priority_above_threshold", self._above_threshold),
            ("rg_priority_not_decremented", self._not_decremented),
            ("rg_no_flapping", self._no_flapping),
            ("rg_control_link_clean", self._control_link_clean),
            ("rg_vip_single_owner", self._vip_single_owner),
            ("rg_no_preempt", self._no_preempt),
        )
        return tuple(_combine(rule, [(watch.id, *check(watch)) for watch in self.watched]) for rule, check in rules)

    # --- helpers ---------------------------------------------------------------------------

    def _why(self, command: str, *members: str) -> str:
        return self.missing(command, list(members)) or f"{', '.join(members)}: no {command} data"

    def _unknown_members(self) -> str:
        return self._why(GROUP_COMMAND, *self.unknown)

    def _per_member(self, group: int, check: Callable[[str, RedundancyGroup], str | None]) -> _Outcome:
        """A rule that holds when it holds on every member that has the
        group: the failures found (a known fault outranks an unknown member),
        else unknown while a member's group output is, else ok."""
        problems = [
            problem
            for name in self.pair.members
            if (record := self.record(name, group)) is not None and (problem := check(name, record))
        ]
        if problems:
            return False, "; ".join(problems)
        if self.unknown:
            return None, self._unknown_members()
        return True, ""

    def _uptime(self, member: str) -> float | None:
        """The member's uptime now: show version's, aged to the judge's time."""
        snap = self.snapshots.get(member)
        version = snap.version if snap is not None else None
        if snap is None or version is None:
            return None
        answer = snap.result("show version")
        read = answer.monotonic if answer is not None and answer.monotonic is not None else snap.began
        return version.uptime_seconds + max(0.0, self.now - read)

    # --- the rules, per group --------------------------------------------------------------

    def _single_active(self, watch: RedundancyGroupWatch) -> _Outcome:
        actives = self.actives(watch.id)
        if len(actives) > 1:
            return False, f"{' and '.join(actives)} are both ACTIVE (split brain)"
        if self.unknown:
            known = f"{actives[0]} is ACTIVE; " if actives else ""
            return None, known + self._unknown_members()
        return True, f"{actives[0]} is the only ACTIVE member" if actives else "no member is ACTIVE"

    def _active_present(self, watch: RedundancyGroupWatch) -> _Outcome:
        actives = self.actives(watch.id)
        if actives:
            return True, f"{' and '.join(actives)} ACTIVE"
        reported = self.reported_active(watch.id)
        if reported is not None:
            silent, reporter = reported
            return True, f"{silent} is ACTIVE as {reporter} reports it ({self._why(GROUP_COMMAND, silent)})"
        if self.unknown:
            return None, f"no member is ACTIVE as far as known; {self._unknown_members()}"
        roles = ", ".join(
            f"{name} {record.my_role}" if (record := self.record(name, watch.id)) else f"{name} has no such group"
            for name in self.pair.members
        )
        return False, f"no member is ACTIVE ({roles})"

    def _peer_standby_hot(self, watch: RedundancyGroupWatch) -> _Outcome:
        actives = self.actives(watch.id)
        if not actives:
            reported = self.reported_active(watch.id)
            if reported is None:
                return None, "no ACTIVE member to judge" + (f" ({self._unknown_members()})" if self.unknown else "")
            silent, reporter = reported
            record = self.record(reporter, watch.id)
            assert record is not None
            why = f"as {reporter} reports ({self._why(GROUP_COMMAND, silent)})"
            return self._standby_hot(silent, reporter, record.rf_state, why)
        outcomes = []
        for active in actives:
            record = self.record(active, watch.id)
            assert record is not None
            peer = next(name for name in self.pair.members if name != active)
            outcomes.append(self._standby_hot(active, peer, record.peer_rf_state, ""))
        failed = [text for ok, text in outcomes if ok is False]
        if failed:
            return False, "; ".join(failed)
        return True, "; ".join(text for _, text in outcomes)

    def _standby_hot(self, active: str, peer: str, state: Any, why: str) -> _Outcome:
        suffix = f", {why}" if why else ""
        if state is None:
            return False, f"{active} shows no peer RF state{suffix}"
        if state.code == STANDBY_HOT:
            return True, f"{active}'s peer {peer} is STANDBY HOT{suffix}"
        uptime = self._uptime(peer)
        if uptime is not None and uptime < RG_RELOAD_TIMER_SECONDS:
            return True, (
                f"{active}'s peer {peer} is {state.name}, up {minutes(uptime)}: within the group's "
                f"{minutes(RG_RELOAD_TIMER_SECONDS)} reload timer{suffix}"
            )
        return False, (
            f"{active}'s peer {peer} is {state.name} ({state.code}), not STANDBY HOT{suffix}: "
            "a failover now drops the tunnels"
        )

    def _peer_communicating(self, watch: RedundancyGroupWatch) -> _Outcome:
        def check(name: str, record: RedundancyGroup) -> str | None:
            problems = []
            if record.peer_present is False:
                problems.append("its peer not present")
            if record.peer_comm is False:
                problems.append("no communication with its peer")
            if record.control_interface_up is False:
                problems.append(f"its control interface {record.control_interface_state}")
            return f"{name} reports {' and '.join(problems)}" if problems else None

        ok, text = self._per_member(watch.id, check)
        return ok, text or "both members see their peer, over a control interface that is Up"

    def _up(self, watch: RedundancyGroupWatch) -> _Outcome:
        problems = []
        for name in self.pair.members:
            if name not in self.groups:
                continue
            record = self.record(name, watch.id)
            if record is None:
                problems.append(f"not configured on {name} ({GROUP_COMMAND} shows no group {watch.id})")
                continue
            if record.admin_up is False:
                problems.append(f"{name} has it {record.administrative_state}")
            if record.operational_up is False:
                problems.append(f"{name}'s aggregate operational state is {record.operational_state}")
            if record.faults_up is False:
                problems.append(f"{name}'s RG faults state is {record.faults_state}")
        if problems:
            return False, "; ".join(problems)
        if self.unknown:
            return None, self._unknown_members()
        return True, "up on both members"

    def _above_threshold(self, watch: RedundancyGroupWatch) -> _Outcome:
        threshold = watch.failover_threshold
        if threshold is None:
            return True, "no failover threshold configured"

        def check(name: str, record: RedundancyGroup) -> str | None:
            if record.runtime_priority is not None and record.runtime_priority <= threshold:
                return (
                    f"{name}'s runtime priority {record.runtime_priority} is at or below "
                    f"the failover threshold {threshold}"
                )
            return None

        ok, text = self._per_member(watch.id, check)
        return ok, text or f"runtime priorities above the failover threshold {threshold}"

    def _not_decremented(self, watch: RedundancyGroupWatch) -> _Outcome:
        def check(name: str, record: RedundancyGroup) -> str | None:
            runtime, configured = record.runtime_priority, record.priority
            if runtime is not None and configured is not None and runtime < configured:
                return (
                    f"{name}'s runtime priority {runtime} is below its configured {configured} (a tracked object fell)"
                )
            return None

        ok, text = self._per_member(watch.id, check)
        return ok, text or "runtime priorities at their configured values"

    def _no_flapping(self, watch: RedundancyGroupWatch) -> _Outcome:
        history = self.history.get(watch.id)
        if history is None:
            return (None, self._unknown_members()) if self.unknown else (True, "no role change seen yet")
        total = sum(to_active + faults for _, to_active, faults in history.flaps)
        within = f"within the last {_window(history.recent_seconds)}"
        if total >= RG_FLAPPING_COUNT:
            parts = ", ".join(
                f"{name} {to_active} to active and {faults} fault switchover{'s' if faults != 1 else ''}"
                for name, to_active, faults in history.flaps
                if to_active or faults
            )
            return False, f"{total} role changes to active and fault switchovers {within} ({parts})"
        if self.unknown:  # a member's counters are not read now: a rise there would go unseen
            return None, self._unknown_members()
        return True, f"{total} role changes to active and fault switchovers {within}"

    def _control_link_clean(self, watch: RedundancyGroupWatch) -> _Outcome:
        history = self.history.get(watch.id)
        if history is None:
            return (None, self._unknown_members()) if self.unknown else (True, "no control-link counters seen yet")
        within = f"within the last {_window(history.control_link_seconds)}"
        problems = []
        for name, lost, peer_lost, auth in history.link_errors:
            rose = [
                text
                for text, added in (
                    (f"its hello packet loss rose by {lost}", lost),
                    (f"the hello loss of its peer's packets rose by {peer_lost}", peer_lost),
                    (f"authentication failures rose by {auth}", auth),
                )
                if added
            ]
            if rose:
                problems.append(f"on {name} {', '.join(rose)}")
        if problems:
            return False, "; ".join(problems) + f" {within}"
        if self.unknown:
            return None, self._unknown_members()
        return True, f"no hello loss or authentication failure {within}"

    def _vip_single_owner(self, watch: RedundancyGroupWatch) -> _Outcome:
        owners: dict[str, list[str]] = {}
        unknown = []
        for name in self.pair.members:
            snap = self.snapshots[name]
            interfaces = snap.rg_interfaces if snap is not None else None
            if interfaces is None:
                unknown.append(name)
                continue
            for interface in interfaces:
                if interface.group_id == watch.id and interface.vip and interface.shut is False:
                    owners.setdefault(interface.vip, []).append(name)
        both = {vip: names for vip, names in owners.items() if len(set(names)) > 1}
        if both:
            return False, "; ".join(
                f"VIP {vip} is no shut on both {' and '.join(sorted(set(names)))}" for vip, names in both.items()
            )
        if unknown:
            return None, self._why(IF_MGR_COMMAND, *unknown)
        if not owners:
            return True, "no VIP owned (no shut) on either member"
        return True, ", ".join(f"VIP {vip} on {names[0]}" for vip, names in owners.items())

    def _no_preempt(self, watch: RedundancyGroupWatch) -> _Outcome:
        history = self.history.get(watch.id)
        preempted = [t for t in history.takeovers if t.cause == PREEMPT] if history is not None else []
        if preempted:
            ago = [
                f"{t.active} took the ACTIVE role from {t.previous_active} {minutes(self.now - t.at)} ago"
                for t in preempted
            ]
            return False, (
                f"{'; '.join(ago)}: preemption ({preempted[-1].why}); a failover the priority alone decides "
                "takes over a pair that worked"
            )
        window = _window(history.recent_seconds if history is not None else RG_RECENT_SECONDS)
        return True, f"no takeover by preemption within the last {window}"


def _combine(rule: str, outcomes: Sequence[tuple[int, bool | None, str]]) -> RuleResult:
    """One rule's result over the groups: failed when a group failed (the
    message names each failing one), else unknown when a group is, else ok."""
    for wanted in (False, None):
        texts = [f"group {group}: {text}" for group, ok, text in outcomes if ok is wanted]
        if texts:
            return RuleResult(rule, wanted, "; ".join(texts))
    return RuleResult(rule, True, "; ".join(f"group {group}: {text}" for group, _, text in outcomes))
