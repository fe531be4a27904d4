"""Typed records: what every parsed show command turns into.

These are the only shapes the rest of the product (health rules, exporter,
`check`) sees. Values are normalised: HSRP states are lower-case canonical
words, RF states are a code plus the name IOS printed, durations are seconds,
timers are milliseconds, counters are ints. A field the device did not print
is None (or an empty list), never a guessed default.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

# HSRP states as CISCO-HSRP-MIB names them, plus "disabled" which
# `show standby` prints for a group whose interface is down or unconfigured.
HSRP_STATES = ("init", "learn", "listen", "speak", "standby", "active")
# The My Role a box-to-box redundancy group prints on the member that owns
# the group's traffic (RedundancyGroup.my_role, upper-case as printed).
RG_ACTIVE = "ACTIVE"


@dataclass(frozen=True, slots=True)
class Record:
    """Base class: every record serialises to a plain JSON-able dict."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class RfState:
    """A Redundancy Facility state: the code IOS prints and its name."""

    code: int
    name: str


@dataclass(frozen=True, slots=True)
class TrackedObject:
    kind: str  # "object" or "interface"
    name: str
    state: str | None  # "Up", "Down" or None when IOS prints "(unknown)"
    decrement: int | None


@dataclass(frozen=True, slots=True)
class HsrpGroup(Record):
    """One `show standby` group block."""

    interface: str
    group: int
    version: int  # 1 or 2
    state: str  # one of HSRP_STATES or "disabled"
    state_detail: str | None  # e.g. "protocol not cfgd"
    state_changes: int | None
    last_state_change_seconds: int | None
    virtual_ip: str | None  # None when IOS prints "unknown"
    secondary_virtual_ips: list[str]
    virtual_ipv6: list[str]
    link_local_ipv6: str | None
    active_virtual_mac: str | None
    local_virtual_mac: str | None
    hello_time_ms: int | None
    hold_time_ms: int | None
    authentication: str | None  # type only (MD5, text); never the key
    preempt: bool
    preempt_delay_min_seconds: int | None
    preempt_delay_reload_seconds: int | None
    preempt_delay_sync_seconds: int | None
    active_router: str | None  # "local", an address, or None for unknown
    active_router_priority: int | None
    standby_router: str | None
    standby_router_priority: int | None
    priority: int
    configured_priority: int | None
    priority_is_default: bool
    tracked: list[TrackedObject]
    group_name: str | None
    group_name_configured: bool  # False when IOS generated "hsrp-<if>-<grp>"
    following: str | None


@dataclass(frozen=True, slots=True)
class HsrpBriefEntry(Record):
    """One `show standby brief` row."""

    interface: str
    group: int
    priority: int
    preempt: bool
    state: str
    active_router: str | None
    standby_router: str | None
    virtual_ip: str | None


@dataclass(frozen=True, slots=True)
class RedundancyStates(Record):
    """`show redundancy states`: the RF view of this unit and its peer."""

    my_state: RfState
    peer_state: RfState | None
    mode: str | None  # "Duplex" or "Simplex"
    duplex: bool | None
    unit: str | None
    unit_id: int | None
    redundancy_mode_operational: str | None
    redundancy_mode_configured: str | None
    redundancy_state: str | None
    redundancy_mode: str | None  # single-line form of old trains (AS5800)
    maintenance_mode: str | None
    manual_swact: str | None
    manual_swact_reason: str | None
    communications: str | None  # "Up" or "Down"
    communications_up: bool | None
    communications_reason: str | None
    client_count: int | None
    client_notification_timer_ms: int | None
    keep_alive_timer_ms: int | None
    keep_alive_count: int | None
    keep_alive_threshold: int | None
    rf_debug_mask: str | None


@dataclass(frozen=True, slots=True)
class InterDeviceRedundancy(Record):
    """`show redundancy inter-device`: the IPsec stateful failover link."""

    state_token: str  # verbatim, e.g. RF_INTERDEV_STATE_ACT
    state: str  # "active", "standby", "init" or the token when unknown
    scheme: str | None
    group_name: str | None
    group_state: str | None  # HSRP-like word as printed (Active, Standby, ...)
    peer_token: str | None  # verbatim, e.g. RF_INTERDEV_PEER_COMM
    peer_communicating: bool | None
    security: str | None


