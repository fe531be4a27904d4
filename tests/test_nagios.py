"""`check --nagios` as Nagios and Icinga run it: a process whose stdout is
one plugin result (status line, perfdata, long text) and whose exit code is
0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; bad input is UNKNOWN, never CRITICAL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.inventories import write_branch_inventory, write_inventory
from support.paths import REPO
from support.processes import SilentHost, closed_port

from ipsec_ha_monitor import check
from ipsec_ha_monitor.check import CheckResult, render_nagios
from ipsec_ha_monitor.health import DEGRADED, HEALTHY, RECOVERING, UNHEALTHY, UNKNOWN, PairHealth, RuleResult
from ipsec_ha_monitor.inventory import load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.lab.router import Faults

pytestmark = pytest.mark.integration  # the lab over SSH, `check` as a process

TIME_SCALE = 20

# The plugin guidelines: 'label'=value[UOM];[warn];[crit];[min];[max]
PERFDATA = re.compile(r"^'?[^'=]+'?=-?[0-9.]+(s|us|ms|%|B|KB|MB|TB|c)?(;[-0-9.:~@]*){0,4}$")
STATUS = re.compile(r"^IPSECHA (OK|WARNING|CRITICAL|UNKNOWN) - ([^|\n]+) \| (.+)$")


def nagios(path: Path, *extra: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "ipsec_ha_monitor", "check", "--config", str(path), "--nagios", *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr


def plugin_result(stdout: str) -> tuple[str, str, dict[str, str], list[str]]:
    """(state, summary, perfdata by label, long text lines) of a plugin's stdout."""
    first, *details = stdout.rstrip("\n").split("\n")
    match = STATUS.match(first)
    assert match, first
    perfdata = {}
    for item in match.group(3).split():
        assert PERFDATA.match(item), item
        label, _, value = item.partition("=")
        perfdata[label] = value
    assert not any("|" in line for line in details)  # a `|` there would start perfdata
    return match.group(1), match.group(2), perfdata, details


@pytest.fixture
def running():
    with LabThread(Lab(pairs=1, branches=2, time_scale=TIME_SCALE)) as running:
        yield running


def test_healthy_is_ok_with_perfdata(running: LabThread, tmp_path: Path) -> None:
    path = write_inventory(running.lab, tmp_path / "lab.yml")
    code, out, _ = nagios(path)
    state, summary, perfdata, details = plugin_result(out)
    assert (code, state) == (0, "OK")
    assert summary == "1 pair healthy, 4 devices polled"
    assert {label: value.split(";")[0] for label, value in perfdata.items() if label != "poll_duration"} == {
        "pairs_healthy": "1",
        "pairs_degraded": "0",
        "pairs_recovering": "0",
        "pairs_unhealthy": "0",
        "pairs_unknown": "0",
        "devices_up": "4",
        "devices_failed": "0",
    }
    assert perfdata["pairs_unhealthy"] == "0;;0;0;1"  # critical above 0
    assert re.fullmatch(r"[0-9]+\.[0-9]{3}s;;;0", perfdata["poll_duration"])
    assert details == ["HUB-PAIR-1: HEALTHY (RF active: R2)"]


def test_unhealthy_pair_is_critical_even_with_a_device_not_polled(running: LabThread, tmp_path: Path) -> None:
    path = write_inventory(running.lab, tmp_path / "lab.yml", overrides={"R5": {"port": closed_port()}})
    # A device not polled, every pair healthy: UNKNOWN, naming the device.
    code, out, _ = nagios(path)
    state, summary, perfdata, details = plugin_result(out)
    assert (code, state) == (3, "UNKNOWN")
    assert summary.startswith("1 of 4 devices not polled: R5 (connect)")
    assert perfdata["devices_failed"].startswith("1;") and perfdata["devices_up"].startswith("3;")
    assert any(line.startswith("R5: all ") and "connect" in line for line in details)
    # A pair known unhealthy beats the device not polled: CRITICAL.
    running.trigger("simplex")
    running.wait()
    code, out, _ = nagios(path)
    state, summary, perfdata, details = plugin_result(out)
    assert (code, state) == (2, "CRITICAL")
    assert summary.startswith("1 pair unhealthy: HUB-PAIR-1 (peer_standby_hot, duplex, communications_up)")
    assert "R5 (connect)" in summary
    assert perfdata["pairs_unhealthy"].startswith("1;")
    assert "HUB-PAIR-1: UNHEALTHY (RF active: R2)" in details
    assert "  FAILED duplex: R2 runs Simplex" in details


