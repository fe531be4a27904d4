"""Snapshots of an IOS-XE box-to-box pair (XE-PAIR-1: XE1, XE2, group 1)
built from records, without SSH: the group records from the real IOS-XE
sample (Genie's, parsed as a poll would), each value set by hand; the
crypto results from the lab's rendered outputs; the inventory naming the
pair."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ipsec_ha_monitor import check as check_module
from ipsec_ha_monitor.health import PairHealth, evaluate_pair
from ipsec_ha_monitor.inventory import Inventory
from ipsec_ha_monitor.lab.topology import LabPair
from ipsec_ha_monitor.parse import parse_output
from ipsec_ha_monitor.records import RedundancyGroup, RfState, RgInterface, Version
from ipsec_ha_monitor.rf_states import RF_STATE_NAMES
from ipsec_ha_monitor.snapshot import CommandResult, Snapshot, Status
from support.paths import REPO
from support.snapshots import snapshot_of

PAIR = "XE-PAIR-1"
GROUPS = "show redundancy application group all"
IF_MGR = "show redundancy application if-mgr group"
CRYPTO = ("show crypto ipsec sa", "show crypto isakmp sa", "show crypto ikev2 sa", "show crypto session")
SAMPLE = REPO / "tests" / "corpus" / "show_redundancy_application_group" / "genie__iosxe_golden_output_2.raw"
# The real IOS-XE sample: a STANDBY HOT member of group 1 (GREEN), priority 150.
(REAL,) = parse_output(GROUPS, SAMPLE.read_text(encoding="utf-8"), "cisco_xe")
DAY = 86_400
FAILOVER_THRESHOLD = 100  # group 1's, in the inventory


def rf(code: int) -> RfState:
    return RfState(code, RF_STATE_NAMES[code])


ACTIVE_RF, STANDBY_HOT_RF, STANDBY_COLD_RF, INIT_RF, DISABLED_RF = rf(13), rf(8), rf(4), rf(2), rf(1)


def group(role: str = "STANDBY", **changes: object) -> RedundancyGroup:
    """Group 1 as a member in `role` prints it, from the real sample."""
    if role == "ACTIVE":
        roles = {
            "my_role": "ACTIVE",
            "peer_role": "STANDBY",
            "rf_state": ACTIVE_RF,
            "peer_rf_state": STANDBY_HOT_RF,
            "protocol_role": "Active",
            "protocol_state": "Active",
        }
    else:
        roles = {"my_role": role, "peer_role": "ACTIVE", "rf_state": STANDBY_HOT_RF, "peer_rf_state": ACTIVE_RF}
    return dataclasses.replace(REAL, **{**roles, **changes})  # type: ignore[arg-type]


def vip(owned: bool, address: str = "10.0.0.3", group_id: int = 1) -> RgInterface:
    """One if-mgr interface block: `no shut` when this member owns the VIP."""
    return RgInterface(group_id, "GigabitEthernet0/0/3", "0007.b421.4e21", address, not owned, 10)


def version(name: str, uptime: int, reason: str = "Reload Command") -> Version:
    return Version(
        name, "bootflash:isr4400-universalk9.17.09.04a.SPA.bin", "17.9.4a", "", uptime, reason, None, None, None
    )


def xe(
    name: str,
    groups: tuple[RedundancyGroup, ...] | None,
    *,
    at: float = 1_000.0,
    uptime: int = 3 * DAY,
    vips: tuple[RgInterface, ...] | None = (),
    crypto: Snapshot | None = None,
    group_status: Status = Status.OK,
    reason: str = "Reload Command",
) -> Snapshot:
    """A b2b member's poll at monotonic time `at` (product seconds); groups
    or vips None: that command refused (or failed, per `group_status`)."""
    results = [CommandResult("show version", Status.OK, (version(name, uptime, reason),))]
    if groups is None:
        error = f"{GROUPS}: refused (invalid_input); no box-to-box redundancy groups on this image"
        results.append(
            CommandResult(GROUPS, group_status, error=error if group_status is Status.NOT_SUPPORTED else "x")
        )
    else:
        results.append(CommandResult(GROUPS, Status.OK, groups))
    if vips is None:
        results.append(CommandResult(IF_MGR, Status.NOT_SUPPORTED, error=f"{IF_MGR}: refused (invalid_input)"))
    else:
        results.append(CommandResult(IF_MGR, Status.OK, vips))
    if crypto is not None:
        results += [result for result in crypto.results if result.command in CRYPTO]
    results.append(CommandResult("show logging", Status.OK, ()))
    return Snapshot(name, PAIR, "hub", at, 0.2, tuple(results))


def write_xe_inventory(directory: Path) -> Path:
    """The inventory naming XE-PAIR-1 (b2b, group 1 with its failover
    threshold), written in `directory`."""
    path = directory / "xe.yml"
    path.write_text(
        f"""\
