"""Snapshots and pair health -> Prometheus metric families.

The `ipsecha_` names (README "Metrics") are a contract with dashboards,
alert rules and users' queries; METRICS below is the one place each name,
type, help text and label set is written down.

Staleness rule: a series comes only from a command that ran and parsed in
the device's latest poll. When a command failed, its series are dropped
(never last poll's values presented as fresh); `ipsecha_device_up` is 0,
`ipsecha_command_success` says which command failed, and
`ipsecha_data_age_seconds` says how old the poll is (on the monotonic
clock, in product seconds: ipsec_ha_monitor/clock.py). Counters kept by the
exporter (`ipsecha_reloads_total`, `ipsecha_rg_takeovers_total`, from 0) and
what the inventory says (`ipsecha_ipsec_sa_active` 0 for an expected peer
while a hub that answered has no SA toward it, `ipsecha_rg_failover_threshold`,
`ipsecha_pair_info`) stay, so alerts never depend on a series vanishing. The
box-to-box group series (`ipsecha_rg_*`) come from show redundancy
application group all, the VIP ownership from its if-mgr form: each only
from its own command's latest answer.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ipsec_ha_monitor.health import VERDICTS, PairHealth
from ipsec_ha_monitor.health_b2b import TAKEOVER_CAUSES
from ipsec_ha_monitor.inventory import B2B, Device, Inventory
from ipsec_ha_monitor.records import HSRP_STATES, RedundancyGroup, RgInterface
from ipsec_ha_monitor.reloads import RELOAD_CAUSES, boot_estimate, boot_label, reload_cause
from ipsec_ha_monitor.rf_states import RF_STATE_NAMES
from ipsec_ha_monitor.snapshot import Snapshot, Status
from ipsec_ha_monitor.syslog.receiver import DROP_REASONS, SyslogCounts
from ipsec_ha_monitor.syslog.watched import LABELS as SYSLOG_LABELS

log = logging.getLogger(__name__)

DEVICE = ("device", "pair")
HSRP_GROUP = (*DEVICE, "interface", "group")
PEER = (*DEVICE, "peer")
RG = (*DEVICE, "group")  # an IOS-XE box-to-box redundancy group on one member
# The roles a redundancy group's state set always carries (IOS prints them
# upper-case); any other role printed is added to the set, lower-cased.
RG_ROLES = ("init", "standby", "active")
# Why a member took the ACTIVE role of a group from its peer (the health
# rules' RgHistory tells): counted per (pair, group, cause) from 0.
RG_TAKEOVER_CAUSES = TAKEOVER_CAUSES
# Every RF state code and its name, from the one table (ipsec_ha_monitor/rf_states.py).
_RF_CODES = ", ".join(f"{code} {name}" for code, name in sorted(RF_STATE_NAMES.items()))


@dataclass(frozen=True)
class MetricSpec:
    """A metric as scraped: its name (the METRICS key) ends in _total for a
    counter and _info for an info metric."""

    kind: str  # gauge, counter, info (written as a gauge)
    help: str
    labels: tuple[str, ...]


METRICS: dict[str, MetricSpec] = {
    # --- the contract (SPEC.md) ---
    "ipsecha_device_up": MetricSpec(
        "gauge", "1 when the last poll reached the device and every command ran and parsed", DEVICE
    ),
    "ipsecha_poll_duration_seconds": MetricSpec("gauge", "Wall time of the device's last poll", DEVICE),
    "ipsecha_hsrp_state": MetricSpec(
        "gauge", "HSRP group state: 1 for the current state, 0 for the others", (*HSRP_GROUP, "group_name", "state")
    ),
    "ipsecha_hsrp_priority": MetricSpec("gauge", "HSRP priority of the group on this device", HSRP_GROUP),
    "ipsecha_hsrp_preempt": MetricSpec("gauge", "1 when preemption is enabled on the HSRP group", HSRP_GROUP),
    "ipsecha_redundancy_my_state": MetricSpec("gauge", f"RF unit state code as IOS prints it: {_RF_CODES}", DEVICE),
    "ipsecha_redundancy_peer_state": MetricSpec("gauge", f"RF peer state code as IOS prints it: {_RF_CODES}", DEVICE),
    "ipsecha_redundancy_duplex": MetricSpec("gauge", "1 when the redundancy mode is Duplex", DEVICE),
    "ipsecha_redundancy_communications_up": MetricSpec("gauge", "1 when RF Communications = Up", DEVICE),
    "ipsecha_uptime_seconds": MetricSpec("gauge", "Uptime from show version (minute resolution)", DEVICE),
    "ipsecha_reloads_total": MetricSpec(
        "counter",
        "Reloads seen by this exporter since it started; expected=false unless an operator reload without a switchover",
        (*DEVICE, "expected"),
    ),
    "ipsecha_ipsec_sa_active": MetricSpec(
        "gauge", "Active inbound+outbound ESP SAs toward the peer (0 for an expected peer without any)", PEER
    ),
    # --- beyond the contract ---
    "ipsecha_ipsec_sa_standby": MetricSpec(
        "gauge",
        "Standby copies of inbound+outbound ESP SAs toward the peer, synchronised from the RF-active unit "
        "(0 for an expected peer without any)",
        PEER,
    ),
    "ipsecha_reloads_by_cause_total": MetricSpec(
        "counter",
        "Reloads seen by this exporter since it started, by cause (operator, rf_self_reload, crash, power, unknown)",
        (*DEVICE, "cause"),
    ),
    "ipsecha_ipsec_peer_expected": MetricSpec(
        "gauge", "1 for each branch peer the inventory's expected_peers lists for this device", PEER
    ),
    "ipsecha_data_age_seconds": MetricSpec(
        "gauge",
        "Seconds since the device's last poll ended (monotonic; keeps growing while polls stop; "
        "product seconds under --time.scale)",
        DEVICE,
    ),
    "ipsecha_command_success": MetricSpec(
        "gauge", "1 when the command ran and parsed in the device's last poll", (*DEVICE, "command")
    ),
    "ipsecha_command_status": MetricSpec(
        "gauge",
        f"Outcome of the command in the last poll ({', '.join(status.value for status in Status)}), always 1",
        (*DEVICE, "command", "status"),
    ),
    "ipsecha_hsrp_state_changes_total": MetricSpec(
        "counter", "HSRP state changes IOS counted for the group (resets when the device reloads)", HSRP_GROUP
    ),
    "ipsecha_hsrp_last_state_change_seconds": MetricSpec(
        "gauge", "Seconds since the HSRP group last changed state, as IOS shows it", HSRP_GROUP
    ),
    "ipsecha_redundancy_interdevice_state": MetricSpec(
        "gauge", "Inter-device redundancy state: 1 for the current one", (*DEVICE, "state")
    ),
    "ipsecha_redundancy_interdevice_peer_communicating": MetricSpec(
        "gauge", "1 when show redundancy inter-device reports the peer communicating", DEVICE
    ),
    "ipsecha_redundancy_stateful_group_info": MetricSpec(
        "info",
        "The HSRP group carrying the stateful failover: the pair's stateful_group in the inventory, "
        "else the one `scheme standby` names in show redundancy inter-device",
        (*DEVICE, "group_name"),
    ),
    "ipsecha_redundancy_scheme_info": MetricSpec(
        "info",
        "The HSRP group the device's own `scheme standby` names, as show redundancy inter-device prints it "
        "(IpsechaStatefulGroupInconsistent compares it with ipsecha_redundancy_stateful_group_info)",
        (*DEVICE, "group_name"),
    ),
    "ipsecha_isakmp_sas": MetricSpec(
        "gauge",
        "ISAKMP (IKEv1) SAs by state and status (active, standby: a copy on the standby unit, deleted, "
        "or empty where IOS prints no status column)",
        (*DEVICE, "state", "status"),
    ),
    "ipsecha_ikev2_sas": MetricSpec(
        "gauge",
        "IKEv2 SAs by status as IOS prints it, lower-cased (ready, in-neg, delete, ...); status=ready is "
        "written, 0 included, whenever show crypto ikev2 sa answered",
        (*DEVICE, "status"),
    ),
    "ipsecha_ikev2_sa_ready": MetricSpec(
        "gauge", "1 when an IKEv2 SA toward the peer is READY, 0 when its IKEv2 SAs are all still negotiating", PEER
    ),
    "ipsecha_crypto_session_up": MetricSpec(
        "gauge", "1 when show crypto session reports the session toward the peer UP", PEER
    ),
    "ipsecha_crypto_session_standby": MetricSpec(
        "gauge", "1 when the session toward the peer is a standby copy (UP-STANDBY) on the standby unit", PEER
    ),
    "ipsecha_crypto_session_status": MetricSpec(
        "gauge",
        "Crypto session status toward the peer as IOS prints it (UP-ACTIVE, DOWN, ...), always 1",
        (*PEER, "status"),
    ),
    "ipsecha_ipsec_packets_encrypted_total": MetricSpec(
        "counter", "Packets encrypted toward the peer (#pkts encrypt); resets with the SA or a reload", PEER
    ),
    "ipsecha_ipsec_packets_decrypted_total": MetricSpec(
        "counter", "Packets decrypted from the peer (#pkts decrypt); resets with the SA or a reload", PEER
    ),
    "ipsecha_ipsec_send_errors_total": MetricSpec("counter", "IPsec send errors toward the peer", PEER),
    "ipsecha_ipsec_receive_errors_total": MetricSpec("counter", "IPsec receive errors from the peer", PEER),
    "ipsecha_reload_info": MetricSpec(
        "info",
        "The current boot: last reload reason and 'returned to ROM by' from show version, its cause "
        "(operator, rf_self_reload, crash, power, unknown; from the device's log where it kept the reload "
        "message) and when it began (boot: UTC, to the minute, or to the second and below under --time.scale; "
        "new with each reload, never the previous boot's)",
        (*DEVICE, "reason", "returned_to_rom_by", "cause", "boot"),
    ),
    "ipsecha_pair_rf_active_members": MetricSpec("gauge", "Members of the pair that are RF ACTIVE", ("pair",)),
    "ipsecha_pair_hsrp_active_members": MetricSpec(
        "gauge", "Members of the pair that are HSRP active on the stateful group", ("pair",)
    ),
    "ipsecha_pair_verdict": MetricSpec(
        "gauge",
        "Pair verdict from the health rules: 1 for the current one (" + ", ".join(VERDICTS) + ")",
        ("pair", "verdict"),
    ),
    "ipsecha_pair_rule_ok": MetricSpec(
        "gauge",
        "1 when the health rule holds for the pair, 0 when it fails (absent when it cannot be judged)",
        ("pair", "rule"),
    ),
    "ipsecha_pair_info": MetricSpec(
        "info",
        "The inventory's pair and its mode (classic: HSRP + SSO inter-device; b2b: IOS-XE box-to-box)",
        ("pair", "mode"),
    ),
    # --- IOS-XE box-to-box redundancy groups (show redundancy application group all, if-mgr group) ---
    "ipsecha_rg_role": MetricSpec(
        "gauge",
        "The redundancy group's My Role on this member: 1 for the current role, 0 for the others "
        f"({', '.join(RG_ROLES)}, and any other role printed, lower-cased)",
        (*RG, "role"),
    ),
    "ipsecha_rg_peer_role": MetricSpec(
        "gauge",
        "The redundancy group's Peer Role as this member reports it: 1 for the current role, 0 for the others",
        (*RG, "role"),
    ),
    "ipsecha_rg_rf_state": MetricSpec(
        "gauge", f"The group's RF state on this member, as show redundancy states codes it: {_RF_CODES}", RG
    ),
    "ipsecha_rg_peer_rf_state": MetricSpec(
        "gauge", f"The group's Peer RF state as this member reports it: {_RF_CODES}", RG
    ),
    "ipsecha_rg_peer_present": MetricSpec("gauge", "1 when the member reports Peer Presence: Yes", RG),
    "ipsecha_rg_peer_comm": MetricSpec("gauge", "1 when the member reports Peer Comm: Yes", RG),
    "ipsecha_rg_peer_progression_started": MetricSpec(
        "gauge", "1 when the member reports Peer Progression Started: Yes", RG
    ),
    "ipsecha_rg_admin_up": MetricSpec("gauge", "1 when the group's Administrative State is No Shutdown", RG),
    "ipsecha_rg_oper_up": MetricSpec("gauge", "1 when the group's Aggregate operational state is Up", RG),
    "ipsecha_rg_faults_up": MetricSpec("gauge", "1 when the group's RG Faults RG State is Up", RG),
    "ipsecha_rg_control_interface_up": MetricSpec("gauge", "1 when the RG protocol's Ctrl Intf(s) state is Up", RG),
    "ipsecha_rg_runtime_priority": MetricSpec(
        "gauge", "The group's runtime priority (the configured one less the decrements of tracked objects down)", RG
    ),
    "ipsecha_rg_priority": MetricSpec("gauge", "The group's configured priority (RG Protocol block)", RG),
    "ipsecha_rg_failover_threshold": MetricSpec(
        "gauge",
        "The inventory's failover_threshold for the group (`priority N failover threshold T`, which no show "
        "command prints); absent when none is given",
        ("pair", "group"),
    ),
    "ipsecha_rg_role_changes_total": MetricSpec(
        "counter", "Role changes the group's log counters hold, by the role taken (active, standby)", (*RG, "to")
    ),
    "ipsecha_rg_fault_switchovers_total": MetricSpec("counter", "Switchovers of the group due to faults", RG),
    "ipsecha_rg_fault_state_changes_total": MetricSpec(
        "counter", "Down/up state changes of the group due to faults", RG
    ),
    "ipsecha_rg_reload_requests_total": MetricSpec(
        "counter",
        "Reload events of the group's log counters, by origin (local: this member's own request, peer: its peer's)",
        (*RG, "origin"),
    ),
    "ipsecha_rg_control_interface_events_total": MetricSpec(
        "counter", "Control interface events of the group's log counters (up, down, admin_down)", (*RG, "event")
    ),
    "ipsecha_rg_disable_events_total": MetricSpec(
        "counter", "Disable events of the group's log counters, by cause (rg_down, rg_shut)", (*RG, "cause")
    ),
    "ipsecha_rg_hello_packets_lost_total": MetricSpec(
        "counter",
        "Hello packets lost on the control link (Pkt Loss), by side: local (this member's stats), peer (the "
        "peer's hellos as received)",
        (*RG, "side"),
    ),
    "ipsecha_rg_authentication_failures_total": MetricSpec(
        "counter", "Authentication failures of hellos on the control link", RG
    ),
    "ipsecha_rg_resigns_total": MetricSpec(
        "counter", "Resign messages on the control link, by direction (sent, received)", (*RG, "direction")
    ),
    "ipsecha_rg_hello_interval_seconds": MetricSpec(
        "gauge", "The control link's current hello timer (printed in milliseconds)", RG
    ),
    "ipsecha_rg_hold_time_seconds": MetricSpec("gauge", "The control link's hold timer (printed in milliseconds)", RG),
    "ipsecha_rg_vip_owned": MetricSpec(
        "gauge",
        "1 when the group's virtual IP on the interface is `no shut` on this member (it answers for the VIP), "
        "0 when `shut` (show redundancy application if-mgr group)",
        (*RG, "interface", "vip"),
    ),
    "ipsecha_rg_info": MetricSpec(
        "info",
        "The redundancy group: its name, RF domain and control interface as the member prints them",
        (*RG, "group_name", "rf_domain", "control_interface"),
    ),
    "ipsecha_rg_takeovers_total": MetricSpec(
        "counter",
        "Times a member took the group's ACTIVE role from its peer, seen by this exporter since it started, by "
        f"cause ({', '.join(RG_TAKEOVER_CAUSES)}; preempt: only `preempt` under the group explains it)",
        ("pair", "group", "cause"),
    ),
}
# The syslog receiver's families (serve --syslog.listen-address,
# ipsec_ha_monitor/syslog/): on the page only while it runs.
SYSLOG_METRICS: dict[str, MetricSpec] = {
    "ipsecha_syslog_messages_total": MetricSpec(
        "counter",
        "Syslog messages received from the device, by watched mnemonic (other: any message that polls nothing)",
        (*DEVICE, "mnemonic"),
    ),
    "ipsecha_syslog_dropped_total": MetricSpec("counter", "Syslog messages dropped unread, by reason", ("reason",)),
    "ipsecha_syslog_last_watched_message_timestamp_seconds": MetricSpec(
        "gauge", "When the device's last watched syslog message came (Unix time)", DEVICE
    ),
    "ipsecha_syslog_triggered_polls_total": MetricSpec(
        "counter", "Polls of the device that its pair's syslog messages moved earlier (or added)", DEVICE
    ),
}


def render_syslog(counts: SyslogCounts, inventory: Inventory) -> bytes:
    """The syslog receiver's families. A pair member's messages series
    exist from 0 for every mnemonic label (Prometheus sees its first
    message as an increase); other devices' once they sent one. Devices no
    longer in the inventory are left out."""
    messages = dict(counts.messages)
    for name, member in inventory.devices.items():
        if member.pair is not None:
            for label in SYSLOG_LABELS:
                messages.setdefault((name, label), 0)
    out = _Lines(SYSLOG_METRICS)
    for (device, label), value in sorted(messages.items()):
        if device in inventory.devices:
            labels = f'{_device_labels(device, inventory.pair_of(device))},mnemonic="{escape_label(label)}"'
            out.add("ipsecha_syslog_messages_total", labels, value)
    for reason in DROP_REASONS:
        out.add("ipsecha_syslog_dropped_total", f'reason="{reason}"', counts.dropped.get(reason, 0))
    per_device: tuple[tuple[str, Mapping[str, float]], ...] = (
        ("ipsecha_syslog_last_watched_message_timestamp_seconds", counts.last_watched),
        ("ipsecha_syslog_triggered_polls_total", counts.polls),
    )
    for name, values in per_device:
        for device, reading in sorted(values.items()):
            if device in inventory.devices:
                out.add(name, _device_labels(device, inventory.pair_of(device)), reading)
    return out.text()


_INTERDEVICE_STATES = ("active", "standby", "init")


@dataclass(frozen=True)
class ExportView:
    """What one scrape shows: the latest snapshot per device (all of the
    inventory for /metrics, one device for /probe), the pairs judged from
    them, and the reload counts since the exporter started."""

    inventory: Inventory
    snapshots: Mapping[str, Snapshot]
    pairs: Sequence[PairHealth] = ()
    reloads: Mapping[tuple[str, bool], int] = field(default_factory=dict)  # (device, expected) -> count
    now: float = 0.0  # Clock.monotonic() at the scrape (0: unknown, data age 0), what snapshots are aged against
    reload_causes: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (device, cause) -> count
    booted_at: Mapping[str, float] = field(default_factory=dict)  # device -> Unix time its current boot began
    scale: float = 1.0  # the clock's --time.scale: the boot label's resolution, uptimes in wall seconds
    # Box-to-box takeovers seen by the exporter: (pair, group id, cause) -> count
    # (RgHistory.takeovers() of ipsec_ha_monitor/health_b2b.py).
    rg_takeovers: Mapping[tuple[str, int, str], int] = field(default_factory=dict)
    # device -> the cause its current boot's reload was recorded with
    # (ReloadTracker.boot_causes): what a later poll of that boot cannot tell
    # again (rg_reload is read from counters across the reload).
    boot_causes: Mapping[str, str] = field(default_factory=dict)


def render(view: ExportView) -> bytes:
    """The Prometheus text exposition (format 0.0.4) of `view`: every
    family in METRICS order, each with HELP and TYPE, samples or not.

    Written directly rather than through prometheus_client's collectors:
    at 1,000 devices those cost about 10 us per sample, several times the
    whole budget of a scrape (bench/scrape_bench.py)."""
    out = _Lines()
    for name, snapshot in view.snapshots.items():
        device = view.inventory.devices.get(name)
        if device is not None:
            _device(out, snapshot, device, view, view.booted_at.get(name))
    # Every device's reload counters from 0, so that Prometheus sees the
    # first reload as an increase (a series born at 1 shows none).
    for name in view.snapshots:
        if name not in view.inventory.devices:
            continue
        base = _device_labels(name, view.inventory.pair_of(name))
        for expected in (False, True):
            count = view.reloads.get((name, expected), 0)
            out.add("ipsecha_reloads_total", f'{base},expected="{str(expected).lower()}"', count)
        for cause in RELOAD_CAUSES:
            out.add(
                "ipsecha_reloads_by_cause_total", f'{base},cause="{cause}"', view.reload_causes.get((name, cause), 0)
            )
    for pair in view.pairs:
        _pair(out, pair)
    _pairs_of_inventory(out, view)
    return out.text()


def _pairs_of_inventory(out: _Lines, view: ExportView) -> None:
    """What the inventory and the exporter's own history say of each pair
    with a member in the view: its mode; for a box-to-box pair each watched
    group's failover threshold and takeovers (from 0: Prometheus sees the
    first one as an increase). Not from a poll: they stay when polls fail."""
    inventory = view.inventory
    # The pairs of the view's devices only: a /probe renders one device's pair, not the fleet's.
    names = {inventory.pair_of(name) for name in view.snapshots if name in inventory.devices}
    for pair in sorted((inventory.pairs[name] for name in names if name in inventory.pairs), key=inventory.rank):
        labels = f'pair="{escape_label(pair.name)}"'
        out.add("ipsecha_pair_info", f'{labels},mode="{escape_label(pair.mode)}"', 1)
        if pair.mode != B2B:
            continue
        for watch in pair.watched_groups:
            group = f'{labels},group="{watch.id}"'
            if watch.failover_threshold is not None:
                out.add("ipsecha_rg_failover_threshold", group, watch.failover_threshold)
            for cause in RG_TAKEOVER_CAUSES:
                out.add(
                    "ipsecha_rg_takeovers_total",
                    f'{group},cause="{cause}"',
                    view.rg_takeovers.get((pair.name, watch.id, cause), 0),
                )


def render_probe_result(success: bool, duration_seconds: float) -> bytes:
    """What blackbox_exporter adds to every /probe answer: whether the probe
    worked (here: the device was reached and every command ran and parsed)
    and how long the probe took."""
    return (
        "# HELP probe_success 1 when the device was reached and every command ran and parsed\n"
        "# TYPE probe_success gauge\n"
        f"probe_success {1 if success else 0}\n"
        "# HELP probe_duration_seconds How long the probe took\n"
        "# TYPE probe_duration_seconds gauge\n"
        f"probe_duration_seconds {_number(max(0.0, duration_seconds))}\n"
    ).encode()


class _Lines:
    """Sample lines gathered per family of `families` (METRICS, the
    exporter's page), then written family by family."""

    def __init__(self, families: Mapping[str, MetricSpec] = METRICS) -> None:
        self.families = families
        self.samples: dict[str, list[str]] = {name: [] for name in families}

    def add(self, name: str, labels: str, value: float) -> None:
        try:
            number = _number(value)
        except (ArithmeticError, ValueError) as exc:
            # The parser bounds every number a device prints (COUNTER_MAX), so
            # this is a bug; one series missing beats a page Prometheus rejects.
            log.warning("not exported: %s{%s}: %s", name, labels, exc)
            return
        self.samples[name].append(f"{name}{{{labels}}} {number}\n")

    def text(self) -> bytes:
        parts: list[str] = []
        for name, spec in self.families.items():
            kind = "gauge" if spec.kind == "info" else spec.kind  # the text format has no info type
            parts.append(f"# HELP {name} {_help(spec.help)}\n# TYPE {name} {kind}\n")
            parts.extend(self.samples[name])
        # "replace": a lone surrogate (never in decoded device text) must not
        # cost the page.
        return "".join(parts).encode("utf-8", "replace")


# Integers up to 2**53 are exact float64 values, written as integers; beyond,
# Prometheus stores the nearest float64, which repr() writes so that it reads
# back as that same float64 (a 20-digit counter as 1.8446744073709552e+19).
_EXACT = 2**53


def _number(value: float) -> str:
    """A sample value as the text format writes it: a finite float64.
    Raises ValueError (NaN, infinities) or OverflowError (an int beyond
    float64) for a value that has none."""
    kind = type(value)
    if kind is bool:
        return "1" if value else "0"
    if kind is int and -_EXACT <= value <= _EXACT:
        return str(value)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"not a finite number: {value!r}")
    if number.is_integer() and -_EXACT <= number <= _EXACT:
        return str(int(number))
    return repr(number)


