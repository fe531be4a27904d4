"""The pollers against the lab over real SSH: sessions kept across polls,
reopened after a reload, and every fault reported on its own device with a
specific status while the others poll as usual."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from pathlib import Path

import pytest
from support.inventories import write_inventory
from support.processes import closed_port

from ipsec_ha_monitor.inventory import load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.lab.ios_cli import IosCli, Reply
from ipsec_ha_monitor.lab.router import Faults
from ipsec_ha_monitor.poll import BRANCH_COMMANDS, HUB_COMMANDS, DevicePoller, Poller
from ipsec_ha_monitor.poll.commands import typed as typed_line
from ipsec_ha_monitor.poll.session import DeviceSession
from ipsec_ha_monitor.snapshot import Status

pytestmark = pytest.mark.integration  # the lab over SSH

# Lines netmiko types to log in and out, besides the polled commands.
LOGIN_LINES = {"", "terminal width 511", "terminal length 0", "enable", "exit"}


@pytest.fixture(scope="module")
def running():
    lab = Lab(pairs=2, branches=3, time_scale=10)
    with LabThread(lab) as running:
        yield running


@pytest.fixture
def lab(running: LabThread):
    yield running.lab
    for router in running.lab.routers:  # every test starts fault-free
        router.faults = Faults()


def test_poll_all_parses_every_command_and_reuses_sessions(lab: Lab, tmp_path: Path) -> None:
    poller = Poller(load_inventory(write_inventory(lab, tmp_path / "lab.yml", drop=("P2-R1", "P2-R2"))))
    try:
        first = poller.poll_all()
        second = poller.poll_all()
    finally:
        poller.close()
    assert list(first) == ["P1-R1", "P1-R2", "P1-R4", "P1-R5", "P1-R6", "P2-R4", "P2-R5", "P2-R6"]
    for snapshots in (first, second):
        assert all(snapshot.up for snapshot in snapshots.values()), [s.failures for s in snapshots.values()]
    r2 = second["P1-R2"]
    assert tuple(result.command for result in r2.results) == HUB_COMMANDS
    assert tuple(result.command for result in second["P1-R4"].results) == BRANCH_COMMANDS
    assert r2.pair == "HUB-PAIR-1" and second["P1-R4"].pair == ""
    assert r2.redundancy_states.my_state.code == 13 and r2.redundancy_states.peer_state.code == 8
    assert r2.active_sas_by_peer() == {"172.16.0.4": 2, "172.16.0.5": 2, "172.16.0.6": 2}
    assert [group.state for group in r2.hsrp_groups] == ["active"]
    assert r2.version.hostname == "P1-R2"
    assert r2.started_at <= time.time() and 0 < r2.duration_seconds < 10
    # One login per device: the second poll ran on the sessions of the first.
    assert all(s.session_opened for s in first.values()) and not any(s.session_opened for s in second.values())
    typed = list(lab.router("P1-R2").commands_received)
    assert typed.count("terminal length 0") == 1
    # Only the fixed read-only commands, and what logging in takes.
    assert set(typed) <= LOGIN_LINES | {typed_line(command) for command in HUB_COMMANDS}
    assert "show logging | include RELOAD|RESTART" in typed  # the log, filtered: a few lines
    assert r2.log_messages is not None and {m.mnemonic for m in r2.log_messages} <= {"RELOAD", "RESTART"}
    assert typed.count("show redundancy states") == 2


def test_every_fault_gets_its_own_status_and_spares_the_others(lab: Lab, tmp_path: Path) -> None:
    password = lab.credentials.username, "not-the-password"
    overrides = {
        "P1-R4": {"credentials": {"username": password[0], "password": password[1]}},
        "P1-R5": {"port": closed_port()},
    }
    inventory = load_inventory(write_inventory(lab, tmp_path / "lab.yml", overrides=overrides))
    lab.router("P1-R6").faults = Faults(no_prompt=True)
    lab.router("P2-R4").faults = Faults(stall_output=True)
    lab.router("P2-R5").faults = Faults(garbage=True)
    lab.router("P2-R1").faults = Faults(missing_commands=frozenset({"show redundancy inter-device"}))
    poller = Poller(inventory)
    try:
        started = time.monotonic()
        snapshots = poller.poll_all()
        cycle = time.monotonic() - started
        stalled_sessions = poller.device("P2-R4").sessions_opened
    finally:
        poller.close()

    def statuses(name: str) -> set[Status]:
        return {result.status for result in snapshots[name].results}

    assert statuses("P1-R4") == {Status.AUTH}
    assert "login to 127.0.0.1" in snapshots["P1-R4"].results[0].error
    assert statuses("P1-R5") == {Status.CONNECT}
    assert "connection refused" in snapshots["P1-R5"].results[0].error
    assert statuses("P1-R6") == {Status.TIMEOUT}
    assert "no prompt" in snapshots["P1-R6"].results[0].error
    # Stalled mid-output: timed out, reopened once, stalled again, the rest not run.
    stalled = snapshots["P2-R4"]
    assert stalled.results[0].status is Status.TIMEOUT and "stalled" in stalled.results[0].error
    assert all(r.status is Status.TIMEOUT and r.error.startswith("not run") for r in stalled.results[1:])
    assert stalled_sessions == 2
    assert statuses("P2-R5") == {Status.PARSE}
    assert "no_match" in snapshots["P2-R5"].results[0].error
    missing = snapshots["P2-R1"]
    assert missing.result("show redundancy inter-device").status is Status.INVALID_COMMAND
    assert "invalid_input" in missing.result("show redundancy inter-device").error
    assert [r.command for r in missing.failures] == ["show redundancy inter-device"]
    assert missing.redundancy_states is not None  # the other commands still count
    faulty = {"P1-R4", "P1-R5", "P1-R6", "P2-R4", "P2-R5", "P2-R1"}
    assert not any(snapshots[name].up for name in faulty)
    healthy = [name for name in snapshots if name not in faulty]
    assert healthy == ["P1-R1", "P1-R2", "P2-R2", "P2-R6"]
    for name in healthy:
        assert snapshots[name].up, snapshots[name].failures
        # Polled beside the stalls (two 2 s command timeouts), not after them.
        assert snapshots[name].duration_seconds < 2.0
    assert snapshots["P2-R4"].duration_seconds >= 4.0
    assert cycle < 10 + 5  # the poll timeout plus grace bounds the cycle


def test_a_reload_between_polls_reopens_the_session(running: LabThread, lab: Lab, tmp_path: Path) -> None:
    poller = Poller(load_inventory(write_inventory(lab, tmp_path / "lab.yml")))
    device = poller.device("P2-R6")
    try:
        assert poller.poll("P2-R6").up
        server = lab.servers["P2-R6"]
        running.run(server.stop())  # what a reload does: sessions cut, port closed ...
        running.run(server.start())  # ... and back on the same port
        after = poller.poll("P2-R6")
        again = poller.poll("P2-R6")
    finally:
        poller.close()
    assert after.up and after.session_opened, after.failures
    assert device.sessions_opened == 2
    assert again.up and not again.session_opened


def test_a_refused_connection_is_tried_again_at_every_poll(running: LabThread, lab: Lab, tmp_path: Path) -> None:
    poller = Poller(load_inventory(write_inventory(lab, tmp_path / "lab.yml")))
    server = lab.servers["P2-R5"]
    try:
        running.run(server.stop())  # reloading: the port refuses
        down = [poller.poll("P2-R5") for _ in range(3)]
        running.run(server.start())
        back = poller.poll("P2-R5")  # the very next poll, no backoff to sit out
    finally:
        running.run(server.start())
        poller.close()
    for snapshot in down:
        assert {r.status for r in snapshot.results} == {Status.CONNECT}
        assert "connection refused" in snapshot.results[0].error
        assert not snapshot.results[0].error.startswith("not retried")
    assert back.up, back.failures


def test_refused_logins_back_off_without_touching_the_network(lab: Lab, tmp_path: Path) -> None:
    wrong = {"credentials": {"username": lab.credentials.username, "password": "not-the-password"}}
    poller = Poller(load_inventory(write_inventory(lab, tmp_path / "lab.yml", overrides={"P1-R4": wrong})))
    try:
        first = poller.poll("P1-R4")
        second = poller.poll("P1-R4")  # within backoff_initial (0.5 s)
        time.sleep(0.6)
        third = poller.poll("P1-R4")
        fourth = poller.poll("P1-R4")
    finally:
        poller.close()
    assert first.results[0].status is Status.AUTH and "refused" in first.results[0].error
    assert second.results[0].status is Status.AUTH
    assert second.results[0].error.startswith("not retried for another") and "refused" in second.results[0].error
    assert second.duration_seconds < 0.05
    assert not third.results[0].error.startswith("not retried")
    assert "after 2 failed login(s)" in fourth.results[0].error  # the wait doubled


def test_a_refused_log_filter_leaves_the_device_up(lab: Lab, tmp_path: Path) -> None:
    lab.router("P1-R4").faults = Faults(missing_commands=frozenset({"show logging"}))
    poller = Poller(load_inventory(write_inventory(lab, tmp_path / "lab.yml")))
    try:
        snapshot = poller.poll("P1-R4")
    finally:
        poller.close()
    result = snapshot.result("show logging")
    assert result is not None and result.status is Status.NOT_SUPPORTED
    assert result.error.startswith("show logging | include RELOAD|RESTART: refused (invalid_input)")
    assert snapshot.up and snapshot.log_messages is None  # reloads fall back to show version


def test_concurrent_polls_of_one_device_share_one_poll(lab: Lab, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    poller = Poller(load_inventory(write_inventory(lab, tmp_path / "lab.yml")))
    try:
        poller.poll("P1-R5")
        lab.router("P1-R5").faults = Faults(slow_seconds=0.3)
        before = list(lab.router("P1-R5").commands_received).count("show version")
        with ThreadPoolExecutor(5) as pool:
            snapshots = list(pool.map(lambda _: poller.poll("P1-R5"), range(5)))
        after = list(lab.router("P1-R5").commands_received).count("show version")
    finally:
        poller.close()
    assert after - before == 1
    assert all(snapshot is snapshots[0] for snapshot in snapshots)


def test_inventory_update_keeps_unchanged_sessions(lab: Lab, tmp_path: Path) -> None:
    path = write_inventory(lab, tmp_path / "lab.yml", drop=("P2-R1", "P2-R2", "P2-R4", "P2-R5", "P2-R6"))
    poller = Poller(load_inventory(path))
    try:
        poller.poll_all()
        kept, changed = poller.device("P1-R1"), poller.device("P1-R4")
        write_inventory(
            lab,
            path,
            overrides={"P1-R4": {"port": closed_port()}},
            drop=("P1-R5", "P2-R1", "P2-R2", "P2-R4", "P2-R5"),
        )
        poller.update(load_inventory(path))
        assert poller.device("P1-R1") is kept and kept.session_open
        assert poller.device("P1-R4") is not changed and not changed.session_open
        assert "P1-R5" not in poller.device_names and "P2-R6" in poller.device_names
        snapshots = poller.poll_all()
    finally:
        poller.close()
    assert not snapshots["P1-R1"].session_opened and snapshots["P1-R1"].up
    assert snapshots["P1-R4"].results[0].status is Status.CONNECT
    assert snapshots["P2-R6"].up and snapshots["P2-R6"].session_opened


class _StrayEnterSession(DeviceSession):
    """A session that types two more Enters once logged in, as netmiko's
    find_prompt() does when the prompt is slow: late prompts follow."""

    def open(self, deadline: float, dialed: socket.socket | None = None) -> None:
        super().open(deadline, dialed)
        self._connection.write_channel("\n\n")


def test_a_late_prompt_never_shifts_answers_onto_the_next_command(lab: Lab, tmp_path: Path) -> None:
    inventory = load_inventory(write_inventory(lab, tmp_path / "lab.yml"))
    poller = DevicePoller(inventory.devices["P1-R1"], inventory.polling, session_factory=_StrayEnterSession)
    # The late prompts are there well before the first command's output.
    lab.router("P1-R1").faults = Faults(slow_seconds=0.1)
    try:
        snapshots = [poller.poll() for _ in range(2)]
        # And a stray prompt that comes after the pending input was dropped,
        # just ahead of the command's echo, never ends the command.
        lab.router("P1-R1").faults = Faults(slow_seconds=0.1, early_prompt=True)
        snapshots.append(poller.poll())
    finally:
        poller.close()
    for snapshot in snapshots:
        assert snapshot.up, snapshot.failures
        assert snapshot.version.hostname == "P1-R1"
        assert snapshot.redundancy_states.my_state.code == 8
        assert [group.group_name for group in snapshot.hsrp_groups] == ["BRANCH-5-TUNNEL"]
    assert "\nP1-R1#show version" in _raw(lab, inventory, "show version")


def _raw(lab: Lab, inventory, command: str) -> str:
    """What the early-prompt router prints for `command` (the fault is real)."""
    session = DeviceSession(inventory.devices["P1-R1"], inventory.polling)
    session.open(time.monotonic() + 5)
    try:
        return session.run(command, 5).replace("\r\n", "\n")
    finally:
        session.close()


def test_a_device_closed_mid_poll_is_not_logged_in_again(lab: Lab, tmp_path: Path) -> None:
    inventory = load_inventory(write_inventory(lab, tmp_path / "lab.yml"))
    poller = DevicePoller(inventory.devices["P1-R4"], inventory.polling)
    assert poller.poll().up
    lab.router("P1-R4").faults = Faults(slow_seconds=0.3)
    closer = threading.Timer(0.5, poller.close)  # removed from the inventory while it polls
    closer.start()
    snapshot = poller.poll()
    closer.join()
    assert not snapshot.up
    assert poller.sessions_opened == 1 and not poller.session_open
    assert "left the inventory" in snapshot.failures[-1].error
    assert "left the inventory" in poller.poll().results[0].error  # and never again


def test_routers_as_real_ones_behave_at_login(lab: Lab, tmp_path: Path) -> None:
    """Paging left on by AAA, a login at user EXEC with no enable secret,
    banners holding prompt characters and a refused `terminal width`: each
    reported as what it is, quickly, on its own device."""
    no_enable = {"credentials": {"username": lab.credentials.username, "password": lab.credentials.password}}
    inventory = load_inventory(
        write_inventory(lab, tmp_path / "lab.yml", overrides={"P1-R2": no_enable}, drop=("P2-R1", "P2-R2"))
    )
    lab.router("P1-R1").faults = Faults(refuse_terminal_length=True)
    banner = "\n#### P1-R9# authorised access only >>> P1-R9> all sessions are logged ####\nR7#\n"
    lab.router("P1-R4").faults = Faults(banner=banner, refuse_terminal_width=True)
    poller = Poller(inventory)
    try:
        started = time.monotonic()
        first = poller.poll_all()
        cycle = time.monotonic() - started
        second = poller.device("P1-R1").poll()
        paged_sessions = poller.device("P1-R1").sessions_opened
    finally:
        poller.close()

    # Paging: every long output stops at --More-- with no prompt after it;
    # spotted at once (not after the 2 s command timeout), the pager quit.
    paged = first["P1-R1"]
    assert cycle < 5 and paged.duration_seconds < 5
    paging = [r for r in paged.results if r.status is Status.PAGING]
    assert "show crypto ipsec sa" in {r.command for r in paging}  # the lab's outputs over 24 lines
    assert "terminal length 0" in paging[0].error and "authorization" in paging[0].error
    assert {r.status for r in paged.results} <= {Status.PAGING, Status.OK}
    # Short answers still parse, on the same session: the pager was left.
    assert paged.result("show redundancy inter-device").ok
    assert paged_sessions == 1 and not second.session_opened
    assert {r.status for r in second.results} <= {Status.PAGING, Status.OK}

    unprivileged = first["P1-R2"]
    assert {r.status for r in unprivileged.results} == {Status.PRIVILEGE}
    error = unprivileged.results[0].error
    assert "user EXEC (P1-R2>)" in error and "privilege 15" in error and "enable_secret" in error

    # A banner with '#' and '>' and a refused `terminal width` change nothing.
    assert first["P1-R4"].up, first["P1-R4"].failures
    assert first["P1-R4"].version.hostname == "P1-R4"
    assert all(first[name].up for name in ("P1-R5", "P1-R6", "P2-R4")), [first[n].failures for n in first]


@pytest.mark.parametrize(
    ("ending", "early_prompt"),
    [("\r", False), ("   ", False), ("\x1b[K", False), ("\x00\r \x08", False), (None, False), (None, True)],
    ids=["cr", "blanks", "ansi-erase", "nul-cr-backspace", "no-line-end", "no-line-end-after-a-stray-prompt"],
)
def test_bytes_after_the_last_line_end_before_the_prompt(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ending: str | None, early_prompt: bool
) -> None:
    """A device that prints something between its output's last line end and
    the prompt (a CR, blanks, an ANSI erase), or no line end at all, has its
    commands complete at once, not time out one by one; a stray prompt ahead
    of the echo still never passes for the end."""
    lab.router("P1-R5").faults = Faults(early_prompt=early_prompt)
    original = IosCli.handle

    def handle(self: IosCli, line: str) -> Reply:
        reply = original(self, line)
        if self.router.name != "P1-R5" or not line.startswith("show") or not reply.output.endswith("\n"):
            return reply
        output = reply.output.rstrip("\n") if ending is None else reply.output + ending
        return dataclasses.replace(reply, output=output)

    monkeypatch.setattr(IosCli, "handle", handle)
    inventory = load_inventory(write_inventory(lab, tmp_path / "lab.yml"))
    poller = DevicePoller(inventory.devices["P1-R5"], inventory.polling)
    try:
        snapshots = [poller.poll(), poller.poll()]  # the second on the same session: still in step
    finally:
        poller.close()
    for snapshot in snapshots:
        assert snapshot.up, snapshot.failures
        assert snapshot.version.hostname == "P1-R5"
        assert snapshot.active_sas_by_peer() == {"10.0.0.3": 2}
        # Well within the 2 s command timeout (a line end missing costs 0.2 s of quiet).
        assert all(result.duration_seconds < 1.0 for result in snapshot.results), snapshot.results
    assert not snapshots[1].session_opened


def test_a_devices_own_poll_timeout_sets_how_long_it_is_waited_for(tmp_path: Path) -> None:
    """The exporter's probes, poll_all and the schedule's stand-ins wait for
    each device's own poll timeout: the longest when it is longer."""
    path = tmp_path / "inventory.yml"
    path.write_text(
        "lab: true\ndefaults: {credentials: {username: lab, password: x}}\npolling: {poll_timeout: 10}\n"
        f"devices:\n  - {{name: R4, host: 127.0.0.1, port: {closed_port()}, role: branch}}\n"
        f"  - {{name: R5, host: 127.0.0.1, port: {closed_port()}, role: branch,\n"
        "      timeouts: {poll: 100, command: 7}}\n",
        encoding="utf-8",
    )
    poller = Poller(load_inventory(path))
    try:
        r4, r5 = poller.device("R4").settings, poller.device("R5").settings
        assert (r4.poll_timeout, r4.command_timeout) == (10, 20)
        assert (r5.poll_timeout, r5.command_timeout) == (100, 7)
        assert poller.longest_poll_seconds == 100 + 5  # and the grace past it
        session = poller.device("R5")._session
        assert session.settings is r5  # what the SSH session is opened and run with
    finally:
        poller.close()
