"""netmiko sessions to lab routers, and a sampler that records what a router
shows over time (reconnecting across its reloads)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from netmiko import ConnectHandler
from netmiko.base_connection import BaseConnection

from ipsec_ha_monitor.lab import Lab
from ipsec_ha_monitor.parse import ParseError, parse_output


def connect(lab: Lab, name: str, **overrides: object) -> BaseConnection:
    settings: dict[str, object] = {
        "device_type": "cisco_ios",
        "host": "127.0.0.1",
        "port": lab.servers[name].port,
        "username": lab.credentials.username,
        "password": lab.credentials.password,
        "secret": lab.credentials.enable_secret,
        "fast_cli": True,
        "conn_timeout": 5,
        "auth_timeout": 5,
        "banner_timeout": 5,
        "read_timeout_override": 10,
    }
    settings.update(overrides)
    connection = ConnectHandler(**settings)
    connection.enable()
    return connection


@dataclass
class Sample:
    at: float  # seconds since sampling began
    reachable: bool
    rf_my: int | None = None
    rf_peer: int | None = None
    hsrp: str | None = None
    active_sas: int | None = None  # toward the first branch
    uptime_seconds: int | None = None
    reload_reason: str | None = None


class Sampler:
    """Polls one hub in a thread until stopped; `samples` is the timeline."""

    def __init__(self, lab: Lab, name: str, branch_ip: str, interval: float = 0.05) -> None:
        self.lab, self.name, self.branch_ip, self.interval = lab, name, branch_ip, interval
        self.samples: list[Sample] = []
        self.parse_errors: list[ParseError] = []  # must stay empty: the lab's output always parses
        self._stop = threading.Event()
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def now(self) -> float:
        """Seconds since sampling began: the clock of `Sample.at`."""
        return time.monotonic() - self._start

    def sampled_since(self, moment: float) -> bool:
        """A reachable sample begun after `moment` (a `now()`) is in: the
        second one stamped after it (a sample is stamped when it ends)."""
        return sum(1 for sample in self.samples if sample.reachable and sample.at > moment) >= 2

    def _run(self) -> None:
        connection = None
        while not self._stop.is_set():
            try:
                if connection is None:
                    connection = connect(
                        self.lab, self.name, conn_timeout=2, auth_timeout=2, banner_timeout=2, read_timeout_override=3
                    )
                self.samples.append(self._sample(connection))
            except ParseError as exc:
                self.parse_errors.append(exc)
            except Exception:  # netmiko raises many kinds when a session is cut
                # Refused or dropped while the router reloads: note it, reconnect.
                self.samples.append(Sample(time.monotonic() - self._start, False))
                if connection is not None:
                    try:
                        connection.disconnect()
                    except Exception:
                        pass
                connection = None
            self._stop.wait(self.interval)
        if connection is not None:
            connection.disconnect()

    def _sample(self, connection: BaseConnection) -> Sample:
        (states,) = parse_output("show redundancy states", connection.send_command("show redundancy states"))
        groups = parse_output("show standby", connection.send_command("show standby"))
        sas = parse_output("show crypto ipsec sa", connection.send_command("show crypto ipsec sa"))
        (version,) = parse_output("show version", connection.send_command("show version"))
        toward_branch = [sa.active_esp_sa_count for sa in sas if sa.peer == self.branch_ip]
        return Sample(
            time.monotonic() - self._start,
            True,
            states.my_state.code,
            states.peer_state.code if states.peer_state else None,
            groups[0].state,
            sum(toward_branch),
            version.uptime_seconds,
            version.reload_reason,
        )


def sequence(values: list[object]) -> list[object]:
    """`values` with consecutive repeats collapsed."""
    collapsed: list[object] = []
    for value in values:
        if not collapsed or collapsed[-1] != value:
            collapsed.append(value)
    return collapsed


def in_order(observed: list[object], expected: list[object]) -> bool:
    """Every expected value occurs in `observed`, in this order."""
    position = 0
    for value in observed:
        if position < len(expected) and value == expected[position]:
            position += 1
    return position == len(expected)