def escape_label(value: str) -> str:
    """A label value as the text format wants it quoted: backslash, double
    quote and line feed escaped; any other character (UTF-8) as it is."""
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


def _help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _device_labels(device: str, pair: str) -> str:
    return f'device="{escape_label(device)}",pair="{escape_label(pair)}"'


def _device(out: _Lines, snapshot: Snapshot, device: Device, view: ExportView, booted_at: float | None) -> None:
    base = _device_labels(snapshot.device, snapshot.pair)
    expected_peers = device.expected_peers
    out.add("ipsecha_device_up", base, snapshot.up)
    out.add("ipsecha_poll_duration_seconds", base, snapshot.duration_seconds)
    for peer in expected_peers:  # from the inventory: present whether the poll worked or not
        out.add("ipsecha_ipsec_peer_expected", f'{base},peer="{escape_label(peer)}"', 1)
    # On the monotonic clock, never the wall clock: a stepped host clock
    # neither zeroes nor inflates it, and it grows while polls stop. (It
    # cannot go negative: `now` is read after the state; max() only keeps
    # a hand-built view's mismatch off the page.)
    out.add("ipsecha_data_age_seconds", base, max(0.0, view.now - snapshot.ended) if view.now else 0.0)
    for result in snapshot.results:
        command = f'{base},command="{escape_label(result.command)}"'
        out.add("ipsecha_command_success", command, result.ok)
        out.add("ipsecha_command_status", f'{command},status="{result.status.value}"', 1)

    groups_seen: set[tuple[str, int]] = set()
    for group in snapshot.hsrp_groups or ():
        if (group.interface, group.group) in groups_seen:
            continue  # a group printed twice: its series once, never a duplicate
        groups_seen.add((group.interface, group.group))
        labels = f'{base},interface="{escape_label(group.interface)}",group="{group.group}"'
        named = f'{labels},group_name="{escape_label(group.group_name or "")}"'
        for state in HSRP_STATES:
            out.add("ipsecha_hsrp_state", f'{named},state="{state}"', group.state == state)
        out.add("ipsecha_hsrp_priority", labels, group.priority)
        out.add("ipsecha_hsrp_preempt", labels, group.preempt)
        if group.state_changes is not None:
            out.add("ipsecha_hsrp_state_changes_total", labels, group.state_changes)
        if group.last_state_change_seconds is not None:
            out.add("ipsecha_hsrp_last_state_change_seconds", labels, group.last_state_change_seconds)

    states = snapshot.redundancy_states
    if states is not None:
        out.add("ipsecha_redundancy_my_state", base, states.my_state.code)
        if states.peer_state is not None:
            out.add("ipsecha_redundancy_peer_state", base, states.peer_state.code)
        if states.duplex is not None:
            out.add("ipsecha_redundancy_duplex", base, states.duplex)
        if states.communications_up is not None:
            out.add("ipsecha_redundancy_communications_up", base, states.communications_up)

    inter = snapshot.inter_device
    if inter is not None:
        for state in _INTERDEVICE_STATES:
            out.add("ipsecha_redundancy_interdevice_state", f'{base},state="{state}"', inter.state == state)
        if inter.peer_communicating is not None:
            out.add("ipsecha_redundancy_interdevice_peer_communicating", base, inter.peer_communicating)
        if inter.group_name:
            out.add("ipsecha_redundancy_scheme_info", f'{base},group_name="{escape_label(inter.group_name)}"', 1)
    # The inventory's stateful_group wins (the health rules judge that group;
    # a disagreeing inter-device answer fails stateful_group_consistent).
    group_name = device.stateful_group or (inter.group_name if inter is not None else None)
    if group_name:
        out.add("ipsecha_redundancy_stateful_group_info", f'{base},group_name="{escape_label(group_name)}"', 1)

    if snapshot.redundancy_groups is not None:
        _redundancy_groups(out, base, snapshot.redundancy_groups)
    if snapshot.rg_interfaces is not None:
        _rg_interfaces(out, base, snapshot.rg_interfaces)

    version = snapshot.version
    if version is not None:
        out.add("ipsecha_uptime_seconds", base, version.uptime_seconds)
        reason, rom = escape_label(version.reload_reason or ""), escape_label(version.returned_to_rom_by or "")
        cause = view.boot_causes.get(device.name) or reload_cause(version, snapshot.log_messages).cause
        if booted_at is None:  # not tracked (a view built by hand): this poll's estimate
            booted_at = boot_estimate(snapshot.started_at, version.uptime_seconds, view.scale)
        boot = boot_label(booted_at, view.scale)
        out.add(
            "ipsecha_reload_info",
            f'{base},reason="{reason}",returned_to_rom_by="{rom}",cause="{cause}",boot="{boot}"',
            1,
        )

    ipsec_sas = snapshot.ipsec_sas
    if ipsec_sas is not None:
        active = dict.fromkeys(expected_peers, 0)
        standby = dict.fromkeys(expected_peers, 0)
        counters: dict[str, list[int]] = {}
        for sa in ipsec_sas:
            active[sa.peer] = active.get(sa.peer, 0) + sa.active_esp_sa_count
            standby[sa.peer] = standby.get(sa.peer, 0) + sa.standby_esp_sa_count
            totals = counters.setdefault(sa.peer, [0, 0, 0, 0])
            totals[0] += sa.pkts_encrypt or 0
            totals[1] += sa.pkts_decrypt or 0
            totals[2] += sa.send_errors or 0
            totals[3] += sa.recv_errors or 0
        for peer, count in active.items():
            out.add("ipsecha_ipsec_sa_active", f'{base},peer="{escape_label(peer)}"', count)
        for peer, count in standby.items():
            out.add("ipsecha_ipsec_sa_standby", f'{base},peer="{escape_label(peer)}"', count)
        for peer, (encrypted, decrypted, send_errors, receive_errors) in counters.items():
            labels = f'{base},peer="{escape_label(peer)}"'
            out.add("ipsecha_ipsec_packets_encrypted_total", labels, encrypted)
            out.add("ipsecha_ipsec_packets_decrypted_total", labels, decrypted)
            out.add("ipsecha_ipsec_send_errors_total", labels, send_errors)
            out.add("ipsecha_ipsec_receive_errors_total", labels, receive_errors)

    isakmp_sas = snapshot.isakmp_sas
    if isakmp_sas is not None:
        by_state: dict[tuple[str, str], int] = {}
        for isakmp in isakmp_sas:
            key = (isakmp.state, _isakmp_status(isakmp.status, isakmp.deleted))
            by_state[key] = by_state.get(key, 0) + 1
        for (state, status), count in sorted(by_state.items()):
            out.add(
                "ipsecha_isakmp_sas", f'{base},state="{escape_label(state)}",status="{escape_label(status)}"', count
            )

    ikev2_by_status = snapshot.ikev2_sas_by_status()
    if ikev2_by_status is not None:
        by_status = {"ready": 0} | {status.lower(): count for status, count in ikev2_by_status.items()}
        ready_by_peer: dict[str, bool] = {}
        for ikev2 in snapshot.ikev2_sas or ():
            ready_by_peer[ikev2.remote_address] = ready_by_peer.get(ikev2.remote_address, False) or ikev2.ready
        for status, count in sorted(by_status.items()):
            out.add("ipsecha_ikev2_sas", f'{base},status="{escape_label(status)}"', count)
        for peer, ready in sorted(ready_by_peer.items()):
            out.add("ipsecha_ikev2_sa_ready", f'{base},peer="{escape_label(peer)}"', ready)

    sessions = snapshot.crypto_sessions
    if sessions is not None:
        # One peer may have sessions on several interfaces: one series per
        # peer (up when any is) and per distinct status, never a duplicate.
        by_peer: dict[str, set[tuple[str, bool]]] = {}
        for session in sessions:
            if session.peer:
                by_peer.setdefault(session.peer, set()).add((session.status, session.up))
        for peer, seen in by_peer.items():
            labels = f'{base},peer="{escape_label(peer)}"'
            out.add("ipsecha_crypto_session_up", labels, any(up for _, up in seen))
            out.add("ipsecha_crypto_session_standby", labels, any(_STANDBY_SESSION in status for status, _ in seen))
            for status in sorted({status for status, _ in seen}):
                out.add("ipsecha_crypto_session_status", f'{labels},status="{escape_label(status)}"', 1)


