"""Parsing layer: raw show-command output -> typed records.

    resolve(command, platform)            -> the CommandSpec (abbreviations allowed)
    parse_output(command, text, platform) -> list of records, or ParseError

`platform` is the device's netmiko device type (`cisco_ios`, the default,
or `cisco_xe`): the command table and its CliTable index have a row per
platform and command.

Nothing else escapes: device error messages, paging, truncation, values IOS
is not known to print and template failures all become a ParseError naming
the command, the line and its text.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import textfsm

from monitor.parse import errors
from monitor.parse.builders import BadValue, Incomplete
from monitor.parse.commands import BY_TEMPLATE, COMMANDS, TABLE, CommandSpec
from monitor.parse.device_errors import NOISE_LINE, check_device_output
from monitor.parse.errors import ParseError
from monitor.parse.fsm import FsmError
from monitor.parse.templates import DEFAULT_PLATFORM, OUR_TEMPLATES, PLATFORMS, filldown_values, index_template, run
from monitor.records import Record

__all__ = [
    "COMMANDS",
    "DEFAULT_PLATFORM",
    "MAX_LINE",
    "PLATFORMS",
    "TABLE",
    "CommandSpec",
    "ParseError",
    "parse_output",
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
        supported = ", ".join(spec.command for spec in TABLE if spec.platform == platform)
        message = f"not a command this monitor parses on {platform} (supported: {supported})"
        raise ParseError(command, errors.UNSUPPORTED_COMMAND, message)
    return BY_TEMPLATE[(platform, template)]


def parse_output(command: str, text: str, platform: str = DEFAULT_PLATFORM, *, filtered: bool = False) -> list[Record]:
    """Records parsed from `text`, the output of `command` on a device of
    `platform` (a netmiko device type: cisco_ios, cisco_xe). `filtered`:
    the command ran through `| include`, so its headers are gone and an
    empty answer is a valid one (nothing matched)."""
    spec = resolve(command, platform)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_LINE:
        _check_line_lengths(spec.command, text)
    check_device_output(spec.command, text, allow_empty=filtered)
    try:
        rows = _rows(spec, text)
        if not rows:
            if spec.empty_answer is not None and spec.empty_answer.search(text):
                return []
            if filtered and all(NOISE_LINE.match(line) for line in text.splitlines()):
                return []  # a prompt or an echo at most: the filter matched nothing
            number, line = _first_content_line(text)
            raise ParseError(spec.command, errors.NO_MATCH, "no line of the output matched the template", number, line)
        _check_complete(spec, rows, text)
        return spec.build(rows)
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


def _rows(spec: CommandSpec, text: str) -> list[dict[str, object]]:
    """The template's rows without its Required options, so that a record
    lacking a required line reaches _check_complete (which names the line)
    instead of vanishing; rows holding nothing but filled-down values (what
    is left between blocks) are not records."""
    filldown = _filldown(spec.template_path)
    return [
        row
        for row in run(spec.template_path, text, required=False)
        if any(value for name, value in row.items() if name not in filldown)
    ]


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
