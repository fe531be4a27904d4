"""`ipsec-ha-monitor parse` as a user runs it: a real subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import FIXTURES, REPO

pytestmark = pytest.mark.integration  # `python -m monitor` and the console script as processes


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args], input=stdin, capture_output=True, text=True, cwd=REPO, timeout=60
    )


def test_parse_file_prints_records_as_json() -> None:
    result = _run(
        "parse", "--command", "sh red sta", str(FIXTURES / "show_redundancy_states/packetlife_r1_standby_hot.raw")
    )
    assert result.returncode == 0, result.stderr
    (record,) = json.loads(result.stdout)
    assert record["my_state"] == {"code": 8, "name": "STANDBY HOT"}
    assert record["peer_state"] == {"code": 13, "name": "ACTIVE"}
    assert record["mode"] == "Duplex"


def test_parse_standard_input() -> None:
    text = (FIXTURES / "show_standby/packetlife_r2_active.raw").read_text()
    result = _run("parse", "--command", "show standby", "-", stdin=text)
    assert result.returncode == 0, result.stderr
    assert [group["state"] for group in json.loads(result.stdout)] == ["active"]


def test_parse_error_exits_1_with_the_error_on_stderr() -> None:
    text = "R1#show redundancy states\n% Invalid input detected at '^' marker.\n"
    result = _run("parse", "--command", "show redundancy states", "-", stdin=text)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "invalid_input" in result.stderr and "line 2" in result.stderr


def test_unreadable_file_exits_2() -> None:
    result = _run("parse", "--command", "show version", "/nonexistent/output.txt")
    assert result.returncode == 2
    assert "cannot read /nonexistent/output.txt" in result.stderr


def test_console_script_is_installed() -> None:
    script = shutil.which("ipsec-ha-monitor", path=str(Path(sys.executable).parent))
    assert script, "pip install -e . should install the ipsec-ha-monitor script beside this interpreter"
    result = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "ipsec-ha-monitor" in result.stdout