@dataclass(frozen=True, slots=True)
class RgPeer:
    """A peer line of an RG protocol block (`Active Peer:` / `Standby Peer:`):
    this box (`Local`), the other (address, priority, control interface),
    or nobody (`Not exist`)."""

    local: bool
    address: str | None
    priority: int | None
    interface: str | None


@dataclass(frozen=True, slots=True)
class RedundancyGroup(Record):
    """One IOS-XE box-to-box redundancy group, from `show redundancy
    application group all` (or `group <id>`): its faults, roles, RF domain,
    RG protocol and control-link (media) blocks. Roles and states are as
    IOS prints them (upper-case roles, `Standby-hot` protocol states); the
    RF states carry the codes of `show redundancy states`."""

    group_id: int
    group_name: str | None
    # "Faults states Group N info:"
    runtime_priority: int | None
    faults_state: str | None  # "Up" ("Up. " as printed)
    faults_up: bool | None
    fault_switchovers: int | None  # Total # of switchovers due to faults
    fault_down_ups: int | None  # Total # of down/up state changes due to faults
    # The group block
    administrative_state: str | None  # "No Shutdown" or "Shutdown"
    admin_up: bool | None
    operational_state: str | None  # "Aggregate operational state": Up, Down
    operational_up: bool | None
    my_role: str  # ACTIVE, STANDBY, INIT, ...
    peer_role: str | None  # ACTIVE, STANDBY, UNKNOWN, ...
    peer_present: bool | None
    peer_comm: bool | None
    peer_progression_started: bool | None
    rf_domain: str | None
    rf_state: RfState | None
    peer_rf_state: RfState | None
    # "RG Protocol RG N"
    protocol_role: str | None  # Active, Standby, Init
    negotiation: str | None  # Enabled, Disabled
    priority: int | None  # the configured priority
    protocol_state: str | None  # Active, Standby-hot, Standby-cold, Init, ...
    control_interface_state: str | None  # "Ctrl Intf(s) state": Up, Down
    control_interface_up: bool | None
    active_peer: RgPeer | None
    standby_peer: RgPeer | None
    role_changes_to_active: int | None
    role_changes_to_standby: int | None
    disable_events_rg_down: int | None
    disable_events_rg_shut: int | None
    control_interface_up_events: int | None
    control_interface_down_events: int | None
    control_interface_admin_down_events: int | None
    reload_requests_local: int | None  # reload events: local request
    reload_requests_peer: int | None  # reload events: peer request
    # "RG Media Context for RG N": the control link
    context_state: str | None  # Ctx State: Active, Standby, ...
    protocol_id: int | None
    media_type: str | None
    control_interface: str | None
    hello_timer_ms: int | None  # Current Hello timer
    configured_hello_timer_ms: int | None
    hold_timer_ms: int | None
    peer_hello_timer_ms: int | None
    peer_hold_timer_ms: int | None
    packets: int | None  # Stats: what this box sent
    packet_loss: int | None
    authentication: str | None  # "MD5 Authentication configured", "Authentication not configured"
    authentication_failures: int | None
    reload_peer_sent: int | None  # Reload Peer: TX
    reload_peer_received: int | None  # Reload Peer: RX
    resigns_sent: int | None  # Resign: TX
    resigns_received: int | None  # Resign: RX
    media_peer_role: str | None  # "Active" or "Standby" in "<role> Peer: Present. Hold Timer: N"
    media_peer_present: bool | None  # Present / Not Present
    media_peer_hold_timer_ms: int | None
    peer_packets: int | None  # the peer's hellos as received
    peer_packet_loss: int | None


@dataclass(frozen=True, slots=True)
class RedundancyGroupBrief(Record):
    """One row of the bare `show redundancy application group` table."""

    group_id: int
    group_name: str
    state: str  # ACTIVE, STANDBY, INIT, ... as printed


