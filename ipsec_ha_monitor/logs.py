"""The process's log on stderr, in the formats Prometheus exporters use:
logfmt (`ts=... level=info logger=... msg="..."`, the default) or one JSON
object per line (`--log.format json`), for journald, Loki or ELK.

A status line (check's progress bar) can share stderr with the log: while
one is shown (`status_line`), StderrHandler clears it before writing a
record and draws it again below the record, so a record always starts a
line of its own."""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Protocol, TextIO

# `warn` as Prometheus and its exporters spell it; `warning` as Python does.
LOG_LEVELS = ("debug", "info", "warn", "warning", "error")
LOG_FORMATS = ("logfmt", "json")


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _message(record: logging.LogRecord) -> str:
    message = record.getMessage()
    if record.exc_info:
        # One record stays one line in either format: the traceback goes
        # into the message, its line ends escaped.
        message = f"{message}\n{logging.Formatter().formatException(record.exc_info)}"
    return message


class LogfmtFormatter(logging.Formatter):
    """key=value pairs; a value with spaces, quotes, `=` or control
    characters is quoted with Go-style escapes, so every record is one line."""

    def format(self, record: logging.LogRecord) -> str:
        fields = (
            ("ts", _timestamp(record)),
            ("level", record.levelname.lower()),
            ("logger", record.name),
            ("msg", _message(record)),
        )
        return " ".join(f"{key}={_logfmt_value(value)}" for key, value in fields)


def _logfmt_value(value: str) -> str:
    if value and not any(char in value for char in ' "=\\') and value.isprintable():
        return value
    return json.dumps(value, ensure_ascii=False)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "ts": _timestamp(record),
                "level": record.levelname.lower(),
                "logger": record.name,
                "msg": _message(record),
            },
            ensure_ascii=False,
        )


# --- a status line beside the log ------------------------------------------------


class StatusLine(Protocol):
    """What owns the status line: it draws itself on its stream without a
    newline, redrawn in place (a carriage return, then the line)."""

    def clear(self) -> None:
        """Wipe the line (a no-op when nothing is drawn)."""

    def redraw(self) -> None:
        """Draw the line again (a no-op when it was not drawn)."""


# The one lock of the status line: held while StderrHandler clears the line,
# writes a record and redraws it, and by the owner while it draws or clears
# (a poller thread advancing the bar never writes inside a record).
STATUS_LOCK = threading.RLock()
# The owner of the status line and its stream, while one is held.
_status: tuple[StatusLine, TextIO] | None = None


@contextmanager
def status_line(owner: StatusLine, stream: TextIO) -> Iterator[bool]:
    """`owner` holds the status line on `stream` until the block ends.

    Yields whether it may draw: True when every record the root logger would
    write to `stream` goes through a StderrHandler (which clears the line
    first); False when another handler, or logging's last resort (no handler
    installed: setup_logging was not called), could write there, as it
    would write into the line. Installs nothing either way. A second status
    line while one is held is a RuntimeError: a terminal has one to share."""
    global _status
    with STATUS_LOCK:
        if _status is not None:
            raise RuntimeError("a status line is already shown")
        _status = (owner, stream)
    try:
        yield _guarded(stream)
    finally:
        with STATUS_LOCK:
            _status = None


def _guarded(stream: TextIO) -> bool:
    handlers = logging.getLogger().handlers or ([logging.lastResort] if logging.lastResort is not None else [])
    return all(
        isinstance(handler, StderrHandler)
        for handler in handlers
        if _same_stream(getattr(handler, "stream", None), stream)
    )


def _same_stream(one: TextIO | None, other: TextIO | None) -> bool:
    if one is None or other is None:
        return False
    if one is other:
        return True
    try:
        return bool(one.fileno() == other.fileno())
    except (AttributeError, OSError, ValueError):  # no file behind one of them (StringIO)
        return False


class StderrHandler(logging.StreamHandler):
    """Writes to sys.stderr as it is when a record comes (not as it was when
    the handler was made): a program that swaps stderr (pytest's capture, a
    daemon's redirection) never meets a closed stream here.

    A status line shown on the same stream (`status_line`) is cleared before
    the record is written and drawn again after it."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass

    def emit(self, record: logging.LogRecord) -> None:
        with STATUS_LOCK:
            owner = _status[0] if _status is not None and _same_stream(_status[1], self.stream) else None
            if owner is None:
                super().emit(record)
                return
            owner.clear()
            try:
                super().emit(record)
            finally:
                owner.redraw()


def setup_logging(level: str, fmt: str = "logfmt") -> None:
    """The root logger writes `level` and above to stderr in `fmt` (replacing
    a handler an earlier call made; other handlers stay)."""
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else LogfmtFormatter())
    root = logging.getLogger()
    for old in [old for old in root.handlers if isinstance(old, StderrHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper()))
    # Paramiko logs every failed transport at ERROR; the pollers report the
    # same failure once, classified, per device.
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    # netmiko's debug log quotes every byte written to the device, the enable
    # secret included (its own filter misses escaped forms): never below INFO.
    logging.getLogger("netmiko").setLevel(max(logging.INFO, root.level))


def one_line(text: str) -> str:
    """An error message as one line (for stderr, a log record, an HTTP
    answer): every run of white space, line ends included, as one space."""
    return " ".join(text.split())