lab: true
defaults: {{credentials: {{username: lab, password: x}}}}
pairs: [{{name: {PAIR}, members: [XE1, XE2], mode: b2b, groups: [{{id: 1, failover_threshold: {FAILOVER_THRESHOLD}}}]}}]
devices:
  - {{name: XE1, host: 127.0.0.1, port: 2201, role: hub, platform: cisco_xe, expected_peers: [172.16.0.4, 172.16.0.5]}}
  - {{name: XE2, host: 127.0.0.1, port: 2202, role: hub, platform: cisco_xe, expected_peers: [172.16.0.4, 172.16.0.5]}}
""",
        encoding="utf-8",
    )
    return path


class Pair:
    """The two members' snapshots, built on the lab pair's crypto outputs
    (R2's active SAs for the ACTIVE member, R1's copies for the other)."""

    def __init__(self, lab: LabPair, inventory: Inventory) -> None:
        self.inventory = inventory
        self.active_crypto, self.standby_crypto = snapshot_of(lab.r2), snapshot_of(lab.r1)

    def baseline(self, at: float = 1_000.0, **overrides: object) -> dict[str, Snapshot]:
        """XE1 ACTIVE owning the VIP, XE2 STANDBY HOT; `xe1_<field>=` and
        `xe2_<field>=` override xe()'s arguments for that member."""
        xe1 = dict(groups=(group("ACTIVE"),), vips=(vip(True),), crypto=self.active_crypto, at=at)
        xe2 = dict(groups=(group("STANDBY"),), vips=(vip(False),), crypto=self.standby_crypto, at=at)
        for key, value in overrides.items():
            member, field = key.split("_", 1)
            (xe1 if member == "xe1" else xe2)[field] = value
        for member, given in ((xe1, "xe1_crypto"), (xe2, "xe2_crypto")):
            groups = member["groups"]
            if given not in overrides and groups:  # the ACTIVE member holds the active SAs
                member["crypto"] = self.active_crypto if groups[0].my_role == "ACTIVE" else self.standby_crypto
        return {"XE1": xe("XE1", **xe1), "XE2": xe("XE2", **xe2)}  # type: ignore[arg-type]

    def judge(self, snapshots: dict[str, Snapshot], **kwargs: object) -> PairHealth:
        pair = kwargs.pop("pair", self.inventory.pairs[PAIR])
        return evaluate_pair(pair, snapshots, self.inventory, **kwargs)  # type: ignore[arg-type]


def polled_as(monkeypatch: Any, snapshots: dict[str, Snapshot], started_at: float = 1_000.0) -> None:
    """`check` polls nothing: the Monitor records these snapshots as its
    poll, begun at `started_at` (Unix time, as the table reads it)."""

    def run_check(monitor, progress=None, deadline=None, why=""):  # type: ignore[no-untyped-def]
        recorded = monitor.record(snapshots)
        return check_module.CheckResult(
            monitor.inventory,
            started_at,
            0.2,
            snapshots,
            tuple(recorded.pairs.values()),
            recorded.reloads,
            recorded.switchovers,
        )

    monkeypatch.setattr(check_module, "run_check", run_check)
