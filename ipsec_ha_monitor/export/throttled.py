"""Log lines about abuse, throttled: one line per kind and minute at most,
with the count of the others since. Shared by the HTTP front, its password
checks and its request handler, so every kind of abuse reads the same."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter


class Throttled:
    """Log lines about abuse: the first of a kind at once, then at most one
    per `every` seconds with the count of the others since."""

    def __init__(self, logger: logging.Logger, every: float = 60.0, level: int = logging.WARNING) -> None:
        self.logger, self.every, self.level = logger, every, level
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._held: Counter[str] = Counter()

    def note(self, kind: str, message: str) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < self.every:
                self._held[kind] += 1
                return
            self._last[kind] = now
            held = self._held.pop(kind, 0)
        suffix = f" (and {held} more like it in the last {now - last:.0f} s)" if held and last is not None else ""
        self.logger.log(self.level, "%s%s", message, suffix)
