"""`--web.config.file`: TLS and basic authentication for the exporter, in
the Prometheus exporter-toolkit format (the same file node_exporter reads):

    tls_server_config:
      cert_file: /etc/ipsec-ha-monitor/tls.crt
      key_file: /etc/ipsec-ha-monitor/tls.key
    basic_auth_users:
      prometheus: $2y$10$...        # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':\\n')

Either section may be left out; a section that is there must be complete
(an empty `basic_auth_users:` is an error, not an open server). An empty
file is an error too: a file that means "neither TLS nor authentication"
says so with `{}`. Errors name the file and the field, never a password.

Basic-auth timing does not tell user names apart: a name that is not
configured is checked against a stand-in hash of the cost of a configured
user (the only one's, when there is one), picked by the name, so it takes
as long as a configured user's wrong password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
import yaml

from ipsec_ha_monitor.words import count

_TLS_FIELDS = {"cert_file", "key_file", "min_version"}
_VERSIONS = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
# $2a$ / $2b$ / $2y$, a two-digit cost, 22 characters of salt, 31 of hash.
_BCRYPT = re.compile(r"\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}")
_EMPTY_FILE = (
    "empty: write {} to serve without TLS or basic auth on purpose, or leave out --web.config.file; "
    "otherwise give tls_server_config and/or basic_auth_users"
)


class WebConfigError(ValueError):
    pass


@dataclass
class WebConfig:
    tls: ssl.SSLContext | None = None
    users: dict[str, bytes] = field(default_factory=dict)  # name -> bcrypt hash
    path: Path | None = None  # the file it was read from (None: no --web.config.file)
    _verified: set[bytes] = field(default_factory=set)  # digests of credentials that passed bcrypt
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _dummies: dict[int, bytes] = field(default_factory=dict)  # cost -> stand-in hash (never matches)

    def __post_init__(self) -> None:
        for hashed in self.users.values():
            cost = bcrypt_cost(hashed)
            if cost not in self._dummies:
                # A fresh salt of that cost and a hash no password yields;
                # checkpw runs the full key schedule of that cost on it.
                self._dummies[cost] = bcrypt.gensalt(rounds=cost) + b"." * 31
        # Which configured user's cost an unknown name borrows: keyed by the
        # configured hashes, so one name takes the same time at every try.
        self._key = hashlib.sha256(b"\0".join(sorted(self.users.values()))).digest()
        self._costs = [bcrypt_cost(self.users[name]) for name in sorted(self.users)]

    @property
    def open(self) -> bool:
        """No TLS and no authentication."""
        return self.tls is None and not self.users

    def describe(self) -> str:
        """'TLS, 2 basic-auth users', for the log."""
        return f"{'TLS' if self.tls else 'no TLS'}, {count(len(self.users), 'basic-auth user')}"

    def dummy_hash(self, user: str) -> bytes:
        """What the password of a name that is not configured is checked
        against: a hash of the cost of the configured user this name maps
        to (the same one at every try). With one user, that user's cost."""
        pick = int.from_bytes(hmac.new(self._key, user.encode(errors="surrogateescape"), "sha256").digest()[:8], "big")
        return self._dummies[self._costs[pick % len(self._costs)]]

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
            _checkpw(password, self.dummy_hash(user))  # as slow as a configured user's wrong password
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


def bcrypt_cost(hashed: bytes) -> int:
    """The cost (log2 rounds) of a bcrypt hash."""
    return int(hashed[4:6])


def _checkpw(password: str, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed)
    except ValueError:  # bcrypt 5 refuses passwords over 72 bytes: not a match
        return False


def load_web_config(path: str | Path) -> WebConfig:
    """Read and check the file (WebConfigError naming the file and the
    field); the TLS certificate and key are loaded here too, so a reload
    with a bad one is refused before anything changes."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise WebConfigError(f"{path}: cannot read it: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:  # the decoder's message would quote a byte of the file
        line = raw.count(b"\n", 0, exc.start) + 1
        raise WebConfigError(f"{path}:{line}: not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise WebConfigError(f"{path}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    except RecursionError:
        raise WebConfigError(f"{path}: not valid YAML: nested too deeply") from None
    if data is None:
        raise WebConfigError(f"{path}: {_EMPTY_FILE}")
    if not isinstance(data, dict):
        raise WebConfigError(f"{path}: expected a mapping (tls_server_config, basic_auth_users), or {{}}")
    unknown = {str(key) for key in data} - {"tls_server_config", "basic_auth_users"}
    if unknown:
        raise WebConfigError(
            f"{path}: {sorted(unknown)[0]}: unknown field (known: basic_auth_users, tls_server_config)"
        )
    tls = _tls(path, data["tls_server_config"]) if "tls_server_config" in data else None
    users: dict[str, bytes] = {}
    if "basic_auth_users" in data:
        section = data["basic_auth_users"]
        if not section:
            raise WebConfigError(f"{path}: basic_auth_users: empty: list user: bcrypt-hash lines, or leave the key out")
        if not isinstance(section, dict):
            raise WebConfigError(f"{path}: basic_auth_users: expected user: bcrypt-hash lines")
        for user, hashed in section.items():
            name = str(user)
            if not name or ":" in name:
                raise WebConfigError(f"{path}: basic_auth_users.{name}: a user name is not empty and holds no ':'")
            if not isinstance(hashed, str) or not _BCRYPT.fullmatch(hashed):
                raise WebConfigError(
                    f"{path}: basic_auth_users.{name}: expected a bcrypt hash ($2y$10$ and 53 characters), "
                    "not a password"
                )
            if not 4 <= int(hashed[4:6]) <= 31:
                raise WebConfigError(f"{path}: basic_auth_users.{name}: bcrypt cost {hashed[4:6]} is not 04 to 31")
            users[name] = hashed.encode()
    return WebConfig(tls, users, path)


def _tls(path: Path, section: object) -> ssl.SSLContext:
    if not section:
        raise WebConfigError(f"{path}: tls_server_config: empty: give cert_file and key_file, or leave the key out")
    if not isinstance(section, dict):
        raise WebConfigError(f"{path}: tls_server_config: expected a mapping")
    unknown = {str(key) for key in section} - _TLS_FIELDS
    if unknown:
        raise WebConfigError(f"{path}: tls_server_config.{sorted(unknown)[0]}: unknown field")
    for name in ("cert_file", "key_file"):
        if not section.get(name):
            raise WebConfigError(f"{path}: tls_server_config.{name}: missing")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    version = section.get("min_version", "TLS12")
    if not isinstance(version, str) or version not in _VERSIONS:
        raise WebConfigError(f"{path}: tls_server_config.min_version: expected TLS12 or TLS13, got {version!r}")
    context.minimum_version = _VERSIONS[version]
    base = path.parent
    cert, key = base / str(section["cert_file"]), base / str(section["key_file"])
    try:
        # An encrypted key fails here rather than prompting on the terminal.
        context.load_cert_chain(cert, key, password=lambda: b"")
    except (OSError, ssl.SSLError) as exc:
        raise WebConfigError(f"{path}: tls_server_config: cannot load {cert} / {key}: {exc}") from None
    return context
