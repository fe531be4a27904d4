"""The packetlife topology, built as router state: hub pairs sharing HSRP
group 1 "BRANCH-5-TUNNEL" on Fa0/0 with SSO inter-device redundancy, and
branch routers with a crypto map to the pair's virtual IP.

(IOS-XE box-to-box pairs: xe_topology.py.)

LabPair 1 is the article's: R1 (10.0.0.1, starts STANDBY HOT), R2 (10.0.0.2,
starts ACTIVE), virtual IP 10.0.0.3, hub LAN 192.168.1.0/24; branch R4 at
172.16.0.4 with LAN 192.168.4.0/24, further branches R5, R6, ... With more
than one pair, names get a "P<k>-" prefix.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field

from ipsec_ha_monitor.inventory import CLASSIC
from ipsec_ha_monitor.lab.router import (
    RF_ACTIVE,
    RF_STANDBY_HOT,
    Clock,
    LabCredentials,
    LabHsrpGroup,
    PacketCounter,
    Router,
    TunnelSa,
)

HSRP_GROUP_NAME = "BRANCH-5-TUNNEL"
PACKETS_PER_SECOND = 20.0
SA_LIFETIME_SECONDS = 3600.0  # IOS's default IPsec SA lifetime: each tunnel rekeys this often


@dataclass
class LabPair:
    name: str
    r1: Router  # the article's R1: standby at start
    r2: Router  # the article's R2: active at start
    branches: list[Router] = field(default_factory=list)
    # The RF-active hub sends the SAs it sets up to its STANDBY HOT peer
    # (False after scenario sync-loss: the standby gets no copies).
    sa_sync: bool = True
    # "classic" (HSRP + inter-device redundancy) or "b2b" (IOS-XE box-to-box
    # redundancy group, xe_topology.py: r1 starts ACTIVE there).
    mode: str = CLASSIC
    vip: str = ""  # b2b: the group's outside VIP (classic: HSRP's virtual IP)
    control_link_cut: bool = False  # b2b: the members' control link is down (xe-control-link-cut)

    @property
    def hubs(self) -> tuple[Router, Router]:
        return self.r1, self.r2

    def peer_of(self, hub: Router) -> Router:
        return self.r2 if hub is self.r1 else self.r1

    @property
    def virtual_ip(self) -> str:
        return self.vip or self.r1.hsrp[0].virtual_ip


def lab_credentials() -> LabCredentials:
    """Throwaway credentials, new for every lab."""
    return LabCredentials("lab", secrets.token_urlsafe(12), secrets.token_urlsafe(12))


def _hub_lan(k: int) -> str:
    return f"192.168.{k}.0/255.255.255.0" if k < 4 else f"10.{k}.0.0/255.255.255.0"


def _branch_lan(k: int, j: int) -> str:
    return f"192.168.{4 + j}.0/255.255.255.0" if k == 1 else f"10.{k}.{4 + j}.0/255.255.255.0"


def build_pairs(
    pairs: int,
    branches: int,
    credentials: LabCredentials,
    clock: Clock,
    seed: int = 5,
    sa_lifetime: float = SA_LIFETIME_SECONDS,
    ikev2_branches: int = 0,
) -> list[LabPair]:
    """`ikev2_branches`: the first that many branches of each pair run IKEv2
    (their IKE SAs show in show crypto ikev2 sa, not isakmp sa); the others IKEv1."""
    if not 1 <= pairs <= 250 or not 0 <= branches <= 250:
        raise ValueError("the lab holds 1-250 hub pairs with 0-250 branches each")
    if not 0 <= ikev2_branches <= branches:
        raise ValueError(f"ikev2_branches must be 0-{branches}, the branches per pair")
    if sa_lifetime <= 0:
        raise ValueError("sa_lifetime must be positive")
    rng = random.Random(seed)
    built = []
    for k in range(1, pairs + 1):
        prefix = "" if pairs == 1 else f"P{k}-"
        net = f"10.{k - 1}.0"
        r1 = Router(f"{prefix}R1", "hub", f"{net}.1", credentials, clock)
        r2 = Router(f"{prefix}R2", "hub", f"{net}.2", credentials, clock)
        pair = LabPair(f"HUB-PAIR-{k}", r1, r2)
        for hub in pair.hubs:
            hub.hsrp.append(LabHsrpGroup("FastEthernet0/0", 1, HSRP_GROUP_NAME, f"{net}.3", 100))
        for j in range(branches):
            address = f"172.{16 + (k - 1) // 250}.{(k - 1) % 250}.{4 + j}"
            branch = Router(f"{prefix}R{4 + j}", "branch", address, credentials, clock)
            pair.branches.append(branch)
            for hub in pair.hubs:
                hub.tunnels[address] = TunnelSa(address, pair.virtual_ip, _hub_lan(k), _branch_lan(k, j), 1001 + j)
            branch.tunnels[pair.virtual_ip] = TunnelSa(
                pair.virtual_ip, address, _branch_lan(k, j), _hub_lan(k), 1001 + j
            )
            if j < ikev2_branches:
                for tunnel in (hub.tunnels[address] for hub in pair.hubs):
                    tunnel.ike_version = 2
                branch.tunnels[pair.virtual_ip].ike_version = 2
        for router in (*pair.hubs, *pair.branches):
            for tunnel in router.tunnels.values():
                tunnel.lifetime_seconds = sa_lifetime
        set_baseline(pair, rng)
        for hub in pair.hubs:  # the roles were settled shortly after boot, not now
            hub.hsrp[0].last_change = hub.boot_time + 90
            hub.log = [(hub.boot_time + 90, message) for _, message in hub.log]
        for router in (*pair.hubs, *pair.branches):
            router.log.insert(0, (router.boot_time + 1, "%SYS-5-RESTART: System restarted --"))
        built.append(pair)
    return built


def set_baseline(pair: LabPair, rng: random.Random | None = None) -> None:
    """R2 HSRP active and RF ACTIVE, R1 standby and STANDBY HOT, fresh SAs on
    R2 (synced to R1 as standby), traffic flowing, no preemption."""
    active, standby = pair.r2, pair.r1
    pair.sa_sync = True
    for hub in pair.hubs:
        hub.reachable, hub.management_cut = True, False
        hub.duplex, hub.communications_up, hub.communications_reason = True, True, None
        hub.interdev_peer = "RF_INTERDEV_PEER_COMM"
        hub.switchovers = 0
        group = hub.hsrp[0]
        group.preempt, group.priority = False, 100
    active.rf_my, active.rf_peer, active.interdev_state = RF_ACTIVE, RF_STANDBY_HOT, "RF_INTERDEV_STATE_ACT"
    standby.rf_my, standby.rf_peer, standby.interdev_state = RF_STANDBY_HOT, RF_ACTIVE, "RF_INTERDEV_STATE_STDBY"
    set_hsrp_roles(pair, active, standby)
    negotiate(pair, (active, standby), rng or random.Random())


def negotiate(pair: LabPair, hubs: tuple[Router, ...], rng: random.Random) -> None:
    """Every branch sets up a new SA pair (new SPIs, counters from zero) with
    the pair's virtual IP, held by `hubs`: active on the RF-active hub, where
    traffic flows, and as standby copies on the other."""
    for branch in pair.branches:
        inbound, outbound = new_spis(rng)
        now = branch.now()
        for hub in hubs:
            install(hub.tunnels[branch.outside_ip], inbound, outbound, now)
        install(branch.tunnels[pair.virtual_ip], outbound, inbound, now)
        hold_tunnel(branch.tunnels[pair.virtual_ip], active=True)
        branch.set_traffic(True, PACKETS_PER_SECOND)
    for hub in hubs:
        for tunnel in hub.tunnels.values():
            hold_tunnel(tunnel, active=hub.rf_my == RF_ACTIVE)
        if hub.rf_my == RF_ACTIVE:
            hub.set_traffic(True, PACKETS_PER_SECOND)


def new_spis(rng: random.Random) -> tuple[int, int]:
    """SPIs for a new SA pair (inbound, outbound as the hub sees them)."""
    return rng.randrange(0x10000000, 0xFFFFFFFF), rng.randrange(0x10000000, 0xFFFFFFFF)


def install(tunnel: TunnelSa, inbound: int, outbound: int, now: float) -> None:
    """A new SA pair set up at lab time `now`, counters from zero."""
    tunnel.inbound_spi, tunnel.outbound_spi, tunnel.installed_at = inbound, outbound, now
    tunnel.ike_since = now
    tunnel.encaps, tunnel.decaps = PacketCounter(), PacketCounter()
    tunnel.send_errors, tunnel.recv_errors = PacketCounter(), PacketCounter()


def copy_sa(copy: TunnelSa, source: TunnelSa) -> None:
    """The standby's `copy` becomes what the RF-active hub's `source` holds,
    as the IPC link syncs it: same SPIs and age, its own counters from zero."""
    copy.inbound_spi, copy.outbound_spi = source.inbound_spi, source.outbound_spi
    copy.installed_at, copy.ike_since = source.installed_at, source.ike_since
    copy.encaps, copy.decaps = PacketCounter(), PacketCounter()
    copy.send_errors, copy.recv_errors = PacketCounter(), PacketCounter()
    if copy.installed:
        hold_tunnel(copy, active=False)
    else:
        drop_tunnel(copy, negotiating=False)


def set_hsrp_roles(pair: LabPair, active: Router | None, standby: Router | None) -> None:
    """HSRP group 1 on both hubs: `active` holds it, `standby` backs it up
    (either may be None). A hub that is neither is left in its state."""
    for hub in pair.hubs:
        group, other = hub.hsrp[0], pair.peer_of(hub)
        if hub is active:
            hub.set_hsrp(group, "active")
            group.active_router, group.active_priority = "local", None
            group.standby_router = other.outside_ip if other is standby else None
            group.standby_priority = other.hsrp[0].priority if other is standby else None
        elif hub is standby:
            hub.set_hsrp(group, "standby")
            group.active_router = other.outside_ip if other is active else None
            group.active_priority = other.hsrp[0].priority if other is active else None
            group.standby_router, group.standby_priority = "local", None


def hold_tunnel(tunnel: TunnelSa, active: bool) -> None:
    """The tunnel as the RF-active hub (or a branch) holds it, or as synced to the standby."""
    tunnel.status = "ACTIVE" if active else "STANDBY"
    tunnel.isakmp_state = "QM_IDLE"
    tunnel.isakmp_status = "ACTIVE" if active else "STDBY"
    tunnel.session_status = "UP-ACTIVE" if active else "UP-STANDBY"


def drop_tunnel(tunnel: TunnelSa, negotiating: bool) -> None:
    """No SA installed: the tunnel is down (and renegotiating, if `negotiating`)."""
    tunnel.inbound_spi = tunnel.outbound_spi = 0
    tunnel.isakmp_state = "MM_NO_STATE" if negotiating else None
    tunnel.isakmp_status = "ACTIVE"
    tunnel.session_status = "DOWN-NEGOTIATING" if negotiating else "DOWN"
