"""Value conversions shared by the record builders: IOS durations to
seconds, bounded ints, state words to canonical names.

Each function takes the text exactly as the template captured it and returns
None for "not printed"; text IOS is not known to print raises ValueError,
which the builder turns into a ParseError that names the offending line.

Every integer is bounded by what IOS can print for it (COUNTER_MAX,
TIME_MAX, or the field's own range): a number beyond is no IOS output, and
refusing it here keeps every value the exporter writes a finite float64
that Prometheus reads (a 310-digit counter would make it reject the whole
page) and every int() cheap (Python refuses to convert over 4,300 digits).
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


# IOS keeps its counters (packets, errors, state changes, sequence numbers,
# identifiers) in at most 64 unsigned bits: 20 digits.
COUNTER_MAX = 2**64 - 1
# A duration or timer, in the unit the record stores (seconds, milliseconds,
# kilobytes of an SA lifetime): IOS's timers and lifetime settings are 32-bit
# (an SA lifetime is at most 4,294,967,295 kB); 2**32-1 seconds is 136 years,
# more than any uptime, and keeps "poll time - uptime" a calendar date.
TIME_MAX = 2**32 - 1
PORT_MAX = 65535
# Digits a bound allows, so that an absurd number is refused on its length
# before int() reads it.
_DIGITS: dict[int, int] = {}


def bounded_int(text: str, maximum: int = COUNTER_MAX, what: str = "number") -> int:
    """The non-negative decimal `text` (ASCII digits only), at most `maximum`."""
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"{what} {shown(text)} is not a decimal number")
    digits = _DIGITS.get(maximum)
    if digits is None:
        digits = _DIGITS[maximum] = len(str(maximum))
    if len(text) > digits and len(text.lstrip("0")) > digits:
        raise ValueError(f"{what} {shown(text)} is over {maximum}, the most IOS prints there")
    number = int(text)
    if number > maximum:
        raise ValueError(f"{what} {number} is over {maximum}, the most IOS prints there")
    return number


def optional_int(text: str, maximum: int = COUNTER_MAX, what: str = "number") -> int | None:
    return bounded_int(text, maximum, what) if text else None


def shown(text: str, limit: int = 24) -> str:
    """`text` quoted for a message, a long one by its start and its length."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def _seconds(total: int, text: str) -> int:
    if total > TIME_MAX:
        raise ValueError(f"duration {shown(text)} is over {TIME_MAX} seconds, longer than IOS counts")
    return total


def long_duration_seconds(text: str) -> int | None:
    """Seconds in '1 year, 13 weeks, 6 days, 1 hour, 2 minutes' (IOS years are 365 days)."""
    text = text.strip()
    if not text:
        return None
    parts = _LONG_PART.findall(text)
    if not parts or _LONG_PART.sub("", text).strip(" ,") not in ("",):
        raise ValueError(f"not an IOS duration: {shown(text, 80)}")
    return _seconds(sum(bounded_int(n, what="duration part") * _SECONDS[unit[0]] for n, unit in parts), text)


def compact_duration_seconds(text: str) -> int | None:
    """Seconds in an HSRP-style age: '00:00:11', '1d', '5d11h', '27w0d', '1y47w'.

    'never' (no state change yet) is None.
    """
    text = text.strip()
    if not text or text == "never":
        return None
    clock = _CLOCK.match(text)
    if clock:
        hours, minutes, seconds = (bounded_int(g, what="duration part") for g in clock.groups())
        return _seconds(hours * 3600 + minutes * 60 + seconds, text)
    if _COMPACT.match(text):
        parts = _COMPACT_PART.findall(text)
        return _seconds(sum(bounded_int(n, what="duration part") * _SECONDS[unit] for n, unit in parts), text)
    raise ValueError(f"not an IOS duration: {shown(text, 80)}")


def to_milliseconds(value: str, unit: str) -> int | None:
    if not value:
        return None
    milliseconds = bounded_int(value, what="timer") * (1 if unit == "msec" else 1000)
    if milliseconds > TIME_MAX:
        raise ValueError(f"timer {shown(value)} {unit} is over {TIME_MAX} ms, longer than IOS counts")
    return milliseconds


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
        return (
            bounded_int(match.group(1), TIME_MAX, "SA lifetime (kB)"),
            bounded_int(match.group(2), TIME_MAX, "SA lifetime (s)"),
        )
    match = _LIFETIME_SEC.match(text)
    if match:
        return None, bounded_int(match.group(1), TIME_MAX, "SA lifetime (s)")
    return None, long_duration_seconds(text)
