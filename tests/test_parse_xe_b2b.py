"""IOS-XE box-to-box redundancy groups: the real outputs, values checked by
hand against their text, and the forms real outputs take (tabs, spaces and
none for indentation within one output, trailing blanks, whitespace-only
lines, a counter wrapped onto the next line). A line inside a known block
that the template does not know is an error, never dropped."""

from __future__ import annotations

import re

import pytest
from support.paths import CORPUS, REPO

from ipsec_ha_monitor.parse import ParseError, errors, parse_output
from ipsec_ha_monitor.records import RedundancyGroup, RgPeer

GROUP_ALL = "show redundancy application group all"
XE = "cisco_xe"
REAL = CORPUS / "show_redundancy_application_group"
OURS = REPO / "tests" / "fixtures" / XE / "show_redundancy_application_group_all"


def groups(text: str) -> list[RedundancyGroup]:
    return parse_output(GROUP_ALL, text, XE)  # type: ignore[return-value]


def test_the_iosxe_sample_by_hand() -> None:
    """genieparser's IOS-XE sample: a standby whose peer is ACTIVE, MD5 on
    the control link, 8 fault switchovers and 8 local reload requests."""
    text = (REAL / "genie__iosxe_golden_output_2.raw").read_text(encoding="utf-8")
    assert "\t" in text and "        Role:" in text  # tabs and spaces in one output
    assert "Up. \n" in text and "info: \n" in text  # trailing blanks
    assert re.search(r"^[ \t]+$", text, re.M)  # a whitespace-only line
    (group,) = groups(text)
    assert (group.group_id, group.group_name) == (1, "GREEN")
    assert (group.runtime_priority, group.faults_state, group.faults_up) == (150, "Up", True)
    assert (group.fault_switchovers, group.fault_down_ups) == (8, 0)
    assert (group.administrative_state, group.admin_up, group.operational_up) == ("No Shutdown", True, True)
    assert (group.my_role, group.peer_role) == ("STANDBY", "ACTIVE")
    assert (group.peer_present, group.peer_comm, group.peer_progression_started) == (True, True, True)
    assert group.rf_domain == "btob-one"
    assert (group.rf_state.code, group.rf_state.name) == (8, "STANDBY HOT")  # type: ignore[union-attr]
    assert (group.peer_rf_state.code, group.peer_rf_state.name) == (13, "ACTIVE")  # type: ignore[union-attr]
    assert (group.protocol_role, group.negotiation, group.priority) == ("Standby", "Enabled", 150)
    assert (group.protocol_state, group.control_interface_up) == ("Standby-hot", True)
    assert group.active_peer == RgPeer(False, "10.240.0.45", 255, "Po60.2511")
    assert group.standby_peer == RgPeer(True, None, None, None)
    assert (group.role_changes_to_active, group.role_changes_to_standby) == (10, 11)
    assert (group.disable_events_rg_down, group.disable_events_rg_shut) == (0, 0)
    assert (
        group.control_interface_up_events,
        group.control_interface_down_events,
        group.control_interface_admin_down_events,
    ) == (1, 1, 0)
    assert (group.reload_requests_local, group.reload_requests_peer) == (8, 0)
    assert (group.context_state, group.protocol_id, group.media_type) == ("Standby", 1, "Default")
    assert group.control_interface == "Port-channel60.2511"
    assert (group.hello_timer_ms, group.configured_hello_timer_ms, group.hold_timer_ms) == (250, 250, 750)
    assert (group.peer_hello_timer_ms, group.peer_hold_timer_ms) == (250, 750)
    assert (group.packets, group.packet_loss) == (54195472, 0)
    assert group.authentication == "MD5 Authentication configured"
    assert (group.authentication_failures, group.reload_peer_sent, group.reload_peer_received) == (0, 0, 0)
    assert (group.resigns_sent, group.resigns_received) == (10, 10)
    assert (group.media_peer_role, group.media_peer_present, group.media_peer_hold_timer_ms) == ("Active", True, 750)
    assert (group.peer_packets, group.peer_packet_loss) == (4092659, 0)


def test_the_two_group_sample_by_hand() -> None:
    """genieparser's IOS sample of `group all` with two groups, tab-indented:
    one record per group, each with its own blocks."""
    first, second = groups((REAL / "genie__ios_golden_output_1.raw").read_text(encoding="utf-8"))
    assert (first.group_id, first.group_name, first.rf_domain) == (1, "group1", "btob-one")
    assert (second.group_id, second.group_name, second.rf_domain) == (2, "group2", "btob-two")
    assert (first.runtime_priority, first.priority) == (200, 200)
    assert (second.runtime_priority, second.priority) == (175, 175)
    assert second.active_peer == RgPeer(False, "9.1.1.1", 175, "Po10.100")
    assert (first.hello_timer_ms, first.hold_timer_ms) == (3000, 9000)
    assert first.authentication == "Authentication not configured"
    assert (second.packets, second.peer_packets) == (144780, 144772)


def test_the_short_form_is_the_group_block_alone() -> None:
    """`show redundancy application group <id>`: no faults, protocol or media
    blocks; what they carry is None, never a default."""
    (group,) = groups((REAL / "genie__ios_golden_output.raw").read_text(encoding="utf-8"))
    assert (group.group_id, group.my_role, group.rf_state.code) == (1, "STANDBY", 8)  # type: ignore[union-attr]
    assert group.runtime_priority is None and group.priority is None and group.packet_loss is None
    assert group.active_peer is None and group.control_interface_up is None


