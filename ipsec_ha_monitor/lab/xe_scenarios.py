"""Scenarios of an IOS-XE box-to-box pair, step by step in lab time: the
same ScenarioContext as the classic ones (scenarios.py), their own registry
XE_SCENARIOS (names `xe-...`), which Lab.trigger accepts for b2b pairs only.

Every scenario but xe-baseline starts from a member ACTIVE whose peer is
STANDBY HOT over an up control link, and declines otherwise (trigger
xe-baseline first). Each ends in a stable state: the walk is over, and
what it broke (a cut control link, a powered-off peer, a tracked interface
down, a lowered priority) stays so until xe-baseline.

A member back from a reload walks, as IOS-XE's RG protocol does:
role Init, RF INITIALIZATION (2), for XE_INIT_SECONDS (the group's `timers
delay`), then role Standby, RF STANDBY COLD (4) while the bulk sync runs
(XE_BULK_SECONDS), then STANDBY HOT (8) with copies of the active's SAs;
its peer's Peer RF state follows each step (DISABLED while it is away).

Reload causes, as the monitor reads them: a reload the group asks for
(xe-failover-fault, xe-standby-reload) counts on the box's own `reload
events: local request` (kept across the reload) and leaves no %SYS-5-RELOAD
in the log, its `Last reload reason` being RG_RELOAD_REASON (cause
rg_reload); xe-reload-loop's are operator reloads (%SYS-5-RELOAD, "Reload
Command"); a powered-off peer comes back at xe-baseline with "power-on".
The log messages other than %RG_PROTOCOL-5-ROLECHANGE, %LINK-3-UPDOWN and
%SYS-5-* are the lab's own wording.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ipsec_ha_monitor.lab.router import RF_ACTIVE, RF_STANDBY_HOT, PacketCounter, Router
from ipsec_ha_monitor.lab.scenarios import (
    OPERATOR_RELOAD_LOG,
    RELOAD_LOOP_COUNT,
    RELOAD_LOOP_PAUSE_SECONDS,
    RELOAD_SECONDS,
    ScenarioContext,
)
from ipsec_ha_monitor.lab.topology import PACKETS_PER_SECOND, copy_sa, drop_tunnel, hold_tunnel
from ipsec_ha_monitor.lab.xe_group import ROLE_ACTIVE, ROLE_INIT, ROLE_STANDBY
from ipsec_ha_monitor.lab.xe_topology import INSIDE, own_vips, refresh_peers, rg, set_role, set_xe_baseline

RF_INITIALIZATION, RF_STANDBY_COLD = 2, 4
XE_INIT_SECONDS = 10.0  # `timers delay 10`: a booted member waits this long in Init
XE_BULK_SECONDS = 5.0  # STANDBY COLD while the bulk sync of the IPsec state runs
FAULT_RELOAD_DELAY_SECONDS = 2.0  # a faulted member's group reloads it this long after the switchover
PREEMPT_SECONDS = 3.0  # a hello after the priority change, the peer preempts
LOWERED_PRIORITY = 90  # what xe-failover-priority's operator sets on the active (peer: 100)
LOST_HELLOS = 3  # hellos missed before the hold time (9 s) declares the peer lost
RG_RELOAD_REASON = "Redundancy Group reload request"
CONFIG_LOG = "%SYS-5-CONFIG_I: Configured from console by admin on vty0 (192.168.1.100)"


def xe_stable_roles(ctx: ScenarioContext) -> tuple[Router, Router] | None:
    """(active, standby) when one member is ACTIVE with a STANDBY HOT peer that it talks to."""
    pair = ctx.pair
    for active in pair.hubs:
        standby = pair.peer_of(active)
        if (
            active.reachable
            and standby.reachable
            and not pair.control_link_cut
            and (rg(active).role, rg(standby).role) == (ROLE_ACTIVE, ROLE_STANDBY)
            and (active.rf_my, standby.rf_my) == (RF_ACTIVE, RF_STANDBY_HOT)
        ):
            return active, standby
    return None


def _declined(ctx: ScenarioContext, scenario: str) -> None:
    ctx.note(f"{scenario} declined: no member is ACTIVE with a STANDBY HOT peer (trigger xe-baseline first)")


def _settle(ctx: ScenarioContext) -> None:
    """Both members' views of each other and the VIPs follow the roles."""
    refresh_peers(ctx.pair)
    own_vips(ctx.pair)


