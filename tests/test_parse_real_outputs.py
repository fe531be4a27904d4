"""Issue 25's real-output cases, each on the real output it was found in
(tests/corpus, with its source in MANIFEST.tsv) or, where the output is not
public in full, on the quoted lines: informational lines, contradictions,
a line cut short, terminal control sequences, a malformed log time stamp,
an ambiguous abbreviation. The whole-corpus properties are in
tests/test_parse_properties.py."""

from __future__ import annotations

import pytest
from support.paths import CORPUS, FIXTURES

from ipsec_ha_monitor.parse import ParseError, errors, parse_output, parse_result, resolve

IPV6_SESSION = CORPUS / "show_crypto_session" / "genie__iosxe_golden_output3.raw"
STANDBY = FIXTURES / "show_standby" / "packetlife_r1_standby.raw"
ISAKMP = FIXTURES / "show_crypto_isakmp_sa" / "standby_unit_stdby.raw"


def _error(command: str, text: str, **options: bool) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parse_output(command, text, **options)
    return caught.value


# --- informational lines ------------------------------------------------------------


@pytest.mark.parametrize("platform", ["cisco_xe", "cisco_ios"])
def test_ipv6_session_with_a_system_ip_line_parses(platform: str) -> None:
    """The real IOS-XE IPv6 session (genieparser ShowCryptoSession
    golden_output3): its "System IP: ...  Interface: Tu1" line is
    informational, skipped and counted; everything else reads."""
    parsed = parse_result("show crypto session", IPV6_SESSION.read_text(encoding="utf-8"), platform)
    ((number, line),) = parsed.skipped
    assert parsed.skipped_lines == 1
    assert (number, line.split()) == (7, ["System", "IP:", "13.13.13.11", "Interface:", "Tu1"])
    (session,) = parsed.records
    assert (session.interface, session.status, session.up) == ("Tunnel1", "UP-ACTIVE", True)
    assert (session.peer, session.peer_port, session.session_id) == ("2001:DB8:ACAD:1::2", 500, 15)
    assert [(sa.version, sa.state) for sa in session.ike_sas] == [("IKEv2", "Active")]
    assert [(flow.flow, flow.active_sas) for flow in session.flows] == [("permit ipv6 ::/0 ::/0", 2)]


def test_any_unknown_line_inside_a_session_is_informational() -> None:
    text = IPV6_SESSION.read_text(encoding="utf-8")
    lines = text.splitlines()
    extra = "\n".join([*lines[:8], "      Some future line: 42", *lines[8:]])
    parsed = parse_result("show crypto session", extra)
    assert parsed.skipped_lines == 2 and parsed.records == parse_output("show crypto session", text)


def test_a_structural_line_that_does_not_read_is_still_an_error() -> None:
    """A session key this template reads ("IKEv2 SA:", "Session status:"),
    in a form it cannot read, is refused: never a session that lost it."""
    text = IPV6_SESSION.read_text(encoding="utf-8").replace("  IPSEC FLOW: permit", "  IPSEC FLOW:")
    text = text.replace("Session status: UP-ACTIVE", "Session status: UP ACTIVE NOW")
    error = _error("show crypto session", text)
    assert error.kind == errors.TEMPLATE and error.line.startswith("Session status")


def test_an_unknown_isakmp_row_is_still_an_error() -> None:
    """Table rows are structural: a row that does not read never vanishes."""
    text = ISAKMP.read_text(encoding="utf-8").replace("1002    0 STDBY", "")
    assert _error("show crypto isakmp sa", text).kind == errors.TEMPLATE


def test_nothing_is_counted_where_every_line_is_known() -> None:
    parsed = parse_result("show standby", STANDBY.read_text(encoding="utf-8"))
    assert parsed.skipped == () and len(parsed.records) == 2


# --- contradictions ---------------------------------------------------------------


