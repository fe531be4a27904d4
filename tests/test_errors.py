"""Output that is not a command's answer yields a specific ParseError that
names the command, the line and its text; nothing else escapes."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from support.paths import FIXTURES, command_of, fixture_platform, fixture_raws

from ipsec_ha_monitor.parse import DEFAULT_PLATFORM, ParseError, errors, parse_output

STANDBY = (FIXTURES / "show_standby/packetlife_r2_active.raw").read_text()
IPSEC = (FIXTURES / "show_crypto_ipsec_sa/packetlife_r2_hub.raw").read_text()


def _error(command: str, text: str, platform: str = DEFAULT_PLATFORM) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parse_output(command, text, platform)
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


@pytest.mark.parametrize(
    ("text", "line_number", "line"),
    [("", 0, ""), ("\n\n", 0, ""), ("R1#\n", 1, "R1#"), ("R1#show standby\nR1#\n\n", 2, "R1#")],
)
def test_empty_output(text: str, line_number: int, line: str) -> None:
    error = _error("show standby", text)
    assert (error.kind, error.line_number, error.line) == (errors.EMPTY, line_number, line)


def test_load_header_alone_is_empty_but_header_before_output_is_fine() -> None:
    header = (
        "Load for five secs: 2%/0%; one minute: 1%; five minutes: 1%\n"
        "Time source is NTP, 05:47:45.686 EST Thu Jun 6 2019\n"
    )
    error = _error("show standby", header)
    assert (error.kind, error.line_number) == (errors.EMPTY, 2)
    assert error.line.startswith("Time source is NTP")
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
    assert "1 inbound ESP SA(s) but 0 Status line(s)" in error.message


def test_garbage_output() -> None:
    error = _error("show redundancy states", "\x00\x01 garbage\nmore garbage\n")
    assert (error.kind, error.line_number) == (errors.NO_MATCH, 1)


def test_unknown_state_word_points_at_its_line() -> None:
    text = STANDBY.replace("State is Active", "State is Frobnicating")
    error = _error("show standby", text)
    assert (error.kind, error.line_number, error.line.strip()) == (errors.BAD_VALUE, 2, "State is Frobnicating")


def test_unknown_rf_state_code() -> None:
    text = (
        "       my state = 42 -WARP SPEED\n     peer state = 8  -STANDBY HOT\n"
        "           Mode = Duplex\n        Unit ID = 0\n"
    )
    error = _error("show redundancy states", text)
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


@pytest.mark.parametrize("raw", fixture_raws(), ids=lambda p: f"{fixture_platform(p)}/{p.parent.name}/{p.stem}")
def test_any_cut_of_any_fixture_gives_records_or_parse_error(raw) -> None:
    """Never an exception escaping: cut every fixture at every line (and
    mid-line) and parse what is left."""
    text = raw.read_text()
    command, platform = command_of(raw.parent), fixture_platform(raw)
    cuts = [i for i, char in enumerate(text) if char == "\n"] + list(range(0, len(text), 37))
    for cut in cuts:
        try:
            parse_output(command, text[:cut], platform)
        except ParseError as exc:
            assert exc.kind != errors.INTERNAL, exc


def test_mutated_outputs_give_records_or_parse_error() -> None:
    """Seeded fuzzing: fixtures with lines dropped, repeated, swapped, cut or
    garbled, parsed as any command (on its platform). Only ParseError may come out."""
    rng = random.Random(20261127)
    raws = fixture_raws()
    texts = [raw.read_text() for raw in raws]
    commands = sorted({(command_of(raw.parent), fixture_platform(raw)) for raw in raws})
    junk = ["", "x", "999999999999999999999", "-1", "Active", "(", ")", "%", "0x", "unknown", "never", "::"]
    for _ in range(3000):
        lines = rng.choice(texts).splitlines()
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(lines))
            operation = rng.randrange(5)
            if operation == 0:
                del lines[i]
            elif operation == 1:
                lines.insert(i, rng.choice(lines))
            elif operation == 2:
                words = lines[i].split(" ")
                words[rng.randrange(len(words))] = rng.choice(junk)
                lines[i] = " ".join(words)
            elif operation == 3:
                lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
            else:
                j = rng.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
            if not lines:
                break
        try:
            command, platform = rng.choice(commands)
            parse_output(command, "\n".join(lines), platform)
        except ParseError as exc:
            assert exc.kind != errors.INTERNAL, exc


def test_threads_share_compiled_templates_safely() -> None:
    jobs = [(command_of(raw.parent), raw.read_text(), fixture_platform(raw)) for raw in fixture_raws()] * 20
    expected = {job: [r.to_dict() for r in parse_output(*job)] for job in set(jobs)}
    start = threading.Barrier(4)

    def parse(job: tuple[str, str, str]) -> bool:
        return [r.to_dict() for r in parse_output(*job)] == expected[job]

    def worker(chunk: list[tuple[str, str, str]]) -> bool:
        start.wait()
        return all(parse(job) for job in chunk)

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(worker, [jobs[i::4] for i in range(4)]))


def test_hsrp_key_never_reaches_error_text() -> None:
    raw = (FIXTURES / "show_standby/tracking_legacy_names.raw").read_text()
    lines = raw.splitlines()
    cut = "\n".join(lines[: next(i for i, line in enumerate(lines) if "Authentication" in line) + 1])
    error = _error("show standby", cut)
    assert error.kind == errors.TRUNCATED and "Authentication text" in error.line
    for text in (str(error), error.line, error.message, repr(error.to_dict())):
        assert "fweq12as" not in text


RG_WRAPPED = "cisco_xe/show_redundancy_application_group_all/synthetic_unhealthy_two_groups_cold_and_down_wrapped.raw"
IF_MGR = "cisco_xe/show_redundancy_application_if-mgr_group/synthetic_active_no_shut.raw"


@pytest.mark.parametrize(
    ("fixture", "cut_after", "expected"),
    [
        (
            "cisco_ios/show_crypto_ipsec_sa/packetlife_r2_hub.raw",
            "current outbound spi",
            "no complete inbound/outbound SA",
        ),
        (
            "cisco_ios/show_redundancy/duplex_with_peer.raw",
            "Current Software state = ACTIVE",
            "Peer Processor Information",
        ),
        ("cisco_ios/show_redundancy/duplex_with_peer.raw", "Standby Location", "no 'Current Software state' line"),
        ("cisco_ios/show_version/packetlife_7200_reload.raw", "uptime is", "System returned to ROM by"),
        ("cisco_ios/show_crypto_session/packetlife_r2_crypto_map.raw", "Session status", "'Peer: ...'"),
        ("cisco_ios/show_crypto_session/ikev2_idle_fvrf.raw", "IPSEC FLOW: permit ip", "without its 'Active SAs' line"),
        ("cisco_ios/show_redundancy_inter-device/packetlife_r1_standby.raw", "Scheme", "'Security: ...'"),
        ("cisco_ios/show_redundancy_inter-device/packetlife_r1_standby.raw", "Groupname", "no 'Security: ...' line"),
        ("cisco_ios/show_redundancy_states/packetlife_r2_active.raw", "my state", "'peer state = ...', 'Mode = ...'"),
        ("cisco_ios/show_redundancy_states/packetlife_r2_active.raw", "Mode", "no 'Unit ID = ...' line"),
        (RG_WRAPPED, "Group ID:2", "record 2 of 2 has no 'My Role: ...'"),
        (RG_WRAPPED, "Seq Number 27719, Pkt Loss", "a Pkts line without its Pkt Loss value"),
        (IF_MGR, "interface      GigabitEthernet0/0/1", "record 2 of 2 has no 'Shut ...', 'VIP ...' line"),
    ],
)
def test_output_cut_short_is_truncated_not_a_thin_success(fixture: str, cut_after: str, expected: str) -> None:
    raw = FIXTURES.parent / fixture
    lines = raw.read_text().splitlines()
    keep = next(i for i, line in enumerate(lines) if cut_after in line) + 1
    error = _error(command_of(raw.parent), "\n".join(lines[:keep]), fixture_platform(raw))
    assert error.kind == errors.TRUNCATED
    assert expected in error.message
    assert (error.line_number, error.line) == (keep, lines[keep - 1])


RG_ACTIVE = "cisco_xe/show_redundancy_application_group_all/synthetic_active_peer_standby_hot.raw"


@pytest.mark.parametrize(
    "cut_after",
    [
        "\t RF state: ACTIVE",  # every group block ends with its Peer RF state
        "RG Protocol RG 1",
        "Priority: 150",
        "role change to standby: 2",  # the reload counters are the next lines
        "RG Media Context for RG 1",
        "Stats:",
        "Standby Peer: Present. Hold Timer",  # the peer's counters are the next line
    ],
)
def test_a_redundancy_group_cut_inside_a_block_is_truncated(cut_after: str) -> None:
    """`show redundancy application group all` cut inside a group's blocks
    is no group whose remaining values are unknown: the rules would judge
    the peer's RF state, the reload counters or the hello losses on nothing."""
    raw = FIXTURES.parent / RG_ACTIVE
    lines = raw.read_text().splitlines()
    keep = next(i for i, line in enumerate(lines) if cut_after in line) + 1
    error = _error("show redundancy application group all", "\n".join(lines[:keep]) + "\n", "cisco_xe")
    assert error.kind == errors.TRUNCATED
    assert (error.line_number, error.line) == (keep, lines[keep - 1])


