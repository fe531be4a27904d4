"""Value conversions shared by the record builders: IOS durations to
seconds, optional ints, state words to canonical names.

Each function takes the text exactly as the template captured it and returns
None for "not printed"; text IOS is not known to print raises ValueError,
which the builder turns into a ParseError that names the offending line.
"""

from __future__ import annotations

import re

_SECONDS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}

# "1 year, 13 weeks, 6 days, 1 hour, 2 minutes" (show version, show redundancy)
# (from the first digit of a number only: a long run of digits must not be
# rescanned from each of its digits)
_LONG_PART = re.compile(r"(?<!\d)(\d+)\s+(year|week|day|hour|min(?:ute)?|sec(?:ond)?)s?\b")
# "00:00:11", "1d02h", "5d11h", "27w0d", "1y47w" (HSRP, syslog-style ages)
_CLOCK = re.compile(r"^(\d+):(\d\d):(\d\d)(?:\.\d+)?$")
_COMPACT = re.compile(r"^(?:\d+[ywdhms])+$")
_COMPACT_PART = re.compile(r"(\d+)([ywdhms])")


def optional_int(text: str) -> int | None:
    return int(text) if text else None


def long_duration_seconds(text: str) -> int | None:
    """Seconds in '1 year, 13 weeks, 6 days, 1 hour, 2 minutes' (IOS years are 365 days)."""
    text = text.strip()
    if not text:
        return None
    parts = _LONG_PART.findall(text)
    if not parts or _LONG_PART.sub("", text).strip(" ,") not in ("",):
        raise ValueError(f"not an IOS duration: {text!r}")
    return sum(int(n) * _SECONDS[unit[0]] for n, unit in parts)


def compact_duration_seconds(text: str) -> int | None:
    """Seconds in an HSRP-style age: '00:00:11', '1d', '5d11h', '27w0d', '1y47w'.

    'never' (no state change yet) is None.
    """
    text = text.strip()
    if not text or text == "never":
        return None
    clock = _CLOCK.match(text)
    if clock:
        hours, minutes, seconds = (int(g) for g in clock.groups())
        return hours * 3600 + minutes * 60 + seconds
    if _COMPACT.match(text):
        return sum(int(n) * _SECONDS[unit] for n, unit in _COMPACT_PART.findall(text))
    raise ValueError(f"not an IOS duration: {text!r}")


def to_milliseconds(value: str, unit: str) -> int | None:
    if not value:
        return None
    return int(value) * (1 if unit == "msec" else 1000)


def single_spaced(text: str) -> str:
    return " ".join(text.split())


_LIFETIME_KB_SEC = re.compile(r"^\(k/sec\)\s*:\s*\((\d+)/(\d+)\)$")
_LIFETIME_SEC = re.compile(r"^\(sec\)\s*:\s*\(?(\d+)\)?$")


def sa_lifetime(text: str) -> tuple[int | None, int | None]:
    """(kilobytes, seconds) left on an SA, from any of the three IOS forms:
    '(k/sec): (4607999/83191)', '(sec): 632', '4 hours, 2 mins'."""
    text = text.strip()
    if not text:
        return None, None
    match = _LIFETIME_KB_SEC.match(text)
    if match:
        return int(match.group(1)), int(match.group(2))
    match = _LIFETIME_SEC.match(text)
    if match:
        return None, int(match.group(1))
    return None, long_duration_seconds(text)
