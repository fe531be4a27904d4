"""The lab's IOS-XE box-to-box pair: netmiko's cisco_xe driver over real
SSH, every polled output parsing on cisco_xe, the commands each platform
refuses, and each xe-... scenario's walk seen through parsed records."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.lab import connect, in_order, sequence

from ipsec_ha_monitor.inventory import B2B, load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.lab.control import serve_control
from ipsec_ha_monitor.lab.ios_cli import SHOWS_BY_PLATFORM
from ipsec_ha_monitor.lab.router import Faults, Router
from ipsec_ha_monitor.lab.xe_scenarios import LOWERED_PRIORITY, RG_RELOAD_REASON, XE_SCENARIOS
from ipsec_ha_monitor.lab.xe_topology import FAILOVER_THRESHOLD
from ipsec_ha_monitor.parse import parse_output
from ipsec_ha_monitor.poll.commands import B2B_HUB_COMMANDS, typed
from ipsec_ha_monitor.records import RedundancyGroup, RgInterface, Version

pytestmark = pytest.mark.integration  # the lab over SSH

XE = "cisco_xe"
PAIR = "XE-PAIR-1"
RG_COMMANDS = ("show redundancy application group all", "show redundancy application if-mgr group")


@pytest.fixture(scope="module")
def lab() -> Any:
    # 200 lab seconds per real second, each step at least 0.12 s: a 30 s
    # reload and the 10 s Init wait each stay visible for several samples.
    with LabThread(
        Lab(pairs=1, branches=2, ikev2_branches=1, xe_pairs=1, time_scale=200, min_step_seconds=0.12)
    ) as running:
        yield running


def _render(router: Router, command: str) -> str:
    return SHOWS_BY_PLATFORM[router.platform][tuple(command.split())](router)


def _every_output_parses(router: Router) -> dict[str, list[Any]]:
    """Each polled command of a b2b hub, rendered from the router's state and parsed on cisco_xe."""
    return {command: parse_output(command, _render(router, command), XE) for command in B2B_HUB_COMMANDS}


def _group(router: Router) -> RedundancyGroup:
    (group,) = parse_output(RG_COMMANDS[0], _render(router, RG_COMMANDS[0]), XE)
    assert isinstance(group, RedundancyGroup)
    return group


def _vips(router: Router) -> list[RgInterface]:
    return [r for r in parse_output(RG_COMMANDS[1], _render(router, RG_COMMANDS[1]), XE) if isinstance(r, RgInterface)]


def _version(router: Router) -> Version:
    (version,) = parse_output("show version", _render(router, "show version"), XE)
    assert isinstance(version, Version)
    return version


Probe = Callable[[Router], object]


def play(lab: LabThread, scenario: str, probes: dict[str, Probe], timeout: float = 20.0) -> dict[str, list[object]]:
    """Plays `scenario` on the XE pair from xe-baseline, sampling each
    member every 5 ms in the lab's loop (None while it is down); every
    output of a running member parses on cisco_xe at every sample."""

    async def run() -> dict[str, list[object]]:
        await lab.lab.trigger("xe-baseline", PAIR)
        task = lab.lab.trigger(scenario, PAIR)
        seen: dict[str, list[object]] = {name: [] for name in probes}
        while True:
            done = task.done()
            for name, probe in probes.items():
                router = lab.lab.router(name)
                if router.reachable:
                    _every_output_parses(router)
                seen[name].append(probe(router) if router.reachable else None)
            if done:
                break
            await asyncio.sleep(0.005)
        await task
        return seen

    result: dict[str, list[object]] = lab.run(run(), timeout)
    return result


def _rf(router: Router) -> tuple[int | None, int | None]:
    group = _group(router)
    return (
        group.rf_state.code if group.rf_state else None,
        group.peer_rf_state.code if group.peer_rf_state else None,
    )


def _up(values: list[object]) -> list[object]:
    return [value for value in values if value is not None]


# --- over SSH -------------------------------------------------------------


