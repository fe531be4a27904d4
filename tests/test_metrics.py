"""The metric families: every contract metric with its labels and values,
read back through prometheus_client's own parser; the staleness rule; the
naming rules of the "writing exporters" guide."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from support.exposition import Samples, parse_samples
from support.exposition import sample as value
from support.snapshots import snapshot_of

from ipsec_ha_monitor.export import METRICS, ExportView, render
from ipsec_ha_monitor.health import evaluate_pair
from ipsec_ha_monitor.inventory import Inventory
from ipsec_ha_monitor.lab.topology import LabPair, drop_tunnel
from ipsec_ha_monitor.snapshot import Snapshot, Status

CONTRACT = {  # SPEC.md: name -> labels
    "ipsecha_device_up": {"device", "pair"},
    "ipsecha_poll_duration_seconds": {"device", "pair"},
    "ipsecha_hsrp_state": {"device", "pair", "interface", "group", "group_name", "state"},
    "ipsecha_hsrp_priority": {"device", "pair", "interface", "group"},
    "ipsecha_hsrp_preempt": {"device", "pair", "interface", "group"},
    "ipsecha_redundancy_my_state": {"device", "pair"},
    "ipsecha_redundancy_peer_state": {"device", "pair"},
    "ipsecha_redundancy_duplex": {"device", "pair"},
    "ipsecha_redundancy_communications_up": {"device", "pair"},
    "ipsecha_uptime_seconds": {"device", "pair"},
    "ipsecha_reloads_total": {"device", "pair", "expected"},
    "ipsecha_ipsec_sa_active": {"device", "pair", "peer"},
}


def scrape(pair: LabPair, inventory: Inventory, **replaced: Snapshot) -> Samples:
    """name -> {sorted label items: value}, as a Prometheus server would read it."""
    snapshots = {router.name: snapshot_of(router) for router in (*pair.hubs, *pair.branches)}
    snapshots.update(replaced)
    health = [evaluate_pair(p, snapshots, inventory) for p in inventory.pairs.values()]
    view = ExportView(inventory, snapshots, health, {("R2", False): 1}, now=1_000_010.0)
    return parse_samples(render(view).decode())


def test_every_contract_metric_on_the_baseline(pair: LabPair, inventory: Inventory) -> None:
    samples = scrape(pair, inventory)
    for name, labels in CONTRACT.items():
        assert name in samples, name
        assert all(set(dict(key)) == labels for key in samples[name]), name
    r1, r2 = {"device": "R1", "pair": "HUB-PAIR-1"}, {"device": "R2", "pair": "HUB-PAIR-1"}
    assert value(samples, "ipsecha_device_up", **r1) == 1 and value(samples, "ipsecha_device_up", **r2) == 1
    assert value(samples, "ipsecha_device_up", device="R4", pair="") == 1  # a branch: in no pair
    assert value(samples, "ipsecha_poll_duration_seconds", **r2) == 0.2
    group = {"interface": "FastEthernet0/0", "group": "1", "group_name": "BRANCH-5-TUNNEL"}
    r2_states = {
        state: value(samples, "ipsecha_hsrp_state", **r2, **group, state=state)
        for state in ("init", "learn", "listen", "speak", "standby", "active")
    }
    assert r2_states == {"init": 0, "learn": 0, "listen": 0, "speak": 0, "standby": 0, "active": 1}
    assert value(samples, "ipsecha_hsrp_state", **r1, **group, state="standby") == 1
    assert value(samples, "ipsecha_hsrp_preempt", **r1, interface="FastEthernet0/0", group="1") == 0
    assert (
        value(samples, "ipsecha_hsrp_priority", **r1, interface="FastEthernet0/0", group="1")
        == pair.r1.hsrp[0].priority
    )
    assert (
        value(samples, "ipsecha_redundancy_my_state", **r2),
        value(samples, "ipsecha_redundancy_peer_state", **r2),
    ) == (13, 8)
    assert (
        value(samples, "ipsecha_redundancy_my_state", **r1),
        value(samples, "ipsecha_redundancy_peer_state", **r1),
    ) == (8, 13)
    assert value(samples, "ipsecha_redundancy_duplex", **r2) == 1
    assert value(samples, "ipsecha_redundancy_communications_up", **r2) == 1
    assert value(samples, "ipsecha_uptime_seconds", **r2) == pytest.approx(pair.r2.uptime_seconds(), abs=60)
    assert value(samples, "ipsecha_reloads_total", **r2, expected="false") == 1
    # SAs: both expected peers on the active hub; 0 on the standby (its copies are STANDBY).
    assert value(samples, "ipsecha_ipsec_sa_active", **r2, peer="172.16.0.4") == 2
    assert value(samples, "ipsecha_ipsec_sa_active", **r1, peer="172.16.0.5") == 0
    assert value(samples, "ipsecha_pair_verdict", pair="HUB-PAIR-1", verdict="healthy") == 1
    assert value(samples, "ipsecha_pair_rf_active_members", pair="HUB-PAIR-1") == 1
    assert value(samples, "ipsecha_pair_rule_ok", pair="HUB-PAIR-1", rule="peer_standby_hot") == 1
    (info,) = [dict(key) for key in samples["ipsecha_reload_info"] if dict(key)["device"] == "R2"]
    assert (info["reason"], info["returned_to_rom_by"], info["cause"]) == ("reload", "reload", "operator")
    assert info["boot"] == _boot(1_000_000.0 - value(samples, "ipsecha_uptime_seconds", **r2))
    # The standby's copies: as many as the active SAs, per branch.
    for peer in ("172.16.0.4", "172.16.0.5"):
        assert value(samples, "ipsecha_ipsec_sa_standby", **r1, peer=peer) == 2
        assert value(samples, "ipsecha_ipsec_sa_standby", **r2, peer=peer) == 0
        assert value(samples, "ipsecha_crypto_session_standby", **r1, peer=peer) == 1
        assert value(samples, "ipsecha_crypto_session_standby", **r2, peer=peer) == 0
    assert value(samples, "ipsecha_isakmp_sas", **r1, state="QM_IDLE", status="standby") == 2
    assert value(samples, "ipsecha_isakmp_sas", **r2, state="QM_IDLE", status="active") == 2
    # IKEv1 branches: show crypto ikev2 sa answers with no SA, an explicit 0.
    assert value(samples, "ipsecha_ikev2_sas", **r2, status="ready") == 0
    assert "ipsecha_ikev2_sa_ready" not in samples or not samples["ipsecha_ikev2_sa_ready"]
    assert value(samples, "ipsecha_pair_rule_ok", pair="HUB-PAIR-1", rule="standby_has_sa_copies") == 1


def _boot(at: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(at, dt.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


def test_a_standby_without_copies_reads_0_and_fails_its_rule(pair: LabPair, inventory: Inventory) -> None:
    for tunnel in pair.r1.tunnels.values():
        drop_tunnel(tunnel, negotiating=False)
    samples = scrape(pair, inventory)
    r1 = {"device": "R1", "pair": "HUB-PAIR-1"}
    assert value(samples, "ipsecha_ipsec_sa_standby", **r1, peer="172.16.0.4") == 0  # expected peers: 0, not absent
    assert value(samples, "ipsecha_pair_rule_ok", pair="HUB-PAIR-1", rule="standby_has_sa_copies") == 0
    assert value(samples, "ipsecha_pair_verdict", pair="HUB-PAIR-1", verdict="unhealthy") == 1


def test_reload_causes_and_the_boot_are_exported(pair: LabPair, inventory: Inventory) -> None:
    pair.r1.syslog("%RF_INTERDEV-4-RELOAD: % RF induced self-reload. my state = STANDBY HOT peer state = ACTIVE")
    pair.r1.syslog("%SYS-5-RESTART: System restarted --")
    snapshots = {router.name: snapshot_of(router) for router in (*pair.hubs, *pair.branches)}
    view = ExportView(
        inventory,
        snapshots,
        [],
        {("R1", False): 1},
        1_000_010.0,
        {("R1", "rf_self_reload"): 1},
        {"R1": 999_000.0},
    )
    samples = parse_samples(render(view).decode())
    (info,) = [dict(key) for key in samples["ipsecha_reload_info"] if dict(key)["device"] == "R1"]
    assert (info["cause"], info["boot"]) == ("rf_self_reload", _boot(999_000.0))  # the boot as the monitor saw it begin
    r1 = {"device": "R1", "pair": "HUB-PAIR-1"}
    assert value(samples, "ipsecha_reloads_by_cause_total", **r1, cause="rf_self_reload") == 1
    assert value(samples, "ipsecha_reloads_total", **r1, expected="false") == 1
    assert value(samples, "ipsecha_reloads_total", **r1, expected="true") == 0  # written from 0
    assert value(samples, "ipsecha_reloads_by_cause_total", **r1, cause="crash") == 0


def test_an_expected_peer_without_sa_reads_0_not_absent(pair: LabPair, inventory: Inventory) -> None:
    drop_tunnel(pair.r2.tunnels["172.16.0.5"], negotiating=True)
    samples = scrape(pair, inventory)
    r2 = {"device": "R2", "pair": "HUB-PAIR-1"}
    assert value(samples, "ipsecha_ipsec_sa_active", **r2, peer="172.16.0.5") == 0
    assert value(samples, "ipsecha_pair_rule_ok", pair="HUB-PAIR-1", rule="expected_peers_have_sa") == 0
    assert value(samples, "ipsecha_pair_verdict", pair="HUB-PAIR-1", verdict="unhealthy") == 1


def test_the_stateful_group_and_expected_peers_are_exported(pair: LabPair, inventory: Inventory) -> None:
    """The alert rules join on these: which HSRP group carries stateful
    failover (from `scheme standby`), and which peers the inventory expects
    (there whether or not the device answered)."""
    samples = scrape(pair, inventory)
    for hub in ("R1", "R2"):
        labels = {"device": hub, "pair": "HUB-PAIR-1"}
        assert value(samples, "ipsecha_redundancy_stateful_group_info", **labels, group_name="BRANCH-5-TUNNEL") == 1
        # The device's own `scheme standby`, whatever the inventory says: what
        # IpsechaStatefulGroupInconsistent compares with the group above.
        assert value(samples, "ipsecha_redundancy_scheme_info", **labels, group_name="BRANCH-5-TUNNEL") == 1
        expected = {dict(key)["peer"] for key in samples["ipsecha_ipsec_peer_expected"] if dict(key)["device"] == hub}
        assert expected == set(inventory.devices[hub].expected_peers) == {"172.16.0.4", "172.16.0.5"}
    assert not [key for key in samples["ipsecha_ipsec_peer_expected"] if dict(key)["device"] == "R4"]

    r2 = snapshot_of(pair.r2)
    down = tuple(dataclasses.replace(r, status=Status.CONNECT, records=(), error="refused") for r in r2.results)
    samples = scrape(pair, inventory, R2=dataclasses.replace(r2, results=down))
    r2_labels = {"device": "R2", "pair": "HUB-PAIR-1"}
    assert value(samples, "ipsecha_ipsec_peer_expected", **r2_labels, peer="172.16.0.4") == 1
    assert ("device", "R2") not in {i for key in samples["ipsecha_redundancy_stateful_group_info"] for i in key}
    assert ("device", "R2") not in {i for key in samples["ipsecha_redundancy_scheme_info"] for i in key}


def test_a_failed_command_drops_its_series_and_says_so(pair: LabPair, inventory: Inventory) -> None:
    r1 = snapshot_of(pair.r1)
    failed = tuple(
        dataclasses.replace(r, status=Status.TIMEOUT, records=(), error="stalled")
        if r.command == "show redundancy states"
        else r
        for r in r1.results
    )
    samples = scrape(pair, inventory, R1=dataclasses.replace(r1, results=failed))
    labels = {"device": "R1", "pair": "HUB-PAIR-1"}
    assert value(samples, "ipsecha_device_up", **labels) == 0
    assert ("device", "R1") not in {item for key in samples["ipsecha_redundancy_my_state"] for item in key}
    command = {**labels, "command": "show redundancy states"}
    assert value(samples, "ipsecha_command_success", **command) == 0
    assert value(samples, "ipsecha_command_status", **command, status="timeout") == 1
    assert {dict(key)["status"] for key in samples["ipsecha_command_status"] if dict(key)["device"] == "R1"} == {
        "ok",
        "timeout",
    }
    # What did run in this poll is still shown: it is as fresh as the failure.
    assert value(samples, "ipsecha_uptime_seconds", **labels) > 0
    assert value(samples, "ipsecha_data_age_seconds", **labels) == pytest.approx(9.8)


def test_names_follow_the_writing_exporters_guide() -> None:
    text = render(ExportView(Inventory(Path("inventory.yml")), {})).decode()
    for name, spec in METRICS.items():
        assert name.startswith("ipsecha_") and name == name.lower()
        assert name.endswith("_total") == (spec.kind == "counter"), name
        assert name.endswith("_info") == (spec.kind == "info"), name
        assert f"# HELP {name} {spec.help}" in text  # every metric has HELP, even with no sample yet
        assert not name.endswith(("_timestamp", "_milliseconds", "_ms")), name
        # A pair's own series (its verdict, what the inventory or the exporter
        # says of one of its groups) carry no device; every other one does.
        pair_level = name.startswith("ipsecha_pair_") or spec.labels[0] == "pair"
        assert set(spec.labels) >= ({"pair"} if pair_level else {"device", "pair"}), name


def test_label_values_are_escaped(pair: LabPair, inventory: Inventory) -> None:
    reason = 'error - a Software forced crash, "PC" 0x60435894 \\ see\nbootflash'
    r4 = snapshot_of(pair.branches[0])
    results = tuple(
        dataclasses.replace(r, records=(dataclasses.replace(r.records[0], reload_reason=reason),))
        if r.command == "show version"
        else r
        for r in r4.results
    )
    samples = scrape(pair, inventory, R4=dataclasses.replace(r4, results=results))
    (labels,) = [dict(key) for key in samples["ipsecha_reload_info"] if dict(key)["device"] == "R4"]
    assert labels["reason"] == reason


def test_two_sessions_toward_one_peer_give_one_series(pair: LabPair, inventory: Inventory) -> None:
    r4 = snapshot_of(pair.branches[0])
    (session,) = r4.result("show crypto session").records
    down = dataclasses.replace(session, interface="Tunnel1", status="DOWN", up=False)
    results = tuple(
        dataclasses.replace(r, records=(session, down, session)) if r.command == "show crypto session" else r
        for r in r4.results
    )
    samples = scrape(pair, inventory, R4=dataclasses.replace(r4, results=results))  # asserts no duplicate series
    peer = {"device": "R4", "pair": "", "peer": session.peer}
    assert value(samples, "ipsecha_crypto_session_up", **peer) == 1
    statuses = {dict(key)["status"] for key in samples["ipsecha_crypto_session_status"] if dict(key)["device"] == "R4"}
    assert statuses == {session.status, "DOWN"}