def test_filters_under_nagios(running: LabThread, tmp_path: Path) -> None:
    path = write_inventory(running.lab, tmp_path / "lab.yml", overrides={"R5": {"port": closed_port()}})
    code, out, _ = nagios(path, "--pair", "HUB-PAIR-1")  # R5 not selected: not polled, no UNKNOWN
    state, summary, perfdata, _ = plugin_result(out)
    assert (code, state, summary) == (0, "OK", "1 pair healthy, 2 devices polled")
    code, out, _ = nagios(path, "--device", "R1")
    state, summary, perfdata, details = plugin_result(out)
    assert (code, state) == (0, "OK")
    assert summary == "no pair judged, 1 device polled; not judged (one member selected): HUB-PAIR-1"
    assert perfdata["pairs_healthy"] == "0;;;0;0" and perfdata["devices_up"] == "1;;;0;1"
    assert details == ["HUB-PAIR-1: NOT JUDGED (only R1 selected; select both members, or --pair HUB-PAIR-1)"]
    code, out, _ = nagios(path, "--pair", "HUB-PAIR-9")
    assert code == 3
    assert out == (f"IPSECHA UNKNOWN - --pair HUB-PAIR-9: not in the inventory {path}; its pairs: HUB-PAIR-1\n")


def test_bad_input_is_unknown_in_one_line_naming_the_file(running: LabThread, tmp_path: Path) -> None:
    path = write_inventory(running.lab, tmp_path / "lab.yml")
    (tmp_path / "yml").write_text("", encoding="utf-8")  # a file where the state's directory would go
    binary = tmp_path / "binary.yml"
    binary.write_bytes(b"devices:\n  - name: R1\xff\xfe\x00\x01\n")
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"foo": 1}', encoding="utf-8")
    cases = [
        ((binary,), str(binary)),
        ((path, "--state", str(tmp_path / "yml" / "sub" / "state.json")), f"{tmp_path / 'yml'} is not a directory"),
        ((path, "--state", str(foreign)), f"state file {foreign}: "),
        ((path, "--watch", "5"), "cannot be combined with --json or --watch"),
    ]
    for (config, *extra), named in cases:
        code, out, err = nagios(config, *extra)
        assert code == 3, (extra, out, err)
        assert out.startswith("IPSECHA UNKNOWN - ") and out.count("\n") == 1 and named in out, out
        assert "Traceback" not in out + err
    assert foreign.read_text(encoding="utf-8") == '{"foo": 1}'  # refused, not replaced
    assert not any(running.lab.router(name).commands_received for name in ("R1", "R2", "R4", "R5"))


