"""Scenarios: what happens to a hub pair, step by step, in lab time.

Each scenario is a coroutine driving one LabPair through a ScenarioContext,
which lends it a clock to sleep on and the power to make a router reload
(its SSH server stops, then comes back). Durations are lab seconds; the
lab's time scale makes them pass faster. Scenarios that need a working pair
(all but baseline, simplex, split-brain and sa-loss) start from whichever hub
is RF ACTIVE, and decline when the pair has none with a STANDBY HOT peer.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ipsec_ha_monitor.lab.router import RF_ACTIVE, RF_DISABLED, RF_STANDBY_HOT, PacketCounter, Router
from ipsec_ha_monitor.lab.topology import (
    PACKETS_PER_SECOND,
    LabPair,
    copy_sa,
    drop_tunnel,
    hold_tunnel,
    negotiate,
    set_baseline,
    set_hsrp_roles,
)
from ipsec_ha_monitor.rf_states import RF_STATE_NAMES

RELOAD_SECONDS = 30.0  # a 7200 back from `reload` to its first prompt
RENEGOTIATION_SECONDS = 20.0  # branches notice dead SAs (DPD) and set up new ones
RELOAD_LOOP_COUNT = 3  # operator reloads of the standby in scenario reload-loop
# STANDBY HOT again, the operator reloads it once more after this. Each boot
# then lasts over two minutes, as a real hub's reload loop does (boot plus
# bulk sync): `show version` prints uptime in whole minutes, so boots shorter
# than that are indistinguishable from one long outage to any poller.
RELOAD_LOOP_PAUSE_SECONDS = 150.0
# What IOS logs for `reload` typed at a vty (from a host on the hub LAN).
OPERATOR_RELOAD_LOG = "%SYS-5-RELOAD: Reload requested by admin on vty0 (192.168.1.100). Reload Reason: Reload Command."


@dataclass
class ScenarioContext:
    pair: LabPair
    sleep: Callable[[float], Awaitable[None]]  # lab seconds
    set_reachable: Callable[[Router, bool], Awaitable[None]]  # running, or reloading (SSH refused)
    set_management: Callable[[Router, bool], Awaitable[None]]  # management path up, or cut (SSH refused)
    note: Callable[[str], None]  # records a step of the timeline


def stable_roles(pair: LabPair) -> tuple[Router, Router] | None:
    """(active, standby) when one hub is RF ACTIVE with a STANDBY HOT peer."""
    for active in pair.hubs:
        standby = pair.peer_of(active)
        if active.reachable and standby.reachable and (active.rf_my, standby.rf_my) == (RF_ACTIVE, RF_STANDBY_HOT):
            return active, standby
    return None


def rf_self_reload_log(router: Router) -> str:
    """What RF logs just before it reloads `router`, naming its states then."""
    my, peer = RF_STATE_NAMES.get(router.rf_my, "UNKNOWN"), RF_STATE_NAMES.get(router.rf_peer, "UNKNOWN")
    return f"%RF_INTERDEV-4-RELOAD: % RF induced self-reload. my state = {my} peer state = {peer}"


async def begin_reload(ctx: ScenarioContext, router: Router, reason_log: str) -> None:
    router.syslog(reason_log)
    for group in router.hsrp:
        router.set_hsrp(group, "init")
        group.active_router = group.standby_router = None
    router.set_traffic(False)
    await ctx.set_reachable(router, False)
    ctx.note(f"{router.name} reloads: SSH refused")


async def finish_reload(ctx: ScenarioContext, router: Router) -> None:
    """The router is back: uptime restarts, RF and HSRP start from scratch,
    counters from zero, no SA until the RF peer syncs them."""
    router.boot_time = router.now()
    router.returned_to_rom_by = "reload"
    router.rf_history.clear()
    router.rf_my, router.rf_peer = 2, RF_DISABLED
    router.duplex, router.communications_up, router.communications_reason = False, False, "Failure"
    router.interdev_state, router.interdev_peer = "RF_INTERDEV_STATE_INIT", "RF_INTERDEV_PEER_NO_COMM"
    for group in router.hsrp:
        group.state, group.state_changes, group.last_change = "init", 0, router.now()
        group.active_router = group.standby_router = None
    for tunnel in router.tunnels.values():
        drop_tunnel(tunnel, negotiating=False)
        tunnel.encaps, tunnel.decaps, tunnel.send_errors, tunnel.recv_errors = (
            PacketCounter(),
            PacketCounter(),
            PacketCounter(),
            PacketCounter(),
        )
    await ctx.set_reachable(router, True)
    # Logged once the system is up (and its vty lines answer), as IOS does.
    # The log buffer survives, as with `logging persistent`: the reload
    # message stays readable after the router is back.
    router.syslog("%SYS-5-RESTART: System restarted --")
    ctx.note(f"{router.name} is back (uptime reset, last reload: reload)")


def _peer_lost(router: Router) -> None:
    """`router` goes on RF ACTIVE alone: peer DISABLED, Simplex, IPC down."""
    router.set_rf(RF_ACTIVE, RF_DISABLED)
    router.duplex, router.communications_up = False, False
    router.communications_reason = "Simplex mode"
    router.interdev_state, router.interdev_peer = "RF_INTERDEV_STATE_ACT", "RF_INTERDEV_PEER_NO_COMM"
    router.syslog("%RF-5-RF_RELOAD: Peer reload. Reason: Peer lost")


def take_over(pair: LabPair, new_active: Router) -> None:
    """`new_active` becomes RF ACTIVE with its peer gone and serves the SAs it holds."""
    _peer_lost(new_active)
    new_active.switchovers += 1
    for tunnel in new_active.tunnels.values():
        if tunnel.installed:
            hold_tunnel(tunnel, active=True)
    new_active.set_traffic(True, PACKETS_PER_SECOND)


def _peers_talk(pair: LabPair, router: Router, active: Router, rf_code: int) -> None:
    """The rebooted `router` reaches `rf_code` and the IPC link is up again."""
    for hub in pair.hubs:
        hub.duplex, hub.communications_up, hub.communications_reason = True, True, None
        hub.interdev_peer = "RF_INTERDEV_PEER_COMM"
    router.set_rf(rf_code, RF_ACTIVE)
    active.set_rf(peer=rf_code)


async def _listen_and_negotiate(ctx: ScenarioContext, router: Router, active: Router) -> None:
    """Two seconds after its reload, `router` hears `active`'s hellos (HSRP
    Listen) and its RF starts NEGOTIATION over the restored IPC link."""
    await ctx.sleep(2)
    group = router.hsrp[0]
    router.set_hsrp(group, "listen")
    group.active_router, group.active_priority = active.outside_ip, active.hsrp[0].priority
    _peers_talk(ctx.pair, router, active, 3)
    ctx.note(f"{router.name} HSRP Listen, RF NEGOTIATION")


async def rejoin_as_standby(ctx: ScenarioContext, router: Router) -> None:
    """A rebooted hub walks HSRP Listen -> Speak -> Standby and RF
    NEGOTIATION -> STANDBY COLD -> STANDBY COLD-BULK -> STANDBY HOT, then
    holds standby copies of the active hub's SAs (counters at zero), unless
    the pair's SA sync is lost. 13 lab seconds from its return."""
    pair = ctx.pair
    active = pair.peer_of(router)
    group = router.hsrp[0]
    await _listen_and_negotiate(ctx, router, active)
    await ctx.sleep(3)
    router.set_hsrp(group, "speak")
    _peers_talk(pair, router, active, 4)
    ctx.note(f"{router.name} HSRP Speak, RF STANDBY COLD")
    await ctx.sleep(4)
    set_hsrp_roles(pair, active, router)
    _peers_talk(pair, router, active, 7)
    ctx.note(f"{router.name} HSRP Standby, RF STANDBY COLD-BULK")
    await ctx.sleep(4)
    _peers_talk(pair, router, active, RF_STANDBY_HOT)
    router.interdev_state = "RF_INTERDEV_STATE_STDBY"
    if not pair.sa_sync:
        ctx.note(f"{router.name} STANDBY HOT: no SA copies (SA sync lost)")
        return
    for peer, tunnel in router.tunnels.items():
        copy_sa(tunnel, active.tunnels[peer])
    ctx.note(f"{router.name} STANDBY HOT: SAs synced")


