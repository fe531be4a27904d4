"""The simulated lab over real SSH: netmiko's unchanged cisco_ios driver,
every monitored command parsing, refusals, and each scenario's timeline."""

from __future__ import annotations

import asyncio
import random
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import ntc_templates
import paramiko
import pytest
import yaml
from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException, ReadTimeout
from ntc_templates.parse import parse_output as ntc_parse_output
from support.lab import Sampler, connect, in_order, sequence
from support.processes import closed_port
from support.waiting import wait_until

from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.lab.control import status
from ipsec_ha_monitor.lab.ios_cli import IosCli
from ipsec_ha_monitor.lab.outputs import SHOW_COMMANDS
from ipsec_ha_monitor.lab.rekey import MAX_WAIT_SECONDS, REKEY_SYNC_SECONDS, maintain_sas
from ipsec_ha_monitor.lab.router import Clock, Faults, Router
from ipsec_ha_monitor.lab.scenarios import (
    OPERATOR_RELOAD_LOG,
    RELOAD_LOOP_PAUSE_SECONDS,
    RELOAD_SECONDS,
    SCENARIOS,
    ScenarioContext,
)
from ipsec_ha_monitor.lab.topology import LabPair, build_pairs, lab_credentials
from ipsec_ha_monitor.parse import ParseError, parse_output
from ipsec_ha_monitor.parse.templates import index_template

pytestmark = pytest.mark.integration  # the lab over SSH, `lab` as a process

NTC_TEMPLATES = Path(ntc_templates.__file__).resolve().parent / "templates"

HUB_COMMANDS = [
    "show standby",
    "show standby brief",
    "show redundancy states",
    "show redundancy inter-device",
    "show redundancy",
    "show redundancy history",
    "show crypto ipsec sa",
    "show crypto isakmp sa",
    "show crypto ikev2 sa",
    "show crypto session",
    "show version",
]
BRANCH_COMMANDS = [
    "show crypto ipsec sa",
    "show crypto isakmp sa",
    "show crypto ikev2 sa",
    "show crypto session",
    "show version",
]
# Commands whose answer may hold no record here: no history yet, and no IKEv2
# SA (this lab's branches use IKEv1; tests/test_ikev2.py polls IKEv2 ones).
MAY_BE_EMPTY = ("show redundancy history", "show crypto ikev2 sa")


@pytest.fixture(scope="module")
def lab():
    lab = Lab(branches=2, time_scale=1)
    with LabThread(lab):
        yield lab


@pytest.mark.parametrize("name", ["R1", "R2", "R4"])
def test_netmiko_logs_in_enables_and_runs_every_monitored_command(lab: Lab, name: str) -> None:
    connection = connect(lab, name)
    try:
        assert connection.find_prompt() == f"{name}#"
        commands = HUB_COMMANDS if lab.router(name).role == "hub" else BRANCH_COMMANDS
        for command in commands:
            output = connection.send_command(command)
            records = parse_output(command, output)
            assert records or command in MAY_BE_EMPTY, command
            if command == "show crypto ikev2 sa":  # the section headers alone, as IOS prints no IKEv2 SA
                assert "IPv4 Crypto IKEv2  SA" in output and "IPv6 Crypto IKEv2  SA" in output
        invalid = connection.send_command("show frobnicate")
        assert "% Invalid input detected at '^' marker." in invalid
        assert invalid.splitlines()[0].index("^") == len(f"{name}#show ")
    finally:
        connection.disconnect()


def test_user_exec_needs_enable_for_redundancy(lab: Lab) -> None:
    connection = connect(lab, "R1")
    try:
        connection.exit_enable_mode()
        assert connection.find_prompt() == "R1>"
        assert "% Invalid input" in connection.send_command("show redundancy states")
        assert parse_output("show version", connection.send_command("show version"))
    finally:
        connection.disconnect()


def test_abbreviations_and_ambiguity(lab: Lab) -> None:
    connection = connect(lab, "R2")
    try:
        (states,) = parse_output("show redundancy states", connection.send_command("sh red sta"))
        assert states.my_state.code == 13
        assert [g.state for g in parse_output("show standby", connection.send_command("sh stand"))] == ["active"]
        assert "% Ambiguous command" in connection.send_command("show cr i sa")
        assert "% Incomplete command." in connection.send_command("show crypto")
    finally:
        connection.disconnect()


def test_configuration_commands_are_refused_and_change_nothing(lab: Lab) -> None:
    router = lab.router("R2")
    before = (router.hsrp[0].state, router.rf_my, router.reachable, router.boot_time)
    connection = connect(lab, "R2")
    try:
        for command in ("configure terminal", "conf t", "reload", "write memory", "clear crypto sa", "no standby 1"):
            output = connection.send_command(command, expect_string=r"R2[>#]")
            assert "runs only show, terminal, enable and exit commands" in output, command
        assert connection.find_prompt() == "R2#"  # never (config)#
    finally:
        connection.disconnect()
    assert (router.hsrp[0].state, router.rf_my, router.reachable, router.boot_time) == before
    assert "configure terminal" in router.commands_received


def test_wrong_password_and_wrong_secret(lab: Lab) -> None:
    with pytest.raises(NetmikoAuthenticationException):
        connect(lab, "R1", password="not-the-password")
    shell = _shell(lab, "R1")
    try:
        shell.send(b"enable\n")
        assert _read(shell).endswith(b"Password: ")
        for attempt in range(3):  # IOS asks three times, then gives up
            shell.send(b"wrong\n")
            answer = _read(shell)
            assert b"wrong" not in answer
            if attempt < 2:
                assert answer.endswith(b"Password: ")
        assert b"% Bad secrets" in answer and answer.endswith(b"R1>")
    finally:
        shell.close()


