"""The state of one simulated router: everything its show commands print.

Plain data plus a few verbs (change an HSRP state, reload, start/stop the
traffic of an SA). Who changes what, and when, is the scenarios' business
(scenarios.py); what the state looks like on a terminal is outputs.py's.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ipsec_ha_monitor.rf_states import ACTIVE, DISABLED, STANDBY_HOT

# HSRP state words as `show standby` prints them.
HSRP_WORDS = {
    "init": "Init",
    "learn": "Learn",
    "listen": "Listen",
    "speak": "Speak",
    "standby": "Standby",
    "active": "Active",
}
RF_ACTIVE, RF_STANDBY_HOT, RF_DISABLED = ACTIVE, STANDBY_HOT, DISABLED

if TYPE_CHECKING:
    from ipsec_ha_monitor.lab.xe_group import LabRedundancyGroup


class Clock:
    """Lab time in seconds. `time_scale` lab seconds pass per real second, so
    a failover that takes minutes on real routers plays out in seconds."""

    def __init__(self, time_scale: float = 1.0, start: float = 0.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self._start = start
        self._real_start = time.monotonic()

    def now(self) -> float:
        return self._start + (time.monotonic() - self._real_start) * self.time_scale


@dataclass
class LabHsrpGroup:
    interface: str
    group: int
    name: str
    virtual_ip: str
    priority: int
    preempt: bool = False
    state: str = "init"
    state_changes: int = 0
    last_change: float = 0.0
    active_router: str | None = None  # "local", a peer address, or None (unknown)
    active_priority: int | None = None
    standby_router: str | None = None
    standby_priority: int | None = None


@dataclass
class PacketCounter:
    """A packet counter that grows at `rate` per lab second while running."""

    base: int = 0
    rate: float = 0.0
    since: float = 0.0

    def value(self, now: float) -> int:
        return self.base + int(self.rate * max(0.0, now - self.since))

    def set_rate(self, now: float, rate: float) -> None:
        self.base, self.rate, self.since = self.value(now), rate, now


@dataclass
class TunnelSa:
    """One branch tunnel as one router holds it: IKE SA, ESP SA pair, counters."""

    peer: str
    local_address: str
    local_net: str  # "192.168.1.0/255.255.255.0"
    remote_net: str
    conn_id: int
    inbound_spi: int = 0  # 0: no SA installed
    outbound_spi: int = 0
    status: str = "ACTIVE"  # ESP SA status: ACTIVE, or STANDBY on the standby hub
    isakmp_state: str | None = "QM_IDLE"  # None: no IKE SA
    isakmp_status: str = "ACTIVE"  # ACTIVE or STDBY
    # 1: the IKE SA is ISAKMP (show crypto isakmp sa); 2: IKEv2 (show crypto
    # ikev2 sa: READY for QM_IDLE, IN-NEG while negotiating).
    ike_version: int = 1
    ike_since: float = 0.0  # lab time the IKE SA came up (child SA rekeys keep it)
    session_status: str = "UP-ACTIVE"
    encaps: PacketCounter = field(default_factory=PacketCounter)
    decaps: PacketCounter = field(default_factory=PacketCounter)
    send_errors: PacketCounter = field(default_factory=PacketCounter)
    recv_errors: PacketCounter = field(default_factory=PacketCounter)
    lifetime_seconds: float = 3600.0  # lab seconds between rekeys (rekey.py)
    installed_at: float = 0.0  # lab time the SA pair was set up (a copy: when its original was)

    @property
    def installed(self) -> bool:
        return self.inbound_spi != 0


@dataclass
class Faults:
    """Misbehaviour to inject, for testing what polls a router. Clear by
    assigning a fresh Faults()."""

    no_prompt: bool = False  # logins succeed, the shell never prints a thing
    stall_output: bool = False  # show commands stop half way and never finish
    garbage: bool = False  # show commands print text no IOS prints
    slow_seconds: float = 0.0  # real seconds before each command's output
    missing_commands: frozenset[str] = frozenset()  # shows this image lacks ("show redundancy inter-device")
    early_prompt: bool = False  # a stray prompt ahead of each command's echo, as after an Enter typed ahead
    # AAA command authorization refuses `terminal length` (paging stays on) / `terminal width`
    refuse_terminal_length: bool = False
    refuse_terminal_width: bool = False
    banner: str = ""  # printed at login ahead of the first prompt (a MOTD may hold "#" and ">")
    # A login banner that never ends: no prompt ever comes (as fast as the channel takes it).
    endless_banner: bool = False
    # Show commands print plausible lines (their own output, over and over)
    # without end, as fast as the channel takes them, never a prompt ...
    endless_output: bool = False
    # ... or about this many bytes of them (> 0), then the prompt.
    huge_output_bytes: int = 0


@dataclass
class LabCredentials:
    username: str
    password: str
    enable_secret: str


@dataclass
class Router:
    name: str
    role: str  # "hub" or "branch"
    outside_ip: str
    credentials: LabCredentials
    clock: Clock
    image: str = "C7200-ADVIPSERVICESK9-M"
    version: str = "12.4(24)T"
    boot_time: float = -1_814_400.0  # up three weeks when the lab starts
    returned_to_rom_by: str = "reload"
    # cisco_ios: the 7200s of the article; cisco_xe: an IOS-XE box-to-box
    # member (xe_topology.py), whose redundancy group is `rg`. On such a
    # router rf_my / rf_peer are the group's RF state and its peer's, so the
    # SA machinery (rekey.py) serves the SAs from the ACTIVE member unchanged.
    platform: str = "cisco_ios"
    rg: LabRedundancyGroup | None = None
    last_reload_reason: str | None = None  # IOS-XE's `Last reload reason:` (None: not printed)
    outside_interface: str = "FastEthernet0/0"  # where the crypto map sits
    tunnel_address: str | None = None  # where branch tunnels end, when not an HSRP virtual IP
    reachable: bool = True  # False while reloading: SSH refuses connections
    # The router runs, but its management path is cut: SSH refuses connections
    # while RF, HSRP and the SAs carry on (scenario active-unreachable).
    management_cut: bool = False
    faults: Faults = field(default_factory=Faults)
    hsrp: list[LabHsrpGroup] = field(default_factory=list)
    rf_my: int = RF_ACTIVE
    rf_peer: int = RF_DISABLED
    duplex: bool = False
    communications_up: bool = False
    communications_reason: str | None = "Simplex mode"
    interdev_state: str | None = None  # RF_INTERDEV_STATE_* on a hub
    interdev_peer: str = "RF_INTERDEV_PEER_COMM"
    # Print `Peer present: <interdev_peer>` in show redundancy inter-device: a
    # line remembered from Cisco's guide that the one real sample lacks (off).
    interdev_peer_line: bool = False
    tunnels: dict[str, TunnelSa] = field(default_factory=dict)
    log: list[tuple[float, str]] = field(default_factory=list)
    # `show redundancy history`: (lab time, my, peer, my changed, peer changed)
    rf_history: list[tuple[float, int, int, bool, bool]] = field(default_factory=list)
    switchovers: int = 0
    # the last lines typed at any session, for audits (bounded: a poller types forever)
    commands_received: deque[str] = field(default_factory=lambda: deque(maxlen=2000))
    # Called with (router, lab time, message) for each message it logs: the
    # lab's syslog sender (syslog_sender.py).
    log_listeners: list[Callable[[Router, float, str], None]] = field(default_factory=list, repr=False, compare=False)

    def now(self) -> float:
        return self.clock.now()

    def syslog(self, message: str) -> None:
        now = self.now()
        self.log.append((now, message))
        del self.log[:-200]  # a bounded buffer, like `logging buffered`
        for listener in self.log_listeners:
            listener(self, now, message)

    def set_hsrp(self, group: LabHsrpGroup, state: str) -> None:
        if state == group.state:
            return
        self.syslog(
            f"%HSRP-5-STATECHANGE: {group.interface} Grp {group.group} state "
            f"{HSRP_WORDS[group.state]} -> {HSRP_WORDS[state]}"
        )
        group.state = state
        group.state_changes += 1
        group.last_change = self.now()

    def set_rf(self, my: int | None = None, peer: int | None = None) -> None:
        """Move the RF unit and/or peer state, as `show redundancy history` logs it."""
        new_my = self.rf_my if my is None else my
        new_peer = self.rf_peer if peer is None else peer
        if (new_my, new_peer) == (self.rf_my, self.rf_peer):
            return
        self.rf_history.append((self.now(), new_my, new_peer, new_my != self.rf_my, new_peer != self.rf_peer))
        del self.rf_history[:-100]
        reached_hot = new_my == RF_STANDBY_HOT and self.rf_my != RF_STANDBY_HOT
        self.rf_my, self.rf_peer = new_my, new_peer
        if reached_hot:  # the end of its RF progression, as IOS logs it
            self.syslog("%RF-5-RF_TERMINAL_STATE: Terminal state reached for (SSO)")

    def set_traffic(self, flowing: bool, packets_per_second: float = 20.0) -> None:
        """Start or stop the packets of every installed, active SA."""
        now = self.now()
        for tunnel in self.tunnels.values():
            rate = packets_per_second if flowing and tunnel.installed and tunnel.status == "ACTIVE" else 0.0
            tunnel.encaps.set_rate(now, rate)
            tunnel.decaps.set_rate(now, rate)

    def uptime_seconds(self) -> float:
        return self.now() - self.boot_time
