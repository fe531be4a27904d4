"""The IOS-XE box-to-box metric families (ipsecha_rg_*): every group series
with its labels and values, from snapshots built from the real IOS-XE
sample of `show redundancy application group all` (Genie's golden output,
Apache-2.0) and its changed states; the staleness rule; the inventory's
threshold and the exporter's takeover counts; the exposition read back as
Prometheus reads it, and checked by promtool where it is installed."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest
from support.exposition import Samples, parse_samples
from support.exposition import sample as value
from support.paths import REPO
from support.prometheus import PROMTOOL

from ipsec_ha_monitor.export import METRICS, ExportView, render
from ipsec_ha_monitor.export.metrics import RG_TAKEOVER_CAUSES
from ipsec_ha_monitor.inventory import Inventory, load_inventory
from ipsec_ha_monitor.parse import parse_output
from ipsec_ha_monitor.records import RedundancyGroup, RfState
from ipsec_ha_monitor.snapshot import CommandResult, Snapshot, Status

GROUP_ALL = "show redundancy application group all"
IF_MGR = "show redundancy application if-mgr group"
SAMPLE = REPO / "tests" / "corpus" / "show_redundancy_application_group" / "genie__iosxe_golden_output_2.raw"
PAIR = "XE-PAIR-1"
XE1 = {"device": "XE1", "pair": PAIR, "group": "1"}
XE2 = {"device": "XE2", "pair": PAIR, "group": "1"}
# The if-mgr form, as the contract writes it (this repository's own words).
IF_MGR_TEXT = """RG ID: 1
 ==========

 interface      GigabitEthernet0/0/3
 ---------------------------------------
 VMAC           0007.b421.4e21
 VIP            10.0.0.3
 Shut           {state}
 Decrement      10

"""


@pytest.fixture
def inventory(tmp_path: Path) -> Inventory:
    path = tmp_path / "inventory.yml"
    path.write_text(
        "lab: true\ndefaults: {platform: cisco_xe, credentials: {username: netops, password: x}}\n"
        "pairs:\n"
        f"  - {{name: {PAIR}, members: [XE1, XE2], mode: b2b, groups: [{{id: 1, failover_threshold: 140}}, 2]}}\n"
        "devices:\n"
        f"  - {{name: XE1, host: 127.0.0.1, port: 2201, role: hub, pair: {PAIR}}}\n"
        f"  - {{name: XE2, host: 127.0.0.1, port: 2202, role: hub, pair: {PAIR}}}\n",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return load_inventory(path)


def standby_group() -> RedundancyGroup:
    """The real sample: group 1 GREEN, this box STANDBY (STANDBY HOT), its peer ACTIVE."""
    (group,) = parse_output(GROUP_ALL, SAMPLE.read_text(encoding="utf-8"), "cisco_xe")
    assert isinstance(group, RedundancyGroup)
    return group


def active_group() -> RedundancyGroup:
    """The same group seen from the ACTIVE member (priority 255, its peer STANDBY HOT)."""
    return dataclasses.replace(
        standby_group(),
        my_role="ACTIVE",
        peer_role="STANDBY",
        rf_state=RfState(13, "ACTIVE"),
        peer_rf_state=RfState(8, "STANDBY HOT"),
        runtime_priority=255,
        priority=255,
        protocol_role="Active",
        protocol_state="Active",
        reload_requests_local=0,
        packet_loss=3,
        peer_packet_loss=1,
        authentication_failures=2,
    )


def snapshot(device: str, groups: tuple | None, interfaces: tuple | None = ()) -> Snapshot:
    """One poll of an XE member: the group command (None: it timed out) and the if-mgr one (None: not run)."""
    results = [CommandResult("show version", Status.PARSE, error="not read here")]
    if groups is None:
        results.append(CommandResult(GROUP_ALL, Status.TIMEOUT, error="no prompt"))
    else:
        results.append(CommandResult(GROUP_ALL, Status.OK, groups))
    if interfaces is not None:
        results.append(CommandResult(IF_MGR, Status.OK, interfaces))
    return Snapshot(device, PAIR, "hub", 1_000_000.0, 0.5, tuple(results), monotonic=50.0, monotonic_end=50.5)


def if_mgr(state: str) -> tuple:
    return tuple(parse_output(IF_MGR, IF_MGR_TEXT.format(state=state), "cisco_xe"))


def page(inventory: Inventory, *snapshots: Snapshot, takeovers: dict | None = None) -> bytes:
    view = ExportView(inventory, {s.device: s for s in snapshots}, now=60.0, rg_takeovers=takeovers or {})
    return render(view)


def scrape(inventory: Inventory, *snapshots: Snapshot, takeovers: dict | None = None) -> Samples:
    return parse_samples(page(inventory, *snapshots, takeovers=takeovers).decode())


def series(samples: Samples, name: str, **labels: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of `name` whose labels include `labels`."""
    return {key: v for key, v in samples.get(name, {}).items() if set(labels.items()) <= set(key)}


