"""IOS duration and lifetime conversions."""

from __future__ import annotations

import pytest

from monitor.parse import values


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0 minutes", 0),
        ("4 minutes", 240),
        ("1 hour, 58 minutes", 7080),
        ("1 week, 3 days, 16 hours, 11 minutes", 7 * 86400 + 3 * 86400 + 16 * 3600 + 11 * 60),
        ("1 year, 13 weeks, 6 days, 1 hour, 2 minutes", 365 * 86400 + 97 * 86400 + 3720),
        ("2 years, 31 weeks, 6 days, 9 hours, 55 minutes", 730 * 86400 + 223 * 86400 + 9 * 3600 + 55 * 60),
        ("1 years, 2 weeks, 3 days, 4 hours, 5 minutes", 365 * 86400 + 17 * 86400 + 4 * 3600 + 300),
        ("4 hours, 2 mins", 14520),
    ],
)
def test_long_durations(text: str, seconds: int) -> None:
    assert values.long_duration_seconds(text) == seconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("00:00:11", 11),
        ("23:59:59", 86399),
        ("1d", 86400),
        ("1d02h", 93600),
        ("5d11h", 5 * 86400 + 11 * 3600),
        ("27w0d", 27 * 7 * 86400),
        ("1y47w", 365 * 86400 + 47 * 7 * 86400),
        ("never", None),
        ("", None),
    ],
)
def test_compact_durations(text: str, seconds: int | None) -> None:
    assert values.compact_duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["soon", "3 fortnights", "1x2y", "12:3"])
def test_durations_reject_what_ios_does_not_print(text: str) -> None:
    with pytest.raises(ValueError):
        values.long_duration_seconds(text) if " " in text else values.compact_duration_seconds(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(k/sec): (4607999/83191)", (4607999, 83191)),
        ("(sec): 632", (None, 632)),
        ("4 hours, 2 mins", (None, 14520)),
        ("", (None, None)),
    ],
)
def test_sa_lifetimes(text: str, expected: tuple) -> None:
    assert values.sa_lifetime(text) == expected
