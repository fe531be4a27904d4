"""SA lifetimes: every tunnel's ESP SA pair is replaced each lifetime, and
the standby hub's copies follow.

IOS replaces an IPsec SA pair before its lifetime runs out: new SPIs, and
counters that start from zero with the new SA, on both ends of the tunnel
(the RF-active hub and the branch). With stateful failover the active hub
then sends the new SA to its STANDBY HOT peer over the IPC link; until it
lands (REKEY_SYNC_SECONDS later) the standby keeps its copies of the previous
pair, so a rekey never leaves the standby without a copy toward a peer. When
the pair's SA sync is lost (scenario sync-loss) the standby gets nothing.

`maintain_sas` does whatever is due and says when to look again; the lab
runs it on its event loop (Lab._keep_sas), so no timer per tunnel exists.
"""

from __future__ import annotations

import math
import random

from ipsec_ha_monitor.lab.router import RF_ACTIVE, RF_STANDBY_HOT, PacketCounter, Router, TunnelSa
from ipsec_ha_monitor.lab.topology import LabPair, copy_sa, new_spis

REKEY_SYNC_SECONDS = 3.0  # a new SA reaches the STANDBY HOT hub this long after the rekey
# A rekey due while no hub serves the pair's SAs (between a reload and the
# take-over): look again this soon.
RETRY_SECONDS = 1.0
# Never sleep longer than this (lab seconds): a safety net should a scenario
# make something due sooner than the last pass expected.
MAX_WAIT_SECONDS = 60.0


def serving_hub(pair: LabPair) -> Router | None:
    """The hub holding the pair's active SAs: RF ACTIVE and running."""
    for hub in pair.hubs:
        if hub.reachable and hub.rf_my == RF_ACTIVE:
            return hub
    return None


def syncs_to(pair: LabPair, standby: Router) -> bool:
    """Whether SAs set up on the RF-active hub reach `standby` now."""
    return pair.sa_sync and standby.reachable and standby.rf_my == RF_STANDBY_HOT and standby.communications_up


def maintain_sas(pair: LabPair, now: float, rng: random.Random) -> float:
    """Rekey the tunnels whose lifetime is over and sync the standby copies
    that are due; returns the lab time when something is due next."""
    wake = now + MAX_WAIT_SECONDS
    active = serving_hub(pair)
    if active is None:
        waiting = any(branch.tunnels[pair.virtual_ip].installed for branch in pair.branches)
        return now + RETRY_SECONDS if waiting else wake
    for branch in pair.branches:
        wake = min(wake, _maintain_tunnel(pair, active, branch, now, rng))
    return wake


def _maintain_tunnel(pair: LabPair, active: Router, branch: Router, now: float, rng: random.Random) -> float:
    tunnel, remote = active.tunnels[branch.outside_ip], branch.tunnels[pair.virtual_ip]
    if not (tunnel.installed and tunnel.status == "ACTIVE" and remote.installed):
        return math.inf  # nothing to rekey: the tunnel is down (sa-loss, preempt)
    due = tunnel.installed_at + tunnel.lifetime_seconds
    if now >= due:
        inbound, outbound = new_spis(rng)
        renew(tunnel, inbound, outbound, now)
        renew(remote, outbound, inbound, now)
        due = now + tunnel.lifetime_seconds
    return min(due, _sync_copy(pair, active, branch.outside_ip, now))


def _sync_copy(pair: LabPair, active: Router, peer: str, now: float) -> float:
    """The standby's copy toward `peer` follows the active SA once it is
    REKEY_SYNC_SECONDS old; meanwhile it keeps the previous one."""
    standby = pair.peer_of(active)
    source, copy = active.tunnels[peer], standby.tunnels[peer]
    if not syncs_to(pair, standby) or (copy.inbound_spi, copy.outbound_spi) == (
        source.inbound_spi,
        source.outbound_spi,
    ):
        return math.inf
    due = source.installed_at + REKEY_SYNC_SECONDS
    if now < due:
        return due
    copy_sa(copy, source)
    return math.inf


def renew(tunnel: TunnelSa, inbound: int, outbound: int, now: float) -> None:
    """A new SA pair replaces the tunnel's: new SPIs, and counters that start
    from zero (as a new SA's do) at the rates the old ones ran."""
    tunnel.inbound_spi, tunnel.outbound_spi, tunnel.installed_at = inbound, outbound, now
    tunnel.encaps, tunnel.decaps = _restart(tunnel.encaps, now), _restart(tunnel.decaps, now)
    tunnel.send_errors, tunnel.recv_errors = _restart(tunnel.send_errors, now), _restart(tunnel.recv_errors, now)


def _restart(counter: PacketCounter, now: float) -> PacketCounter:
    return PacketCounter(0, counter.rate, now)