def test_netmiko_cisco_xe_drives_an_xe_member(lab: LabThread) -> None:
    connection = connect(lab.lab, "XE1", device_type="cisco_xe")
    try:
        assert connection.find_prompt() == "XE1#"
        assert connection.send_command("terminal length 0").strip() == ""
        for command in B2B_HUB_COMMANDS:
            line = typed(command)
            records = parse_output(command, connection.send_command(line), XE, filtered="|" in line)
            assert records, command
        (version,) = parse_output("show version", connection.send_command("show version"), XE)
        assert isinstance(version, Version) and version.hostname == "XE1" and version.software_version == "17.9.4a"
        (group,) = parse_output(RG_COMMANDS[0], connection.send_command("sh red app g all"), XE)
        assert isinstance(group, RedundancyGroup)
        assert (group.my_role, group.peer_role, group.runtime_priority) == ("ACTIVE", "STANDBY", 150)
        table = parse_output("show redundancy application group", connection.send_command("sh red applic gr"), XE)
        assert [(row.group_id, row.state) for row in table] == [(1, "ACTIVE")]  # type: ignore[attr-defined]
        vips = parse_output(RG_COMMANDS[1], connection.send_command("show red app if-mgr group"), XE)
        assert [vip.shut for vip in vips] == [False, False]  # type: ignore[attr-defined]
        for classic in ("show standby", "show standby brief", "show redundancy inter-device"):
            assert "% Invalid input" in connection.send_command(classic), classic
    finally:
        connection.disconnect()


def test_a_classic_router_refuses_the_group_commands(lab: LabThread) -> None:
    connection = connect(lab.lab, "R1")
    try:
        for command in (*RG_COMMANDS, "show redundancy application group"):
            answer = connection.send_command(command)
            assert "% Invalid input detected at '^' marker." in answer, command
            assert answer.splitlines()[0].index("^") == len("R1#show redundancy ")
    finally:
        connection.disconnect()


def test_an_image_without_redundancy_groups_refuses_their_commands(lab: LabThread) -> None:
    router = lab.lab.router("XE2")
    router.faults = Faults(missing_commands=frozenset(RG_COMMANDS))
    connection = connect(lab.lab, "XE2", device_type="cisco_xe")
    try:
        for command in RG_COMMANDS:
            assert "% Invalid input" in connection.send_command(command), command
        assert parse_output("show version", connection.send_command("show version"), XE)
    finally:
        connection.disconnect()
        router.faults = Faults()


# --- the lab's inventory and controls ---------------------------------------


def test_the_inventory_lists_the_xe_pair_as_b2b(lab: LabThread, tmp_path: Path) -> None:
    inventory = load_inventory(lab.lab.write_inventory(tmp_path / "lab.yml"))
    pair = inventory.pairs[PAIR]
    assert pair.mode == B2B and pair.members == ("XE1", "XE2")
    assert [(group.id, group.failover_threshold) for group in pair.groups] == [(1, FAILOVER_THRESHOLD)]
    devices = inventory.devices
    assert devices["XE1"].platform == XE and devices["XE1"].pair_mode == B2B
    assert devices["R1"].platform == "cisco_ios" and devices["XE-R4"].platform == "cisco_ios"


def test_scenarios_play_on_their_kind_of_pair_only(lab: LabThread) -> None:
    async def attempts() -> list[str]:
        errors = []
        for scenario, pair in (("failover", PAIR), ("xe-failover-fault", "HUB-PAIR-1")):
            try:
                lab.lab.trigger(scenario, pair)
            except ValueError as exc:
                errors.append(str(exc))
        # Without a pair named, each kind goes to the first pair of its kind.
        assert lab.lab.scenario_pair("xe-track-down", None).name == PAIR
        assert lab.lab.scenario_pair("failover", None).name == "HUB-PAIR-1"
        server = await serve_control(lab.lab, ("127.0.0.1", 0))
        port = server.sockets[0].getsockname()[1]
        answers = []
        for line in (f"trigger failover {PAIR}", "trigger xe-baseline"):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(line.encode() + b"\n")
            answers.append((await reader.readline()).decode().strip())
            writer.close()
        server.close()
        await lab.lab.wait()
        return errors + answers

    bad_classic, bad_xe, control_refusal, control_ok = lab.run(attempts())
    assert bad_classic == f"scenario failover cannot play on {PAIR}: it is an IOS-XE box-to-box pair (xe-... scenarios)"
    assert bad_xe == "scenario xe-failover-fault cannot play on HUB-PAIR-1: it is a classic pair"
    assert control_refusal.startswith("error: scenario failover cannot play on XE-PAIR-1")
    assert control_ok == f"ok: scenario xe-baseline started on {PAIR}"


