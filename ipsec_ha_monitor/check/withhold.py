"""The last scrub of what `check` prints. The pollers already withhold any
error or record that would give a credential away; a table line, a JSON
string or a plugin line that still holds a secret of the inventory (a state
file written before that, say), in any form, is withheld here."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ipsec_ha_monitor.inventory import Inventory, Secret, reveals

_WITHHELD = "(withheld: it contained a credential of the inventory)"


def secrets_of(inventory: Inventory) -> set[Secret]:
    return {secret for device in inventory.devices.values() for secret in device.credentials.secrets}


def withhold_lines(text: str, held: set[Secret]) -> str:
    """The table with every line that holds a secret, in any form, withheld."""
    if not reveals(text, held):
        return text
    kept = "".join(f"{_WITHHELD}\n" if reveals(line, held) else line for line in text.splitlines(keepends=True))
    return f"{_WITHHELD}\n" if reveals(kept, held) else kept  # one spanning lines: nothing shown


def withhold_values(report: dict[str, Any], held: set[Secret]) -> dict[str, Any]:
    """The report with every string that holds a secret, in any form, withheld."""
    if not reveals("\0".join(_report_strings(report)), held):
        return report

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return _WITHHELD if reveals(value, held) else value
        if isinstance(value, Mapping):
            return {scrub(key): scrub(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [scrub(item) for item in value]
        return value

    scrubbed: dict[str, Any] = scrub(report)
    return scrubbed


def _report_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _report_strings(key)
            yield from _report_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _report_strings(item)


def withhold_nagios(text: str, held: set[Secret]) -> str:
    """The plugin text with every line that holds a secret withheld; the
    status line keeps its state and perfdata."""
    if not reveals(text, held):
        return text
    status, _, rest = text.partition("\n")
    if reveals(status, held):
        head, _, perfdata = status.partition(" | ")
        state = " ".join(head.split(" - ", 1)[0].split()[:2])
        status = f"{state} - {_WITHHELD} | {perfdata}"
    return f"{status}\n{withhold_lines(rest, held) if rest else ''}"
