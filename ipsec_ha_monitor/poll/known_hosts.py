"""A device's known_hosts file (OpenSSH format), read as OpenSSH reads it:
plain lines list the host keys to accept, `@revoked` lines name keys never
to accept (even when a plain line lists them too), and `@cert-authority`
lines are skipped (host certificates are not supported: a warning, once
per file). Paramiko's own reader fails on any marker line ("Incorrect
padding").

Installed into the Paramiko client netmiko builds for a login: the plain
keys become the client's host keys (so Paramiko's own check, key type
preference included, runs as before), minus any revoked key, and a missing
host is refused by a policy that first says whether its key is revoked.
A revoked key is refused for every host, whatever host names its line
lists: it is compromised wherever it turns up.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import paramiko
from paramiko.hostkeys import HostKeyEntry, InvalidHostKey

log = logging.getLogger(__name__)

REVOKED = "@revoked"
CERT_AUTHORITY = "@cert-authority"
_warned_cert_authority: set[Path] = set()  # files whose @cert-authority lines were reported
_warned_lock = threading.Lock()


class KnownHostsError(Exception):
    """The file cannot be read, or a line of it cannot (a key that does not
    decode): nothing is accepted from it, so no revocation is ever lost."""


class RevokedHostKey(paramiko.SSHException):
    """The host offered a key that the file revokes."""

    def __init__(self, hostname: str) -> None:
        super().__init__(f"host key of {hostname} is revoked")
        self.hostname = hostname


@dataclass(frozen=True)
class KnownHosts:
    path: Path
    entries: tuple[HostKeyEntry, ...]  # the plain lines, revoked keys left out
    revoked: frozenset[bytes]  # public key blobs

    @classmethod
    def read(cls, path: Path) -> KnownHosts:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise KnownHostsError(f"cannot read {path}: {exc.strerror}") from None
        entries: list[HostKeyEntry] = []
        revoked: set[bytes] = set()
        skipped_authorities = 0
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            marker = ""
            if line.startswith("@"):
                marker, _, line = line.partition(" ")
                line = line.strip()
                if marker == CERT_AUTHORITY:
                    skipped_authorities += 1
                    continue
                if marker != REVOKED:
                    raise KnownHostsError(f"{path} line {number}: unknown marker {marker[:40]!r}")
            entry = _entry(path, number, line)
            if entry is None:  # a key type Paramiko cannot use: it can never match either
                continue
            if marker == REVOKED:
                revoked.add(entry.key.asbytes())
            else:
                entries.append(entry)
        if skipped_authorities:
            _warn_cert_authority(path, skipped_authorities)
        kept = tuple(entry for entry in entries if entry.key.asbytes() not in revoked)
        return cls(path, kept, frozenset(revoked))

    def is_revoked(self, key: paramiko.PKey) -> bool:
        return key.asbytes() in self.revoked

    def install(self, client: paramiko.SSHClient) -> None:
        """The accepted keys into `client`, and the policy for a host it
        does not know (refused, saying whether its key is revoked)."""
        host_keys = client.get_host_keys()
        for entry in self.entries:
            for name in entry.hostnames:
                host_keys.add(name, entry.key.get_name(), entry.key)
        client.set_missing_host_key_policy(_RefuseUnknown(self))


class _RefuseUnknown(paramiko.MissingHostKeyPolicy):
    """Paramiko's RejectPolicy (its words, which the session's messages
    read), after the revocation check."""

    def __init__(self, known: KnownHosts) -> None:
        self._known = known

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if self._known.is_revoked(key):
            raise RevokedHostKey(hostname)
        raise paramiko.SSHException(f"Server {hostname!r} not found in known_hosts")


_FIELDS = re.compile(r"[ \t]+")


def _entry(path: Path, number: int, line: str) -> HostKeyEntry | None:
    """One line's hosts and key (a comment after the key allowed), or an
    error naming the file and line (never the line: it is no secret, but
    it is long)."""
    fields = _FIELDS.split(line)
    if len(fields) < 3:
        raise KnownHostsError(f"{path} line {number}: expected hosts, a key type and a key")
    try:
        return HostKeyEntry.from_line(" ".join(fields[:3]), number)
    except InvalidHostKey:
        raise KnownHostsError(f"{path} line {number}: the key is not base64") from None
    except Exception:  # the bytes are no key of that type
        raise KnownHostsError(f"{path} line {number}: the key is not a valid {fields[1][:40]} key") from None


def _warn_cert_authority(path: Path, count: int) -> None:
    with _warned_lock:
        if path in _warned_cert_authority:
            return
        _warned_cert_authority.add(path)
    log.warning(
        "%s: %d @cert-authority line(s) skipped: host certificates are not supported; list the devices' own keys",
        path,
        count,
    )
