"""Every template against the real device outputs in tests/corpus (copies,
with their sources in MANIFEST.tsv and their licences in NOTICE).

Each `.raw` of a command we support must parse to at least one record, and
where the source project shipped its own expected parse (ntc-templates
`.expected.yml`, genieparser `.expected.json`) the key fields must agree. The
packetlife article's outputs (`packetlife__*.raw`) come with the values they
must give (`.values.json`, flat keys): every key is asserted.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
import yaml
from support.paths import CORPUS, CORPUS_COMMANDS, MANIFEST, corpus_platform

from ipsec_ha_monitor.parse import parse_output


def _raws() -> list[Path]:
    return sorted(path for folder in CORPUS_COMMANDS for path in (CORPUS / folder).glob("*.raw"))


def _expected(raw: Path) -> object | None:
    suffixes = ((".expected.yml", yaml.safe_load), (".expected.json", json.loads), (".values.json", json.loads))
    for suffix, load in suffixes:
        path = raw.with_name(raw.name[: -len(".raw")] + suffix)
        if path.exists():
            return load(path.read_text(encoding="utf-8"))
    return None


def _records(raw: Path) -> list:
    return parse_output(CORPUS_COMMANDS[raw.parent.name], raw.read_text(encoding="utf-8"), corpus_platform(raw.parent))


def test_every_packetlife_output_is_covered() -> None:
    """The article's outputs are the product's reference: each folder holding
    one is parsed here, and each comes with the values it must give."""
    folders = {raw.parent.name for raw in CORPUS.glob("*/packetlife__*.raw")}
    assert folders <= set(CORPUS_COMMANDS)
    assert all(_expected(raw) is not None for raw in CORPUS.glob("*/packetlife__*.raw"))


def test_the_copy_matches_its_manifest() -> None:
    """tests/corpus is a copy of public files: every file MANIFEST.tsv lists
    is there, every file there is listed with its source and licence, and
    NOTICE names every source project and licence."""
    with MANIFEST.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream, delimiter="\t", quoting=csv.QUOTE_NONE))
    listed = [row["file"] for row in rows]
    assert len(listed) == len(set(listed)), "a file listed twice"
    present = {
        path.relative_to(CORPUS).as_posix()
        for path in CORPUS.rglob("*")
        if path.is_file() and path.name not in (MANIFEST.name, "NOTICE")
    }
    assert sorted(present - set(listed)) == [], "files not in MANIFEST.tsv"
    assert sorted(set(listed) - present) == [], "listed files missing"
    assert all(row["source_repo"] and row["source_path"] and row["license"] for row in rows)
    notice = (CORPUS / "NOTICE").read_text(encoding="utf-8")
    for source in {row["source_repo"].split(" (")[0] for row in rows}:
        assert source in notice, source
    for licence in {row["license"] for row in rows}:
        assert licence in notice, licence


@pytest.mark.parametrize("raw", _raws(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_output_parses(raw: Path) -> None:
    assert _records(raw), "a real output produced no record"


@pytest.mark.parametrize(
    "raw", [r for r in _raws() if _expected(r) is not None], ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_corpus_key_fields_agree(raw: Path) -> None:
    records = _records(raw)
    expected = _expected(raw)
    if raw.name.startswith("ntc__"):
        COMPARE_NTC[raw.parent.name](records, expected["parsed_sample"], raw.read_text(encoding="utf-8"))
    elif raw.name.startswith("packetlife__"):
        _packetlife(raw.parent.name, records, expected)
    else:
        COMPARE[raw.parent.name](records, expected, raw.read_text(encoding="utf-8"))


# --- ntc-templates expectations (parsed_sample rows) -------------------------


def _ntc_standby(records: list, rows: list[dict], raw: str) -> None:
    assert len(records) == len(rows)
    for record, row in zip(records, rows, strict=True):
        assert record.interface == row["interface"]
        assert str(record.group) == row["group"]
        assert record.state == row["state"].lower()
        assert str(record.priority) == row["priority"]
        assert record.virtual_ip == row["virtual_ip"]
        assert record.preempt == (row["preemption"] == "enabled")
        assert record.group_name == row["group_name"]
        # ntc's samples keep one digit of a multi-digit count ("11 state
        # changes" expected as "1"): check the count against the raw block.
        block = _block(raw, record.interface, record.group)
        assert re.search(rf"^\s*{record.state_changes} state changes?,", block, re.M)
        assert str(record.state_changes).endswith(row["state_changes"])


def _ntc_standby_brief(records: list, rows: list[dict], raw: str) -> None:
    assert len(records) == len(rows)
    for record, row in zip(records, rows, strict=True):
        assert (record.interface, str(record.group), str(record.priority)) == (
            row["interface"],
            row["group"],
            row["priority"],
        )
        assert record.preempt == (row["preempt"] == "P")
        assert record.state == row["state"].lower()
        assert record.virtual_ip == row["virtual_ip_address"]


def _ntc_redundancy(records: list, rows: list[dict], raw: str) -> None:
    (record,) = records
    (row,) = rows
    assert record.hardware_mode == row["hardware_mode"]
    # ntc keeps the reason in the same field ("Down      Reason: Failure").
    assert record.communications == row["communication_status"].split()[0]
    assert record.my_software_state == row["active_software_state"]
    assert (record.peer_software_state or "") == row["standby_software_state"]
    assert str(record.switchovers) == row["switchovers"]
    assert (record.last_switchover_reason or "") == row["last_switchover_reason"]


def _ntc_version(records: list, rows: list[dict], raw: str) -> None:
    (record,) = records
    (row,) = rows
    assert (record.hostname, record.uptime, record.reload_reason) == (
        row["hostname"],
        row["uptime"],
        row["reload_reason"],
    )


def _ntc_logging(records: list, rows: list[dict], raw: str) -> None:
    assert len(records) == len(rows)
    for record, row in zip(records, rows, strict=True):
        assert record.timestamp == f"*{row['month']} {row['day']} {row['time']}"
        assert (record.facility, str(record.severity), record.mnemonic) == (
            row["facility"],
            row["severity"],
            row["mnemonic"],
        )
        # ntc keeps continuation lines with their indent in the same list.
        assert [record.text, *record.continuation] == [line.strip() for line in row["message"]]


COMPARE_NTC = {
    "show_logging": _ntc_logging,
    "show_standby": _ntc_standby,
    "show_standby_brief": _ntc_standby_brief,
    "show_redundancy": _ntc_redundancy,
    "show_version": _ntc_version,
}


# --- genieparser expectations -------------------------------------------------


def _genie_standby_all(records: list, expected: dict, raw: str) -> None:
    groups = {}
    for interface, data in expected.items():
        for family in data["address_family"].values():
            for version, vdata in family["version"].items():
                for number, group in vdata["groups"].items():
                    groups[(interface, int(number))] = (int(version), group)
    assert {(r.interface, r.group) for r in records} == set(groups)
    for record in records:
        version, group = groups[(record.interface, record.group)]
        assert record.version == version
        assert record.state == group["hsrp_router_state"]
        assert record.priority == group["priority"]
        if "preempt" in group:
            assert record.preempt == group["preempt"]
            assert record.preempt_delay_min_seconds == group.get("preempt_min_delay")
        else:
            # In two samples genieparser drops preemption altogether although
            # the raw text says "Preemption enabled, delay min 180 secs": its
            # expectation contradicts the output, so assert the raw block.
            block = _block(raw, record.interface, record.group)
            assert record.preempt == ("Preemption enabled" in block)
            assert f"delay min {record.preempt_delay_min_seconds} secs" in block
        assert record.virtual_ip == _none_if_unknown(group["primary_ipv4_address"]["address"])
        assert record.group_name == group.get("session_name")


def _block(raw: str, interface: str, group: int) -> str:
    """The text of one `show standby` group block."""
    start = raw.index(f"{interface} - Group {group}")
    body = raw.index("\n", start)
    following = re.search(r"^\S+ - Group \d+", raw[body:], re.M)
    return raw[start : body + following.start()] if following else raw[start:]


def _none_if_unknown(value: str) -> str | None:
    return None if value == "unknown" else value


def _genie_standby_brief(records: list, expected: dict, raw: str) -> None:
    rows = [(name, row) for section in expected.values() for name, row in section.items()]
    assert len(records) == len(rows)
    by_key = {(name, row["grp"]): row for name, row in rows}
    for record in records:
        row = by_key[(record.interface, record.group)]
        assert record.priority == row["priority"]
        assert record.state == row["state"].lower()
        assert record.preempt == row.get("is_preempt_enabled", False)
        assert record.virtual_ip == row["virtual_ip"]


def _rf(text: str) -> tuple[int, str]:
    match = re.match(r"\s*(\d+)\s*-\s*(.*?)\s*$", text)
    assert match, text
    return int(match.group(1)), match.group(2)


def _genie_redundancy_states(records: list, expected: dict, raw: str) -> None:
    (record,) = records
    assert (record.my_state.code, record.my_state.name) == _rf(expected["my_state"])
    assert (record.peer_state.code, record.peer_state.name) == _rf(expected["peer_state"])
    assert record.mode == expected["mode"]
    assert record.communications == expected["communications"]
    assert record.communications_reason == expected.get("communications_reason")
    assert record.manual_swact == expected["manual_swact"]


def _genie_redundancy(records: list, expected: dict, raw: str) -> None:
    (record,) = records
    info = expected["red_sys_info"]
    assert record.hardware_mode == info["hw_mode"]
    assert record.communications == info["communications"]
    assert str(record.switchovers) == info["switchovers_system_experienced"]
    slots = expected["slot"]
    assert record.my_location in slots
    assert record.my_software_state == slots[record.my_location]["curr_sw_state"]
    if record.peer_location:
        assert record.peer_software_state == slots[record.peer_location]["curr_sw_state"].strip()


def _genie_ipsec_sa(records: list, expected: dict, raw: str) -> None:
    proxies = [
        (interface, ident)
        for interface, data in expected["interface"].items()
        for _, ident in sorted(data["ident"].items(), key=lambda item: int(item[0]))
    ]
    assert len(records) == len(proxies)
    for record, (interface, ident) in zip(records, proxies, strict=True):
        assert record.interface == interface
        assert record.peer == ident["peer_ip"]
        assert record.peer_port == ident["port"]
        for field in ("pkts_encaps", "pkts_decaps", "send_errors", "recv_errors"):
            assert getattr(record, field) == ident.get(field), field
        for direction in ("inbound", "outbound"):
            spis = ident[f"{direction}_esp_sas"].get("spi", {})
            ours = getattr(record, f"{direction}_esp")
            assert [sa.spi for sa in ours] == [spi.split("(")[0] for spi in spis]
            assert [sa.status for sa in ours] == [sa["status"] for sa in spis.values()]


def _genie_isakmp_sa(records: list, expected: dict, raw: str) -> None:
    rows = [
        (family.lower(), row)
        for family, entries in expected["isakmp_stats"].items()
        for _, row in sorted(entries.items(), key=lambda item: int(item[0]))
    ]
    assert len(records) == len(rows)
    for record, (family, row) in zip(records, rows, strict=True):
        assert (record.address_family, record.dst, record.src) == (family, row["destination"], row["source"])
        assert (record.state, record.conn_id) == (row["session_state"], row["conn_id"])
        assert record.status.split()[0] == row["status"]
        assert record.deleted == (row.get("current_status") == "deleted")


def _genie_crypto_session(records: list, expected: dict, raw: str) -> None:
    assert len(records) == len(expected["interface"])
    for record in records:
        session = expected["interface"][record.interface]
        assert record.status == session["session_status"]
        ((peer, peer_data),) = session["peer"].items()
        ((port, port_data),) = peer_data["port"].items()
        assert (record.peer, str(record.peer_port)) == (peer, port)
        ike = [sa for key, sas in port_data.items() if key.endswith("_sa") for sa in sas.values()]
        assert [sa.state for sa in record.ike_sas] == [sa["sa_status"] for sa in ike]
        flows = port_data["ipsec_flow"]
        assert [f.flow for f in record.flows] == [flow.strip() for flow in flows]
        assert [f.active_sas for f in record.flows] == [flow["active_sas"] for flow in flows.values()]


def _genie_version(records: list, expected: dict, raw: str) -> None:
    (record,) = records
    version = expected["version"]
    assert (record.hostname, record.uptime) == (version["hostname"], version["uptime"])
    # genieparser's last_reload_reason comes from "Last reset from ..."; the
    # line we report is "Last reload reason: ..." when IOS prints it (genie
    # does not parse it), else "System returned to ROM by ...".
    last_reload = re.search(r"^Last reload reason: (.*?)\s*$", raw, re.M)
    if last_reload:
        assert record.reload_reason == last_reload.group(1)
    else:
        assert record.reload_reason == re.sub(r"\s+at\s+\d.*$", "", version["returned_to_rom_by"])


def _genie_switchover_history(records: list, expected: dict, raw: str) -> None:
    rows = expected["index"]
    assert [str(r.index) for r in records] == list(rows)
    for record in records:
        row = rows[str(record.index)]
        assert (record.previous_active, record.current_active) == (row["previous_active"], row["current_active"])
        assert (record.reason, record.time) == (row["switchover_reason"], row["switchover_time"])


_ALGORITHMS = ("encryption", "prf", "hash", "auth_sign", "auth_verify")


def _genie_ikev2_sa(records: list, expected: dict, raw: str) -> None:
    """`show crypto ikev2 sa`: {"ipv4": {id: tunnel}, "ipv6": {...}}, values as printed."""
    tunnels = {
        (family, int(tunnel_id)): tunnel for family, rows in expected.items() for tunnel_id, tunnel in rows.items()
    }
    assert {(record.address_family, record.tunnel_id) for record in records} == set(tunnels)
    assert len(records) == len(tunnels)
    for record in records:
        tunnel = tunnels[(record.address_family, record.tunnel_id)]
        assert (record.local_address, record.local_port) == (tunnel["local_ip"], tunnel["local_port"])
        assert (record.remote_address, record.remote_port) == (tunnel["remote_ip"], tunnel["remote_port"])
        assert (record.fvrf, record.ivrf, record.status) == (tunnel["fvrf"], tunnel["ivrf"], tunnel["status"])
        for name in _ALGORITHMS:
            assert getattr(record, name) == tunnel[name], name
        assert (record.keysize, record.dh_group) == (tunnel.get("keysize"), tunnel["dh_group"])
        assert (record.lifetime_seconds, record.active_seconds) == (tunnel["life_time"], tunnel["active_time"])
        for name in ("ce_id", "session_id", "local_spi", "remote_spi"):
            assert getattr(record, name) == tunnel.get(name), name
        assert record.pqc_key_exchange == tunnel.get("pqc")


def _genie_ikev2_sa_detail(records: list, expected: dict, raw: str) -> None:
    """`show crypto ikev2 sa detail`: {"tunnel_id": {id: tunnel}}, words
    lower-cased, "local"/"remote" as address/port (IPv4 rows) or address
    alone (IPv6's Local/Remote lines)."""
    tunnels = {int(tunnel_id): tunnel for tunnel_id, tunnel in expected["tunnel_id"].items()}
    assert [record.tunnel_id for record in records] == sorted(tunnels, key=[r.tunnel_id for r in records].index)
    assert len(records) == len(tunnels)
    for record in records:
        tunnel = tunnels[record.tunnel_id]
        for side in ("local", "remote"):
            address, port = getattr(record, f"{side}_address"), getattr(record, f"{side}_port")
            assert tunnel[side] in (f"{address}/{port}", address), side
        assert (record.fvrf, record.ivrf, record.status.lower()) == (tunnel["fvrf"], tunnel["ivrf"], tunnel["status"])
        for name in _ALGORITHMS:
            assert (getattr(record, name) or "").lower() == tunnel[name], name
        assert (record.keysize, record.dh_group) == (tunnel.get("keysize"), tunnel["dh_grp"])
        assert (record.lifetime_seconds, record.active_seconds) == (tunnel["life_time"], tunnel["active_time"])
        for name in ("ce_id", "session_id", "local_spi", "remote_spi", "local_id", "remote_id"):
            assert getattr(record, name) == tunnel.get(name), name
        assert (record.status_description or "").lower() == tunnel["status_description"]
        assert record.initiator == (tunnel["initiator_of_sa"] == "yes")
        assert record.remote_subnets == tunnel.get("remote_subnets", [])


# The codes `show redundancy states` prints for the RF states these samples name.
_RF_CODES = {"ACTIVE": 13, "STANDBY HOT": 8, "STANDBY COLD": 4, "INITIALIZATION": 2, "DISABLED": 1}
# genieparser's keys per block of ShowRedundancyApplicationGroup: a key not
# listed here is a field nobody compared.
_RG_KEYS = {
    "group": {
        "group_name",
        "administrative_state",
        "aggregate_operational_state",
        "my_role",
        "peer_role",
        "peer_presence",
        "peer_comm",
        "peer_progression_started",
        "rf_domain",
        "fault_states_group",
        "rg_protocol",
        "rg_media_context",
    },
    "protocol": {
        "role",
        "negotiation",
        "priority",
        "protocol_state",
        "ctrl_interfaces_state",
        "active_peer",
        "standby_peer",
        "log_counters",
    },
    "media": {
        "ctx_state",
        "protocol_id",
        "media_type",
        "ctrl_interface",
        "timers",
        "stats",
        "active_peer",
        "standby_peer",
    },
}


def _yes(word: str) -> bool:
    return {"Yes": True, "No": False}[word]


def _rg_peer(peer, expected: dict | None) -> None:
    """An RG protocol peer line: genie's {"address": "Local"} or the other
    box's address, priority and interface."""
    if expected is None:
        assert peer is None
    elif expected == {"address": "Local"}:
        assert peer.local and (peer.address, peer.priority, peer.interface) == (None, None, None)
    else:
        assert not peer.local
        assert (peer.address, peer.priority, peer.interface) == (
            expected["address"],
            expected["priority"],
            expected["interface"],
        )


def _genie_rg_faults(record, faults: dict | None) -> None:
    if faults is None:  # `group <id>` prints no faults block
        assert (record.runtime_priority, record.faults_state, record.fault_switchovers) == (None, None, None)
        return
    assert list(faults) == [str(record.group_id)]
    (block,) = faults.values()
    assert record.runtime_priority == block["runtime_priority"]
    assert (record.faults_state, record.faults_up) == (block["rg_faults_rg_state"], block["rg_faults_rg_state"] == "Up")
    assert record.fault_switchovers == block["total_switchovers_due_to_faults"]
    assert record.fault_down_ups == block["total_down_or_up_state_changes_due_to_faults"]


def _genie_rg_protocol(record, protocol: dict | None) -> None:
    if protocol is None:
        assert (record.protocol_role, record.priority, record.active_peer, record.reload_requests_local) == (
            None,
            None,
            None,
            None,
        )
        return
    assert list(protocol) == [str(record.group_id)]
    (block,) = protocol.values()
    assert not set(block) - _RG_KEYS["protocol"], set(block) - _RG_KEYS["protocol"]
    assert (record.protocol_role, record.negotiation, record.priority) == (
        block["role"],
        block["negotiation"],
        block["priority"],
    )
    assert record.protocol_state == block["protocol_state"]
    assert record.control_interface_state == block["ctrl_interfaces_state"]
    assert record.control_interface_up == (block["ctrl_interfaces_state"] == "Up")
    _rg_peer(record.active_peer, block.get("active_peer"))
    _rg_peer(record.standby_peer, block.get("standby_peer"))
    counters = block["log_counters"]
    assert record.role_changes_to_active == counters["role_change_to_active"]
    assert record.role_changes_to_standby == counters["role_change_to_standby"]
    disable = counters["disable_events"]
    assert (record.disable_events_rg_down, record.disable_events_rg_shut) == (
        disable["rg_down_state"],
        disable["rg_shut"],
    )
    control = counters["ctrl_interface_events"]
    assert (
        record.control_interface_up_events,
        record.control_interface_down_events,
        record.control_interface_admin_down_events,
    ) == (control["up"], control["down"], control["admin_down"])
    reloads = counters["reload_events"]
    assert (record.reload_requests_local, record.reload_requests_peer) == (
        reloads["local_request"],
        reloads["peer_request"],
    )


def _genie_rg_media(record, media: dict | None, raw: str) -> None:
    if media is None:
        assert (record.context_state, record.hello_timer_ms, record.packets, record.media_peer_present) == (
            None,
            None,
            None,
            None,
        )
        return
    assert list(media) == [str(record.group_id)]
    (block,) = media.values()
    assert not set(block) - _RG_KEYS["media"], set(block) - _RG_KEYS["media"]
    assert (record.context_state, record.protocol_id, record.media_type) == (
        block["ctx_state"],
        block["protocol_id"],
        block["media_type"],
    )
    assert record.control_interface == block["ctrl_interface"]
    timers = block["timers"]
    assert (record.hello_timer_ms, record.configured_hello_timer_ms, record.hold_timer_ms) == (
        timers["current_hello_timer"],
        timers["configured_hello_timer"],
        timers["hold_timer"],
    )
    assert (record.peer_hello_timer_ms, record.peer_hold_timer_ms) == (
        timers["peer_hello_timer"],
        timers["peer_hold_timer"],
    )
    stats = block["stats"]
    assert (record.packets, record.packet_loss) == (stats["pkts"], stats["pkt_loss"])
    assert record.authentication_failures == stats["authentication_failures"]
    assert (record.reload_peer_sent, record.reload_peer_received) == (
        stats["reload_peer"]["tx"],
        stats["reload_peer"]["rx"],
    )
    assert (record.resigns_sent, record.resigns_received) == (stats["resign"]["tx"], stats["resign"]["rx"])
    if "authentication" in stats:
        assert record.authentication == f"Authentication {stats['authentication']}"
    else:
        # genieparser drops "MD5 Authentication configured" silently (its
        # pattern knows only "Authentication not configured"): the raw line.
        (line,) = re.findall(r"^\s*(\S.*Authentication\s+(?:not\s+)?configured)\s*$", raw, re.M)
        assert record.authentication == line
    ((role, peer),) = [(key, block[key]) for key in ("active_peer", "standby_peer") if key in block]
    assert record.media_peer_role == {"active_peer": "Active", "standby_peer": "Standby"}[role]
    assert record.media_peer_present == (peer["status"] == "Present")
    assert record.media_peer_hold_timer_ms == peer["hold_timer"]
    assert (record.peer_packets, record.peer_packet_loss) == (peer["pkts"], peer["pkt_loss"])


def _genie_redundancy_application_group(records: list, expected: dict, raw: str) -> None:
    """`show redundancy application group [all]`: {"group_id": {id: group}},
    roles and states as printed; the faults, protocol and media blocks keyed
    by the group id again, where the output has them."""
    groups = expected["group_id"]
    assert [str(record.group_id) for record in records] == list(groups)
    for record in records:
        group = groups[str(record.group_id)]
        assert not set(group) - _RG_KEYS["group"], set(group) - _RG_KEYS["group"]
        assert record.group_name == group["group_name"]
        assert record.administrative_state == group["administrative_state"]
        assert record.admin_up == (group["administrative_state"] == "No Shutdown")
        assert record.operational_state == group["aggregate_operational_state"]
        assert record.operational_up == (group["aggregate_operational_state"] == "Up")
        assert (record.my_role, record.peer_role) == (group["my_role"], group["peer_role"])
        assert record.peer_present == _yes(group["peer_presence"])
        assert record.peer_comm == _yes(group["peer_comm"])
        assert record.peer_progression_started == _yes(group["peer_progression_started"])
        ((domain, rf),) = group["rf_domain"].items()
        assert record.rf_domain == domain
        assert (record.rf_state.code, record.rf_state.name) == (_RF_CODES[rf["rf_state"]], rf["rf_state"])
        assert (record.peer_rf_state.code, record.peer_rf_state.name) == (
            _RF_CODES[rf["peer_rf_state"]],
            rf["peer_rf_state"],
        )
        _genie_rg_faults(record, group.get("fault_states_group"))
        _genie_rg_protocol(record, group.get("rg_protocol"))
        _genie_rg_media(record, group.get("rg_media_context"), raw)


COMPARE = {
    "show_standby_all": _genie_standby_all,
    "show_standby_brief": _genie_standby_brief,
    "show_redundancy_states": _genie_redundancy_states,
    "show_redundancy": _genie_redundancy,
    "show_crypto_ipsec_sa": _genie_ipsec_sa,
    "show_crypto_isakmp_sa": _genie_isakmp_sa,
    "show_crypto_session": _genie_crypto_session,
    "show_version": _genie_version,
    "show_redundancy_switchover_history": _genie_switchover_history,
    "show_crypto_ikev2_sa": _genie_ikev2_sa,
    "show_crypto_ikev2_sa_detail": _genie_ikev2_sa_detail,
    "show_redundancy_application_group": _genie_redundancy_application_group,
}


# --- the packetlife article's values (flat keys) -------------------------------


def _ms(text: str) -> int:
    """'3 sec' / '300 msec' -> milliseconds."""
    number, unit = text.split()
    return int(number) * (1 if unit == "msec" else 1000)


def _clock_seconds(text: str) -> int:
    hours, minutes, seconds = (int(part) for part in text.split(":"))
    return hours * 3600 + minutes * 60 + seconds


def _router_or_none(text: str) -> str | None:
    return None if text == "unknown" else text


# Per folder: flat key -> (record attribute, conversion of the flat value).
PACKETLIFE_KEYS: dict[str, dict[str, tuple[str, object]]] = {
    "show_standby": {
        "interface": ("interface", None),
        "group": ("group", None),
        "state": ("state", str.lower),
        "state_changes": ("state_changes", None),
        "last_state_change": ("last_state_change_seconds", _clock_seconds),
        "virtual_ip": ("virtual_ip", None),
        "virtual_mac": ("active_virtual_mac", None),
        "hello_time": ("hello_time_ms", _ms),
        "hold_time": ("hold_time_ms", _ms),
        "preemption": ("preempt", lambda word: word == "enabled"),
        "active_router": ("active_router", _router_or_none),
        "standby_router": ("standby_router", _router_or_none),
        "priority": ("priority", None),
        "group_name": ("group_name", None),
    },
    "show_redundancy_states": {
        "my_state": ("my_state", lambda text: _rf(text)),
        "peer_state": ("peer_state", lambda text: _rf(text)),
        "mode": ("mode", None),
        "unit_id": ("unit_id", None),
        "maintenance_mode": ("maintenance_mode", None),
        "manual_swact": ("manual_swact", None),
        "communications": ("communications", None),
        "client_count": ("client_count", None),
        "client_notification_tmr_msec": ("client_notification_timer_ms", None),
        "rf_debug_mask": ("rf_debug_mask", None),
    },
    "show_redundancy_inter_device": {
        "state": ("state_token", None),
        "scheme": ("scheme", None),
        "group_name": ("group_name", None),
        "group_state": ("group_state", None),
        "security": ("security", None),
    },
}


def _packetlife(folder: str, records: list, values: dict) -> None:
    keys = {key: value for key, value in values.items() if key != "note"}
    if folder == "show_logging":
        assert set(keys) == {"messages"}
        assert [record.message for record in records] == keys["messages"]
        for record, message in zip(records, keys["messages"], strict=True):
            facility, severity, mnemonic = re.match(r"%(.+)-(\d)-(\w+):", message).groups()
            assert (record.facility, record.severity, record.mnemonic) == (facility, int(severity), mnemonic)
        return
    (record,) = records
    mapping = PACKETLIFE_KEYS[folder]
    assert not set(keys) - set(mapping), f"map the new keys {sorted(set(keys) - set(mapping))} to record fields"
    for key, value in keys.items():
        attribute, convert = mapping[key]
        expected = value if convert is None or value is None else convert(value)
        actual = getattr(record, attribute)
        if attribute in ("my_state", "peer_state"):
            actual = (actual.code, actual.name)
        assert actual == expected, (key, actual, expected)