def test_a_hsrp_state_stated_twice_differently_is_inconsistent() -> None:
    text = STANDBY.read_text(encoding="utf-8").replace(
        "  State is Standby\n", "  State is Active\n  State is Standby\n", 1
    )
    error = _error("show standby", text)
    assert error.kind == errors.INCONSISTENT
    assert (error.line_number, error.line.strip()) == (4, "State is Standby")
    assert "'Active' (line 3), then 'Standby'" in error.message


@pytest.mark.parametrize(
    ("command", "raw"),
    [
        ("show redundancy states", FIXTURES / "show_redundancy_states" / "packetlife_r1_standby_hot.raw"),
        ("show redundancy inter-device", FIXTURES / "show_redundancy_inter-device" / "packetlife_r1_standby.raw"),
        ("show standby", STANDBY),
        ("show crypto isakmp sa", ISAKMP),
        ("show version", FIXTURES / "show_version" / "packetlife_7200_reload.raw"),
    ],
)
def test_a_whole_output_given_twice_is_inconsistent(command: str, raw) -> None:
    """Single-record outputs no longer merge into one record, and
    multi-record ones no longer give each record twice."""
    text = raw.read_text(encoding="utf-8")
    assert parse_output(command, text)
    assert _error(command, text + "\n" + text).kind == errors.INCONSISTENT


def test_log_messages_and_events_may_repeat() -> None:
    """A message logged twice is two messages: never refused."""
    raw = FIXTURES / "show_logging" / "packetlife_r2_failover_console.raw"
    text = raw.read_text(encoding="utf-8")
    assert len(parse_output("show logging", text + "\n" + text)) == 2 * len(parse_output("show logging", text))


def test_session_ids_per_ike_sa_are_not_a_contradiction() -> None:
    """IOS prints a "Session ID:" line per IKE SA of a session."""
    text = IPV6_SESSION.read_text(encoding="utf-8")
    text = text.replace(
        "  IPSEC FLOW:",
        "  Session ID: 16\n"
        "  IKEv2 SA: local 2001:DB8:ACAD:1::1/500 remote 2001:DB8:ACAD:1::3/500 Active\n"
        "  IPSEC FLOW:",
    )
    (session,) = parse_output("show crypto session", text)
    assert len(session.ike_sas) == 2


# --- a last line cut short -----------------------------------------------------------


def test_hsrp_cut_at_priority_1_is_refused_without_a_prompt() -> None:
    text = STANDBY.read_text(encoding="utf-8")
    cut = text[: text.index("Priority 100") + len("Priority 1")]
    error = _error("show standby", cut, complete=False)
    assert error.kind == errors.TRUNCATED and error.line.strip() == "Priority 1"
    # Once the prompt came (the poller's case), the same text is whole.
    assert parse_output("show standby", cut + "\nR1#", complete=False)[0].priority == 1


def test_isakmp_status_cut_to_activ_is_a_bad_value() -> None:
    """A word IOS only prints whole is refused cut short, prompt or not."""
    text = ISAKMP.read_text(encoding="utf-8").replace("1002    0 STDBY", "1002    0 STDB")
    error = _error("show crypto isakmp sa", text)
    assert error.kind == errors.BAD_VALUE and "STDB" in error.line
    row = "10.0.0.3        172.16.0.4      QM_IDLE           1001 ACTIVE (deleted)"
    header = "IPv4 Crypto ISAKMP SA\ndst             src             state          conn-id status\n"
    (sa,) = parse_output("show crypto isakmp sa", header + row + "\n")
    assert (sa.status, sa.deleted) == ("ACTIVE (deleted)", True)
    error = _error("show crypto isakmp sa", header + row[: row.index("ACTIVE") + 5])
    assert error.kind == errors.BAD_VALUE


