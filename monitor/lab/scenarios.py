"""Scenarios: what happens to a hub pair, step by step, in lab time.

Each scenario is a coroutine driving one Pair through a ScenarioContext,
which lends it a clock to sleep on and the power to make a router reload
(its SSH server stops, then comes back). Durations are lab seconds; the
lab's time scale makes them pass faster.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from monitor.lab.router import RF_ACTIVE, RF_DISABLED, RF_STANDBY_HOT, Router
from monitor.lab.topology import PACKETS_PER_SECOND, Pair, drop_tunnel, hold_tunnel, set_baseline, set_hsrp_roles

RELOAD_SECONDS = 30.0  # a 7200 back from `reload` to its first prompt


@dataclass
class ScenarioContext:
    pair: Pair
    sleep: Callable[[float], Awaitable[None]]  # lab seconds
    set_reachable: Callable[[Router, bool], Awaitable[None]]
    note: Callable[[str], None]  # records a step of the timeline


async def begin_reload(ctx: ScenarioContext, router: Router, reason_log: str) -> None:
    router.syslog(reason_log)
    group = router.hsrp[0] if router.hsrp else None
    if group is not None:
        router.set_hsrp(group, "init")
        group.active_router = group.standby_router = None
    router.set_traffic(False)
    await ctx.set_reachable(router, False)
    ctx.note(f"{router.name} reloads: SSH refused")


async def finish_reload(ctx: ScenarioContext, router: Router) -> None:
    """The router is back: uptime restarts, RF and HSRP start from scratch,
    no SA is installed until the RF peer syncs them."""
    router.boot_time = router.now()
    router.returned_to_rom_by = "reload"
    # The log buffer survives, as with `logging persistent`: the reload
    # message stays readable after the router is back.
    router.rf_history.clear()
    router.syslog("%SYS-5-RESTART: System restarted --")
    router.rf_my, router.rf_peer = 2, RF_DISABLED
    router.interdev_state = "RF_INTERDEV_STATE_INIT"
    for group in router.hsrp:
        group.state, group.state_changes, group.last_change = "init", 0, router.now()
        group.active_router = group.standby_router = None
    for tunnel in router.tunnels.values():
        drop_tunnel(tunnel, negotiating=False)
        tunnel.session_status = "DOWN"
    await ctx.set_reachable(router, True)
    ctx.note(f"{router.name} is back (uptime reset, last reload: reload)")


def take_over(pair: Pair, new_active: Router) -> None:
    """`new_active` becomes RF ACTIVE with its peer gone and serves the SAs it holds."""
    new_active.set_rf(RF_ACTIVE, RF_DISABLED)
    new_active.switchovers += 1
    new_active.duplex, new_active.communications_up = False, False
    new_active.communications_reason = "Simplex mode"
    new_active.interdev_state, new_active.interdev_peer = "RF_INTERDEV_STATE_ACT", "RF_INTERDEV_PEER_NO_COMM"
    new_active.syslog("%RF-5-RF_RELOAD: Peer reload. Reason: Peer lost")
    for tunnel in new_active.tunnels.values():
        if tunnel.installed:
            hold_tunnel(tunnel, active=True)
    new_active.set_traffic(True, PACKETS_PER_SECOND)


async def rejoin_as_standby(ctx: ScenarioContext, router: Router) -> None:
    """A rebooted hub walks HSRP Listen -> Speak -> Standby and RF
    NEGOTIATION -> STANDBY COLD -> STANDBY COLD-BULK -> STANDBY HOT, then
    holds standby copies of the active hub's SAs."""
    pair = ctx.pair
    active = pair.peer_of(router)
    group = router.hsrp[0]
    await ctx.sleep(2)
    router.set_hsrp(group, "listen")
    group.active_router, group.active_priority = active.outside_ip, active.hsrp[0].priority
    for hub in pair.hubs:
        hub.duplex, hub.communications_up, hub.communications_reason = True, True, None
        hub.interdev_peer = "RF_INTERDEV_PEER_COMM"
    router.set_rf(3, RF_ACTIVE)
    active.set_rf(peer=3)
    ctx.note(f"{router.name} HSRP Listen, RF NEGOTIATION")
    await ctx.sleep(3)
    router.set_hsrp(group, "speak")
    router.set_rf(4)
    active.set_rf(peer=4)
    ctx.note(f"{router.name} HSRP Speak, RF STANDBY COLD")
    await ctx.sleep(4)
    set_hsrp_roles(pair, active, router)
    router.set_rf(7)
    active.set_rf(peer=7)
    ctx.note(f"{router.name} HSRP Standby, RF STANDBY COLD-BULK")
    await ctx.sleep(4)
    router.set_rf(RF_STANDBY_HOT)
    active.set_rf(peer=RF_STANDBY_HOT)
    router.interdev_state = "RF_INTERDEV_STATE_STDBY"
    for peer, tunnel in router.tunnels.items():
        source = active.tunnels[peer]
        tunnel.inbound_spi, tunnel.outbound_spi = source.inbound_spi, source.outbound_spi
        if tunnel.installed:
            hold_tunnel(tunnel, active=False)
        else:
            drop_tunnel(tunnel, negotiating=False)
    ctx.note(f"{router.name} STANDBY HOT: SAs synced")


