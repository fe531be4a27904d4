"""The command never shows another package's warnings: a user reads our
messages only (a one-line error stays one line), while the tests, which
import the package as a library, still see every warning."""

from __future__ import annotations

import shlex
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from support.processes import _default_sigint, closed_port, stop
from support.waiting import wait_until

FIXTURE = next((Path(__file__).parent / "fixtures" / "cisco_ios" / "show_version").glob("*.raw"))
SCRIPT = Path(sys.executable).parent / "ipsec-ha-monitor"  # the installed console script
# What a warning looks like on stderr: "<file>:<line>: <Category>Warning: <text>".
WARNING_MARKS = ("Warning:", "warnings.warn", "DeprecationWarning")


def _warnings_in(text: str) -> list[str]:
    return [line for line in text.splitlines() if any(mark in line for mark in WARNING_MARKS)]


def _run(snippet: str, *flags: str) -> str:
    """stderr of `python *flags -c snippet`."""
    done = subprocess.run(
        [sys.executable, *flags, "-c", textwrap.dedent(snippet)], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stderr


EMIT = """
    import warnings
    from ipsec_ha_monitor.__main__ import quiet_third_party_warnings
    quiet_third_party_warnings()
    warnings.warn_explicit("from a library", DeprecationWarning, "lib.py", 1, module="somelib.crypto")
    warnings.warn_explicit("from the library too", UserWarning, "lib.py", 2, module="monitorish")
    warnings.warn_explicit("from us", UserWarning, "poller.py", 3, module="ipsec_ha_monitor.poll.poller")
"""


def test_the_filter_hides_other_packages_warnings_and_keeps_ours() -> None:
    stderr = _run(EMIT)
    assert "from us" in stderr
    assert "from a library" not in stderr and "from the library too" not in stderr, stderr


def test_warning_options_the_user_gives_win() -> None:
    stderr = _run(EMIT, "-W", "default")
    assert "from a library" in stderr and "from the library too" in stderr and "from us" in stderr, stderr


@pytest.mark.integration
@pytest.mark.parametrize("how", ["script", "module"])
def test_no_command_prints_a_third_party_warning(tmp_path: Path, how: str) -> None:
    """Each command as a user runs it: the lab (its SSH servers import
    asyncssh, which warns under newer cryptography), its trigger as printed,
    check against it, parse, assets, --version and every --help."""
    command = [str(SCRIPT)] if how == "script" else [sys.executable, "-m", "ipsec_ha_monitor"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120, cwd=tmp_path)

    quiet: list[subprocess.CompletedProcess[str]] = [run("--version")]
    for sub in ("parse", "check", "serve", "demo", "lab", "assets"):
        quiet.append(run(sub, "--help"))
    quiet.append(run("parse", "--command", "show version", str(FIXTURE)))
    quiet.append(run("assets", "--output", str(tmp_path / "assets")))
    inventory = tmp_path / "lab.yml"
    control = f"127.0.0.1:{closed_port()}"
    lab = subprocess.Popen(
        [*command, "lab", "--time-scale", "20", "--write-inventory", str(inventory), "--control-address", control],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(lab.stdout or ()), daemon=True)
    reader.start()
    try:
        printed = wait_until(
            lambda: next((line.strip() for line in list(lines) if line.startswith("try: ")), None),
            60,
            "the lab's try line",
            describe=lambda: lines,
        )
        quiet.append(run("check", "--config.file", str(inventory)))
        trigger = subprocess.run(shlex.split(printed.removeprefix("try: ")), capture_output=True, text=True, timeout=60)
        quiet.append(trigger)
    finally:
        lab_stderr = stop(lab)
    assert all(done.returncode in (0, 1) for done in quiet), [(done.args, done.stderr) for done in quiet]
    for done in quiet:
        assert _warnings_in(done.stdout + done.stderr) == [], done.args
    assert _warnings_in(lab_stderr) == []