def test_template_error_names_the_right_occurrence() -> None:
    lines = IPSEC.splitlines()
    # An inbound ESP list running straight into the next proxy: the template's
    # Error rule fires on the second "protected vrf" line, not the first.
    esp = lines.index("     inbound esp sas:")
    broken = [*lines[: esp + 2], *lines[lines.index("   protected vrf: (none)") :]]
    error = _error("show crypto ipsec sa", "\n".join(broken))
    assert error.kind == errors.TEMPLATE
    assert "ESP SA list not closed" in error.message
    assert error.line_number == esp + 3 and error.line.strip() == "protected vrf: (none)"


def test_bad_value_points_at_its_own_line() -> None:
    text = (
        "Redundancy Facility Event Log:\n"
        "00:00:16 client added: RF_INTERNAL_MSG(0) seq=0\n"
        "00:00:17 *my state = NEGOTIATION(3) peer state = DISABLED(1)\n"
        "00:00:18 my state = NEGOTIATION(3) *peer state = ACTIVE WARM(16)\n"
    )
    error = _error("show redundancy history", text)
    assert (error.kind, error.line_number) == (errors.BAD_VALUE, 4)


def test_syslog_lines_inside_tables_are_skipped() -> None:
    brief = (
        "Interface   Grp  Pri P State   Active          Standby         Virtual IP\n"
        "Port-channel4010\n"
        "*Nov 26 10:00:01.123: %HSRP-5-STATECHANGE: Port-channel4010 Grp 1 state Standby -> Active\n"
        "            1    120 P Active  local           10.1.254.3      10.1.254.1\n"
        "Vl20        20   100   Standby 10.20.0.2       local           10.20.0.1\n"
    )
    assert [(e.interface, e.group) for e in parse_output("show standby brief", brief)] == [
        ("Port-channel4010", 1),
        ("Vl20", 20),
    ]
    history = (
        "Redundancy Facility Event Log:\n"
        "1d02h: %HSRP-5-STATECHANGE: FastEthernet0/0 Grp 1 state Standby -> Active\n"
        "1d02h: *my state = ACTIVE(13) peer state = DISABLED(1)\n"
    )
    (event,) = parse_output("show redundancy history", history)
    assert event.my_state.code == 13