def _shell(lab: Lab, name: str):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(
        "127.0.0.1",
        port=lab.servers[name].port,
        username=lab.credentials.username,
        password=lab.credentials.password,
        look_for_keys=False,
        allow_agent=False,
        timeout=10,
    )
    shell = client.invoke_shell(term="vt100", width=80, height=24)
    shell.client = client  # keep the client alive with the channel
    _read(shell)
    return shell


# How the router's answer ends: a prompt at the start of a line, a password
# prompt, or the pager.
ANSWERED = re.compile(rb"(?:^|\n)[\w.-]+[>#]\s*$|Password: $| --More-- $")


def _read(shell, until: re.Pattern[bytes] = ANSWERED, timeout: float = 10.0) -> bytes:
    """What the router sends until it ends as `until` says."""
    data = bytearray()

    def answered() -> bool:
        while shell.recv_ready():
            data.extend(shell.recv(65536))
        return until.search(data) is not None

    wait_until(answered, timeout, f"an answer ending as {until.pattern!r}", 0.02, lambda: bytes(data[-300:]))
    return bytes(data)


def test_secret_typed_ahead_is_never_echoed(lab: Lab) -> None:
    shell = _shell(lab, "R2")
    try:
        shell.send(b"enable\n" + lab.credentials.enable_secret.encode() + b"\n")
        answer = _read(shell, until=re.compile(rb"R2#$"))
        assert lab.credentials.enable_secret.encode() not in answer
        assert answer.endswith(b"R2#")
    finally:
        shell.close()


def test_long_output_pages_unless_terminal_length_0(lab: Lab) -> None:
    shell = _shell(lab, "R2")
    try:
        shell.send(b"enable\n")
        _read(shell)
        shell.send(lab.credentials.enable_secret.encode() + b"\r\n")
        _read(shell)
        shell.send(b"show crypto ipsec sa\n")
        first = _read(shell)
        assert first.endswith(b" --More-- ") and first.count(b"\r\n") == 24  # echo line + 23 lines
        pages = [first]
        while not pages[-1].endswith(b"R2#"):
            shell.send(b" ")
            pages.append(_read(shell))
        assert len(pages) >= 3 and b"current_peer 172.16.0.5" in b"".join(pages)
        shell.send(b"terminal length 0\n")
        _read(shell)
        shell.send(b"show crypto ipsec sa\n")
        whole = _read(shell)
        assert b"--More--" not in whole and whole.endswith(b"R2#")
    finally:
        shell.close()


def test_exec_requests_run_at_user_privilege(lab: Lab) -> None:
    shell = _shell(lab, "R1")
    client = shell.client
    try:
        _, out, _ = client.exec_command("show version", timeout=10)
        assert b"R1 uptime is" in out.read()
        _, out, _ = client.exec_command("show crypto ipsec sa", timeout=10)
        assert b"% Invalid input detected" in out.read()
    finally:
        shell.close()
        client.close()


# ntc-templates' show redundancy stops on "Standby Location" in the current
# processor section, which a standby unit prints (it fails the same way on
# the public unicon ASR1k standby sample in tests/corpus).
NTC_KNOWN_GAPS = {("R1", "show redundancy")}


@pytest.mark.parametrize("name", ["R1", "R2", "R4"])
def test_every_lab_output_parses_with_ntc_templates_where_it_has_one(lab: Lab, name: str) -> None:
    connection = connect(lab, name)
    checked = []
    try:
        for words in SHOW_COMMANDS:
            command = " ".join(words)
            output = connection.send_command(command)
            # ntc's index matches prefixes: "show redundancy states" would get
            # its "show redundancy" template. Only its own template counts.
            if index_template(NTC_TEMPLATES, command) != f"cisco_ios_{command.replace(' ', '_')}.textfsm":
                continue
            if (name, command) in NTC_KNOWN_GAPS or not output.strip():
                continue
            assert ntc_parse_output(platform="cisco_ios", command=command, data=output), command
            checked.append(command)
    finally:
        connection.disconnect()
    assert {"show version", "show clock"} <= set(checked)
    if lab.router(name).role == "hub":
        assert {"show standby", "show standby brief"} <= set(checked)


def test_inventory_names_every_router_with_its_port(lab: Lab, tmp_path) -> None:
    path = lab.write_inventory(tmp_path / "lab.yml")
    assert path.stat().st_mode & 0o777 == 0o600
    inventory = yaml.safe_load(path.read_text())
    devices = {d["name"]: d for d in inventory["devices"]}
    assert set(devices) == {"R1", "R2", "R4", "R5"}
    assert devices["R1"]["port"] == lab.servers["R1"].port and devices["R1"]["pair"] == "HUB-PAIR-1"
    assert devices["R2"]["expected_peers"] == ["172.16.0.4", "172.16.0.5"]
    assert inventory["pairs"] == [{"name": "HUB-PAIR-1", "members": ["R1", "R2"]}]
    assert inventory["defaults"]["credentials"]["password"] == lab.credentials.password