def test_the_real_sample_as_metrics(inventory: Inventory) -> None:
    samples = scrape(inventory, snapshot("XE1", (standby_group(),), if_mgr("shut")))
    roles = {dict(k)["role"]: v for k, v in series(samples, "ipsecha_rg_role", **XE1).items()}
    assert roles == {"init": 0, "standby": 1, "active": 0}
    peer_roles = {dict(k)["role"]: v for k, v in series(samples, "ipsecha_rg_peer_role", **XE1).items()}
    assert peer_roles == {"init": 0, "standby": 0, "active": 1}
    expected = {
        "ipsecha_rg_rf_state": 8,
        "ipsecha_rg_peer_rf_state": 13,
        "ipsecha_rg_peer_present": 1,
        "ipsecha_rg_peer_comm": 1,
        "ipsecha_rg_peer_progression_started": 1,
        "ipsecha_rg_admin_up": 1,
        "ipsecha_rg_oper_up": 1,
        "ipsecha_rg_faults_up": 1,
        "ipsecha_rg_control_interface_up": 1,
        "ipsecha_rg_runtime_priority": 150,
        "ipsecha_rg_priority": 150,
        "ipsecha_rg_fault_switchovers_total": 8,
        "ipsecha_rg_fault_state_changes_total": 0,
        "ipsecha_rg_authentication_failures_total": 0,
        # Base units: 250 ms and 750 ms as printed.
        "ipsecha_rg_hello_interval_seconds": 0.25,
        "ipsecha_rg_hold_time_seconds": 0.75,
    }
    assert {name: value(samples, name, **XE1) for name in expected} == expected
    by_label = {
        ("ipsecha_rg_role_changes_total", "to", "active"): 10,
        ("ipsecha_rg_role_changes_total", "to", "standby"): 11,
        ("ipsecha_rg_reload_requests_total", "origin", "local"): 8,
        ("ipsecha_rg_reload_requests_total", "origin", "peer"): 0,
        ("ipsecha_rg_control_interface_events_total", "event", "up"): 1,
        ("ipsecha_rg_control_interface_events_total", "event", "down"): 1,
        ("ipsecha_rg_control_interface_events_total", "event", "admin_down"): 0,
        ("ipsecha_rg_disable_events_total", "cause", "rg_down"): 0,
        ("ipsecha_rg_disable_events_total", "cause", "rg_shut"): 0,
        ("ipsecha_rg_hello_packets_lost_total", "side", "local"): 0,
        ("ipsecha_rg_hello_packets_lost_total", "side", "peer"): 0,
        ("ipsecha_rg_resigns_total", "direction", "sent"): 10,
        ("ipsecha_rg_resigns_total", "direction", "received"): 10,
    }
    assert {key: value(samples, key[0], **XE1, **{key[1]: key[2]}) for key in by_label} == by_label
    info = {"group_name": "GREEN", "rf_domain": "btob-one", "control_interface": "Port-channel60.2511"}
    assert value(samples, "ipsecha_rg_info", **XE1, **info) == 1
    vip = {"interface": "GigabitEthernet0/0/3", "vip": "10.0.0.3"}
    assert value(samples, "ipsecha_rg_vip_owned", **XE1, **vip) == 0  # shut: the standby does not own it
    # Every family's labels are METRICS's, on every sample.
    for name in METRICS:
        for key in samples.get(name, {}):
            assert {label for label, _ in key} == set(METRICS[name].labels), name


def test_the_active_member_and_a_vip_it_owns(inventory: Inventory) -> None:
    samples = scrape(
        inventory,
        snapshot("XE1", (standby_group(),), if_mgr("shut")),
        snapshot("XE2", (active_group(),), if_mgr("no shut")),
    )
    assert value(samples, "ipsecha_rg_role", **XE2, role="active") == 1
    assert value(samples, "ipsecha_rg_peer_rf_state", **XE2) == 8
    assert value(samples, "ipsecha_rg_runtime_priority", **XE2) == 255
    assert value(samples, "ipsecha_rg_hello_packets_lost_total", **XE2, side="local") == 3
    assert value(samples, "ipsecha_rg_hello_packets_lost_total", **XE2, side="peer") == 1
    assert value(samples, "ipsecha_rg_authentication_failures_total", **XE2) == 2
    vip = {"interface": "GigabitEthernet0/0/3", "vip": "10.0.0.3"}
    assert value(samples, "ipsecha_rg_vip_owned", **XE2, **vip) == 1
    assert value(samples, "ipsecha_rg_vip_owned", **XE1, **vip) == 0


def test_a_role_outside_the_set_is_added_lower_cased(inventory: Inventory) -> None:
    group = dataclasses.replace(standby_group(), my_role="DISABLED", peer_role=None, peer_rf_state=None)
    samples = scrape(inventory, snapshot("XE1", (group,)))
    roles = {dict(k)["role"]: v for k, v in series(samples, "ipsecha_rg_role", **XE1).items()}
    assert roles == {"init": 0, "standby": 0, "active": 0, "disabled": 1}
    # What IOS did not print gives no series, never a 0.
    assert series(samples, "ipsecha_rg_peer_role", **XE1) == {}
    assert value(samples, "ipsecha_rg_peer_rf_state", **XE1) is None