def _walk(ctx: ScenarioContext, router: Router, role: str, rf_code: int) -> None:
    set_role(router, role)
    router.set_rf(my=rf_code)
    _settle(ctx)


def _take_over(ctx: ScenarioContext, router: Router) -> None:
    """`router` becomes ACTIVE: it answers for the VIPs and serves the SA copies it holds."""
    _walk(ctx, router, ROLE_ACTIVE, RF_ACTIVE)
    router.switchovers += 1
    for tunnel in router.tunnels.values():
        if tunnel.installed:
            hold_tunnel(tunnel, active=True)
    router.set_traffic(True, PACKETS_PER_SECOND)


def _stand_by(router: Router) -> None:
    """`router` keeps its SAs as copies and carries no traffic."""
    for tunnel in router.tunnels.values():
        if tunnel.installed:
            hold_tunnel(tunnel, active=False)
    router.set_traffic(False)


async def begin_xe_reload(ctx: ScenarioContext, router: Router, log: str | None, reason: str) -> None:
    """`router` goes down (SSH refused) after logging `log` (None: no word,
    as a power cut); `reason` is what its show version says once it is back."""
    if log is not None:
        router.syslog(log)
    if rg(router).role != ROLE_INIT and log is not None:
        set_role(router, ROLE_INIT)
    router.set_traffic(False)
    router.last_reload_reason = reason
    router.returned_to_rom_by = "power-on" if reason == "power-on" else "reload"
    for interface in rg(router).interfaces:
        interface.owned = False
    await ctx.set_reachable(router, False)
    _settle(ctx)
    ctx.note(f"{router.name} {'reloads' if log is not None else 'powered off'}: SSH refused")


async def finish_xe_boot(ctx: ScenarioContext, router: Router) -> None:
    """`router` is back: uptime and the control-link statistics from zero,
    role Init, RF INITIALIZATION, no SA until the active syncs them; the
    fault that reloaded it cleared with the reload."""
    group = rg(router)
    router.boot_time = router.now()
    router.rf_history.clear()
    group.role, router.rf_my = ROLE_INIT, RF_INITIALIZATION
    group.faults_up = group.admin_up = True
    for interface in group.interfaces:
        interface.up = True
    group.restart_media(router.now())
    for tunnel in router.tunnels.values():
        drop_tunnel(tunnel, negotiating=False)
        tunnel.encaps, tunnel.decaps = PacketCounter(), PacketCounter()
        tunnel.send_errors, tunnel.recv_errors = PacketCounter(), PacketCounter()
    await ctx.set_reachable(router, True)
    router.syslog("%SYS-5-RESTART: System restarted --")
    _settle(ctx)
    ctx.note(f"{router.name} is back: role Init, RF INITIALIZATION (last reload reason: {router.last_reload_reason})")


async def rejoin_xe_standby(ctx: ScenarioContext, router: Router) -> None:
    """A booted member (role Init, RF INITIALIZATION) waits out the delay
    timer, turns Standby / STANDBY COLD for the bulk sync, then STANDBY HOT
    with copies of its ACTIVE peer's SAs (unless the pair's SA sync is lost)."""
    active = ctx.pair.peer_of(router)
    await ctx.sleep(XE_INIT_SECONDS)
    _walk(ctx, router, ROLE_STANDBY, RF_STANDBY_COLD)
    ctx.note(f"{router.name} role Standby, RF STANDBY COLD (bulk sync)")
    await ctx.sleep(XE_BULK_SECONDS)
    _walk(ctx, router, ROLE_STANDBY, RF_STANDBY_HOT)
    if ctx.pair.sa_sync and active.reachable and rg(active).role == ROLE_ACTIVE:
        for peer, tunnel in router.tunnels.items():
            copy_sa(tunnel, active.tunnels[peer])
    ctx.note(f"{router.name} STANDBY HOT: SAs synced")