# --- scenarios, observed over SSH --------------------------------------------


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_failover_timeline() -> None:
    lab = Lab(branches=1, time_scale=5)
    with LabThread(lab) as running, Sampler(lab, "R1", "172.16.0.4") as r1, Sampler(lab, "R2", "172.16.0.4") as r2:
        wait_until(lambda: r1.samples and r2.samples, what="a first sample of each hub")
        running.trigger("failover")
        # R2 must refuse SSH while it reloads (a reload takes 6 s at this time scale).
        wait_until(lambda: _refused(lab.servers["R2"].port), 30, "R2 refusing SSH while it reloads", interval=0.02)
        running.wait(timeout=60)
        # Observe the end state over SSH (a sampler may still be reconnecting).
        wait_until(lambda: any(s.reachable and s.uptime_seconds < 600 and s.rf_my == 8 for s in r2.samples))
        wait_until(lambda: r1.samples[-1].reachable and r1.samples[-1].rf_peer == 8)
        connection = connect(lab, "R2")
        try:
            history = parse_output("show redundancy history", connection.send_command("show redundancy history"))
        finally:
            connection.disconnect()
    assert not r1.parse_errors and not r2.parse_errors
    r2_up = [s for s in r2.samples if s.reachable]
    r1_up = [s for s in r1.samples if s.reachable]
    # R2: active with the SAs, gone, back with a fresh uptime as STANDBY HOT...
    assert r2_up[0].rf_my == 13 and r2_up[0].hsrp == "active" and r2_up[0].active_sas == 2
    assert any(not s.reachable for s in r2.samples)
    assert in_order(sequence([s.hsrp for s in r2_up]), ["active", "standby"])
    assert r2_up[-1].uptime_seconds < 600 and r2_up[-1].reload_reason == "reload"
    assert r2_up[-1].active_sas == 0  # standby copies only
    # ...having walked NEGOTIATION, STANDBY COLD, STANDBY COLD-BULK, STANDBY HOT.
    assert [event.my_state.code for event in history if event.my_state_changed] == [3, 4, 7, 8]
    assert in_order([s.rf_my for s in r2_up], [13, *sorted({s.rf_my for s in r2_up if s.rf_my in (3, 4, 7)}), 8])
    # R1: STANDBY HOT, then ACTIVE with peer DISABLED, then its peer is back HOT.
    assert (r1_up[0].rf_my, r1_up[0].rf_peer, r1_up[0].active_sas) == (8, 13, 0)
    assert in_order(sequence([(s.rf_my, s.rf_peer) for s in r1_up]), [(8, 13), (13, 1), (13, 8)])
    assert r1_up[-1].hsrp == "active" and r1_up[-1].active_sas == 2
    assert all(s.reachable for s in r1.samples)
    steps = [step for _, _, step in lab.timeline]
    assert steps[1].startswith("R2 Fa0/0 shut") and steps[-1] == "R2 STANDBY HOT: SAs synced"


def test_failover_leaves_the_reload_in_the_logs() -> None:
    lab = Lab(branches=1, time_scale=20)
    with LabThread(lab) as running:
        running.trigger("failover")
        running.wait(timeout=60)
        r1 = connect(lab, "R1")
        r2 = connect(lab, "R2")
        try:
            logging = r1.send_command("show logging")
            assert "%HSRP-5-STATECHANGE: FastEthernet0/0 Grp 1 state Standby -> Active" in logging
            r2_logging = r2.send_command("show logging")
            assert "%RF_INTERDEV-4-RELOAD: % RF induced self-reload." in r2_logging
            assert r2_logging.index("RF_INTERDEV-4-RELOAD") < r2_logging.index(
                "%SYS-5-RESTART", r2_logging.index("RF_INTERDEV")
            )
            history = parse_output("show redundancy history", r2.send_command("show redundancy history"))
            assert [e.my_state.code for e in history if e.my_state_changed] == [3, 4, 7, 8]
            (version,) = parse_output("show version", r2.send_command("show version"))
            assert version.uptime_seconds < 600 and version.returned_to_rom_by == "reload"
        finally:
            r1.disconnect()
            r2.disconnect()
    assert any(step == "R2 reloads: SSH refused" for _, _, step in lab.timeline)


def test_preempt_breaks_the_tunnels_until_renegotiation() -> None:
    lab = Lab(branches=1, time_scale=10)
    with LabThread(lab) as running, Sampler(lab, "R2", "172.16.0.4") as r2:
        wait_until(lambda: r2.samples, what="a first sample of R2")
        running.trigger("preempt")
        running.wait(timeout=90)
        ended = r2.now()
        wait_until(lambda: r2.sampled_since(ended), 30, "a sample of R2 once the scenario is over")
    up = [s for s in r2.samples if s.reachable]
    # Back from its reload, R2 takes HSRP active while RF is still negotiating...
    back = [s for s in up if s.uptime_seconds is not None and s.uptime_seconds < 300]
    assert any(s.hsrp == "active" and s.rf_my in (3, 4) for s in back) or any(
        s.hsrp == "active" and s.active_sas == 0 for s in back
    )
    # ...becomes RF ACTIVE with no SA toward the branch, then renegotiates.
    assert in_order(sequence([(s.rf_my, s.active_sas) for s in back]), [(13, 0), (13, 2)])
    r1_steps = [step for _, _, step in lab.timeline if step.startswith("R1 reloads")]
    assert r1_steps, "R1 must self-reload when R2 preempts"


@pytest.mark.parametrize(
    ("scenario", "check"),
    [
        ("simplex", "simplex"),
        ("split-brain", "split"),
        ("sa-loss", "sa"),
    ],
)
def test_instant_scenarios(scenario: str, check: str) -> None:
    lab = Lab(branches=2, time_scale=10)
    with LabThread(lab) as running:
        running.trigger(scenario)
        running.wait(timeout=30)
        r1, r2 = connect(lab, "R1"), connect(lab, "R2")
        try:
            states = {
                name: parse_output("show redundancy states", c.send_command("show redundancy states"))[0]
                for name, c in (("R1", r1), ("R2", r2))
            }
            groups = {
                name: parse_output("show standby", c.send_command("show standby"))[0]
                for name, c in (("R1", r1), ("R2", r2))
            }
            sas = parse_output("show crypto ipsec sa", r2.send_command("show crypto ipsec sa"))
            sessions = parse_output("show crypto session", r2.send_command("show crypto session"))
        finally:
            r1.disconnect()
            r2.disconnect()
    if check == "simplex":
        assert all(s.mode == "Simplex" and s.communications_up is False for s in states.values())
        assert states["R2"].peer_state.code == 1
    elif check == "split":
        assert groups["R1"].state == groups["R2"].state == "active"
        assert states["R2"].my_state.code == 13 and states["R1"].my_state.code == 8
    else:
        by_peer = {sa.peer: sa.active_esp_sa_count for sa in sas}
        assert by_peer == {"172.16.0.4": 0, "172.16.0.5": 2}
        assert {s.peer: s.status for s in sessions} == {"172.16.0.4": "DOWN-NEGOTIATING", "172.16.0.5": "UP-ACTIVE"}


