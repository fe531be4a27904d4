"""The simulated lab: Cisco IOS routers behind real SSH servers on 127.0.0.1,
playing the packetlife IPsec stateful failover scenarios. It is the product's
embedded default (`ipsec-ha-monitor demo`) and the test bed of pollers,
exporter and alerts.

    router.py     state of one router        outputs.py   what its shows print
    ios_cli.py    its command line           ssh_server.py the SSH server carrying it
    topology.py   the pairs and branches     scenarios.py  what happens to them
    rekey.py      SA rekeys, standby copies  lab.py        all of it, plus the inventory
    latency.py    how fast routers answer (profiles `fast`, `router`), the login counter
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ipsec_ha_monitor.lab.latency import PROFILES as LATENCY_PROFILES
from ipsec_ha_monitor.lab.latency import LatencyProfile, LoginCounter
from ipsec_ha_monitor.lab.latency import profile as latency_profile
from ipsec_ha_monitor.lab.scenarios import SCENARIOS

if TYPE_CHECKING:
    from ipsec_ha_monitor.lab.lab import Lab, LabThread

# Where `ipsec-ha-monitor lab` and `demo` listen for `lab trigger ...`
# (the Makefile gives `make demo`, `make lab` and `make demo-check` a port each).
DEFAULT_CONTROL_ADDRESS = "127.0.0.1:9179"
# The lab's SSH servers are asyncssh's, an optional dependency (the `lab`
# extra): the exporter and `check` run without it.
LAB_EXTRA = "ipsec-ha-monitor[lab]"

__all__ = [
    "DEFAULT_CONTROL_ADDRESS",
    "LAB_EXTRA",
    "LATENCY_PROFILES",
    "SCENARIOS",
    "Lab",
    "LabThread",
    "LabUnavailable",
    "LatencyProfile",
    "LoginCounter",
    "latency_profile",
    "require_lab",
]


class LabUnavailable(RuntimeError):
    """The lab cannot run here: asyncssh is not installed. One line that
    says what to install; `lab` and `demo` exit with EXIT_CODE."""

    EXIT_CODE = 1  # as for the lab's other failures to start (a port in use)


def require_lab() -> None:
    """Raise LabUnavailable unless asyncssh imports (the lab imports it next
    anyway, so trying costs nothing)."""
    try:
        import asyncssh  # noqa: F401
    except ImportError:
        raise LabUnavailable(
            f"the simulated lab needs asyncssh, which is not installed: pip install '{LAB_EXTRA}' "
            "(or `make install` in a checkout)"
        ) from None


def __getattr__(name: str) -> Any:
    # Lab and LabThread pull in asyncssh (half a second): only on first use,
    # so the command line can list the scenarios without starting any of it.
    if name in ("Lab", "LabThread"):
        require_lab()
        from ipsec_ha_monitor.lab import lab

        return getattr(lab, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
