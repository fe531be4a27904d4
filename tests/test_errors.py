"""Output that is not a command's answer yields a specific ParseError that
names the command, the line and its text; nothing else escapes."""

from __future__ import annotations

import pytest
from conftest import FIXTURES, command_of

from monitor.parse import ParseError, errors, parse_output

STANDBY = (FIXTURES / "show_standby/packetlife_r2_active.raw").read_text()
IPSEC = (FIXTURES / "show_crypto_ipsec_sa/packetlife_r2_hub.raw").read_text()


def _error(command: str, text: str) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parse_output(command, text)
    return caught.value


def test_invalid_input_names_the_line() -> None:
    text = "R1#show redundancy inter-device\n                      ^\n% Invalid input detected at '^' marker.\n\nR1#"
    error = _error("show redundancy inter-device", text)
    assert error.kind == errors.INVALID_INPUT
    assert (error.line_number, error.line) == (3, "% Invalid input detected at '^' marker.")
    assert error.command == "show redundancy inter-device"
    assert "show redundancy inter-device: invalid_input:" in str(error) and "line 3" in str(error)


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ('% Ambiguous command:  "sh red"', errors.AMBIGUOUS),
        ("% Incomplete command.", errors.INCOMPLETE_COMMAND),
        ("% Crypto not configured on this platform", errors.IOS_ERROR),
    ],
)
def test_other_ios_messages(line: str, kind: str) -> None:
    error = _error("show crypto session", f"\n{line}\n")
    assert (error.kind, error.line_number, error.line) == (kind, 2, line)


def test_syslog_message_in_output_is_not_an_error() -> None:
    text = "%HSRP-5-STATECHANGE: FastEthernet0/0 Grp 1 state Standby -> Active\n" + STANDBY
    (group,) = parse_output("show standby", text)
    assert group.state == "active"


def test_paging_left_in() -> None:
    lines = IPSEC.splitlines()
    text = "\n".join([*lines[:20], " --More-- ", *lines[20:]])
    error = _error("show crypto ipsec sa", text)
    assert (error.kind, error.line_number) == (errors.PAGING, 21)
    assert "terminal length 0" in error.message


@pytest.mark.parametrize("text", ["", "\n\n", "R1#\n", "R1#show standby\nR1#\n"])
def test_empty_output(text: str) -> None:
    assert _error("show standby", text).kind == errors.EMPTY


def test_load_header_alone_is_empty_but_header_before_output_is_fine() -> None:
    header = (
        "Load for five secs: 2%/0%; one minute: 1%; five minutes: 1%\n"
        "Time source is NTP, 05:47:45.686 EST Thu Jun 6 2019\n"
    )
    assert _error("show standby", header).kind == errors.EMPTY
    (group,) = parse_output("show standby", header + STANDBY)
    assert group.group_name == "BRANCH-5-TUNNEL"


def test_truncated_standby_group() -> None:
    cut = "\n".join(STANDBY.splitlines()[:6])  # stops after the MAC lines
    error = _error("show standby", cut)
    assert error.kind == errors.TRUNCATED
    assert (error.line_number, error.line.strip()) == (6, "Local virtual MAC address is 0000.0c07.ac01 (v1 default)")
    assert "'Preemption ...'" in error.message and "'Priority ...'" in error.message


def test_truncated_inside_esp_sa_list() -> None:
    lines = IPSEC.splitlines()
    cut = "\n".join(lines[: lines.index("     outbound esp sas:") + 3])
    error = _error("show crypto ipsec sa", cut)
    assert error.kind == errors.TRUNCATED
    assert "outbound esp SA list" in error.message


def test_truncated_between_spi_and_status() -> None:
    lines = IPSEC.splitlines()
    # Drop the inbound Status line: the list still closes, one SA lacks its status.
    text = "\n".join(line for n, line in enumerate(lines) if not (line.strip() == "Status: ACTIVE" and n < 30))
    error = _error("show crypto ipsec sa", text)
    assert error.kind == errors.BAD_VALUE
    assert "without a Status line" in error.message


def test_garbage_output() -> None:
    error = _error("show redundancy states", "\x00\x01 garbage\nmore garbage\n")
    assert (error.kind, error.line_number) == (errors.NO_MATCH, 1)


def test_unknown_state_word_points_at_its_line() -> None:
    text = STANDBY.replace("State is Active", "State is Frobnicating")
    error = _error("show standby", text)
    assert (error.kind, error.line_number, error.line.strip()) == (errors.BAD_VALUE, 2, "State is Frobnicating")


def test_unknown_rf_state_code() -> None:
    error = _error("show redundancy states", "       my state = 42 -WARP SPEED\n")
    assert (error.kind, error.line_number) == (errors.BAD_VALUE, 1)


def test_unsupported_command() -> None:
    error = _error("show ip route", "whatever")
    assert error.kind == errors.UNSUPPORTED_COMMAND
    assert "show redundancy states" in error.message


def test_crlf_line_endings() -> None:
    (group,) = parse_output("show standby", STANDBY.replace("\n", "\r\n"))
    assert group.group_name == "BRANCH-5-TUNNEL"


def test_valid_empty_answers() -> None:
    assert parse_output("show crypto isakmp sa", "IPv4 Crypto ISAKMP SA\ndst   src   state   conn-id status\n") == []
    assert parse_output("show crypto session", "Crypto session current status\n\n") == []


@pytest.mark.parametrize("raw", sorted(FIXTURES.glob("*/*.raw")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_any_cut_of_any_fixture_gives_records_or_parse_error(raw) -> None:
    """Never an exception escaping: cut every fixture at every line (and
    mid-line) and parse what is left."""
    text = raw.read_text()
    command = command_of(raw.parent)
    cuts = [i for i, char in enumerate(text) if char == "\n"] + list(range(0, len(text), 37))
    for cut in cuts:
        try:
            parse_output(command, text[:cut])
        except ParseError:
            pass
