"""The inventory: one YAML file, loaded and validated here into typed data.

    defaults:                       # optional; any device field, plus credentials
      platform: cisco_ios
      port: 22
      credentials:
        username: netops            # a username is not a secret: plain text is fine
        password: {env: IPSECHA_PASSWORD}
        enable_secret: {file: /run/secrets/enable}
    pairs:
      - {name: HUB-PAIR-1, members: [R1, R2]}
      # optional `stateful_group: BRANCH-5-TUNNEL`: the HSRP group name that
      # `scheme standby` names, for images without show redundancy inter-device
      - {name: XE-PAIR-1, members: [XE1, XE2], mode: b2b, groups: [1]}
      # `mode: b2b`: an IOS-XE box-to-box pair (members on platform cisco_xe),
      # watched per redundancy group; `groups` lists the ids (default [1]),
      # each a number or {id: 1, failover_threshold: 140} (`priority 150
      # failover threshold 140` under the group: no show command prints it)
    devices:
      - {name: R1, host: 10.0.0.1, role: hub, pair: HUB-PAIR-1, expected_peers: [172.16.0.4]}
      - {name: R2, host: 10.0.0.2, role: hub, pair: HUB-PAIR-1, expected_peers: [172.16.0.4]}
      - {name: R4, host: 172.16.0.4, role: branch}
    polling:                        # optional; the values below are the defaults
      workers: auto                 # polls at once: auto sizes it from the fleet's poll times
      max_workers: 1024             # the most that auto may use
      login_concurrency: 32         # logins in progress at once, over the whole fleet
      logins_per_second: 20         # new logins per second at most (a restart never storms AAA)
      login_jitter: 0.5             # each gap between logins stretched by up to 50 %, at random
      connect_timeout: 10           # seconds for TCP, the SSH handshake and banner
      login_timeout: 10             # seconds for authentication and the first prompt (default: connect_timeout)
      command_timeout: 20           # seconds for one command's whole output
      poll_timeout: 60              # seconds for one device's whole poll
      keepalive: 30                 # seconds between SSH keepalives on idle sessions
      backoff_initial: 5            # seconds before retrying a refused login (auth),
      backoff_max: 300              # doubling per failure up to this

Per device (or in defaults): `known_hosts: PATH` checks the SSH host key
against that file (OpenSSH format; unknown or changed keys are refused),
`legacy_ssh: true` allows SHA-1 key exchange and ssh-rsa host keys for old
IOS images (Paramiko 5 has removed them; see the README), and
`ssh_config_file: PATH` hands netmiko an OpenSSH client configuration: its
ProxyJump (one hop; netmiko runs the OpenSSH client, `ssh -W`) or
ProxyCommand for the device's host is how the device is reached. `device_type`
is read as `platform` (netmiko's name; the same values). `timeouts` (per
device, or in defaults, merged key by key) overrides the `polling` values:

      timeouts: {connect: 30, login: 30, command: 60, poll: 180}

`connect` is TCP, the SSH handshake and banner; `login` the authentication
and the first prompt (`polling.login_timeout`, default the connect timeout);
`command` one command's output; `poll` the device's whole poll.

A hub belongs to one pair: one listed in two is refused, naming the line and
both pairs. Every path the inventory names (key_file, known_hosts,
ssh_config_file, {file: PATH}) is `~` expanded, and a relative one is read
from the inventory's folder (not the current directory: `/` under systemd).

Credentials may log in with a key: `key_file: PATH` (OpenSSH or PEM private
key, loaded at load time) with `passphrase` (a secret, as
below) when it is encrypted, and/or `use_agent: true` (the keys of the SSH
agent at SSH_AUTH_SOCK). The password is then optional.

Passwords and enable secrets come from environment variables (`{env: NAME}`)
or files (`{file: PATH}`, first line). Inline secrets are refused, except in
an inventory marked `lab: true` (what `ipsec-ha-monitor lab` writes, with its
throwaway credentials) for hosts on loopback addresses. A file the inventory
names (secret, key, known_hosts, ssh_config) that cannot be read, is not
UTF-8 or is binary is an error naming it; so is one that is not a regular
file (a FIFO is never waited on) or is over 16 MiB. The inventory itself is
read through safe_yaml (INVENTORY_LIMITS: 16 MiB, 32 levels, aliases
bounded, not refused: see there). Every error names the file, the
line and the field, in one line; no error, repr or str ever shows a secret. A value given where a
variable name or a path belongs may be a secret pasted in the wrong place: an
error repeats a variable's name only when it looks like one (upper-case
letters, digits and `_`, at most 64 characters), and a path only when
something exists there.

Secrets are `Secret`s (ipsec_ha_monitor.secret_text): nothing prints one,
and the pollers and `check` mask one in any form it can come back in. A
secret too short to mask (under 4 characters) is warned about once per load.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from ipsec_ha_monitor.bounded_files import MIB, FileReadError, read_regular_file
from ipsec_ha_monitor.logs import one_line
from ipsec_ha_monitor.parse.templates import PLATFORMS  # what the parser reads is what may be polled
from ipsec_ha_monitor.safe_yaml import YamlFileError, YamlLimits, is_null, label, load_yaml_file, scalar_bool, shown
from ipsec_ha_monitor.secret_text import Secret, short_secret_warning

log = logging.getLogger(__name__)

ROLES = ("hub", "branch")
_SSH_FIELDS = {"known_hosts", "legacy_ssh", "ssh_config_file", "timeouts"}
_DEVICE_FIELDS = {
    "name",
    "host",
    "port",
    "platform",
    "device_type",
    "role",
    "pair",
    "expected_peers",
    "credentials",
    "syslog_sources",
} | _SSH_FIELDS
_DEFAULT_FIELDS = {"port", "platform", "device_type", "credentials"} | _SSH_FIELDS
_CREDENTIAL_FIELDS = {"username", "password", "enable_secret", "key_file", "passphrase", "use_agent"}
# A device's `timeouts` keys, and the `polling` value each overrides.
TIMEOUT_KEYS = {
    "connect": "connect_timeout",
    "login": "login_timeout",
    "command": "command_timeout",
    "poll": "poll_timeout",
}
# Thousands of devices take about 150 bytes each (one flow-style line, or
# six block lines): 16 MiB holds some 100,000, far past one exporter's
# fleet, and PyYAML composes it in well under a minute.
INVENTORY_LIMITS = YamlLimits(max_bytes=16 * MIB)
# A file the inventory names (a secret, a key, known_hosts, an ssh_config):
# the largest, a fleet's known_hosts, is a few hundred bytes a host.
REFERENCED_FILE_BYTES = 16 * MIB
# What an error may repeat of a value given where a variable name belongs:
# a secret pasted there instead must not be printed back.
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")


class InventoryError(ValueError):
    """A bad inventory: names the file, the line and the field."""

    def __init__(self, path: Path, line: int, where: str, message: str) -> None:
        self.path, self.line, self.where, self.message = path, line, where, message
        super().__init__(f"{path}:{line}: {where}: {message}")


# A device that logs in with a key or the agent alone: reveals "", is found
# in no text, and netmiko gets no password to try.
NO_PASSWORD = Secret("", "no password: key or agent login")


@dataclass(frozen=True)
class Credentials:
    username: str
    password: Secret  # NO_PASSWORD when a key or the agent logs in alone
    enable_secret: Secret | None = None
    key_file: Path | None = None  # a private key (OpenSSH or PEM), ~ expanded
    passphrase: Secret | None = None  # of an encrypted key_file
    use_agent: bool = False  # offer the SSH agent's keys (SSH_AUTH_SOCK)

    @property
    def secrets(self) -> tuple[Secret, ...]:
        """Every secret of these credentials: what no text may give away."""
        held = (self.password, self.enable_secret, self.passphrase)
        return tuple(secret for secret in held if secret is not None and secret.reveal())


@dataclass(frozen=True)
class Device:
    name: str
    host: str
    port: int
    platform: str
    role: str  # "hub" or "branch"
    credentials: Credentials
    pair: str | None = None
    stateful_group: str | None = None  # its pair's, when the inventory names it
    expected_peers: tuple[str, ...] = ()
    known_hosts: Path | None = None  # check the host key against this file
    legacy_ssh: bool = False  # allow SHA-1 key exchange and ssh-rsa host keys
    ssh_config_file: Path | None = None  # OpenSSH client config: ProxyJump / ProxyCommand
    timeouts: tuple[tuple[str, float], ...] = ()  # (polling field, seconds) overriding `polling`
    # Addresses its syslog messages may come from besides `host` (`logging
    # source-interface`): see ipsec_ha_monitor/syslog/sources.py.
    syslog_sources: tuple[str, ...] = ()
    pair_mode: str = "classic"  # its pair's mode (CLASSIC or B2B): what it is polled with

    def settings(self, polling: PollSettings) -> PollSettings:
        """`polling` with this device's own timeouts."""
        overrides: dict[str, Any] = dict(self.timeouts)
        return replace(polling, **overrides) if overrides else polling


