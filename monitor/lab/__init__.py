"""The simulated lab: Cisco IOS routers behind real SSH servers on 127.0.0.1,
playing the packetlife IPsec stateful failover scenarios. It is the product's
embedded default (`ipsec-ha-monitor demo`) and the test bed of pollers,
exporter and alerts.

    router.py     state of one router        outputs.py   what its shows print
    ios_cli.py    its command line           ssh_server.py the SSH server carrying it
    topology.py   the pairs and branches     scenarios.py  what happens to them
    rekey.py      SA rekeys, standby copies  lab.py        all of it, plus the inventory
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from monitor.lab.scenarios import SCENARIOS

if TYPE_CHECKING:
    from monitor.lab.lab import Lab, LabThread

# Where `ipsec-ha-monitor lab` and `demo` listen for `lab trigger ...`.
DEFAULT_CONTROL_ADDRESS = "127.0.0.1:9179"

__all__ = ["DEFAULT_CONTROL_ADDRESS", "SCENARIOS", "Lab", "LabThread"]


def __getattr__(name: str) -> Any:
    # Lab and LabThread pull in asyncssh (half a second): only on first use,
    # so the command line can list the scenarios without starting any of it.
    if name in ("Lab", "LabThread"):
        from monitor.lab import lab

        return getattr(lab, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
