"""The last scrub of what `check` prints. The pollers already mask every
secret in what they report; a table line, a JSON string or a plugin line
that still holds a secret of the inventory (from a state file written
before that, say), in any form, is masked here the same way
(ipsec_ha_monitor.secret_text.mask): the secret goes, the line stays."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ipsec_ha_monitor.inventory import Inventory
from ipsec_ha_monitor.secret_text import WITHHELD_LINE, Secret, mask, reveals


def secrets_of(inventory: Inventory) -> set[Secret]:
    return {secret for device in inventory.devices.values() for secret in device.credentials.secrets}


def scrub_lines(text: str, held: set[Secret]) -> str:
    """The table with every secret masked."""
    return mask(text, held)


def scrub_values(report: dict[str, Any], held: set[Secret]) -> dict[str, Any]:
    """The report with every secret masked in every string (keys included)."""

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return mask(value, held)
        if isinstance(value, Mapping):
            return {scrub(key): scrub(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [scrub(item) for item in value]
        return value

    scrubbed: dict[str, Any] = scrub(report)
    return scrubbed


def scrub_nagios(text: str, held: set[Secret]) -> str:
    """The plugin text with every secret masked; the status line keeps its
    state and perfdata even when it must be withheld."""
    if not reveals(text, held):
        return text
    original, _, rest = text.partition("\n")
    status = mask(original, held)
    if status == WITHHELD_LINE:
        head, _, perfdata = original.partition(" | ")
        state = " ".join(head.split(" - ", 1)[0].split()[:2])
        status = f"{state} - {WITHHELD_LINE} | {perfdata}"
    return f"{status}\n{mask(rest, held) if rest else ''}"
