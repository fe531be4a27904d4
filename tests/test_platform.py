"""Platform is a key of the command table: the index has a row per platform
and command, the parser takes the platform, and a device's inventory
platform reaches the parser through the poller."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.inventories import write_inventory
from support.paths import FIXTURES, PLATFORM_FIXTURES

from ipsec_ha_monitor.inventory import load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.parse import COMMANDS, PLATFORMS, TABLE, ParseError, errors, parse_output, resolve
from ipsec_ha_monitor.parse.commands import XE_B2B_COMMANDS
from ipsec_ha_monitor.parse.templates import INDEX_FILE, OUR_TEMPLATES
from ipsec_ha_monitor.poll import DevicePoller
from ipsec_ha_monitor.poll import device as device_module


def test_every_command_has_a_row_per_platform_in_the_table_and_the_index() -> None:
    """The classic commands on every platform; the box-to-box redundancy
    group commands on IOS-XE only (classic IOS has no such groups)."""
    assert {(spec.platform, spec.command) for spec in TABLE} == {
        (platform, spec.command) for platform in PLATFORMS for spec in COMMANDS
    } | {("cisco_xe", spec.command) for spec in XE_B2B_COMMANDS}
    assert {spec.platform for spec in XE_B2B_COMMANDS} == {"cisco_xe"}
    rows = [line.split(", ") for line in (OUR_TEMPLATES / INDEX_FILE).read_text().splitlines() if ".textfsm," in line]
    assert {(row[2], row[0]) for row in rows} == {(spec.platform, spec.template) for spec in TABLE}
    for platform in PLATFORMS:
        assert resolve("sh red sta", platform).platform == platform


def test_parse_output_takes_the_platform() -> None:
    # The IOS-XE rows reuse the IOS templates: the same records either way.
    folder = FIXTURES / "show_redundancy_states"
    sample = sorted(folder.glob("*.raw"))[0].read_text()
    assert parse_output("show redundancy states", sample, "cisco_xe") == parse_output("show redundancy states", sample)
    with pytest.raises(ParseError) as caught:
        parse_output("show redundancy states", sample, "juniper_junos")
    assert caught.value.kind == errors.UNSUPPORTED_COMMAND
    assert "juniper_junos" in caught.value.message and "cisco_xe" in caught.value.message


def test_box_to_box_outputs_parse_on_ios_xe_only() -> None:
    raw = PLATFORM_FIXTURES["cisco_xe"] / "show_redundancy_application_group_all/synthetic_active_peer_standby_hot.raw"
    (group,) = parse_output("show redundancy application group all", raw.read_text(), "cisco_xe")
    assert (group.group_id, group.my_role, group.peer_rf_state.code) == (1, "ACTIVE", 8)
    with pytest.raises(ParseError) as caught:
        parse_output("show redundancy application group all", raw.read_text())
    assert caught.value.kind == errors.UNSUPPORTED_COMMAND


@pytest.mark.integration  # a lab router over SSH
def test_the_devices_platform_reaches_the_parser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    platforms: list[str] = []
    real = device_module.parse_result

    def spy(command: str, text: str, platform: str = "cisco_ios", *, filtered: bool = False, complete: bool = True):
        platforms.append(platform)
        return real(command, text, platform, filtered=filtered, complete=complete)

    monkeypatch.setattr(device_module, "parse_result", spy)
    with LabThread(Lab(pairs=1, branches=1, time_scale=10)) as running:
        path = write_inventory(running.lab, tmp_path / "lab.yml", overrides={"R4": {"platform": "cisco_xe"}})
        inventory = load_inventory(path)
        poller = DevicePoller(inventory.devices["R4"], inventory.polling)
        try:
            snapshot = poller.poll()
        finally:
            poller.close()
    assert snapshot.up, snapshot.failures
    assert platforms and set(platforms) == {"cisco_xe"}


def test_every_polled_command_is_one_the_parser_knows_by_that_exact_name() -> None:
    from ipsec_ha_monitor.poll.commands import B2B_HUB_COMMANDS, COMMANDS_BY_ROLE, OPTIONAL_WITH_STATEFUL_GROUP

    polled = {command for commands in COMMANDS_BY_ROLE.values() for command in commands}
    for platform in PLATFORMS:
        for command in polled | OPTIONAL_WITH_STATEFUL_GROUP:
            assert resolve(command, platform).command == command
    # box-to-box members are IOS-XE (inventory.py)
    for command in B2B_HUB_COMMANDS:
        assert resolve(command, "cisco_xe").command == command