async def baseline(ctx: ScenarioContext) -> None:
    for hub in ctx.pair.hubs:
        await ctx.set_reachable(hub, True)
    set_baseline(ctx.pair)
    ctx.note("baseline: R2 ACTIVE, R1 STANDBY HOT, SAs on R2")


async def _shut_active_outside(ctx: ScenarioContext, active: Router, standby: Router) -> None:
    active.syslog("%LINK-5-CHANGED: Interface FastEthernet0/0, changed state to administratively down")
    active.set_hsrp(active.hsrp[0], "init")
    active.hsrp[0].active_router = active.hsrp[0].standby_router = None
    set_hsrp_roles(ctx.pair, standby, None)
    ctx.note(f"{active.name} Fa0/0 shut: HSRP Active -> Init; {standby.name} HSRP Active")
    await ctx.sleep(1)
    await begin_reload(
        ctx, active, "%RF_INTERDEV-4-RELOAD: % RF induced self-reload. my state = ACTIVE peer state = STANDBY HOT"
    )
    take_over(ctx.pair, standby)
    ctx.note(f"{standby.name} RF ACTIVE, peer DISABLED, SAs now on {standby.name}")


async def failover(ctx: ScenarioContext) -> None:
    """R2's outside interface goes down: R1 takes over, R2 self-reloads and
    returns as STANDBY HOT."""
    pair = ctx.pair
    await _shut_active_outside(ctx, pair.r2, pair.r1)
    await ctx.sleep(RELOAD_SECONDS)
    await finish_reload(ctx, pair.r2)
    await rejoin_as_standby(ctx, pair.r2)


