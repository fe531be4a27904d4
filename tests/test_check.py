"""`ipsec-ha-monitor check` against the lab: the verdict and exit code of
every scenario, reloads across runs, --watch with SIGHUP, and secrets that
never reach the output or the logs."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from support.inventories import write_inventory
from support.processes import closed_port, start_monitor, stop
from support.waiting import wait_until

from ipsec_ha_monitor.check import ProgressBar, load_state, save_state
from ipsec_ha_monitor.cli import main
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.lab.router import Faults
from ipsec_ha_monitor.poll import BRANCH_COMMANDS
from ipsec_ha_monitor.reloads import ReloadTracker
from ipsec_ha_monitor.secret_text import MASK
from ipsec_ha_monitor.snapshot import CommandResult, Snapshot, Status

pytestmark = pytest.mark.integration  # the lab over SSH, `check` as a process

TIME_SCALE = 20  # a 30 s reload takes 1.5 s


def check(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> tuple[int, dict]:
    code = main(["check", "--config", str(path), "--json", "--progress", "never", *extra])
    return code, json.loads(capsys.readouterr().out)


def rules(report: dict, verdict: object = False) -> dict[str, str]:
    """The pair's rules whose `ok` is `verdict` (False: the failed ones)."""
    (pair,) = report["pairs"]
    return {rule["rule"]: rule["message"] for rule in pair["rules"] if rule["ok"] is verdict}


@pytest.fixture
def running():
    with LabThread(Lab(pairs=1, branches=2, time_scale=TIME_SCALE)) as running:
        yield running


