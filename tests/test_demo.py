"""The demo and the lab as a user meets them: the command they print works
as printed from anywhere, their SSH ports can be chosen, and the demo's pace
lets every step of a failover show in two polls or more."""

from __future__ import annotations

import itertools
import json
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import yaml
from support.processes import _default_sigint, closed_port, stop
from support.waiting import wait_until

from ipsec_ha_monitor.demo import DEMO_POLL_INTERVAL, DEMO_STEP_SECONDS, demo_lab
from ipsec_ha_monitor.inventory import load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.lab.scenarios import RELOAD_SECONDS
from ipsec_ha_monitor.poll.poller import Poller, Scheduler
from ipsec_ha_monitor.snapshot import Snapshot

pytestmark = pytest.mark.integration  # the lab over SSH, the demo and the lab as processes

REPO = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "ipsec-ha-monitor"  # the installed console script
# A PATH without the virtualenv: `ipsec-ha-monitor` alone is "command not found" (127).
BARE_PATH = "/usr/bin:/bin"


class Output:
    """A process's stdout gathered line by line as it comes (a thread reads it)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._reader = threading.Thread(target=lambda: self.lines.extend(process.stdout or ()), daemon=True)
        self._reader.start()

    def line(self, prefix: str) -> str:
        return next((line.rstrip("\n") for line in list(self.lines) if line.startswith(prefix)), "")


@contextmanager
def running(command: list[str], cwd: Path) -> Iterator[tuple[subprocess.Popen[str], Output]]:
    """`command` from `cwd` with the bare PATH; stopped (SIGTERM) and reaped after: exit 0."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env={"PATH": BARE_PATH, "HOME": str(cwd), "LANG": "C.UTF-8"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )
    output = Output(process)
    try:
        yield process, output
    finally:
        stderr = stop(process)
        assert process.returncode == 0, stderr


def _invocations() -> list[list[str]]:
    return [[sys.executable, "-m", "ipsec_ha_monitor"], [str(SCRIPT)]]


def _free_block(count: int) -> int:
    """A first port of `count` consecutive free ports on 127.0.0.1."""
    for first in range(21000, 60000, 97):
        sockets = []
        try:
            for port in range(first, first + count):
                probe = socket.socket()
                sockets.append(probe)
                probe.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for probe in sockets:
                probe.close()
    raise AssertionError("no block of free ports")


# --- the printed command works as printed ----------------------------------------------


@pytest.mark.parametrize("how", ["python -m ipsec_ha_monitor", "console script"])
@pytest.mark.parametrize("what", ["demo", "lab"])
def test_the_printed_try_command_works_as_printed(tmp_path: Path, what: str, how: str) -> None:
    invocation = _invocations()[how == "console script"]
    if not Path(invocation[0]).exists():
        pytest.skip(f"{invocation[0]} is not installed")
    assert shutil.which("ipsec-ha-monitor", path=BARE_PATH) is None  # the case of issue 15: exit 127
    control = f"127.0.0.1:{closed_port()}"  # a custom control address: it must be the one printed
    options = ["--control-address", control]
    if what == "demo":
        options += ["--web.listen-address", f"127.0.0.1:{closed_port()}"]
    with running([*invocation, what, *options], tmp_path) as (_, output):
        printed = wait_until(lambda: output.line("try: "), 60, f"the {what}'s try line", describe=lambda: output.lines)
        command = shlex.split(printed.removeprefix("try: "))
        assert command == [*invocation, "lab", "trigger", "failover", "--control-address", control], printed
        answer = subprocess.run(
            command, cwd=tmp_path, env={"PATH": BARE_PATH}, capture_output=True, text=True, timeout=30
        )
        assert answer.returncode == 0 and answer.stdout.startswith("ok: scenario failover"), answer


