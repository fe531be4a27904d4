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
says so with `{}`. Errors name the file, the line and the field, never a
password, and quote a value only once it is checked to be short text.

The file is read through safe_yaml (the inventory's path too): at most
1 MiB, 32 levels, aliases bounded (an alias bomb is refused at its line),
nodes rather than Python objects (a 5,000-digit user name stays a name).
A key given twice is refused. cert_file and key_file must be regular files
of at most 1 MiB, checked before ssl opens them: a FIFO there would block
that reload, and every later one, for good.

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

from ipsec_ha_monitor.bounded_files import MIB, FileReadError, check_regular_file
from ipsec_ha_monitor.logs import one_line
from ipsec_ha_monitor.safe_yaml import YamlFileError, YamlLimits, is_null, label, load_yaml_file, shown
from ipsec_ha_monitor.words import count

# A web config is a dozen lines; a thousand users fit in 100 KiB.
WEB_CONFIG_LIMITS = YamlLimits(max_bytes=1 * MIB)
# A certificate chain is a few KiB; a bundle with every intermediate, some hundreds.
_TLS_FILE_BYTES = 1 * MIB
_SECTIONS = {"tls_server_config", "basic_auth_users"}
_SHOWN_PATH_CHARACTERS = 200  # a path an error repeats: whole unless absurd
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

    def remembered(self, header: str | None) -> bool:
        """Whether an Authorization header passes without any bcrypt work:
        always without users, else when this very pair passed before. The
        HTTP front asks this first, and queues only the rest for bcrypt."""
        if not self.users:
            return True
        credentials = basic_credentials(header)
        if credentials is None or credentials[0] not in self.users:
            return False
        digest = self._digest(*credentials)
        with self._lock:
            return any(hmac.compare_digest(digest, seen) for seen in self._verified)

    def _digest(self, user: str, password: str) -> bytes:
        return hashlib.sha256(self.users[user] + b"\0" + user.encode() + b"\0" + password.encode()).digest()

    def authorized(self, header: str | None) -> bool:
        """Whether an Authorization header passes (always, without users).
        bcrypt is slow on purpose; a pair that passed once is remembered by
        its SHA-256 digest, so a scrape every few seconds costs one hash."""
        if not self.users:
            return True
        credentials = basic_credentials(header)
        if credentials is None:
            return False
        user, password = credentials
        stored = self.users.get(user)
        if stored is None:
            _checkpw(password, self.dummy_hash(user))  # as slow as a configured user's wrong password
            return False
        digest = self._digest(user, password)
        with self._lock:
            if any(hmac.compare_digest(digest, seen) for seen in self._verified):
                return True
        if not _checkpw(password, stored):
            return False
        with self._lock:
            self._verified.add(digest)
        return True


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(user, password) of a Basic Authorization header, None if it is not one."""
    if not header or not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


def bcrypt_cost(hashed: bytes) -> int:
    """The cost (log2 rounds) of a bcrypt hash."""
    return int(hashed[4:6])


def _checkpw(password: str, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed)
    except ValueError:  # bcrypt 5 refuses passwords over 72 bytes: not a match
        return False


def load_web_config(path: str | Path) -> WebConfig:
    """Read and check the file (WebConfigError naming the file, the line
    and the field); the TLS certificate and key are loaded here too, so a
    reload with a bad one is refused before anything changes."""
    path = Path(path)
    try:
        root = load_yaml_file(path, WEB_CONFIG_LIMITS)
    except YamlFileError as exc:
        raise WebConfigError(str(exc)) from None
    if root is None:
        raise WebConfigError(f"{path}: {_EMPTY_FILE}")
    top = _fields(path, root, "", _SECTIONS, "expected a mapping (tls_server_config, basic_auth_users), or {}")
    tls = _tls(path, top["tls_server_config"]) if "tls_server_config" in top else None
    users: dict[str, bytes] = {}
    if "basic_auth_users" in top:
        section = top["basic_auth_users"]
        if _empty(section):
            raise _error(path, section, "basic_auth_users", "empty: list user: bcrypt-hash lines, or leave the key out")
        if not isinstance(section, yaml.MappingNode):
            raise _error(path, section, "basic_auth_users", "expected user: bcrypt-hash lines")
        for key, value in section.value:
            name = key.value if isinstance(key, yaml.ScalarNode) and not is_null(key) else ""
            where = f"basic_auth_users.{label(name)}"
            if not name or ":" in name:
                raise _error(path, key, where, "a user name is not empty and holds no ':'")
            if name in users:
                raise _error(path, key, where, "given twice")
            hashed = value.value if isinstance(value, yaml.ScalarNode) else ""
            if not _BCRYPT.fullmatch(hashed):  # never repeated: it may be a password
                raise _error(path, value, where, "expected a bcrypt hash ($2y$10$ and 53 characters), not a password")
            if not 4 <= int(hashed[4:6]) <= 31:
                raise _error(path, value, where, f"bcrypt cost {hashed[4:6]} is not 04 to 31")
            users[name] = hashed.encode()
    return WebConfig(tls, users, path)


def _error(path: Path, node: yaml.Node | None, where: str, message: str) -> WebConfigError:
    """`path:line: where: message`, the line of `node`."""
    place = f"{path}:{node.start_mark.line + 1}" if node is not None else str(path)
    return WebConfigError(f"{place}: {where}: {message}" if where else f"{place}: {message}")


def _empty(node: yaml.Node) -> bool:
    """`key:`, `key: {}`, `key: []` or `key: ''`: nothing given."""
    return is_null(node) or not node.value


def _fields(path: Path, node: yaml.Node, where: str, known: set[str], expected: str) -> dict[str, yaml.Node]:
    """A mapping's values by key, each key one of `known` and given once."""
    if not isinstance(node, yaml.MappingNode):
        raise _error(path, node, where, expected)
    fields: dict[str, yaml.Node] = {}
    for key, value in node.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else None
        place = f"{where}." if where else ""
        if name is None:
            raise _error(path, key, where or "(top)", "a key that is not text")
        if name not in known:
            also = f" (known: {', '.join(sorted(known))})" if not where else ""
            raise _error(path, key, f"{place}{label(name)}", f"unknown field{also}")
        if name in fields:
            raise _error(path, key, f"{place}{name}", "given twice")
        fields[name] = value
    return fields


def _text(path: Path, node: yaml.Node, where: str, expected: str) -> str:
    """A scalar's text, checked before it is used or quoted."""
    if not isinstance(node, yaml.ScalarNode) or is_null(node) or not node.value.strip():
        kind = (
            "a list"
            if isinstance(node, yaml.SequenceNode)
            else "a mapping"
            if isinstance(node, yaml.MappingNode)
            else "nothing"
        )
        raise _error(path, node, where, f"expected {expected}, got {kind}")
    return str(node.value)


def _tls(path: Path, node: yaml.Node) -> ssl.SSLContext:
    if _empty(node):
        raise _error(path, node, "tls_server_config", "empty: give cert_file and key_file, or leave the key out")
    section = _fields(path, node, "tls_server_config", _TLS_FIELDS, "expected a mapping")
    for name in ("cert_file", "key_file"):
        if name not in section or _empty(section[name]):
            raise _error(path, section.get(name, node), f"tls_server_config.{name}", "missing")
    version = "TLS12"
    if "min_version" in section:
        version = _text(path, section["min_version"], "tls_server_config.min_version", "TLS12 or TLS13")
        if version not in _VERSIONS:
            raise _error(
                path,
                section["min_version"],
                "tls_server_config.min_version",
                f"expected TLS12 or TLS13, got {shown(version)}",
            )
    files: dict[str, Path] = {}
    for name in ("cert_file", "key_file"):
        where = f"tls_server_config.{name}"
        given = _text(path, section[name], where, "a file name")
        files[name] = path.parent / given
        try:  # before ssl opens it: a FIFO would block the reload, and every later one, for good
            check_regular_file(files[name], _TLS_FILE_BYTES)
        except FileReadError as exc:
            shown_path = label(str(files[name]), _SHOWN_PATH_CHARACTERS)
            raise _error(path, section[name], where, f"cannot load {shown_path}: {exc.reason}") from None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = _VERSIONS[version]
    cert, key = files["cert_file"], files["key_file"]
    try:
        # An encrypted key fails here rather than prompting on the terminal.
        context.load_cert_chain(cert, key, password=lambda: b"")
    except (OSError, ssl.SSLError) as exc:
        raise _error(path, node, "tls_server_config", f"cannot load {cert} / {key}: {one_line(str(exc))}") from None
    return context
