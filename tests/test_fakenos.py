"""`check` and `serve` against Cisco IOS devices emulated by FakeNOS (PyPI
`fakenos`), a third-party fake network OS with its own SSH server and shell,
serving real outputs from the corpus (tests/fakenos/outputs, see SOURCES).

Nothing here uses the project's lab (ipsec_ha_monitor.lab) or the test helpers (tests/support):
the lab renders our own understanding of IOS, so a poller bug that shares
its assumptions would pass the lab tests; these devices are someone else's
idea of an IOS session (their echo, line handling, prompts and banners).

FakeNOS pins Paramiko < 5 and the project runs Paramiko 5, so FakeNOS runs in
a process of its own from its own virtual environment (.venv-fakenos, made by
`make fakenos` or by the first test that needs it, then reused), driven by
tests/fakenos/serve_fakenos.py. Without it the tests are skipped only when
the package index cannot be reached and CI is not set; in CI they fail.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.integration  # FakeNOS, `check` and `serve` as processes

REPO = Path(__file__).resolve().parents[1]
HERE = REPO / "tests" / "fakenos"
OUTPUTS = HERE / "outputs"
SERVER = HERE / "serve_fakenos.py"
FAKENOS_REQUIREMENT = "fakenos==1.2.1"  # the Makefile's `fakenos` target installs the same
VENV = Path(os.environ.get("IPSECHA_FAKENOS_VENV", REPO / ".venv-fakenos"))
STAMP = VENV / ".installed"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

PAIR = "HUB-PAIR-1"
BRANCH_PEER = "101.1.1.2"  # the ESP peer of the served `show crypto ipsec sa`
HUB_COMMANDS = (
    "show version",
    "show standby",
    "show redundancy states",
    "show redundancy inter-device",
    "show crypto ipsec sa",
    "show crypto isakmp sa",
    "show crypto ikev2 sa",
    "show crypto session",
    "show logging",
)
# The log is read filtered to its reload messages: typed so, reported as "show logging".
LOG_TYPED = "show logging | include RELOAD|RESTART"
# Credentials reach the monitor through environment variables only.
PASSWORD_ENV, ENABLE_ENV = "IPSECHA_FAKENOS_PASSWORD", "IPSECHA_FAKENOS_ENABLE"
BANNER = "#### Authorized access only > all sessions logged ####"
MOTD = "\n".join(
    (
        "##################################################",
        "# hub-a.dc1.example > DC1 VPN hub, change window #",
        "# Sat 02:00-04:00 UTC > call NOC before reload  #",
        "##################################################",
    )
)
NETWORK_ERRORS = (
    "Temporary failure in name resolution",
    "Name or service not known",
    "NewConnectionError",
    "Network is unreachable",
    "Connection refused",
    "Max retries exceeded",
    "No matching distribution found",
    "Could not find a version",
    "timed out",
)

# The served outputs of the healthy packetlife pair: R2 HSRP active and RF
# ACTIVE, R1 standby and STANDBY HOT.
R1_OUTPUTS = {
    "show version": "show_version/ntc__show_version3.raw",
    "show standby": "show_standby/derived__R1_standby.raw",
    "show redundancy states": "show_redundancy_states/packetlife__R1_standby.raw",
    "show redundancy inter-device": "show_redundancy_inter_device/packetlife__R1_standby.raw",
    "show crypto ipsec sa": "show_crypto_ipsec_sa/genie__iosxe_interface_golden_output_2.raw",
    "show crypto isakmp sa": "show_crypto_isakmp_sa/genie__iosxe_golden_output_isakmp_no_ipv6.raw",
    "show crypto ikev2 sa": "show_crypto_ikev2_sa/genie__iosxe_golden_output.raw",
    "show crypto session": "show_crypto_session/genie__ios_golden_output.raw",
    LOG_TYPED: "show_logging/packetlife__standby_setup.raw",
}
R2_OUTPUTS = {
    **R1_OUTPUTS,
    "show standby": "show_standby/packetlife__R2.raw",
    "show redundancy states": "show_redundancy_states/packetlife__R2_active.raw",
    "show redundancy inter-device": "show_redundancy_inter_device/derived__R2_active.raw",
}


# --- the FakeNOS virtual environment ---------------------------------------------


def _build_venv() -> None:
    """Create VENV with FakeNOS (and its Paramiko 4), once; concurrent
    builders wait on a lock. A stamp names what was installed."""
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / f"{VENV.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if STAMP.is_file() and STAMP.read_text().strip() == FAKENOS_REQUIREMENT:
            return
        steps = {
            "python -m venv": [sys.executable, "-m", "venv", "--clear", str(VENV)],
            f"pip install {FAKENOS_REQUIREMENT}": [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
                                                   "--disable-pip-version-check", FAKENOS_REQUIREMENT],
        }  # fmt: skip
        for label, step in steps.items():
            try:
                done = subprocess.run(step, capture_output=True, text=True, timeout=600)
            except subprocess.TimeoutExpired:
                _no_venv(f"`{label}` did not finish within 600 s", network=True)
            if done.returncode != 0:
                text = done.stdout + done.stderr
                _no_venv(
                    f"`{label}` failed:\n{text[-3000:]}",
                    network=any(marker in text for marker in NETWORK_ERRORS),
                )
        STAMP.write_text(FAKENOS_REQUIREMENT + "\n")


def _no_venv(why: str, network: bool) -> None:
    message = f"cannot build the FakeNOS environment {VENV} ({FAKENOS_REQUIREMENT}): {why}"
    if network and not IN_CI:
        pytest.skip(f"package index unreachable and CI not set; {message}")
    pytest.fail(message + ("" if not IN_CI else "\n(CI=true: a missing FakeNOS environment is an error)"))


@pytest.fixture(scope="session")
def fakenos_python() -> Path:
    _build_venv()
    python = VENV / "bin" / "python"
    assert python.is_file(), f"{python} missing although {STAMP} says it is installed"
    return python


# --- processes --------------------------------------------------------------------


# serve's start record on stderr (a log record): "serving 2 devices on URL/metrics (...)".
SERVING = re.compile(r"serving [0-9]+ devices? on (https?://\S+?)/metrics ")


def _serving_url(process: subprocess.Popen[str], timeout: float, seen: list[str]) -> str:
    """The base URL of serve's start record, waiting at most `timeout`
    seconds; the stderr lines read up to it are appended to `seen`."""
    found: list[str] = []

    def read() -> None:
        while process.stderr is not None and (line := process.stderr.readline()):
            seen.append(line)
            if match := SERVING.search(line):
                found.append(match.group(1))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if not found:
        process.kill()
        process.wait(timeout=15)
        said = "".join(seen)[-3000:]
        raise AssertionError(f"serve did not start within {timeout} s (exit {process.returncode}): {said}")
    return found[0]


def _stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM, reap (SIGKILL after 15 s), close the pipes; the stderr."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)
    stderr = process.stderr.read() if process.stderr else ""
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
    return stderr


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The process's first stdout line, waiting at most `timeout` seconds."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not lines or not lines[0]:
        process.kill()
        process.wait(timeout=15)
        raise AssertionError(
            f"{process.args[:4]} printed no line within {timeout} s (exit {process.returncode}): "
            f"{process.stderr.read()[-3000:] if process.stderr else ''}"
        )
    return lines[0]


@contextlib.contextmanager
def fakenos_devices(python: Path, tmp_path: Path, devices: list[dict[str, Any]]) -> Iterator[dict[str, int]]:
    """Start serve_fakenos.py on `devices` (ports chosen free); yields the
    ports by device name; always stops it."""
    spec = tmp_path / "fakenos.json"
    spec.write_text(json.dumps({"devices": devices}, indent=1), encoding="utf-8")
    process = subprocess.Popen(
        [str(python), str(SERVER), str(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        ready = json.loads(_first_line(process, 60))
        assert ready["ready"] is True and set(ready["ports"]) == {d["name"] for d in devices}, ready
        yield ready["ports"]
    finally:
        stderr = _stop(process)
        assert "Traceback" not in stderr, stderr[-3000:]


# --- devices and inventories ------------------------------------------------------


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Recognisable throwaway secrets, in the environment the inventory names."""
    found = {"password": f"pw-{secrets.token_hex(6)}", "enable_secret": f"en-{secrets.token_hex(6)}"}
    monkeypatch.setenv(PASSWORD_ENV, found["password"])
    monkeypatch.setenv(ENABLE_ENV, found["enable_secret"])
    return found


