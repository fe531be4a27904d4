"""What a device sends for one command, read chunk by chunk: held once (a
bytearray), capped (polling.max_output_bytes), and searched incrementally
for the command's echo and for its final prompt. Each chunk is examined
together with a short tail of what came before (enough for an echo or a
prompt split across chunks), never the whole output again: a device that
prints without end costs at most the cap in memory and linear work.

Transport-free: DeviceSession (session.py) feeds it what the SSH channel
gives; tests feed it bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ipsec_ha_monitor.parse.device_errors import PAGER_PROMPT

# What may stand between the last line end and the prompt without making it
# part of the output: CRs, NULs, blanks, backspaces, bells, ANSI sequences.
LINE_NOISE = re.compile(rb"(?:[\r\x00 \t\x08\x07]|\x1b\[[0-9;?]*[A-Za-z])*")
# Blanks a device may print after its prompt (what the prompt search looks past).
_AFTER_PROMPT = 64
# Line noise longer than this before the prompt is not looked through: the
# prompt then counts as mid-line (complete once the device goes quiet).
_MAX_NOISE = 1024
# IOS's pager (" --More-- "), possibly followed by blanks; no prompt after it.
_PAGER_AT_END = re.compile(PAGER_PROMPT.encode() + rb"[ \t]*$")
_PAGER_TAIL = 64


class OutputTooLarge(Exception):
    """More than the cap arrived: `received` bytes in all (the chunk that
    crossed the cap included; it was not kept)."""

    def __init__(self, received: int, cap: int) -> None:
        self.received = received
        self.cap = cap
        super().__init__(f"{received} bytes received, over the cap of {cap}")


@dataclass(frozen=True, slots=True)
class PromptEnd:
    """The final prompt: where it begins, and whether it is alone on its
    line (after line noise at most)."""

    start: int
    clean: bool


class CommandOutput:
    """One command's output as it arrives: its echo (the command as typed)
    is looked for first; the output ends at `prompt`, at the end of what
    came, on a line after the echo's."""

    def __init__(self, echo: bytes, prompt: bytes, cap: int) -> None:
        self.echo = echo
        self.prompt = prompt
        self.cap = cap
        self.received = bytearray()
        self.lines = 0  # line ends received
        self.examined = 0  # bytes the searches looked at: linear in the output (tests hold it to that)
        self._echo_at = -1  # where the echo begins
        self._echo_end = -1  # the line end after the echo
        self._line_start = 0  # where the last (partial) line begins

    @property
    def after_echo(self) -> bool:
        """Whether the echo's line has ended (output may follow)."""
        return self._echo_end >= 0

    def feed(self, chunk: bytes) -> PromptEnd | None:
        """Add `chunk`; the final prompt when what came now ends in it.
        Raises OutputTooLarge past the cap (the chunk is not kept)."""
        received = self.received
        before = len(received)
        if before + len(chunk) > self.cap:
            raise OutputTooLarge(before + len(chunk), self.cap)
        received += chunk
        self.lines += chunk.count(b"\n")
        last = chunk.rfind(b"\n")
        self.examined += 2 * len(chunk)
        if last >= 0:
            self._line_start = before + last + 1
        if self._echo_end < 0:
            self._find_echo(before)
        if self._echo_end < 0:
            return None
        return self._final_prompt()

    def _find_echo(self, before: int) -> None:
        """The echo, then the line end after it, looked for in the new
        bytes and the tail an echo split across chunks needs."""
        received = self.received
        if self._echo_at < 0:
            start = max(0, before - len(self.echo) + 1)
            self._echo_at = received.find(self.echo, start)
            self.examined += len(received) - start
            if self._echo_at < 0:
                return
            before = self._echo_at
        start = max(before, self._echo_at)
        self._echo_end = received.find(b"\n", start)
        self.examined += len(received) - start

    def _final_prompt(self) -> PromptEnd | None:
        """The prompt ending what came (blanks after it aside), on a line
        after the echo's; None otherwise. Looks at the last few bytes only
        (and the line noise before the prompt, bounded)."""
        received, prompt = self.received, self.prompt
        window = received[-len(prompt) - _AFTER_PROMPT :]
        self.examined += len(window)
        tail = window.rstrip(b" \t")
        if not tail.endswith(prompt):
            return None
        start = len(received) - len(window) + len(tail) - len(prompt)
        # The prompt's line: no line end in the prompt or the blanks after it,
        # so it is the last line.
        line_start = self._line_start
        if line_start <= self._echo_end:  # on the echo's line or before it: stale
            return None
        noise = start - line_start
        self.examined += min(noise, _MAX_NOISE)
        clean = noise <= _MAX_NOISE and LINE_NOISE.fullmatch(received, line_start, start) is not None
        return PromptEnd(start, clean)

    def pager_at_end(self) -> bool:
        """Whether what came ends at IOS's pager (after the echo)."""
        if self._echo_end < 0:
            return False
        self.examined += min(_PAGER_TAIL, len(self.received))
        return _PAGER_AT_END.search(self.received[-_PAGER_TAIL:]) is not None

    def text(self, end: PromptEnd) -> str:
        """The output with the final prompt on a line of its own, as the
        parser reads it (line noise before it dropped, a partial line
        ended), edited in place and decoded: the bytes are not copied
        again. The reader holds nothing afterwards."""
        received, self.received = self.received, bytearray()
        if end.clean:
            del received[self._line_start : end.start]
        else:
            received[end.start : end.start] = b"\n"
        return received.decode("utf-8", errors="replace")


def size_text(count: int) -> str:
    """A byte count for a person: "16 MiB", "64 KiB", "1,500 bytes"."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size and count % size == 0:
            return f"{count // size:,} {unit}"
    if count >= 1 << 20:
        return f"{count / (1 << 20):,.1f} MiB"
    return f"{count:,} bytes"