async def baseline(ctx: ScenarioContext) -> None:
    """Everything back: roles, SA sync, fresh SAs, every router reachable."""
    for router in (*ctx.pair.hubs, *ctx.pair.branches):
        await ctx.set_management(router, True)
        await ctx.set_reachable(router, True)
    set_baseline(ctx.pair)
    ctx.note(f"baseline: {ctx.pair.r2.name} ACTIVE, {ctx.pair.r1.name} STANDBY HOT, SAs on {ctx.pair.r2.name}")


async def _shut_active_outside(ctx: ScenarioContext, active: Router, standby: Router) -> None:
    active.syslog("%LINK-5-CHANGED: Interface FastEthernet0/0, changed state to administratively down")
    active.set_hsrp(active.hsrp[0], "init")
    active.hsrp[0].active_router = active.hsrp[0].standby_router = None
    set_hsrp_roles(ctx.pair, standby, None)
    ctx.note(f"{active.name} Fa0/0 shut: HSRP Active -> Init; {standby.name} HSRP Active")
    await ctx.sleep(1)
    await begin_reload(ctx, active, rf_self_reload_log(active))  # my state = ACTIVE peer state = STANDBY HOT
    take_over(ctx.pair, standby)
    ctx.note(f"{standby.name} RF ACTIVE, peer DISABLED, SAs now on {standby.name}")