def test_a_priority_decrement_and_a_fault(inventory: Inventory) -> None:
    group = dataclasses.replace(
        active_group(), runtime_priority=135, faults_state="Down", faults_up=False, control_interface_up=False
    )
    samples = scrape(inventory, snapshot("XE2", (group,)))
    assert (value(samples, "ipsecha_rg_runtime_priority", **XE2), value(samples, "ipsecha_rg_priority", **XE2)) == (
        135,
        255,
    )
    assert value(samples, "ipsecha_rg_faults_up", **XE2) == 0
    assert value(samples, "ipsecha_rg_control_interface_up", **XE2) == 0
    # The inventory's threshold, per watched group (group 2 has none).
    assert value(samples, "ipsecha_rg_failover_threshold", pair=PAIR, group="1") == 140
    assert value(samples, "ipsecha_rg_failover_threshold", pair=PAIR, group="2") is None
    assert value(samples, "ipsecha_pair_info", pair=PAIR, mode="b2b") == 1


def test_a_group_printed_twice_gives_its_series_once(inventory: Inventory) -> None:
    samples = scrape(inventory, snapshot("XE1", (standby_group(), standby_group()), if_mgr("shut") * 2))
    assert value(samples, "ipsecha_rg_priority", **XE1) == 150  # parse_samples fails on a duplicate


def test_staleness_a_failed_group_command_drops_the_group_series(inventory: Inventory) -> None:
    """Only a command that ran and parsed in the latest poll gives series:
    the group command timed out, the if-mgr one was not run. What the
    inventory and the exporter say stays."""
    samples = scrape(inventory, snapshot("XE1", None, None), takeovers={(PAIR, 1, "preempt"): 1})
    rg = [name for name in samples if name.startswith("ipsecha_rg_") and samples[name]]
    assert sorted(rg) == ["ipsecha_rg_failover_threshold", "ipsecha_rg_takeovers_total"]
    assert value(samples, "ipsecha_device_up", device="XE1", pair=PAIR) == 0
    assert value(samples, "ipsecha_command_success", device="XE1", pair=PAIR, command=GROUP_ALL) == 0
    # The if-mgr command answered nothing (no interface): no VIP series, the group series still there.
    samples = scrape(inventory, snapshot("XE1", (standby_group(),), ()))
    assert samples.get("ipsecha_rg_vip_owned", {}) == {}
    assert value(samples, "ipsecha_rg_priority", **XE1) == 150


def test_takeovers_by_cause_from_0(inventory: Inventory) -> None:
    """RgHistory.takeovers() (pair, group id, cause) -> count, every watched
    group and cause written from 0, so Prometheus sees the first as an increase."""
    samples = scrape(inventory, snapshot("XE1", (standby_group(),)), takeovers={(PAIR, 1, "preempt"): 2})
    counts = {(dict(k)["group"], dict(k)["cause"]): v for k, v in samples["ipsecha_rg_takeovers_total"].items()}
    assert counts == {
        (group, cause): 2 if (group, cause) == ("1", "preempt") else 0
        for group in ("1", "2")
        for cause in RG_TAKEOVER_CAUSES
    }
    # A pair with no member in the view (a /probe of another device) has none.
    assert scrape(inventory).get("ipsecha_rg_takeovers_total", {}) == {}


def test_names_follow_the_writing_exporters_guide() -> None:
    for name, spec in METRICS.items():
        if not name.startswith("ipsecha_rg_"):
            continue
        assert name.endswith("_total") == (spec.kind == "counter"), name
        assert name.endswith("_info") == (spec.kind == "info"), name
        assert not name.endswith(("_milliseconds", "_ms", "_timestamp")), name
        assert "group" in spec.labels and "pair" in spec.labels, name
        # Pair facts (the inventory's, the exporter's) carry no device; every poll fact does.
        assert ("device" in spec.labels) == (
            name not in {"ipsecha_rg_failover_threshold", "ipsecha_rg_takeovers_total"}
        )


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
def test_promtool_accepts_the_page(inventory: Inventory) -> None:
    """`promtool check metrics`, as tests/test_exporter_conventions.py runs it on the served page."""
    body = page(
        inventory,
        snapshot("XE1", (standby_group(),), if_mgr("shut")),
        snapshot("XE2", (active_group(),), if_mgr("no shut")),
        takeovers={(PAIR, 1, "fault"): 1},
    )
    result = subprocess.run([str(PROMTOOL), "check", "metrics"], input=body, capture_output=True, timeout=60)
    findings = (result.stdout + result.stderr).decode(errors="replace").strip()
    assert result.returncode == 0 and not findings, findings[:3000]
