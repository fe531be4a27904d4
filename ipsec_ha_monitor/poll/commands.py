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
    "show crypto ikev2 sa",
    "show crypto session",
    "show logging",
)
BRANCH_COMMANDS = (
    "show version",
    "show crypto ipsec sa",
    "show crypto isakmp sa",
    "show crypto ikev2 sa",
    "show crypto session",
    "show logging",
)
# A hub of an IOS-XE box-to-box pair (inventory `mode: b2b`): the redundancy
# groups in place of HSRP and the inter-device RF; the same crypto commands
# (the corpus's IOS-XE samples parse with the IOS templates).
B2B_HUB_COMMANDS = (
    "show version",
    "show redundancy application group all",
    "show redundancy application if-mgr group",
    "show crypto ipsec sa",
    "show crypto isakmp sa",
    "show crypto ikev2 sa",
    "show crypto session",
    "show logging",
)
COMMANDS_BY_ROLE = {"hub": HUB_COMMANDS, "branch": BRANCH_COMMANDS}


def commands_for(role: str, pair_mode: str = "classic") -> tuple[str, ...]:
    """What a device of this role, in a pair of this mode, is polled with."""
    return B2B_HUB_COMMANDS if role == "hub" and pair_mode == "b2b" else COMMANDS_BY_ROLE[role]


# What is typed for a command, where not the command itself. The log is read
# through a filter: the reload and restart messages only (a few lines, where
# the whole buffer can be thousands), which is what the reload causes need.
TYPED = {"show logging": "show logging | include RELOAD|RESTART"}
# Commands an image may lack when the inventory supplies what they tell:
# `stateful_group` on the pair names the group show redundancy inter-device would.
OPTIONAL_WITH_STATEFUL_GROUP = frozenset({"show redundancy inter-device"})
# Evidence beyond the health rules' needs: refused (`% Invalid input`, an
# AAA policy without output filters) it is not_supported, and the device
# stays up. Without the log, reloads are classified from show version
# alone; without IKEv2 (images before 15.1(1)T have no `show crypto ikev2`),
# the device's IKE SAs are its ISAKMP (IKEv1) ones. On an IKEv1-only device
# with IKEv2 the answer is the normal empty one (the section headers alone).
# Each with what its refusal leaves out, for the not_supported error.
WITHOUT = {
    "show logging": "reloads are classified from show version alone",
    "show crypto ikev2 sa": "no IKEv2 on this image: its IKE SAs are the ISAKMP (IKEv1) ones",
    # An image (or license) without box-to-box redundancy refuses these: the
    # device is reachable, its groups are unknown and the pair's group rules
    # say so (unknown), never a failed poll retried forever.
    "show redundancy application group all": "no box-to-box redundancy groups on this image: "
    "the pair's groups are not judged",
    "show redundancy application if-mgr group": "the groups' virtual IPs are not judged",
}
SUPPLEMENTARY = frozenset(WITHOUT)


def typed(command: str) -> str:
    """The line typed on the device to run `command`."""
    return TYPED.get(command, command)