def test_unindented_blocks_and_a_wrapped_counter() -> None:
    """No indentation, one space, two, a whitespace-only line between
    blocks, `Media type: Default  `, and `Pkt Loss` with its value on the
    next line; then a second group that is shut down."""
    text = (OURS / "synthetic_unhealthy_two_groups_cold_and_down_wrapped.raw").read_text(encoding="utf-8")
    assert "Pkt Loss\n0\n" in text and "Default  \n" in text and "\n \n" in text
    cold, down = groups(text)
    assert (cold.packets, cold.packet_loss, cold.peer_packet_loss) == (27719, 0, 3)
    assert cold.media_type == "Default"
    assert (cold.rf_state.code, cold.protocol_state) == (4, "Standby-cold")  # type: ignore[union-attr]
    assert (down.admin_up, down.operational_up, down.faults_state, down.faults_up) == (False, False, "Down", False)
    assert (down.my_role, down.rf_state.code, down.runtime_priority) == ("INIT", 2, 80)  # type: ignore[union-attr]


def test_a_group_without_its_peer() -> None:
    text = (OURS / "synthetic_unhealthy_peer_lost_active_alone.raw").read_text(encoding="utf-8")
    (group,) = groups(text)
    assert (group.peer_role, group.peer_present, group.peer_comm) == ("UNKNOWN", False, False)
    assert (group.peer_rf_state.code, group.control_interface_up) == (1, False)  # type: ignore[union-attr]
    assert group.standby_peer == RgPeer(False, None, None, None)  # "Not exist"
    assert group.media_peer_present is None and group.packet_loss == 17


def _sample() -> str:
    return (OURS / "synthetic_active_peer_standby_hot.raw").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("before", "after", "block"),
    [
        ("        Negotiation: Enabled\n", "        Negotiation: Enabled\n        Preempt: Enabled\n", "RG Protocol"),
        ("MD5 Authentication configured", "SHA-256 Authentication configured", "RG Media Context"),
        ("Peer Comm: Yes\n", "Peer Comm: Yes\nPeer Sync: Yes\n", "redundancy group block"),
        ("\tRuntime priority: [150]\n", "\tRuntime priority: [150]\n\tTracked objects: 2\n", "faults block"),
    ],
    ids=["protocol", "media", "group", "faults"],
)
def test_an_unknown_line_inside_a_known_block_is_an_error(before: str, after: str, block: str) -> None:
    text = _sample()
    assert before in text
    with pytest.raises(ParseError) as caught:
        groups(text.replace(before, after, 1))
    assert caught.value.kind == errors.TEMPLATE and block in str(caught.value)


def test_an_output_cut_after_a_wrapped_counter_is_truncated() -> None:
    text = (OURS / "synthetic_unhealthy_two_groups_cold_and_down_wrapped.raw").read_text(encoding="utf-8")
    with pytest.raises(ParseError) as caught:
        groups(text[: text.index("Pkt Loss\n") + len("Pkt Loss\n")])
    assert caught.value.kind == errors.TRUNCATED and "Pkt Loss" in str(caught.value)


def test_blocks_of_another_group_are_refused() -> None:
    with pytest.raises(ParseError) as caught:
        groups(_sample().replace("RG Media Context for RG 1", "RG Media Context for RG 2"))
    assert caught.value.kind == errors.BAD_VALUE and "group 1" in str(caught.value)


def test_an_rf_state_cut_short_is_a_bad_value() -> None:
    with pytest.raises(ParseError) as caught:
        groups(_sample().replace("Peer RF state: STANDBY HOT", "Peer RF state: STANDBY H"))
    assert caught.value.kind == errors.BAD_VALUE


def test_the_table_and_the_interfaces() -> None:
    folder = REPO / "tests" / "fixtures" / XE
    table = parse_output(
        "show redundancy application group",
        (folder / "show_redundancy_application_group" / "synthetic_two_groups.raw").read_text(encoding="utf-8"),
        XE,
    )
    assert [(row.group_id, row.group_name, row.state) for row in table] == [  # type: ignore[attr-defined]
        (1, "RG-IPSEC", "ACTIVE"),
        (2, "RG-NAT", "STANDBY"),
    ]
    interfaces = parse_output(
        "show redundancy application if-mgr group",
        (folder / "show_redundancy_application_if-mgr_group" / "synthetic_standby_shut_two_groups.raw").read_text(
            encoding="utf-8"
        ),
        XE,
    )
    assert [(i.group_id, i.interface, i.vip, i.shut, i.decrement) for i in interfaces] == [  # type: ignore[attr-defined]
        (1, "GigabitEthernet0/0/0", "10.0.0.3", True, 10),
        (2, "GigabitEthernet0/0/1.20", "192.168.20.3", False, 20),
    ]


def test_the_group_commands_are_xe_only() -> None:
    """Classic IOS has no box-to-box redundancy: the command is not in its rows."""
    with pytest.raises(ParseError) as caught:
        parse_output(GROUP_ALL, _sample())
    assert caught.value.kind == errors.UNSUPPORTED_COMMAND
    assert "it is one on cisco_xe" in str(caught.value)  # says where it is one


@pytest.mark.parametrize("typed", ["show redundancy application group 1", "sh red app g all", "sh red app if g 2"])
def test_abbreviations_and_group_ids_resolve(typed: str) -> None:
    from ipsec_ha_monitor.parse import resolve

    assert resolve(typed, XE).platform == XE


def test_every_real_sample_parses() -> None:
    raws = sorted(REAL.glob("*.raw"))
    assert len(raws) >= 3
    for raw in raws:
        assert groups(raw.read_text(encoding="utf-8")), raw.name
