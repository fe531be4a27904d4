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
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from test_parse_linear import VARIANTS, fixture_lines  # noqa: E402
from test_parse_linear import _cost as parse_cost  # noqa: E402

from ipsec_ha_monitor.parse import COMMANDS, MAX_LINE  # noqa: E402

MB = 2**20


def cost(command: str, text: str, repeat: int = 3) -> float:
    """Best of `repeat` parse times, in seconds (the test's own timer)."""
    return parse_cost(command, text, repeat)


def main() -> None:
    size = MAX_LINE - 1
    print(f"line cap {MAX_LINE} characters; adversarial lines of {size} characters\n")
    print(f"{'command':36} | {'worst case':64} | {'ms at 4 KB line':>15} | {'ms per MB':>9}")
    print("-" * 36 + "-+-" + "-" * 64 + "-+-" + "-" * 15 + "-+-" + "-" * 9)
    for spec in COMMANDS:
        command = spec.command
        worst = (0.0, "", "", [], 0)
        for raw in sorted(Path(REPO / "tests/fixtures/cisco_ios" / command.replace(" ", "_")).glob("*.raw")):
            cost(command, raw.read_text(encoding="utf-8"), 1)  # compile the template first
        for _raw, index, lines in fixture_lines(command):
            for name, grow in VARIANTS.items():
                text = "\n".join([*lines[:index], grow(lines[index], size)]) + "\n"
                spent = cost(command, text, 2)
                if spent > worst[0]:
                    worst = (spent, name, lines[index], lines, index)
        _, name, line, lines, index = worst
        altered = VARIANTS[name](line, size)
        one = cost(command, "\n".join([*lines[:index], altered]) + "\n")
        big = "\n".join([*lines[:index], *[altered] * (MB // (len(altered) + 1))]) + "\n"
        per_mb = cost(command, big, 2) * MB / len(big)
        label = f"{name} on {line.strip()[:48]!r}"
        print(f"{command:36} | {label:64} | {one * 1e3:15.2f} | {per_mb * 1e3:9.1f}")


if __name__ == "__main__":
    main()