def test_nagios_with_json_is_refused_as_unknown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The command line refuses `--nagios --json` itself; check.main does
    too, for any other caller."""
    path = write_branch_inventory(tmp_path / "lab.yml", port=closed_port())
    assert check.main(str(path), True, None, None, False, nagios=True) == 3
    assert capsys.readouterr().out.startswith("IPSECHA UNKNOWN - --nagios gives one plugin result")


def test_recovering_is_critical_and_degraded_is_warning(tmp_path: Path) -> None:
    """The verdict-to-state mapping on its own, the severity the alerts give
    (ipsec_ha_monitor/health.py PAIR_RULES): a pair whose only failed rule is the
    unexpected reload within the hour is CRITICAL, as IpsechaUnexpectedReload
    (the failover run in test_check reaches it through the lab); one whose
    only failed rules are warnings (preemption configured) is WARNING, as
    IpsechaHsrpPreemptOnStatefulGroup."""
    path = write_branch_inventory(tmp_path / "lab.yml")
    inventory = load_inventory(path)
    recovering = PairHealth(
        "HUB-PAIR-1",
        ("R1", "R2"),
        RECOVERING,
        "R1",
        ("R1",),
        (RuleResult("no_unexpected_reload", False, "R2 reloaded unexpectedly 5m ago"),),
    )
    result = CheckResult(inventory, 0.0, 1.5, {}, (recovering,), (), ())
    code, text = render_nagios(result)
    state, summary, perfdata, details = plugin_result(text)
    assert (code, state) == (2, "CRITICAL")
    assert summary == "1 pair recovering: HUB-PAIR-1 (no_unexpected_reload)"
    assert perfdata["pairs_recovering"] == "1;;0;0;1"  # critical above 0
    assert details == [
        "HUB-PAIR-1: RECOVERING (RF active: R1)",
        "  FAILED no_unexpected_reload: R2 reloaded unexpectedly 5m ago",
    ]
    degraded = PairHealth(
        "HUB-PAIR-1",
        ("R1", "R2"),
        DEGRADED,
        "R1",
        ("R1",),
        (RuleResult("no_preempt", False, "preemption enabled on R1 FastEthernet0/0 group 1"),),
    )
    code, text = render_nagios(CheckResult(inventory, 0.0, 1.5, {}, (degraded,), (), ()))
    state, summary, perfdata, details = plugin_result(text)
    assert (code, state) == (1, "WARNING")
    assert summary == "1 pair degraded: HUB-PAIR-1 (no_preempt)"
    assert perfdata["pairs_degraded"] == "1;0;;0;1"  # warning above 0
    assert details == [
        "HUB-PAIR-1: DEGRADED (RF active: R1)",
        "  FAILED no_preempt: preemption enabled on R1 FastEthernet0/0 group 1",
    ]
    # A state that could not be saved is UNKNOWN at least, and named.
    healthy = CheckResult(inventory, 0.0, 1.5, {}, (), (), ())
    code, text = render_nagios(healthy, ["state file /x/s.json: cannot write it: Read-only file system"])
    assert code == 3 and text.startswith("IPSECHA UNKNOWN - state file /x/s.json: cannot write it")


# --- -t/--timeout: an answer before Nagios kills the check ----------------------------

# Product seconds per real second for the timeout runs: the default budget
# (50 s) is 10 real seconds, Nagios' 60 s limit 12.
SCALE = 5
NAGIOS_LIMIT = 60
# The inventory's polling as a real fleet has it (connect 10 s, command 20 s,
# poll 60 s): without a budget, one misbehaving device holds a check for up to
# a minute (the issue measured 61.8 s, 42.4 s and 11.8 s).
REAL_POLLING = {"workers": 8}


def timed_nagios(path: Path, *extra: str) -> tuple[int, str, str, float]:
    started = time.monotonic()
    code, out, err = nagios(path, "--time.scale", str(SCALE), *extra)
    return code, out, err, time.monotonic() - started


@pytest.fixture
def scaled():
    with LabThread(Lab(pairs=1, branches=2, time_scale=SCALE)) as running:
        yield running


@pytest.mark.parametrize("fault", ["slow", "stalled", "silent"])
def test_a_device_not_answering_in_time_is_unknown_before_the_nagios_limit(
    scaled: LabThread, tmp_path: Path, fault: str
) -> None:
    """R4 slow (each line typed waits 4 s: a poll of about half a minute),
    stalled (its outputs stop half way) or a silent host (TCP accepted, not
    a byte of SSH): the default budget ends the check UNKNOWN before Nagios'
    limit, naming R4, and the pair that answered in time is still judged."""
    overrides: dict[str, dict[str, object]] = {}
    with SilentHost() as silent:
        if fault == "slow":
            scaled.lab.router("R4").faults = Faults(slow_seconds=4)
        elif fault == "stalled":
            scaled.lab.router("R4").faults = Faults(stall_output=True)
        else:
            overrides = {"R4": {"port": silent.port}}
        path = write_inventory(scaled.lab, tmp_path / "lab.yml", polling=REAL_POLLING, overrides=overrides)
        code, out, err, took = timed_nagios(path)
        if fault == "silent":
            assert silent.accepted >= 1  # the check did reach it
    state, summary, perfdata, details = plugin_result(out)
    assert (code, state) == (3, "UNKNOWN"), (out, err)
    assert summary.startswith("not answered within --timeout 50 s: R4; 1 of 4 devices not polled: R4 ")
    assert summary.endswith("; 1 pair healthy")
    assert details[0] == "HUB-PAIR-1: HEALTHY (RF active: R2)"  # judged from what answered in time
    assert perfdata["devices_up"].startswith("3;") and perfdata["devices_failed"].startswith("1;")
    assert any(line.startswith("R4: ") for line in details)
    assert took < NAGIOS_LIMIT / SCALE, took  # the whole process, its start included
    assert "Traceback" not in err


def test_timeout_flag_is_honoured_and_scaled(scaled: LabThread, tmp_path: Path) -> None:
    """-t 15 at --time.scale 5: three real seconds, well before the default
    budget would end (10), and what answered is judged."""
    scaled.lab.router("R5").faults = Faults(stall_output=True)
    path = write_inventory(scaled.lab, tmp_path / "lab.yml", polling=REAL_POLLING)
    code, out, err, took = timed_nagios(path, "-t", "15")
    state, summary, _, details = plugin_result(out)
    assert (code, state) == (3, "UNKNOWN"), (out, err)
    assert summary.startswith("not answered within --timeout 15 s: R5; ")
    assert details[0] == "HUB-PAIR-1: HEALTHY (RF active: R2)"
    assert took < 50 / SCALE, took
    # Plain check honours it too: the table, the timeout named above the exit line, exit 2.
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ipsec_ha_monitor",
            "check",
            "--config",
            str(path),
            "--time.scale",
            str(SCALE),
            "--timeout",
            "15",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    took = time.monotonic() - started
    lines = done.stdout.splitlines()
    assert done.returncode == 2, done.stdout + done.stderr
    assert "pair HUB-PAIR-1: HEALTHY (RF active: R2)" in lines
    assert lines[-3:] == [
        "not answered within --timeout 15 s: R5 (shown timed out, with what they did answer)",
        "",
        "exit 2: not every device could be polled or judged",
    ]
    assert took < 50 / SCALE, took


def test_a_check_stuck_before_its_poll_still_answers_in_time(tmp_path: Path) -> None:
    """A --state file nobody ever writes (a FIFO: reading it blocks, as a
    hung network file system does) holds the check before any poll: the
    budget's watchdog still answers, UNKNOWN (exit 2 without --nagios)."""
    path = write_branch_inventory(tmp_path / "lab.yml", port=closed_port())
    stuck = tmp_path / "state.json"
    os.mkfifo(stuck)
    code, out, err, took = timed_nagios(path, "--state", str(stuck), "-t", "10")
    assert code == 3, (out, err)
    assert out == "IPSECHA UNKNOWN - timed out after 10 s (--timeout) before the result was complete\n"
    assert took < 50 / SCALE, took
    scaled = ("--time.scale", f"{SCALE}", "-t", "10")
    done = subprocess.run(
        [sys.executable, "-m", "ipsec_ha_monitor", "check", "--config", str(path), "--state", str(stuck), *scaled],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.endswith(
        "ipsec-ha-monitor check: timed out after 10 s (--timeout) before the result was complete\n"
    ), done.stderr


def test_version_and_bad_arguments_as_a_plugin(tmp_path: Path) -> None:
    """-V prints the name and version, exit 0 (as Nagios plugins do); a bad
    argument is UNKNOWN with the reason on the status line, which is all
    Nagios shows."""
    from ipsec_ha_monitor import __version__

    for flag in ("-V", "--version"):
        done = subprocess.run(
            [sys.executable, "-m", "ipsec_ha_monitor", "check", flag], capture_output=True, text=True, timeout=60
        )
        assert (done.returncode, done.stdout) == (0, f"ipsec-ha-monitor check {__version__}\n")
    path = write_branch_inventory(tmp_path / "lab.yml", port=closed_port())
    for extra, reason in (
        (("-t", "0"), "argument -t/--timeout: expected a positive number of seconds, got 0"),
        (("--timeout", "soon"), "argument -t/--timeout: expected a positive number of seconds, got soon"),
        (("--json",), "argument --json: not allowed with argument --nagios"),
        (("--bogus",), "unrecognized arguments: --bogus"),
    ):
        code, out, err = nagios(path, *extra)
        assert code == 3 and out == f"IPSECHA UNKNOWN - invalid arguments: {reason}\n", (out, err)
        assert reason in err  # and argparse's usage on stderr, for a person at a terminal


def test_health_md_gives_each_verdict_the_state_the_plugin_gives(tmp_path: Path) -> None:
    """docs/health.md's verdict table (its `check` and `check --nagios`
    columns) against what check really does with each verdict: the code is
    the truth (a recovering pair is CRITICAL, as its alert pages)."""
    table = (REPO / "docs" / "health.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \|.*\| exit ([0-9]) \| ([0-9]) ([A-Z]+) \|$", table, flags=re.M)
    assert {row[0] for row in rows} == {HEALTHY, DEGRADED, RECOVERING, UNHEALTHY, UNKNOWN}, rows
    inventory = load_inventory(write_branch_inventory(tmp_path / "lab.yml"))
    for verdict, exit_code, nagios_code, state in rows:
        pair = PairHealth("HUB-PAIR-1", ("R1", "R2"), verdict, "R1", ("R1",), ())
        result = CheckResult(inventory, 0.0, 1.5, {}, (pair,), (), ())
        code, text = render_nagios(result)
        assert (code, plugin_result(text)[0]) == (int(nagios_code), state), verdict
        assert result.exit_code == int(exit_code), verdict
