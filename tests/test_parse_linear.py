"""The parser's cost grows linearly with a line's length, whatever the line.

Python's `re` backtracks: a template rule such as `^\\s*Key\\s*:\\s*(\\S.*?)\\s*$$`
costs O(n^2) on "Key: v" followed by n blanks and a letter, and adjacent
`\\s*` around optional groups cost O(n^3). Output comes from devices (and from
whoever sits between them and the poller), so every command is fed, for every
line of each of its fixtures, that line altered in the ways that hurt
backtracking regexes (long runs of blanks, digits, dots, words and tabs
appended; its inner blank runs widened) at two sizes, N and 8N characters.
A linear parser costs about 8x more on the big line; a quadratic one 64x.
Timings are the best of three, judged only when the big line costs enough to
be above timer noise, with a generous factor: the test must not be flaky on
a loaded machine.

Lines over the parser's cap (MAX_LINE) are refused with a clear error before
any regex runs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.paths import FIXTURES, command_of

from ipsec_ha_monitor.parse import COMMANDS, MAX_LINE, ParseError, errors, parse_output

SMALL = 500
BIG = 8 * SMALL  # still under MAX_LINE
# Linear growth gives ~8; quadratic ~64. Judge only lines whose big variant
# costs more than the noise floor.
MAX_RATIO = 8 * 3
NOISE_FLOOR = 0.005  # seconds

_BLANKS = re.compile(r"[ \t]+")


def _suffix(unit: str, tail: str) -> callable:
    def grow(line: str, size: int) -> str:
        room = max(size - len(line) - len(tail), 1)
        return line + (unit * (room // len(unit) + 1))[:room] + tail

    return grow


def _widen(line: str, size: int) -> str:
    runs = len(_BLANKS.findall(line.strip())) or 1
    width = max((size - len(line)) // runs, 2)
    core = line.strip()
    lead = line[: len(line) - len(line.lstrip())]
    return lead + _BLANKS.sub(" " * width, core) + "x"


# name -> (line, size) -> altered line of about `size` characters
VARIANTS = {
    "blanks+x": _suffix(" ", "x"),
    "blanks": _suffix(" ", ""),
    "blanks+(": _suffix(" ", "("),
    "blanks+,": _suffix(" ", ","),
    "tabs+x": _suffix("\t", "x"),
    "digits": _suffix("1", ""),
    "digits+x": _suffix("1", " x"),
    "dots": _suffix(".", " "),
    "words": _suffix("a ", "("),
    "blank-digits": _suffix(" 1", "x"),
    "inner-blanks": _widen,
}


def fixture_lines(command: str) -> Iterator[tuple[Path, int, list[str]]]:
    """(fixture, index of a line, the fixture's lines) for each distinct line."""
    seen: set[str] = set()
    for raw in sorted((FIXTURES / command.replace(" ", "_")).glob("*.raw")):
        lines = raw.read_text(encoding="utf-8").splitlines()
        for index, line in enumerate(lines):
            if line.strip() and line not in seen and len(line) < SMALL // 2:
                seen.add(line)
                yield raw, index, lines


def _cost(command: str, text: str, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        try:
            parse_output(command, text)
        except ParseError:
            pass
        best = min(best, time.perf_counter() - start)
    return best


def worst_cases(command: str, size: int = BIG) -> Iterator[tuple[float, str, str, list[str], int]]:
    """(cost of one parse, variant, fixture line, the fixture's lines, line
    index) for each line and variant of `command`'s fixtures at `size`."""
    for _raw, index, lines in fixture_lines(command):
        for name, grow in VARIANTS.items():
            yield _cost(command, _altered(lines, index, grow, size)), name, lines[index], lines, index


def _altered(lines: list[str], index: int, grow, size: int) -> str:
    # The output up to the altered line: the state machine reaches the line
    # in its real state, and nothing after it adds noise to the timing.
    return "\n".join([*lines[:index], grow(lines[index], size)]) + "\n"


@pytest.mark.parametrize("spec", COMMANDS, ids=lambda s: s.command)
def test_cost_is_linear_in_line_length(spec) -> None:
    command = spec.command
    failures = []
    judged = 0
    for big, name, line, lines, index in worst_cases(command):
        if big < NOISE_FLOOR:
            continue
        judged += 1
        grow = VARIANTS[name]
        big = _cost(command, _altered(lines, index, grow, BIG), 3)
        small = _cost(command, _altered(lines, index, grow, SMALL), 3)
        if big > NOISE_FLOOR and big / max(small, 1e-4) > MAX_RATIO:
            failures.append(f"{name} on {line!r}: {small * 1e3:.2f} ms -> {big * 1e3:.2f} ms")
    assert not failures, f"{command}: super-linear on {len(failures)} line(s):\n" + "\n".join(failures)


def test_fixture_lines_cover_every_command() -> None:
    for spec in COMMANDS:
        assert list(fixture_lines(spec.command)), spec.command


@pytest.mark.parametrize("spec", COMMANDS, ids=lambda s: s.command)
def test_line_over_the_cap_is_refused(spec) -> None:
    raw = sorted((FIXTURES / spec.command.replace(" ", "_")).glob("*.raw"))[0]
    lines = raw.read_text(encoding="utf-8").splitlines()
    number = len(lines) // 2 + 1
    lines[number - 1] = lines[number - 1] + " " * MAX_LINE + "x"
    length = len(lines[number - 1])
    started = time.perf_counter()
    with pytest.raises(ParseError) as caught:
        parse_output(command_of(raw.parent), "\n".join(lines) + "\n")
    assert time.perf_counter() - started < 0.5
    error = caught.value
    assert error.kind == errors.BAD_VALUE
    assert error.line_number == number
    assert f"line {number}" in error.message and str(length) in error.message and str(MAX_LINE) in error.message
    assert len(error.line) <= 210 and len(str(error)) < 600


def test_line_at_the_cap_is_parsed() -> None:
    raw = sorted((FIXTURES / "show_version").glob("*.raw"))[0]
    text = raw.read_text(encoding="utf-8")
    padded = text + "x" * MAX_LINE + "\n"
    assert parse_output("show version", padded) == parse_output("show version", text)


def test_one_megabyte_of_capped_lines_is_fast() -> None:
    # Many lines at the cap: the cost is linear in the output's size.
    raw = sorted((FIXTURES / "show_redundancy_states").glob("*.raw"))[0]
    text = raw.read_text(encoding="utf-8")
    filler = "  Unknown key = " + " " * (MAX_LINE - 30) + "x\n"
    big = text + filler * (2**20 // len(filler))
    started = time.perf_counter()
    try:
        parse_output("show redundancy states", big)
    except ParseError:
        pass
    assert time.perf_counter() - started < 5


def _repeated(line: str, size: int) -> str:
    return (line + "\n") * max(size // (len(line) + 1), 1)


# name -> (fixture line, size) -> an output of about `size` characters
OUTPUTS = {
    "line-repeated": _repeated,
    "line-then-blank-lines": lambda line, size: line + "\n" * size,
    "blank-lines-then-line": lambda line, size: " \n" * (size // 2) + line + "\n",
    "line-then-blanks-repeated": lambda line, size: _repeated(line + " " * 200, size),
}
OUTPUT_SMALL = 6_000
OUTPUT_BIG = 8 * OUTPUT_SMALL


@pytest.mark.parametrize("spec", COMMANDS, ids=lambda s: s.command)
def test_cost_is_linear_in_output_size(spec) -> None:
    """Many lines (a fixture line repeated, runs of blank lines): the searches
    over the whole output (device errors, the empty answers) stay linear."""
    command = spec.command
    raw = sorted((FIXTURES / command.replace(" ", "_")).glob("*.raw"))[0]
    lines = sorted({line for line in raw.read_text(encoding="utf-8").splitlines() if line.strip()})
    lines = lines[:: max(len(lines) // 12, 1)]  # a dozen kinds of line per command
    failures = []
    for line in lines:
        for name, make in OUTPUTS.items():
            if _cost(command, make(line, OUTPUT_BIG)) < NOISE_FLOOR:
                continue
            big = _cost(command, make(line, OUTPUT_BIG), 3)
            small = _cost(command, make(line, OUTPUT_SMALL), 3)
            if big > NOISE_FLOOR and big / max(small, 1e-4) > MAX_RATIO:
                failures.append(f"{name} on {line!r}: {small * 1e3:.2f} ms -> {big * 1e3:.2f} ms")
    assert not failures, f"{command}: super-linear in output size on:\n" + "\n".join(failures)