def test_a_lab_without_xe_pairs_refuses_xe_scenarios() -> None:
    lab = Lab(pairs=1, branches=0)
    assert all(router.platform == "cisco_ios" for router in lab.routers)
    with pytest.raises(ValueError, match="has none"):
        lab.scenario_pair("xe-baseline", None)


# --- the scenarios' walks ---------------------------------------------------


def test_xe_standby_reload_walks_init_cold_hot(lab: LabThread) -> None:
    before = _group(lab.lab.router("XE2")).reload_requests_local or 0
    seen = play(lab, "xe-standby-reload", {"XE1": _rf, "XE2": _rf})
    standby = [code for code, _ in _up(seen["XE2"])]  # type: ignore[misc]
    assert None in seen["XE2"]  # down while it reloads: SSH refused
    assert sequence(standby) == [8, 2, 4, 8]
    assert in_order(sequence([peer for _, peer in _up(seen["XE1"])]), [8, 1, 2, 4, 8])  # type: ignore[misc]
    xe2 = lab.lab.router("XE2")
    group = _group(xe2)
    assert (group.my_role, group.reload_requests_local) == ("STANDBY", before + 1)  # kept across the reload
    assert _version(xe2).reload_reason == RG_RELOAD_REASON
    assert _version(xe2).uptime_seconds is not None and _version(xe2).uptime_seconds < 300


def test_xe_failover_fault_switches_over_and_the_group_reloads_the_faulted_box(lab: LabThread) -> None:
    def probe(router: Router) -> tuple[str, bool | None, int | None]:
        group = _group(router)
        return group.my_role, group.faults_up, group.fault_switchovers

    before = _group(lab.lab.router("XE1"))
    seen = play(lab, "xe-failover-fault", {"XE1": probe, "XE2": probe})
    assert ("INIT", False, 1) in seen["XE1"]  # faulted: the fault switchover counted
    assert in_order(sequence([role for role, _, _ in _up(seen["XE1"])]), ["ACTIVE", "INIT", "STANDBY"])  # type: ignore[misc]
    assert None in seen["XE1"]
    assert sequence([role for role, _, _ in _up(seen["XE2"])]) == ["STANDBY", "ACTIVE"]  # type: ignore[misc]
    xe1, xe2 = _group(lab.lab.router("XE1")), _group(lab.lab.router("XE2"))
    assert xe1.reload_requests_local == (before.reload_requests_local or 0) + 1
    assert xe2.role_changes_to_active == 1 and xe2.peer_rf_state and xe2.peer_rf_state.code == 8
    assert [vip.shut for vip in _vips(lab.lab.router("XE2"))] == [False, False]
    assert [vip.shut for vip in _vips(lab.lab.router("XE1"))] == [True, True]
    # The SAs moved with the role: the branches' tunnels stay on the new active.
    (sas,) = [parse_output("show crypto ipsec sa", _render(lab.lab.router("XE2"), "show crypto ipsec sa"), XE)]
    assert all(sa.active_esp_sa_count for sa in sas)  # type: ignore[attr-defined]


def test_xe_failover_priority_is_a_preemption_without_reload(lab: LabThread) -> None:
    def probe(router: Router) -> tuple[str, int | None]:
        group = _group(router)
        return group.my_role, group.rf_state.code if group.rf_state else None

    seen = play(lab, "xe-failover-priority", {"XE1": probe, "XE2": probe})
    assert None not in seen["XE1"] and None not in seen["XE2"]  # nobody reloads
    assert sequence(seen["XE1"]) == [("ACTIVE", 13), ("STANDBY", 4), ("STANDBY", 8)]
    assert sequence(seen["XE2"]) == [("STANDBY", 8), ("ACTIVE", 13)]
    xe1, xe2 = _group(lab.lab.router("XE1")), _group(lab.lab.router("XE2"))
    assert (xe1.priority, xe1.runtime_priority, xe1.resigns_sent, xe2.resigns_received) == (
        LOWERED_PRIORITY,
        LOWERED_PRIORITY,
        1,
        1,
    )
    assert LOWERED_PRIORITY > FAILOVER_THRESHOLD