async def _reload_and_rejoin(ctx: ScenarioContext, router: Router, log: str | None, reason: str) -> None:
    await begin_xe_reload(ctx, router, log, reason)
    await ctx.sleep(RELOAD_SECONDS)
    await finish_xe_boot(ctx, router)
    await rejoin_xe_standby(ctx, router)


def _rg_reload_log(router: Router) -> str:
    return f"%RG_PROTOCOL-3-RELOAD: RG id {rg(router).group_id} requests a reload of this unit ({RG_RELOAD_REASON})"


async def xe_baseline(ctx: ScenarioContext) -> None:
    """Everything back: XE1 ACTIVE (150), XE2 STANDBY HOT (100), every
    router running and reachable (a powered-off member boots: "power-on"),
    control link and interfaces up, no preempt, fresh SAs on XE1."""
    pair = ctx.pair
    for router in (*pair.hubs, *pair.branches):
        await ctx.set_management(router, True)
        if not router.reachable:
            if router.rg is not None:
                await finish_xe_boot(ctx, router)
            else:
                await ctx.set_reachable(router, True)
    set_xe_baseline(pair)
    _stand_by(pair.r2)
    ctx.note(f"xe-baseline: {pair.r1.name} ACTIVE, {pair.r2.name} STANDBY HOT, SAs on {pair.r1.name}")


async def xe_failover_priority(ctx: ScenarioContext) -> None:
    """The operator lowers the active's priority below its peer's, which is
    configured to preempt: a hello later the peer takes the ACTIVE role (the
    old active resigns and walks Standby, STANDBY COLD, STANDBY HOT without
    a reload). A takeover by preemption; the lowered priority stays."""
    roles = xe_stable_roles(ctx)
    if roles is None:
        return _declined(ctx, "xe-failover-priority")
    active, standby = roles
    rg(standby).preempt = True
    rg(active).priority = LOWERED_PRIORITY
    active.syslog(CONFIG_LOG)
    _settle(ctx)
    ctx.note(f"{active.name}: priority {LOWERED_PRIORITY} configured; {standby.name} preempts")
    await ctx.sleep(PREEMPT_SECONDS)
    rg(active).resign_tx += 1
    rg(standby).resign_rx += 1
    set_role(active, ROLE_STANDBY)
    active.set_rf(my=RF_STANDBY_COLD)
    _stand_by(active)
    _take_over(ctx, standby)
    ctx.note(f"{standby.name} preempted: ACTIVE; {active.name} resigned: Standby, RF STANDBY COLD")
    await ctx.sleep(XE_BULK_SECONDS)
    _walk(ctx, active, ROLE_STANDBY, RF_STANDBY_HOT)
    ctx.note(f"{active.name} STANDBY HOT")


async def xe_failover_fault(ctx: ScenarioContext) -> None:
    """The active's group faults (its outside interface fails): a fault
    switchover to the peer; the group then reloads the faulted member
    (reload events: local request +1), which returns healthy and walks
    Init, STANDBY COLD, STANDBY HOT."""
    roles = xe_stable_roles(ctx)
    if roles is None:
        return _declined(ctx, "xe-failover-fault")
    active, standby = roles
    group = rg(active)
    active.syslog(f"%LINK-3-UPDOWN: Interface {group.interfaces[0].interface}, changed state to down")
    group.faults_up = False
    group.fault_switchovers += 1
    group.fault_down_ups += 1
    group.disable_rg_down += 1
    set_role(active, ROLE_INIT)
    active.set_rf(my=RF_INITIALIZATION)
    _stand_by(active)
    _take_over(ctx, standby)
    ctx.note(f"{active.name} RG faulted: role Init; fault switchover, {standby.name} ACTIVE")
    await ctx.sleep(FAULT_RELOAD_DELAY_SECONDS)
    group.reload_local += 1
    await _reload_and_rejoin(ctx, active, _rg_reload_log(active), RG_RELOAD_REASON)


