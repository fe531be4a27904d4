"""Polling layer: SSH sessions to the inventory's devices -> Snapshots.

session.py   one netmiko session: open, enable, run a command, close;
             every failure becomes a CommandFailure with a Status
device.py    one device's poller: its session kept across polls,
             reopened once on error, backoff, one poll at a time
poller.py    the fleet: a bounded worker pool over every device,
             inventory reloads that keep healthy sessions
commands.py  the fixed read-only commands per role
"""

from ipsec_ha_monitor.poll.commands import BRANCH_COMMANDS, COMMANDS_BY_ROLE, HUB_COMMANDS
from ipsec_ha_monitor.poll.device import DevicePoller
from ipsec_ha_monitor.poll.poller import Poller

__all__ = ["BRANCH_COMMANDS", "COMMANDS_BY_ROLE", "HUB_COMMANDS", "DevicePoller", "Poller"]
