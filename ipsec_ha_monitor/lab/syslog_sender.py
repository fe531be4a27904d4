"""The lab speaks syslog: each router sends its log messages, as it logs
them, to a syslog host over UDP, the way IOS does with

    service sequence-numbers
    service timestamps log datetime msec
    logging source-interface Loopback0
    logging host 192.0.2.10 transport udp port 5514

from its own loopback address: router N of the lab sends from 127.0.1.N
(Linux answers for all of 127.0.0.0/8), so the receiver maps sources to
devices as on a real network, where the SSH host and the syslog source
differ. The lab's inventory lists that address as the router's
`syslog_sources`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
from collections.abc import Sequence

from ipsec_ha_monitor.lab.outputs import log_timestamp
from ipsec_ha_monitor.lab.router import Router

FIRST_SOURCE = ipaddress.IPv4Address("127.0.1.1")
LOCAL7 = 23  # IOS's default `logging facility`
_SEVERITY = re.compile(r"%[A-Z0-9_-]+?-([0-7])-")


def source_address(index: int) -> str:
    """The loopback address lab router `index` (0-based) sends from."""
    return str(FIRST_SOURCE + index)


def wire_message(sequence: int, when: float, message: str) -> bytes:
    """What IOS puts in the datagram: <PRI>SEQ: TIMESTAMP: %FAC-SEV-MNEMONIC: text."""
    severity = _SEVERITY.match(message)
    priority = LOCAL7 * 8 + (int(severity.group(1)) if severity else 5)
    return f"<{priority}>{sequence:06d}: {log_timestamp(when)}: {message}".encode()


class LabSyslog:
    """Sends every router's new log messages to `target` (host, port)."""

    def __init__(self, target: tuple[str, int], routers: Sequence[Router]) -> None:
        self.target = target
        self.sources: dict[str, str] = {}
        self._sockets: dict[str, socket.socket] = {}
        self._sequence: dict[str, int] = {}
        family = socket.AF_INET6 if ":" in target[0] else socket.AF_INET
        try:
            for index, router in enumerate(routers):
                sock = socket.socket(family, socket.SOCK_DGRAM)
                self._sockets[router.name] = sock
                if family == socket.AF_INET:
                    source = source_address(index)
                    try:
                        sock.bind((source, 0))
                    except OSError as exc:
                        raise OSError(f"cannot send {router.name}'s syslog from {source}: {exc.strerror}") from exc
                    self.sources[router.name] = source
                self._sequence[router.name] = 0
                router.log_listeners.append(self.send)
        except OSError:
            self.close()
            raise

    def send(self, router: Router, when: float, message: str) -> None:
        sock = self._sockets.get(router.name)
        if sock is None:
            return
        self._sequence[router.name] += 1
        # Lossy, as syslog over UDP is: a send that fails is not retried.
        with contextlib.suppress(OSError):
            sock.sendto(wire_message(self._sequence[router.name], when, message), self.target)

    def close(self) -> None:
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()