def test_rf_state_name_cut_short_is_a_bad_value() -> None:
    raw = FIXTURES / "show_redundancy_states" / "packetlife_r1_standby_hot.raw"
    text = raw.read_text(encoding="utf-8")
    assert "peer state = 13 -ACTIVE" in text
    error = _error("show redundancy states", text.replace("peer state = 13 -ACTIVE", "peer state = 13 -ACTIV"))
    assert error.kind == errors.BAD_VALUE and error.line.strip() == "peer state = 13 -ACTIV"


def test_show_version_cut_inside_last_reload_reason_is_refused() -> None:
    raw = CORPUS / "show_version" / "genie__iosxe_golden_output_9.raw"
    text = raw.read_text(encoding="utf-8")
    start = text.index("Last reload reason: Reload command")
    for end in range(start + 1, start + len("Last reload reason: Reload command")):
        assert _error("show version", text[:end], complete=False).kind == errors.TRUNCATED


# --- terminal control sequences --------------------------------------------------------


def test_erase_line_at_a_line_start_is_stripped() -> None:
    text = STANDBY.read_text(encoding="utf-8")
    noisy = text.replace("  State is", "\x1b[K  State is").replace("  Priority", "\x1b[1;31m  Priority\x1b[0m")
    assert parse_output("show standby", noisy) == parse_output("show standby", text)


# --- a malformed log time stamp ------------------------------------------------------------

# Quoted from a real Catalyst 9300 console log (the report; the
# published page is a blog's, whose licence does not allow a copy here).
C9300_LOG = """\
*Jun 10 11:39:38.046: %STACKMGR-6-STANDBY_ELECTED: Switch 2 R0/0: stack_mgr:  Switch 1 has been elected STANDBY.
*Jun 10 19 11:39:38.047: %IOSXE_REDUNDANCY-6-PEER: Active detected switch 1 as standby.
*Jun 10 11:40:03.060: %REDUNDANCY-5-PEER_MONITOR_EVENT: Active detected a standby insertion (raw-event=PEER_FOUND(4))
*Jun 10 11:40:43.060: %HA_CONFIG_SYNC-6-BULK_CFGSYNC_SUCCEED: Bulk Sync succeeded
*Jun 10 11:40:53.060: %RF-5-RF_TERMINAL_STATE: Terminal state reached for (SSO)
"""


@pytest.mark.parametrize("layout", ["console", "buffer"])
def test_a_malformed_time_stamp_keeps_the_message(layout: str) -> None:
    text = C9300_LOG if layout == "console" else f"Syslog logging: enabled\n\nLog Buffer (4096 bytes):\n{C9300_LOG}"
    messages = parse_output("show logging", text)
    assert [m.mnemonic for m in messages] == [
        "STANDBY_ELECTED",
        "PEER",
        "PEER_MONITOR_EVENT",
        "BULK_CFGSYNC_SUCCEED",
        "RF_TERMINAL_STATE",
    ]
    peer = messages[1]
    assert (peer.timestamp, peer.facility, peer.severity) == (None, "IOSXE_REDUNDANCY", 6)
    assert peer.text == "Active detected switch 1 as standby." and peer.continuation == []
    assert messages[4].timestamp == "*Jun 10 11:40:53.060"


# --- an ambiguous abbreviation ---------------------------------------------------------------


def test_an_ambiguous_abbreviation_names_the_candidates() -> None:
    with pytest.raises(ParseError) as caught:
        resolve("sh re")
    error = caught.value
    assert error.kind == errors.AMBIGUOUS_ABBREVIATION == "ambiguous_abbreviation"
    for candidate in ("show redundancy", "show redundancy states", "show redundancy inter-device"):
        assert repr(candidate) in error.message
    assert "show standby" not in error.message


def test_unique_and_unknown_commands_are_unchanged() -> None:
    assert resolve("sh red sta").command == "show redundancy states"
    assert resolve("sh red").command == "show redundancy"
    with pytest.raises(ParseError) as caught:
        resolve("show ip route")
    assert caught.value.kind == errors.UNSUPPORTED_COMMAND