@dataclass(frozen=True, slots=True)
class RgInterface(Record):
    """One interface of `show redundancy application if-mgr group`: the
    virtual MAC and IP the group owns there and whether this box holds them
    (`no shut`: it answers for the VIP; `shut`: it does not)."""

    group_id: int
    interface: str
    vmac: str | None
    vip: str | None
    shut: bool | None  # None when the state is not printed
    decrement: int | None


@dataclass(frozen=True, slots=True)
class Redundancy(Record):
    """`show redundancy`: system, this processor and (if available) the peer."""

    system_uptime_seconds: int | None
    switchovers: int | None
    standby_failures: int | None
    last_switchover_reason: str | None
    hardware_mode: str | None
    configured_mode: str | None
    operating_mode: str | None
    maintenance_mode: str | None
    communications: str | None
    communications_reason: str | None
    my_role: str | None  # "active" or "standby"
    my_location: str | None
    my_software_state: str | None
    my_state_uptime_seconds: int | None
    my_image_version: str | None
    peer_role: str | None
    peer_location: str | None
    peer_software_state: str | None
    peer_state_uptime_seconds: int | None
    peer_available: bool
    peer_unavailable_slot: str | None
    peer_unavailable_state: str | None
    peer_unavailable_reason: str | None


@dataclass(frozen=True, slots=True)
class RedundancyHistoryEvent(Record):
    """One line of `show redundancy history`."""

    uptime_seconds: int | None  # time stamp of the event, as unit uptime
    time: str  # verbatim
    my_state: RfState | None
    peer_state: RfState | None
    my_state_changed: bool
    peer_state_changed: bool
    event: str | None  # non-state events, verbatim


@dataclass(frozen=True, slots=True)
class SwitchoverEvent(Record):
    """One row of `show redundancy switchover history` (IOS-XE)."""

    index: int
    previous_active: int
    current_active: int
    reason: str
    time: str


@dataclass(frozen=True, slots=True)
class EspSa:
    spi: str  # hex as IOS prints it, e.g. 0x658F7C11
    status: str | None  # e.g. ACTIVE, ACTIVE(ACTIVE), STANDBY
    active: bool
    lifetime_kilobytes: int | None
    lifetime_seconds: int | None

    @property
    def standby(self) -> bool:
        """A copy the RF-active unit synchronised to this standby unit
        (`Status: STANDBY`; a STANDBY in either part of XE's `X(Y)` form)."""
        return self.status is not None and "STANDBY" in self.status


@dataclass(frozen=True, slots=True)
class IpsecSa(Record):
    """One proxy (local/remote ident pair) of `show crypto ipsec sa`."""

    interface: str
    crypto_map: str | None
    local_address: str | None
    protected_vrf: str | None
    local_ident: str | None  # addr/mask/prot/port
    remote_ident: str | None
    peer: str
    peer_port: int | None
    pkts_encaps: int | None
    pkts_encrypt: int | None
    pkts_digest: int | None
    pkts_decaps: int | None
    pkts_decrypt: int | None
    pkts_verify: int | None
    send_errors: int | None
    recv_errors: int | None
    local_endpoint: str | None
    remote_endpoint: str | None
    current_outbound_spi: str | None
    inbound_esp: list[EspSa] = field(default_factory=list)
    outbound_esp: list[EspSa] = field(default_factory=list)

    @property
    def active_esp_sa_count(self) -> int:
        """Active inbound plus outbound ESP SAs (the contract's SA gauge)."""
        return sum(sa.active for sa in self.inbound_esp) + sum(sa.active for sa in self.outbound_esp)

    @property
    def standby_esp_sa_count(self) -> int:
        """Inbound plus outbound ESP SA copies held as the standby unit."""
        return sum(sa.standby for sa in self.inbound_esp) + sum(sa.standby for sa in self.outbound_esp)


@dataclass(frozen=True, slots=True)
class IsakmpSa(Record):
    """One row of `show crypto isakmp sa`."""

    address_family: str  # "ipv4" or "ipv6"
    dst: str
    src: str
    state: str  # QM_IDLE, MM_NO_STATE, ...
    conn_id: int | None
    slot: int | None
    status: str | None  # ACTIVE, STDBY, "ACTIVE (deleted)"; None on 12.2
    deleted: bool


