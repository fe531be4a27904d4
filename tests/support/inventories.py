"""Inventories for the pollers, written from a running lab."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import yaml

from ipsec_ha_monitor.lab import Lab

# Short timeouts, so fault tests stay quick; the defaults suit real routers.
FAST_POLLING = {
    "workers": 8,
    "connect_timeout": 3,
    "command_timeout": 2,
    "poll_timeout": 10,
    "keepalive": 5,
    "backoff_initial": 0.5,
    "backoff_max": 2,
}


def write_inventory(
    lab: Lab,
    path: Path,
    polling: dict[str, Any] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    drop: tuple[str, ...] = (),
) -> Path:
    """The lab's own inventory, with a `polling` section, per-device field
    overrides and devices left out (with their pair)."""
    data = lab.inventory()
    data["polling"] = dict(FAST_POLLING if polling is None else polling)
    devices = []
    for device in data["devices"]:
        if device["name"] in drop:
            continue
        device.update((overrides or {}).get(device["name"], {}))
        devices.append(device)
    data["devices"] = devices
    data["pairs"] = [pair for pair in data["pairs"] if not set(pair["members"]) & set(drop)]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    path.chmod(0o600)
    return path


def write_branch_inventory(path: Path, host: str = "127.0.0.1", port: int | None = 1) -> Path:
    """A lab inventory (throwaway credentials) of one branch, R4, at `host`
    (`port` None: the default 22): for tests of the process, not of a poll.
    Inline credentials stand for a loopback host only; any other reads its
    password from a file beside the inventory."""
    where = f"host: {host}" + (f", port: {port}" if port is not None else "")
    password = "x"
    if not ipaddress.ip_address(host).is_loopback:
        secret = path.with_name(path.name + ".password")
        secret.write_text("x\n", encoding="utf-8")
        password = "{file: " + json.dumps(str(secret)) + "}"
    path.write_text(
        f"lab: true\ndefaults: {{credentials: {{username: lab, password: {password}}}}}\n"
        f"devices: [{{name: R4, {where}, role: branch}}]\n",
        encoding="utf-8",
    )
    return path