def _redundancy_groups(out: _Lines, base: str, groups: Sequence[RedundancyGroup]) -> None:
    """One member's box-to-box groups (show redundancy application group
    all): a value IOS did not print gives no series, never a 0."""
    seen: set[int] = set()
    for group in groups:
        if group.group_id in seen:
            continue  # a group printed twice: its series once, never a duplicate
        seen.add(group.group_id)
        labels = f'{base},group="{group.group_id}"'
        _role_set(out, "ipsecha_rg_role", labels, group.my_role)
        if group.peer_role is not None:
            _role_set(out, "ipsecha_rg_peer_role", labels, group.peer_role)
        info = (
            f'{labels},group_name="{escape_label(group.group_name or "")}",'
            f'rf_domain="{escape_label(group.rf_domain or "")}",'
            f'control_interface="{escape_label(group.control_interface or "")}"'
        )
        out.add("ipsecha_rg_info", info, 1)
        gauges: tuple[tuple[str, float | None], ...] = (
            ("ipsecha_rg_rf_state", group.rf_state.code if group.rf_state is not None else None),
            ("ipsecha_rg_peer_rf_state", group.peer_rf_state.code if group.peer_rf_state is not None else None),
            ("ipsecha_rg_peer_present", group.peer_present),
            ("ipsecha_rg_peer_comm", group.peer_comm),
            ("ipsecha_rg_peer_progression_started", group.peer_progression_started),
            ("ipsecha_rg_admin_up", group.admin_up),
            ("ipsecha_rg_oper_up", group.operational_up),
            ("ipsecha_rg_faults_up", group.faults_up),
            ("ipsecha_rg_control_interface_up", group.control_interface_up),
            ("ipsecha_rg_runtime_priority", group.runtime_priority),
            ("ipsecha_rg_priority", group.priority),
            ("ipsecha_rg_fault_switchovers_total", group.fault_switchovers),
            ("ipsecha_rg_fault_state_changes_total", group.fault_down_ups),
            ("ipsecha_rg_authentication_failures_total", group.authentication_failures),
            # Base units: IOS prints the timers in milliseconds.
            ("ipsecha_rg_hello_interval_seconds", _seconds(group.hello_timer_ms)),
            ("ipsecha_rg_hold_time_seconds", _seconds(group.hold_timer_ms)),
        )
        for name, reading in gauges:
            if reading is not None:
                out.add(name, labels, reading)
        by_label: tuple[tuple[str, str, str, int | None], ...] = (
            ("ipsecha_rg_role_changes_total", "to", "active", group.role_changes_to_active),
            ("ipsecha_rg_role_changes_total", "to", "standby", group.role_changes_to_standby),
            ("ipsecha_rg_reload_requests_total", "origin", "local", group.reload_requests_local),
            ("ipsecha_rg_reload_requests_total", "origin", "peer", group.reload_requests_peer),
            ("ipsecha_rg_control_interface_events_total", "event", "up", group.control_interface_up_events),
            ("ipsecha_rg_control_interface_events_total", "event", "down", group.control_interface_down_events),
            (
                "ipsecha_rg_control_interface_events_total",
                "event",
                "admin_down",
                group.control_interface_admin_down_events,
            ),
            ("ipsecha_rg_disable_events_total", "cause", "rg_down", group.disable_events_rg_down),
            ("ipsecha_rg_disable_events_total", "cause", "rg_shut", group.disable_events_rg_shut),
            ("ipsecha_rg_hello_packets_lost_total", "side", "local", group.packet_loss),
            ("ipsecha_rg_hello_packets_lost_total", "side", "peer", group.peer_packet_loss),
            ("ipsecha_rg_resigns_total", "direction", "sent", group.resigns_sent),
            ("ipsecha_rg_resigns_total", "direction", "received", group.resigns_received),
        )
        for name, label, label_value, count in by_label:
            if count is not None:
                out.add(name, f'{labels},{label}="{label_value}"', count)


