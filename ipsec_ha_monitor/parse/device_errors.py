"""Recognise output that is not a command's answer: IOS error messages,
pager prompts, and output with nothing in it.

Runs before TextFSM so that a device's complaint is reported as such rather
than as an empty or partial parse. Whole-text regex searches keep this cheap
on large outputs.
"""

from __future__ import annotations

import re

from ipsec_ha_monitor.parse import errors

# "% Invalid input ...", "% Ambiguous command: ...": a percent sign, a blank,
# then text. Syslog messages ("%HSRP-5-STATECHANGE: ...") have no blank after
# the percent sign and are not errors of the command.
_IOS_MESSAGE = re.compile(r"^[ \t]*%[ \t]+(\S.*)$", re.MULTILINE)
# IOS's pager prompt (" --More-- "); the pollers spot it live from this too.
PAGER_PROMPT = r"-- ?More ?--"
_PAGER = re.compile(PAGER_PROMPT)
_MESSAGE_KINDS = (
    ("Invalid input", errors.INVALID_INPUT),
    ("Ambiguous command", errors.AMBIGUOUS),
    ("Incomplete command", errors.INCOMPLETE_COMMAND),
)
# A prompt line: "R1#", "R1(config)#", "ran-pag-bawen.1>", alone or with
# the command echoed after it ("R2#sh stand br"). A line holding "#" or ">"
# anywhere else ("a#b", "<<<>>>") is not one: under a table header it is a
# row that does not read. The templates' prompt rules are this pattern (a
# test keeps them in step).
PROMPT = r"[A-Za-z0-9][\w.-]*(?:\([\w./-]*\))?[#>](?:[ \t]*$|[ \t]*(?:sh|show|term|terminal)\b)"
# Lines that carry no answer: prompts, the echoed command, and the exec
# prompt timestamp header ("Load for five secs", "Time source is").
NOISE_LINE = re.compile(
    rf"^\s*$|^{PROMPT}|^\s*Load\s+for\s+five\s+secs|^\s*Time\s+source\s+is|^\s*(?:sh|show)\s",
)


# Terminal control sequences a session may carry into the output (a line
# erased with ESC[K, colours, a window title): CSI, OSC and string commands
# (ended by BEL or ESC \\), and the other ESC sequences; also bells and NULs.
_TERMINAL_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: ESC [ parameters intermediates final
    r"|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, DCS, SOS, PM, APC
    r"|\x1b[ -/]*[0-~]"  # any other ESC sequence (ESC 7, ESC ( B, ...)
    r"|\x1b|[\x00\x07]"  # a lone ESC at the end, NUL, BEL
)


def strip_terminal_controls(text: str) -> str:
    """`text` without terminal control sequences, and with each backspace
    applied (a character a backspace erases is gone, as on a screen)."""
    if "\x1b" in text or "\x00" in text or "\x07" in text:
        text = _TERMINAL_CONTROL.sub("", text)
    if "\x08" in text:
        text = "\n".join(map(_apply_backspaces, text.split("\n")))
    return text


def _apply_backspaces(line: str) -> str:
    if "\x08" not in line:
        return line
    kept: list[str] = []
    for char in line:
        if char != "\x08":
            kept.append(char)
        elif kept:
            kept.pop()
    return "".join(kept)


def line_at(text: str, offset: int) -> tuple[int, str]:
    """1-based line number and text of the line holding `offset`."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return text.count("\n", 0, offset) + 1, text[start : end if end >= 0 else len(text)]


def check_device_output(command: str, text: str, allow_empty: bool = False) -> None:
    """Raise ParseError if `text` is an IOS error, paged, or carries no
    answer (unless `allow_empty`: a filter that matched nothing)."""
    message = _IOS_MESSAGE.search(text)
    if message:
        number, line = line_at(text, message.start())
        kind = next((k for prefix, k in _MESSAGE_KINDS if message.group(1).startswith(prefix)), errors.IOS_ERROR)
        raise errors.ParseError(command, kind, "the device rejected the command", number, line)
    pager = _PAGER.search(text)
    if pager:
        number, line = line_at(text, pager.start())
        raise errors.ParseError(
            command, errors.PAGING, "pager prompt in the output (is 'terminal length 0' set?)", number, line
        )
    if not allow_empty and text.count("\n", 0, 2000) < 8:
        lines = text.splitlines()
        if all(NOISE_LINE.match(line) for line in lines):
            # Point at the last thing that did come back (a prompt, a header).
            number = next((n for n in range(len(lines), 0, -1) if lines[n - 1].strip()), 0)
            raise errors.ParseError(
                command,
                errors.EMPTY,
                "the device returned no output for the command",
                number,
                lines[number - 1] if number else "",
            )
