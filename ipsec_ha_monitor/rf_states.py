"""Redundancy Facility states: the code `show redundancy states` prints and
its name (CISCO-RF-MIB's RFState is the code plus one). One table for the
parser and the lab; health keys on the code."""

RF_STATE_NAMES: dict[int, str] = {
    0: "UNKNOWN",
    1: "DISABLED",
    2: "INITIALIZATION",
    3: "NEGOTIATION",
    4: "STANDBY COLD",
    5: "STANDBY COLD-CONFIG",
    6: "STANDBY COLD-FILESYS",
    7: "STANDBY COLD-BULK",
    8: "STANDBY HOT",
    9: "ACTIVE FAST",
    10: "ACTIVE DRAIN",
    11: "ACTIVE PRECONFIG",
    12: "ACTIVE POSTCONFIG",
    13: "ACTIVE",
    14: "ACTIVE EXTRALOAD",
    15: "ACTIVE HANDBACK",
}
DISABLED, STANDBY_HOT, ACTIVE = 1, 8, 13
