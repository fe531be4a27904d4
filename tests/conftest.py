"""Fixtures only; the helpers the tests share live in tests/support/."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipsec_ha_monitor.inventory import Inventory, load_inventory
from ipsec_ha_monitor.lab.router import Clock
from ipsec_ha_monitor.lab.topology import LabPair, build_pairs, lab_credentials, set_baseline


@pytest.fixture
def inventory(tmp_path: Path) -> Inventory:
    """The packetlife pair with two branches, as the health and metric tests
    judge it (router state set by hand, no SSH): the inventory naming it."""
    path = tmp_path / "inventory.yml"
    # Inline secrets stand for loopback hosts only, even in a lab inventory.
    secret = tmp_path / "password"
    secret.write_text("x\n", encoding="utf-8")
    path.write_text(
        f"""\
lab: true
defaults: {{credentials: {{username: lab, password: {{file: {secret}}}}}}}
pairs: [{{name: HUB-PAIR-1, members: [R1, R2]}}]
devices:
  - {{name: R1, host: 10.0.0.1, role: hub, expected_peers: [172.16.0.4, 172.16.0.5]}}
  - {{name: R2, host: 10.0.0.2, role: hub, expected_peers: [172.16.0.4, 172.16.0.5]}}
  - {{name: R4, host: 172.16.0.4, role: branch}}
  - {{name: R5, host: 172.16.0.5, role: branch}}
""",
        encoding="utf-8",
    )
    return load_inventory(path)


@pytest.fixture
def pair() -> LabPair:
    """The packetlife pair with two branches at baseline, router state only."""
    (pair,) = build_pairs(1, 2, lab_credentials(), Clock(1.0))
    set_baseline(pair)
    return pair
