"""What a new user meets first (issue 25, "As a new user meets it"): the
start line of serve as a log record, the spellings Prometheus users type,
a --state folder that does not exist yet, the grammar of check's output,
and advice that fits an unreachable pair."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.inventories import write_branch_inventory, write_inventory
from support.processes import SERVING, closed_port, serving_url, spawn_serve, stop

from ipsec_ha_monitor.cli import main
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.words import count, duration, plural

TIME_SCALE = 20


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ipsec_ha_monitor", *args], capture_output=True, text=True, timeout=60)


# --- serve's start line ----------------------------------------------------------------


def _logfmt(line: str) -> dict[str, str]:
    fields = dict(re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', line))
    return {key: json.loads(value) if value.startswith('"') else value for key, value in fields.items()}


@pytest.mark.parametrize("log_format", ["logfmt", "json"])
def test_the_start_line_is_a_log_record_in_the_chosen_format(log_format: str, tmp_path: Path) -> None:
    """Every line serve writes is a record of --log.format (nothing on
    stdout); the start line is one, shown even at --log.level error, since
    it is what a user and a script wait for; serving_url reads it in both."""
    inventory = write_branch_inventory(tmp_path / "inventory.yml")
    process = spawn_serve(inventory, "--log.format", log_format, "--log.level", "error")
    try:
        url = serving_url(process)
    finally:
        stderr = stop(process)
    assert re.fullmatch(r"http://127\.0\.0\.1:[0-9]+", url)
    (line,) = [line for line in stderr.splitlines() if SERVING.search(line)]
    record = json.loads(line) if log_format == "json" else _logfmt(line)
    assert set(record) == {"ts", "level", "logger", "msg"}, line
    assert (record["level"], record["logger"]) == ("info", "ipsec_ha_monitor.serve.start")
    assert record["msg"] == f"serving 1 device on {url}/metrics (no background polling: /probe only)"
    assert process.returncode == 0
    assert "without TLS" not in stderr  # a warning, below --log.level error: the level still filters the rest
    for other in stderr.splitlines():  # whatever else it logged: records of the same format
        if log_format == "json":
            json.loads(other)
        else:
            assert other.startswith("ts="), other


# --- what Prometheus users type ------------------------------------------------------------


def test_log_level_warn_as_prometheus_spells_it(tmp_path: Path) -> None:
    inventory = write_branch_inventory(tmp_path / "inventory.yml")
    for level in ("warn", "warning"):
        process = spawn_serve(inventory, "--log.level", level)
        try:
            serving_url(process)
        finally:
            stderr = stop(process)
        records = [_logfmt(line) for line in stderr.splitlines()]
        assert any(r["level"] == "warning" and "without TLS" in r["msg"] for r in records), stderr
        assert all(r["level"] != "info" or r["logger"] == "ipsec_ha_monitor.serve.start" for r in records), stderr
    done = _run("check", "--config", str(inventory), "--log.level", "warn", "--nagios", "-t", "5")
    assert "invalid choice" not in done.stderr and done.stdout.startswith("IPSECHA "), done.stdout + done.stderr


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_listen_address_given_twice_is_a_usage_error(command: str, tmp_path: Path) -> None:
    """Not the last one silently winning: serve listens on one address."""
    inventory = write_branch_inventory(tmp_path / "inventory.yml")
    config = ["--config", str(inventory)] if command == "serve" else []
    ports = [f"127.0.0.1:{closed_port()}", f"127.0.0.1:{closed_port()}"]
    done = _run(command, *config, "--web.listen-address", ports[0], "--web.listen-address", ports[1])
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines()[-1] == (
        f"ipsec-ha-monitor {command}: error: argument --web.listen-address: given twice; "
        "serve listens on one address (:PORT is every interface, IPv4 and IPv6)"
    )


# --- the README's cron example on a fresh host --------------------------------------------


def test_a_missing_state_folder_is_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--state /var/lib/ipsecha/state.json` on a fresh host: the folders are
    made (mode 0777 less the umask, as mkdir -p) and the state saved."""
    inventory = write_branch_inventory(tmp_path / "inventory.yml", port=closed_port())
    state = tmp_path / "var" / "lib" / "ipsecha" / "state.json"
    umask = os.umask(0o027)
    try:
        code = main(["check", "--config", str(inventory), "--state", str(state), "--progress", "never"])
    finally:
        os.umask(umask)
    out, err = capsys.readouterr()
    assert code == 2, out + err  # R4 is not polled (a closed port): the state is saved all the same
    assert "ipsec-ha-monitor check: state file" not in err, err
    assert json.loads(state.read_text(encoding="utf-8"))["format"] == "ipsec-ha-monitor check state"
    for folder in (state.parent, state.parent.parent, state.parent.parent.parent):
        assert folder.stat().st_mode & 0o777 == 0o750, folder


