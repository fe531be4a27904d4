"""The CliTable index: generated from the command table, resolves every
command and its abbreviations to the right template (CliTable matches
prefixes), and serves netmiko users through NET_TEXTFSM on its own."""

from __future__ import annotations

import pytest
import textfsm
from netmiko.utilities import get_structured_data_textfsm
from support.paths import FIXTURES, PLATFORM_FIXTURES, REPO, TEMPLATE_SPECS, fixture_folder
from textfsm import clitable

from ipsec_ha_monitor.parse import ParseError, resolve
from ipsec_ha_monitor.parse.commands import render_index
from ipsec_ha_monitor.parse.templates import OUR_TEMPLATES, run


def test_committed_index_is_generated_from_the_table() -> None:
    assert (REPO / "textfsm_templates" / "index").read_text() == render_index(), (
        "run: python -m ipsec_ha_monitor.parse.write_index"
    )


def test_every_template_file_is_indexed() -> None:
    on_disk = {path.name for path in OUR_TEMPLATES.glob("*.textfsm")}
    assert on_disk == {spec.template for spec in TEMPLATE_SPECS}


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("show standby", "show standby"),
        ("sh stand", "show standby"),
        ("show standby all", "show standby"),
        ("show standby brief", "show standby brief"),
        ("sh stand br", "show standby brief"),
        ("show redundancy", "show redundancy"),
        ("sh red", "show redundancy"),
        ("show redundancy states", "show redundancy states"),
        ("sh red sta", "show redundancy states"),
        ("show redundancy inter-device", "show redundancy inter-device"),
        ("sh red inter", "show redundancy inter-device"),
        ("show redundancy history", "show redundancy history"),
        ("sh red hist", "show redundancy history"),
        ("show redundancy switchover history", "show redundancy switchover history"),
        ("sh red sw hist", "show redundancy switchover history"),
        ("show crypto ipsec sa", "show crypto ipsec sa"),
        ("sh cry ips sa", "show crypto ipsec sa"),
        ("show crypto isakmp sa", "show crypto isakmp sa"),
        ("sh cry isa sa", "show crypto isakmp sa"),
        ("show crypto ikev2 sa", "show crypto ikev2 sa"),
        ("sh cry ikev2 sa", "show crypto ikev2 sa"),
        ("show crypto ikev2 sa detail", "show crypto ikev2 sa"),
        ("sh cry ikev2 sa det", "show crypto ikev2 sa"),
        ("show crypto session", "show crypto session"),
        ("sh cry ses", "show crypto session"),
        ("show version", "show version"),
        ("sh ver", "show version"),
        ("show logging", "show logging"),
        ("sh log", "show logging"),
        ("sh logg", "show logging"),
        ("  show   redundancy   states ", "show redundancy states"),
    ],
)
def test_resolve_commands_and_abbreviations(typed: str, canonical: str) -> None:
    assert resolve(typed).command == canonical


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("show redundancy application group all", "show redundancy application group all"),
        ("sh red app g all", "show redundancy application group all"),
        # `group <id>` prints the same blocks for one group
        ("show redundancy application group 1", "show redundancy application group all"),
        ("show redundancy application group", "show redundancy application group"),
        ("sh red app g", "show redundancy application group"),
        ("show redundancy application if-mgr group", "show redundancy application if-mgr group"),
        ("sh red app if g", "show redundancy application if-mgr group"),
        ("show redundancy application if-mgr group 2", "show redundancy application if-mgr group"),
        # the classic commands, on the IOS-XE rows
        ("sh red sta", "show redundancy states"),
        ("show crypto ikev2 sa detail", "show crypto ikev2 sa"),
    ],
)
def test_resolve_ios_xe_commands_and_abbreviations(typed: str, canonical: str) -> None:
    spec = resolve(typed, "cisco_xe")
    assert (spec.command, spec.platform) == (canonical, "cisco_xe")


@pytest.mark.parametrize(
    "typed",
    [
        "show redundancy states detail",
        "show crypto ipsec sa detail",
        "show standby delay",
        "show ip route",
        "show crypto ikev2 session",
        "show crypto ikev2 sa detail extra",
    ],
)
def test_longer_or_other_commands_are_not_swallowed(typed: str) -> None:
    with pytest.raises(ParseError) as caught:
        resolve(typed)
    assert caught.value.kind == "unsupported_command"


@pytest.mark.parametrize(
    ("typed", "platform"),
    [
        ("show redundancy application group all", "cisco_ios"),  # classic IOS has no box-to-box groups
        ("show redundancy application if-mgr group", "cisco_ios"),
        ("show redundancy application group all extra", "cisco_xe"),
        ("show redundancy application group 1 detail", "cisco_xe"),
        ("show redundancy application control-interface group", "cisco_xe"),
    ],
)
def test_box_to_box_commands_are_ios_xe_only_and_not_swallowed(typed: str, platform: str) -> None:
    with pytest.raises(ParseError) as caught:
        resolve(typed, platform)
    assert caught.value.kind == "unsupported_command"


def test_cli_table_on_its_own_picks_specific_templates() -> None:
    """CliTable as netmiko uses it, with only our folder."""
    table = clitable.CliTable("index", str(OUR_TEMPLATES))
    states = (FIXTURES / "show_redundancy_states/packetlife_r1_standby_hot.raw").read_text()
    table.ParseCmd(states, {"Command": "sh red sta", "Platform": "cisco_ios"})
    assert "MY_STATE_CODE" in table.header and table[1]["MY_STATE_CODE"] == "8"
    brief = (FIXTURES / "show_standby_brief/packetlife_r2.raw").read_text()
    table.ParseCmd(brief, {"Command": "show standby brief", "Platform": "cisco_ios"})
    assert "VIRTUAL_IP" in table.header and table.size == 2
    groups = (PLATFORM_FIXTURES["cisco_xe"] / "show_redundancy_application_group/synthetic_two_groups.raw").read_text()
    table.ParseCmd(groups, {"Command": "sh red app g", "Platform": "cisco_xe"})
    assert list(table.header) == ["GROUP_ID", "GROUP_NAME", "STATE"] and table.size == 2
    assert table[2]["STATE"] == "STANDBY"


@pytest.mark.parametrize("spec", TEMPLATE_SPECS, ids=lambda s: s.command)
def test_netmiko_users_get_our_rows_through_net_textfsm(spec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NET_TEXTFSM", str(OUR_TEMPLATES))
    raw = sorted(fixture_folder(spec).glob("*.raw"))[-1]
    text = raw.read_text()
    rows = get_structured_data_textfsm(text, platform=spec.platform, command=spec.command)
    expected = [{key.lower(): value for key, value in row.items()} for row in run(spec.template_path, text)]
    assert expected, f"pick a fixture with records for {spec.command}"
    # (netmiko hands back the raw text when no template matched.)
    assert rows == expected


@pytest.mark.parametrize("spec", TEMPLATE_SPECS, ids=lambda s: s.command)
def test_every_required_template_value_names_its_line(spec) -> None:
    """parse_output runs templates without their Required options and leaves
    completeness to the command table, which names the missing line: so
    every Required value of a template must appear in `required`."""
    with open(spec.template_path, encoding="utf-8") as handle:
        template = textfsm.TextFSM(handle)
    required_values = {value.name for value in template.values if "Required" in value.OptionNames()}
    named = {value for values in spec.required.values() for value in values}
    assert required_values <= named
