"""The simulated lab: Cisco IOS routers behind real SSH servers on 127.0.0.1,
playing the packetlife IPsec stateful failover scenarios. It is the product's
embedded default (`ipsec-ha-monitor demo`) and the test bed of pollers,
exporter and alerts.

    router.py     state of one router        outputs.py   what its shows print
    ios_cli.py    its command line           ssh_server.py the SSH server carrying it
    topology.py   the pairs and branches     scenarios.py  what happens to them
    lab.py        all of it, plus the inventory
"""

from monitor.lab.lab import Lab, LabThread
from monitor.lab.scenarios import SCENARIOS

__all__ = ["SCENARIOS", "Lab", "LabThread"]
