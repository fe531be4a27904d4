"""Output the parser cannot read is an error, never an empty or thinner
success: another command's output, a known header over rows in a layout the
template does not know, lines that look almost right, required lines missing.
And the real-output variants that used to lose data silently (wrapped IKE SA
lines, unquoted HSRP group names, "key:value" without blanks) parse whole.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.paths import FIXTURES, TEMPLATE_SPECS, command_of, raw_outputs

from ipsec_ha_monitor.parse import ParseError, errors, parse_output, resolve
from ipsec_ha_monitor.parse.device_errors import PROMPT, strip_terminal_controls
from ipsec_ha_monitor.parse.templates import OUR_TEMPLATES as TEMPLATES

# (the template that reads it, the output) for every fixture and real output
OUTPUTS = [(resolve(raw.command, raw.platform).template, raw) for raw in raw_outputs()]
# Each command has one template, on one platform (the IOS-XE copies of the
# IOS rows read what the IOS rows read).
PLATFORM_OF = {spec.command: spec.platform for spec in TEMPLATE_SPECS}


def _error(command: str, text: str) -> ParseError:
    with pytest.raises(ParseError) as caught:
        records = parse_output(command, text, PLATFORM_OF[command])
        print(records)
    return caught.value


@pytest.mark.parametrize("spec", TEMPLATE_SPECS, ids=lambda s: s.command)
def test_every_other_commands_output_is_an_error(spec) -> None:
    """Each template fed every output of every other command (of any
    platform): a ParseError, never records and never an empty list."""
    others = [raw for template, raw in OUTPUTS if template != spec.template]
    assert len(others) > 50
    for raw in others:
        text = raw.path.read_text(encoding="utf-8", errors="replace")
        try:
            records = parse_output(spec.command, text, spec.platform)
        except ParseError as exc:
            assert exc.kind != errors.INTERNAL, exc
        else:
            pytest.fail(f"{spec.command} read {raw.name} as {records!r}")


BRIEF_HEADER = "Interface   Grp  Pri P State   Active          Standby         Virtual IP\n"
ISAKMP_HEADER = "IPv4 Crypto ISAKMP SA\ndst             src             state          conn-id status\n"
SWITCHOVER_HEADER = (
    "Index  Previous  Current  Switchover             Switchover\n"
    "       active    active   reason                 time\n"
    "-----  --------  -------  ----------             ----------\n"
)

IKEV2_HEADER = (
    "IPv4 Crypto IKEv2 SA\n\nTunnel-id Local                 Remote                fvrf/ivrf            Status\n"
)

# IOS-XE box-to-box: a group block as genieparser's samples print it, the
# start of its media block, the group table's header, an if-mgr group.
RG_GROUP = (
    "Group ID:1\nGroup Name:RG-IPSEC\n\nAdministrative State: No Shutdown\nAggregate operational state : Up\n"
    "My Role: ACTIVE\nPeer Role: STANDBY\nPeer Presence: Yes\nPeer Comm: Yes\nPeer Progression Started: Yes\n\n"
    "RF Domain: btob-one\n\t RF state: ACTIVE\n\t Peer RF state: STANDBY HOT\n\n"
)
RG_MEDIA = RG_GROUP + "RG Media Context for RG 1\n--------------------------\n\tCtx State: Active\n\tStats:\n"
RG_TABLE_HEADER = (
    "Group ID    Group Name                      State\n--------    ----------                      -----\n"
)
IF_MGR_HEADER = "RG ID: 1\n ==========\n\n"
IF_MGR_INTERFACE = (
    IF_MGR_HEADER + " interface      GigabitEthernet0/0/0\n ---------------------------------------\n"
    " VMAC           0007.b421.1a01\n VIP            10.0.0.3\n Shut           no shut\n Decrement      10\n"
)

# Per command: outputs under a header the template knows (or the first line
# of a block it knows) whose rows or lines come in a layout it does not.
UNKNOWN_LAYOUTS = {
    "show crypto ikev2 sa": [
        IKEV2_HEADER + "1         10.0.0.3:500          172.16.0.4:500        none/none            READY\n",
        IKEV2_HEADER + "1         10.0.0.3/500          172.16.0.4/500        none/none            READY  INITIATOR\n",
        "IPv4 Crypto IKEv2 SA\n\nTunnel-id Local Remote fvrf/ivrf Status Role\n",
        IKEV2_HEADER + "1         10.0.0.3/500          172.16.0.4/500        none/none            READY\n"
        "      Encryption: AES-CBC-256, PRF: SHA256, DH: 14\n      Life/Active Time: 86400/5 sec\n",
    ],
    "show standby brief": [
        BRIEF_HEADER + "Fa0/0       1    100 P Active  local           10.0.0.2        10.0.0.3   extra\n",
        BRIEF_HEADER + "Fa0/0  Active  1  100  local  10.0.0.2  10.0.0.3\n",
        "Interface   Grp  Prio P State    Active addr     Standby addr    Group addr\n"
        "Fa0/0       1    100  P Active   local           10.0.0.2        10.0.0.3\n",
    ],
    "show standby": [
        "FastEthernet0/0 - Group 1\n  Status: Active\n  Virtual IP: 10.0.0.3\n  Preempt: disabled\n",
        "FastEthernet0/0 - Group 1\n  State is Active\n  Group name is 'BRANCH-5-TUNNEL' (cfgd)\n",
    ],
    "show redundancy states": [
        "       my state = 13 -ACTIVE\n  peer: 8 STANDBY HOT\n  duplex\n",
        "       my state = ACTIVE\n     peer state = STANDBY HOT\n           Mode = Duplex\n        Unit ID = 0\n",
    ],
    "show redundancy inter-device": [
        "Redundancy inter-device state: RF_INTERDEV_STATE_ACT\n  Mode: standby\n  Group: BRANCH-5-TUNNEL (Active)\n",
        "Redundancy inter-device state: RF_INTERDEV_STATE_ACT\n  Scheme: Standby\n"
        "  Groupname: BRANCH-5-TUNNEL\n  Security: Not configured\n",
    ],
    "show redundancy switchover history": [
        SWITCHOVER_HEADER + "   1       1        2     Active lost GW\n",
        "Index  Previous active  Current active  Reason\n   1   1   2   user forced\n",
    ],
    "show redundancy history": [
        "Redundancy Facility Event Log:\nmy state = ACTIVE(13) peer state = DISABLED(1)\n",
        "Redundancy Facility Event Log:\n00:00:09 *my state = 13 *peer state = 1\n",
    ],
    "show redundancy": [
        "Redundant System Information :\n------------------------------\n  uptime: 5 days\n  switchovers: 0\n",
    ],
    "show crypto ipsec sa": [
        "interface: Fa0/0\n    Crypto map tag: VPN, local addr 10.0.0.3\n\n   protected vrf: (none)\n"
        "   peer: 172.16.0.4\n   encaps 4 decaps 4\n",
        "interface: Fa0/0\n    Crypto map tag: VPN, local addr 10.0.0.3\n\n   protected vrf: (none)\n"
        "   current_peer 172.16.0.4 port 500\n    #pkts encaps: 4 #pkts encrypt: 4 #pkts digest: 4\n",
    ],
    "show crypto isakmp sa": [
        ISAKMP_HEADER + "10.0.0.3        172.16.0.4      1001  QM_IDLE  ACTIVE\n",
        ISAKMP_HEADER + "10.0.0.3        172.16.0.4      QM_IDLE           1001 ACTIVE extra\n",
        "IPv4 Crypto ISAKMP SA\nC-id  Local           Remote          I-VRF  Status Encr Hash   Auth DH Lifetime\n"
        "1001  10.0.0.3        172.16.0.4             ACTIVE aes  sha    psk  14 23:59:12\n",
        "dst             src             conn-id state  status\n10.0.0.3  172.16.0.4  1001  QM_IDLE  ACTIVE\n",
    ],
    "show crypto session": [
        "Crypto session current status\n\nTunnel0  UP-ACTIVE  172.16.0.4  500\n",
        "Crypto session current status\n\nInterface: Tunnel0\nSession status: UP-ACTIVE\nPeer: 172.16.0.4 port 500\n"
        "  IKEv2 SA: local 10.0.0.3/500 remote 172.16.0.4/500 Active extra words\n"
        "  IPSEC FLOW: permit 47 host 10.0.0.3 host 172.16.0.4\n        Active SAs: 2, origin: crypto map\n",
        "Crypto session current status\n\nInterface: Tunnel0\nSession status: UP-ACTIVE\nPeer: 172.16.0.4 port 500\n"
        "  IPSEC FLOW: permit 47 host 10.0.0.3 host 172.16.0.4\n        Active SAs 2 origin crypto map\n",
    ],
    "show version": [
        "Cisco IOS Software, 7200 Software (C7200-ADVIPSERVICESK9-M), Version 12.4(24)T, RELEASE SOFTWARE (fc1)\n"
        "R2 up for 5 days, 2 hours\nSystem returned to ROM by reload\n",
    ],
    "show logging": [
        "Syslog logging: enabled\n\nLog Buffer (4096 bytes):\nsome text\nthat is no message\n",
        "Syslog logging: enabled\n\nLog Buffer (4096 bytes):\n"
        "2026-11-26T10:00:01Z %SYS-5-CONFIG_I: Configured from console\n",
        "Interface   Grp  Pri P State\nFa0/0  1  100 P Active\n",
    ],
    "show redundancy application group all": [
        "Group 1 (RG-IPSEC): ACTIVE, peer STANDBY\n",
        "Group ID:1\nGroup Name:RG-IPSEC\nState: ACTIVE\nPeer State: STANDBY\n",
        "Group ID:1\nMy Role: ACTIVE\nPeer Role: STANDBY\nRF state: ACTIVE\nPeer RF state: STANDBY HOT\n"
        "Priority: 150\n",
        "Faults states Group 1 info: \n\tRuntime priority: 150\n",
        "Faults states Group 1 info: \n\tRuntime priority: [150]\n\t\tRG Faults RG State: Up. \n\t\tTotal faults: 0\n",
        RG_GROUP + "RG Protocol RG 1\n------------------\n\tRole: Active\n\tPreempt: Enabled\n",
        RG_GROUP + "RG Protocol RG 1\n------------------\n\tLog counters:\n\t\treload events: local 1, peer 0\n",
        RG_MEDIA + "\t\tPkts 100 Bytes 200 Pkt Loss 0\n",
        RG_MEDIA + "\t\tPkts 100, Bytes 200, HA Seq 0, Seq Number 100, Pkt Loss\n\t\tAuthentication not configured\n",
        RG_MEDIA + "\tStandby Peer: Present. Hold Timer: 10000\n\t\tPkts 100, Bytes 200, Pkt Loss 0\n",
    ],
    "show redundancy application group": [
        RG_TABLE_HEADER + "1           RG-IPSEC                        ACTIVE   extra\n",
        RG_TABLE_HEADER + "1           RG IPSEC                        ACTIVE\n",
        RG_TABLE_HEADER + "RG-IPSEC    1                               ACTIVE\n",
        "Group ID    Group Name       State     Priority\n1           RG-IPSEC         ACTIVE    150\n",
    ],
    "show redundancy application if-mgr group": [
        IF_MGR_INTERFACE.replace(" Shut           no shut", " State          no shut"),
        IF_MGR_INTERFACE.replace("no shut", "shutdown"),
        IF_MGR_INTERFACE.replace("10.0.0.3", "10.0.0.3 (exclusive)"),
        IF_MGR_INTERFACE.replace("0007.b421.1a01", "0007b4211a01"),
        IF_MGR_HEADER + " GigabitEthernet0/0/0  0007.b421.1a01  10.0.0.3  no shut  10\n",
    ],
}


def test_every_command_has_unknown_layout_cases() -> None:
    assert set(UNKNOWN_LAYOUTS) == {spec.command for spec in TEMPLATE_SPECS}


@pytest.mark.parametrize(
    ("command", "text"),
    [(command, text) for command, texts in UNKNOWN_LAYOUTS.items() for text in texts],
    ids=lambda value: value.splitlines()[0][:40] if "\n" in value else value,
)
def test_unknown_layout_is_an_error(command: str, text: str) -> None:
    error = _error(command, text)
    assert error.kind in (errors.TRUNCATED, errors.NO_MATCH, errors.TEMPLATE), error
    assert error.line_number > 0


@pytest.mark.parametrize(
    ("text", "line_number"),
    [
        (
            ISAKMP_HEADER + "10.0.0.3        172.16.0.4      QM_IDLE           1001 ACTIVE\n10.0.0.3 172.16.0.5 1002\n",
            4,
        ),
        (BRIEF_HEADER + "Fa0/0       1    100 P Active  local           10.0.0.2        10.0.0.3\nFa0/1 2 100 P\n", 3),
        (
            SWITCHOVER_HEADER
            + "   1       1        2     Active lost GW         03:26:09 UTC Wed Sep 23 2020\n   2  x\n",
            5,
        ),
        (RG_TABLE_HEADER + "1           RG-IPSEC                        ACTIVE\n2           RG-NAT\n", 4),
    ],
)
def test_a_row_that_does_not_read_is_named_not_dropped(text: str, line_number: int) -> None:
    command = {
        "IPv4": "show crypto isakmp sa",
        "Inter": "show standby brief",
        "Index": "show redundancy switchover history",
        "Group": "show redundancy application group",
    }
    error = _error(command[text[:5].strip()], text)
    assert error.kind == errors.TEMPLATE and error.line_number == line_number
    assert error.line == text.splitlines()[line_number - 1]


# --- a known header over rows that are no rows ---------------------------------

LOG_HEADER = (FIXTURES / "show_logging/header_empty_buffer.raw").read_text().rsplit("R1#", 1)[0]
# Per table command: its header as real devices print it (fixtures, corpus),
# alone and over a row that reads, under which only rows may follow.
TABLE_HEADERS = {
    "show crypto ikev2 sa": [
        "IPv4 Crypto IKEv2 SA\n\n",
        " IPv4 Crypto IKEv2  SA \n\n"
        "Tunnel-id Local                 Remote                fvrf/ivrf            Status \n",
        "Tunnel-id    fvrf/ivrf              Status\n",
        " IPv4 Crypto IKEv2  SA \n\n IPv6 Crypto IKEv2  SA \n\n",
    ],
    "show crypto isakmp sa": [
        ISAKMP_HEADER,
        "IPv4 Crypto ISAKMP SA\ndst             src             state          conn-id slot status\n",
        "dst             src             state           conn-id    slot\n",
        ISAKMP_HEADER + "\nIPv6 Crypto ISAKMP SA\n\n",
        ISAKMP_HEADER + "10.0.0.3        172.16.0.4      QM_IDLE           1001 ACTIVE\n",
    ],
    "show standby brief": [
        "                     P indicates configured to preempt.\n                     |\n" + BRIEF_HEADER,
        BRIEF_HEADER + "Fa0/0       1    100 P Active  local           10.0.0.2        10.0.0.3\n",
    ],
    "show redundancy history": [
        "Redundancy Facility Event Log:\n",
        "Redundancy Facility Event Log:\n00:00:09 *my state = NEGOTIATION(3) peer state = DISABLED(1)\n",
    ],
    "show redundancy switchover history": [
        SWITCHOVER_HEADER,
        SWITCHOVER_HEADER + "   1       1        2     Active lost GW         03:26:09 UTC Wed Sep 23 2020\n",
    ],
    "show crypto session": [
        "Crypto session current status\n\n",
        "Crypto session current status\n\nCode: C - IKE Configuration mode, D - Dead Peer Detection\n"
        "K - Keepalives, N - NAT-traversal, T - cTCP encapsulation\nS - SIP VPN\n\n",
    ],
    "show logging": [LOG_HEADER],
    "show redundancy application group": [
        RG_TABLE_HEADER,
        "Group ID    Group Name                      State\n",
        RG_TABLE_HEADER + "1           RG-IPSEC                        ACTIVE\n",
    ],
    # Blocks, not rows: the group header alone, and over a whole interface block.
    "show redundancy application if-mgr group": [IF_MGR_HEADER, IF_MGR_INTERFACE + "\n"],
}
# Lines that are no row of any table: words, numbers, punctuation, control
# characters, lines with "#" or ">" that are no prompt, other tables' header
# and legend lines, session lines outside a session.
GARBAGE_ROWS = [
    "garbage",
    "this is not a row",
    "x y z w",
    "1 2 3",
    "12345",
    "%",
    "%ABC",
    "<<<>>>",
    "a#b c",
    "foo>bar",
    "\x00\x01\x02",
    "   indented garbage",
    "ΩΩΩ ünïcode",
    "*",
    "|",
    "-",
    "---- ----",
    "=====",
    "...",
    "Interface",
    "dst",
    "active    active   reason                 time",
    "Code: whatever",
    "X - Y garbage",
    "Desc: x",
    "fvrf: x",
]


def test_every_table_command_has_headers() -> None:
    tables = {
        spec.command
        for spec in TEMPLATE_SPECS
        if spec.empty_answer is not None and spec.command != "show crypto ipsec sa"
    }
    assert set(TABLE_HEADERS) == tables


@pytest.mark.parametrize(
    ("command", "header"),
    [
        pytest.param(command, header, id=f"{command}-{index}")
        for command, headers in TABLE_HEADERS.items()
        for index, header in enumerate(headers)
    ],
)
@pytest.mark.parametrize("trailer", ["", "R1#\n"], ids=["end", "prompt"])
def test_garbage_rows_under_a_known_header_are_an_error(command: str, header: str, trailer: str) -> None:
    """Never "0 records, ok" (nor the rows above the garbage alone): a
    line under the header that is no row is an error naming that line, or,
    in a log buffer that holds no message at all, no_match."""
    number = header.count("\n") + 1
    for garbage in GARBAGE_ROWS:
        error = _error(command, header + garbage + "\n" + trailer)
        if command == "show logging":
            # Lines before a buffer's first message are what is left of an
            # overwritten one: skipped, and a buffer of nothing else is no answer.
            assert error.kind == errors.NO_MATCH, (garbage, error)
            continue
        # The line as the parser reads it: NUL, like other terminal controls, is dropped first.
        seen = strip_terminal_controls(garbage)
        assert (error.kind, error.line_number, error.line) == (errors.TEMPLATE, number, seen), (garbage, error)


def test_a_syslog_message_in_the_logging_header_block_is_an_error() -> None:
    """A buffer printed without its "Log Buffer" line is not read as an empty header."""
    text = LOG_HEADER.replace("Log Buffer (4096 bytes):", "*Mar  1 00:00:04.511: %SYS-5-RESTART: System restarted --")
    error = _error("show logging", text)
    assert error.kind == errors.TEMPLATE and "%SYS-5-RESTART" in error.line


def test_an_uptime_stamped_line_is_an_event_not_dropped() -> None:
    """The RF event log's format is "<uptime> <event>" with free event text
    (client added, RF_STATUS_*, RF_EVENT_*, ...): such a line is an event."""
    (event,) = parse_output("show redundancy history", "Redundancy Facility Event Log:\n00:00:01 odd event\n")
    assert (event.uptime_seconds, event.event) == (1, "odd event")


def test_prompt_rules_are_the_shared_prompt_pattern() -> None:
    """Every template skips prompt lines with device_errors.PROMPT, the
    pattern the emptiness checks use: a line with "#" or ">" elsewhere is
    not skipped as a prompt."""
    rule = "  ^" + PROMPT.replace("$", "$$")
    found = 0
    for template in sorted(TEMPLATES.glob("*.textfsm")):
        for line in template.read_text().splitlines():
            if "[#>]" in line:
                assert line == rule, f"{template.name}: {line}"
                found += 1
    assert found >= 7


@pytest.mark.parametrize(
    ("line", "prompt"),
    [
        ("R1#", True),
        ("R1#  ", True),
        ("Router>", True),
        ("ran-pag-bawen.1#", True),
        ("R1(config)#", True),
        ("R2#sh stand br", True),
        ("PE1#show redundancy states ", True),
        ("a#b c", False),
        ("foo>bar", False),
        ("<<<>>>", False),
        ("##pkts replay failed (rcv): 0", False),
        ("state Standby -> Active", False),
    ],
)
def test_what_is_a_prompt_line(line: str, prompt: bool) -> None:
    assert bool(re.match(PROMPT, line)) == prompt


def test_known_header_without_rows_is_still_an_empty_answer() -> None:
    assert parse_output("show crypto isakmp sa", ISAKMP_HEADER + "\nIPv6 Crypto ISAKMP SA\n\nR1#\n") == []
    assert parse_output("show standby brief", BRIEF_HEADER) == []
    assert parse_output("show redundancy switchover history", SWITCHOVER_HEADER + "R1#\n") == []
    assert parse_output("show redundancy history", "Redundancy Facility Event Log:\n") == []
    assert parse_output("show crypto session", "Crypto session current status\n\nR1#\n") == []
    assert parse_output("show logging", (FIXTURES / "show_logging/header_empty_buffer.raw").read_text()) == []
    assert parse_output("show redundancy application group", RG_TABLE_HEADER, "cisco_xe") == []
    assert parse_output("show redundancy application group", RG_TABLE_HEADER + "XE1#\n", "cisco_xe") == []
    assert parse_output("show redundancy application if-mgr group", IF_MGR_HEADER, "cisco_xe") == []
    assert parse_output("show redundancy application if-mgr group", IF_MGR_HEADER + "XE1#\n", "cisco_xe") == []


def test_syslog_lines_and_prompts_inside_tables_are_still_skipped() -> None:
    noise = "*Nov 26 10:00:01.123: %LINK-SP-3-UPDOWN: Interface Gi1/1, changed state to down\n"
    text = ISAKMP_HEADER + noise + "10.0.0.3        172.16.0.4      QM_IDLE           1001 ACTIVE\n" + noise + "R1#\n"
    (sa,) = parse_output("show crypto isakmp sa", text)
    assert sa.src == "172.16.0.4"


# --- a required line missing names the line -----------------------------------


def _without(fixture: str, pattern: str) -> tuple[str, str]:
    """The fixture (tests/fixtures/<platform>/...) without the first line
    matching `pattern` (one line lost)."""
    raw = FIXTURES.parent / fixture
    lines = raw.read_text().splitlines()
    first = next(index for index, line in enumerate(lines) if re.search(pattern, line))
    return command_of(raw.parent), "\n".join(lines[:first] + lines[first + 1 :])


@pytest.mark.parametrize(
    ("fixture", "drop", "named"),
    [
        ("cisco_ios/show_version/packetlife_7200_reload.raw", r"uptime is", "'<hostname> uptime is ...'"),
        ("cisco_ios/show_standby/packetlife_r2_active.raw", r"- Group", "'<interface> - Group <n>'"),
        ("cisco_ios/show_standby/packetlife_r2_active.raw", r"State is", "'State is ...'"),
        ("cisco_ios/show_redundancy_states/packetlife_r2_active.raw", r"my state", "'my state = ...'"),
        ("cisco_ios/show_redundancy_states/packetlife_r2_active.raw", r"peer state", "'peer state = ...'"),
        ("cisco_ios/show_redundancy_states/packetlife_r2_active.raw", r"Unit ID", "'Unit ID = ...'"),
        (
            "cisco_ios/show_redundancy_inter-device/packetlife_r1_standby.raw",
            r"inter-device state",
            "'Redundancy inter-device",
        ),
        (
            "cisco_ios/show_crypto_session/packetlife_r2_crypto_map.raw",
            r"^Interface: FastEthernet0/0",
            "'Interface: ...'",
        ),
        ("cisco_ios/show_crypto_ipsec_sa/packetlife_r2_hub.raw", r"current_peer", "'current_peer ...'"),
        ("cisco_ios/show_crypto_isakmp_sa/ipv6_block_form.raw", r"dst: 2001:DB8:0:1::10", "'the dst column"),
        (
            "cisco_xe/show_redundancy_application_group_all/synthetic_active_peer_standby_hot.raw",
            r"My Role",
            "'My Role: ...'",
        ),
        (
            "cisco_xe/show_redundancy_application_group_all/synthetic_active_peer_standby_hot.raw",
            r"Peer Role",
            "'Peer Role",
        ),
        (
            "cisco_xe/show_redundancy_application_group_all/synthetic_active_peer_standby_hot.raw",
            r"^\s*RF state",
            "'RF state",
        ),
        (
            "cisco_xe/show_redundancy_application_group_all/synthetic_unhealthy_two_groups_cold_and_down_wrapped.raw",
            r"My Role: INIT",
            "record 2 of 2 has no 'My Role: ...'",
        ),
        ("cisco_xe/show_redundancy_application_if-mgr_group/synthetic_active_no_shut.raw", r"Shut", "'Shut ...'"),
        ("cisco_xe/show_redundancy_application_if-mgr_group/synthetic_active_no_shut.raw", r"VIP", "'VIP ...'"),
    ],
)
def test_missing_required_line_is_named(fixture: str, drop: str, named: str) -> None:
    command, text = _without(fixture, drop)
    error = _error(command, text)
    assert error.kind == errors.TRUNCATED, error
    assert named in error.message


def test_show_version_without_uptime_is_truncated_not_no_match() -> None:
    command, text = _without("cisco_ios/show_version/packetlife_7200_reload.raw", r"uptime is")
    error = _error(command, text)
    assert "has no '<hostname> uptime is ...' line" in error.message


def test_redundancy_states_without_peer_state_is_truncated() -> None:
    """The old no_peer_line fixture (written from memory; every real sample
    prints "peer state") is now an incomplete output."""
    text = (
        "       my state = 13 -ACTIVE \n           Mode = Simplex\n           Unit = Primary\n"
        "        Unit ID = 1\n Communications = Down      Reason: Failure\n"
    )
    error = _error("show redundancy states", text)
    assert error.kind == errors.TRUNCATED and "'peer state = ...'" in error.message


# --- crypto session: wrapped IKE SA lines -----------------------------------------

SESSION = """Crypto session current status

