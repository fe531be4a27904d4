"""What a simulated IOS-XE box-to-box member prints: `show version` of an
ISR 4451-X on 17.9, and the redundancy group commands from its group's
state (xe_group.py).

The group outputs follow the layout of the real IOS-XE sample in
tests/corpus/show_redundancy_application_group (genie__iosxe_golden_output_2:
tabs and spaces mixed within one output, a trailing blank after "info:" and
"Up.", a whitespace-only line closing the log counters); the if-mgr layout
is the one docs/lab.md describes. The text is the lab's own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from ipsec_ha_monitor.lab.outputs import EPOCH, SHOW_COMMANDS, _uptime
from ipsec_ha_monitor.lab.router import Router
from ipsec_ha_monitor.lab.xe_group import (
    HELLO_BYTES,
    HELLO_MS,
    HOLD_MS,
    PEER_HELLO_BYTES,
    ROLE_ACTIVE,
    ROLE_INIT,
    ROLE_STANDBY,
    LabRedundancyGroup,
)
from ipsec_ha_monitor.rf_states import RF_STATE_NAMES

XE_IMAGE = "X86_64_LINUX_IOSD-UNIVERSALK9-M"
XE_VERSION = "17.9.4a"
XE_TRAIN = "17.09.04a"


def _group(router: Router) -> LabRedundancyGroup:
    if router.rg is None:  # the command table offers these commands to XE routers only
        raise ValueError(f"{router.name} has no redundancy group")
    return router.rg


def show_version_xe(router: Router) -> str:
    restarted = EPOCH + dt.timedelta(seconds=router.boot_time)
    stamp = restarted.strftime("%H:%M:%S UTC %a %b %d %Y").replace(" 0", " ")
    uptime = _uptime(router.uptime_seconds())
    return "\n".join(
        [
            f"Cisco IOS XE Software, Version {XE_TRAIN}",
            f"Cisco IOS Software [Cupertino], ISR Software ({router.image}), Version {router.version}, "
            "RELEASE SOFTWARE (fc3)",
            "Technical Support: http://www.cisco.com/techsupport",
            "Copyright (c) 1986-2023 by Cisco Systems, Inc.",
            "Compiled Tue 18-Jul-23 03:12 by mcpre",
            "",
            "",
            "ROM: IOS-XE ROMMON",
            "",
            f"{router.name} uptime is {uptime}",
            f"Uptime for this control processor is {uptime}",
            f"System returned to ROM by {router.returned_to_rom_by} at {stamp}",
            f'System image file is "bootflash:isr4400-universalk9.{XE_TRAIN}.SPA.bin"',
            f"Last reload reason: {router.last_reload_reason or 'Reload Command'}",
            "",
            "",
            "cisco ISR4451-X/K9 (2RU) processor with 7176396K/6147K bytes of memory.",
            "Processor board ID FGL2231A0LB",
            "Router operating mode: Autonomous",
            "4 Gigabit Ethernet interfaces",
            "32768K bytes of non-volatile configuration memory.",
            "16777216K bytes of physical memory.",
            "7341807K bytes of flash memory at bootflash:.",
            "",
            "Configuration register is 0x2102",
            "",
        ]
    )


def _rf(code: int) -> str:
    return RF_STATE_NAMES.get(code, "UNKNOWN")


def _protocol_state(group: LabRedundancyGroup, rf_code: int) -> str:
    if group.role == ROLE_ACTIVE:
        return "Active"
    if group.role == ROLE_STANDBY:
        return "Standby-hot" if rf_code == 8 else "Standby-cold"
    return "Init"


def _peer_line(group: LabRedundancyGroup) -> str:
    return f"address {group.peer_address}, priority {group.peer_priority}, intf Gi0/0/2"


def _peer_lines(group: LabRedundancyGroup) -> tuple[str, str]:
    """(Active Peer, Standby Peer) of the RG protocol block: Local for this
    box's own role, the peer's address where it holds the other, else Not exist."""
    peer = _peer_line(group) if group.peer_comm and group.peer_address else None
    active = standby = "Not exist"
    if group.role == ROLE_ACTIVE:
        active = "Local"
        if peer and group.peer_role in (ROLE_STANDBY, ROLE_INIT):
            standby = peer
    elif group.role == ROLE_STANDBY:
        standby = "Local"
        if peer and group.peer_role == ROLE_ACTIVE:
            active = peer
    elif peer and group.peer_role == ROLE_ACTIVE:
        active = peer
    return active, standby


def _stats(packets: int, bytes_per_packet: int, sequence: int, loss: int) -> str:
    return f"Pkts {packets}, Bytes {packets * bytes_per_packet}, HA Seq 0, Seq Number {sequence}, Pkt Loss {loss}"


def _group_all(router: Router, group: LabRedundancyGroup) -> list[str]:
    now = router.now()
    sent, heard = group.hellos.value(now), group.peer_hellos.value(now)
    active_peer, standby_peer = _peer_lines(group)
    peer_role = (group.peer_role or "unknown").upper() if group.peer_present else "UNKNOWN"
    lines = [
        f"Faults states Group {group.group_id} info: ",
        f"\tRuntime priority: [{group.runtime_priority}]",
        f"\t\tRG Faults RG State: {'Up' if group.faults_up else 'Down'}. ",
        f"\t\t\tTotal # of switchovers due to faults:           {group.fault_switchovers}",
        f"\t\t\tTotal # of down/up state changes due to faults: {group.fault_down_ups}",
        f"Group ID:{group.group_id}",
        f"Group Name:{group.name}",
        "",
        f"Administrative State: {'No Shutdown' if group.admin_up else 'Shutdown'}",
        f"Aggregate operational state : {'Up' if group.operational_up else 'Down'}",
        f"My Role: {group.role.upper()}",
        f"Peer Role: {peer_role}",
        f"Peer Presence: {'Yes' if group.peer_present else 'No'}",
        f"Peer Comm: {'Yes' if group.peer_comm else 'No'}",
        f"Peer Progression Started: {'Yes' if group.peer_present else 'No'}",
        "",
        f"RF Domain: {group.rf_domain}",
        f"\t RF state: {_rf(router.rf_my)}",
        f"\t Peer RF state: {_rf(router.rf_peer)}",
        "",
        "",
        f"RG Protocol RG {group.group_id}",
        "------------------",
        f"        Role: {group.role}",
        "        Negotiation: Enabled",
        f"        Priority: {group.priority}",
        f"        Protocol state: {_protocol_state(group, router.rf_my)}",
        f"        Ctrl Intf(s) state: {'Up' if group.control_up else 'Down'}",
        f"        Active Peer: {active_peer}",
        f"        Standby Peer: {standby_peer}",
        "        Log counters:",
        f"                role change to active: {group.role_to_active}",
        f"                role change to standby: {group.role_to_standby}",
        f"                disable events: rg down state {group.disable_rg_down}, rg shut {group.disable_rg_shut}",
        f"                ctrl intf events: up {group.ctrl_up_events}, down {group.ctrl_down_events}, "
        f"admin_down {group.ctrl_admin_down_events}",
        f"                reload events: local request {group.reload_local}, peer request {group.reload_peer}",
        "          ",
        f"RG Media Context for RG {group.group_id}",
        "--------------------------",
        f"        Ctx State: {group.role}",
        f"        Protocol ID: {group.group_id}",
        "        Media type: Default",
        f"        Control Interface: {group.control_interface}",
        f"        Current Hello timer: {HELLO_MS}",
        f"        Configured Hello timer: {HELLO_MS}, Hold timer: {HOLD_MS}",
        f"        Peer Hello timer: {HELLO_MS}, Peer Hold timer: {HOLD_MS}",
        "        Stats:",
        f"                {_stats(sent, HELLO_BYTES, sent, group.packet_loss)}",
        f"                {group.authentication}",
        f"                Authentication Failure: {group.auth_failures}",
        f"                Reload Peer: TX {group.reload_peer_tx}, RX {group.reload_peer_rx}",
        f"                Resign: TX {group.resign_tx}, RX {group.resign_rx}",
    ]
    # The media peer line names the role the peer holds (or would hold).
    media_role = "Active" if group.peer_role == ROLE_ACTIVE or group.role != ROLE_ACTIVE else "Standby"
    if group.peer_present:
        lines.append(f"        {media_role} Peer: Present. Hold Timer: {HOLD_MS}")
        lines.append(f"                {_stats(heard, PEER_HELLO_BYTES, heard, group.peer_packet_loss)}")
    else:
        lines.append(f"        {media_role} Peer: Not Present")
    return lines


def show_redundancy_application_group_all(router: Router) -> str:
    return "\n".join(_group_all(router, _group(router)))


def show_redundancy_application_group(router: Router) -> str:
    """The bare table: one row per group, its role as My Role prints it."""
    group = _group(router)
    return "\n".join(
        [
            "Group ID    Group Name                      State",
            "--------    ----------                      -----",
            f"{group.group_id:<11} {group.name:<31} {group.role.upper()}",
        ]
    )


def show_redundancy_application_if_mgr_group(router: Router) -> str:
    group = _group(router)
    lines = [f"RG ID: {group.group_id}", " ==========", ""]
    for interface in group.interfaces:
        lines += [
            f" interface      {interface.interface}",
            " ---------------------------------------",
            f" VMAC           {interface.vmac}",
            f" VIP            {interface.vip}",
            f" Shut           {'no shut' if interface.owned else 'shut'}",
            f" Decrement      {interface.decrement}",
            "",
        ]
    return "\n".join(lines)


# The shows an XE member answers: the classic router's, less HSRP and the
# IOS RF commands (an XE box-to-box member has neither `standby` groups nor
# `redundancy inter-device`; the lab leaves out its RP-level RF shows too,
# which say nothing of the pair), plus the redundancy group commands.
CLASSIC_ONLY_SHOWS = frozenset(
    {
        ("show", "standby"),
        ("show", "standby", "all"),
        ("show", "standby", "brief"),
        ("show", "redundancy"),
        ("show", "redundancy", "states"),
        ("show", "redundancy", "inter-device"),
        ("show", "redundancy", "history"),
    }
)
XE_SHOW_COMMANDS: dict[tuple[str, ...], Callable[[Router], str]] = {
    **{words: render for words, render in SHOW_COMMANDS.items() if words not in CLASSIC_ONLY_SHOWS},
    ("show", "version"): show_version_xe,
    ("show", "redundancy", "application", "group"): show_redundancy_application_group,
    ("show", "redundancy", "application", "group", "all"): show_redundancy_application_group_all,
    ("show", "redundancy", "application", "if-mgr", "group"): show_redundancy_application_if_mgr_group,
}
