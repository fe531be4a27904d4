"""`ipsec-ha-monitor` as a user runs it: a real subprocess (parse; serve's
flags, and a SIGHUP while it starts)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.inventories import write_branch_inventory
from support.paths import FIXTURES, REPO
from support.processes import StderrLines, start_monitor
from support.waiting import wait_until

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


@pytest.mark.parametrize("flag", ["--web.max-connections", "--web.max-probes-per-target"])
def test_serve_caps_are_whole_numbers_from_1(flag: str) -> None:
    result = _run("serve", "--config", "/nonexistent.yml", flag, "0")
    assert result.returncode == 2 and "expected a whole number from 1, got 0" in result.stderr


@pytest.mark.skipif(not Path("/proc/self/status").exists() or not hasattr(os, "mkfifo"), reason="Linux: SigCgt")
def test_a_sighup_while_serve_starts_is_a_reload_not_the_end(tmp_path: Path) -> None:
    """SIGHUP's default ends a process: serve holds one that comes while it
    starts (here: while it waits to read its web config from a FIFO) and
    reloads once it runs."""
    inventory = tmp_path / "inventory.yml"
    write_branch_inventory(inventory)
    web_file = tmp_path / "web.yml"
    os.mkfifo(web_file)
    process = start_monitor(
        "serve", "--config", str(inventory), "--web.listen-address", "127.0.0.1:0", "--poll-interval", "0",
        "--web.config.file", str(web_file),
    )  # fmt: skip
    stderr_lines = StderrLines(process)
    logged = stderr_lines.lines
    try:

        def catches_sighup() -> bool:
            status = Path(f"/proc/{process.pid}/status").read_text(encoding="utf-8")
            caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:")).split()[1], 16)
            return bool(caught & (1 << (signal.SIGHUP - 1)))

        wait_until(catches_sighup, 30, "serve to catch SIGHUP")
        with open(web_file, "w", encoding="utf-8") as fifo:  # serve is blocked reading it: still starting
            process.send_signal(signal.SIGHUP)
            time.sleep(0.2)
            assert process.poll() is None
            regular = tmp_path / "web.regular"
            regular.write_text("{}\n", encoding="utf-8")
            os.replace(regular, web_file)  # what the reload reads
            fifo.write("{}\n")
        assert " on http://127.0.0.1:" in process.stdout.readline()
        wait_until(lambda: f"web config {web_file} reloaded" in "".join(logged), 10, "the held reload")
    finally:
        stderr_lines.stop()
    assert process.returncode == 0, logged
    assert f"inventory {inventory} reloaded" in "".join(logged)
