"""The state of one IOS-XE box-to-box redundancy group on one lab router:
everything `show redundancy application group all` and `show redundancy
application if-mgr group` print, apart from the RF states, which are the
router's own rf_my / rf_peer (router.py: one group per box in the lab).

Plain data. Who changes it, and when, is xe_topology.py's and
xe_scenarios.py's business; what it looks like is xe_outputs.py's.

Counters: the `Log counters` of the RG protocol block (role changes,
disable, control interface and reload events) survive a reload of the box,
as the real IOS-XE sample shows (8 local reload requests on a box that is
up); the control-link statistics (packets, loss, authentication failures,
resigns) and the fault counters start from zero at each boot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ipsec_ha_monitor.lab.router import PacketCounter

# Roles as the RG protocol block prints them ("My Role" prints them upper-case).
ROLE_ACTIVE, ROLE_STANDBY, ROLE_INIT = "Active", "Standby", "Init"
HELLO_MS, HOLD_MS = 3000, 9000  # IOS-XE's defaults: `timers hellotime 3 holdtime 9`
# Hello packets a box sends per lab second, and the bytes each takes (what
# the Stats line's Bytes grow by, per packet sent and received).
HELLOS_PER_SECOND = 1000.0 / HELLO_MS
HELLO_BYTES, PEER_HELLO_BYTES = 62, 34


@dataclass
class LabRgInterface:
    """One interface with `redundancy group <id> ip <vip> exclusive` and
    `redundancy group <id> decrement <n>`: the box answers for the VIP
    while it `owns` it (if-mgr: "no shut"), and its runtime priority drops
    by `decrement` while the interface is down."""

    interface: str
    vip: str
    vmac: str
    decrement: int = 10
    owned: bool = False
    up: bool = True


@dataclass
class LabRedundancyGroup:
    group_id: int = 1
    name: str = "RG-IPSEC"
    rf_domain: str = "btob-one"
    priority: int = 100  # configured (`priority 150`)
    preempt: bool = False  # `preempt` under the group: never printed, only acted on
    control_interface: str = "GigabitEthernet0/0/2"
    authentication: str = "MD5 Authentication configured"
    role: str = ROLE_INIT
    admin_up: bool = True  # `no shutdown` under the group
    faults_up: bool = True  # RG Faults RG State
    control_up: bool = True  # Ctrl Intf(s) state
    # What this box knows of its peer (None: nobody is there).
    peer_role: str | None = None
    peer_present: bool = False
    peer_comm: bool = False
    peer_address: str | None = None
    peer_priority: int | None = None
    # Faults block (from zero at boot).
    fault_switchovers: int = 0
    fault_down_ups: int = 0
    # RG protocol log counters (kept across reloads).
    role_to_active: int = 0
    role_to_standby: int = 0
    disable_rg_down: int = 0
    disable_rg_shut: int = 0
    ctrl_up_events: int = 0
    ctrl_down_events: int = 0
    ctrl_admin_down_events: int = 0
    reload_local: int = 0  # reload events: local request (the group reloaded this box)
    reload_peer: int = 0  # reload events: peer request
    # Media (control link) statistics (from zero at boot).
    hellos: PacketCounter = field(default_factory=PacketCounter)
    peer_hellos: PacketCounter = field(default_factory=PacketCounter)
    packet_loss: int = 0
    peer_packet_loss: int = 0
    auth_failures: int = 0
    reload_peer_tx: int = 0
    reload_peer_rx: int = 0
    resign_tx: int = 0
    resign_rx: int = 0
    interfaces: list[LabRgInterface] = field(default_factory=list)

    @property
    def runtime_priority(self) -> int:
        """The configured priority less the decrement of each interface down."""
        return max(0, self.priority - sum(i.decrement for i in self.interfaces if not i.up))

    @property
    def operational_up(self) -> bool:
        """The aggregate operational state: up while the group runs without a fault."""
        return self.admin_up and self.faults_up

    def restart_media(self, now: float) -> None:
        """A boot: the control-link statistics and fault counters start from zero."""
        self.hellos, self.peer_hellos = PacketCounter(0, HELLOS_PER_SECOND, now), PacketCounter(0, 0.0, now)
        self.packet_loss = self.peer_packet_loss = self.auth_failures = 0
        self.reload_peer_tx = self.reload_peer_rx = self.resign_tx = self.resign_rx = 0
        self.fault_switchovers = self.fault_down_ups = 0