def _declined(ctx: ScenarioContext, scenario: str) -> None:
    ctx.note(f"{scenario} declined: no hub is RF ACTIVE with a STANDBY HOT peer (trigger baseline first)")


async def failover(ctx: ScenarioContext) -> None:
    """The active hub's outside interface goes down: its peer takes over, it
    self-reloads and returns as STANDBY HOT (from baseline: R2 down, R1 up)."""
    roles = stable_roles(ctx.pair)
    if roles is None:
        return _declined(ctx, "failover")
    active, standby = roles
    await _shut_active_outside(ctx, active, standby)
    await ctx.sleep(RELOAD_SECONDS)
    await finish_reload(ctx, active)
    await rejoin_as_standby(ctx, active)


async def preempt(ctx: ScenarioContext) -> None:
    """As failover, but the failed hub is configured to preempt with a higher
    priority: back from its reload it grabs HSRP active before its SAs are
    synced, its peer self-reloads, and the tunnels stay broken until the
    branches renegotiate with it."""
    roles = stable_roles(ctx.pair)
    if roles is None:
        return _declined(ctx, "preempt")
    pair = ctx.pair
    first, second = roles  # `first` fails, returns and preempts `second`
    first.hsrp[0].preempt, first.hsrp[0].priority = True, 110
    ctx.note(f"{first.name} configured with standby 1 priority 110 / standby 1 preempt")
    await _shut_active_outside(ctx, first, second)
    await ctx.sleep(RELOAD_SECONDS)
    await finish_reload(ctx, first)
    await _listen_and_negotiate(ctx, first, second)
    group = first.hsrp[0]
    await ctx.sleep(3)
    first.set_hsrp(group, "speak")
    first.set_hsrp(group, "active")
    group.active_router, group.active_priority = "local", None
    other = second.hsrp[0]
    second.set_hsrp(other, "speak")
    other.active_router, other.active_priority = first.outside_ip, group.priority
    other.standby_router = other.standby_priority = None
    ctx.note(f"{first.name} preempts: HSRP Active while RF NEGOTIATION, SAs not synced")
    await ctx.sleep(1)
    await begin_reload(ctx, second, rf_self_reload_log(second))  # my state = ACTIVE peer state = NEGOTIATION
    take_over(pair, first)
    for branch in pair.branches:  # branches keep sending on SPIs `first` never learnt
        tunnel = first.tunnels[branch.outside_ip]
        drop_tunnel(tunnel, negotiating=True)
        tunnel.recv_errors.set_rate(first.now(), PACKETS_PER_SECOND)
        branch.tunnels[pair.virtual_ip].decaps.set_rate(branch.now(), 0.0)
    ctx.note(f"{first.name} RF ACTIVE without SAs: branch tunnels broken")
    await ctx.sleep(RENEGOTIATION_SECONDS)
    negotiate(pair, (first,), random.Random())
    ctx.note(f"branches renegotiated with {first.name} (new SPIs)")
    await ctx.sleep(RELOAD_SECONDS - RENEGOTIATION_SECONDS)
    await finish_reload(ctx, second)
    await rejoin_as_standby(ctx, second)


async def simplex(ctx: ScenarioContext) -> None:
    """The IPC (SCTP) association goes down: Simplex, Communications Down; the
    standby hub gives up RF and its SA copies."""
    roles = stable_roles(ctx.pair) or (ctx.pair.r2, ctx.pair.r1)
    active, standby = roles
    for hub in roles:
        hub.duplex, hub.communications_up, hub.communications_reason = False, False, "Failure"
        hub.interdev_peer = "RF_INTERDEV_PEER_NO_COMM"
    active.set_rf(RF_ACTIVE, RF_DISABLED)
    standby.set_rf(RF_DISABLED, 0)
    standby.interdev_state = "RF_INTERDEV_STATE_INIT"
    for tunnel in standby.tunnels.values():
        drop_tunnel(tunnel, negotiating=False)
    ctx.note(f"IPC association down: Simplex, Communications Down, {standby.name} lost its SA copies")


