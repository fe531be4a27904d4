"""What the shipped files (`ipsec-ha-monitor assets`: example configs,
rules, dashboards, runbooks) tell a user to run or read must exist: every
`ipsec-ha-monitor <command> --flag` they show is a flag of that command under
its current name (not a kept alias such as `--config`), and every README or
docs/ page and section they cite is there."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from support.paths import REPO

from ipsec_ha_monitor.assets import shipped_files
from ipsec_ha_monitor.cli import build_parser

# Text files a user reads (the templates are TextFSM, not prose).
SHIPPED = sorted(
    (relative, path)
    for relative, path in shipped_files()
    if not relative.startswith("textfsm_templates/") and path.suffix in (".yml", ".yaml", ".service", ".md", ".json")
)
# A README or docs/ page, optionally with an anchor or a quoted section:
# "docs/alerting.md#prometheus-one-exporter-or-replicas", `docs/runbooks.md, "Runbook links"`,
# "README: Performance".
CITATION = re.compile(
    r"(?P<page>README(?:\.md)?|docs/[\w./-]+?\.md)"
    r"(?:#(?P<anchor>[a-z0-9][\w-]*)(?![\w:/])|, \"(?P<quoted>[^\"]+)\"|: (?P<section>[A-Z][\w` -]*[\w`]))?"
)
COMMAND = re.compile(r"(?:ipsec-ha-monitor|python3? -m ipsec_ha_monitor) (\w+)((?: +[^|`;&()\n]+)?)")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)
    headings = re.findall(r"^#{1,6} (.+)$", text, flags=re.M)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def _slug(title: str) -> str:
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def _logical_lines(text: str) -> list[str]:
    """Lines with comment markers dropped and continuations joined: a
    backslash at the end, or a backtick left open across lines."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = re.sub(r"^\s*(#|//)\s?", "", raw)
        pending = f"{pending} {line.strip()}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1]
            continue
        if pending.count("`") % 2 == 1:
            continue
        lines.append(pending)
        pending = ""
    if pending:
        lines.append(pending)
    return lines


def _canonical_flags() -> dict[str, set[str]]:
    """Per command, each option's current name (its first spelling)."""
    parser = build_parser()
    (action,) = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    return {
        name: {option.option_strings[0] for option in sub._actions if option.option_strings}
        for name, sub in action.choices.items()
    }


def test_the_shipped_files_are_the_ones_checked() -> None:
    names = {relative for relative, _ in SHIPPED}
    assert {
        "dashboards/prometheus/prometheus.yml",
        "dashboards/prometheus/prometheus-scale-out.yml",
        "examples/ipsec-ha-monitor.service",
        "docs/runbooks.md",
    } <= names


@pytest.mark.parametrize(("relative", "path"), SHIPPED, ids=[relative for relative, _ in SHIPPED])
def test_every_command_in_a_shipped_file_uses_current_flags(relative: str, path: Path) -> None:
    flags = _canonical_flags()
    wrong = []
    for line in _logical_lines(path.read_text(encoding="utf-8")):
        for match in COMMAND.finditer(line):
            command, rest = match.group(1), match.group(2)
            if command not in flags:
                continue
            for flag in re.findall(r"(?<![\w-])--[a-z][\w.-]*", rest):
                if flag not in flags[command]:
                    wrong.append(f"{command} {flag}")
    assert wrong == [], f"{relative}: not a current flag"


@pytest.mark.parametrize(("relative", "path"), SHIPPED, ids=[relative for relative, _ in SHIPPED])
def test_every_page_and_section_a_shipped_file_cites_exists(relative: str, path: Path) -> None:
    broken = []
    for line in _logical_lines(path.read_text(encoding="utf-8")):
        for match in CITATION.finditer(line):
            page = REPO / ("README.md" if match["page"].startswith("README") else match["page"])
            if not page.is_file():
                broken.append(f"{match[0]}: no such page")
                continue
            wanted = match["anchor"] or _slug(match["quoted"] or match["section"] or "")
            if wanted and wanted not in _anchors(page):
                broken.append(f"{match[0]}: no such section in {page.relative_to(REPO)}")
    assert broken == [], relative


def test_the_check_catches_an_old_flag_and_a_missing_section() -> None:
    """The checks above, on the two faults the shipped prometheus.yml had."""
    old = "# (`ipsec-ha-monitor serve --config inventory.yml`)\n# (README: Performance)\n"
    lines = _logical_lines(old)
    flags = _canonical_flags()
    used = [flag for line in lines for m in COMMAND.finditer(line) for flag in re.findall(r"--[a-z][\w.-]*", m[2])]
    assert used == ["--config"] and "--config" not in flags["serve"] and "--config.file" in flags["serve"]
    (citation,) = [m for line in lines for m in CITATION.finditer(line)]
    assert citation["section"] == "Performance" and _slug("Performance") not in _anchors(REPO / "README.md")