def test_baseline_is_healthy(running: LabThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_inventory(running.lab, tmp_path / "lab.yml")
    code, report = check(capsys, path)
    assert code == 0 and report["exit_code"] == 0
    (pair,) = report["pairs"]
    assert (pair["verdict"], pair["rf_active"], pair["hsrp_active"]) == ("healthy", "R2", ["R2"])
    assert [device["device"] for device in report["devices"]] == ["R1", "R2", "R4", "R5"]
    assert all(device["up"] for device in report["devices"])
    # The table: one per pair, then the branches.
    assert main(["check", "--config", str(path), "--progress", "never"]) == 0
    text = capsys.readouterr().out
    assert "pair HUB-PAIR-1: HEALTHY (RF active: R2)" in text
    r2 = next(line for line in text.splitlines() if line.strip().startswith("R2 "))
    assert r2.split()[:8] == ["R2", "ok", "active", "ACTIVE/STANDBY", "HOT", "Duplex", "Up", "2/2"]
    assert "devices in no pair:" in text and text.rstrip().endswith("exit 0: healthy")


def checks_through(
    running: LabThread, tmp_path: Path, capsys: pytest.CaptureFixture[str], scenario: str, device: str
) -> tuple[Path, Path, list[tuple[int, dict]]]:
    """A healthy `check --state`, then `scenario`, then `check --state` run
    again and again until one reports `device`'s reload, then the scenario's
    end: the inventory, the state file and every (exit code, report)."""
    path = write_inventory(running.lab, tmp_path / "lab.yml")
    state = tmp_path / "state.json"
    assert check(capsys, path, "--state", str(state))[0] == 0
    running.trigger(scenario)
    reports: list[tuple[int, dict]] = []

    def reload_reported() -> bool:
        reports.append(check(capsys, path, "--state", str(state)))
        return bool(reports[-1][1]["reloads"])

    wait_until(reload_reported, 60, f"a check reporting {device}'s reload", interval=0.2)
    running.wait()
    return path, state, reports


def test_failover_reports_the_takeover_and_the_unexpected_reload(
    running: LabThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, state, reports = checks_through(running, tmp_path, capsys, "failover", "R2")
    takeovers = [report["switchovers"] for _, report in reports if report["switchovers"]]
    assert [[(s["previous_active"], s["active"]) for s in found] for found in takeovers] == [[("R2", "R1")]]
    outage = next(report for _, report in reports if report["switchovers"])
    assert rules(outage)["peer_standby_hot"].startswith("R1's peer is DISABLED (1)")
    assert outage["pairs"][0]["rf_active"] == "R1"
    code, back = reports[-1]
    (reload,) = back["reloads"]
    assert (reload["device"], reload["expected"], reload["reason"]) == ("R2", False, "reload")
    assert reload["why"] == "the pair switched over within the hour before"
    assert code == 1 and "no_unexpected_reload" in rules(back)
    assert reload["cause"] == "rf_self_reload"  # R2's own log says so; show version says "reload"
    assert reload["evidence"].startswith("show logging: %RF_INTERDEV-4-RELOAD: % RF induced self-reload")
    # Once R2 is STANDBY HOT again the pair works, but stays `recovering` (exit 1)
    # for the hour the reload pages: the reload is reported once, then kept.
    results: list[tuple[int, dict]] = []

    def recovered() -> bool:
        results.append(check(capsys, path, "--state", str(state)))
        return results[-1][1]["pairs"][0]["verdict"] == "recovering"

    wait_until(recovered, 30, "a recovering check", interval=0.2)
    code, healed = results[-1]
    assert code == 1 and healed["reloads"] == [] and healed["pairs"][0]["rf_active"] == "R1"
    assert set(rules(healed)) == {"no_unexpected_reload"}
    # As a Nagios plugin, recovering is CRITICAL (exit 2), as IpsechaUnexpectedReload
    # keeps firing critical for the hour.
    assert main(["check", "--config", str(path), "--state", str(state), "--nagios"]) == 2
    out = capsys.readouterr().out
    assert out.startswith("IPSECHA CRITICAL - 1 pair recovering: HUB-PAIR-1 (no_unexpected_reload) | ")


@pytest.mark.parametrize(
    ("scenario", "failing", "verdict"),
    [
        ("preempt", {"no_preempt"}, "degraded"),  # a warning, as its alert
        ("simplex", {"peer_standby_hot", "duplex", "communications_up"}, "unhealthy"),
        ("split-brain", {"single_hsrp_active", "hsrp_active_is_rf_active"}, "unhealthy"),
        ("sa-loss", {"expected_peers_have_sa"}, "unhealthy"),
        ("sync-loss", {"standby_has_sa_copies"}, "unhealthy"),
    ],
)
def test_scenarios_fail_their_rule(
    running: LabThread,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    scenario: str,
    failing: set[str],
    verdict: str,
) -> None:
    path = write_inventory(running.lab, tmp_path / "lab.yml")
    running.trigger(scenario)
    running.wait()
    code, report = check(capsys, path)
    assert code == 1 and report["pairs"][0]["verdict"] == verdict
    assert set(rules(report)) == failing


def test_an_unreachable_active_hub_is_no_pair_failure(
    running: LabThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_inventory(running.lab, tmp_path / "lab.yml")
    running.trigger("active-unreachable")
    running.wait()
    try:
        code, report = check(capsys, path)
    finally:
        running.trigger("baseline")
        running.wait()
    # R2 answers no poll; R1 reports it ACTIVE over working IPC: unknown, not unhealthy.
    assert code == 2 and report["pairs"][0]["verdict"] == "unknown" and rules(report) == {}
    assert report["pairs"][0]["rf_active"] == "R2"
    assert rules(report, True)["one_rf_active"].startswith("R2 is RF ACTIVE as R1 reports it (R2: show")


def test_standby_reload_is_an_rf_self_reload(
    running: LabThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    *_, reports = checks_through(running, tmp_path, capsys, "standby-reload", "R1")
    code, back = reports[-1]
    (reload,) = back["reloads"]
    # No switchover, and show version says "reload": only R1's log tells.
    assert (reload["device"], reload["cause"], reload["expected"]) == ("R1", "rf_self_reload", False)
    assert not any(report["switchovers"] for _, report in reports)
    assert code == 1


def test_a_device_not_polled_exits_2(running: LabThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_inventory(running.lab, tmp_path / "lab.yml", overrides={"R5": {"port": closed_port()}})
    code, report = check(capsys, path)
    assert code == 2 and report["pairs"][0]["verdict"] == "healthy"
    (r5,) = [device for device in report["devices"] if device["device"] == "R5"]
    assert not r5["up"] and r5["commands"][0]["status"] == "connect"
    assert main(["check", "--config", str(path), "--progress", "never"]) == 2
    out = capsys.readouterr().out
    assert f"  R5: all {len(BRANCH_COMMANDS)} commands: connect: TCP connection to 127.0.0.1:" in out
    assert out.rstrip().endswith("exit 2: not every device could be polled or judged")


def test_a_bad_inventory_exits_2_naming_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("devices:\n  - {name: R1, host: 10.0.0.1, role: hub, colour: blue}\n", encoding="utf-8")
    assert main(["check", "--config", str(path)]) == 2
    assert f"{path}:2: devices[0].colour: unknown field" in capsys.readouterr().err


def test_an_unusable_state_file_exits_2(running: LabThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_inventory(running.lab, tmp_path / "lab.yml")
    assert main(["check", "--config", str(path), "--state", str(tmp_path)]) == 2  # a directory
    assert f"state file {tmp_path}: cannot read it" in capsys.readouterr().err
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"devices": {"R1": {"boot_time": "yesterday"}}}')
    assert main(["check", "--config", str(path), "--state", str(foreign)]) == 2
    assert "not a state this monitor wrote" in capsys.readouterr().err


def test_progress_bar() -> None:
    stream = io.StringIO()
    bar = ProgressBar(4, stream)
    ok = Snapshot("R1", "", "hub", 0.0, 0.1, (CommandResult("show version", Status.OK),))
    down = Snapshot("R2", "", "hub", 0.0, 0.1, (CommandResult("show version", Status.CONNECT),))
    bar.advance(ok)
    bar.advance(down)
    assert bar.render() == f"polling [{'#' * 15}{'.' * 15}] 2/4 devices, 1 failed"
    assert stream.getvalue().count("\r") == 2
    bar.finish()
    assert stream.getvalue().endswith("\r")


# --- as a process: secrets, --watch and SIGHUP ------------------------------------


def _secret_inventory(lab: Lab, path: Path, overrides: dict[str, dict] | None = None) -> Path:
    """A production-style inventory (no inline secrets): from the environment."""
    write_inventory(lab, path, overrides=overrides)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["lab"] = False
    data["defaults"]["credentials"] = {
        "username": lab.credentials.username,
        "password": {"env": "IPSECHA_PASSWORD"},
        "enable_secret": {"env": "IPSECHA_ENABLE"},
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_secrets_never_reach_output_or_logs(tmp_path: Path) -> None:
    lab = Lab(pairs=1, branches=2, time_scale=TIME_SCALE)
    lab.credentials.password = "Canary-Password-7f3a"  # shared by every router
    lab.credentials.enable_secret = "Canary-En\\able-é9b2c"  # a backslash and non-ASCII: logs escape them
    wrong = {"IPSECHA_WRONG": "Canary-Wrong-1e5d", "IPSECHA_WRONG_ENABLE": "Canary-Wrong\\Enable-ü4c8e"}
    overrides = {
        "R4": {"credentials": {"username": "lab", "password": {"env": "IPSECHA_WRONG"}}},
        "R5": {
            "credentials": {
                "username": "lab",
                "password": {"env": "IPSECHA_PASSWORD"},
                "enable_secret": {"env": "IPSECHA_WRONG_ENABLE"},
            }
        },
    }
    env = {
        **os.environ,
        "IPSECHA_PASSWORD": lab.credentials.password,
        "IPSECHA_ENABLE": lab.credentials.enable_secret,
        **wrong,
    }
    with LabThread(lab):
        path = _secret_inventory(lab, tmp_path / "inventory.yml", overrides)
        lab.router("R1").faults = Faults(stall_output=True)
        outputs = []
        for extra in (["--json"], []):
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "ipsec_ha_monitor",
                    "check",
                    "--config",
                    str(path),
                    "--log-level",
                    "debug",
                    *extra,
                ],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            outputs.append(done.stdout + done.stderr)
            if extra:
                statuses = {d["device"]: d["commands"][0]["status"] for d in json.loads(done.stdout)["devices"]}
    assert statuses == {"R1": "timeout", "R2": "ok", "R4": "auth", "R5": "auth"}
    for output in outputs:
        assert "login to 127.0.0.1" in output and "refused for user lab" in output  # R4's bad password
        assert "enable refused" in output  # R5's bad enable secret
        assert "output stalled" in output  # R1
        for secret in (lab.credentials.password, lab.credentials.enable_secret, *wrong.values()):
            for form in (secret, secret.encode("unicode_escape").decode(), repr(secret.encode())[2:-1]):
                assert form not in output


def _read_reports(process: subprocess.Popen, reports: list[dict]) -> None:
    for line in process.stdout:
        reports.append(json.loads(line))


def test_watch_reloads_the_inventory_on_sighup_keeping_sessions(tmp_path: Path) -> None:
    with LabThread(Lab(pairs=1, branches=2, time_scale=TIME_SCALE)) as running:
        path = write_inventory(running.lab, tmp_path / "lab.yml")
        # SIGINT ends --watch; start_monitor makes sure the child does not
        # inherit an ignored SIGINT from a runner started in the background.
        process = start_monitor("check", "--config", str(path), "--json", "--watch", "0.3")
        reports: list[dict] = []
        reader = threading.Thread(target=_read_reports, args=(process, reports), daemon=True)
        reader.start()
        try:
            wait_until(lambda: len(reports) >= 2, what="two --watch reports")
            assert [d["device"] for d in reports[-1]["devices"]] == ["R1", "R2", "R4", "R5"]
            assert not any(d["session_opened"] for d in reports[-1]["devices"])  # reused
            # A bad inventory on SIGHUP is refused; polling carries on with the old one.
            good = path.read_text(encoding="utf-8")
            path.write_text("devices: [\n", encoding="utf-8")
            seen = len(reports)
            process.send_signal(signal.SIGHUP)
            wait_until(lambda: len(reports) >= seen + 2, what="two reports after the bad SIGHUP")
            assert [d["device"] for d in reports[-1]["devices"]] == ["R1", "R2", "R4", "R5"]
            # A good one drops R5 and keeps every other session.
            path.write_text(good, encoding="utf-8")
            write_inventory(running.lab, path, drop=("R5",))
            process.send_signal(signal.SIGHUP)
            wait_until(
                lambda: [d["device"] for d in reports[-1]["devices"]] == ["R1", "R2", "R4"], what="a report without R5"
            )
            assert not any(d["session_opened"] for d in reports[-1]["devices"])
            assert all(d["up"] for d in reports[-1]["devices"])
        finally:
            stderr = stop(process, signal.SIGINT)
        assert (
            "inventory reload refused, keeping the previous one" in stderr
            and "lab.yml:2: file: not valid YAML" in stderr
        )
        assert typed_logins(running.lab, "R1") == 1


def typed_logins(lab: Lab, name: str) -> int:
    return list(lab.router(name).commands_received).count("terminal length 0")


# --- the state file: concurrent runs, and files this monitor did not write ----------


def _tracker(index: int) -> ReloadTracker:
    """A state of its own per writer (one device, its own boot time), big
    enough that a write takes more than one system call's worth of time."""
    devices = {
        f"R{index}-{n}": {"boot_time": 1000.0 * index + n, "uptime": n, "polled_at": 2000.0 * index} for n in range(300)
    }
    return ReloadTracker.from_dict({"devices": devices})


def _saved(tracker: ReloadTracker) -> str:
    """What a tracker saves, less the clock's readings of the moment."""
    data = tracker.to_dict()
    del data["clock"]
    return json.dumps(data, sort_keys=True)


def test_concurrent_check_state_runs_never_share_a_partial_file(tmp_path: Path) -> None:
    """Six `check --state` runs on one file at once: every write succeeds,
    a reader never sees half a file, and no partial file is left behind."""
    path = tmp_path / "state.json"
    trackers = [_tracker(index) for index in range(6)]
    expected = [_saved(tracker) for tracker in trackers]
    start, done = threading.Barrier(7), threading.Event()
    errors: list[str] = []

    def write(tracker: ReloadTracker) -> None:
        start.wait()
        for _ in range(60):
            try:
                save_state(path, tracker)
            except ValueError as exc:
                errors.append(str(exc))

    def read() -> None:
        start.wait()
        while not done.is_set():
            try:
                if path.exists():
                    loaded = _saved(load_state(path))
                    if loaded not in expected:
                        errors.append("a state no writer wrote")
            except ValueError as exc:
                errors.append(str(exc))

    writers = [threading.Thread(target=write, args=(tracker,)) for tracker in trackers]
    reader = threading.Thread(target=read)
    for thread in (*writers, reader):
        thread.start()
    for thread in writers:
        thread.join(60)
    done.set()
    reader.join(60)
    assert errors == [], errors[:3]
    assert _saved(load_state(path)) in expected
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no partial file left


def test_state_file_keeps_the_umask_mode(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    old = os.umask(0o027)
    try:
        save_state(path, _tracker(1))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o640


def _unpolled_inventory(tmp_path: Path) -> Path:
    path = tmp_path / "lab.yml"
    path.write_text(
        "lab: true\ndefaults: {credentials: {username: lab, password: x}}\n"
        f"devices: [{{name: R4, host: 127.0.0.1, port: {closed_port()}, role: branch}}]\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),  # json.loads: RecursionError
        (b'{"devices": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
        (b'{"devices": {"R1": {"boot_time": 1, "uptime": 1e400, "polled_at": 1}}}', "not a state this monitor"),
        (b"\xff\xfe{\x00}\x00", "not UTF-8 text"),
        (b"\x00\x01\x02binary", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
    ],
    ids=["nested-lists", "nested-in-a-field", "huge-number", "utf-16", "binary", "a-list"],
)
def test_a_state_file_this_monitor_did_not_write_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    state = tmp_path / "state.json"
    state.write_bytes(content)
    assert main(["check", "--config", str(_unpolled_inventory(tmp_path)), "--state", str(state)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"ipsec-ha-monitor check: state file {state}: ") and message in err
    assert state.read_bytes() == content  # refused, not replaced


def test_what_check_prints_passes_a_last_scrub(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever reaches check's output without the pollers' scrub (a state
    file from an older version, a front end's bug) is still masked: a secret
    of the inventory, in any form, in the table, the JSON and the plugin
    text; the rest of each line stays."""
    from ipsec_ha_monitor import check as check_module

    secret = "Cn4ryPW\"q'b\\s€ü"
    path = tmp_path / "lab.yml"
    path.write_text(
        f"lab: true\ndefaults: {{credentials: {{username: lab, password: {json.dumps(secret)}}}}}\n"
        f"devices: [{{name: R4, host: 127.0.0.1, port: {closed_port()}, role: branch}}]\n",
        encoding="utf-8",
    )
    leaked = (f"reason {secret}", f"quoted {secret!r}", f"escaped {json.dumps(secret)}")

    def run_check(monitor, progress=None, deadline=None, why=""):  # a result that bypassed DevicePoller
        errors = (*leaked, *[""] * (len(BRANCH_COMMANDS) - len(leaked)))
        results = tuple(
            CommandResult(command, Status.PARSE if error else Status.OK, error=error)
            for command, error in zip(BRANCH_COMMANDS, errors, strict=True)
        )
        snapshot = Snapshot("R4", "", "branch", 0.0, 0.1, results)
        return check_module.CheckResult(monitor.inventory, 0.0, 0.1, {"R4": snapshot}, (), (), ())

    monkeypatch.setattr(check_module, "run_check", run_check)
    forms = (secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], json.dumps(json.dumps(secret))[1:-1])
    assert main(["check", "--config", str(path), "--nagios"]) == 3  # R4 not polled: UNKNOWN
    out = capsys.readouterr().out
    assert out.startswith("IPSECHA UNKNOWN - 1 device not polled: R4 (parse) | ")
    assert not [form for form in forms if form in out], out
    masked = (f"reason {MASK}", f"quoted '{MASK}'", f'escaped "{MASK}"')
    assert all(text in out for text in masked), out
    for extra in (["--json"], []):
        main(["check", "--config", str(path), "--progress", "never", *extra])
        out = capsys.readouterr().out
        assert not [form for form in forms if form in out], out
        if extra:
            errors = [command["error"] for command in json.loads(out)["devices"][0]["commands"]]
            assert errors[:3] == list(masked)
        else:
            assert all(text in out for text in masked), out


def test_a_partial_file_left_by_a_killed_run_is_swept(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    stale, fresh = tmp_path / ".state.json.4242.0badf00d.partial", tmp_path / ".state.json.4343.1234abcd.partial"
    for leftover in (stale, fresh):
        leftover.write_text("{", encoding="utf-8")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    save_state(path, _tracker(1))
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name, "state.json"]  # a running writer's is kept


# --- --pair / --device -------------------------------------------------------------


def polled_devices(lab: Lab) -> set[str]:
    return {name for name in ("R1", "R2", "R4", "R5") if lab.router(name).commands_received}


def test_filters_poll_only_the_selection(
    running: LabThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_inventory(running.lab, tmp_path / "lab.yml")
    # An unknown name: refused before any poll, naming it and the known ones.
    assert main(["check", "--config", str(path), "--device", "R1", "--device", "R9"]) == 2
    err = capsys.readouterr().err
    assert err == f"ipsec-ha-monitor check: --device R9: not in the inventory {path}; its devices: R1, R2, R4, R5\n"
    assert main(["check", "--config", str(path), "--pair", "HUB-PAIR-2"]) == 2
    assert "--pair HUB-PAIR-2: not in the inventory" in capsys.readouterr().err
    assert polled_devices(running.lab) == set()
    # A pair: its two members, judged; no branch polled.
    code, report = check(capsys, path, "--pair", "HUB-PAIR-1")
    assert code == 0 and [d["device"] for d in report["devices"]] == ["R1", "R2"]
    assert report["pairs"][0]["verdict"] == "healthy"
    assert report["selection"] == {"pairs": ["HUB-PAIR-1"], "devices": [], "not_judged": []}
    assert polled_devices(running.lab) == {"R1", "R2"}
    # One member of a pair: polled and shown, the pair not judged.
    code, report = check(capsys, path, "--device", "R1", "--device", "R4")
    assert code == 0 and [d["device"] for d in report["devices"]] == ["R1", "R4"]
    assert report["pairs"] == [] and report["selection"]["not_judged"] == ["HUB-PAIR-1"]
    assert main(["check", "--config", str(path), "--progress", "never", "--device", "R1"]) == 0
    text = capsys.readouterr().out
    assert "pair HUB-PAIR-1: NOT JUDGED (only R1 selected; select both members, or --pair HUB-PAIR-1)" in text
    assert " 1 device polled in " in text.splitlines()[0] and " R2 " not in text
    # Both members by --device: the pair is judged.
    code, report = check(capsys, path, "--device", "R2", "--device", "R1")
    assert code == 0 and report["pairs"][0]["pair"] == "HUB-PAIR-1" and report["selection"]["not_judged"] == []
    assert polled_devices(running.lab) == {"R1", "R2", "R4"}  # R5 never selected, never polled


def test_a_filtered_pair_is_judged_on_its_own(
    running: LabThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unreachable branch outside the selection changes nothing; the
    selected pair's fault does."""
    path = write_inventory(running.lab, tmp_path / "lab.yml", overrides={"R5": {"port": closed_port()}})
    assert check(capsys, path)[0] == 2  # everything: R5 not polled
    assert check(capsys, path, "--pair", "HUB-PAIR-1")[0] == 0
    running.trigger("split-brain")
    running.wait()
    code, report = check(capsys, path, "--pair", "HUB-PAIR-1")
    assert code == 1 and report["pairs"][0]["verdict"] == "unhealthy"


# --- --state checked before any poll ----------------------------------------------------


def _unwritable_directory(tmp_path: Path) -> Path:
    """A directory this process cannot create a file in: a read-only one,
    or (as root, whom modes do not stop) /sys."""
    directory = tmp_path / "read-only"
    directory.mkdir()
    directory.chmod(0o555)
    try:
        (directory / "probe").touch()
    except PermissionError:
        return directory
    (directory / "probe").unlink()
    return Path("/sys")


def test_state_is_checked_before_polling(
    running: LabThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_inventory(running.lab, tmp_path / "lab.yml")
    foreign_object, foreign_list = tmp_path / "foreign.json", tmp_path / "list.json"
    foreign_object.write_text('{"foo": 1}', encoding="utf-8")
    foreign_list.write_text("[]", encoding="utf-8")
    unwritable = _unwritable_directory(tmp_path) / "state.json"
    blocker = tmp_path / "a-file"  # where the state's directory would be made: a file (refused even as root)
    blocker.write_text("", encoding="utf-8")
    cases = {
        blocker / "sub" / "state.json": f"cannot create its directory {blocker / 'sub'}: ",
        unwritable: f"cannot write in {unwritable.parent}: ",
        foreign_object: "without our format marker: not a state this monitor wrote",
        foreign_list: "not a JSON object",
        tmp_path: "cannot read it",  # a directory
    }
    for state, message in cases.items():
        assert main(["check", "--config", str(path), "--state", str(state)]) == 2, state
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"ipsec-ha-monitor check: state file {state}: "), err
        assert message in err, err
        assert main(["check", "--config", str(path), "--state", str(state), "--nagios"]) == 3
        out = capsys.readouterr().out
        assert out == f"IPSECHA UNKNOWN - {err.removeprefix('ipsec-ha-monitor check: ')}"
    assert foreign_object.read_text(encoding="utf-8") == '{"foo": 1}'
    assert foreign_list.read_text(encoding="utf-8") == "[]"
    assert polled_devices(running.lab) == set()  # refused before any poll
    if unwritable.parent != Path("/sys"):
        assert not list(unwritable.parent.iterdir())  # no probe file left


def test_state_files_carry_a_marker_and_older_ones_still_read(
    running: LabThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_inventory(running.lab, tmp_path / "lab.yml")
    state = tmp_path / "state.json"
    # A file written before the marker: exactly the tracker's fields (Unix-time stamps).
    older = {
        "devices": {f"R1-{n}": {"boot_time": 1000.0 + n, "uptime": n, "polled_at": 2000.0} for n in range(3)},
        "rf_active": {},
        "switched_at": {},
        "recent_reloads": [],
        "recent_switchovers": [],
    }
    state.write_text(json.dumps(older), encoding="utf-8")
    assert check(capsys, path, "--state", str(state))[0] == 0
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert (saved["format"], saved["version"]) == ("ipsec-ha-monitor check state", 2)
    assert set(saved["clock"]) == {"boot_id", "monotonic", "wall", "scale"}
    assert set(older["devices"]) < set(saved["devices"])  # kept, R1..R5 added
    # The tracker's fields plus one of someone else's: not ours.
    state.write_text(json.dumps({**older, "owner": "backup-tool"}), encoding="utf-8")
    assert main(["check", "--config", str(path), "--state", str(state)]) == 2
    assert "not a state this monitor wrote" in capsys.readouterr().err
    # Another format, or a version from the future: refused, named.
    for other, message in (
        ({**saved, "format": "other-tool"}, "its format is not 'ipsec-ha-monitor check state'"),
        ({**saved, "version": 3}, "version 3, this monitor reads versions 1 to 2"),
        ({**saved, "version": 1}, "version 1 with a clock: not a state this monitor wrote"),
    ):
        state.write_text(json.dumps(other), encoding="utf-8")
        assert main(["check", "--config", str(path), "--state", str(state)]) == 2
        assert message in capsys.readouterr().err
    # An empty file (made beforehand): a fresh state.
    state.write_text("", encoding="utf-8")
    assert check(capsys, path, "--state", str(state))[0] == 0
    assert json.loads(state.read_text(encoding="utf-8"))["format"] == "ipsec-ha-monitor check state"


# --- bad files as a process: one line, exit 2, no traceback --------------------------------


@pytest.mark.parametrize(
    "content",
    [b"devices:\n  - name: R\xe9\n", b"\x00\x01\x02\x03binary\xff\n", "\ufeffdevices: []\n".encode("utf-16")],
    ids=["latin-1", "binary", "utf-16"],
)
def test_a_non_utf8_inventory_is_one_line_naming_it(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "inventory.yml"
    path.write_bytes(content)
    for extra, code in (([], 2), (["--nagios"], 3)):
        done = subprocess.run(
            [sys.executable, "-m", "ipsec_ha_monitor", "check", "--config", str(path), *extra],
            capture_output=True,
            text=True,
            timeout=60,
        )
        output = done.stdout + done.stderr
        assert done.returncode == code, output
        assert output.count("\n") == 1 and str(path) in output and "Traceback" not in output, output


# --- one-shot: no future polls promised --------------------------------------------------


def test_one_shot_promises_no_next_login(running: LabThread, tmp_path: Path) -> None:
    path = write_inventory(
        running.lab, tmp_path / "lab.yml", overrides={"R4": {"credentials": {"username": "lab", "password": "wrong"}}}
    )
    done = subprocess.run(
        [sys.executable, "-m", "ipsec_ha_monitor", "check", "--config", str(path), "--progress", "never"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "R4: login to 127.0.0.1" in done.stderr and "refused for user lab" in done.stderr, done.stderr
    assert "next login" not in done.stderr + done.stdout and "not retried" not in done.stderr + done.stdout


# --- progress: on a terminal only, never inside a log line -------------------------------


def _screen(raw: str) -> list[str]:
    """What a terminal shows after `raw`: \\r returns to column 0, \\n opens
    the next line, other characters overwrite."""
    lines, column = [""], 0
    for char in raw:
        if char == "\r":
            column = 0
        elif char == "\n":
            lines.append("")
            column = 0
        else:
            line = lines[-1].ljust(column)
            lines[-1] = line[:column] + char + line[column + 1 :]
            column += 1
    return [line.rstrip() for line in lines]


def test_progress_on_a_terminal_never_shares_a_line_with_the_log(running: LabThread, tmp_path: Path) -> None:
    import pty

    path = write_inventory(running.lab, tmp_path / "lab.yml", overrides={"R5": {"port": closed_port()}})
    master, slave = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "ipsec_ha_monitor", "check", "--config", str(path)],  # --progress auto
            stdout=subprocess.PIPE,
            stderr=slave,
            text=True,
        )
        os.close(slave)
        slave = -1
        chunks = []
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        out, _ = process.communicate(timeout=60)
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    raw = b"".join(chunks).decode("utf-8", "replace")
    assert process.returncode == 2 and "exit 2:" in out and "polling [" not in out
    assert "polling [" in raw and "4/4 devices, 1 failed" in raw  # the bar was drawn on the terminal
    screen = _screen(raw)
    (warning,) = [line for line in screen if "R5: TCP connection" in line]
    # A line of its own, from its first column (the bar cleared, not just written over).
    assert "polling [" not in warning and warning == warning.lstrip(), screen
    assert not [line for line in screen if "polling [" in line], screen  # wiped at the end


def test_no_progress_when_stderr_is_no_terminal(running: LabThread, tmp_path: Path) -> None:
    path = write_inventory(running.lab, tmp_path / "lab.yml")
    done = subprocess.run(
        [sys.executable, "-m", "ipsec_ha_monitor", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "polling [" not in done.stderr + done.stdout


def test_watch_keeps_the_selection_across_sighup(tmp_path: Path) -> None:
    with LabThread(Lab(pairs=1, branches=2, time_scale=TIME_SCALE)) as running:
        path = write_inventory(running.lab, tmp_path / "lab.yml")
        process = start_monitor(
            "check", "--config", str(path), "--json", "--watch", "0.3", "--device", "R1", "--device", "R4"
        )
        reports: list[dict] = []
        reader = threading.Thread(target=_read_reports, args=(process, reports), daemon=True)
        reader.start()
        try:
            wait_until(lambda: len(reports) >= 1, what="a --watch report")
            # R5 (not selected) leaves: the selection stays as it was.
            write_inventory(running.lab, path, drop=("R5",))
            seen = len(reports)
            process.send_signal(signal.SIGHUP)
            wait_until(lambda: len(reports) >= seen + 2, what="two reports after the SIGHUP")
            assert [d["device"] for d in reports[-1]["devices"]] == ["R1", "R4"]
            assert reports[-1]["selection"]["not_judged"] == ["HUB-PAIR-1"]
            # R4 (selected) leaves: refused, polling goes on with the previous inventory.
            write_inventory(running.lab, path, drop=("R4", "R5"))
            seen = len(reports)
            process.send_signal(signal.SIGHUP)
            wait_until(lambda: len(reports) >= seen + 2, what="two reports after the bad SIGHUP")
            assert [d["device"] for d in reports[-1]["devices"]] == ["R1", "R4"]
        finally:
            stderr = stop(process, signal.SIGINT)
        assert "inventory reload refused, keeping the previous one: --device R4: not in the inventory" in stderr
        assert not running.lab.router("R2").commands_received and not running.lab.router("R5").commands_received