def _role_set(out: _Lines, name: str, labels: str, printed: str) -> None:
    role = printed.lower()
    for known in dict.fromkeys((*RG_ROLES, role)):
        out.add(name, f'{labels},role="{escape_label(known)}"', known == role)


def _seconds(milliseconds: int | None) -> float | None:
    return None if milliseconds is None else milliseconds / 1000


def _rg_interfaces(out: _Lines, base: str, interfaces: Sequence[RgInterface]) -> None:
    """VIP ownership per group and interface (show redundancy application
    if-mgr group): 1 for `no shut`, 0 for `shut`; none where the state or
    the VIP is not printed."""
    seen: set[tuple[int, str, str]] = set()
    for interface in interfaces:
        if interface.shut is None or interface.vip is None:
            continue
        key = (interface.group_id, interface.interface, interface.vip)
        if key in seen:
            continue
        seen.add(key)
        labels = (
            f'{base},group="{interface.group_id}",interface="{escape_label(interface.interface)}",'
            f'vip="{escape_label(interface.vip)}"'
        )
        out.add("ipsecha_rg_vip_owned", labels, not interface.shut)


# ISAKMP status column words -> the status label.
_ISAKMP_STATUS = {"ACTIVE": "active", "STDBY": "standby", "STANDBY": "standby"}
_STANDBY_SESSION = "STANDBY"  # UP-STANDBY: a session the standby unit holds a copy of


def _isakmp_status(status: str | None, deleted: bool) -> str:
    if deleted:
        return "deleted"
    if status is None:
        return ""  # 12.2 prints no status column
    return _ISAKMP_STATUS.get(status.upper(), status.lower())


def _pair(out: _Lines, pair: PairHealth) -> None:
    labels = f'pair="{escape_label(pair.pair)}"'
    out.add("ipsecha_pair_rf_active_members", labels, len(pair.rf_active_members))
    out.add("ipsecha_pair_hsrp_active_members", labels, len(pair.hsrp_active))
    for verdict in VERDICTS:
        out.add("ipsecha_pair_verdict", f'{labels},verdict="{verdict}"', pair.verdict == verdict)
    for result in pair.results:
        if result.ok is not None:
            out.add("ipsecha_pair_rule_ok", f'{labels},rule="{result.rule}"', result.ok)