async def xe_standby_reload(ctx: ScenarioContext) -> None:
    """The standby's group reloads it (reload events: local request +1), no
    switchover: the active goes on alone (peer DISABLED), and the standby
    returns to walk Init, STANDBY COLD, STANDBY HOT."""
    roles = xe_stable_roles(ctx)
    if roles is None:
        return _declined(ctx, "xe-standby-reload")
    _, standby = roles
    rg(standby).reload_local += 1
    await _reload_and_rejoin(ctx, standby, _rg_reload_log(standby), RG_RELOAD_REASON)


async def xe_control_link_cut(ctx: ScenarioContext) -> None:
    """The control link is cut: both members lose the peer (hellos missed,
    Ctrl Intf down, Peer Presence and Comm No); after the hold time the
    standby takes the ACTIVE role too. Split brain: both ACTIVE, the VIPs
    `no shut` on both, until xe-baseline."""
    roles = xe_stable_roles(ctx)
    if roles is None:
        return _declined(ctx, "xe-control-link-cut")
    _, standby = roles
    ctx.pair.control_link_cut = True
    for hub in ctx.pair.hubs:
        rg(hub).packet_loss += LOST_HELLOS
    _settle(ctx)
    ctx.note("control link cut: Ctrl Intf down, peers lost on both members")
    await ctx.sleep(3.0)
    _take_over(ctx, standby)
    ctx.note(f"{standby.name} ACTIVE too: split brain, VIPs no shut on both")


async def xe_peer_power_off(ctx: ScenarioContext) -> None:
    """The standby loses power: no log message, SSH refused; the active sees
    Peer Presence No, Peer Comm No, its control interface down, until
    xe-baseline powers the standby on again."""
    roles = xe_stable_roles(ctx)
    if roles is None:
        return _declined(ctx, "xe-peer-power-off")
    active, standby = roles
    await begin_xe_reload(ctx, standby, None, "power-on")
    ctx.note(f"{active.name} ACTIVE alone: Peer Presence No")


async def xe_track_down(ctx: ScenarioContext) -> None:
    """The active's inside interface (redundancy group decrement 10) goes
    down: its runtime priority drops from 150 to 140, below the configured
    one but above the peer's 100 and the failover threshold: no failover,
    until xe-baseline."""
    roles = xe_stable_roles(ctx)
    if roles is None:
        return _declined(ctx, "xe-track-down")
    active, _ = roles
    interface = next(i for i in rg(active).interfaces if i.interface == INSIDE)
    interface.up = False
    active.syslog(f"%LINK-3-UPDOWN: Interface {INSIDE}, changed state to down")
    active.syslog(f"%LINEPROTO-5-UPDOWN: Line protocol on Interface {INSIDE}, changed state to down")
    _settle(ctx)
    ctx.note(f"{active.name} {INSIDE} down: runtime priority {rg(active).runtime_priority}")


async def xe_reload_loop(ctx: ScenarioContext) -> None:
    """An operator reloads the standby RELOAD_LOOP_COUNT times, each time
    once it is STANDBY HOT again (after a pause, as the classic reload-loop)."""
    roles = xe_stable_roles(ctx)
    if roles is None:
        return _declined(ctx, "xe-reload-loop")
    _, standby = roles
    for count in range(1, RELOAD_LOOP_COUNT + 1):
        ctx.note(f"{standby.name}: operator reload {count} of {RELOAD_LOOP_COUNT}")
        await _reload_and_rejoin(ctx, standby, OPERATOR_RELOAD_LOG, "Reload Command")
        if count < RELOAD_LOOP_COUNT:
            await ctx.sleep(RELOAD_LOOP_PAUSE_SECONDS)


XE_SCENARIOS: dict[str, Callable[[ScenarioContext], Awaitable[None]]] = {
    "xe-baseline": xe_baseline,
    "xe-failover-priority": xe_failover_priority,
    "xe-failover-fault": xe_failover_fault,
    "xe-standby-reload": xe_standby_reload,
    "xe-control-link-cut": xe_control_link_cut,
    "xe-peer-power-off": xe_peer_power_off,
    "xe-track-down": xe_track_down,
    "xe-reload-loop": xe_reload_loop,
}
