"""What a simulated router prints: one function per show command, from its
state. Formats follow the real outputs in tests/corpus and the tests'
fixtures (12.4T on a 7200, the packetlife article's routers)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from ipsec_ha_monitor.lab.router import HSRP_WORDS, Router, TunnelSa
from ipsec_ha_monitor.rf_states import RF_STATE_NAMES

# Wall-clock time of lab time 0, for syslog time stamps.
EPOCH = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _age(seconds: float) -> str:
    """HSRP-style age: 00:00:11, 1d02h, 3w2d."""
    seconds = int(max(0.0, seconds))
    days, rest = divmod(seconds, 86400)
    if days == 0:
        return f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    if days < 7:
        return f"{days}d{rest // 3600:02d}h"
    return f"{days // 7}w{days % 7}d"


def _uptime(seconds: float) -> str:
    """show version style: '3 weeks, 2 days, 4 hours, 7 minutes' (zero units left out)."""
    minutes_total = int(max(0.0, seconds)) // 60
    years, rest = divmod(minutes_total, 365 * 1440)
    weeks, rest = divmod(rest, 7 * 1440)
    days, rest = divmod(rest, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{n} {unit}{'' if n == 1 else 's'}"
        for n, unit in ((years, "year"), (weeks, "week"), (days, "day"), (hours, "hour"))
        if n
    ]
    parts.append(f"{minutes} minute{'' if minutes == 1 else 's'}")
    return ", ".join(parts)


def _router_line(label: str, router: str | None, priority: int | None, expires: float) -> str:
    if router is None:
        return f"  {label} router is unknown"
    if router == "local":
        return f"  {label} router is local"
    return f"  {label} router is {router}, priority {priority} (expires in {expires:.3f} sec)"


def show_standby(router: Router) -> str:
    lines: list[str] = []
    now = router.now()
    for group in router.hsrp:
        mac = f"0000.0c07.ac{group.group:02x}"
        lines += [f"{group.interface} - Group {group.group}", f"  State is {HSRP_WORDS[group.state]}"]
        if group.state_changes:
            plural = "change" if group.state_changes == 1 else "changes"
            lines.append(f"    {group.state_changes} state {plural}, last state change {_age(now - group.last_change)}")
        lines.append(f"  Virtual IP address is {group.virtual_ip}")
        lines.append(f"  Active virtual MAC address is {mac if group.active_router else 'unknown'}")
        lines.append(f"    Local virtual MAC address is {mac} (v1 default)")
        lines.append("  Hello time 3 sec, hold time 10 sec")
        if group.state != "init":
            lines.append(f"    Next hello sent in {2.0 - (now % 2.0) + 0.5:.3f} secs")
        lines.append(f"  Preemption {'enabled' if group.preempt else 'disabled'}")
        lines.append(_router_line("Active", group.active_router, group.active_priority, 8.0 + now % 2.0))
        lines.append(_router_line("Standby", group.standby_router, group.standby_priority, 8.5 + now % 1.5))
        source = "default" if group.priority == 100 else "configured"
        lines.append(f"  Priority {group.priority} ({source} {group.priority})")
        lines.append(f'  Group name is "{group.name}" (cfgd)')
    return "\n".join(lines)


def _brief_router(value: str | None) -> str:
    return "unknown" if value is None else value


def show_standby_brief(router: Router) -> str:
    if not router.hsrp:
        return ""  # no HSRP group configured: IOS prints nothing
    lines = [
        "                     P indicates configured to preempt.",
        "                     |",
        "Interface   Grp  Pri P State   Active          Standby         Virtual IP",
    ]
    for group in router.hsrp:
        short = group.interface.replace("FastEthernet", "Fa").replace("GigabitEthernet", "Gi")
        lines.append(
            f"{short:<11} {group.group:<4} {group.priority:<3} {'P' if group.preempt else ' '} "
            f"{HSRP_WORDS[group.state]:<7} {_brief_router(group.active_router):<15} "
            f"{_brief_router(group.standby_router):<15} {group.virtual_ip}"
        )
    return "\n".join(lines)


def _rf(label: str, code: int) -> str:
    return f"{label} = {code:<2} -{RF_STATE_NAMES.get(code, 'UNKNOWN')} "


def show_redundancy_states(router: Router) -> str:
    sso = "Stateful Switchover" if router.duplex else "Non-redundant"
    if router.communications_up:
        communications = "Up"
    else:
        communications = f"Down      Reason: {router.communications_reason or 'Failure'}"
    if router.rf_my == 13:
        swact = "enabled" if router.duplex else "disabled (system is simplex (no peer unit))"
    else:
        swact = "cannot be initiated from this the standby unit"
    return "\n".join(
        [
            "       " + _rf("my state", router.rf_my),
            "     " + _rf("peer state", router.rf_peer),
            f"           Mode = {'Duplex' if router.duplex else 'Simplex'}",
            f"           Unit = {'Primary' if router.name.endswith('1') else 'Secondary'}",
            f"        Unit ID = {0 if router.name.endswith('1') else 1}",
            "",
            f"Redundancy Mode (Operational) = {sso}",
            "Redundancy Mode (Configured)  = Stateful Switchover",
            f"Redundancy State              = {sso if router.duplex else 'Non Redundant'}",
            f"    Manual Swact = {swact}",
            f" Communications = {communications}",
            "",
            "   client count = 17",
            " client_notification_TMR = 30000 milliseconds",
            "          keep_alive TMR = 4000 milliseconds",
            "        keep_alive count = 0 ",
            "    keep_alive threshold = 7 ",
            "           RF debug mask = 0x0   ",
        ]
    )


def show_redundancy_inter_device(router: Router) -> str:
    if router.interdev_state is None:
        return "% Redundancy inter-device is not configured"
    group = router.hsrp[0]
    # The packetlife article's R1 (12.4T), the only real sample: no peer line.
    lines = [
        f"Redundancy inter-device state: {router.interdev_state}",
        "  Scheme: Standby",
        f"  Groupname: {group.name} Group State: {HSRP_WORDS[group.state]}",
        "  Security: Not configured",
    ]
    if router.interdev_peer_line:  # remembered from Cisco's guide, never seen in a real output
        lines.insert(3, f"  Peer present: {router.interdev_peer}")
    return "\n".join(lines)


def show_redundancy(router: Router) -> str:
    active = router.rf_my == 13
    lines = [
        "Redundant System Information :",
        "------------------------------",
        f"       Available system uptime = {_uptime(router.uptime_seconds())}",
        f"Switchovers system experienced = {router.switchovers}",
        "              Standby failures = 0",
        f"        Last switchover reason = {'active unit failed' if router.switchovers else 'none'}",
        "",
        f"                 Hardware Mode = {'Duplex' if router.duplex else 'Simplex'}",
        "    Configured Redundancy Mode = Stateful Switchover",
        f"     Operating Redundancy Mode = {'Stateful Switchover' if router.duplex else 'Non-redundant'}",
        "              Maintenance Mode = Disabled",
        "                Communications = "
        + ("Up" if router.communications_up else f"Down      Reason: {router.communications_reason or 'Failure'}"),
        "",
        "Current Processor Information :",
        "-------------------------------",
        f"               {'Active' if active else 'Standby'} Location = slot 0",
        f"        Current Software state = {RF_STATE_NAMES.get(router.rf_my, 'UNKNOWN')}",
        f"       Uptime in current state = {_uptime(router.uptime_seconds())}",
        f"                 Image Version = Cisco IOS Software, 7200 Software ({router.image}), "
        f"Version {router.version}, RELEASE SOFTWARE (fc1)",
        "        Configuration register = 0x2102",
        "",
    ]
    peer_state = RF_STATE_NAMES.get(router.rf_peer, "UNKNOWN")
    if router.rf_peer in (0, 1):
        lines.append(f"Peer (slot: unavailable) information is not available because it is in '{peer_state}' state")
    else:
        # Inter-device peers are whole routers: each shows the other's section.
        lines += [
            "Peer Processor Information :",
            "----------------------------",
            f"              {'Standby' if active else 'Active'} Location = slot 0",
            f"        Current Software state = {peer_state} ",
            "       Uptime in current state = 0 minutes",
            f"                 Image Version = Cisco IOS Software, 7200 Software ({router.image}), "
            f"Version {router.version}, RELEASE SOFTWARE (fc1)",
            "        Configuration register = 0x2102",
        ]
    return "\n".join(lines)


def show_redundancy_history(router: Router) -> str:
    lines = ["Redundancy Facility Event Log:"]
    for when, my, peer, my_changed, peer_changed in router.rf_history:
        stamp = _age(when - router.boot_time)
        lines.append(
            f"{stamp} {'*' if my_changed else ''}my state = {RF_STATE_NAMES.get(my, 'UNKNOWN')}({my}) "
            f"{'*' if peer_changed else ''}peer state = {RF_STATE_NAMES.get(peer, 'UNKNOWN')}({peer})"
        )
    return "\n".join(lines)


def _spi(value: int) -> str:
    return f"0x{value:X}({value})"


def _esp_block(tunnel: TunnelSa, spi: int, conn_id: int, remaining: int) -> list[str]:
    if not tunnel.installed:
        return []
    return [
        f"      spi: {_spi(spi)}",
        "        transform: esp-aes esp-sha-hmac ,",
        "        in use settings ={Tunnel, }",
        f"        conn id: {conn_id}, flow_id: SW:{conn_id - 2000}, crypto map: VPN",
        f"        sa timing: remaining key lifetime (k/sec): (4562531/{remaining})",
        "        IV size: 16 bytes",
        "        replay detection support: Y",
        f"        Status: {tunnel.status}",
        "",
    ]


def show_crypto_ipsec_sa(router: Router) -> str:
    now = router.now()
    local = router.tunnel_address or (router.hsrp[0].virtual_ip if router.hsrp else router.outside_ip)
    lines = ["", f"interface: {router.outside_interface}", f"    Crypto map tag: VPN, local addr {local}", ""]
    for tunnel in router.tunnels.values():
        encaps, decaps = tunnel.encaps.value(now), tunnel.decaps.value(now)
        remaining = max(0, int(tunnel.installed_at + tunnel.lifetime_seconds - now))
        lines += [
            "   protected vrf: (none)",
            f"   local  ident (addr/mask/prot/port): ({tunnel.local_net}/0/0)",
            f"   remote ident (addr/mask/prot/port): ({tunnel.remote_net}/0/0)",
            f"   current_peer {tunnel.peer} port 500",
            "     PERMIT, flags={origin_is_acl,}",
            f"    #pkts encaps: {encaps}, #pkts encrypt: {encaps}, #pkts digest: {encaps}",
            f"    #pkts decaps: {decaps}, #pkts decrypt: {decaps}, #pkts verify: {decaps}",
            "    #pkts compressed: 0, #pkts decompressed: 0",
            "    #pkts not compressed: 0, #pkts compr. failed: 0",
            "    #pkts not decompressed: 0, #pkts decompress failed: 0",
            f"    #send errors {tunnel.send_errors.value(now)}, #recv errors {tunnel.recv_errors.value(now)}",
            "",
            f"     local crypto endpt.: {tunnel.local_address}, remote crypto endpt.: {tunnel.peer}",
            f"     path mtu 1500, ip mtu 1500, ip mtu idb {router.outside_interface}",
            f"     current outbound spi: {_spi(tunnel.outbound_spi)}",
            "",
            "     inbound esp sas:",
            *_esp_block(tunnel, tunnel.inbound_spi, tunnel.conn_id * 2, remaining),
            "",
            "     inbound ah sas:",
            "",
            "     inbound pcp sas:",
            "",
            "     outbound esp sas:",
            *_esp_block(tunnel, tunnel.outbound_spi, tunnel.conn_id * 2 + 1, remaining),
            "",
            "     outbound ah sas:",
            "",
            "     outbound pcp sas:",
            "",
        ]
    return "\n".join(lines)


def show_crypto_isakmp_sa(router: Router) -> str:
    lines = ["IPv4 Crypto ISAKMP SA", "dst             src             state          conn-id slot status"]
    for tunnel in router.tunnels.values():
        if tunnel.isakmp_state is None or tunnel.ike_version != 1:
            continue
        lines.append(
            f"{tunnel.local_address:<15} {tunnel.peer:<15} {tunnel.isakmp_state:<13} "
            f"{tunnel.conn_id:>7} {0:>4} {tunnel.isakmp_status}"
        )
    return "\n".join([*lines, "", "IPv6 Crypto ISAKMP SA", ""])


# IOS's default IKEv2 SA lifetime (crypto ikev2 profile: lifetime 86400).
IKEV2_LIFETIME_SECONDS = 86400
_IKEV2_HEADER = "Tunnel-id Local                 Remote                fvrf/ivrf            Status "


def show_crypto_ikev2_sa(router: Router) -> str:
    """As IOS prints it (the real samples in tests/corpus/show_crypto_ikev2_sa;
    the IN-NEG lines as docs/lab.md quotes them): the header over each
    tunnel, an IPv4 and an IPv6 section, the section headers alone when
    there is no IKEv2 SA. The standby hub lists its synced copies as READY
    too: that is our assumption, no real output of a standby unit is known."""
    now = router.now()
    lines = [" IPv4 Crypto IKEv2  SA ", ""]
    for tunnel in router.tunnels.values():
        if tunnel.ike_version != 2 or tunnel.isakmp_state is None:
            continue
        ready = tunnel.isakmp_state == "QM_IDLE"
        active = max(0, int(now - tunnel.ike_since))
        local, remote = f"{tunnel.local_address}/500", f"{tunnel.peer}/500"
        lines += [
            _IKEV2_HEADER,
            f"{tunnel.conn_id - 1000:<10}{local:<22}{remote:<22}{'none/none':<21}{'READY' if ready else 'IN-NEG':<7}",
            "      Encr: AES-CBC, keysize: 256, PRF: SHA256, Hash: SHA256, DH Grp:14, Auth sign: PSK, Auth verify: PSK"
            if ready
            else "      Encr: Unknown - 0, PRF: Unknown - 0, Hash: None, DH Grp:0, Auth sign: Unknown - 0, "
            "Auth verify: Unknown - 0",
            f"      Life/Active Time: {IKEV2_LIFETIME_SECONDS}/{active if ready else 0} sec",
            "",
        ]
    return "\n".join([*lines, " IPv6 Crypto IKEv2  SA ", ""])


def show_crypto_session(router: Router) -> str:
    lines = ["Crypto session current status", ""]
    for tunnel in router.tunnels.values():
        active_sas = 2 if tunnel.installed and tunnel.status == "ACTIVE" else 0
        lines += [
            f"Interface: {router.outside_interface}",
            f"Session status: {tunnel.session_status}     ",
            f"Peer: {tunnel.peer} port 500 ",
        ]
        if tunnel.isakmp_state is not None:
            state = "Active" if tunnel.isakmp_state == "QM_IDLE" else "Inactive"
            ike = "IKE" if tunnel.ike_version == 1 else "IKEv2"
            lines.append(f"  {ike} SA: local {tunnel.local_address}/500 remote {tunnel.peer}/500 {state} ")
        lines += [
            f"  IPSEC FLOW: permit ip {tunnel.local_net} {tunnel.remote_net} ",
            f"        Active SAs: {active_sas}, origin: crypto map",
            "",
        ]
    return "\n".join(lines)


def show_version(router: Router) -> str:
    restarted = EPOCH + dt.timedelta(seconds=router.boot_time)
    stamp = restarted.strftime("%H:%M:%S UTC %a %b %d %Y").replace(" 0", " ")
    return "\n".join(
        [
            f"Cisco IOS Software, 7200 Software ({router.image}), Version {router.version}, RELEASE SOFTWARE (fc1)",
            "Technical Support: http://www.cisco.com/techsupport",
            "Copyright (c) 1986-2009 by Cisco Systems, Inc.",
            "Compiled Thu 26-Feb-09 03:22 by prod_rel_team",
            "",
            "ROM: ROMMON Emulation Microcode",
            f"BOOTLDR: 7200 Software ({router.image}), Version {router.version}, RELEASE SOFTWARE (fc1)",
            "",
            f"{router.name} uptime is {_uptime(router.uptime_seconds())}",
            f"System returned to ROM by {router.returned_to_rom_by} at {stamp}",
            'System image file is "disk0:c7200-advipservicesk9-mz.124-24.T.bin"',
            "",
            "Cisco 7206VXR (NPE400) processor (revision A) with 245760K/16384K bytes of memory.",
            "Processor board ID 4279256517",
            "",
            "Configuration register is 0x2102",
            "",
        ]
    )


def log_timestamp(when: float) -> str:
    """A log message's time stamp as the lab's routers print it
    (`service timestamps log datetime msec`): "Dec 07 14:33:22.123"."""
    moment = EPOCH + dt.timedelta(seconds=when)
    return f"{moment.strftime('%b %d %H:%M:%S')}.{moment.microsecond // 1000:03d}"


def show_logging(router: Router) -> str:
    lines = [
        "Syslog logging: enabled (0 messages dropped, 0 messages rate-limited, 0 flushes, 0 overruns, xml disabled, "
        "filtering disabled)",
        "",
        f"    Buffer logging:  level debugging, {len(router.log)} messages logged, xml disabled,",
        "                    filtering disabled",
        "",
        "Log Buffer (8192 bytes):",
        "",
    ]
    for when, message in router.log:
        lines.append(f"{log_timestamp(when)}: {message}")
    return "\n".join(lines)


def show_clock(router: Router) -> str:
    moment = EPOCH + dt.timedelta(seconds=router.now())
    return moment.strftime("*%H:%M:%S.") + f"{moment.microsecond // 1000:03d} UTC " + moment.strftime("%a %b %d %Y")


# The lab's show commands: full keyword sequence -> renderer.
SHOW_COMMANDS: dict[tuple[str, ...], Callable[[Router], str]] = {
    ("show", "standby"): show_standby,
    ("show", "standby", "all"): show_standby,
    ("show", "standby", "brief"): show_standby_brief,
    ("show", "redundancy"): show_redundancy,
    ("show", "redundancy", "states"): show_redundancy_states,
    ("show", "redundancy", "inter-device"): show_redundancy_inter_device,
    ("show", "redundancy", "history"): show_redundancy_history,
    ("show", "crypto", "ipsec", "sa"): show_crypto_ipsec_sa,
    ("show", "crypto", "isakmp", "sa"): show_crypto_isakmp_sa,
    ("show", "crypto", "ikev2", "sa"): show_crypto_ikev2_sa,
    ("show", "crypto", "session"): show_crypto_session,
    ("show", "version"): show_version,
    ("show", "logging"): show_logging,
    ("show", "clock"): show_clock,
}
# Shows a user-EXEC (">") session may run; the rest need `enable`, as on IOS.
USER_EXEC_SHOWS = {("show", "version"), ("show", "clock")}