Interface: Tunnel6
Profile: IKEV2-V6
Session status: UP-ACTIVE
Peer: 2001:DB8:AAAA:BBBB:CCCC:DDDD:EEEE:1 port 500
  Session ID: 4
{ike}
  IPSEC FLOW: permit 41 host 2001:DB8:1:1::1 host 2001:DB8:AAAA:BBBB:CCCC:DDDD:EEEE:1
        Active SAs: 2, origin: crypto map
"""
LOCAL, REMOTE = "2001:DB8:1:1::1/500", "2001:DB8:AAAA:BBBB:CCCC:DDDD:EEEE:1/500"


@pytest.mark.parametrize("version", ["IKEv2", "IKEv1", "IKE"])
@pytest.mark.parametrize(
    "ike",
    [
        "  {v} SA: local {l} remote {r} Active",
        "  {v} SA: local {l} remote {r}\n          Active",
        "  {v} SA: local {l}\n          remote {r} Active",
        "  {v} SA: local {l} remote\n          {r} Active",
        "  {v} SA: local {l}\n          remote {r}\n          Active",
    ],
    ids=["one line", "status wrapped", "remote wrapped", "address wrapped", "wrapped twice"],
)
def test_wrapped_ike_sa_line_keeps_its_sa(version: str, ike: str) -> None:
    text = SESSION.format(ike=ike.format(v=version, l=LOCAL, r=REMOTE))
    (session,) = parse_output("show crypto session", text)
    assert [(sa.version, sa.local, sa.remote, sa.state) for sa in session.ike_sas] == [
        (version, LOCAL, REMOTE, "Active")
    ]
    assert session.active_sas == 2


def test_wrapped_ike_sa_line_cut_short_is_truncated() -> None:
    text = SESSION.format(ike=f"  IKEv2 SA: local {LOCAL} remote {REMOTE}").split("\n  IPSEC")[0]
    error = _error("show crypto session", text)
    assert error.kind == errors.TRUNCATED and error.line.strip().startswith("IKEv2 SA: local")


def test_wrapped_ike_sa_line_followed_by_other_text_is_an_error() -> None:
    text = SESSION.format(ike=f"  IKEv2 SA: local {LOCAL} remote {REMOTE}\n  garbage here")
    assert _error("show crypto session", text).kind == errors.TEMPLATE


# --- show standby: quoted and unquoted group names -----------------------------------


@pytest.mark.parametrize(
    ("line", "name", "configured"),
    [
        ('  Group name is "BRANCH-5-TUNNEL" (cfgd)', "BRANCH-5-TUNNEL", True),
        ("  Group name is BRANCH-5-TUNNEL (cfgd)", "BRANCH-5-TUNNEL", True),
        ("  Group name is hsrp-Gig0/0/1-1 (default)", "hsrp-Gig0/0/1-1", False),
        ('  IP redundancy name is "hsrp-Vl700-1" (default)', "hsrp-Vl700-1", False),
        ("  IP redundancy name is hsrp-Vl700-1 (default)", "hsrp-Vl700-1", False),
        ("  Group name is BRANCH-5-TUNNEL", "BRANCH-5-TUNNEL", False),
    ],
)
def test_group_name_quoted_or_not(line: str, name: str, configured: bool) -> None:
    text = (FIXTURES / "show_standby/packetlife_r2_active.raw").read_text()
    text = text.replace('  Group name is "BRANCH-5-TUNNEL" (cfgd)', line)
    (group,) = parse_output("show standby", text)
    assert (group.group_name, group.group_name_configured) == (name, configured)


def test_group_name_line_that_does_not_read_is_an_error() -> None:
    text = (FIXTURES / "show_standby/packetlife_r2_active.raw").read_text()
    text = text.replace('  Group name is "BRANCH-5-TUNNEL" (cfgd)', '  Group name is "BRANCH 5" tunnel (cfgd)')
    assert _error("show standby", text).kind == errors.TEMPLATE


# --- show crypto ipsec sa: "key: value" with any blanks ------------------------------


@pytest.mark.parametrize("raw", sorted((FIXTURES / "show_crypto_ipsec_sa").glob("*.raw")), ids=lambda p: p.stem)
@pytest.mark.parametrize(
    "respace",
    [
        lambda text: re.sub(r": ", ":", text),  # "remote crypto endpt.:10.0.0.1"
        lambda text: re.sub(r", ", ",", re.sub(r": ", ":", text)),
        lambda text: re.sub(r"(\S): ", r"\1 : ", text),  # "current_peer : 10.0.0.1"
        lambda text: re.sub(r"([:,]) ", r"\1   ", text),
    ],
    ids=["no blank after colon", "no blank after colon or comma", "blank before colon", "extra blanks"],
)
def test_ipsec_key_value_spacing(raw: Path, respace) -> None:
    text = raw.read_text()
    expected = [record.to_dict() for record in parse_output("show crypto ipsec sa", text)]
    assert [record.to_dict() for record in parse_output("show crypto ipsec sa", respace(text))] == expected


def test_remote_endpoint_without_blank() -> None:
    text = (FIXTURES / "show_crypto_ipsec_sa/packetlife_r2_hub.raw").read_text()
    (line,) = [line for line in text.splitlines() if "remote crypto endpt." in line][:1]
    squeezed = line.replace("remote crypto endpt.: ", "remote crypto endpt.:")
    records = parse_output("show crypto ipsec sa", text.replace(line, squeezed))
    assert records[0].remote_endpoint and records[0].local_endpoint
