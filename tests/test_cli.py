"""`ipsec-ha-monitor` as a user runs it: a real subprocess (parse; serve's
flags, and a SIGHUP while it starts)."""

from __future__ import annotations

import json
import logging
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.inventories import write_branch_inventory
from support.paths import FIXTURES, REPO
from support.processes import StderrLines, spawn_serve, start_monitor
from support.waiting import wait_until

pytestmark = pytest.mark.integration  # `python -m ipsec_ha_monitor` and the console script as processes


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ipsec_ha_monitor", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
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


def test_an_output_ending_mid_line_is_read_with_a_note_or_refused_with_cut() -> None:
    # show version cut inside "Last reload reason: bus error ...": read as saved, said on stderr.
    text = (FIXTURES / "show_version/crash_bus_error.raw").read_text(encoding="utf-8")
    cut = text[: text.index("Last reload reason:") + len("Last reload reason: bu")]
    read = _run("parse", "--command", "show version", "-", stdin=cut)
    assert read.returncode == 0, read.stderr
    assert "note: standard input ends mid-line with no prompt after it" in read.stderr and "--cut" in read.stderr
    refused = _run("parse", "--command", "show version", "--cut", "-", stdin=cut)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "truncated" in refused.stderr and "Last reload reason: bu" in refused.stderr
    # Whole outputs: a final line end, or a prompt last, carry no note and pass --cut.
    for whole in (cut.rpartition("\n")[0] + "\n", cut.rpartition("\n")[0] + "\nR1#"):
        done = _run("parse", "--command", "show version", "--cut", "-", stdin=whole)
        assert done.returncode == 0 and done.stderr == "", done.stderr


def test_command_it_cannot_name_exits_2_before_reading_the_file() -> None:
    ambiguous = _run("parse", "--command", "sh re", "/nonexistent/output.txt")
    assert ambiguous.returncode == 2, ambiguous.stderr
    assert "ambiguous_abbreviation" in ambiguous.stderr and "'show redundancy'" in ambiguous.stderr
    unknown = _run("parse", "--command", "show ip route", "/nonexistent/output.txt")
    assert unknown.returncode == 2 and "unsupported_command" in unknown.stderr
    assert "cannot read" not in ambiguous.stderr + unknown.stderr


def test_unreadable_file_exits_2() -> None:
    result = _run("parse", "--command", "show version", "/nonexistent/output.txt")
    assert result.returncode == 2
    assert "cannot read /nonexistent/output.txt" in result.stderr


def test_console_script_is_installed() -> None:
    script = shutil.which("ipsec-ha-monitor", path=str(Path(sys.executable).parent))
    assert script, "pip install -e . should install the ipsec-ha-monitor script beside this interpreter"
    result = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "ipsec-ha-monitor" in result.stdout


@pytest.mark.parametrize(
    "flag",
    [
        "--web.max-connections",
        "--web.max-probes-per-target",
        "--web.max-open-connections",
        "--web.max-connections-per-client",
    ],
)
def test_serve_caps_are_whole_numbers_from_1(flag: str) -> None:
    result = _run("serve", "--config", "/nonexistent.yml", flag, "0")
    assert result.returncode == 2 and "expected a whole number from 1, got 0" in result.stderr