def test_counters_grow_while_traffic_flows() -> None:
    lab = Lab(branches=1, time_scale=10)
    with LabThread(lab):
        connection = connect(lab, "R2")
        try:
            first = parse_output("show crypto ipsec sa", connection.send_command("show crypto ipsec sa"))[0]
            time.sleep(0.5)
            second = parse_output("show crypto ipsec sa", connection.send_command("show crypto ipsec sa"))[0]
        finally:
            connection.disconnect()
    assert second.pkts_encaps > first.pkts_encaps and second.pkts_decaps > first.pkts_decaps


def test_lab_command_line_runs_writes_inventory_and_takes_triggers(tmp_path) -> None:
    inventory = tmp_path / "lab.yml"
    control = f"127.0.0.1:{closed_port()}"
    command = [sys.executable, "-m", "ipsec_ha_monitor", "lab", "--time-scale", "30", "--control-address", control]
    process = subprocess.Popen([*command, "--write-inventory", str(inventory)], stdout=subprocess.PIPE, text=True)
    try:
        wait_until(inventory.exists, 30, "the lab's inventory file", interval=0.1)
        answer = subprocess.run(
            [sys.executable, "-m", "ipsec_ha_monitor", "lab", "trigger", "failover", "--control-address", control],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert answer.returncode == 0 and answer.stdout.startswith("ok: scenario failover"), answer
        bad = subprocess.run(
            [sys.executable, "-m", "ipsec_ha_monitor", "lab", "trigger", "meltdown", "--control-address", control],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert bad.returncode == 1 and "unknown scenario" in bad.stdout
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert process.returncode == 0


def test_scenarios_can_follow_each_other_and_pairs_are_independent() -> None:
    lab = Lab(pairs=2, branches=1, time_scale=40)
    with LabThread(lab) as running:
        running.trigger("failover", "HUB-PAIR-1")
        running.trigger("failover", "HUB-PAIR-2")
        running.wait(timeout=60)
        # Second failover from the new roles: P1-R1 is active now and fails.
        running.trigger("failover", "HUB-PAIR-1")
        running.wait(timeout=60)
        p1r1, p1r2 = lab.router("P1-R1"), lab.router("P1-R2")
        assert (p1r1.rf_my, p1r2.rf_my) == (8, 13) and p1r1.uptime_seconds() < p1r2.uptime_seconds()
        assert lab.router("P2-R1").rf_my == 13 and lab.router("P2-R2").rf_my == 8
        # Cancelling a scenario mid-reload brings the router back.
        running.trigger("failover", "HUB-PAIR-2")
        wait_until(lambda: not lab.router("P2-R1").reachable, 30, "P2-R1 reloading", interval=0.01)
        running.trigger("simplex", "HUB-PAIR-2")
        running.wait(timeout=60)
        assert all(router.reachable for router in lab.routers)
        # baseline restores working SAs after an SA loss.
        running.trigger("sa-loss", "HUB-PAIR-1")
        running.wait(timeout=30)
        running.trigger("baseline", "HUB-PAIR-1")
        running.wait(timeout=30)
        connection = connect(lab, "P1-R2")
        try:
            sas = parse_output("show crypto ipsec sa", connection.send_command("show crypto ipsec sa"))
            (states,) = parse_output("show redundancy states", connection.send_command("show redundancy states"))
        finally:
            connection.disconnect()
    assert [sa.active_esp_sa_count for sa in sas] == [2]
    assert (states.my_state.code, states.peer_state.code, states.duplex) == (13, 8, True)


# --- injected faults (for testing what polls the lab) --------------------------


@pytest.fixture
def faulty_lab():
    lab = Lab(branches=1, time_scale=1)
    with LabThread(lab):
        yield lab


def test_fault_no_prompt(faulty_lab: Lab) -> None:
    faulty_lab.router("R1").faults = Faults(no_prompt=True)
    started = time.monotonic()
    with pytest.raises(Exception) as caught:
        connect(faulty_lab, "R1", read_timeout_override=2)
    assert time.monotonic() - started < 30
    assert "R1#" not in str(caught.value)
    faulty_lab.router("R1").faults = Faults()
    connect(faulty_lab, "R1").disconnect()  # other sessions and later logins are fine


def test_fault_stall_mid_output(faulty_lab: Lab) -> None:
    connection = connect(faulty_lab, "R2", read_timeout_override=2)
    try:
        faulty_lab.router("R2").faults = Faults(stall_output=True)
        with pytest.raises(ReadTimeout):
            connection.send_command("show crypto ipsec sa", read_timeout=2)
    finally:
        faulty_lab.router("R2").faults = Faults()
        connection.disconnect()


def test_fault_garbage_and_missing_command(faulty_lab: Lab) -> None:
    connection = connect(faulty_lab, "R1")
    try:
        faulty_lab.router("R1").faults = Faults(missing_commands=frozenset({"show redundancy inter-device"}))
        missing = connection.send_command("show redundancy inter-device")
        assert "% Invalid input detected at '^' marker." in missing
        assert missing.splitlines()[0].index("^") == len("R1#show redundancy ")
        assert parse_output("show redundancy states", connection.send_command("show redundancy states"))
        faulty_lab.router("R1").faults = Faults(garbage=True)
        with pytest.raises(ParseError) as caught:
            parse_output("show redundancy states", connection.send_command("show redundancy states"))
        assert caught.value.kind == "no_match"
    finally:
        faulty_lab.router("R1").faults = Faults()
        connection.disconnect()


def test_fault_slow_device(faulty_lab: Lab) -> None:
    connection = connect(faulty_lab, "R4")
    try:
        faulty_lab.router("R4").faults = Faults(slow_seconds=1.0)
        started = time.monotonic()
        assert "uptime is" in connection.send_command("show version")
        assert time.monotonic() - started >= 1.0
    finally:
        faulty_lab.router("R4").faults = Faults()
        connection.disconnect()


def test_inter_device_output_has_the_real_routers_shape(lab: Lab) -> None:
    """The lab's R1 at baseline is the packetlife article's R1 (standby):
    its output is that real sample, line for line (no `Peer present:`)."""
    fixtures = Path(__file__).parent / "fixtures" / "cisco_ios"
    real = (fixtures / "show_redundancy_inter-device" / "packetlife_r1_standby.raw").read_text()
    real_lines = [line.rstrip() for line in real.splitlines() if line.strip() and not line.startswith("R1#")]
    rendered = SHOW_COMMANDS[("show", "redundancy", "inter-device")](lab.router("R1"))
    assert rendered.splitlines() == real_lines
    assert "Peer present" not in rendered
    # The remembered `Peer present:` line only as a deliberate variant, still parsed.
    lab.router("R1").interdev_peer_line = True
    try:
        variant = SHOW_COMMANDS[("show", "redundancy", "inter-device")](lab.router("R1"))
    finally:
        lab.router("R1").interdev_peer_line = False
    assert "  Peer present: RF_INTERDEV_PEER_COMM" in variant.splitlines()
    (record,) = parse_output("show redundancy inter-device", variant)
    assert record.group_name == "BRANCH-5-TUNNEL" and record.peer_communicating is True


def test_fault_aaa_refuses_terminal_commands_and_banner(faulty_lab: Lab) -> None:
    faulty_lab.router("R2").faults = Faults(
        refuse_terminal_length=True, refuse_terminal_width=True, banner="#### R9# keep out > now ####"
    )
    try:
        shell = _shell(faulty_lab, "R2")
        try:
            shell.send(b"terminal length 0\n")
            assert b"Command authorization failed." in _read(shell)
            shell.send(b"enable\n")
            _read(shell)
            shell.send(faulty_lab.credentials.enable_secret.encode() + b"\r\n")
            _read(shell)
            shell.send(b"show crypto ipsec sa\n")
            assert _read(shell).endswith(b" --More-- ")  # paging stayed on
            shell.send(b"q")
            assert _read(shell).rstrip().endswith(b"R2#")  # a single q leaves the pager, as on IOS
        finally:
            shell.close()
        connection = connect(faulty_lab, "R2")  # netmiko finds the prompt past the banner
        try:
            assert connection.find_prompt() == "R2#"
        finally:
            connection.disconnect()
    finally:
        faulty_lab.router("R2").faults = Faults()


# --- output filters: `show ... | include` -------------------------------------

LOG_FILTER = "show logging | include RELOAD|RESTART"  # what the monitor polls
RF_SELF_RELOAD_OF_STANDBY = (
    "%RF_INTERDEV-4-RELOAD: % RF induced self-reload. my state = STANDBY HOT peer state = ACTIVE"
)
RESTART = "%SYS-5-RESTART: System restarted --"


def _enabled_cli(router: Router) -> IosCli:
    cli = IosCli(router)
    cli.handle("enable")
    cli.handle(router.credentials.enable_secret)
    assert cli.prompt.endswith("#")
    return cli


def _messages(output: str) -> list[str]:
    """The log messages of `show logging` lines, time stamps left out."""
    return [line[line.index("%") :] for line in output.splitlines() if "%" in line]


def test_output_filters_include_exclude_begin() -> None:
    (pair,) = build_pairs(1, 1, lab_credentials(), Clock(1.0))
    r1 = pair.r1
    r1.syslog(OPERATOR_RELOAD_LOG)
    cli = _enabled_cli(r1)
    whole = SHOW_COMMANDS[("show", "logging")](r1).splitlines()
    assert len(whole) == 10  # 7 header lines and 3 messages
    included = cli.handle(LOG_FILTER).output
    assert included.splitlines() == [line for line in whole if re.search("RELOAD|RESTART", line)]
    assert _messages(included) == [RESTART, OPERATOR_RELOAD_LOG]
    assert cli.handle("sh log | i RELOAD|RESTART").output == included  # abbreviations, as IOS takes them
    # The rest of the line is the regular expression, spaces and all.
    hsrp = cli.handle("show logging | inc Grp 1 state Init -> ").output.splitlines()
    assert hsrp and all("Grp 1 state Init -> " in line for line in hsrp)
    assert cli.handle("show logging | include NO-SUCH-MESSAGE").output == ""
    excluded = cli.handle("show version | exclude ^$|Cisco").output.splitlines()
    assert excluded and not any(line == "" or "Cisco" in line for line in excluded)
    assert any(line.startswith("R1 uptime is") for line in excluded)
    begun = cli.handle("show redundancy states | begin Communications").output.splitlines()
    assert begun[0].startswith(" Communications = Up") and "my state" not in "".join(begun)
    # Errors as IOS words them, and nothing runs.
    assert cli.handle("show logging | include (").output.startswith("% Invalid regular expression")
    assert cli.handle("show logging |").output == "% Incomplete command.\n"
    assert cli.handle("show logging | include").output == "% Incomplete command.\n"
    unknown = cli.handle("show logging | frobnicate x").output
    assert "% Invalid input detected at '^' marker." in unknown
    assert unknown.splitlines()[0].index("^") == len("R1#show logging | ")
    not_a_show = cli.handle("terminal length 0 | include x").output
    assert not_a_show.splitlines()[0].index("^") == len("R1#terminal length 0 ")
    # An image without the base command refuses the filtered one the same way.
    r1.faults = Faults(missing_commands=frozenset({"show logging"}))
    missing = cli.handle(LOG_FILTER).output
    assert missing.splitlines()[0].index("^") == len("R1#show ") and "% Invalid input" in missing


def test_output_filters_at_user_exec_only_where_the_show_is_allowed() -> None:
    (pair,) = build_pairs(1, 1, lab_credentials(), Clock(1.0))
    cli = IosCli(pair.r2)
    assert cli.prompt == "R2>"
    assert cli.handle("show version | include uptime").output.startswith("R2 uptime is 3 weeks")
    assert "% Invalid input detected" in cli.handle(LOG_FILTER).output


def test_filtered_log_over_ssh(lab: Lab) -> None:
    connection = connect(lab, "R1")
    try:
        output = connection.send_command(LOG_FILTER)
        uptime = connection.send_command("show version | include uptime")
    finally:
        connection.disconnect()
    assert _messages(output) == [RESTART]  # the boot three weeks ago
    assert output.strip().count("\n") == 0
    assert uptime.startswith("R1 uptime is")


# --- rekeys: the active SAs renew each lifetime, the standby's copies follow ---


class ManualClock(Clock):
    """Lab time that moves only when a test says so."""

    def __init__(self) -> None:
        super().__init__()
        self.at = 0.0

    def now(self) -> float:
        return self.at


def _ipsec(router: Router) -> list:
    return parse_output("show crypto ipsec sa", SHOW_COMMANDS[("show", "crypto", "ipsec", "sa")](router))


def _standby_copies(records: list) -> dict[str, int]:
    """STANDBY ESP SAs (inbound + outbound) per peer, as `show crypto ipsec sa` shows them."""
    return {sa.peer: sum(esp.status == "STANDBY" for esp in (*sa.inbound_esp, *sa.outbound_esp)) for sa in records}


def _spis(records: list) -> dict[str, tuple[str, ...]]:
    return {sa.peer: tuple(esp.spi for esp in (*sa.inbound_esp, *sa.outbound_esp)) for sa in records}


def _copies_shown(router: Router) -> dict[str, str]:
    """Per peer: the ISAKMP status column and the crypto session status."""
    isakmp = parse_output("show crypto isakmp sa", SHOW_COMMANDS[("show", "crypto", "isakmp", "sa")](router))
    sessions = parse_output("show crypto session", SHOW_COMMANDS[("show", "crypto", "session")](router))
    by_peer = {row.src: str(row.status) for row in isakmp}
    return {s.peer: f"{by_peer.get(s.peer)}/{s.status}" for s in sessions}


def _play(pair: LabPair, scenario: str) -> list[str]:
    """Play a scenario on router state alone: no SSH, no waiting (sleeps are instant)."""
    notes: list[str] = []

    async def sleep(seconds: float) -> None:
        pass

    async def set_reachable(router: Router, reachable: bool) -> None:
        router.reachable = reachable

    async def set_management(router: Router, up: bool) -> None:
        router.management_cut = not up

    asyncio.run(SCENARIOS[scenario](ScenarioContext(pair, sleep, set_reachable, set_management, notes.append)))
    return notes


def test_rekey_renews_the_sas_and_the_standby_keeps_its_copies_until_synced() -> None:
    clock, rng = ManualClock(), random.Random(12)
    (pair,) = build_pairs(1, 2, lab_credentials(), clock, sa_lifetime=100)
    active, standby = pair.r2, pair.r1
    peers = {"172.16.0.4", "172.16.0.5"}
    both_copies = dict.fromkeys(peers, 2)
    first = _spis(_ipsec(active))
    assert _spis(_ipsec(standby)) == first and _standby_copies(_ipsec(standby)) == both_copies

    clock.at = 99.0  # within the lifetime: nothing changes, the next look is at its end
    assert maintain_sas(pair, clock.at, rng) == 100.0
    assert _spis(_ipsec(active)) == first and _ipsec(active)[0].pkts_encaps == 1980

    clock.at = 100.5  # the rekey: new SPIs on the active hub and the branch, counters from zero
    assert maintain_sas(pair, clock.at, rng) == 100.5 + REKEY_SYNC_SECONDS
    second = _spis(_ipsec(active))
    assert all(set(second[peer]).isdisjoint(first[peer]) for peer in peers)
    (branch,) = _ipsec(pair.branches[0])
    assert set(branch.inbound_esp[0].spi + branch.outbound_esp[0].spi) == set("".join(second["172.16.0.4"]))
    assert all(sa.active_esp_sa_count == 2 for sa in _ipsec(active))
    assert all(esp.lifetime_seconds == 100 for esp in _ipsec(active)[0].inbound_esp)

    clock.at = 100.5 + REKEY_SYNC_SECONDS - 0.1  # the sync window: the standby shows the previous copies
    maintain_sas(pair, clock.at, rng)
    assert _ipsec(active)[0].pkts_encaps == int(20 * (REKEY_SYNC_SECONDS - 0.1))
    window = _ipsec(standby)
    assert _spis(window) == first and _standby_copies(window) == both_copies
    assert _copies_shown(standby) == dict.fromkeys(peers, "STDBY/UP-STANDBY")

    clock.at = 100.5 + REKEY_SYNC_SECONDS  # synced: the copies are the new SAs
    assert maintain_sas(pair, clock.at, rng) == min(200.5, clock.at + MAX_WAIT_SECONDS)  # the next rekey
    synced = _ipsec(standby)
    assert _spis(synced) == second and _standby_copies(synced) == both_copies
    assert all(sa.active_esp_sa_count == 0 and sa.pkts_encaps == 0 for sa in synced)
    assert _copies_shown(standby) == dict.fromkeys(peers, "STDBY/UP-STANDBY")
    assert _copies_shown(active) == dict.fromkeys(peers, "ACTIVE/UP-ACTIVE")


def test_rekey_after_sync_loss_brings_no_copies_back_until_baseline() -> None:
    clock, rng = ManualClock(), random.Random(12)
    (pair,) = build_pairs(1, 2, lab_credentials(), clock, sa_lifetime=100)
    active, standby = pair.r2, pair.r1
    clock.at = 10.0
    assert _play(pair, "sync-loss") == ["SA sync lost: R1 STANDBY HOT without SA copies"]
    assert (standby.rf_my, standby.rf_peer, standby.communications_up) == (8, 13, True)
    assert _standby_copies(_ipsec(standby)) == {"172.16.0.4": 0, "172.16.0.5": 0}
    before = _spis(_ipsec(active))
    for clock.at in (100.0, 100.0 + REKEY_SYNC_SECONDS, 200.0, 250.0):  # two rekeys, and long after
        maintain_sas(pair, clock.at, rng)
        assert _standby_copies(_ipsec(standby)) == {"172.16.0.4": 0, "172.16.0.5": 0}
        assert all(sa.active_esp_sa_count == 2 for sa in _ipsec(active))
    assert _spis(_ipsec(active)) != before
    # A reload of the standby does not bring them back either...
    _play(pair, "standby-reload")
    assert standby.rf_my == 8 and _standby_copies(_ipsec(standby)) == {"172.16.0.4": 0, "172.16.0.5": 0}
    # ...baseline does, and later rekeys reach the standby again.
    _play(pair, "baseline")
    assert _standby_copies(_ipsec(standby)) == {"172.16.0.4": 2, "172.16.0.5": 2}
    clock.at = 400.0
    maintain_sas(pair, clock.at, rng)
    clock.at += REKEY_SYNC_SECONDS
    maintain_sas(pair, clock.at, rng)
    assert _spis(_ipsec(standby)) == _spis(_ipsec(active))


def test_rekeys_over_ssh_never_leave_the_standby_without_copies() -> None:
    lab = Lab(branches=2, time_scale=10, sa_lifetime=10)  # a rekey every real second
    both_copies = {"172.16.0.4": 2, "172.16.0.5": 2}
    with LabThread(lab):
        r1, r2 = connect(lab, "R1"), connect(lab, "R2")
        active_spis, standby_spis, copies = [], [], []
        try:
            deadline = time.monotonic() + 4.5
            while time.monotonic() < deadline:
                standby = parse_output("show crypto ipsec sa", r1.send_command("show crypto ipsec sa"))
                active = parse_output("show crypto ipsec sa", r2.send_command("show crypto ipsec sa"))
                copies.append(_standby_copies(standby))
                standby_spis.append(_spis(standby))
                active_spis.append(_spis(active))
                assert all(sa.active_esp_sa_count == 2 for sa in active)
        finally:
            r1.disconnect()
            r2.disconnect()
    assert len(copies) >= 10 and all(c == both_copies for c in copies), copies
    distinct_active = sequence(active_spis)
    assert len(distinct_active) >= 4  # rekeyed at least three times
    distinct_standby = sequence(standby_spis)
    assert len(distinct_standby) >= 3  # the copies followed...
    assert all(spis in distinct_active for spis in distinct_standby)  # ...and were always the active's SAs


def test_sa_lifetime_must_outlast_the_sync() -> None:
    with pytest.raises(ValueError, match="sa_lifetime"):
        Lab(sa_lifetime=REKEY_SYNC_SECONDS)


# --- issue 12 scenarios, observed over SSH --------------------------------------


def _states(connection) -> object:
    (states,) = parse_output("show redundancy states", connection.send_command("show redundancy states"))
    return states


def test_standby_reload_self_reloads_without_switchover() -> None:
    lab = Lab(branches=2, time_scale=10)
    both_copies = {"172.16.0.4": 2, "172.16.0.5": 2}
    with LabThread(lab) as running:
        running.trigger("standby-reload")
        wait_until(lambda: _refused(lab.servers["R1"].port), 10, "R1 refusing SSH while it reloads", interval=0.02)
        r2 = connect(lab, "R2")  # meanwhile R2 carries on alone: no switchover
        try:
            alone = _states(r2)
            (group,) = parse_output("show standby", r2.send_command("show standby"))
            switchovers = r2.send_command("show redundancy | include Switchovers")
        finally:
            r2.disconnect()
        assert (alone.my_state.code, alone.peer_state.code, alone.mode) == (13, 1, "Simplex")
        assert group.state == "active" and switchovers.strip() == "Switchovers system experienced = 0"
        assert _refused(lab.servers["R1"].port)
        running.wait(timeout=30)
        r1, r2 = connect(lab, "R1"), connect(lab, "R2")
        try:
            r1_states, r2_states = _states(r1), _states(r2)
            copies = _standby_copies(parse_output("show crypto ipsec sa", r1.send_command("show crypto ipsec sa")))
            active = parse_output("show crypto ipsec sa", r2.send_command("show crypto ipsec sa"))
            r1_log, r2_log = r1.send_command(LOG_FILTER), r2.send_command(LOG_FILTER)
            (r1_version,) = parse_output("show version", r1.send_command("show version"))
            (r2_version,) = parse_output("show version", r2.send_command("show version"))
        finally:
            r1.disconnect()
            r2.disconnect()
    assert (r1_states.my_state.code, r1_states.peer_state.code, r1_states.communications_up) == (8, 13, True)
    assert (r2_states.my_state.code, r2_states.peer_state.code) == (13, 8)
    assert copies == both_copies and all(sa.active_esp_sa_count == 2 for sa in active)
    assert _messages(r1_log) == [RESTART, RF_SELF_RELOAD_OF_STANDBY, RESTART]
    assert "RF_INTERDEV" not in r2_log and "SYS-5-RELOAD" not in r2_log  # R2 never reloaded
    assert r1_version.uptime_seconds < 600 and r1_version.returned_to_rom_by == "reload"
    assert r2_version.uptime_seconds > 7 * 86400
    at = {step: when for when, _, step in lab.timeline}
    assert at["R1 is back (uptime reset, last reload: reload)"] - at["R1 reloads: SSH refused"] >= RELOAD_SECONDS
    assert list(at)[-1] == "R1 STANDBY HOT: SAs synced"


def test_reload_loop_reloads_the_standby_three_times() -> None:
    lab = Lab(branches=1, time_scale=40)
    with LabThread(lab) as running:
        running.trigger("reload-loop")
        wait_until(lambda: _refused(lab.servers["R1"].port), 10, "R1 refusing SSH", interval=0.01)
        running.wait(timeout=60)
        r1 = connect(lab, "R1")
        try:
            states = _states(r1)
            copies = _standby_copies(parse_output("show crypto ipsec sa", r1.send_command("show crypto ipsec sa")))
            log = r1.send_command(LOG_FILTER)
        finally:
            r1.disconnect()
    assert (states.my_state.code, states.peer_state.code) == (8, 13) and copies == {"172.16.0.4": 2}
    assert _messages(log) == [RESTART, *[OPERATOR_RELOAD_LOG, RESTART] * 3]
    assert lab.router("R2").switchovers == 0 and lab.router("R2").uptime_seconds() > 7 * 86400
    steps = [(when, step) for when, _, step in lab.timeline]
    reloads = [when for when, step in steps if step == "R1 reloads: SSH refused"]
    hot = [when for when, step in steps if step == "R1 STANDBY HOT: SAs synced"]
    assert len(reloads) == len(hot) == 3
    # Each reload waits for the previous one to end STANDBY HOT (and a pause).
    assert all(hot[k] + RELOAD_LOOP_PAUSE_SECONDS <= reloads[k + 1] for k in range(2))
    assert all(reloads[k] + RELOAD_SECONDS <= hot[k] for k in range(3))


def test_sync_loss_leaves_the_standby_hot_without_copies_until_baseline() -> None:
    lab = Lab(branches=2, time_scale=10, sa_lifetime=10)
    none = {"172.16.0.4": 0, "172.16.0.5": 0}
    with LabThread(lab) as running:
        running.trigger("sync-loss")
        running.wait(timeout=10)
        r1, r2 = connect(lab, "R1"), connect(lab, "R2")
        try:
            states = _states(r1)
            sessions = parse_output("show crypto session", r1.send_command("show crypto session"))
            isakmp = r1.send_command("show crypto isakmp sa")
            active_spis, copies = [], []
            deadline = time.monotonic() + 2.5  # two rekeys and more
            while time.monotonic() < deadline:
                copies.append(
                    _standby_copies(parse_output("show crypto ipsec sa", r1.send_command("show crypto ipsec sa")))
                )
                active_spis.append(_spis(parse_output("show crypto ipsec sa", r2.send_command("show crypto ipsec sa"))))
            running.trigger("baseline")
            running.wait(timeout=10)
            restored = _standby_copies(parse_output("show crypto ipsec sa", r1.send_command("show crypto ipsec sa")))
        finally:
            r1.disconnect()
            r2.disconnect()
    assert (states.my_state.code, states.peer_state.code, states.duplex, states.communications_up) == (
        8,
        13,
        True,
        True,
    )
    assert not any(s.status == "UP-STANDBY" for s in sessions) and "STDBY" not in isakmp
    assert len(sequence(active_spis)) >= 3 and all(c == none for c in copies), copies
    assert restored == {"172.16.0.4": 2, "172.16.0.5": 2}


def test_active_unreachable_cuts_only_ssh_until_baseline() -> None:
    lab = Lab(branches=1, time_scale=10)
    with LabThread(lab) as running:
        running.trigger("active-unreachable")
        running.wait(timeout=10)
        r2 = lab.router("R2")
        assert _refused(lab.servers["R2"].port)
        with pytest.raises(NetmikoTimeoutException, match="TCP connection to device failed"):
            connect(lab, "R2", conn_timeout=2)
        # RF, HSRP and the SAs carry on; the standby still sees its peer ACTIVE.
        assert (r2.rf_my, r2.hsrp[0].state, r2.tunnels["172.16.0.4"].status) == (13, "active", "ACTIVE")
        assert {row["device"]: row["reachable"] for row in status(lab)} == {
            "R1": True,
            "R2": False,
            "R4": True,
        }
        r1 = connect(lab, "R1")
        try:
            states = _states(r1)
            copies = _standby_copies(parse_output("show crypto ipsec sa", r1.send_command("show crypto ipsec sa")))
        finally:
            r1.disconnect()
        assert (states.my_state.code, states.peer_state.code, states.communications_up) == (8, 13, True)
        assert copies == {"172.16.0.4": 2}
        time.sleep(0.5)
        assert _refused(lab.servers["R2"].port)  # it stays cut
        running.trigger("baseline")
        running.wait(timeout=10)
        connection = connect(lab, "R2")
        try:
            back = _states(connection)
        finally:
            connection.disconnect()
    assert (back.my_state.code, back.peer_state.code) == (13, 8)


@pytest.mark.parametrize("scenario", ["sync-loss", "standby-reload", "reload-loop", "active-unreachable"])
def test_new_scenarios_decline_without_a_stable_pair(scenario: str) -> None:
    (pair,) = build_pairs(1, 1, lab_credentials(), ManualClock())
    _play(pair, "simplex")
    before = [(hub.rf_my, hub.reachable, hub.management_cut, hub.boot_time) for hub in pair.hubs]
    notes = _play(pair, scenario)
    assert notes == [f"{scenario} declined: no hub is RF ACTIVE with a STANDBY HOT peer (trigger baseline first)"]
    assert [(hub.rf_my, hub.reachable, hub.management_cut, hub.boot_time) for hub in pair.hubs] == before
    assert pair.sa_sync
