"""`check --nagios` as Nagios and Icinga run it: a process whose stdout is
one plugin result (status line, perfdata, long text) and whose exit code is
0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; bad input is UNKNOWN, never CRITICAL."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.inventories import write_branch_inventory, write_inventory
from support.processes import closed_port

from monitor import check
from monitor.check import CheckResult, render_nagios
from monitor.health import DEGRADED, RECOVERING, PairHealth, RuleResult
from monitor.inventory import load_inventory
from monitor.lab import Lab, LabThread

pytestmark = pytest.mark.integration  # the lab over SSH, `check` as a process

TIME_SCALE = 20

# The plugin guidelines: 'label'=value[UOM];[warn];[crit];[min];[max]
PERFDATA = re.compile(r"^'?[^'=]+'?=-?[0-9.]+(s|us|ms|%|B|KB|MB|TB|c)?(;[-0-9.:~@]*){0,4}$")
STATUS = re.compile(r"^IPSECHA (OK|WARNING|CRITICAL|UNKNOWN) - ([^|\n]+) \| (.+)$")


def nagios(path: Path, *extra: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "check", "--config", str(path), "--nagios", *extra],
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
    binary = tmp_path / "binary.yml"
    binary.write_bytes(b"devices:\n  - name: R1\xff\xfe\x00\x01\n")
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"foo": 1}', encoding="utf-8")
    cases = [
        ((binary,), str(binary)),
        ((path, "--state", str(tmp_path / "missing" / "state.json")), f"{tmp_path / 'missing'} does not exist"),
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
    (monitor/health.py PAIR_RULES): a pair whose only failed rule is the
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
