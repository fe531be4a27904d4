"""`--web.config.file`: TLS and basic authentication for the exporter, in
the Prometheus exporter-toolkit format (the same file node_exporter reads):

    tls_server_config:
      cert_file: /etc/ipsec-ha-monitor/tls.crt
      key_file: /etc/ipsec-ha-monitor/tls.key
    basic_auth_users:
      prometheus: $2y$10$...        # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':\\n')

Either section may be left out. Errors name the file and the field.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
import yaml

_TLS_FIELDS = {"cert_file", "key_file", "min_version"}
_VERSIONS = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}


class WebConfigError(ValueError):
    pass


@dataclass
class WebConfig:
    tls: ssl.SSLContext | None = None
    users: dict[str, bytes] = field(default_factory=dict)  # name -> bcrypt hash
    _verified: set[bytes] = field(default_factory=set)  # digests of credentials that passed bcrypt
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def open(self) -> bool:
        """No TLS and no authentication."""
        return self.tls is None and not self.users

    def authorized(self, header: str | None) -> bool:
        """Whether an Authorization header passes (always, without users).
        bcrypt is slow on purpose; a pair that passed once is remembered by
        its SHA-256 digest, so a scrape every few seconds costs one hash."""
        if not self.users:
            return True
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        stored = self.users.get(user)
        if stored is None:
            _checkpw(password, _DUMMY_HASH)  # as slow as for a known user: names cannot be probed by timing
            return False
        digest = hashlib.sha256(stored + b"\0" + user.encode() + b"\0" + password.encode()).digest()
        with self._lock:
            if any(hmac.compare_digest(digest, seen) for seen in self._verified):
                return True
        if not _checkpw(password, stored):
            return False
        with self._lock:
            self._verified.add(digest)
        return True


_DUMMY_HASH = bcrypt.hashpw(b"not a password", bcrypt.gensalt(rounds=10))


def _checkpw(password: str, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed)
    except ValueError:  # bcrypt 5 refuses passwords over 72 bytes: not a match
        return False


def load_web_config(path: str | Path) -> WebConfig:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise WebConfigError(f"{path}: cannot read it: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise WebConfigError(f"{path}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    data = data or {}
    if not isinstance(data, dict):
        raise WebConfigError(f"{path}: expected a mapping")
    unknown = set(data) - {"tls_server_config", "basic_auth_users"}
    if unknown:
        raise WebConfigError(
            f"{path}: {sorted(unknown)[0]}: unknown field (known: basic_auth_users, tls_server_config)"
        )
    config = WebConfig()
    if data.get("tls_server_config") is not None:
        config.tls = _tls(path, data["tls_server_config"])
    users = data.get("basic_auth_users") or {}
    if not isinstance(users, dict):
        raise WebConfigError(f"{path}: basic_auth_users: expected user: bcrypt-hash lines")
    for user, hashed in users.items():
        if not isinstance(hashed, str) or not hashed.startswith(("$2a$", "$2b$", "$2y$")):
            raise WebConfigError(f"{path}: basic_auth_users.{user}: expected a bcrypt hash ($2y$...), not a password")
        config.users[str(user)] = hashed.encode()
    return config


def _tls(path: Path, section: object) -> ssl.SSLContext:
    if not isinstance(section, dict):
        raise WebConfigError(f"{path}: tls_server_config: expected a mapping")
    unknown = set(section) - _TLS_FIELDS
    if unknown:
        raise WebConfigError(f"{path}: tls_server_config.{sorted(unknown)[0]}: unknown field")
    for name in ("cert_file", "key_file"):
        if not section.get(name):
            raise WebConfigError(f"{path}: tls_server_config.{name}: missing")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    version = section.get("min_version", "TLS12")
    if version not in _VERSIONS:
        raise WebConfigError(f"{path}: tls_server_config.min_version: expected TLS12 or TLS13, got {version!r}")
    context.minimum_version = _VERSIONS[version]
    base = path.parent
    cert, key = base / str(section["cert_file"]), base / str(section["key_file"])
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise WebConfigError(f"{path}: tls_server_config: cannot load {cert} / {key}: {exc}") from None
    return context
