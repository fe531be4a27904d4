"""Shared test paths."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "cisco_ios"
# Real device outputs from public fixtures, laid beside the repository
# (../shared/corpus) on every developer machine and in CI.
CORPUS = REPO.parent / "shared" / "corpus"


def command_of(folder: Path) -> str:
    """ntc-templates convention: the folder names the command."""
    return folder.name.replace("_", " ")
