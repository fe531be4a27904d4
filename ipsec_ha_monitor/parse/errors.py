"""ParseError: the one exception the parsing layer lets out."""

from __future__ import annotations

import re

# Kinds of failure, stable strings that pollers and the exporter can count on.
INVALID_INPUT = "invalid_input"  # % Invalid input detected at '^' marker.
AMBIGUOUS = "ambiguous_command"  # % Ambiguous command
INCOMPLETE_COMMAND = "incomplete_command"  # % Incomplete command.
IOS_ERROR = "ios_error"  # any other "% ..." message from the device
PAGING = "paging"  # --More-- left in: terminal length was not 0
EMPTY = "empty"  # nothing (or only a prompt/header) came back
TRUNCATED = "truncated"  # a record lacks lines every complete block has
NO_MATCH = "no_match"  # text came back but no template line matched
BAD_VALUE = "bad_value"  # a value outside what IOS is known to print
TEMPLATE = "template_error"  # the template itself rejected the text
INCONSISTENT = "inconsistent_output"  # a block states a value twice, or one record comes twice
UNSUPPORTED_COMMAND = "unsupported_command"  # not a command this monitor parses
AMBIGUOUS_ABBREVIATION = "ambiguous_abbreviation"  # abbreviates more than one command we parse
INTERNAL = "internal_error"  # a bug in this parser; reported, never raised raw

# Device output quoted in an error may hold a key ("Authentication text,
# string "cisco"", "key-string 7 0822455D0A16"): mask it before it can reach
# a log, a metric or a terminal.
_SECRET = re.compile(r'((?:key-string|string|password|secret)\s+(?:\d\s+)?)("[^"]*"|\S+)', re.IGNORECASE)


def redact(text: str) -> str:
    return _SECRET.sub(r"\1<redacted>", text)


# How much of a line an error quotes: every real show line is shorter (the
# longest in the corpus is 232 characters); a longer one (a run of thousands
# of digits) is quoted by its start.
QUOTED_LINE = 256


def _quoted(line: str) -> str:
    return line if len(line) <= QUOTED_LINE else line[:QUOTED_LINE] + "..."


class ParseError(Exception):
    """Command output that cannot be turned into records.

    Names the command, the 1-based line of the output at fault (0 when no
    single line is), the text of that line, and a kind from this module.
    """

    def __init__(self, command: str, kind: str, message: str, line_number: int = 0, line: str = "") -> None:
        self.command = command
        self.kind = kind
        self.message = redact(message)
        self.line_number = line_number
        self.line = _quoted(redact(line))
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" at line {self.line_number}: {self.line.strip()!r}" if self.line_number else ""
        return f"{self.command}: {self.kind}: {self.message}{where}"

    def to_dict(self) -> dict[str, object]:
        return {
            "command": self.command,
            "kind": self.kind,
            "message": self.message,
            "line_number": self.line_number,
            "line": self.line,
        }
