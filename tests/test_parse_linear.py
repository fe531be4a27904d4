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

Blanks are ASCII (space, tab) for the templates: fsm.py compiles every rule
with re.ASCII, so a Unicode blank that Python's `re` would call `\\s` on str
(UNICODE_BLANKS: NBSP, U+2000..U+200A, U+3000, ...) is an ordinary character.
Every line is also altered with runs of each of those, and cut after each of
its words and fed blanks then "x" (the shape `\\s*,?\\s*$$` hides from a
whole line that already ends in its optional character); and every command
is fed 50 lines of a fixture line then a long run of blanks (ASCII or
Unicode) and "x:", the shape that cost seconds on `show redundancy history`.
"""

from __future__ import annotations

import gc
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.paths import FIXTURES, TEMPLATE_SPECS, fixture_folder, fixture_platform

from ipsec_ha_monitor.parse import MAX_LINE, CommandSpec, ParseError, errors, parse_output, resolve

SMALL = 500
BIG = 8 * SMALL  # still under MAX_LINE
# Linear growth gives ~8; quadratic ~64. Judge only lines whose big variant
# costs more than the noise floor.
MAX_RATIO = 8 * 3
NOISE_FLOOR = 0.005  # seconds

_BLANKS = re.compile(r"[ \t]+")
# (line, size) -> the line altered to about `size` characters
Grow = Callable[[str, int], str]


def _suffix(unit: str, tail: str) -> Grow:
    def grow(line: str, size: int) -> str:
        room = max(size - len(line) - len(tail), 1)
        return line + (unit * (room // len(unit) + 1))[:room] + tail

    return grow


def _widener(unit: str) -> Grow:
    def widen(line: str, size: int) -> str:
        runs = len(_BLANKS.findall(line.strip(" \t"))) or 1
        width = max((size - len(line)) // runs, 2)
        core = line.strip(" \t")
        lead = line[: len(line) - len(line.lstrip(" \t"))]
        return lead + _BLANKS.sub(lambda _: (unit * width)[:width], core) + "x"

    return widen


# What Python's `re` calls a blank (\s on str) beside space and tab, and IOS
# never prints: NBSP, the Unicode spaces, NEL and the line separator (these
# two also end a line for str.splitlines, which both engines split by).
UNICODE_BLANKS = "\u00a0" + "".join(map(chr, range(0x2000, 0x200B))) + "\u3000\u0085\u1680\u2028"
# All of them in one run: a regex treats them alike, a line end aside.
MIXED_BLANKS = UNICODE_BLANKS.replace("\u0085", "").replace("\u2028", "")

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
    "inner-blanks": _widener(" "),
    **{f"U+{ord(blank):04X}+x": _suffix(blank, "x") for blank in UNICODE_BLANKS},
    "unicode-blanks+x:": _suffix(MIXED_BLANKS, "x:"),
    "inner-nbsp": _widener("\u00a0"),
    "inner-unicode-blanks": _widener(MIXED_BLANKS),
}
# Applied to each cut of a line (see `cuts`): the line's start, then a run.
CUT_VARIANTS = {
    "cut+blanks+x": _suffix(" ", "x"),
    "cut+nbsp+x": _suffix("\u00a0", "x"),
}
_WORD_END = re.compile(r"[A-Za-z0-9](?![A-Za-z0-9])")


def cuts(line: str) -> list[str]:
    """`line` cut after each of its words: "local crypto endpt.: 10.0.0.1,
    remote ..." gives "local", "local crypto", ..., "local crypto endpt.:
    10.0.0.1", ... A rule whose end reads `\\s*,?\\s*$$` meets its optional
    character in the whole line; a cut ending right before it does not."""
    return [line[: match.end()] for match in _WORD_END.finditer(line) if match.end() < len(line)]


def fixture_lines(spec: CommandSpec) -> Iterator[tuple[Path, int, list[str]]]:
    """(fixture, index of a line, the fixture's lines) for each distinct line."""
    seen: set[str] = set()
    for raw in sorted(fixture_folder(spec).glob("*.raw")):
        lines = raw.read_text(encoding="utf-8").splitlines()
        for index, line in enumerate(lines):
            if line.strip() and line not in seen and len(line) < SMALL // 2:
                seen.add(line)
                yield raw, index, lines


def _cost(spec: CommandSpec, text: str, repeat: int = 1) -> float:
    # The collector off while timing, as timeit does: a full collection that
    # an output of 200,000 short lines happens to trigger costs with the
    # size of the test process, not of the parse.
    best = float("inf")
    collecting = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            try:
                parse_output(spec.command, text, spec.platform)
            except ParseError:
                pass
            best = min(best, time.perf_counter() - start)
    finally:
        if collecting:
            gc.enable()
    return best


def cases(spec: CommandSpec) -> Iterator[tuple[str, Grow, list[str], int]]:
    """(variant name, its grow function, the fixture's lines, line index) for
    each line of `spec`'s fixtures and each variant; the cut variants come
    with the line at `index` replaced by one of its cuts."""
    for _raw, index, lines in fixture_lines(spec):
        for name, grow in VARIANTS.items():
            yield name, grow, lines, index
        for cut in cuts(lines[index]):
            cut_lines = [*lines[:index], cut]
            for name, grow in CUT_VARIANTS.items():
                yield name, grow, cut_lines, index


def worst_cases(spec: CommandSpec, size: int = BIG) -> Iterator[tuple[float, str, str, list[str], int, Grow]]:
    """(cost of one parse, variant, fixture line, the fixture's lines, line
    index, grow function) for each case of `spec` at `size`."""
    for name, grow, lines, index in cases(spec):
        yield _cost(spec, _altered(lines, index, grow, size)), name, lines[index], lines, index, grow


def _altered(lines: list[str], index: int, grow: Grow, size: int) -> str:
    # The output up to the altered line: the state machine reaches the line
    # in its real state, and nothing after it adds noise to the timing.
    return "\n".join([*lines[:index], grow(lines[index], size)]) + "\n"


@pytest.mark.parametrize("spec", TEMPLATE_SPECS, ids=lambda s: s.command)
def test_cost_is_linear_in_line_length(spec) -> None:
    command = spec.command
    failures = []
    judged = 0
    for first, name, line, lines, index, grow in worst_cases(spec):
        if first < NOISE_FLOOR:
            continue
        judged += 1
        big = min(first, _cost(spec, _altered(lines, index, grow, BIG), 2))  # the best of three
        small = _cost(spec, _altered(lines, index, grow, SMALL), 3)
        if big > NOISE_FLOOR and big / max(small, 1e-4) > MAX_RATIO:
            failures.append(f"{name} on {line!r}: {small * 1e3:.2f} ms -> {big * 1e3:.2f} ms")
    assert not failures, f"{command}: super-linear on {len(failures)} line(s):\n" + "\n".join(failures)


def test_fixture_lines_cover_every_command() -> None:
    for spec in TEMPLATE_SPECS:
        assert list(fixture_lines(spec)), spec.command


@pytest.mark.parametrize("spec", TEMPLATE_SPECS, ids=lambda s: s.command)
def test_line_over_the_cap_is_refused(spec) -> None:
    raw = sorted(fixture_folder(spec).glob("*.raw"))[0]
    lines = raw.read_text(encoding="utf-8").splitlines()
    number = len(lines) // 2 + 1
    lines[number - 1] = lines[number - 1] + " " * MAX_LINE + "x"
    length = len(lines[number - 1])
    started = time.perf_counter()
    with pytest.raises(ParseError) as caught:
        parse_output(spec.command, "\n".join(lines) + "\n", fixture_platform(raw))
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
    # NEL and the line separator end a line (str.splitlines): runs of them
    # are runs of empty lines.
    "line-then-line-separators": lambda line, size: line + "\u0085\u2028" * (size // 2) + "\n",
}
OUTPUT_SMALL = 6_000
OUTPUT_BIG = 8 * OUTPUT_SMALL


@pytest.mark.parametrize("spec", TEMPLATE_SPECS, ids=lambda s: s.command)
def test_cost_is_linear_in_output_size(spec) -> None:
    """Many lines (a fixture line repeated, runs of blank lines): the searches
    over the whole output (device errors, the empty answers) stay linear."""
    command = spec.command
    raw = sorted(fixture_folder(spec).glob("*.raw"))[0]
    lines = sorted({line for line in raw.read_text(encoding="utf-8").splitlines() if line.strip()})
    lines = lines[:: max(len(lines) // 12, 1)]  # a dozen kinds of line per command
    failures = []
    for line in lines:
        for name, make in OUTPUTS.items():
            output = make(line, OUTPUT_BIG)
            first = _cost(spec, output)
            if first < NOISE_FLOOR:
                continue
            big = min(first, _cost(spec, output, 2))  # the best of three
            small = _cost(spec, make(line, OUTPUT_SMALL), 3)
            if big > NOISE_FLOOR and big / max(small, 1e-4) > MAX_RATIO:
                failures.append(f"{name} on {line!r}: {small * 1e3:.2f} ms -> {big * 1e3:.2f} ms")
    assert not failures, f"{command}: super-linear in output size on:\n" + "\n".join(failures)


REPEATED_LINES = 50
# name -> the unit of a long run ending each of the REPEATED_LINES lines (a
# run of NEL or U+2028 is a run of empty lines: test_cost_is_linear_in_output_size)
RUNS = {
    "blanks": " ",
    "tabs": "\t",
    "nbsp": "\u00a0",
    "unicode-blanks": MIXED_BLANKS,
}


def lines_ending_in_runs(lines: list[str], index: int, start: str, unit: str, width: int) -> str:
    """The fixture's lines before `index`, then REPEATED_LINES lines of
    `start`, a run of `width` characters of `unit`, and "x:" (50 lines of
    "Redundancy Facility Event Log" + 4,000 NBSP + "x:" cost 6.7 s when the
    header rule read `\\s*:?\\s*$$` on Unicode blanks)."""
    run = (unit * (width // len(unit) + 1))[:width]
    return "\n".join([*lines[:index], *[f"{start}{run}x:"] * REPEATED_LINES]) + "\n"


def starts_of(line: str) -> list[str]:
    """The line, and the line without its final punctuation (the header
    without the ":" that its rule makes optional)."""
    trimmed = line.rstrip(" \t:,.;")
    return [line] if trimmed == line else [line, trimmed]


@pytest.mark.parametrize("spec", TEMPLATE_SPECS, ids=lambda s: s.command)
def test_cost_is_linear_on_lines_ending_in_long_runs_of_blanks(spec) -> None:
    command = spec.command
    failures = []
    for _raw, index, lines in fixture_lines(spec):
        for start in starts_of(lines[index]):
            for name, unit in RUNS.items():
                output = lines_ending_in_runs(lines, index, start, unit, BIG)
                first = _cost(spec, output)
                if first < NOISE_FLOOR:
                    continue
                big = min(first, _cost(spec, output, 2))  # the best of three
                small = _cost(spec, lines_ending_in_runs(lines, index, start, unit, SMALL), 3)
                if big > NOISE_FLOOR and big / max(small, 1e-4) > MAX_RATIO:
                    failures.append(f"{name} after {start!r}: {small * 1e3:.2f} ms -> {big * 1e3:.2f} ms")
    assert not failures, f"{command}: super-linear on {len(failures)} shape(s):\n" + "\n".join(failures)


def test_the_quoted_history_case_is_an_error_and_linear() -> None:
    """The measured case itself: it must be refused (a garbage header), and
    cost about 8x more for 8x the blanks (it was 64x: quadratic)."""

    def text(width: int) -> str:
        return ("Redundancy Facility Event Log" + "\u00a0" * width + "x:\n") * REPEATED_LINES

    with pytest.raises(ParseError) as caught:
        parse_output("show redundancy history", text(BIG))
    assert caught.value.line_number == 1
    history = resolve("show redundancy history")
    big = _cost(history, text(BIG), 3)
    small = _cost(history, text(SMALL), 3)
    assert big < NOISE_FLOOR or big / max(small, 1e-4) <= MAX_RATIO, (small, big)