# --- grammar ---------------------------------------------------------------------------------


def test_plurals_and_durations() -> None:
    assert [count(n, "peer") for n in (0, 1, 2)] == ["0 peers", "1 peer", "2 peers"]
    assert (plural(1, "copy"), plural(3, "copy")) == ("copy", "copies")
    assert [duration(s) for s in (0.0, 0.0004, 0.04, 0.9994, 0.9996, 4.25, 59.94, 75.2)] == [
        "under 1 ms",
        "under 1 ms",
        "40 ms",
        "999 ms",
        "1.0 s",
        "4.2 s",
        "59.9 s",
        "75 s",
    ]
    for millis in range(0, 120_000, 7):
        assert duration(millis / 1000) not in ("0.0 s", "0 ms", "0 s", "1000 ms", "60.0 s")


def test_check_output_speaks_of_one_device_and_one_peer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A pair with one branch: the active hub holds 1/1 peer, the standby 1
    peer's copies; one device polled is "1 device", in a duration people read."""
    with LabThread(Lab(pairs=1, branches=1, time_scale=TIME_SCALE)) as running:
        path = write_inventory(running.lab, tmp_path / "lab.yml")
        assert main(["check", "--config", str(path), "--progress", "never"]) == 0
        text = capsys.readouterr().out
        assert main(["check", "--config", str(path), "--progress", "never", "--device", "R4"]) == 0
        single = capsys.readouterr().out
    rows = {line.split()[0]: line for line in text.splitlines() if line.startswith("  R")}
    assert " 1/1 peer " in rows["R2"] and " 1 peer (copies) " in rows["R1"], text
    assert re.search(r": 3 devices polled in ([1-9][0-9]* ms|[0-9]+\.[0-9] s) at ", text.splitlines()[0]), text
    first = single.splitlines()[0]
    assert re.search(r": 1 device polled in ([1-9][0-9]* ms|under 1 ms|[0-9]+\.[0-9] s) at ", first), first
    assert " 0.0 s " not in text + single and " peers" not in text


# --- advice that fits the cause ------------------------------------------------------------------


def test_an_unreachable_pair_gets_reachability_advice_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with LabThread(Lab(pairs=1, branches=1, time_scale=TIME_SCALE)) as running:
        closed = {name: {"port": closed_port()} for name in ("R1", "R2")}
        path = write_inventory(running.lab, tmp_path / "lab.yml", overrides=closed)
        assert main(["check", "--config", str(path), "--progress", "never"]) == 2
        text = capsys.readouterr().out
        assert main(["check", "--config", str(path), "--nagios"]) == 3
        plugin = capsys.readouterr().out
    section = text.split("pair HUB-PAIR-1: UNKNOWN\n")[1].split("\n\n")[0]
    advice = [line for line in section.splitlines() if line.startswith("  UNKNOWN")]
    assert len(advice) == 1, section
    assert re.fullmatch(
        r"  UNKNOWN [0-9]+ rules: no member answered \(R1: connect; R2: connect\): check that they are up and "
        r"that this host reaches their SSH port \(routes, ACLs, firewalls\)",
        advice[0],
    ), advice
    assert "stateful_group" not in text and "stateful_group" not in plugin
    assert "HUB-PAIR-1 (no member answered)" in plugin.splitlines()[0]
    assert sum(line.startswith("  UNKNOWN") for line in plugin.splitlines()) == 1, plugin