@pytest.mark.parametrize("how", ["python -m ipsec_ha_monitor", "console script"])
def test_the_demo_prints_its_inventory_and_a_check_command_that_works_as_printed(tmp_path: Path, how: str) -> None:
    """The README leads from the demo to `check`: the demo names the
    inventory it polls and prints the `check` command for it, which runs
    as printed from another directory, with no virtualenv on PATH."""
    invocation = _invocations()[how == "console script"]
    if not Path(invocation[0]).exists():
        pytest.skip(f"{invocation[0]} is not installed")
    options = ["--control-address", f"127.0.0.1:{closed_port()}", "--web.listen-address", f"127.0.0.1:{closed_port()}"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with running([*invocation, "demo", *options], tmp_path) as (_, output):
        printed = wait_until(lambda: output.line("check: "), 60, "the demo's check line", describe=lambda: output.lines)
        inventory = Path(output.line("inventory: ").removeprefix("inventory: ").split(" (")[0])
        assert inventory.is_file() and load_inventory(inventory).pairs, output.lines
        command = shlex.split(printed.removeprefix("check: "))
        assert command == [*invocation, "check", "--config.file", str(inventory), "--time.scale", "10"], printed
        check = subprocess.run(
            command, cwd=elsewhere, env={"PATH": BARE_PATH}, capture_output=True, text=True, timeout=120
        )
        # The lab at baseline: every device polled, the pair healthy.
        assert check.returncode == 0, check
        assert "HUB-PAIR-1" in check.stdout and "healthy" in check.stdout, check.stdout
    assert not inventory.exists()  # removed with the demo, as it says


# --- --base-port -------------------------------------------------------------------------


@pytest.mark.parametrize("what", ["demo", "lab"])
def test_base_port_sets_the_ssh_ports_and_a_port_in_use_is_one_line(tmp_path: Path, what: str) -> None:
    routers = 5 if what == "demo" else 3
    base = _free_block(routers)
    control = f"127.0.0.1:{closed_port()}"
    options = ["--base-port", str(base), "--control-address", control]
    if what == "demo":
        options += ["--web.listen-address", f"127.0.0.1:{closed_port()}"]
    invocation = _invocations()[0]
    with running([*invocation, what, *options], tmp_path) as (_, output):
        wait_until(lambda: output.line("try: "), 60, f"the {what}'s banner", describe=lambda: output.lines)
        status = subprocess.run(
            [*invocation, "lab", "status", "--control-address", control], capture_output=True, text=True, timeout=30
        )
        ports = [row["port"] for row in json.loads(status.stdout)]
        assert ports == list(range(base, base + routers)), status
        # Every router answers SSH on its port.
        for port in ports:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
                assert connection.recv(64).startswith(b"SSH-2.0-")
        # A second one on the same ports: R2's port (base + 1) is taken.
        second = subprocess.run(
            [*invocation, what, "--base-port", str(base + 1), "--control-address", f"127.0.0.1:{closed_port()}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert second.returncode == 1, second
    message = f"ipsec-ha-monitor {what}: cannot listen on 127.0.0.1:{base + 1} (R1's SSH port; base port {base + 1}"
    assert second.stderr.startswith(message) and second.stderr.rstrip().endswith("Address already in use"), second
    assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr, second.stderr


def test_a_base_port_leaving_too_few_ports_is_refused() -> None:
    with pytest.raises(ValueError, match=r"base port 65534: the lab's 3 routers need ports 65534-65536"):
        Lab(base_port=65534)


def test_make_demo_serves_on_port(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("no make")
    dry = subprocess.run(
        ["make", "-n", "-C", str(REPO), "demo", "PORT=9511", "BASE_PORT=2200"], capture_output=True, text=True
    )
    assert dry.returncode == 0, dry
    (line,) = [line for line in dry.stdout.splitlines() if " demo " in line]
    assert shlex.split(line) == [
        str(REPO / ".venv/bin/ipsec-ha-monitor"),
        "demo",
        "--web.listen-address",
        "127.0.0.1:9511",
        "--base-port",
        "2200",
        "--control-address",
        "127.0.0.1:9180",  # not the lab's 9179 (make lab): both run at once
    ]


# --- the demo's pace ---------------------------------------------------------------------


def _runs(values: list[object]) -> list[tuple[object, int]]:
    """`values` as (value, consecutive repeats)."""
    runs: list[tuple[object, int]] = []
    for value in values:
        if runs and runs[-1][0] == value:
            runs[-1] = (value, runs[-1][1] + 1)
        else:
            runs.append((value, 1))
    return runs


def _hsrp(snapshot: Snapshot) -> object:
    groups = snapshot.hsrp_groups
    return groups[0].state if groups else "down"


def _rf(snapshot: Snapshot) -> object:
    states = snapshot.redundancy_states
    if states is None:
        return "down"
    return (states.my_state.code, states.peer_state.code if states.peer_state else None)


# What each hub shows through a failover at baseline (R2 RF ACTIVE, R1
# STANDBY HOT), one entry per state, per command: `show standby` and `show
# redundancy states` are read separately, a poll's commands running a few
# tens of ms apart. Between them, every step of the scenario changes
# something: R2's HSRP Init before its reload (R1 goes HSRP active), the
# reload (R2 down; R1 ACTIVE, peer DISABLED), R2 back (INITIALIZATION),
# NEGOTIATION/Listen, STANDBY COLD/Speak, COLD-BULK/Standby, STANDBY HOT.
EXPECTED = {
    ("R2", "hsrp"): ["active", "init", "down", "init", "listen", "speak", "standby"],
    ("R2", "rf"): [(13, 8), "down", (2, 1), (3, 13), (4, 13), (7, 13), (8, 13)],
    ("R1", "hsrp"): ["standby", "active"],
    ("R1", "rf"): [(8, 13), (13, 1), (13, 3), (13, 4), (13, 7), (13, 8)],
}


def test_every_failover_step_of_the_demo_shows_in_two_polls_or_more(tmp_path: Path) -> None:
    """The demo's lab at the demo's pace, its hubs polled over SSH by the
    exporter's own scheduler at the demo's interval through a failover
    (about 42 s): each state seen in two consecutive polls or more, none
    missed. (A computation from the scenario's constants alone would not
    see what a poll costs: logins after the reload, commands in sequence.)"""
    lab = demo_lab()
    seen: dict[str, list[Snapshot]] = {"R1": [], "R2": []}
    with ExitStack() as stack:
        running_lab = stack.enter_context(LabThread(lab))
        description = lab.inventory()
        description["devices"] = [device for device in description["devices"] if device["name"] in seen]
        path = tmp_path / "hubs.yml"
        path.write_text(yaml.safe_dump(description), encoding="utf-8")
        poller = Poller(load_inventory(path))
        stack.callback(poller.close)
        scheduler = Scheduler(poller, DEMO_POLL_INTERVAL, lambda snapshot: seen[snapshot.device].append(snapshot))
        scheduler.start()
        stack.callback(scheduler.stop)

        def polled_since(moment: float) -> bool:
            return all(sum(1 for s in snapshots if s.started_at > moment) >= 2 for snapshots in seen.values())

        wait_until(lambda: polled_since(0), 20, "two baseline polls of each hub", describe=lambda: seen)
        running_lab.trigger("failover")
        wait_until(lambda: "STANDBY HOT: SAs synced" in lab.timeline[-1][2], 50, "the failover's end")
        hot = time.time()
        wait_until(lambda: polled_since(hot), 10, "two polls of each hub at STANDBY HOT")
    for (device, field), expected in EXPECTED.items():
        read = _hsrp if field == "hsrp" else _rf
        runs = _runs([read(snapshot) for snapshot in seen[device]])
        assert [value for value, _ in runs] == expected, (device, field, runs)
        assert all(count >= 2 for _, count in runs), (device, field, runs)


def test_the_demo_pace_floors_every_step_in_real_time() -> None:
    """Each step of a failover lasts at least min_step_seconds of real time
    (the demo's pace, here shortened), the lab clock still at its scale: a
    1-lab-second step (Fa0/0 shut, before the reload) as much as the
    30-second reload. Timeline gaps are in lab seconds: scale x real."""
    scale, floor = 100.0, 0.25
    lab = Lab(branches=1, time_scale=scale, min_step_seconds=floor)
    with LabThread(lab) as running_lab:
        running_lab.trigger("failover")
        running_lab.wait(30)
    moments = [at for at, _, _ in lab.timeline]
    steps = [moments[0]]
    for at in moments[1:]:
        if at - steps[-1] > 0.1 * floor * scale:  # notes of one step come within a few ms
            steps.append(at)
    gaps = [later - earlier for earlier, later in itertools.pairwise(steps)]
    # shut -> reload -> back -> NEGOTIATION -> COLD -> COLD-BULK -> HOT
    assert len(gaps) == 6, lab.timeline
    assert min(gaps) >= 0.95 * floor * scale, gaps
    assert gaps[1] >= 0.95 * max(floor, RELOAD_SECONDS / scale) * scale, gaps  # never shorter than the scenario's
    # The demo's own pace: two polls within every step, each poll (login
    # included) taking up to 1.5 s past the interval.
    assert DEMO_STEP_SECONDS >= 2 * (DEMO_POLL_INTERVAL + 1.5)