def test_xe_control_link_cut_is_a_split_brain(lab: LabThread) -> None:
    seen = play(lab, "xe-control-link-cut", {"XE2": lambda router: _group(router).my_role})
    assert sequence(seen["XE2"]) == ["STANDBY", "ACTIVE"]
    for name in ("XE1", "XE2"):
        group = _group(lab.lab.router(name))
        assert (group.my_role, group.peer_present, group.peer_comm, group.control_interface_up) == (
            "ACTIVE",
            False,
            False,
            False,
        )
        assert group.packet_loss and group.control_interface_down_events
        assert group.peer_rf_state and group.peer_rf_state.code == 1
        assert [vip.shut for vip in _vips(lab.lab.router(name))] == [False, False]  # the VIPs on both


def test_xe_peer_power_off_until_baseline(lab: LabThread) -> None:
    play(lab, "xe-peer-power-off", {"XE1": lambda router: _group(router).peer_present})
    xe2 = lab.lab.router("XE2")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", lab.lab.servers["XE2"].port), timeout=2).close()
    group = _group(lab.lab.router("XE1"))
    assert (group.my_role, group.peer_present, group.peer_comm, group.peer_role) == ("ACTIVE", False, False, "UNKNOWN")
    assert group.standby_peer is not None and group.standby_peer.address is None  # Not exist
    assert group.media_peer_present is False
    play(lab, "xe-baseline", {})
    assert xe2.reachable and _version(xe2).reload_reason == "power-on"
    assert _group(xe2).rf_state.code == 8  # type: ignore[union-attr]


def test_xe_track_down_decrements_the_runtime_priority(lab: LabThread) -> None:
    play(lab, "xe-track-down", {})
    group = _group(lab.lab.router("XE1"))
    assert group.my_role == "ACTIVE" and group.priority == 150
    assert group.runtime_priority == 140 > FAILOVER_THRESHOLD
    assert _group(lab.lab.router("XE2")).active_peer.priority == 140  # type: ignore[union-attr]


def test_xe_reload_loop_reloads_the_standby_three_times(lab: LabThread) -> None:
    before = _group(lab.lab.router("XE2")).reload_requests_local
    seen = play(lab, "xe-reload-loop", {"XE2": lambda router: _group(router).my_role}, timeout=30)
    downs = sum(
        1
        for previous, value in zip(seen["XE2"], seen["XE2"][1:], strict=False)
        if previous is not None and value is None
    )
    assert downs == 3
    xe2 = lab.lab.router("XE2")
    assert _group(xe2).reload_requests_local == before  # operator reloads: not the group's
    assert _version(xe2).reload_reason == "Reload Command"
    log = [message for _, message in xe2.log]
    assert sum("%SYS-5-RELOAD" in message for message in log) >= 3
    assert _rf(xe2) == (8, 13)  # STANDBY HOT again at the end


def test_a_reload_cut_short_leaves_no_member_down(lab: LabThread) -> None:
    async def cut_short() -> None:
        lab.lab.trigger("xe-baseline", PAIR)
        await lab.lab.wait()
        lab.lab.trigger("xe-standby-reload", PAIR)
        await asyncio.sleep(0.05)  # XE2 is down now
        assert not lab.lab.router("XE2").reachable
        lab.lab.trigger("xe-baseline", PAIR)
        await lab.lab.wait()

    lab.run(cut_short())
    for name in ("XE1", "XE2"):
        assert lab.lab.router(name).reachable
    assert sequence([_group(lab.lab.router(name)).my_role for name in ("XE1", "XE2")]) == ["ACTIVE", "STANDBY"]


def test_every_xe_scenario_is_tested() -> None:
    tested = {
        "xe-baseline",
        "xe-standby-reload",
        "xe-failover-fault",
        "xe-failover-priority",
        "xe-control-link-cut",
        "xe-peer-power-off",
        "xe-track-down",
        "xe-reload-loop",
    }
    assert set(XE_SCENARIOS) == tested
