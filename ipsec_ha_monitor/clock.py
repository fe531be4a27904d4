"""The one time source of the product: every layer (the pollers, the
scheduler, the Monitor, the reload tracker, the exporter, check) is handed
the same Clock.

Two kinds of time, never mixed:

- Monotonic time orders and ages: which poll is newest, how old the data
  is, whether a /probe may reuse a poll, how long ago a reload was, how
  much a device's uptime should have grown between two polls. It never
  steps: an NTP correction, a VM clock running ahead, an operator's `date
  -s` change nothing of it. `monotonic()` is in *product seconds*: real
  seconds times `scale`.
- Wall time (`wall()`, Unix time) is only for what a person reads: the
  date of a poll, of an event, the `boot` label of ipsecha_reload_info, the
  readings saved with a `check --state` file.

The scale (`--time.scale`, default 1) is product seconds per real second,
for accelerated runs against the lab (whose `--time-scale` makes device
uptimes run as fast): every duration the product reasons in (the poll
interval, the reload window and boot-time tolerance, data age, /probe
reuse, the boot label's resolution) is in product seconds, so they all
scale together, and so does the login budget's rate (logins per product
second, ipsec_ha_monitor/poll/logins.py), as the lab's router-speed delays
do. Transport timeouts (SSH, HTTP), the login backoff and the
scheduler's own bookkeeping are real seconds (`real_monotonic()`, which is
time.monotonic(): the SSH session, ipsec_ha_monitor/poll/session.py, and the HTTP
server, ipsec_ha_monitor/export/server.py, read that directly for their deadlines):
the network does not run faster with the lab.

Tests inject a Clock whose wall time can be stepped (override `wall()`):
monotonic time must not move with it.
"""

from __future__ import annotations

import time
from pathlib import Path

BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")


class Clock:
    """Monotonic product seconds, wall time, and the conversion between
    product durations and the real seconds a wait takes."""

    def __init__(self, scale: float = 1.0) -> None:
        if not scale > 0 or scale == float("inf"):
            raise ValueError(f"the time scale must be a positive number, got {scale!r}")
        self.scale = float(scale)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scale={self.scale:g})"

    # --- readings -------------------------------------------------------------------

    def real_monotonic(self) -> float:
        """Real seconds that never step: time.monotonic(), the frame of
        transport deadlines and waits (the SSH session compares its
        deadlines with time.monotonic(), so a test clock steps wall() and
        leaves this in that frame)."""
        return time.monotonic()

    def monotonic(self) -> float:
        """Product seconds that never step: real monotonic seconds x scale.
        For ordering and ageing."""
        return self.real_monotonic() * self.scale

    def wall(self) -> float:
        """Unix time, for what a person reads. May step."""
        return time.time()

    def boot_id(self) -> str | None:
        """The host's boot id (monotonic readings compare only within one
        boot); None when the system does not say."""
        try:
            text = BOOT_ID_PATH.read_text(encoding="ascii").strip()
        except (OSError, UnicodeError):
            return None
        return text or None

    # --- conversions ----------------------------------------------------------------

    def real(self, product_seconds: float) -> float:
        """A product duration as the real seconds a wait takes."""
        return product_seconds / self.scale

    def product(self, real_seconds: float) -> float:
        """A real duration in product seconds."""
        return real_seconds * self.scale


SYSTEM_CLOCK = Clock()