# serve, its start held until a file appears: it reads its web config only
# then. (A FIFO held it once; serve now refuses a FIFO rather than wait on it.)
HELD_START = """
import pathlib, sys, time
from ipsec_ha_monitor import cli, serve
flag, read = pathlib.Path(sys.argv[1]), serve.load_web_config
def held(path):
    flag.with_suffix(".waiting").touch()
    while not flag.exists():
        time.sleep(0.02)
    return read(path)
serve.load_web_config = held
sys.exit(cli.main(sys.argv[2:]))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux: SigCgt")
def test_a_sighup_while_serve_starts_is_a_reload_not_the_end(tmp_path: Path) -> None:
    """SIGHUP's default ends a process: serve holds one that comes while it
    starts (here: while its web config is being read) and reloads once it runs."""
    inventory = tmp_path / "inventory.yml"
    write_branch_inventory(inventory)
    web_file = tmp_path / "web.yml"
    web_file.write_text("{}\n", encoding="utf-8")
    flag = tmp_path / "go"
    process = start_monitor(
        str(flag), "serve", "--config.file", str(inventory), "--web.listen-address", "127.0.0.1:0",
        "--poll-interval", "0", "--web.config.file", str(web_file), code=HELD_START,
    )  # fmt: skip
    stderr_lines = StderrLines(process)
    logged = stderr_lines.lines
    try:

        def catches_sighup() -> bool:
            status = Path(f"/proc/{process.pid}/status").read_text(encoding="utf-8")
            caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:")).split()[1], 16)
            return bool(caught & (1 << (signal.SIGHUP - 1)))

        wait_until(lambda: flag.with_suffix(".waiting").exists(), 30, "serve to read its web config")
        assert catches_sighup()  # held: still starting
        process.send_signal(signal.SIGHUP)
        time.sleep(0.2)
        assert process.poll() is None
        flag.touch()
        assert stderr_lines.serving_url().startswith("http://127.0.0.1:")
        wait_until(lambda: f"web config {web_file} reloaded" in "".join(logged), 10, "the held reload")
    finally:
        stderr_lines.stop()
    assert process.returncode == 0, logged
    assert f"inventory {inventory} reloaded" in "".join(logged)


def test_help_states_every_default() -> None:
    result = _run("serve", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())  # argparse wraps lines
    for default in ("(default: :9477)", "(default: 30.0)", "(default: 64)", "(default: 8)", "(default: logfmt)"):
        assert default in text, default
    assert "(default: info)" in text and "--config.file FILE" in text and "--web.enable-lifecycle" in text


@pytest.mark.parametrize("spelling", ["--config.file", "--config"])
def test_the_inventory_flag_and_its_old_alias(spelling: str, tmp_path: Path) -> None:
    """--config.file as every exporter spells it; --config still works. A
    missing file is named in one line, exit 2, whatever the spelling."""
    missing = tmp_path / "missing.yml"
    for command in ("check", "serve"):
        result = _run(command, spelling, str(missing), "--web.listen-address" if command == "serve" else "--json",
                      *(["127.0.0.1:0"] if command == "serve" else []))  # fmt: skip
        assert result.returncode == 2, (command, result.stderr)
        assert str(missing) in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize(
    ("content", "complaint"),
    [(b"R1#show version\n\x00\x01\x02", "binary file"), (b"R1#show version\n\xff\xfe caf\xe9\n", "not UTF-8")],
)
def test_parse_refuses_binary_and_non_utf8_files_in_one_line(content: bytes, complaint: str, tmp_path: Path) -> None:
    saved = tmp_path / "output.txt"
    saved.write_bytes(content)
    result = _run("parse", "--command", "show version", str(saved))
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert str(saved) in result.stderr and complaint in result.stderr


def _first_log_line(tmp_path: Path, *log_flags: str) -> str:
    """serve's first log line (it warns that it serves without TLS)."""
    inventory = tmp_path / "inventory.yml"
    write_branch_inventory(inventory)
    process = spawn_serve(inventory, *log_flags)
    stderr_lines = StderrLines(process)
    try:
        wait_until(lambda: stderr_lines.lines, 30, "serve's first log line")
    finally:
        stderr_lines.stop()
    return stderr_lines.lines[0]


def test_logs_are_logfmt_by_default(tmp_path: Path) -> None:
    line = _first_log_line(tmp_path)
    fields = dict(re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', line))
    assert set(fields) == {"ts", "level", "logger", "msg"}, line
    assert fields["level"] == "warning" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", fields["ts"])
    assert "without TLS" in json.loads(fields["msg"])


def test_logs_as_json_lines(tmp_path: Path) -> None:
    record = json.loads(_first_log_line(tmp_path, "--log.format", "json", "--log.level", "debug"))
    assert (
        record["level"] == "warning" and "without TLS" in record["msg"] and record["logger"] == "ipsec_ha_monitor.serve"
    )


def test_a_log_record_with_a_traceback_stays_one_line() -> None:
    from ipsec_ha_monitor.logs import JsonFormatter, LogfmtFormatter

    try:
        raise RuntimeError('boom "quoted"\nsecond line')
    except RuntimeError:
        record = logging.LogRecord(
            "ipsec_ha_monitor.x", logging.ERROR, __file__, 1, "failed: %s", ("a b",), sys.exc_info()
        )
    for formatter in (LogfmtFormatter(), JsonFormatter()):
        text = formatter.format(record)
        assert "\n" not in text and "Traceback" in text and "second line" in text
    assert json.loads(JsonFormatter().format(record))["msg"].startswith("failed: a b\nTraceback")
    assert 'msg="failed: a b\\nTraceback' in LogfmtFormatter().format(record)


def test_bad_arguments_of_a_nagios_check_are_unknown_not_critical() -> None:
    result = _run("check", "--config.file", "x.yml", "--nagios", "--json")
    assert result.returncode == 3
    assert result.stdout.startswith("IPSECHA UNKNOWN - ") and "not allowed with argument" in result.stderr
    assert _run("check", "--config.file", "x.yml", "--json", "--bogus").returncode == 2  # not a plugin: argparse's 2
