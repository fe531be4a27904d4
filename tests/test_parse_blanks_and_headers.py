"""Blanks are what IOS prints, and a header that does not read is no empty
answer.

fsm.py compiles every template regex with re.ASCII: `\\s` is a space or a
tab, `\\d` an ASCII digit. A Unicode blank (NBSP, U+2000..U+200A, U+3000,
U+1680) is an ordinary character, so an output whose blanks are those is no
output any template reads: it is refused, never read as if it were IOS's
(every real output we hold is ASCII). Without the flag, Python's `re` on str
reads NBSP as a blank and most of these outputs parse as they do in ASCII.

A value holding one (at its end too) is refused by the builders: a blank
IOS does not print is never stripped as if it were one.

A command whose header alone is a valid empty answer (no SAs, no sessions,
an empty event log: commands.py `empty_answer`) must not accept a line that
only starts as that header, or a header followed by lines the template does
not know: such an output is an error, never "ok, no records". The headers are
taken from every real output and fixture: the lines that parse alone as an
empty answer.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from support.paths import raw_outputs
from test_parse_linear import MIXED_BLANKS
from test_parse_properties import outputs

from ipsec_ha_monitor.parse import ParseError, errors, parse_output


def _refused(command: str, text: str, platform: str) -> bool:
    try:
        parse_output(command, text, platform)
    except ParseError:
        return True
    return False


def _blanks_made(blank: str, text: str) -> str:
    return text.replace(" ", blank).replace("\t", blank)


def _at_line_ends(blank: str, text: str) -> str:
    return "\n".join(line + blank if line.strip() else line for line in text.splitlines()) + "\n"


@pytest.mark.parametrize("alter", [_blanks_made, _at_line_ends], ids=["blanks made it", "after each line"])
@pytest.mark.parametrize("blank", MIXED_BLANKS, ids=lambda b: f"U+{ord(b):04X}")
def test_an_output_with_unicode_blanks_is_refused(blank: str, alter) -> None:
    """Where a template wants a blank, the line reads as no rule's line (an
    unknown line, or an answer without its header); where a value is, the
    value holds it and the builder refuses it (builders._printed), so a
    trailing one is never stripped as if it were a blank."""
    read = []
    for output in outputs():
        if not _refused(output.command, alter(blank, output.text), output.platform):
            read.append(output.name)
    assert len(outputs()) > 100
    assert not read, f"read with U+{ord(blank):04X} ({alter.__name__}): {read}"


def test_a_value_ending_in_nbsp_is_a_bad_value() -> None:
    text = "Redundancy Facility Event Log:\n00:00:17 RF_EVENT_GO_STANDBY(512) op=0\n"
    assert parse_output("show redundancy history", text)
    with pytest.raises(ParseError) as caught:
        parse_output("show redundancy history", text.replace("op=0", "op=0\u00a0"))
    assert caught.value.kind == errors.BAD_VALUE
    assert caught.value.line_number == 2
    assert "U+00A0" in caught.value.message


def test_a_unicode_digit_is_no_digit() -> None:
    # "\d" on str would read Arabic-Indic digits: the template must refuse
    # the line, not leave it to whatever reads the value next.
    arabic = str.maketrans("0123456789", "".join(map(chr, range(0x0660, 0x066A))))
    event = "00:00:09 *my state = INITIALIZATION(2) *peer state = DISABLED(1)"
    assert parse_output("show redundancy history", f"Redundancy Facility Event Log:\n{event}\n")
    with pytest.raises(ParseError) as caught:
        parse_output("show redundancy history", f"Redundancy Facility Event Log:\n{event.translate(arabic)}\n")
    assert caught.value.line_number == 2
    assert caught.value.kind == errors.TEMPLATE


@functools.cache
def lone_headers() -> tuple[tuple[str, str, str], ...]:
    """(platform, command, line) for each line of a real output or fixture
    that alone parses as a valid empty answer."""
    found: set[tuple[str, str, str]] = set()
    for raw in raw_outputs():
        for line in Path(raw.path).read_text(encoding="utf-8").splitlines():
            if line.strip() and (raw.platform, raw.command, line) not in found:
                try:
                    if parse_output(raw.command, line + "\n", raw.platform) == []:
                        found.add((raw.platform, raw.command, line))
                except ParseError:
                    pass
    return tuple(sorted(found))


# The "Syslog logging: ..." line opens a header block of configuration
# lines whose layout varies by train: they are skipped by design
# (cisco_ios_show_logging.textfsm), so only that line's own words count.
HEADER_BLOCKS = {"show logging"}


def garbled(line: str) -> dict[str, str]:
    """name -> an output made of `line` garbled, or followed by garbage."""
    return {
        "nbsp run and x:": line + "\u00a0" * 4000 + "x:\n",
        "blanks then a word": line.rstrip(" \t:") + " " * 40 + "x:\n",
        "a word after it": line + " x\n",
        "its blanks made NBSP": line.replace(" ", "\u00a0") + "\n",
        "then a garbage line": line + "\nx y z\n",
    }


def test_the_lone_headers_are_those_of_every_command_with_an_empty_answer() -> None:
    commands = {(platform, command) for platform, command, _ in lone_headers()}
    assert commands >= {
        ("cisco_ios", "show standby brief"),
        ("cisco_ios", "show redundancy switchover history"),
        ("cisco_ios", "show redundancy history"),
        ("cisco_ios", "show crypto isakmp sa"),
        ("cisco_ios", "show crypto ikev2 sa"),
        ("cisco_ios", "show crypto session"),
        ("cisco_xe", "show redundancy application group"),
        ("cisco_xe", "show redundancy application if-mgr group"),
    }


@pytest.mark.parametrize("name", list(garbled("x")))
def test_a_garbled_lone_header_is_an_error(name: str) -> None:
    accepted = []
    for platform, command, line in lone_headers():
        if command in HEADER_BLOCKS and name != "its blanks made NBSP":
            continue
        if not _refused(command, garbled(line)[name], platform):
            accepted.append((platform, command, line))
    assert not accepted, f"{name}: ok with no records for {accepted}"


def test_the_garbage_event_log_header_of_the_issue_is_an_error() -> None:
    assert parse_output("show redundancy history", "Redundancy Facility Event Log:\n") == []
    assert parse_output("show redundancy history", "Redundancy Facility Event Log\n\nR1#\n") == []
    for text in (
        ("Redundancy Facility Event Log" + "\u00a0" * 4000 + "x:\n") * 50,
        "Redundancy Facility Event Log: (none)\n",
        "Redundancy Facility Event Log:\ngarbage\n",
        "Redundancy Facility Event Log:\n00:00:09\u00a0client added: RF_INTERNAL_MSG(0) seq=0\n",
    ):
        with pytest.raises(ParseError) as caught:
            parse_output("show redundancy history", text)
        assert caught.value.kind == errors.TEMPLATE
        assert caught.value.line_number in (1, 2)


def test_no_sas_found_is_read_only_alone() -> None:
    assert parse_output("show crypto ipsec sa", "No SAs found\n") == []
    assert parse_output("show crypto ipsec sa", "R1#show crypto ipsec sa\n\nNo SAs found\n\nR1#\n") == []
    for text in ("No SAs found x\n", "No\u00a0SAs found\n", "No SAs found\nx y z\n", "No SAs found\ninterface: Tu0\n"):
        with pytest.raises(ParseError) as caught:
            parse_output("show crypto ipsec sa", text)
        assert caught.value.kind == errors.TEMPLATE, text