@dataclass(frozen=True)
class PollSettings:
    """How the pollers behave (the inventory's `polling` section)."""

    workers: int | None = None  # polls at once; None ("auto"): sized from the fleet's poll times
    max_workers: int = 1024  # the ceiling of "auto"
    login_concurrency: int = 32  # logins in progress at once, over the whole fleet
    logins_per_second: float = 20.0  # a ceiling (product seconds); jitter only slows it
    login_jitter: float = 0.5  # each gap between two logins stretched by up to this share
    connect_timeout: float = 10.0
    login_timeout: float | None = None  # authentication and the first prompt; None: connect_timeout
    command_timeout: float = 20.0
    poll_timeout: float = 60.0
    keepalive: float = 30.0
    backoff_initial: float = 5.0
    backoff_max: float = 300.0
    # What one command may print (bytes) before it fails as output_too_large
    # and the session is dropped: far above a large hub's biggest output (see
    # docs/polling.md), far below what would starve the process.
    max_output_bytes: int = 16 * 1024 * 1024
    max_banner_bytes: int = 64 * 1024  # what a device may send before its first prompt

    @property
    def login_seconds(self) -> float:
        return self.connect_timeout if self.login_timeout is None else self.login_timeout


# Pair modes: the IOS generation (HSRP + `redundancy inter-device`), and
# IOS-XE box-to-box redundancy groups (`application redundancy`).
CLASSIC, B2B = "classic", "b2b"
PAIR_MODES = (CLASSIC, B2B)
RG_ID_MAX = 255  # `group <id>` under `application redundancy` (IOS-XE itself takes 1-2 today)
RG_PRIORITY_MAX = 255  # `priority <1-255> failover threshold <1-255>`


