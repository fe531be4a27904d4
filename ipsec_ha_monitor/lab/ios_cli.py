"""The IOS command line of a simulated router, without any transport: feed
it lines, get back what the terminal shows. The SSH server (ssh_server.py)
carries it; tests can drive it directly.

Only show, terminal, enable/disable and exit/logout run. Everything else is
refused or rejected as IOS would reject an unknown command: the lab never
changes state because of what a client typed. A show's output can be
filtered as IOS's CLI string search does: `show logging | include RELOAD|RESTART`
(also `| exclude`, `| begin`).
"""

from __future__ import annotations

import functools
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass

from ipsec_ha_monitor.lab.outputs import SHOW_COMMANDS, USER_EXEC_SHOWS
from ipsec_ha_monitor.lab.router import Router
from ipsec_ha_monitor.lab.xe_outputs import XE_SHOW_COMMANDS

NUMBER = "<0-512>"
_Filter = Callable[[str], str]
# What a router with the `garbage` fault prints for any show command.
_GARBAGE = "\x1b[2J@@@@ 0xDEADBEEF ~~~ \ufffd\ufffd lorem ipsum 42 ### !!!\n;;;; ???? <<<< >>>>\n"
_SESSION_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("enable",),
    ("disable",),
    ("exit",),
    ("logout",),
    ("quit",),
    ("terminal", "length", NUMBER),
    ("terminal", "width", NUMBER),
    ("terminal", "no", "monitor"),
)
COMMANDS: tuple[tuple[str, ...], ...] = (*SHOW_COMMANDS, *_SESSION_COMMANDS)
# What each platform's routers answer: a command of the other platform is
# refused as unknown (`% Invalid input`), as on an image without the feature.
SHOWS_BY_PLATFORM: dict[str, dict[tuple[str, ...], Callable[[Router], str]]] = {
    "cisco_ios": SHOW_COMMANDS,
    "cisco_xe": XE_SHOW_COMMANDS,
}
COMMANDS_BY_PLATFORM: dict[str, tuple[tuple[str, ...], ...]] = {
    platform: (*shows, *_SESSION_COMMANDS) for platform, shows in SHOWS_BY_PLATFORM.items()
}
# `| <filter> <regular expression>` after a show: what each keeps of the output's lines.
OUTPUT_FILTERS = ("begin", "exclude", "include")
# Real IOS would run these; the lab refuses them so that no client can change it.
_REFUSED = ("configure", "copy", "clear", "debug", "delete", "erase", "reload", "write", "no", "undebug", "send")


@dataclass
class Reply:
    output: str  # what the terminal shows before the next prompt ("" for nothing)
    close: bool = False  # the session ends (exit/logout)
    ask_secret: bool = False  # "Password: " follows; the next line is the enable secret
    stall: bool = False  # injected fault: the output stops here, no prompt follows
    # Injected fault: `output` repeated until this many bytes went out (then
    # the prompt), or without end (FLOOD_ENDLESS, no prompt ever).
    flood: int = 0


FLOOD_ENDLESS = -1


def _keyword_matches(token: str, keyword: str) -> bool:
    if keyword == NUMBER:
        return token.isdigit() and int(token) <= 512
    return keyword.startswith(token.lower())


def resolve(
    tokens: list[str], commands: tuple[tuple[str, ...], ...] = COMMANDS
) -> tuple[tuple[str, ...] | None, str | None, int]:
    """IOS-style abbreviation matching against `commands` (a classic router's by default).

    Returns (command, None, 0) or (None, error kind, index of the bad token)
    where the error kind is "invalid", "ambiguous" or "incomplete".
    """
    candidates = list(commands)
    for index, token in enumerate(tokens):
        matching = [c for c in candidates if len(c) > index and _keyword_matches(token, c[index])]
        if not matching:
            return None, "invalid", index
        keywords = {c[index] for c in matching}
        exact = [c for c in matching if c[index] == token.lower()]
        if exact:
            matching = exact
        elif len(keywords) > 1:
            return None, "ambiguous", index
        candidates = matching
    complete = [c for c in candidates if len(c) == len(tokens)]
    if not complete:
        return None, "incomplete", len(tokens)
    return complete[0], None, 0


