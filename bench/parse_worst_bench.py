"""Worst-case parse cost: adversarial lines, per command.

    python bench/parse_worst_bench.py

For every command, every line of its fixtures is altered the ways that hurt
backtracking regexes (tests/test_parse_linear.py VARIANTS: long runs of
blanks, digits, dots, words or tabs appended, inner blank runs widened) up to
the parser's line cap (MAX_LINE), and the output cut after that line is
parsed. The table shows the worst such line, its cost, and the cost per MB of
an output made of that fixture's lines up to the altered one followed by the
altered line repeated up to 1 MB (many capped lines: growth in output size
must be linear too).

The variants include runs of each Unicode blank (NBSP, U+2000..U+200A,
U+3000, NEL, U+1680, U+2028) and each line cut after each of its words then
blanks (test_parse_linear CUT_VARIANTS). A second table measures, per
command, the worst output of 50 lines of a fixture line then a run of
blanks up to the line cap and "x:" (test_parse_linear RUNS: ASCII and
Unicode blanks), the shape that cost seconds on `show redundancy history`.

    python bench/parse_worst_bench.py --runs-only   # the second table alone
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from test_parse_linear import RUNS, cases, fixture_lines, lines_ending_in_runs, starts_of  # noqa: E402
from test_parse_linear import _cost as parse_cost  # noqa: E402

from ipsec_ha_monitor.parse import COMMANDS, MAX_LINE  # noqa: E402

MB = 2**20


def cost(command: str, text: str, repeat: int = 3) -> float:
    """Best of `repeat` parse times, in seconds (the test's own timer)."""
    return parse_cost(command, text, repeat)


def worst_lines() -> None:
    size = MAX_LINE - 1
    print(f"line cap {MAX_LINE} characters; adversarial lines of {size} characters\n")
    print(f"{'command':36} | {'worst case':64} | {'ms at 4 KB line':>15} | {'ms per MB':>9}")
    print("-" * 36 + "-+-" + "-" * 64 + "-+-" + "-" * 15 + "-+-" + "-" * 9)
    for spec in COMMANDS:
        command = spec.command
        worst: tuple = (0.0, "", None, [], 0)
        for raw in sorted(Path(REPO / "tests/fixtures/cisco_ios" / command.replace(" ", "_")).glob("*.raw")):
            cost(command, raw.read_text(encoding="utf-8"), 1)  # compile the template first
        for name, grow, lines, index in cases(command):
            text = "\n".join([*lines[:index], grow(lines[index], size)]) + "\n"
            spent = cost(command, text, 2)
            if spent > worst[0]:
                worst = (spent, name, grow, lines, index)
        _, name, grow, lines, index = worst
        altered = grow(lines[index], size)
        one = cost(command, "\n".join([*lines[:index], altered]) + "\n")
        big = "\n".join([*lines[:index], *[altered] * (MB // (len(altered) + 1))]) + "\n"
        per_mb = cost(command, big, 2) * MB / len(big)
        label = f"{name} on {lines[index].strip()[:48]!r}"
        print(f"{command:36} | {label:64} | {one * 1e3:15.2f} | {per_mb * 1e3:9.1f}")


def worst_runs() -> None:
    width = MAX_LINE - 200
    print(f"\n50 lines of a fixture line + {width} blanks + 'x:' (ASCII and Unicode blanks)\n")
    print(f"{'command':36} | {'worst case':64} | {'ms':>9} | {'nbsp ms':>9}")
    print("-" * 36 + "-+-" + "-" * 64 + "-+-" + "-" * 9 + "-+-" + "-" * 9)
    for spec in COMMANDS:
        command = spec.command
        worst: tuple = (0.0, "", "")
        worst_nbsp = 0.0
        for _raw, index, lines in fixture_lines(command):
            for start in starts_of(lines[index]):
                for name, unit in RUNS.items():
                    spent = cost(command, lines_ending_in_runs(lines, index, start, unit, width), 1)
                    if spent > worst[0]:
                        worst = (spent, name, start)
                    if name == "nbsp":
                        worst_nbsp = max(worst_nbsp, spent)
        spent, name, start = worst
        label = f"{name} after {start.strip()[:44]!r}"
        print(f"{command:36} | {label:64} | {spent * 1e3:9.1f} | {worst_nbsp * 1e3:9.1f}")


def main() -> None:
    if "--runs-only" not in sys.argv:
        worst_lines()
    worst_runs()


if __name__ == "__main__":
    main()