async def split_brain(ctx: ScenarioContext) -> None:
    """HSRP hellos stop crossing between the hubs: both become HSRP active."""
    for hub in ctx.pair.hubs:
        group = hub.hsrp[0]
        hub.set_hsrp(group, "active")
        group.active_router, group.active_priority = "local", None
        group.standby_router = group.standby_priority = None
    ctx.note("HSRP hellos lost: both hubs HSRP Active")


async def sa_loss(ctx: ScenarioContext) -> None:
    """The active hub loses the SA of its first branch."""
    pair = ctx.pair
    if not pair.branches:
        ctx.note("no branch: nothing to lose")
        return
    branch = pair.branches[0]
    for hub in pair.hubs:
        tunnel = hub.tunnels[branch.outside_ip]
        drop_tunnel(tunnel, negotiating=hub.rf_my == RF_ACTIVE)
        tunnel.encaps.set_rate(hub.now(), 0.0)
        tunnel.decaps.set_rate(hub.now(), 0.0)
    drop_tunnel(branch.tunnels[pair.virtual_ip], negotiating=True)
    branch.set_traffic(False)
    ctx.note(f"SA toward {branch.name} ({branch.outside_ip}) lost on the active hub")


async def _reload_standby(ctx: ScenarioContext, active: Router, standby: Router, reason_log: str) -> None:
    """`standby` reloads with no switchover: `active` carries on alone, and
    `standby` is back after RELOAD_SECONDS and rejoins STANDBY HOT."""
    await begin_reload(ctx, standby, reason_log)
    _peer_lost(active)
    set_hsrp_roles(ctx.pair, active, None)
    ctx.note(f"{active.name} RF ACTIVE, peer DISABLED, no switchover")
    await ctx.sleep(RELOAD_SECONDS)
    await finish_reload(ctx, standby)
    await rejoin_as_standby(ctx, standby)


async def standby_reload(ctx: ScenarioContext) -> None:
    """Inter-device negotiation fails: the standby hub self-reloads (RF
    induced), with no switchover, and rejoins STANDBY HOT with SA copies."""
    roles = stable_roles(ctx.pair)
    if roles is None:
        return _declined(ctx, "standby-reload")
    active, standby = roles
    await _reload_standby(ctx, active, standby, rf_self_reload_log(standby))


async def reload_loop(ctx: ScenarioContext) -> None:
    """An operator reloads the standby hub RELOAD_LOOP_COUNT times, each
    time once it is STANDBY HOT again (after a pause)."""
    roles = stable_roles(ctx.pair)
    if roles is None:
        return _declined(ctx, "reload-loop")
    active, standby = roles
    for count in range(1, RELOAD_LOOP_COUNT + 1):
        ctx.note(f"{standby.name}: operator reload {count} of {RELOAD_LOOP_COUNT}")
        await _reload_standby(ctx, active, standby, OPERATOR_RELOAD_LOG)
        if count < RELOAD_LOOP_COUNT:
            await ctx.sleep(RELOAD_LOOP_PAUSE_SECONDS)


async def sync_loss(ctx: ScenarioContext) -> None:
    """The standby stays STANDBY HOT but holds no SA copies, and gets none
    after rekeys or a reload, until baseline: a failover now drops every tunnel."""
    roles = stable_roles(ctx.pair)
    if roles is None:
        return _declined(ctx, "sync-loss")
    _, standby = roles
    ctx.pair.sa_sync = False
    for tunnel in standby.tunnels.values():
        drop_tunnel(tunnel, negotiating=False)
    ctx.note(f"SA sync lost: {standby.name} STANDBY HOT without SA copies")


async def active_unreachable(ctx: ScenarioContext) -> None:
    """The RF-active hub's management path is cut: its SSH refuses
    connections while RF, HSRP and the SAs carry on (its peer still sees it
    ACTIVE, Communications Up), until baseline."""
    roles = stable_roles(ctx.pair)
    if roles is None:
        return _declined(ctx, "active-unreachable")
    active, _ = roles
    await ctx.set_management(active, False)
    ctx.note(f"{active.name} management cut: SSH refused; RF, HSRP and SAs unchanged")


SCENARIOS: dict[str, Callable[[ScenarioContext], Awaitable[None]]] = {
    "baseline": baseline,
    "failover": failover,
    "preempt": preempt,
    "simplex": simplex,
    "split-brain": split_brain,
    "sa-loss": sa_loss,
    "sync-loss": sync_loss,
    "standby-reload": standby_reload,
    "reload-loop": reload_loop,
    "active-unreachable": active_unreachable,
}
