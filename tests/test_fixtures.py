"""Every template against its own fixtures, ntc-templates style: a `.raw`
output and a `.yml` holding the template's rows (`parsed_sample`, what a
netmiko user gets through NET_TEXTFSM) and the normalised records."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from support.paths import FIXTURES, TEMPLATE_SPECS, command_of, fixture_folder, fixture_platform, fixture_raws

from ipsec_ha_monitor.parse import parse_output, resolve
from ipsec_ha_monitor.parse.templates import run

RAW_FILES = fixture_raws()


def _expected(raw: Path) -> dict:
    with open(raw.with_suffix(".yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _id(raw: Path) -> str:
    return f"{fixture_platform(raw)}/{raw.parent.name}/{raw.stem}"


@pytest.mark.parametrize("raw", RAW_FILES, ids=_id)
def test_template_rows(raw: Path) -> None:
    spec = resolve(command_of(raw.parent), fixture_platform(raw))
    rows = run(spec.template_path, raw.read_text(encoding="utf-8"))
    assert [{k.lower(): v for k, v in row.items()} for row in rows] == _expected(raw)["parsed_sample"]


@pytest.mark.parametrize("raw", RAW_FILES, ids=_id)
def test_records(raw: Path) -> None:
    records = parse_output(command_of(raw.parent), raw.read_text(encoding="utf-8"), fixture_platform(raw))
    assert [record.to_dict() for record in records] == _expected(raw)["records"]


@pytest.mark.parametrize("spec", TEMPLATE_SPECS, ids=lambda s: s.command)
def test_every_command_has_three_fixtures(spec) -> None:
    folder = fixture_folder(spec)
    assert len(list(folder.glob("*.raw"))) >= 3
    assert all(raw.with_suffix(".yml").exists() for raw in folder.glob("*.raw"))


def test_packetlife_scenario_values() -> None:
    """The article's routers, asserted field by field (not only via YAML)."""
    r1_states = parse_output(
        "show redundancy states", (FIXTURES / "show_redundancy_states/packetlife_r1_standby_hot.raw").read_text()
    )
    (states,) = r1_states
    assert (states.my_state.code, states.my_state.name) == (8, "STANDBY HOT")
    assert (states.peer_state.code, states.peer_state.name) == (13, "ACTIVE")
    assert states.mode == "Duplex" and states.duplex is True and states.communications_up is True

    (interdev,) = parse_output(
        "show redundancy inter-device",
        (FIXTURES / "show_redundancy_inter-device/packetlife_r1_standby.raw").read_text(),
    )
    assert interdev.state_token == "RF_INTERDEV_STATE_STDBY" and interdev.state == "standby"
    assert interdev.group_name == "BRANCH-5-TUNNEL" and interdev.group_state == "Standby"
    # The real output has no "Peer present:" line: nothing is claimed about the peer.
    assert interdev.peer_token is None and interdev.peer_communicating is None
    (remembered,) = parse_output(
        "show redundancy inter-device",
        (FIXTURES / "show_redundancy_inter-device/peer_present_remembered_variant.raw").read_text(),
    )
    assert remembered.peer_token == "RF_INTERDEV_PEER_NO_COMM" and remembered.peer_communicating is False

    (group,) = parse_output("show standby", (FIXTURES / "show_standby/packetlife_r2_active.raw").read_text())
    assert (group.interface, group.group, group.state) == ("FastEthernet0/0", 1, "active")
    assert group.group_name == "BRANCH-5-TUNNEL" and group.group_name_configured is True
    assert group.preempt is False and group.priority == 100 and group.priority_is_default
    assert group.last_state_change_seconds == 11 and group.virtual_ip == "10.0.0.3"

    # The article's own text, which lost the address after "Virtual IP address is".
    (copy,) = parse_output("show standby", (FIXTURES / "show_standby/packetlife_r2_article_copy.raw").read_text())
    assert copy.virtual_ip is None and copy.group_name == "BRANCH-5-TUNNEL" and copy.state == "active"

    messages = parse_output("show logging", (FIXTURES / "show_logging/packetlife_r2_failover_console.raw").read_text())
    assert [(m.facility, m.severity, m.mnemonic) for m in messages] == [
        ("HSRP", 5, "STATECHANGE"),
        ("RF_INTERDEV", 4, "RELOAD"),
    ]
    assert messages[1].text == "% RF induced self-reload. my state = ACTIVE peer state = STANDBY HOT"


def test_hsrp_authentication_key_is_never_captured() -> None:
    raw = (FIXTURES / "show_standby/tracking_legacy_names.raw").read_text()
    assert "fweq12as" in raw
    spec = resolve("show standby")
    assert "fweq12as" not in repr(run(spec.template_path, raw))
    assert "fweq12as" not in repr(parse_output("show standby", raw))