@dataclass(frozen=True)
class RedundancyGroupWatch:
    """A box-to-box redundancy group the monitor judges, with what only the
    configuration says about it."""

    id: int
    # `priority N failover threshold T`: at or below T the group fails over.
    # No show command prints it; None: the threshold is not judged.
    failover_threshold: int | None = None


@dataclass(frozen=True)
class Pair:
    name: str
    members: tuple[str, str]
    # The HSRP group name `redundancy inter-device` / `scheme standby` names,
    # as configured; None to learn it from show redundancy inter-device.
    stateful_group: str | None = None
    mode: str = CLASSIC
    groups: tuple[RedundancyGroupWatch, ...] = ()  # B2B: the redundancy groups watched

    @property
    def watched_groups(self) -> tuple[RedundancyGroupWatch, ...]:
        """A b2b pair's groups to judge: those listed, else group 1 (the
        loader's default, for a Pair built without it)."""
        return self.groups or (RedundancyGroupWatch(1),)


@dataclass(frozen=True)
class Inventory:
    path: Path
    devices: dict[str, Device] = field(default_factory=dict)
    pairs: dict[str, Pair] = field(default_factory=dict)
    lab: bool = False
    polling: PollSettings = field(default_factory=PollSettings)

    def pair_of(self, device: str) -> str:
        """The device's pair name, "" for a device in no pair (a branch)."""
        return self.devices[device].pair or ""

    def rank(self, pair: Pair) -> int:
        """A pair's place in the inventory (sort key: inventory order)."""
        return self._pair_ranks[pair.name]

    @functools.cached_property
    def _pair_ranks(self) -> dict[str, int]:
        return {name: index for index, name in enumerate(self.pairs)}


def load_inventory(path: str | os.PathLike[str]) -> Inventory:
    """Read and validate the inventory at `path` (raises InventoryError)."""
    return _Loader(Path(path)).load()