def device(name: str, outputs: dict[str, str], credentials: dict[str, str], **extra: Any) -> dict[str, Any]:
    """One FakeNOS device: by default a login at `R1>` with an enable secret."""
    spec: dict[str, Any] = {
        "name": name,
        "hostname": name,
        "username": "netops",
        "password": credentials["password"],
        "enable_secret": credentials["enable_secret"],
        "privilege": 1,
        "outputs": {command: str(OUTPUTS / path) for command, path in outputs.items()},
    }
    spec.update(extra)
    return spec


def write_inventory(
    tmp_path: Path,
    ports: dict[str, int],
    enable_secret: bool = True,
    pair: dict[str, Any] | None = None,
    connect_timeout: float = 20,
    platform: str = "cisco_ios",
) -> Path:
    creds: dict[str, Any] = {"username": "netops", "password": {"env": PASSWORD_ENV}}
    if enable_secret:
        creds["enable_secret"] = {"env": ENABLE_ENV}
    data = {
        "defaults": {"platform": platform, "credentials": creds},
        "polling": {
            "workers": 4,
            "connect_timeout": connect_timeout,
            "command_timeout": 20,
            "poll_timeout": 60,
            "keepalive": 10,
            "backoff_initial": 1,
            "backoff_max": 2,
        },
        "pairs": [{"name": PAIR, "members": list(ports), **(pair or {})}],
        "devices": [
            {"name": name, "host": "127.0.0.1", "port": port, "role": "hub", "expected_peers": [BRANCH_PEER]}
            for name, port in ports.items()
        ],
    }
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    path.chmod(0o600)
    return path


