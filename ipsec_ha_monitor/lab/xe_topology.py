"""IOS-XE box-to-box pairs, built as router state: two ISR 4451-X members
of redundancy group 1 "RG-IPSEC" (control link Gi0/0/2, a direct cable),
the branches' tunnels ending on the group's VIP of the outside interface.

XE-PAIR-1: XE1 (10.0.128.1, priority 150, starts ACTIVE), XE2 (10.0.128.2,
priority 100, IOS-XE's default, starts STANDBY HOT), outside VIP 10.0.128.3
on Gi0/0/1, inside VIP 192.168.128.1 on Gi0/0/0, each interface with
`redundancy group 1 decrement 10`; branches XE-R4, XE-R5, ... at
172.31.0.4, ... Further pairs: P<k>-XE1, P<k>-XE2, 10.<k-1>.128.x.

The group's RF states are the members' rf_my / rf_peer (router.py), so the
SAs live on the ACTIVE member and the STANDBY HOT one holds copies, as in
the classic pairs (rekey.py and topology.py unchanged). Whether a real XE
standby lists its synced SAs is not known (docs/xe-b2b.md): the monitor's
standby-copies rule is off in box-to-box mode.

The views each member has of the other (presence, comm, peer role, peer RF
state, peer priority, control interface state) come from one place,
refresh_peers(): the control link is up while both boxes run and the link
is not cut.
"""

from __future__ import annotations

import random

from ipsec_ha_monitor.inventory import B2B
from ipsec_ha_monitor.lab.router import (
    RF_ACTIVE,
    RF_DISABLED,
    RF_STANDBY_HOT,
    Clock,
    LabCredentials,
    Router,
    TunnelSa,
)
from ipsec_ha_monitor.lab.topology import LabPair, negotiate
from ipsec_ha_monitor.lab.xe_group import (
    HELLOS_PER_SECOND,
    ROLE_ACTIVE,
    ROLE_STANDBY,
    LabRedundancyGroup,
    LabRgInterface,
)
from ipsec_ha_monitor.lab.xe_outputs import XE_IMAGE, XE_VERSION

XE_PAIR_PREFIX = "XE-PAIR-"
ACTIVE_PRIORITY, STANDBY_PRIORITY = 150, 100
INTERFACE_DECREMENT = 10
# What lab.inventory() gives group 1 as failover_threshold: below every
# runtime priority the scenarios leave (150, 140 after xe-track-down, 100,
# 90 after xe-failover-priority), so only a real fall to it fails the rule.
FAILOVER_THRESHOLD = 80
OUTSIDE, INSIDE = "GigabitEthernet0/0/1", "GigabitEthernet0/0/0"
RG_NAME = "RG-IPSEC"


def xe_names(k: int) -> tuple[str, str, str]:
    """(pair, first member, second member) of XE pair k (1-based)."""
    prefix = "" if k == 1 else f"P{k}-"
    return f"{XE_PAIR_PREFIX}{k}", f"{prefix}XE1", f"{prefix}XE2"


def _hub_lan(k: int) -> str:
    return f"192.168.{127 + k}.0/255.255.255.0" if k <= 100 else f"10.{k - 1}.129.0/255.255.255.0"


def _branch_lan(k: int, j: int) -> str:
    return f"10.{k - 1}.{130 + j}.0/255.255.255.0"


def build_xe_pairs(
    xe_pairs: int,
    branches: int,
    credentials: LabCredentials,
    clock: Clock,
    *,
    sa_lifetime: float,
    ikev2_branches: int = 0,
    seed: int = 17,
) -> list[LabPair]:
    """`xe_pairs` box-to-box pairs with `branches` branches each (the first
    `ikev2_branches` of them on IKEv2), in their baseline."""
    if not 0 <= xe_pairs <= 100:
        raise ValueError("the lab holds 0-100 IOS-XE box-to-box pairs")
    if not 0 <= branches <= 120:
        raise ValueError("an IOS-XE pair holds 0-120 branches")
    rng = random.Random(seed)
    built = []
    for k in range(1, xe_pairs + 1):
        pair_name, first, second = xe_names(k)
        net = f"10.{k - 1}.128"
        prefix = first[: -len("XE1")]
        vip = f"{net}.3"
        hubs = []
        for index, (name, priority) in enumerate(((first, ACTIVE_PRIORITY), (second, STANDBY_PRIORITY)), start=1):
            hub = Router(name, "hub", f"{net}.{index}", credentials, clock)
            hub.platform, hub.image, hub.version = "cisco_xe", XE_IMAGE, XE_VERSION
            hub.outside_interface, hub.tunnel_address = OUTSIDE, vip
            hub.last_reload_reason = "Reload Command"
            hub.rg = LabRedundancyGroup(
                priority=priority,
                name=RG_NAME,
                interfaces=[
                    LabRgInterface(OUTSIDE, vip, f"0007.b400.01{k:02x}", INTERFACE_DECREMENT),
                    LabRgInterface(INSIDE, _hub_lan(k).split("/")[0][:-1] + "1", f"0007.b400.02{k:02x}"),
                ],
            )
            hubs.append(hub)
        pair = LabPair(pair_name, hubs[0], hubs[1], mode=B2B, vip=vip)
        for j in range(branches):
            address = f"172.31.{k - 1}.{4 + j}"
            branch = Router(f"{prefix}XE-R{4 + j}", "branch", address, credentials, clock)
            pair.branches.append(branch)
            for hub in pair.hubs:
                hub.tunnels[address] = TunnelSa(address, vip, _hub_lan(k), _branch_lan(k, j), 1001 + j)
            branch.tunnels[vip] = TunnelSa(vip, address, _branch_lan(k, j), _hub_lan(k), 1001 + j)
            if j < ikev2_branches:
                for tunnel in (*(hub.tunnels[address] for hub in pair.hubs), branch.tunnels[vip]):
                    tunnel.ike_version = 2
        for router in (*pair.hubs, *pair.branches):
            for tunnel in router.tunnels.values():
                tunnel.lifetime_seconds = sa_lifetime
        set_xe_baseline(pair, rng)
        for hub in pair.hubs:
            group = rg(hub)
            # Settled once, shortly after boot: one role change each, the control link up once.
            if hub is pair.r1:
                group.role_to_active = 1
            else:
                group.role_to_standby = 1
            group.ctrl_up_events = 1
            group.hellos.since = group.peer_hellos.since = hub.boot_time + 90
            hub.log = [
                (hub.boot_time + 90, f"%RG_PROTOCOL-5-ROLECHANGE: RG id 1 role change from Init to {group.role}")
            ]
        for router in (*pair.hubs, *pair.branches):
            router.log.insert(0, (router.boot_time + 1, "%SYS-5-RESTART: System restarted --"))
        built.append(pair)
    return built


