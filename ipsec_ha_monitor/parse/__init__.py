"""Parsing layer: raw show-command output -> typed records.

    resolve(command, platform)            -> the CommandSpec (abbreviations allowed)
    parse_output(command, text, platform) -> list of records, or ParseError
    parse_result(command, text, platform) -> Parsed: the records, and the
                                             informational lines skipped
    parse_log_message(line)               -> one Cisco log line's LogMessage
                                             (show logging's row; syslog's too)

`platform` is the device's netmiko device type (`cisco_ios`, the default,
or `cisco_xe`): the command table and its CliTable index have a row per
platform and command.

Nothing else escapes: device error messages, paging, truncation, values IOS
is not known to print, an output that contradicts itself and template
failures all become a ParseError naming the command, the line and its text.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import textfsm

from ipsec_ha_monitor.parse import consistency, errors
from ipsec_ha_monitor.parse.builders import BadValue, Incomplete
from ipsec_ha_monitor.parse.commands import BY_TEMPLATE, COMMANDS, TABLE, CommandSpec
from ipsec_ha_monitor.parse.device_errors import NOISE_LINE, check_device_output, strip_terminal_controls
from ipsec_ha_monitor.parse.errors import ParseError
from ipsec_ha_monitor.parse.fsm import Checked, FsmError
from ipsec_ha_monitor.parse.templates import (
    DEFAULT_PLATFORM,
    OUR_TEMPLATES,
    PLATFORMS,
    filldown_values,
    index_template,
    run_checked,
)
from ipsec_ha_monitor.records import LogMessage, Record

__all__ = [
    "COMMANDS",
    "DEFAULT_PLATFORM",
    "MAX_LINE",
    "PLATFORMS",
    "TABLE",
    "CommandSpec",
    "ParseError",
    "Parsed",
    "ends_mid_line",
    "parse_log_message",
    "parse_output",
    "parse_result",
    "resolve",
]


# The longest line the parser reads. IOS wraps its output at the terminal
# width (at most 511 columns; the poller sets it), and the longest line of
# any real output in tests/corpus and tests/fixtures is 232 characters: a
# longer line is no show output, and refusing it before any regex runs bounds
# what a hostile or garbled line can cost.
MAX_LINE = 4096
# How much of an over-long line an error quotes.
_QUOTED = 200


@functools.lru_cache(maxsize=256)
def resolve(command: str, platform: str = DEFAULT_PLATFORM) -> CommandSpec:
    """The spec for `command` as a user or poller typed it ("sh red sta" too)
    on `platform`, looked up in our CliTable index as netmiko would."""
    if platform not in PLATFORMS:
        message = f"not a platform this monitor parses: {platform!r} (supported: {', '.join(PLATFORMS)})"
        raise ParseError(command, errors.UNSUPPORTED_COMMAND, message)
    template = index_template(OUR_TEMPLATES, " ".join(command.split()), platform)
    if template is None:
        candidates = _abbreviated(command, platform)
        if candidates:
            # IOS asks for more letters here too ("% Ambiguous command"):
            # the shortest abbreviations the index accepts are IOS's own.
            message = f"ambiguous abbreviation: could be {' or '.join(repr(c) for c in candidates)} (type more letters)"
            raise ParseError(command, errors.AMBIGUOUS_ABBREVIATION, message)
        supported = ", ".join(spec.command for spec in TABLE if spec.platform == platform)
        message = f"not a command this monitor parses on {platform} (supported: {supported})"
        elsewhere = [other for other in PLATFORMS if other != platform and _resolves(command, other)]
        if elsewhere:  # a box-to-box command asked of classic IOS, say
            message += f"; it is one on {' and '.join(elsewhere)} (the device's platform)"
        raise ParseError(command, errors.UNSUPPORTED_COMMAND, message)
    return BY_TEMPLATE[(platform, template)]


def _resolves(command: str, platform: str) -> bool:
    return index_template(OUR_TEMPLATES, " ".join(command.split()), platform) is not None


def _abbreviated(command: str, platform: str) -> list[str]:
    """The commands of `platform` whose leading words `command`'s words
    begin ("sh re": show redundancy, show redundancy states, ...)."""
    typed = command.lower().split()
    if not typed:
        return []
    return [
        spec.command
        for spec in TABLE
        if spec.platform == platform
        and len(typed) <= len(words := spec.command.split())
        and all(word.startswith(part) for part, word in zip(typed, words, strict=False))
    ]


@dataclass(frozen=True)
class Parsed:
    """One output's records, and the informational lines the template
    skipped (docs/templates.md): lines inside a known block that it does
    not know and that carry nothing it reads."""

    records: list[Record]
    skipped: tuple[tuple[int, str], ...] = ()  # (1-based line number, text)

    @property
    def skipped_lines(self) -> int:
        return len(self.skipped)


def parse_output(
    command: str, text: str, platform: str = DEFAULT_PLATFORM, *, filtered: bool = False, complete: bool = True
) -> list[Record]:
    """Records parsed from `text`, the output of `command` on a device of
    `platform` (a netmiko device type: cisco_ios, cisco_xe). `filtered`:
    the command ran through `| include`, so its headers are gone and an
    empty answer is a valid one (nothing matched). `complete`: see
    parse_result."""
    return parse_result(command, text, platform, filtered=filtered, complete=complete).records


def parse_result(
    command: str, text: str, platform: str = DEFAULT_PLATFORM, *, filtered: bool = False, complete: bool = True
) -> Parsed:
    """parse_output's records, with the informational lines skipped.

    `complete=False`: the caller did not see the output end (no prompt came
    after it), so a last line without its line end may be cut short
    ("Priority 1" of "Priority 100", "ACTIV", "Last reload re"): such an
    output is refused as truncated, whatever that line would read as. The
    default trusts the end of `text` (the poller returns only once the
    prompt came; a saved file is taken as saved: many real saved outputs
    lack a final line end)."""
    spec = resolve(command, platform)
    text = strip_terminal_controls(text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not complete and ends_mid_line(text):
        message = "the output ends mid-line with no prompt after it: its last line may be cut short"
        raise ParseError(spec.command, errors.TRUNCATED, message, text.count("\n") + 1, text.rpartition("\n")[2])
    return _parse(spec, text, filtered)


def ends_mid_line(text: str) -> bool:
    """Whether `text` ends in a line without its line end that is no prompt:
    if the output was cut, that line may be cut short."""
    text = text.replace("\r", "")
    last = text.rpartition("\n")[2]
    return bool(last.strip()) and not NOISE_LINE.match(last)


def _parse(spec: CommandSpec, text: str, filtered: bool) -> Parsed:
    if len(text) > MAX_LINE:
        _check_line_lengths(spec.command, text)
    check_device_output(spec.command, text, allow_empty=filtered)
    try:
        rows, checked = _rows(spec, text)
        _check_consistent(spec, checked)
        if not rows:
            if spec.empty_answer is not None and spec.empty_answer.search(text):
                return Parsed([], tuple(checked.skipped))
            if filtered and all(NOISE_LINE.match(line) for line in text.splitlines()):
                return Parsed([])  # a prompt or an echo at most: the filter matched nothing
            number, line = _first_content_line(text)
            raise ParseError(spec.command, errors.NO_MATCH, "no line of the output matched the template", number, line)
        _check_complete(spec, rows, text)
        _check_words(spec, rows)
        _check_repeated_records(spec, rows, checked.starts, text)
        return Parsed(spec.build(rows), tuple(checked.skipped))
    except ParseError:
        raise
    except textfsm.TextFSMError as exc:
        raise _template_error(spec, text, exc) from None
    except Incomplete as exc:
        number, line = _last_content_line(text)
        raise ParseError(spec.command, errors.TRUNCATED, f"{exc}; output ends", number, line) from None
    except BadValue as exc:
        number, line = _line_with(text, exc.tokens)
        raise ParseError(spec.command, errors.BAD_VALUE, str(exc), number, line) from None
    except Exception as exc:  # a parser bug must still reach the caller as a ParseError
        message = f"{type(exc).__name__}: {exc} (a bug in ipsec-ha-monitor; please report it with the output)"
        raise ParseError(spec.command, errors.INTERNAL, message) from exc


def _check_consistent(spec: CommandSpec, checked: Checked) -> None:
    """Refuse a value that one record states on two lines (fsm.Restated):
    the last would silently win."""
    for restated in checked.restated:
        if restated.value in spec.may_restate:
            continue
        name = restated.value.lower().replace("_", " ")
        if restated.first == restated.again:
            what = f"{name} {restated.again!r} is stated twice in one block (line {restated.first_line} and here)"
        else:
            what = (
                f"{name} is stated twice in one block: {restated.first!r} (line {restated.first_line}), "
                f"then {restated.again!r}"
            )
        raise ParseError(
            spec.command,
            errors.INCONSISTENT,
            f"{what}: the output contradicts itself or holds a block twice",
            restated.line_number,
            restated.line,
        )


def _check_words(spec: CommandSpec, rows: list[dict[str, object]]) -> None:
    for row in rows:
        unknown = consistency.unknown_word(spec.words, row)
        if unknown is not None:
            name, text = unknown
            what = name.lower().replace("_", " ")
            raise BadValue(text, f"{what} {text!r} is not a word IOS prints there (a line cut short?)")


def _check_repeated_records(spec: CommandSpec, rows: list[dict[str, object]], starts: list[int], text: str) -> None:
    key_of = spec.record_key
    if key_of is None:
        return
    seen: dict[object, int] = {}
    for position, row in enumerate(rows):
        key = key_of(row)
        if key is None:
            continue
        if key in seen:
            number = starts[position] if position < len(starts) else 0
            line = text.splitlines()[number - 1] if number else ""
            message = (
                f"record {position + 1} of {len(rows)} repeats record {seen[key] + 1} "
                "(the output contradicts itself or holds a block twice)"
            )
            raise ParseError(spec.command, errors.INCONSISTENT, message, number, line)
        seen[key] = position


def _check_line_lengths(command: str, text: str) -> None:
    """Refuse a line longer than MAX_LINE (lines as the template engine splits
    them), quoting only its start."""
    lines = text.splitlines()
    if max(map(len, lines)) <= MAX_LINE:
        return
    number, line = next((n, line) for n, line in enumerate(lines, 1) if len(line) > MAX_LINE)
    message = (
        f"line {number} is {len(line)} characters long, over the {MAX_LINE} this parser reads "
        "(IOS wraps show output at the terminal width): not show output"
    )
    raise ParseError(command, errors.BAD_VALUE, message, number, line[:_QUOTED] + "...")


@functools.lru_cache(maxsize=64)
def _filldown(template: Path) -> frozenset[str]:
    return filldown_values(template)


def _rows(spec: CommandSpec, text: str) -> tuple[list[dict[str, object]], Checked]:
    """The template's rows without its Required options, so that a record
    lacking a required line reaches _check_complete (which names the line)
    instead of vanishing; rows holding nothing but filled-down values (what
    is left between blocks) are not records. Checked.starts/ends are kept in step."""
    filldown = _filldown(spec.template_path)
    rows, checked = run_checked(spec.template_path, text, required=False)
    kept = [
        (row, start, end)
        for row, start, end in zip(rows, checked.starts, checked.ends, strict=True)
        if any(value for name, value in row.items() if name not in filldown)
    ]
    checked.starts = [start for _, start, _ in kept]
    checked.ends = [end for _, _, end in kept]
    return [row for row, _, _ in kept], checked


def _check_complete(spec: CommandSpec, rows: list[dict[str, object]], text: str) -> None:
    for position, row in enumerate(rows, 1):
        missing = [line for line, values in spec.required.items() if not any(row.get(value) for value in values)]
        if missing:
            number, line = _last_content_line(text)
            raise ParseError(
                spec.command,
                errors.TRUNCATED,
                f"record {position} of {len(rows)} has no {', '.join(repr(m) for m in missing)} line "
                "(output cut short, or an IOS variant this template does not know); output ends",
                number,
                line,
            )


def _template_error(spec: CommandSpec, text: str, exc: Exception) -> ParseError:
    reason = str(exc).split(". Rule Line")[0]
    if isinstance(exc, FsmError):
        number, line = exc.line_number, exc.line
    else:  # stock TextFSM names the line only by its text
        number, line = _line_with(text, (str(exc).partition("Input Line: ")[2].removesuffix("."),))
    if reason.removeprefix("Error: ").strip('"').startswith(consistency.INCONSISTENT_ERROR):
        message = f"the output repeats itself ({reason})"
        return ParseError(spec.command, errors.INCONSISTENT, message, number, line)
    return ParseError(spec.command, errors.TEMPLATE, f"the template rejected the output ({reason})", number, line)


def _line_with(text: str, tokens: tuple[str, ...]) -> tuple[int, str]:
    """The first line holding every token as a whole word (0, "" if none)."""
    words = [token for token in tokens if token]
    if not words:
        return 0, ""
    for number, line in enumerate(text.splitlines(), 1):
        if all(_has_word(line, word) for word in words):
            return number, line
    return 0, ""


_WORD_CHAR = re.compile(r"[\w.]")


def _has_word(line: str, token: str) -> bool:
    """Whether `token` occurs in `line` with no word character or dot either
    side (what a regex search for the token between `(?<![\\w.])` and
    `(?![\\w.])` finds) by str.find, which stays
    linear where a regex search for a long token would not."""
    start = line.find(token)
    while start >= 0:
        end = start + len(token)
        if (start == 0 or not _WORD_CHAR.match(line, start - 1)) and not _WORD_CHAR.match(line, end):
            return True
        start = line.find(token, start + 1)
    return False


def _first_content_line(text: str) -> tuple[int, str]:
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            return number, line
    return 0, ""


def _last_content_line(text: str) -> tuple[int, str]:
    lines = text.splitlines()
    for number in range(len(lines), 0, -1):
        if lines[number - 1].strip():
            return number, lines[number - 1]
    return 0, ""


def parse_log_message(line: str, platform: str = DEFAULT_PLATFORM) -> LogMessage:
    """One Cisco log line ("000123: *Mar  1 00:05:12.123: %HSRP-5-STATECHANGE:
    ..."), read by the same `show logging` row of the command table that
    reads a whole buffer: one place knows Cisco log lines (the syslog
    receiver hands each message's text here). ParseError when the line holds
    no %FACILITY-SEVERITY-MNEMONIC message or more than one line."""
    if "\n" in line.rstrip("\n"):
        raise ParseError(_LOG_COMMAND, errors.TEMPLATE, "one log line expected, got several", 2, "")
    found = parse_output(_LOG_COMMAND, line, platform)
    if not found:  # a show logging header alone ("Syslog logging: ...") is a valid buffer, not a message
        raise ParseError(_LOG_COMMAND, errors.NO_MATCH, "no %FACILITY-SEVERITY-MNEMONIC: message", 1, line)
    message = found[0]
    assert isinstance(message, LogMessage)  # the show logging row builds LogMessage records
    return message


_LOG_COMMAND = "show logging"
