"""The fixed, read-only show commands each role is polled with. Nothing else
is ever typed on a device, apart from what logging in takes (netmiko's
`terminal length 0` / `terminal width`, `enable` when a secret is set, and
`exit` when a session is closed)."""

from __future__ import annotations

HUB_COMMANDS = (
    "show version",
    "show standby",
    "show redundancy states",
    "show redundancy inter-device",
    "show crypto ipsec sa",
    "show crypto isakmp sa",
    "show crypto session",
)
BRANCH_COMMANDS = (
    "show version",
    "show crypto ipsec sa",
    "show crypto isakmp sa",
    "show crypto session",
)
COMMANDS_BY_ROLE = {"hub": HUB_COMMANDS, "branch": BRANCH_COMMANDS}
# Commands an image may lack when the inventory supplies what they tell:
# `stateful_group` on the pair names the group show redundancy inter-device would.
OPTIONAL_WITH_STATEFUL_GROUP = frozenset({"show redundancy inter-device"})
