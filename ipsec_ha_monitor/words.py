"""Numbers as people read them, for every line check and serve print: one
helper for plurals (never "1 peers") and one for durations (never "0.0 s")."""

from __future__ import annotations

# Nouns whose plural is not the noun and an s.
_PLURALS = {"copy": "copies", "was": "were"}


def plural(number: float, noun: str) -> str:
    """`noun` as it goes with `number`: "device" for 1, "devices" for 0 or 2."""
    if number == 1:
        return noun
    return _PLURALS.get(noun, noun + "s")


def count(number: int, noun: str) -> str:
    """ "1 device", "0 devices", "12 devices"."""
    return f"{number} {plural(number, noun)}"


def duration(seconds: float) -> str:
    """A short real duration: "40 ms" under a second (never "0.0 s"; below
    a millisecond "under 1 ms"), "4.2 s" under a minute, "75 s" above."""
    if seconds < 0.0005:
        return "under 1 ms"
    if seconds < 0.9995:
        return f"{round(seconds * 1000)} ms"
    if seconds < 59.95:
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s"
