"""IOS duration and lifetime conversions."""

from __future__ import annotations

import pytest

from ipsec_ha_monitor.parse import values


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


# --- bounds: what IOS can print for a number ------------------------------------


@pytest.mark.parametrize(
    ("text", "maximum", "expected"),
    [
        ("0", values.COUNTER_MAX, 0),
        ("18446744073709551615", values.COUNTER_MAX, values.COUNTER_MAX),
        ("0" * 40 + "7", values.COUNTER_MAX, 7),  # leading zeros are no digits of the value
        ("255", 255, 255),
        ("4294967295", values.TIME_MAX, values.TIME_MAX),
    ],
)
def test_bounded_ints(text: str, maximum: int, expected: int) -> None:
    assert values.bounded_int(text, maximum) == expected


@pytest.mark.parametrize(
    ("text", "maximum"),
    [
        ("18446744073709551616", values.COUNTER_MAX),
        ("9" * 310, values.COUNTER_MAX),
        ("9" * 5_000, values.COUNTER_MAX),  # beyond int()'s 4,300 digits: refused on its length
        ("256", 255),
        ("4294967296", values.TIME_MAX),
        ("", values.COUNTER_MAX),
        ("+1", values.COUNTER_MAX),
        ("-1", values.COUNTER_MAX),
        (" 1", values.COUNTER_MAX),
        ("1_000", values.COUNTER_MAX),
        ("١٢٣", values.COUNTER_MAX),  # Arabic-Indic digits: \d matches them, IOS prints none
        ("\uff11\uff12", values.COUNTER_MAX),  # fullwidth digits
    ],
)
def test_numbers_beyond_what_ios_prints_are_refused(text: str, maximum: int) -> None:
    with pytest.raises(ValueError) as caught:
        values.bounded_int(text, maximum, "pkts encaps")
    message = str(caught.value)
    assert "pkts encaps" in message and len(message) < 200


@pytest.mark.parametrize(
    ("convert", "good", "bad"),
    [
        # 136 years and 10 weeks is under 2**32-1 seconds; a day more is over
        (values.long_duration_seconds, "136 years, 10 weeks", "136 years, 10 weeks, 1 day"),
        (values.long_duration_seconds, "4294967295 seconds", "18446744073709551616 seconds"),
        (values.compact_duration_seconds, "136y10w", "136y11w"),
        (values.compact_duration_seconds, "1193046:28:15", "1193046:28:16"),
        (values.compact_duration_seconds, "1d", "9" * 400 + "d"),
    ],
)
def test_durations_are_bounded(convert, good: str, bad: str) -> None:
    assert convert(good) <= values.TIME_MAX
    with pytest.raises(ValueError, match=r"over|duration"):
        convert(bad)


def test_timers_and_lifetimes_are_bounded() -> None:
    assert values.to_milliseconds("4294967", "sec") == 4_294_967_000
    with pytest.raises(ValueError):
        values.to_milliseconds("4294968", "sec")
    assert values.to_milliseconds("4294967295", "msec") == values.TIME_MAX
    assert values.sa_lifetime("(k/sec): (4294967295/86400)") == (values.TIME_MAX, 86400)
    for text in ("(k/sec): (4294967296/1)", "(k/sec): (1/4294967296)", "(sec): " + "9" * 310):
        with pytest.raises(ValueError):
            values.sa_lifetime(text)
