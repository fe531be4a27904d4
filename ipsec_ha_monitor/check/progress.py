"""The progress bar `check` draws on a terminal while it polls."""

from __future__ import annotations

from contextlib import ExitStack
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from ipsec_ha_monitor.logs import STATUS_LOCK, status_line
from ipsec_ha_monitor.words import plural

if TYPE_CHECKING:
    from ipsec_ha_monitor.snapshot import Snapshot


class ProgressBar:
    """`polling [#####.....] 12/50 devices` on a terminal, redrawn in place.

    Used as a context manager (run_check does), it holds the log's status
    line (ipsec_ha_monitor.logs.status_line) and draws itself at once: until it ends,
    a log record written by StderrHandler (setup_logging's handler) first
    clears the bar, is written on a line of its own, and the bar is drawn
    again below it. On exit the bar is wiped. When a record could reach the
    stream another way (no setup_logging: logging's last resort; another
    handler on the same stream), no bar is drawn: it would share a line
    with the log. Nothing is installed in logging either way."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self.stream = stream
        self._drawn = 0  # length of the bar on the line, 0 when none is
        self._hidden = False  # no bar: a log record could be written into it
        self._held = ExitStack()  # the status line, while the bar holds it

    def __enter__(self) -> ProgressBar:
        with STATUS_LOCK:
            self._hidden = not self._held.enter_context(status_line(self, self.stream))
            self._draw()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.finish()

    def advance(self, snapshot: Snapshot) -> None:
        with STATUS_LOCK:
            self.done += 1
            self.failed += 0 if snapshot.up else 1
            self._draw()

    def render(self) -> str:
        filled = self.WIDTH * self.done // max(1, self.total)
        failed = f", {self.failed} failed" if self.failed else ""
        devices = f"{self.done}/{self.total} {plural(self.total, 'device')}"
        return f"polling [{'#' * filled}{'.' * (self.WIDTH - filled)}] {devices}{failed}"

    def finish(self) -> None:
        with STATUS_LOCK:  # wiped and the line given up at once: no record comes between
            self._clear()
            self._hidden = True
            self._held.close()

    # --- ipsec_ha_monitor.logs.StatusLine: StderrHandler around a record ----------------------

    def clear(self) -> None:
        self._clear()

    def redraw(self) -> None:
        self._draw()

    def _draw(self) -> None:
        if self._hidden:
            return
        text = self.render()
        # Spaces over what a longer bar left (never shorter, but cheap).
        self.stream.write("\r" + text + " " * max(0, self._drawn - len(text)))
        self.stream.flush()
        self._drawn = len(text)

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write("\r" + " " * self._drawn + "\r")
            self.stream.flush()
            self._drawn = 0
