"""`check` on an IOS-XE box-to-box pair: the table shows a row per member
and watched group (role, RF states, runtime/configured priority), the JSON
carries the mode and the groups, and --nagios names the failed group rules
with their severity. The poll is replaced by snapshots built from records
(the real IOS-XE group sample, values set by hand), recorded through the
real Monitor; the rest of `check` runs as it does against routers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.b2b import DISABLED_RF, Pair, group, polled_as, vip, write_xe_inventory

from ipsec_ha_monitor.cli import main
from ipsec_ha_monitor.inventory import load_inventory
from ipsec_ha_monitor.lab.topology import LabPair
from ipsec_ha_monitor.records import RedundancyGroup
from ipsec_ha_monitor.snapshot import Snapshot


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_xe_inventory(tmp_path)


def members(
    pair: LabPair, config: Path, xe1: RedundancyGroup, xe2: RedundancyGroup, xe2_vip: bool = False
) -> dict[str, Snapshot]:
    """XE1 with R2's active SAs, XE2 with R1's copies, whatever their roles."""
    xe = Pair(pair, load_inventory(config))
    return xe.baseline(
        xe1_groups=(xe1,),
        xe2_groups=(xe2,),
        xe2_vips=(vip(xe2_vip),),
        xe1_crypto=xe.active_crypto,
        xe2_crypto=xe.standby_crypto,
    )


def run(capsys: pytest.CaptureFixture[str], config: Path, *extra: str) -> tuple[int, str]:
    code = main(["check", "--config", str(config), "--progress", "never", *extra])
    return code, capsys.readouterr().out


def test_the_table_shows_each_member_and_group(
    pair: LabPair, config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    polled_as(monkeypatch, members(pair, config, group("ACTIVE"), group("STANDBY")))
    code, out = run(capsys, config)
    assert code == 0, out
    lines = out.splitlines()
    start = lines.index("pair XE-PAIR-1: HEALTHY (group 1 ACTIVE: XE1)")
    header, xe1, xe2 = (line.split() for line in lines[start + 1 : start + 4])
    assert header[:7] == ["DEVICE", "POLL", "GROUP", "ROLE", "MY/PEER", "RF", "MY/PEER"]
    assert xe1[:6] == ["XE1", "ok", "1", "ACTIVE/STANDBY", "ACTIVE/STANDBY", "HOT"]
    assert "150/150" in xe1 and "2/2" in xe1
    assert xe2[:7] == ["XE2", "ok", "1", "STANDBY/ACTIVE", "STANDBY", "HOT/ACTIVE", "150/150"]
    assert "HSRP" not in lines[start + 1]  # no classic columns for a b2b pair


def test_a_failing_pair_names_its_group_rules_in_the_table_json_and_nagios(
    pair: LabPair, config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    split = group("ACTIVE", peer_rf_state=DISABLED_RF, runtime_priority=140)
    polled_as(monkeypatch, members(pair, config, group("ACTIVE"), split, xe2_vip=True))
    code, out = run(capsys, config)
    assert code == 1
    assert "pair XE-PAIR-1: UNHEALTHY\n" in out  # no single ACTIVE member to name
    assert "  FAILED  rg_single_active: group 1: XE1 and XE2 are both ACTIVE (split brain)\n" in out
    assert "  FAILED  rg_vip_single_owner: group 1: VIP 10.0.0.3 is no shut on both XE1 and XE2\n" in out
    xe2 = next(line.split() for line in out.splitlines() if line.startswith("  XE2 "))
    assert xe2[:6] == ["XE2", "ok", "1", "ACTIVE/STANDBY", "ACTIVE/DISABLED", "140/150"]

    code, out = run(capsys, config, "--json")
    report = json.loads(out)
    (judged,) = report["pairs"]
    assert (code, report["exit_code"], judged["verdict"], judged["mode"]) == (1, 1, "unhealthy", "b2b")
    failed = {rule["rule"] for rule in judged["rules"] if rule["ok"] is False}
    assert failed == {
        "rg_single_active",
        "rg_peer_standby_hot",
        "rg_priority_not_decremented",
        "rg_vip_single_owner",
    }
    # No single ACTIVE member: the SAs are judged on none.
    assert [rule["ok"] for rule in judged["rules"] if rule["rule"] == "expected_peers_have_sa"] == [None]
    assert [(g["group"], g["device"], g["role"], g["runtime_priority"], g["priority"]) for g in judged["groups"]] == [
        (1, "XE1", "ACTIVE", 150, 150),
        (1, "XE2", "ACTIVE", 140, 150),
    ]

    code, out = run(capsys, config, "--nagios")
    assert code == 2  # CRITICAL: the split brain's severity
    status, *details = out.splitlines()
    assert status.startswith("IPSECHA CRITICAL - 1 pair unhealthy: XE-PAIR-1 (rg_single_active, rg_peer_standby_hot, ")
    assert "XE-PAIR-1: UNHEALTHY" in details
    assert "  FAILED rg_priority_not_decremented: group 1: XE2's runtime priority 140 is below its configured 150 " in (
        "\n".join(details)
    )


def test_a_decremented_priority_alone_is_a_warning(
    pair: LabPair, config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    polled_as(monkeypatch, members(pair, config, group("ACTIVE", runtime_priority=140), group("STANDBY")))
    code, out = run(capsys, config, "--nagios")
    assert code == 1, out
    assert out.startswith("IPSECHA WARNING - 1 pair degraded: XE-PAIR-1 (rg_priority_not_decremented)")
    assert "XE-PAIR-1: DEGRADED (group 1 ACTIVE: XE1)" in out