class IosCli:
    def __init__(self, router: Router) -> None:
        self.router = router
        self.privileged = False
        self.terminal_length = 24
        self.terminal_width = 80
        self._secret_attempts = 0  # > 0 while "Password:" waits for the enable secret

    @property
    def awaiting_secret(self) -> bool:
        return self._secret_attempts > 0

    @property
    def prompt(self) -> str:
        return f"{self.router.name}{'#' if self.privileged else '>'}"

    def handle(self, line: str) -> Reply:
        """One line typed at the prompt (or the secret after `enable`)."""
        if self._secret_attempts:
            if hmac.compare_digest(line.encode(), self.router.credentials.enable_secret.encode()):
                self._secret_attempts = 0
                self.privileged = True
                return Reply("")
            if self._secret_attempts < 3:  # IOS asks three times
                self._secret_attempts += 1
                return Reply("Password: ", ask_secret=True)
            self._secret_attempts = 0
            return Reply("% Bad secrets\n\n")
        self.router.commands_received.append(line.strip())
        tokens = line.split()
        if not tokens:
            return Reply("")
        pipe = tokens.index("|") if "|" in tokens else len(tokens)
        command, error, bad = resolve(tokens[:pipe], COMMANDS_BY_PLATFORM[self.router.platform])
        if command is None:
            return Reply(self._error(line, tokens, error, bad))
        if pipe < len(tokens) and command[0] != "show":  # only a show's output can be filtered
            return Reply(self._error(line, tokens, "invalid", pipe))
        if command[0] == "show":
            faults = self.router.faults
            if not self.privileged and command not in USER_EXEC_SHOWS:
                return Reply(self._error(line, tokens, "invalid", 1))
            if " ".join(command) in faults.missing_commands:  # an image without the feature
                return Reply(self._error(line, tokens, "invalid", pipe - 1))
            keep: _Filter | None = None
            if pipe < len(tokens):
                keep, failure = self._output_filter(line, tokens, pipe)
                if keep is None:
                    return Reply(failure)
            if faults.garbage:
                return Reply(_GARBAGE)
            output = SHOWS_BY_PLATFORM[self.router.platform][command](self.router)
            if keep is not None:
                output = keep(output)
            if faults.endless_output or faults.huge_output_bytes > 0:
                flood = FLOOD_ENDLESS if faults.endless_output else faults.huge_output_bytes
                return Reply(output + "\n", flood=flood)
            if faults.stall_output:
                lines = output.split("\n")
                return Reply("\n".join(lines[: max(1, len(lines) // 2)]) + "\n", stall=True)
            return Reply(output + "\n" if output else "")
        return self._session_command(command, tokens)

    def _session_command(self, command: tuple[str, ...], tokens: list[str]) -> Reply:
        if command == ("enable",):
            if self.privileged:
                return Reply("")
            self._secret_attempts = 1
            return Reply("Password: ", ask_secret=True)
        if command == ("disable",):
            self.privileged = False
            return Reply("")
        if command[0] == "terminal":
            faults = self.router.faults
            if (command[1] == "length" and faults.refuse_terminal_length) or (
                command[1] == "width" and faults.refuse_terminal_width
            ):
                return Reply("Command authorization failed.\n")  # what IOS prints when AAA says no
            if command[1] == "length":
                self.terminal_length = int(tokens[2])
            elif command[1] == "width":
                self.terminal_width = int(tokens[2])
            return Reply("")
        return Reply("", close=True)  # exit, logout, quit

    def _output_filter(self, line: str, tokens: list[str], pipe: int) -> tuple[_Filter | None, str]:
        """The filter after `|` (keyword abbreviated as IOS allows, then the
        rest of the line as a regular expression), or None and the error."""
        if pipe + 1 >= len(tokens):
            return None, "% Incomplete command.\n"
        word = tokens[pipe + 1].lower()
        matching = [name for name in OUTPUT_FILTERS if name.startswith(word)]
        if len(matching) != 1:
            return None, self._error(line, tokens, "invalid", pipe + 1)
        start = _token_offset(line, pipe + 1) + len(tokens[pipe + 1])
        pattern = line[start:].lstrip()
        if not pattern:
            return None, "% Incomplete command.\n"
        try:
            expression = re.compile(pattern)
        except re.error:
            return None, f"% Invalid regular expression: {pattern}\n"
        return functools.partial(_filter_lines, matching[0], expression), ""

    def _error(self, line: str, tokens: list[str], kind: str | None, bad: int) -> str:
        first = tokens[0].lower()
        if bad == 0 and (first == "no" or (len(first) >= 2 and any(word.startswith(first) for word in _REFUSED))):
            return "% This simulated router runs only show, terminal, enable and exit commands\n"
        if kind == "ambiguous":
            return f'% Ambiguous command:  "{line.strip()}"\n'
        if kind == "incomplete":
            return "% Incomplete command.\n"
        # Caret under the first character of the bad token, counted from the
        # start of the prompt line as IOS does.
        column = len(self.prompt) + _token_offset(line, bad)
        return f"{' ' * column}^\n% Invalid input detected at '^' marker.\n\n"


def _filter_lines(kind: str, expression: re.Pattern[str], output: str) -> str:
    """IOS's string search, line by line: `include` keeps the lines the
    expression matches anywhere in, `exclude` the others, `begin` every line
    from the first match on."""
    lines = output.split("\n")
    if kind == "include":
        kept = [text for text in lines if expression.search(text)]
    elif kind == "exclude":
        kept = [text for text in lines if not expression.search(text)]
    else:
        first = next((n for n, text in enumerate(lines) if expression.search(text)), len(lines))
        kept = lines[first:]
    return "\n".join(kept)


def _token_offset(line: str, index: int) -> int:
    position = 0
    for current, token in enumerate(line.split()):
        position = line.index(token, position)
        if current == index:
            return position
        position += len(token)
    return len(line)