@dataclass(frozen=True, slots=True)
class Ikev2Sa(Record):
    """One tunnel of `show crypto ikev2 sa` (and of its `detail` form): an
    IKEv2 SA. Algorithms are as IOS prints them; while an SA is still
    negotiating (IN-NEG) IOS prints "Unknown - 0" for them, read as None."""

    address_family: str  # "ipv4" or "ipv6"
    tunnel_id: int
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int  # 500, or 4500 behind NAT
    fvrf: str  # "none" when the tunnel uses the global table
    ivrf: str
    status: str  # READY, IN-NEG, DELETE, ... as printed
    encryption: str | None  # AES-CBC, AES-GCM, 3DES, ...
    keysize: int | None
    prf: str | None  # None on trains that print no PRF, and while IN-NEG
    hash: str | None  # "None" (printed) with AES-GCM
    dh_group: int
    auth_sign: str | None  # PSK, RSA, ...
    auth_verify: str | None
    quantum_resistant: bool  # ", QR" after Auth verify (post-quantum preshared key)
    pqc_key_exchange: str | None  # "PQC Key Exchange: ML-KEM-1024"
    lifetime_seconds: int
    active_seconds: int
    ce_id: int | None
    session_id: int | None
    local_spi: str | None  # the IKE SPIs, hex as printed
    remote_spi: str | None
    # `detail` only (None, or empty, in the brief form):
    status_description: str | None  # "Negotiation done"
    local_id: str | None
    remote_id: str | None
    initiator: bool | None
    remote_subnets: list[str] = field(default_factory=list)  # "10.0.0.0 255.0.0.0"

    @property
    def ready(self) -> bool:
        """Negotiation done: the SA protects the tunnel."""
        return self.status == "READY"


@dataclass(frozen=True, slots=True)
class IkeSa:
    version: str  # "IKE" (IKEv1 on older trains), "IKEv1", "IKEv2"
    local: str
    remote: str
    state: str  # Active, Inactive


@dataclass(frozen=True, slots=True)
class IpsecFlow:
    flow: str
    active_sas: int | None
    origin: str | None


@dataclass(frozen=True, slots=True)
class CryptoSession(Record):
    """One session block of `show crypto session`."""

    interface: str
    status: str  # UP-ACTIVE, UP-IDLE, UP-NO-IKE, DOWN-NEGOTIATING, DOWN, ...
    up: bool
    peer: str | None
    peer_port: int | None
    profile: str | None
    username: str | None
    group: str | None
    assigned_address: str | None
    session_id: int | None
    ike_sas: list[IkeSa]
    flows: list[IpsecFlow]
    active_sas: int  # sum over the flows


@dataclass(frozen=True, slots=True)
class Version(Record):
    """The reload-relevant part of `show version`."""

    hostname: str
    software_image: str | None
    software_version: str | None
    uptime: str  # verbatim
    uptime_seconds: int  # minute resolution: IOS prints no seconds
    reload_reason: str | None  # "Last reload reason", else "returned to ROM by"
    returned_to_rom_by: str | None  # without the " at <time>" suffix
    last_reload_type: str | None
    restarted_at: str | None


@dataclass(frozen=True, slots=True)
class LogMessage(Record):
    """One syslog message of `show logging` (or console output pasted from a
    terminal): "%FACILITY-SEVERITY-MNEMONIC: text"."""

    sequence: int | None  # "000123: " service sequence-numbers, when printed
    timestamp: str | None  # as printed, without the ": " after it ("*Mar  1 00:05:12.123")
    facility: str  # RF_INTERDEV, HSRP, LINK-SP (sub-facility kept)
    severity: int  # 0 (emergencies) .. 7 (debugging)
    mnemonic: str
    text: str  # what follows "%FAC-SEV-MNEMONIC: " on its line
    message: str  # "%FAC-SEV-MNEMONIC: text" as printed
    continuation: list[str] = field(default_factory=list)  # following lines of the same message