class _Loader:
    def __init__(self, path: Path) -> None:
        self.path = path
        # Relative paths in the inventory are read from its folder, wherever
        # the process runs (under systemd the current directory is /).
        self.folder = Path(os.path.abspath(path)).parent
        self._keys: dict[tuple[Path, str | None], str] = {}  # key_file and passphrase: what is wrong, "" nothing
        self._secret_places: dict[Secret, str] = {}  # every secret read, and where first: for the short-secret warning

    def error(self, node: yaml.Node | None, where: str, message: str) -> InventoryError:
        line = node.start_mark.line + 1 if node is not None else 0
        return InventoryError(self.path, line, where, message)

    def load(self) -> Inventory:
        try:
            root = load_yaml_file(self.path, INVENTORY_LIMITS)
        except YamlFileError as exc:
            raise InventoryError(self.path, exc.line, "file", exc.message) from None
        if root is None:
            raise InventoryError(self.path, 1, "file", "empty inventory: expected 'devices'")
        top = self.mapping(root, "inventory", {"defaults", "devices", "pairs", "lab", "polling"})
        lab = self.boolean(top["lab"], "lab") if "lab" in top else False
        defaults = self.mapping(top["defaults"], "defaults", _DEFAULT_FIELDS) if "defaults" in top else {}
        if "devices" not in top:
            raise self.error(root, "devices", "missing: the inventory needs at least one device")
        devices: dict[str, Device] = {}
        device_nodes = self.sequence(top["devices"], "devices")
        if not device_nodes:
            raise self.error(top["devices"], "devices", "empty: the inventory needs at least one device")
        for index, node in enumerate(device_nodes):
            device = self.device(node, f"devices[{index}]", defaults, lab)
            if device.name in devices:
                raise self.error(node, f"devices[{index}].name", f"duplicate device name {shown(device.name)}")
            devices[device.name] = device
        pairs: dict[str, Pair] = {}
        member_of: dict[str, tuple[str, int]] = {}  # device -> (its pair, the line that lists it)
        for index, node in enumerate(self.sequence(top["pairs"], "pairs") if "pairs" in top else []):
            pair = self.pair(node, f"pairs[{index}]", devices)
            if pair.name in pairs:
                raise self.error(node, f"pairs[{index}].name", f"duplicate pair name {shown(pair.name)}")
            for member in pair.members:
                if member in member_of:
                    first, line = member_of[member]
                    raise self.error(
                        node,
                        f"pairs[{index}].members",
                        f"{_name(member)} is in two pairs, {_name(first)} (line {line}) and {_name(pair.name)}: "
                        "a hub belongs to one pair only",
                    )
                member_of[member] = (pair.name, node.start_mark.line + 1)
            pairs[pair.name] = pair
        self.check_membership(device_nodes, devices, pairs)
        for pair in pairs.values():  # a member need not repeat its pair's name
            for member in pair.members:
                devices[member] = replace(
                    devices[member], pair=pair.name, stateful_group=pair.stateful_group, pair_mode=pair.mode
                )
        polling = self.polling(top["polling"]) if "polling" in top else PollSettings()
        if not lab:  # a lab's secrets are throwaway, on loopback
            for secret, where in self._secret_places.items():
                warning = short_secret_warning(secret, f"{self.path}: {where}")
                if warning:
                    log.warning("%s", warning)
        return Inventory(self.path, devices, pairs, lab, polling)

    # --- shapes ---------------------------------------------------------------

    def mapping(self, node: yaml.Node, where: str, allowed: set[str]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, where, "expected a mapping (key: value lines)")
        result: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name not in allowed:
                known = ", ".join(sorted(allowed))
                field = "(a key that is not text)" if name is None else label(name)
                raise self.error(key, f"{where}.{field}", f"unknown field (known: {known})")
            if name in result:
                raise self.error(key, f"{where}.{name}", "given twice")
            result[name] = value
        return result

    def sequence(self, node: yaml.Node, where: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, where, "expected a list")
        return list(node.value)

    def text(self, node: yaml.Node, where: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or is_null(node) or not str(node.value).strip():
            raise self.error(node, where, "expected a non-empty text value")
        return str(node.value).strip()

    def boolean(self, node: yaml.Node, where: str) -> bool:
        value = scalar_bool(node)  # read off the node: nothing converted, nothing formatted
        if value is None:
            raise self.error(node, where, "expected true or false")
        return value

    def port(self, node: yaml.Node, where: str) -> int:
        value = self.text(node, where)
        if not (value.isascii() and value.isdigit() and len(value) <= 5) or not 0 < int(value) < 65536:
            raise self.error(node, where, f"expected a TCP port 1-65535, got {shown(value)}")
        return int(value)

    def number(self, node: yaml.Node, where: str, minimum: float) -> float:
        value = self.text(node, where)
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not number >= minimum or number == float("inf"):
            raise self.error(node, where, f"expected a number >= {minimum:g}, got {shown(value)}")
        return number

    def integer(self, node: yaml.Node, where: str, minimum: int, maximum: int) -> int:
        value = self.text(node, where)
        if not (value.isascii() and value.isdigit() and len(value) <= 6) or not minimum <= int(value) <= maximum:
            raise self.error(node, where, f"expected a whole number {minimum}-{maximum}, got {shown(value)}")
        return int(value)

    def choice(self, node: yaml.Node, where: str, allowed: tuple[str, ...]) -> str:
        value = self.text(node, where)
        if value not in allowed:
            raise self.error(node, where, f"expected one of {', '.join(allowed)}, got {shown(value)}")
        return value

    # --- records --------------------------------------------------------------

    def device(self, node: yaml.Node, where: str, defaults: dict[str, yaml.Node], lab: bool) -> Device:
        fields = self.mapping(node, where, _DEVICE_FIELDS)
        for required in ("name", "host", "role"):
            if required not in fields:
                raise self.error(node, f"{where}.{required}", "missing")

        def pick(name: str) -> tuple[yaml.Node | None, str]:
            if name in fields:
                return fields[name], f"{where}.{name}"
            return defaults.get(name), f"defaults.{name}"

        name = self.text(fields["name"], f"{where}.name")
        host = self.text(fields["host"], f"{where}.host")
        port_node, port_where = pick("port")
        port = self.port(port_node, port_where) if port_node is not None else 22
        known_hosts_node, known_hosts_where = pick("known_hosts")
        legacy_node, legacy_where = pick("legacy_ssh")
        ssh_config_node, ssh_config_where = pick("ssh_config_file")
        credentials_node, credentials_where = pick("credentials")
        if credentials_node is None:
            raise self.error(node, f"{where}.credentials", "missing (here or in defaults)")
        role = self.choice(fields["role"], f"{where}.role", ROLES)
        peers: tuple[str, ...] = ()
        if "expected_peers" in fields:
            if role != "hub":
                raise self.error(fields["expected_peers"], f"{where}.expected_peers", "only a hub has expected peers")
            peers = tuple(
                self.address(peer, f"{where}.expected_peers[{i}]")
                for i, peer in enumerate(self.sequence(fields["expected_peers"], f"{where}.expected_peers"))
            )
        sources: tuple[str, ...] = ()
        if "syslog_sources" in fields:
            sources = tuple(
                self.address(source, f"{where}.syslog_sources[{i}]")
                for i, source in enumerate(self.sequence(fields["syslog_sources"], f"{where}.syslog_sources"))
            )
        platform = self.platform(fields, where) or self.platform(defaults, "defaults") or "cisco_ios"
        timeouts = dict(self.timeouts(defaults["timeouts"], "defaults.timeouts") if "timeouts" in defaults else ())
        timeouts.update(self.timeouts(fields["timeouts"], f"{where}.timeouts") if "timeouts" in fields else ())
        return Device(
            name=name,
            host=host,
            port=port,
            platform=platform,
            role=role,
            credentials=self.credentials(credentials_node, credentials_where, lab, host, name),
            pair=self.text(fields["pair"], f"{where}.pair") if "pair" in fields else None,
            expected_peers=peers,
            known_hosts=self.known_hosts(known_hosts_node, known_hosts_where) if known_hosts_node is not None else None,
            legacy_ssh=self.boolean(legacy_node, legacy_where) if legacy_node is not None else False,
            ssh_config_file=self.ssh_config(ssh_config_node, ssh_config_where, host, port)
            if ssh_config_node is not None
            else None,
            timeouts=tuple(sorted(timeouts.items())),
            syslog_sources=sources,
        )

    def platform(self, fields: dict[str, yaml.Node], where: str) -> str | None:
        """`platform`, or netmiko's name for it, `device_type` (the same
        values); both given must agree. None when neither is."""
        given = {
            key: self.choice(fields[key], f"{where}.{key}", PLATFORMS)
            for key in ("platform", "device_type")
            if key in fields
        }
        if len(set(given.values())) > 1:
            raise self.error(
                fields["device_type"],
                f"{where}.device_type",
                f"{given['device_type']!r} disagrees with platform {given['platform']!r} "
                "(device_type is netmiko's name for platform: give one of them)",
            )
        return next(iter(given.values()), None)

    def timeouts(self, node: yaml.Node, where: str) -> dict[str, float]:
        fields = self.mapping(node, where, set(TIMEOUT_KEYS))
        return {TIMEOUT_KEYS[key]: self.number(value, f"{where}.{key}", 0.1) for key, value in fields.items()}

    def known_hosts(self, node: yaml.Node, where: str) -> Path:
        path = self.referenced_file(node, where)
        self.read_referenced(node, where, path)
        return path

    def referenced_file(self, node: yaml.Node, where: str) -> Path:
        """A path the inventory names (not a secret's: it is repeated in
        errors), `~` expanded, relative to the inventory's folder, that must
        be a file. The error names the path tried."""
        given = self.text(node, where)
        path = _path(given, self.folder)
        if path is None or not path.is_file():
            tried = str(path) if path is not None else given
            relative = path is not None and str(path) != str(_path(given))
            hint = f" ({_name(given)} is read from the inventory's folder)" if relative else ""
            raise self.error(node, where, f"{_name(tried)} is not a readable file{hint}")
        return path

    def read_referenced(self, node: yaml.Node, where: str, path: Path) -> str:
        """The text of a file the inventory names: readable UTF-8 text, or an
        error naming it."""
        try:
            data = read_regular_file(path, REFERENCED_FILE_BYTES)
        except FileReadError as exc:
            raise self.error(node, where, f"cannot read {path}: {exc.reason}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error(node, where, f"{path} is not UTF-8 text") from None
        if "\0" in text:
            raise self.error(node, where, f"{path} is a binary file, not text")
        return text

    def ssh_config(self, node: yaml.Node, where: str, host: str, port: int) -> Path:
        """An OpenSSH client configuration netmiko reads for this host: its
        ProxyJump (one hop, run as `ssh -W` by the OpenSSH client) or
        ProxyCommand, HostName, Port and User."""
        import paramiko  # here: reading an inventory without SSH options needs no SSH library

        path = self.referenced_file(node, where)
        text = self.read_referenced(node, where, path)
        try:
            config = paramiko.SSHConfig.from_text(text)
            found = config.lookup(host)
        except Exception as exc:  # paramiko's ConfigParseError and kin
            raise self.error(node, where, f"{path}: not a valid ssh_config: {one_line(str(exc))}") from None
        hops = found.get("proxyjump", "")
        if "proxycommand" not in found and "," in hops:
            raise self.error(
                node,
                where,
                f"{path}: ProxyJump {hops} for {host} has more than one hop, which netmiko does not support: "
                "give the last hop a ProxyJump of its own",
            )
        # Paramiko expands ProxyCommand's %p to the config's Port (22 unless
        # set), not the port netmiko is given: the hop would go to the wrong one.
        config_port = str(found.get("port", "22"))
        uses_port = any(line.strip().lower().startswith("proxycommand") and "%p" in line for line in text.splitlines())
        if "proxycommand" in found and uses_port and config_port != str(port):
            raise self.error(
                node,
                where,
                f"{path}: the ProxyCommand for {host} gets %p = {config_port} (its Port there), but the device's "
                f"port is {port}: set Port {port} for {host} in {path}",
            )
        return path

    def key_file(self, node: yaml.Node, where: str) -> Path:
        path = self.referenced_file(node, where)
        text = self.read_referenced(node, where, path)
        if "PRIVATE KEY-----" not in text:
            hint = ": it holds a public key" if text.lstrip().startswith(("ssh-", "ecdsa-", "sk-")) else ""
            raise self.error(node, where, f"{path} is not a private key (OpenSSH or PEM){hint}")
        return path

    def polling(self, node: yaml.Node) -> PollSettings:
        fields = self.mapping(node, "polling", set(PollSettings.__dataclass_fields__))
        values: dict[str, Any] = {}  # counts, a rate, a share; the rest seconds
        for name, value in fields.items():
            where = f"polling.{name}"
            if name == "workers" and isinstance(value, yaml.ScalarNode) and value.value == "auto":
                values[name] = None
            elif name in ("workers", "max_workers", "login_concurrency", "max_output_bytes", "max_banner_bytes"):
                number = self.number(value, where, 1)
                if number != int(number):
                    raise self.error(
                        value, where, "expected a whole number" + (" or auto" if name == "workers" else "")
                    )
                values[name] = int(number)
            elif name == "login_jitter":
                values[name] = self.number(value, where, 0)
                if values[name] > 1:
                    raise self.error(value, where, f"expected a share from 0 to 1, got {values[name]:g}")
            else:
                values[name] = self.number(value, where, 0 if name == "keepalive" else 0.1)
        settings = PollSettings(**values)
        if settings.backoff_max < settings.backoff_initial:
            raise self.error(fields.get("backoff_max", node), "polling.backoff_max", "must be >= backoff_initial")
        return settings

    def address(self, node: yaml.Node, where: str) -> str:
        value = self.text(node, where)
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise self.error(node, where, f"expected an IP address, got {shown(value)}") from None

    def credentials(self, node: yaml.Node, where: str, lab: bool, host: str, device: str) -> Credentials:
        fields = self.mapping(node, where, _CREDENTIAL_FIELDS)
        if "username" not in fields:
            raise self.error(node, f"{where}.username", "missing")
        key_file = self.key_file(fields["key_file"], f"{where}.key_file") if "key_file" in fields else None
        use_agent = self.boolean(fields["use_agent"], f"{where}.use_agent") if "use_agent" in fields else False
        if "password" not in fields and key_file is None and not use_agent:
            raise self.error(node, f"{where}.password", "missing (needed unless key_file or use_agent: true is given)")
        if "passphrase" in fields and key_file is None:
            raise self.error(fields["passphrase"], f"{where}.passphrase", "given without key_file")
        inline = InlineRule(lab, host, device)
        secret, passphrase_node = fields.get("enable_secret"), fields.get("passphrase")
        passphrase = None if passphrase_node is None else self.secret(passphrase_node, f"{where}.passphrase", inline)
        if key_file is not None:
            self.check_key(fields["key_file"], f"{where}.key_file", key_file, passphrase)
        return Credentials(
            username=self.text(fields["username"], f"{where}.username"),
            password=self.secret(fields["password"], f"{where}.password", inline)
            if "password" in fields
            else NO_PASSWORD,
            enable_secret=self.secret(secret, f"{where}.enable_secret", inline) if secret is not None else None,
            key_file=key_file,
            passphrase=passphrase,
            use_agent=use_agent,
        )

    def check_key(self, node: yaml.Node, where: str, path: Path, passphrase: Secret | None) -> None:
        """The key loads, decrypted with `passphrase` when it is encrypted
        (each key and passphrase once per load: decrypting takes a while)."""
        import paramiko

        cache_key = (path, passphrase.reveal() if passphrase is not None else None)
        if cache_key not in self._keys:
            problem = ""
            try:
                paramiko.PKey.from_path(path, cache_key[1].encode() if cache_key[1] is not None else None)
            except TypeError:  # encrypted and no passphrase, or the other way round
                problem = (
                    f"{path} is encrypted: give passphrase"
                    if passphrase is None
                    else f"{path} is not encrypted: leave passphrase out"
                )
            except Exception as exc:  # ValueError, SSHException, UnknownKeyType: never the passphrase's text
                problem = (
                    f"cannot load {path} (a wrong passphrase, or a key type Paramiko cannot use: {type(exc).__name__})"
                )
            self._keys[cache_key] = problem
        if self._keys[cache_key]:
            raise self.error(node, where, self._keys[cache_key])

    def secret(self, node: yaml.Node, where: str, inline: InlineRule) -> Secret:
        secret = self.read_secret(node, where, inline)
        self._secret_places.setdefault(secret, where)  # warned about once the whole file has loaded
        return secret

    def read_secret(self, node: yaml.Node, where: str, inline: InlineRule) -> Secret:
        if isinstance(node, yaml.ScalarNode):
            refusal = inline.refusal()
            if refusal:
                raise self.error(node, where, refusal)
            return Secret(self.text(node, where), "the lab inventory")
        # Not self.mapping(): an unknown key is not repeated (`{hunter2}` is a key).
        keys = [key.value if isinstance(key, yaml.ScalarNode) else None for key, _ in getattr(node, "value", ())]
        if not isinstance(node, yaml.MappingNode) or len(keys) != 1 or keys[0] not in ("env", "file"):
            raise self.error(node, where, "expected exactly one of {env: VARIABLE} or {file: PATH}")
        kind, value_node = keys[0], node.value[0][1]
        given = self.text(value_node, f"{where}.{kind}")
        if kind == "env":
            try:
                value = os.environ.get(given)
            except ValueError:  # a NUL in the name
                value = None
            if not value:
                # A secret pasted where the name belongs must not be printed:
                # the name is repeated only when it looks like one.
                name = f"environment variable {given}" if _ENV_NAME.fullmatch(given) else _UNNAMED_VARIABLE
                raise self.error(value_node, f"{where}.env", f"{name} is not set")
            return Secret(value, f"env {given}")
        source = _path(given, self.folder)
        try:
            if source is None:
                raise FileNotFoundError
            source.stat()
        except (OSError, ValueError):
            # Nothing there, so perhaps no path at all but a secret pasted in
            # its place: the path is not repeated.
            raise self.error(value_node, f"{where}.file", _NO_FILE) from None
        try:
            data = read_regular_file(source, REFERENCED_FILE_BYTES)  # a FIFO is refused, never waited on
            value = data.decode("utf-8").splitlines()[0].strip() if data else ""
        except FileReadError as exc:
            raise self.error(value_node, f"{where}.file", f"cannot read {source}: {exc.reason}") from None
        except UnicodeDecodeError:  # the decoder's message would quote a byte of the secret
            raise self.error(value_node, f"{where}.file", f"{source} is not UTF-8 text") from None
        if any((char < " " and char != "\t") or char == "\x7f" for char in value):
            raise self.error(value_node, f"{where}.file", f"{source} is a binary file, not text")
        if not value:
            raise self.error(value_node, f"{where}.file", f"{source} is empty")
        return Secret(value, f"file {source}")

    def pair(self, node: yaml.Node, where: str, devices: dict[str, Device]) -> Pair:
        fields = self.mapping(node, where, {"name", "members", "stateful_group", "mode", "groups"})
        if "name" not in fields or "members" not in fields:
            raise self.error(node, where, "a pair needs a name and two members")
        members = [self.text(m, f"{where}.members") for m in self.sequence(fields["members"], f"{where}.members")]
        if len(members) != 2 or members[0] == members[1]:
            raise self.error(fields["members"], f"{where}.members", "a pair has exactly two different members")
        for member in members:
            if member not in devices:
                raise self.error(fields["members"], f"{where}.members", f"no device named {shown(member)}")
            if devices[member].role != "hub":
                raise self.error(fields["members"], f"{where}.members", f"{_name(member)} is not a hub")
        mode = self.choice(fields["mode"], f"{where}.mode", PAIR_MODES) if "mode" in fields else CLASSIC
        stateful_group = None
        if "stateful_group" in fields:
            if mode == B2B:
                raise self.error(
                    fields["stateful_group"],
                    f"{where}.stateful_group",
                    "a box-to-box pair has no HSRP stateful group: it is watched per redundancy group (groups)",
                )
            stateful_group = self.text(fields["stateful_group"], f"{where}.stateful_group")
            if not stateful_group or any(char.isspace() for char in stateful_group):
                raise self.error(
                    fields["stateful_group"],
                    f"{where}.stateful_group",
                    f"expected an HSRP group name (standby N name ...), got {shown(stateful_group)}",
                )
        groups: tuple[RedundancyGroupWatch, ...] = ()
        if mode == B2B:
            for member in members:
                if devices[member].platform != "cisco_xe":
                    raise self.error(
                        fields["members"],
                        f"{where}.members",
                        f"{_name(member)} has platform {devices[member].platform}: "
                        "a box-to-box pair (mode: b2b) runs IOS-XE, platform cisco_xe",
                    )
            groups = (
                self.groups(fields["groups"], f"{where}.groups") if "groups" in fields else (RedundancyGroupWatch(1),)
            )
        elif "groups" in fields:
            raise self.error(fields["groups"], f"{where}.groups", "redundancy groups are watched in mode: b2b only")
        return Pair(self.text(fields["name"], f"{where}.name"), (members[0], members[1]), stateful_group, mode, groups)

    def groups(self, node: yaml.Node, where: str) -> tuple[RedundancyGroupWatch, ...]:
        """`groups: [1, {id: 2, failover_threshold: 140}]`: the ids once each."""
        watched: dict[int, RedundancyGroupWatch] = {}
        items = self.sequence(node, where)
        if not items:
            raise self.error(node, where, "empty: list the redundancy group ids to watch (default [1])")
        for index, item in enumerate(items):
            at = f"{where}[{index}]"
            threshold = None
            if isinstance(item, yaml.MappingNode):
                fields = self.mapping(item, at, {"id", "failover_threshold"})
                if "id" not in fields:
                    raise self.error(item, f"{at}.id", "missing")
                group = self.integer(fields["id"], f"{at}.id", 1, RG_ID_MAX)
                if "failover_threshold" in fields:
                    threshold = self.integer(
                        fields["failover_threshold"], f"{at}.failover_threshold", 1, RG_PRIORITY_MAX
                    )
            else:
                group = self.integer(item, at, 1, RG_ID_MAX)
            if group in watched:
                raise self.error(item, at, f"redundancy group {group} is listed twice")
            watched[group] = RedundancyGroupWatch(group, threshold)
        return tuple(watched.values())

    def check_membership(self, nodes: list[yaml.Node], devices: dict[str, Device], pairs: dict[str, Pair]) -> None:
        for index, (node, device) in enumerate(zip(nodes, devices.values(), strict=True)):
            if device.pair is None:
                continue
            pair = pairs.get(device.pair)
            if pair is None:
                raise self.error(node, f"devices[{index}].pair", f"no pair named {shown(device.pair)} under 'pairs'")
            if device.name not in pair.members:
                raise self.error(
                    node, f"devices[{index}].pair", f"{_name(device.name)} is not a member of {_name(pair.name)}"
                )
        for pair in pairs.values():
            for member in pair.members:
                if devices[member].pair not in (None, pair.name):
                    raise InventoryError(
                        self.path,
                        0,
                        f"pairs.{_name(pair.name)}",
                        f"{_name(member)} says it belongs to {_name(devices[member].pair or '')}",
                    )


@dataclass(frozen=True)
class InlineRule:
    """Where an inline secret may stand: in a lab inventory, for a host on a
    loopback address (the lab's routers, its throwaway credentials)."""

    lab: bool
    host: str
    device: str

    def refusal(self) -> str:
        """Why an inline secret is refused here ("" when it is not)."""
        if not self.lab:
            return "inline secrets are refused outside a lab inventory: use {env: VARIABLE} or {file: PATH}"
        if not _loopback(self.host):
            return (
                f"inline secrets are refused for {_name(self.device)} (host {_name(self.host)}): "
                "even in a lab inventory they are accepted only for hosts on loopback addresses (127.0.0.0/8, ::1); "
                "use {env: VARIABLE} or {file: PATH}"
            )
        return ""


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: it may resolve anywhere
        return False


_UNNAMED_VARIABLE = (
    "the environment variable named here (name not shown: not an upper-case NAME of at most 64 characters, "
    "so perhaps a secret given in its place)"
)
_NO_FILE = (
    "cannot read the file named here: nothing exists at that path (path not shown: perhaps a secret given in its place)"
)


def _name(text: str) -> str:
    """A name, host or path the file gave, as a message repeats it: whole
    up to a DNS name's length, cut past it (the error stays one short line)."""
    return label(text, 255)


def _path(text: str, folder: Path | None = None) -> Path | None:
    """`text` as a path, `~` expanded, a relative one taken from `folder`
    (the inventory's); None when it cannot be one (an unknown user's home,
    a NUL)."""
    if "\0" in text:
        return None
    try:
        path = Path(text).expanduser()
    except RuntimeError:  # ~nosuchuser
        return None
    return folder / path if folder is not None and not path.is_absolute() else path
