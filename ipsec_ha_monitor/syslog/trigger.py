"""When a watched message polls its pair: at once, but never a storm.

Syslog is a trigger, never the truth: a message only asks for a poll, and
the metrics still come from show commands. A failover is a burst (HSRP
Init, the reload, Listen, Speak, Standby, RF terminal state) spread over
seconds, so per pair (a device in no pair: per device):

- the first message of a quiet pair polls it at once;
- a message within `min_gap` of that poll asks for one more poll, made
  once the burst has settled (`settle` with no message) and `min_gap`
  after the previous one: a burst gives one poll at its start, one after
  it, and one per `min_gap` at most in between;
- the polls themselves go through the scheduler (Exporter.request_polls),
  which never takes more workers than scheduled polls may: a triggered
  poll is a scheduled poll moved earlier.

Pure bookkeeping on the caller's clock (real monotonic seconds; the
durations given in product seconds are converted by the caller).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

# Product seconds (scaled by --time.scale with every other duration).
MIN_GAP_SECONDS = 2.0  # at most one triggered poll per pair this often
SETTLE_SECONDS = 1.0  # quiet this long: the burst is over


@dataclass
class _Key:
    fired: float = float("-inf")  # when its last poll was asked for
    last_message: float = float("-inf")
    pending_at: float | None = None  # a poll owed after the burst: due then


class Debouncer:
    def __init__(self, min_gap: float, settle: float) -> None:
        self.min_gap, self.settle = min_gap, settle
        self._keys: dict[str, _Key] = {}
        self._due: list[tuple[float, str]] = []  # (due, key): may hold stale entries

    def note(self, key: str, now: float) -> bool:
        """A watched message for `key` at `now`: True to poll now."""
        state = self._keys.setdefault(key, _Key())
        state.last_message = now
        if state.pending_at is None and now - state.fired >= self.min_gap:
            state.fired = now
            return True
        state.pending_at = max(now + self.settle, state.fired + self.min_gap)
        heapq.heappush(self._due, (state.pending_at, key))
        return False

    def due(self, now: float) -> list[str]:
        """The keys whose owed poll is due now (each then counted as fired)."""
        fired = []
        while self._due and self._due[0][0] <= now:
            at, key = heapq.heappop(self._due)
            state = self._keys.get(key)
            if state is None or state.pending_at != at:
                continue  # moved later by a newer message, or already fired
            state.pending_at, state.fired = None, now
            fired.append(key)
        return fired

    def next_due(self) -> float | None:
        while self._due:
            at, key = self._due[0]
            state = self._keys.get(key)
            if state is not None and state.pending_at == at:
                return at
            heapq.heappop(self._due)
        return None

    def forget(self, keep: set[str]) -> None:
        """Drop keys no longer in the inventory."""
        for key in [key for key in self._keys if key not in keep]:
            del self._keys[key]