def run_check(inventory: Path, timeout: float = 120) -> tuple[int, dict[str, Any], str, float]:
    """`ipsec-ha-monitor check --json` as a process: exit code, report,
    stderr, wall time."""
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ipsec_ha_monitor",
            "check",
            "--config",
            str(inventory),
            "--json",
            "--progress",
            "never",
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
    elapsed = time.monotonic() - started
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(
            f"check exit {done.returncode}, no JSON:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        ) from None
    return done.returncode, report, done.stderr, elapsed


def statuses(report: dict[str, Any], name: str) -> dict[str, str]:
    (found,) = [d for d in report["devices"] if d["device"] == name]
    return {c["command"]: c["status"] for c in found["commands"]}


def errors(report: dict[str, Any], name: str) -> dict[str, str]:
    (found,) = [d for d in report["devices"] if d["device"] == name]
    return {c["command"]: c["error"] for c in found["commands"]}


def rules(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (pair,) = report["pairs"]
    return {rule["rule"]: rule for rule in pair["rules"]}


def assert_no_secret(text: str, credentials: dict[str, str]) -> None:
    for secret in credentials.values():
        assert secret not in text


def assert_healthy(code: int, report: dict[str, Any], stderr: str) -> None:
    problems = {d["device"]: [c for c in d["commands"] if c["status"] != "ok"] for d in report["devices"]}
    assert all(d["up"] for d in report["devices"]), (problems, stderr[-2000:])
    for name in ("R1", "R2"):
        assert statuses(report, name) == dict.fromkeys(HUB_COMMANDS, "ok"), errors(report, name)
    (pair,) = report["pairs"]
    assert (pair["verdict"], pair["rf_active"], pair["hsrp_active"]) == ("healthy", "R2", ["R2"]), pair
    assert all(rule["ok"] is True for rule in pair["rules"]), pair["rules"]
    assert code == 0 and report["exit_code"] == 0


# --- scenarios --------------------------------------------------------------------


def test_healthy_packetlife_pair_check_and_serve(
    fakenos_python: Path, tmp_path: Path, credentials: dict[str, str]
) -> None:
    """R1 standby / R2 active, both logging in at `>` and typing `enable`
    with its secret: check exits 0, serve exports the RF states."""
    devices = [
        device("R1", R1_OUTPUTS, credentials, banner=BANNER),
        device("R2", R2_OUTPUTS, credentials, banner=BANNER),
    ]
    with fakenos_devices(fakenos_python, tmp_path, devices) as ports:
        inventory = write_inventory(tmp_path, ports)
        code, report, stderr, _ = run_check(inventory)
        assert_healthy(code, report, stderr)
        states = {
            d["device"]: d["commands"][HUB_COMMANDS.index("show redundancy states")]["records"][0]["my_state"]["code"]
            for d in report["devices"]
        }
        assert states == {"R1": 8, "R2": 13}
        assert_no_secret(json.dumps(report) + stderr, credentials)

        serve = subprocess.Popen(
            [sys.executable, "-m", "ipsec_ha_monitor", "serve", "--config", str(inventory),
             "--web.listen-address", "127.0.0.1:0", "--poll-interval", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )  # fmt: skip
        started: list[str] = []  # serve's stderr up to its start record
        try:
            base = _serving_url(serve, 30, started)
            assert base.startswith("http://127.0.0.1:"), base
            metrics_url = f"{base}/metrics"
            wanted = [
                f'ipsecha_device_up{{device="{name}",pair="{PAIR}"}} 1' for name in ("R1", "R2")
            ]  # fmt: skip
            deadline = time.monotonic() + 90
            while True:
                with urllib.request.urlopen(metrics_url, timeout=15) as response:
                    text = response.read().decode()
                if all(want in text for want in wanted) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            for want in (
                *wanted,
                f'ipsecha_redundancy_my_state{{device="R2",pair="{PAIR}"}} 13',
                f'ipsecha_redundancy_my_state{{device="R1",pair="{PAIR}"}} 8',
                f'ipsecha_redundancy_peer_state{{device="R2",pair="{PAIR}"}} 8',
                f'ipsecha_redundancy_duplex{{device="R2",pair="{PAIR}"}} 1',
                f'ipsecha_redundancy_duplex{{device="R1",pair="{PAIR}"}} 1',
            ):
                assert want in text, (want, [x for x in text.splitlines() if x.startswith("ipsecha_device_up")])
            with urllib.request.urlopen(f"{base}/probe?target=R2", timeout=30) as response:
                probe = response.read().decode()
            for want in (
                f'ipsecha_device_up{{device="R2",pair="{PAIR}"}} 1',
                f'ipsecha_redundancy_my_state{{device="R2",pair="{PAIR}"}} 13',
                f'ipsecha_redundancy_duplex{{device="R2",pair="{PAIR}"}} 1',
            ):
                assert want in probe, (want, probe[:3000])
        finally:
            serve_stderr = "".join(started) + _stop(serve)
        assert serve.returncode == 0, serve_stderr[-3000:]
        assert_no_secret(text + probe + serve_stderr, credentials)


# Paged answers: with `length 4` on the vty lines every served output pages;
# with IOS's default `length 24` only the long ones (show version, 42 lines;
# show crypto ipsec sa, 47) do and the others complete.
EVERY_OUTPUT_PAGES = (4, {**dict.fromkeys(HUB_COMMANDS, "paging"), "show logging": "ok"}, 8.0)
LONG_OUTPUTS_PAGE = (
    24,
    {**dict.fromkeys(HUB_COMMANDS, "ok"), "show version": "paging", "show crypto ipsec sa": "paging"},
    5.0,
)


@pytest.mark.parametrize(
    ("page_length", "expected", "within"), [EVERY_OUTPUT_PAGES, LONG_OUTPUTS_PAGE], ids=["length-4", "length-24"]
)
def test_paging_refused_is_spotted_at_once(
    fakenos_python: Path,
    tmp_path: Path,
    credentials: dict[str, str],
    page_length: int,
    expected: dict[str, str],
    within: float,
) -> None:
    """AAA refuses `terminal length 0` ("Command authorization failed."), so
    paging stays on: a paged output stops at ` --More-- ` and no prompt
    follows. Each such command must end at once with status `paging` and a
    message naming `terminal length 0` and command authorization, not wait
    for a prompt until command_timeout (20 s here; connect_timeout 30 s).

    Each device's poll (login and 8 commands) must end within `within`
    seconds, and the whole `check` process within 3 s more (start-up, JSON;
    a loaded CI machine): 5 s when two commands page (measured: 4.0 s a
    poll, 4.7 s the check); 8 s when all seven do (5.0 s and 5.7 s), because
    FakeNOS's SSH server echoes typed input 10 ms a byte and each paged
    command also costs the poller's quiet wait and the keys that quit the
    pager. A poller waiting for a prompt would take command_timeout (20 s)
    for each."""
    refused = {"terminal length 0": "Command authorization failed."}
    devices = [
        device("R1", R1_OUTPUTS, credentials, errors=refused, page_length=page_length),
        device("R2", R2_OUTPUTS, credentials, errors=refused, page_length=page_length),
    ]
    lines = {
        "show logging" if command == LOG_TYPED else command: len((OUTPUTS / path).read_text().splitlines())
        for command, path in R2_OUTPUTS.items()
    }
    assert {c for c, n in lines.items() if n >= page_length} == {c for c, s in expected.items() if s == "paging"}
    with fakenos_devices(fakenos_python, tmp_path, devices) as ports:
        inventory = write_inventory(tmp_path, ports, connect_timeout=30)
        code, report, stderr, elapsed = run_check(inventory)
    for name in ("R1", "R2"):
        found = statuses(report, name)
        assert found == expected, errors(report, name)
        (snapshot,) = [d for d in report["devices"] if d["device"] == name]
        for command in snapshot["commands"]:
            if command["status"] == "paging":
                message = command["error"].lower()
                assert "terminal length 0" in message and "authorization" in message, message
                assert command["duration_seconds"] < 3, command
    assert all(not d["up"] for d in report["devices"])
    assert code == 2 and report["exit_code"] == 2, (code, report["pairs"])
    polls = {d["device"]: d["duration_seconds"] for d in report["devices"]}
    assert max(polls.values()) < within, f"polls took {polls} s against paged output"
    assert elapsed < within + 3, f"check took {elapsed:.1f} s against paged output"
    assert_no_secret(json.dumps(report) + stderr, credentials)


def test_user_exec_without_enable_secret_is_a_privilege_error(
    fakenos_python: Path, tmp_path: Path, credentials: dict[str, str]
) -> None:
    """The account lands at `R1>` and the inventory has no enable secret:
    the privileged show commands are rejected with `% Invalid input`, which
    must read as a privilege problem, not as an image lacking the command."""
    devices = [device("R1", R1_OUTPUTS, credentials), device("R2", R2_OUTPUTS, credentials)]
    with fakenos_devices(fakenos_python, tmp_path, devices) as ports:
        inventory = write_inventory(tmp_path, ports, enable_secret=False)
        code, report, stderr, _ = run_check(inventory)
    for name in ("R1", "R2"):
        found = statuses(report, name)
        assert "invalid_command" not in found.values(), found
        privileged = {command: status for command, status in found.items() if command != "show version"}
        assert set(privileged.values()) == {"privilege"}, found
        assert found["show version"] in ("ok", "privilege"), found  # it runs at `>`
        message = errors(report, name)["show standby"]
        for words in ("user EXEC", "privilege 15", "enable_secret"):
            assert words in message, message
    assert code == 2 and report["exit_code"] == 2
    assert_no_secret(json.dumps(report) + stderr, credentials)


def test_missing_inter_device_judged_on_hsrp_with_stateful_group(
    fakenos_python: Path, tmp_path: Path, credentials: dict[str, str]
) -> None:
    """An image without `show redundancy inter-device` (IOS answers with the
    caret line and `% Invalid input`): with the pair's `stateful_group` in
    the inventory the answer is `not_supported` (docs/polling.md: not a failure, the
    device stays up) and the HSRP rules judge the named group: ok, not
    unknown, and no rule calls a polled device "not polled"."""
    r1 = {k: v for k, v in R1_OUTPUTS.items() if k != "show redundancy inter-device"}
    r2 = {k: v for k, v in R2_OUTPUTS.items() if k != "show redundancy inter-device"}
    devices = [device("R1", r1, credentials), device("R2", r2, credentials)]
    with fakenos_devices(fakenos_python, tmp_path, devices) as ports:
        inventory = write_inventory(tmp_path, ports, pair={"stateful_group": "BRANCH-5-TUNNEL"})
        code, report, stderr, _ = run_check(inventory)
    for name in ("R1", "R2"):
        expected = {**dict.fromkeys(HUB_COMMANDS, "ok"), "show redundancy inter-device": "not_supported"}
        assert statuses(report, name) == expected, (errors(report, name), stderr[-2000:])
        assert "invalid_input" in errors(report, name)["show redundancy inter-device"]
    found = rules(report)
    for rule in ("hsrp_active_present", "single_hsrp_active", "hsrp_active_is_rf_active"):
        assert found[rule]["ok"] is True, found[rule]
    for rule in found.values():
        assert "not polled" not in (rule["message"] or ""), rule
    (pair,) = report["pairs"]
    assert (pair["hsrp_active"], pair["rf_active"]) == (["R2"], "R2"), pair
    assert all(d["up"] for d in report["devices"]), report["devices"]
    assert (pair["verdict"], code, report["exit_code"]) == ("healthy", 0, 0), pair["rules"]
    assert_no_secret(json.dumps(report) + stderr, credentials)


def test_banner_and_dotted_hostnames_at_privilege_15(
    fakenos_python: Path, tmp_path: Path, credentials: dict[str, str]
) -> None:
    """Dotted hostnames (netmiko cuts its base prompt at 16 characters), a
    login banner and a MOTD full of `#` and `>`, a login landing at `#` with
    no enable secret anywhere."""
    devices = [
        device("R1", R1_OUTPUTS, credentials, hostname="hub-a.dc1.example", privilege=15, enable_secret=None,
               banner=BANNER, motd=MOTD),
        device("R2", R2_OUTPUTS, credentials, hostname="r2-vpn.lab", privilege=15, enable_secret=None,
               banner=BANNER, motd=MOTD.replace("hub-a.dc1.example", "r2-vpn.lab########")),
    ]  # fmt: skip
    with fakenos_devices(fakenos_python, tmp_path, devices) as ports:
        inventory = write_inventory(tmp_path, ports, enable_secret=False)
        code, report, stderr, _ = run_check(inventory)
    assert_healthy(code, report, stderr)


def test_refused_terminal_width_and_enable_without_password(
    fakenos_python: Path, tmp_path: Path, credentials: dict[str, str]
) -> None:
    """`terminal width 511` rejected with `% Invalid input` (its caret line
    and the prompt arrive after netmiko stopped reading at the echo), and an
    `enable` that goes straight to `#` without asking for the secret the
    inventory holds: every command still runs and parses."""
    refused = {"terminal width 511": "invalid"}
    devices = [
        device("R1", R1_OUTPUTS, credentials, errors=refused),
        device("R2", R2_OUTPUTS, credentials, errors=refused, enable_without_password=True),
    ]
    with fakenos_devices(fakenos_python, tmp_path, devices) as ports:
        inventory = write_inventory(tmp_path, ports)
        code, report, stderr, _ = run_check(inventory)
    assert_healthy(code, report, stderr)


# --- IOS-XE box-to-box ---------------------------------------------------------------

# Two Catalyst 8000V of one image in a box-to-box pair: XE2 serves genieparser's
# IOS-XE sample (group 1 STANDBY HOT), XE1 its other box (derived, see SOURCES).
XE_COMMANDS = (
    "show version",
    "show redundancy application group all",
    "show redundancy application if-mgr group",
    "show crypto ipsec sa",
    "show crypto isakmp sa",
    "show crypto ikev2 sa",
    "show crypto session",
    "show logging",
)
XE_RG_COMMANDS = ("show redundancy application group all", "show redundancy application if-mgr group")
XE1_OUTPUTS = {
    **{command: path for command, path in R1_OUTPUTS.items() if command.startswith(("show crypto", LOG_TYPED))},
    "show version": "show_version/genie__iosxe_golden_output_c8000v.raw",
    "show redundancy application group all": "show_redundancy_application_group/derived__iosxe_active.raw",
    "show redundancy application if-mgr group": "show_redundancy_application_if-mgr_group/synthetic__active.raw",
}
XE2_OUTPUTS = {
    **XE1_OUTPUTS,
    "show redundancy application group all": "show_redundancy_application_group/genie__iosxe_golden_output_2.raw",
    "show redundancy application if-mgr group": "show_redundancy_application_if-mgr_group/synthetic__standby.raw",
}
B2B_PAIR = {"mode": "b2b", "groups": [1]}


def test_an_iosxe_box_to_box_pair_at_router_prompts(
    fakenos_python: Path, tmp_path: Path, credentials: dict[str, str]
) -> None:
    """Both boxes answer at `Router#` (IOS-XE's default host name, at
    privilege 15 after login, no `enable`), never at their inventory names,
    and page at 24 lines until `terminal length 0` (the group output is 54
    lines): every command answers whole, the box-to-box commands parse on
    cisco_xe, and the pair is judged per redundancy group."""
    devices = [
        device("XE1", XE1_OUTPUTS, credentials, hostname="Router", privilege=15, page_length=24),
        device("XE2", XE2_OUTPUTS, credentials, hostname="Router", privilege=15, page_length=24),
    ]
    served = (OUTPUTS / XE2_OUTPUTS["show redundancy application group all"]).read_text(encoding="utf-8")
    assert len(served.splitlines()) > 24  # it would page without `terminal length 0`
    with fakenos_devices(fakenos_python, tmp_path, devices) as ports:
        inventory = write_inventory(tmp_path, ports, enable_secret=False, pair=B2B_PAIR, platform="cisco_xe")
        code, report, stderr, _ = run_check(inventory)
    for name in ("XE1", "XE2"):
        assert statuses(report, name) == dict.fromkeys(XE_COMMANDS, "ok"), errors(report, name)
    roles = {
        d["device"]: d["commands"][XE_COMMANDS.index("show redundancy application group all")]["records"][0]["my_role"]
        for d in report["devices"]
    }
    assert roles == {"XE1": "ACTIVE", "XE2": "STANDBY"}
    found = rules(report)
    assert {name for name in found if name.startswith("rg_")} >= {
        "rg_single_active",
        "rg_active_present",
        "rg_peer_standby_hot",
        "rg_peer_communicating",
        "rg_up",
        "rg_vip_single_owner",
    }
    assert "peer_standby_hot" not in found and "single_hsrp_active" not in found  # the classic rules are not judged
    (pair,) = report["pairs"]
    assert pair["verdict"] == "healthy" and all(rule["ok"] is True for rule in pair["rules"]), pair["rules"]
    assert code == 0 and report["exit_code"] == 0, stderr[-2000:]
    assert_no_secret(json.dumps(report) + stderr, credentials)


def test_an_image_without_redundancy_groups_is_not_supported(
    fakenos_python: Path, tmp_path: Path, credentials: dict[str, str]
) -> None:
    """An image without box-to-box redundancy refuses the group commands
    with `% Invalid input`: not_supported, the box stays up, and the group
    rules are unknown with that reason, never a failed poll."""
    refused = dict.fromkeys(XE_RG_COMMANDS, "invalid")
    devices = [
        device("XE1", XE1_OUTPUTS, credentials, hostname="Router", privilege=15),
        device("XE2", XE2_OUTPUTS, credentials, hostname="Router", privilege=15, errors=refused),
    ]
    with fakenos_devices(fakenos_python, tmp_path, devices) as ports:
        inventory = write_inventory(tmp_path, ports, enable_secret=False, pair=B2B_PAIR, platform="cisco_xe")
        code, report, stderr, _ = run_check(inventory)
    assert statuses(report, "XE1") == dict.fromkeys(XE_COMMANDS, "ok"), errors(report, "XE1")
    found = statuses(report, "XE2")
    assert {command: found[command] for command in XE_RG_COMMANDS} == dict.fromkeys(XE_RG_COMMANDS, "not_supported")
    assert all(found[command] == "ok" for command in XE_COMMANDS if command not in XE_RG_COMMANDS), found
    assert "no box-to-box redundancy groups" in errors(report, "XE2")["show redundancy application group all"]
    assert all(d["up"] for d in report["devices"])
    (pair,) = report["pairs"]
    unknown = {rule["rule"]: rule["message"] for rule in pair["rules"] if rule["ok"] is None}
    assert "no box-to-box redundancy groups on this image" in unknown.get("rg_single_active", ""), unknown
    assert pair["verdict"] == "unknown" and code == report["exit_code"] != 0
    assert_no_secret(json.dumps(report) + stderr, credentials)
