"""The watched messages: the one table of what a router's syslog message
makes the exporter do. A watched message polls the sender's pair at once
(debounced, see trigger.py) and is counted under its own `mnemonic` label
of ipsecha_syslog_messages_total; any other message of a known device is
counted as `other` and polls nothing. The labels are this table's names,
so their number is bounded whatever a device (or a spoofer) sends.

A row names a facility and a mnemonic (`*`: any of that facility; a
facility ending in `*`: every facility starting so). Severity is not
matched: images differ in it. The first matching row wins, so exact rows
come before their facility's catch-all.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ipsec_ha_monitor.records import LogMessage

OTHER = "other"  # the label of every message no row matches


@dataclass(frozen=True)
class Watched:
    label: str  # the mnemonic label: "%HSRP-5-STATECHANGE" as IOS prints it, without "%"; "RF-*" for a family
    facility: str  # exact, or a prefix ending in "*"
    mnemonic: str  # exact, or "*"
    why: str  # what it announces

    def matches(self, facility: str, mnemonic: str) -> bool:
        if self.facility.endswith("*"):
            if not facility.startswith(self.facility[:-1]):
                return False
        elif facility != self.facility:
            return False
        return self.mnemonic in ("*", mnemonic)


WATCHED: tuple[Watched, ...] = (
    # Classic IOS pair: HSRP and the Redundancy Facility over inter-device SSO.
    Watched("HSRP-5-STATECHANGE", "HSRP", "STATECHANGE", "an HSRP group changed state"),
    Watched("RF_INTERDEV-4-RELOAD", "RF_INTERDEV", "RELOAD", "RF reloads this router (RF induced self-reload)"),
    Watched("RF_INTERDEV-*", "RF_INTERDEV", "*", "an inter-device redundancy event"),
    Watched("RF-5-RF_RELOAD", "RF", "RF_RELOAD", "the RF peer reloaded or was lost"),
    Watched("RF-5-RF_TERMINAL_STATE", "RF", "RF_TERMINAL_STATE", "the RF progression reached its end (STANDBY HOT)"),
    Watched("RF-*", "RF", "*", "a Redundancy Facility event"),
    Watched("REDUNDANCY-*", "REDUNDANCY", "*", "a redundancy (peer, switchover) event"),
    Watched("SYS-5-RELOAD", "SYS", "RELOAD", "a reload was requested"),
    Watched("SYS-5-RESTART", "SYS", "RESTART", "the router restarted"),
    # IPsec and crypto HA.
    Watched("CRYPTO-5-SESSION_STATUS", "CRYPTO", "SESSION_STATUS", "a crypto tunnel went up or down"),
    Watched("IKEV2-5-SA_DOWN", "IKEV2", "SA_DOWN", "an IKEv2 SA went down"),
    Watched("IKEV2-5-SA_UP", "IKEV2", "SA_UP", "an IKEv2 SA came up"),
    Watched("CRYPTO_HA*-*", "CRYPTO_HA*", "*", "a crypto high-availability event"),
    # IOS-XE box-to-box redundancy groups.
    Watched("RG_*-*", "RG_*", "*", "a redundancy-group event (role change, media, protocol)"),
    Watched("IOSXE_REDUNDANCY-*", "IOSXE_REDUNDANCY", "*", "an IOS-XE redundancy (peer) event"),
)

LABELS: tuple[str, ...] = (*(row.label for row in WATCHED), OTHER)


@functools.lru_cache(maxsize=1024)
def _row(facility: str, mnemonic: str) -> Watched | None:
    return next((row for row in WATCHED if row.matches(facility, mnemonic)), None)


def watched(message: LogMessage) -> Watched | None:
    """The row `message` matches, None for a message that polls nothing."""
    return _row(message.facility, message.mnemonic)