def rg(router: Router) -> LabRedundancyGroup:
    if router.rg is None:
        raise ValueError(f"{router.name} is not a box-to-box member")
    return router.rg


def set_xe_baseline(pair: LabPair, rng: random.Random | None = None) -> None:
    """r1 ACTIVE (priority 150), r2 STANDBY HOT (priority 100), no preempt,
    faults and control link up, every interface up, the VIPs on r1, fresh
    SAs on r1 (copies on r2). The roles are set, not walked: no log
    message and no counter moves (a lab reset, not an event)."""
    active, standby = pair.r1, pair.r2
    pair.sa_sync, pair.control_link_cut = True, False
    for hub, priority in ((active, ACTIVE_PRIORITY), (standby, STANDBY_PRIORITY)):
        group = rg(hub)
        hub.reachable, hub.management_cut = True, False
        group.priority, group.preempt = priority, False
        group.admin_up, group.faults_up = True, True
        for interface in group.interfaces:
            interface.up = True
        hub.switchovers = 0
    rg(active).role, rg(standby).role = ROLE_ACTIVE, ROLE_STANDBY
    active.rf_my, standby.rf_my = RF_ACTIVE, RF_STANDBY_HOT
    for hub in pair.hubs:
        if rg(hub).hellos.rate == 0.0:
            rg(hub).restart_media(hub.now())
    refresh_peers(pair)
    own_vips(pair)
    negotiate(pair, (active, standby), rng or random.Random())


def refresh_peers(pair: LabPair) -> None:
    """What each running member sees of the other: over an up control link
    its peer's role, RF state and runtime priority; else nobody (peer
    DISABLED, role unknown). The control interface goes down with the link
    (a cut, or the peer powered off or reloading) and up again with it,
    each change counted and logged on the running member."""
    link = pair.r1.reachable and pair.r2.reachable and not pair.control_link_cut
    for hub in pair.hubs:
        if not hub.reachable:
            continue
        group, peer = rg(hub), pair.peer_of(hub)
        if group.control_up != link:
            group.control_up = link
            if link:
                group.ctrl_up_events += 1
            else:
                group.ctrl_down_events += 1
            state = "up" if link else "down"
            hub.syslog(f"%LINK-3-UPDOWN: Interface {group.control_interface}, changed state to {state}")
        now = hub.now()
        if link:
            other = rg(peer)
            group.peer_present = group.peer_comm = True
            group.peer_role, group.peer_address, group.peer_priority = (
                other.role,
                peer.outside_ip,
                other.runtime_priority,
            )
            hub.set_rf(peer=peer.rf_my)
            hub.communications_up = True
            if group.peer_hellos.rate == 0.0:
                group.peer_hellos.set_rate(now, HELLOS_PER_SECOND)
        else:
            group.peer_present = group.peer_comm = False
            group.peer_role = group.peer_address = group.peer_priority = None
            hub.set_rf(peer=RF_DISABLED)
            hub.communications_up = False
            if group.peer_hellos.rate != 0.0:
                group.peer_hellos.set_rate(now, 0.0)


def own_vips(pair: LabPair) -> None:
    """Each running member answers for its group's VIPs while ACTIVE
    (if-mgr: no shut), not otherwise (shut)."""
    for hub in pair.hubs:
        for interface in rg(hub).interfaces:
            interface.owned = hub.reachable and rg(hub).role == ROLE_ACTIVE


def set_role(router: Router, role: str) -> None:
    """The group's role changes as the RG protocol walks it: logged, and
    counted when it reaches Active or Standby."""
    group = rg(router)
    if role == group.role:
        return
    router.syslog(f"%RG_PROTOCOL-5-ROLECHANGE: RG id {group.group_id} role change from {group.role} to {role}")
    group.role = role
    if role == ROLE_ACTIVE:
        group.role_to_active += 1
    elif role == ROLE_STANDBY:
        group.role_to_standby += 1
