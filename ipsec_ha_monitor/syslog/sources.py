"""Which inventory device sent a message: by its source address, then,
where one address stands for several devices (a NAT, a lab on one host),
by the hostname the message names. Anything else is dropped, never trusted.

A device's addresses: its `host` (an IP address as is; a DNS name resolved
once, when the map is built) and its `syslog_sources` (the addresses its
`logging source-interface` may send from: a loopback, a second uplink).
"""

from __future__ import annotations

import ipaddress
import logging
import socket

from ipsec_ha_monitor.inventory import Inventory
from ipsec_ha_monitor.syslog.framing import Dropped

log = logging.getLogger(__name__)


def normal_address(address: str) -> str:
    """An address as this map keys it: IPv6 compressed, an IPv4-mapped
    IPv6 address (a dual-stack socket's view of an IPv4 sender) as IPv4,
    a zone (fe80::1%eth0) dropped."""
    try:
        ip = ipaddress.ip_address(address.partition("%")[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)


def _addresses(host: str) -> list[str]:
    try:
        return [normal_address(host)] if ipaddress.ip_address(host) else []
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_UDP)
    except (OSError, UnicodeError) as exc:
        log.warning("syslog: cannot resolve %s (%s): its messages are taken from its syslog_sources only", host, exc)
        return []
    return sorted({normal_address(str(info[4][0])) for info in found})


class SourceMap:
    """Source address (and hostname) -> inventory device name."""

    def __init__(self, inventory: Inventory) -> None:
        by_address: dict[str, list[str]] = {}
        for name, device in inventory.devices.items():
            for address in {*_addresses(device.host), *(normal_address(a) for a in device.syslog_sources)}:
                by_address.setdefault(address, []).append(name)
        self._by_address = {address: tuple(sorted(names)) for address, names in by_address.items()}
        # A dual-stack socket reports an IPv4 sender as ::ffff:a.b.c.d: the
        # look-ups take the address as received, so both forms are keys.
        for address, names in list(self._by_address.items()):
            if ":" not in address:
                self._by_address[f"::ffff:{address}"] = names

    def knows(self, address: str) -> bool:
        return address in self._by_address

    def names(self, address: str) -> tuple[str, ...]:
        """The devices that have `address` (none: an unknown one)."""
        return self._by_address.get(address, ())

    def device(self, address: str, hostname: str | None) -> str:
        """The sender's name; Dropped("unknown_source") for an address no
        device has, Dropped("ambiguous_source") for one several share when
        the message names none of them."""
        names = self._by_address.get(address)
        if names is None:
            raise Dropped("unknown_source", f"{address} is no inventory device's host or syslog_sources")
        if len(names) == 1:
            return names[0]
        if hostname is not None:
            wanted = {hostname.casefold(), hostname.casefold().split(".")[0]}  # R1 or R1.example.net
            chosen = [name for name in names if name.casefold() in wanted]
            if len(chosen) == 1:
                return chosen[0]
        named = f"names {hostname!r}" if hostname is not None else "names no host"
        raise Dropped("ambiguous_source", f"{address} is {len(names)} devices' address and the message {named}")
