"""Health rules, shared by `check` and the exporter.

Per pair (each rule says ok, failed, or unknown when the data it needs is
missing); PAIR_RULES below gives each its severity and the alerts of
dashboards/prometheus/ipsecha-rules.yml that page the same condition:

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
    no_ipsec_errors_rising   no member's IPsec send/receive errors toward a peer kept rising for
                             10 minutes (IpsecErrorHistory, kept by the Monitor)
    no_unexpected_reload     no member reloaded unexpectedly within the last hour
    no_reload_loop           no member reloaded 3 or more times within the last hour
    no_rf_flapping           the RF-active role changed hands fewer than 3 times within the hour

A box-to-box pair (inventory mode b2b, IOS-XE redundancy groups) is judged
by the rg_* rules of ipsec_ha_monitor/health_b2b.py, per watched group,
plus the rules it shares with the classic pair: expected_peers_have_sa (on
the ACTIVE member of its first watched group), no_ipsec_errors_rising,
no_unexpected_reload and no_reload_loop (RULES_BY_MODE). The verdict is
made the same way for both.

When a member answers no poll while the other reports it ACTIVE as its
peer with Communications Up, that member counts as the RF-active one and
the rules on it are judged from its peer's view, or left unknown: a hub
the monitor cannot reach is not a pair without an active unit.

Verdict (worst first), from the severity of the failed rules, as the
alerts page them: `unhealthy` when a critical rule failed; `recovering`
when the only critical rule failed is an event of the last hour whose pair
works again (no_unexpected_reload: its alert is critical and keeps firing
for that hour); `degraded` when only warning rules failed; `unknown` when
a member could not be polled or a rule could not be judged; otherwise
`healthy`. A known fault outranks an unknown part, as in Nagios.

Reloads and switchovers, and the window they count in, come from
ipsec_ha_monitor/reloads.py (ReloadTracker).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ipsec_ha_monitor.inventory import B2B, CLASSIC, PAIR_MODES, Inventory, Pair
from ipsec_ha_monitor.reloads import RELOAD_LOOP_COUNT, RF_FLAPPING_COUNT, Reload, Switchover
from ipsec_ha_monitor.rf_states import ACTIVE, STANDBY_HOT
from ipsec_ha_monitor.snapshot import Snapshot, Status

if TYPE_CHECKING:
    from ipsec_ha_monitor.health_b2b import GroupHistory, RgMemberState

HEALTHY, DEGRADED, RECOVERING, UNHEALTHY, UNKNOWN = "healthy", "degraded", "recovering", "unhealthy", "unknown"
VERDICTS = (HEALTHY, DEGRADED, RECOVERING, UNHEALTHY, UNKNOWN)

# Severities, as the alert rules' `severity` label says them.
CRITICAL, WARNING = "critical", "warning"
SEVERITIES = (CRITICAL, WARNING)
# The severity a verdict carries: `check --nagios` says CRITICAL or WARNING
# for it, as Alertmanager gets the alerts of its failed rules. `unknown`
# carries none of its own: Nagios says UNKNOWN, and the alerts about the
# monitor itself (MONITOR_ALERTS) say it as warnings.
VERDICT_SEVERITY: dict[str, str | None] = {
    UNHEALTHY: CRITICAL,
    RECOVERING: CRITICAL,
    DEGRADED: WARNING,
    UNKNOWN: None,
    HEALTHY: None,
}


@dataclass(frozen=True, slots=True)
class Rule:
    """One pair rule: what it checks, how bad its failure is, and the alerts
    that page the same condition (their `severity` label is this severity;
    tests/test_verdict_alerts.py holds both sides to it)."""

    description: str
    severity: str  # CRITICAL or WARNING
    alerts: tuple[str, ...]  # in dashboards/prometheus/ipsecha-rules.yml
    # An event of the last hour, not the pair's state now: when it is the only
    # critical rule that failed, the pair works again and reads `recovering`
    # (still critical: its alert keeps firing for that hour), not `unhealthy`.
    event: bool = False
    why: str = ""  # the reasoning, where the severity or the mapping is not plain
    modes: tuple[str, ...] = (CLASSIC,)  # the pair modes (inventory `mode`) judged by it


_BOTH = (CLASSIC, B2B)


# Every pair rule, in the order they are judged and reported: the one table
# that the verdict (`check`, the exporter's ipsecha_pair_verdict, the
# dashboards) and the alert rules agree on.
PAIR_RULES: dict[str, Rule] = {
    "one_rf_active": Rule("exactly one member is RF ACTIVE", CRITICAL, ("IpsechaPairNotOneRfActive",)),
    "peer_standby_hot": Rule("the RF-active member's peer is STANDBY HOT", CRITICAL, ("IpsechaPeerNotStandbyHot",)),
    "duplex": Rule("the RF-active member runs Duplex", CRITICAL, ("IpsechaPairSimplex",)),
    "communications_up": Rule(
        "the RF-active member's IPC communications are Up", CRITICAL, ("IpsechaIpcCommunicationsDown",)
    ),
    "stateful_group_consistent": Rule(
        "the stateful HSRP group is known, the same everywhere, and configured on both",
        WARNING,
        ("IpsechaStatefulGroupInconsistent",),
        why="configuration that disagrees (the inventory's stateful_group against `scheme standby`, the members' "
        "scheme names, a member without the named HSRP group) that nothing has broken yet: the HSRP rules then "
        "find no group to judge (hsrp_active_present is unknown) rather than the wrong one, and a pair that "
        "cannot fail over because of it fails peer_standby_hot (critical)",
    ),
    "hsrp_active_present": Rule("a member is HSRP active on the stateful group", CRITICAL, ("IpsechaNoHsrpActive",)),
    "single_hsrp_active": Rule("no second member is HSRP active", CRITICAL, ("IpsechaHsrpSplitBrain",)),
    "hsrp_active_is_rf_active": Rule(
        "the HSRP-active member is the RF-active unit", CRITICAL, ("IpsechaHsrpActiveNotRfActive",)
    ),
    "no_preempt": Rule(
        "no preemption on a stateful HSRP group",
        WARNING,
        ("IpsechaHsrpPreemptOnStatefulGroup",),
        why="configuration that bites only at the next reload (the rebooted hub takes over unsynchronised); "
        "nothing is broken now, and what it breaks then is paged critical by its own rules",
    ),
    "expected_peers_have_sa": Rule(
        "every expected branch peer has an active IPsec SA on the RF-active member",
        CRITICAL,
        ("IpsechaBranchSaMissing",),
        modes=_BOTH,
    ),
    "standby_has_sa_copies": Rule(
        "the STANDBY HOT member holds copies of the RF-active member's SAs for every branch peer",
        CRITICAL,
        ("IpsechaStandbyMissingSaCopies",),
    ),
    "no_ipsec_errors_rising": Rule(
        "no member's IPsec send/receive errors toward a peer kept rising for 10 minutes",
        WARNING,
        ("IpsechaIpsecErrorsRising",),
        why="the tunnel still passes traffic, with losses (replay, MTU, SPIs a hub no longer has); "
        "a tunnel that is down is expected_peers_have_sa's (critical)",
        modes=_BOTH,
    ),
    "no_unexpected_reload": Rule(
        "no member reloaded unexpectedly within the last hour",
        CRITICAL,
        ("IpsechaUnexpectedReload",),
        event=True,
        why="every unexpected reload (a failover's RF self-reload, a crash, a power loss) must be heard, "
        "critical on both sides for the hour the alert keeps firing; once every other critical rule holds "
        "again the pair works, and the verdict says so with its own word",
        modes=_BOTH,
    ),
    "no_reload_loop": Rule(
        "no member reloaded 3 or more times within the last hour", CRITICAL, ("IpsechaReloadLoop",), modes=_BOTH
    ),
    "no_rf_flapping": Rule(
        "the RF-active role changed hands fewer than 3 times within the last hour", CRITICAL, ("IpsechaRfFlapping",)
    ),
    # Box-to-box (IOS-XE redundancy groups, ipsec_ha_monitor/health_b2b.py), each judged per watched group.
    "rg_single_active": Rule(
        "no redundancy group has both members ACTIVE", CRITICAL, ("IpsechaRgSplitBrain",), modes=(B2B,)
    ),
    "rg_active_present": Rule(
        "some member is ACTIVE in every redundancy group", CRITICAL, ("IpsechaRgNoActive",), modes=(B2B,)
    ),
    "rg_peer_standby_hot": Rule(
        "the ACTIVE member's peer is STANDBY HOT once past the group's reload timer",
        CRITICAL,
        ("IpsechaRgPeerNotStandbyHot",),
        modes=(B2B,),
    ),
    "rg_peer_communicating": Rule(
        "every member sees its peer present and talking over a control interface that is Up",
        CRITICAL,
        ("IpsechaRgPeerLost",),
        modes=(B2B,),
    ),
    "rg_up": Rule(
        "every member has the group, not shut, operational, its faults state Up",
        CRITICAL,
        ("IpsechaRgDown",),
        modes=(B2B,),
    ),
    "rg_priority_above_threshold": Rule(
        "every member's runtime priority is above the group's failover threshold",
        CRITICAL,
        ("IpsechaRgPriorityAtThreshold",),
        modes=(B2B,),
    ),
    "rg_priority_not_decremented": Rule(
        "no member's runtime priority is below its configured priority",
        WARNING,
        ("IpsechaRgPriorityDecremented",),
        why="a tracked object fell and took priority off: the group still runs, the member now loses a tie it "
        "would have won; at or below the failover threshold it fails over, which rg_priority_above_threshold "
        "pages critical",
        modes=(B2B,),
    ),
    "rg_no_flapping": Rule(
        "fewer than 3 role changes to active and fault switchovers within the last hour",
        CRITICAL,
        ("IpsechaRgFlapping",),
        modes=(B2B,),
    ),
    "rg_control_link_clean": Rule(
        "no hello loss or authentication failure on the control link within 10 minutes",
        WARNING,
        ("IpsechaRgControlLinkErrors",),
        why="lost hellos and failed authentication wear the hold timer down, but the peers still hear each "
        "other; the link lost is rg_peer_communicating's (critical)",
        modes=(B2B,),
    ),
    "rg_vip_single_owner": Rule(
        "no virtual IP is owned (no shut) by both members", CRITICAL, ("IpsechaRgVipOnBoth",), modes=(B2B,)
    ),
    "rg_no_preempt": Rule(
        "no member took the ACTIVE role by preemption within the last hour",
        WARNING,
        ("IpsechaRgPreempted",),
        why="configuration that showed itself: a priority change alone moved the group off a member that "
        "worked; the takeover went through, and what it broke is paged critical by its own rules",
        modes=(B2B,),
    ),
}
# The rules judged on a pair of each mode, in the order they are reported.
RULES_BY_MODE: dict[str, tuple[str, ...]] = {
    mode: tuple(name for name, rule in PAIR_RULES.items() if mode in rule.modes) for mode in PAIR_MODES
}
# The classic pair's rules: what `check` and the exporter judged before box-to-box pairs.
RULES: dict[str, str] = {name: PAIR_RULES[name].description for name in RULES_BY_MODE[CLASSIC]}

# Alerts about the monitor itself, not about a pair's condition: what they
# page is a member the monitor cannot judge, the verdict `unknown` (Nagios
# UNKNOWN). They are warnings: the pair may be fine.
MONITOR_ALERT_SEVERITY = WARNING
MONITOR_ALERTS: dict[str, str] = {
    "IpsechaDeviceNotPolled": "a device's poll fails: its pair is unknown",
    "IpsechaStaleData": "a device's data is old or gone: its pair is not judged on fresh data",
    "IpsechaExporterDown": "Prometheus cannot scrape the exporter: no pair is judged",
}

# Alerts on what the routers' syslog announced between two polls (serve
# --syslog.listen-address, ipsec_ha_monitor/syslog/). Syslog is a trigger,
# never the truth: no verdict rule reads it, so these are warnings beside
# the verdict, which the polls alone make.
SYSLOG_ALERT_SEVERITY = WARNING
SYSLOG_ALERTS: dict[str, str] = {
    "IpsechaHsrpFlapping": "a hub's syslog counted 6 or more HSRP state changes within 10 minutes",
    "IpsechaRfEventsBetweenPolls": "a pair's syslog announced redundancy events that no poll saw",
}


# How no_ipsec_errors_rising judges, as IpsechaIpsecErrorsRising does:
# `increase(send + receive errors [5m]) > 0` held `for: 10m`.
ERRORS_INCREASE_SECONDS = 300.0
ERRORS_RISING_FOR_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class RuleResult:
    rule: str
    ok: bool | None  # None: could not be judged from the data at hand
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "ok": self.ok, "message": self.message}


def verdict_of(results: Sequence[RuleResult], every_member_polled: bool = True) -> str:
    """The pair's verdict from its rule results (PAIR_RULES' severities)."""
    failed = [PAIR_RULES[result.rule] for result in results if result.ok is False]
    critical = [rule for rule in failed if rule.severity == CRITICAL]
    if any(not rule.event for rule in critical):
        return UNHEALTHY
    if critical:
        return RECOVERING
    if failed:
        return DEGRADED
    if not every_member_polled or any(result.ok is None for result in results):
        return UNKNOWN
    return HEALTHY


@dataclass(frozen=True, slots=True)
class PairHealth:
    pair: str
    members: tuple[str, str]
    verdict: str  # one of VERDICTS
    rf_active: str | None  # the member that is RF ACTIVE, when exactly one is
    hsrp_active: tuple[str, ...]  # members HSRP active on a stateful group
    results: tuple[RuleResult, ...]
    rf_active_members: tuple[str, ...] = ()  # every member that is RF ACTIVE
    # b2b: rf_active and rf_active_members are the ACTIVE members of the first
    # watched group (the pair's active unit), rg_members each member's view of each group.
    mode: str = CLASSIC
    rg_members: tuple[RgMemberState, ...] = ()

    @property
    def failed(self) -> tuple[RuleResult, ...]:
        return tuple(result for result in self.results if result.ok is False)

    @property
    def unknown(self) -> tuple[RuleResult, ...]:
        return tuple(result for result in self.results if result.ok is None)

    def to_dict(self) -> dict[str, Any]:
        report = {
            "pair": self.pair,
            "members": list(self.members),
            "verdict": self.verdict,
            "rf_active": self.rf_active,
            "hsrp_active": list(self.hsrp_active),
            "rf_active_members": list(self.rf_active_members),
            "rules": [result.to_dict() for result in self.results],
        }
        if self.mode != CLASSIC:
            report["mode"] = self.mode
            report["groups"] = [state.to_dict() for state in self.rg_members]
        return report


@dataclass(frozen=True, slots=True)
class ErrorTrend:
    """One device's IPsec error counters as no_ipsec_errors_rising reads
    them (IpsecErrorHistory.trends)."""

    # (peer, errors within the last increase window, seconds rising as far back as kept: at most for + increase)
    rising: tuple[tuple[str, int, float], ...] = ()
    seen_seconds: float = 0.0  # how far back the device's counters go
    increase_seconds: float = ERRORS_INCREASE_SECONDS  # the windows it was judged over
    for_seconds: float = ERRORS_RISING_FOR_SECONDS


@dataclass
class _Counters:
    at: float  # when last read (the caller's clock, product seconds)
    send: int
    receive: int
    rises: deque[tuple[float, int]] = field(default_factory=deque)  # (at, errors added) of each read that saw a rise


@dataclass
class _DeviceCounters:
    first: float  # the first read of an unbroken history
    last: float  # the newest read
    peers: dict[str, _Counters] = field(default_factory=dict)


class IpsecErrorHistory:
    """Each device's IPsec send and receive error counters toward each peer
    (summed over the peer's SAs, as ipsecha_ipsec_*_errors_total), read at
    every poll, for no_ipsec_errors_rising. Judged as
    IpsechaIpsecErrorsRising judges the exported counters: errors rose
    within the last `increase_seconds` (a poll that read a rise keeps the
    condition true that long), continuously for `for_seconds`. A counter
    that went down is a reset (a rekey replaced the SA) and counts its new
    value, as Prometheus's increase() does. Time is whatever clock the
    caller passes (`at`, `now`, in product seconds): the windows scale with
    it, and nothing here reads a clock."""

    def __init__(
        self,
        increase_seconds: float = ERRORS_INCREASE_SECONDS,
        for_seconds: float = ERRORS_RISING_FOR_SECONDS,
    ) -> None:
        self.increase_seconds = increase_seconds
        self.for_seconds = for_seconds
        self.latest: float | None = None  # the newest read taken in
        self._devices: dict[str, _DeviceCounters] = {}

    def observe(self, snapshot: Snapshot, at: float) -> None:
        """Take in one poll's counters, read at `at`. A poll without `show
        crypto ipsec sa` adds nothing; a read no newer than the last one of
        a peer is ignored."""
        sas = snapshot.ipsec_sas
        if sas is None:
            return
        self.latest = at if self.latest is None else max(self.latest, at)
        totals: dict[str, list[int]] = {}
        for sa in sas:
            counts = totals.setdefault(sa.peer, [0, 0])
            counts[0] += sa.send_errors or 0
            counts[1] += sa.recv_errors or 0
        horizon = at - self.for_seconds - self.increase_seconds
        device = self._devices.get(snapshot.device)
        if device is None or device.last < horizon:  # new, or unread for longer than anything counts
            device = self._devices[snapshot.device] = _DeviceCounters(at, at)
        device.last = max(device.last, at)
        for peer, (send, receive) in totals.items():
            held = device.peers.get(peer)
            if held is None:
                device.peers[peer] = _Counters(at, send, receive)
                continue
            if at <= held.at:
                continue
            added = _increase(held.send, send) + _increase(held.receive, receive)
            if added > 0:
                held.rises.append((at, added))
            held.at, held.send, held.receive = at, send, receive
        # A peer gone from the SAs keeps its counters (a rise still ages out
        # of the windows) until nothing it holds can matter any more.
        for peer, held in list(device.peers.items()):
            while held.rises and held.rises[0][0] < horizon:
                held.rises.popleft()
            if held.at < horizon:
                del device.peers[peer]

    def trends(self, devices: Iterable[str], now: float | None = None) -> dict[str, ErrorTrend]:
        """Per device with counters, the peers whose errors have kept rising
        up to `now` (default: the newest read taken in) for `for_seconds`."""
        if now is None:
            now = self.latest if self.latest is not None else 0.0
        out: dict[str, ErrorTrend] = {}
        for name in devices:
            device = self._devices.get(name)
            if device is None:
                continue
            rising = []
            for peer, held in sorted(device.peers.items()):
                since = self._rising_since([at for at, _ in held.rises if at <= now], now)
                if since is not None and now - since >= self.for_seconds:
                    recent = sum(added for at, added in held.rises if now - self.increase_seconds < at <= now)
                    rising.append((peer, recent, now - since))
            out[name] = ErrorTrend(tuple(rising), max(0.0, now - device.first), self.increase_seconds, self.for_seconds)
        return out

    def _rising_since(self, times: list[float], now: float) -> float | None:
        """When the condition `errors rose within the last increase_seconds`
        began to hold without a break up to `now`; None if it does not hold."""
        if not times or now - times[-1] >= self.increase_seconds:
            return None
        since = times[-1]
        for at in reversed(times[:-1]):
            if since - at >= self.increase_seconds:
                break
            since = at
        return since

    def forget(self, devices: Iterable[str]) -> None:
        """Drop what is known of these devices (removed, or now another host)."""
        for name in devices:
            self._devices.pop(name, None)


def _increase(previous: int, current: int) -> int:
    return current - previous if current >= previous else current


def evaluate_pair(
    pair: Pair,
    snapshots: Mapping[str, Snapshot],
    inventory: Inventory,
    reloads: tuple[Reload, ...] = (),
    switchovers: tuple[Switchover, ...] = (),
    ipsec_errors: Mapping[str, ErrorTrend] | None = None,
    rg_history: Mapping[int, GroupHistory] | None = None,
) -> PairHealth:
    """Judge one pair from its members' latest snapshots (a member missing
    from `snapshots` counts as not polled), the reloads and the switchovers
    seen within the last hour (ReloadTracker.recent), and the members' IPsec
    error counters over the last minutes (IpsecErrorHistory.trends; none
    given: no rise seen). A b2b pair (pair.mode) is judged by its groups'
    rules, with its groups' history (health_b2b.RgHistory.view; none given:
    no counter rise nor takeover seen), and the rules it shares."""
    judge = _PairJudge(pair, snapshots, inventory, reloads, switchovers, ipsec_errors or {}, rg_history)
    return judge.judge_b2b() if pair.mode == B2B else judge.judge()


class _PairJudge:
    def __init__(
        self,
        pair: Pair,
        snapshots: Mapping[str, Snapshot],
        inventory: Inventory,
        reloads: tuple[Reload, ...],
        switchovers: tuple[Switchover, ...],
        ipsec_errors: Mapping[str, ErrorTrend],
        rg_history: Mapping[int, GroupHistory] | None = None,
    ) -> None:
        self.pair = pair
        self.inventory = inventory
        self.ipsec_errors = ipsec_errors
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
        if pair.mode == B2B:
            # Imported here: health_b2b builds on this module's RuleResult.
            from ipsec_ha_monitor.health_b2b import B2bJudge

            # The pair's active unit is the ACTIVE member of its first watched group.
            self.groups = B2bJudge(pair, self.snapshots, self._missing, rg_history)
            self.rf_actives, self.reported = self.groups.first_group_actives()
        elif not self.rf_actives and len(self.states) == len(pair.members) - 1:
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
            elif result.status is Status.NOT_SUPPORTED:
                reasons.append(f"{name}: {result.error or f'{command}: not supported'}")
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

    def judge_b2b(self) -> PairHealth:
        """A box-to-box pair: the groups' rules and the shared ones, in
        RULES_BY_MODE's order."""
        judged = {result.rule: result for result in self.groups.results()}
        judged["expected_peers_have_sa"] = self._b2b_expected_peers()
        judged["no_ipsec_errors_rising"] = self.no_ipsec_errors_rising()
        judged["no_unexpected_reload"] = self.no_unexpected_reload()
        judged["no_reload_loop"] = self.no_reload_loop()
        results = tuple(judged[name] for name in RULES_BY_MODE[B2B])
        return PairHealth(
            self.pair.name,
            self.pair.members,
            verdict_of(results, not self.not_polled),
            self.rf_active,
            (),
            results,
            tuple(self.rf_actives),
            B2B,
            self.groups.member_states(),
        )

    def _b2b_expected_peers(self) -> RuleResult:
        rule = "expected_peers_have_sa"
        group = self.groups.watched[0].id
        if self.rf_active is None:
            return RuleResult(rule, None, f"no single ACTIVE member of group {group} to judge")
        if self.reported is not None:
            silent, reporter = self.reported
            why = self._missing("show crypto ipsec sa", [silent]) or f"{silent}: no SAs known"
            return RuleResult(rule, None, f"{silent} is ACTIVE in group {group} as {reporter} reports; {why}")
        ok, message = self._expected_peers(self.rf_active, None)
        return RuleResult(rule, ok, message)

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
            self.no_ipsec_errors_rising(),
            self.no_unexpected_reload(),
            self.no_reload_loop(),
            self.no_rf_flapping(),
        )
        return PairHealth(
            self.pair.name,
            self.pair.members,
            verdict_of(results, not self.not_polled),
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
        lacking = [name for name, groups in self.stateful.items() if not groups]
        if lacking:
            # As IpsechaNoHsrpActive: judged only when every member has the
            # group (a name that matches no group is stateful_group_consistent's).
            who = f"{lacking[0]} has" if len(lacking) == 1 else f"{' and '.join(lacking)} have"
            group = f"named {self.scheme}" if self.scheme else "at all"
            return RuleResult(rule, None, f"no member is HSRP active, but {who} no HSRP group {group}")
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

    def no_ipsec_errors_rising(self) -> RuleResult:
        rule = "no_ipsec_errors_rising"
        trends = {name: trend for name in self.pair.members if (trend := self.ipsec_errors.get(name)) is not None}
        rising = [
            f"{name} toward {peer} (+{recent} in the last {minutes(trend.increase_seconds)})"
            for name, trend in trends.items()
            for peer, recent, _ in trend.rising
        ]
        if rising:
            shown = ", ".join(rising[:5]) + (f" and {len(rising) - 5} more" if len(rising) > 5 else "")
            held = max(trend.for_seconds for trend in trends.values() if trend.rising)
            return RuleResult(rule, False, f"IPsec send/receive errors kept rising for {minutes(held)}: {shown}")
        missing = [
            name for name in self.pair.members if (snap := self.snapshots[name]) is None or snap.ipsec_sas is None
        ]
        if missing:
            return RuleResult(rule, None, self._missing("show crypto ipsec sa", missing))
        seen = min((trends[name].seen_seconds if name in trends else 0.0 for name in self.pair.members), default=0.0)
        needed = max(
            (trend.for_seconds + trend.increase_seconds for trend in trends.values()),
            default=ERRORS_RISING_FOR_SECONDS + ERRORS_INCREASE_SECONDS,
        )
        if seen < needed:
            return RuleResult(
                rule,
                True,
                f"no IPsec errors rising as far as seen (counters over {minutes(seen)}; "
                f"{minutes(needed)} of polls judge a rise)",
            )
        return RuleResult(rule, True, "no IPsec errors rising")

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


def minutes(seconds: float) -> str:
    """A span as people say it: "45 s", "10 min", "1 h 5 min"."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    whole = round(seconds / 60)
    return f"{whole} min" if whole < 60 else f"{whole // 60} h {whole % 60} min"