async def preempt(ctx: ScenarioContext) -> None:
    """As failover, but R2 preempts with a higher priority: it grabs HSRP
    active before its SAs are synced, R1 self-reloads, the tunnels break
    until the branches renegotiate with R2."""
    pair = ctx.pair
    r1, r2 = pair.r1, pair.r2
    r2.hsrp[0].preempt, r2.hsrp[0].priority = True, 110
    ctx.note("R2 configured with standby 1 priority 110 / standby 1 preempt")
    await _shut_active_outside(ctx, r2, r1)
    await ctx.sleep(RELOAD_SECONDS)
    await finish_reload(ctx, r2)
    await ctx.sleep(2)
    r2.set_hsrp(r2.hsrp[0], "listen")
    r2.hsrp[0].active_router, r2.hsrp[0].active_priority = r1.outside_ip, r1.hsrp[0].priority
    r2.set_rf(3, RF_ACTIVE)
    r1.set_rf(peer=3)
    ctx.note("R2 HSRP Listen, RF NEGOTIATION")
    await ctx.sleep(3)
    r2.set_hsrp(r2.hsrp[0], "speak")
    r2.set_hsrp(r2.hsrp[0], "active")
    r2.hsrp[0].active_router, r2.hsrp[0].active_priority = "local", None
    r1.set_hsrp(r1.hsrp[0], "speak")
    ctx.note("R2 preempts: HSRP Active while RF NEGOTIATION, SAs not synced")
    await ctx.sleep(1)
    await begin_reload(
        ctx, r1, "%RF_INTERDEV-4-RELOAD: % RF induced self-reload. my state = ACTIVE peer state = NEGOTIATION"
    )
    take_over(pair, r2)
    for branch in pair.branches:  # branches keep sending on SPIs R2 never learnt
        r2_tunnel = r2.tunnels[branch.outside_ip]
        drop_tunnel(r2_tunnel, negotiating=True)
        r2_tunnel.recv_errors.set_rate(r2.now(), PACKETS_PER_SECOND)
        branch.tunnels[pair.virtual_ip].decaps.set_rate(branch.now(), 0.0)
    ctx.note("R2 RF ACTIVE without SAs: branch tunnels broken")
    await ctx.sleep(20)
    rng = random.Random(int(r2.now()))
    for branch in pair.branches:
        inbound, outbound = rng.randrange(0x10000000, 0xFFFFFFFF), rng.randrange(0x10000000, 0xFFFFFFFF)
        for tunnel, (spi_in, spi_out) in (
            (r2.tunnels[branch.outside_ip], (inbound, outbound)),
            (branch.tunnels[pair.virtual_ip], (outbound, inbound)),
        ):
            tunnel.inbound_spi, tunnel.outbound_spi = spi_in, spi_out
            hold_tunnel(tunnel, active=True)
        r2.tunnels[branch.outside_ip].recv_errors.set_rate(r2.now(), 0.0)
        branch.set_traffic(True, PACKETS_PER_SECOND)
    r2.set_traffic(True, PACKETS_PER_SECOND)
    ctx.note("branches renegotiated with R2 (new SPIs)")
    await ctx.sleep(RELOAD_SECONDS - 20)
    await finish_reload(ctx, r1)
    await rejoin_as_standby(ctx, r1)


async def simplex(ctx: ScenarioContext) -> None:
    """The IPC (SCTP) association goes down: Simplex, Communications Down."""
    r1, r2 = ctx.pair.r1, ctx.pair.r2
    for hub in (r1, r2):
        hub.duplex, hub.communications_up, hub.communications_reason = False, False, "Failure"
        hub.interdev_peer = "RF_INTERDEV_PEER_NO_COMM"
    r2.set_rf(RF_ACTIVE, RF_DISABLED)
    r1.set_rf(RF_DISABLED, 0)
    r1.interdev_state = "RF_INTERDEV_STATE_INIT"
    for tunnel in r1.tunnels.values():
        drop_tunnel(tunnel, negotiating=False)
    ctx.note("IPC association down: Simplex, Communications Down, R1 lost its SA copies")


async def split_brain(ctx: ScenarioContext) -> None:
    """HSRP hellos stop crossing between the hubs: both become HSRP active."""
    r1, r2 = ctx.pair.r1, ctx.pair.r2
    set_hsrp_roles(ctx.pair, r1, None)
    r2.hsrp[0].standby_router = r2.hsrp[0].standby_priority = None
    ctx.note("HSRP hellos lost: R1 and R2 both HSRP Active")


async def sa_loss(ctx: ScenarioContext) -> None:
    """The active hub loses the SA of its first branch."""
    pair = ctx.pair
    if not pair.branches:
        ctx.note("no branch: nothing to lose")
        return
    branch = pair.branches[0]
    for hub in pair.hubs:
        drop_tunnel(hub.tunnels[branch.outside_ip], negotiating=hub.rf_my == RF_ACTIVE)
        hub.tunnels[branch.outside_ip].encaps.set_rate(hub.now(), 0.0)
        hub.tunnels[branch.outside_ip].decaps.set_rate(hub.now(), 0.0)
    drop_tunnel(branch.tunnels[pair.virtual_ip], negotiating=True)
    branch.set_traffic(False)
    ctx.note(f"SA toward {branch.name} ({branch.outside_ip}) lost on the active hub")


SCENARIOS: dict[str, Callable[[ScenarioContext], Awaitable[None]]] = {
    "baseline": baseline,
    "failover": failover,
    "preempt": preempt,
    "simplex": simplex,
    "split-brain": split_brain,
    "sa-loss": sa_loss,
}
