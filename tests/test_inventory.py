"""Inventory loading: typed data out of one YAML file, every error naming the
file, the line and the field, and no secret in any repr or message."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import asyncssh
import pytest

from ipsec_ha_monitor.inventory import NO_PASSWORD, Inventory, InventoryError, PollSettings, Secret, load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread

GOOD = """\
defaults:
  port: 2222
  credentials:
    username: netops
    password: {env: IPSECHA_TEST_PASSWORD}
    enable_secret: {file: SECRET_FILE}
pairs:
  - {name: HUB-PAIR-1, members: [R1, R2]}
devices:
  - {name: R1, host: 10.0.0.1, role: hub, expected_peers: [172.16.0.4]}
  - {name: R2, host: 10.0.0.2, role: hub, pair: HUB-PAIR-1, expected_peers: [172.16.0.4]}
  - name: R4
    host: 172.16.0.4
    port: 22
    role: branch
"""
PASSWORD = "Pa55-recognisable-password"
SECRET = "En-recognisable-secret"


@pytest.fixture
def write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("IPSECHA_TEST_PASSWORD", PASSWORD)
    secret_file = tmp_path / "enable"
    secret_file.write_text(SECRET + "\n")

    def write(text: str) -> Path:
        path = tmp_path / "inventory.yml"
        path.write_text(textwrap.dedent(text).replace("SECRET_FILE", str(secret_file)))
        return path

    return write


def test_good_inventory(write) -> None:
    inventory = load_inventory(write(GOOD))
    assert list(inventory.devices) == ["R1", "R2", "R4"]
    r1, r4 = inventory.devices["R1"], inventory.devices["R4"]
    assert (r1.host, r1.port, r1.platform, r1.role, r1.pair) == ("10.0.0.1", 2222, "cisco_ios", "hub", "HUB-PAIR-1")
    assert r1.expected_peers == ("172.16.0.4",)
    assert (r4.port, r4.role, inventory.pair_of("R4")) == (22, "branch", "")
    assert r1.credentials.password.reveal() == PASSWORD
    assert r1.credentials.enable_secret is not None and r1.credentials.enable_secret.reveal() == SECRET
    assert inventory.pairs["HUB-PAIR-1"].members == ("R1", "R2")
    for text in (repr(inventory), str(inventory), repr(r1.credentials)):
        assert PASSWORD not in text and SECRET not in text
    assert "env IPSECHA_TEST_PASSWORD" in repr(r1.credentials.password)


def test_polling_settings_and_ssh_options(write, tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    text = GOOD.replace("  port: 2222\n", f"  port: 2222\n  known_hosts: {known_hosts}\n")
    text = text.replace("    role: branch\n", "    role: branch\n    legacy_ssh: true\n")
    inventory = load_inventory(write(text + "polling: {workers: 4, command_timeout: 2.5, keepalive: 0}\n"))
    assert (inventory.polling.workers, inventory.polling.command_timeout, inventory.polling.keepalive) == (4, 2.5, 0)
    assert inventory.polling.poll_timeout == 60  # the default
    r1, r4 = inventory.devices["R1"], inventory.devices["R4"]
    assert r1.known_hosts == known_hosts and not r1.legacy_ssh
    assert r4.legacy_ssh
    assert load_inventory(write(GOOD)).polling.workers is None  # auto: sized from the fleet
    budget = "polling: {workers: auto, max_workers: 64, login_concurrency: 4, logins_per_second: 2.5, login_jitter: 0}"
    polling = load_inventory(write(GOOD + budget + "\n")).polling
    assert (polling.workers, polling.max_workers, polling.login_concurrency) == (None, 64, 4)
    assert (polling.logins_per_second, polling.login_jitter) == (2.5, 0)


@pytest.mark.integration  # the lab's SSH servers
def test_the_lab_inventory_loads_as_is(tmp_path: Path) -> None:
    lab = Lab(branches=2)
    with LabThread(lab):  # ports are known once the servers listen
        inventory = load_inventory(lab.write_inventory(tmp_path / "lab.yml"))
    assert inventory.devices["R4"].port == lab.servers["R4"].port
    assert inventory.lab and set(inventory.devices) == {"R1", "R2", "R4", "R5"}
    assert inventory.devices["R2"].expected_peers == ("172.16.0.4", "172.16.0.5")
    assert inventory.devices["R1"].credentials.password.reveal() == lab.credentials.password
    assert inventory.pair_of("R1") == "HUB-PAIR-1"


@pytest.mark.parametrize(
    ("edit", "line", "where", "message"),
    [
        (("  port: 22\n    role: branch", "  port: 99999\n    role: branch"), 14, "devices[2].port", "1-65535"),
        (("role: branch", "role: spoke"), 15, "devices[2].role", "expected one of hub, branch"),
        (("    port: 22\n", "    prot: 22\n"), 14, "devices[2].prot", "unknown field"),
        (("{name: R2, host: 10.0.0.2,", "{name: R1, host: 10.0.0.2,"), 11, "devices[1].name", "duplicate device"),
        (("members: [R1, R2]", "members: [R1, R4]"), 8, "pairs[0].members", "R4 is not a hub"),
        (("pair: HUB-PAIR-1, expected", "pair: HUB-PAIR-9, expected"), 11, "devices[1].pair", "no pair named"),
        (
            ("expected_peers: [172.16.0.4]}\n  - {name: R2", "expected_peers: [branch-4]}\n  - {name: R2"),
            10,
            "devices[0].expected_peers[0]",
            "expected an IP address",
        ),
        (
            ("{env: IPSECHA_TEST_PASSWORD}", "{env: IPSECHA_UNSET_VARIABLE}"),
            5,
            "defaults.credentials.password.env",
            "IPSECHA_UNSET_VARIABLE is not set",
        ),
        (("{env: IPSECHA_TEST_PASSWORD}", "hunter2"), 5, "defaults.credentials.password", "inline secrets are refused"),
        (
            ("{file: SECRET_FILE}", "{file: /nonexistent/secret}"),
            6,
            "defaults.credentials.enable_secret.file",
            "cannot read",
        ),
        (("devices:\n", "devices: [\n"), 10, "file", "not valid YAML"),
        (("  port: 2222\n", "  port: 2222\n  legacy_ssh: maybe\n"), 3, "defaults.legacy_ssh", "true or false"),
        (
            ("  port: 2222\n", "  port: 2222\n  known_hosts: /nonexistent\n"),
            3,
            "defaults.known_hosts",
            "not a readable",
        ),
        (("pairs:\n", "polling: {workers: 0}\npairs:\n"), 7, "polling.workers", "expected a number >= 1"),
        (("pairs:\n", "polling: {workers: 2.5}\npairs:\n"), 7, "polling.workers", "whole number or auto"),
        (("pairs:\n", "polling: {workers: many}\npairs:\n"), 7, "polling.workers", "expected a number >= 1"),
        (("pairs:\n", "polling: {login_concurrency: 0}\npairs:\n"), 7, "polling.login_concurrency", ">= 1"),
        (("pairs:\n", "polling: {logins_per_second: 0}\npairs:\n"), 7, "polling.logins_per_second", ">= 0.1"),
        (("pairs:\n", "polling: {login_jitter: 2}\npairs:\n"), 7, "polling.login_jitter", "from 0 to 1"),
        (("pairs:\n", "polling: {poll_timeout: soon}\npairs:\n"), 7, "polling.poll_timeout", "got 'soon'"),
        (("pairs:\n", "polling: {backoff_initial: 10, backoff_max: 5}\npairs:\n"), 7, "polling.backoff_max", ">="),
        (("pairs:\n", "polling: {retries: 3}\npairs:\n"), 7, "polling.retries", "unknown field"),
    ],
)
def test_errors_name_file_line_and_field(write, edit, line: int, where: str, message: str) -> None:
    old, new = edit
    assert old in GOOD
    path = write(GOOD.replace(old, new, 1))
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    error = caught.value
    assert (error.line, error.where) == (line, where), str(error)
    assert message in error.message
    assert str(error).startswith(f"{path}:{line}: {where}: ")
    assert PASSWORD not in str(error) and SECRET not in str(error)


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="cannot read it"):
        load_inventory(tmp_path / "absent.yml")
    empty = tmp_path / "empty.yml"
    empty.write_text("")
    with pytest.raises(InventoryError, match="empty inventory"):
        load_inventory(empty)


def test_secret_never_prints_its_value() -> None:
    secret = Secret("s3cr3t-value", "env X")
    assert "s3cr3t-value" not in f"{secret} {secret!r} {[secret]}"
    assert secret.reveal() == "s3cr3t-value"


# --- a secret where a name or a path belongs -----------------------------------------


@pytest.mark.parametrize(
    ("value", "where", "shown"),
    [
        ("{env: IPSECHA_UNSET_VARIABLE}", "defaults.credentials.password.env", True),
        ('{env: "MyS3cret!"}', "defaults.credentials.password.env", False),
        ("{env: hunter2-Pa55}", "defaults.credentials.password.env", False),  # lower case: maybe a password
        ("{env: " + "A" * 65 + "}", "defaults.credentials.password.env", False),
        ("{file: /hunter2-Pa55}", "defaults.credentials.password.file", False),
        ("{file: /nonexistent/dir/hunter2-Pa55}", "defaults.credentials.password.file", False),
        ("{hunter2-Pa55}", "defaults.credentials.password", False),  # braces taken for quotes
        ("{env: X, hunter2-Pa55: 1}", "defaults.credentials.password", False),
    ],
)
def test_a_value_given_where_a_name_or_path_belongs_is_not_printed(write, value: str, where: str, shown: bool) -> None:
    path = write(GOOD.replace("{env: IPSECHA_TEST_PASSWORD}", value, 1))
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    error = caught.value
    assert (error.line, error.where) == (5, where), str(error)
    given = value.split(":", 1)[-1].strip(' {}"') if ":" in value else value.strip("{}")
    assert (given in str(error)) is shown, str(error)
    assert "\n" not in str(error)
    if where.endswith(".env"):
        assert "is not set" in error.message
    elif where.endswith(".file"):
        assert "nothing exists at that path" in error.message


def test_a_file_that_exists_is_named(write, tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    folder.mkdir()
    with pytest.raises(InventoryError, match=f"cannot read {folder}: Is a directory"):
        load_inventory(write(GOOD.replace("{env: IPSECHA_TEST_PASSWORD}", f"{{file: {folder}}}", 1)))


# --- files that are not text: one line naming the file, never a traceback ---------------

LAB = b"lab: true\ndefaults: {credentials: {username: lab, password: x}}\n"


def _refused(path: Path) -> InventoryError:
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    text = str(caught.value)
    assert text.startswith(f"{path}:") and "\n" not in text, text
    return caught.value


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"devices:\n  - {name: R1\xff\xfe}\n", "not UTF-8 text"),
        ("devices:\n  - {name: R1}\n".encode("utf-16"), "not UTF-8 text"),
        (b"devices: []\n\x00\x01\x02\x03binary\n", "unacceptable character #x0000"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "not UTF-8 text"),
        (b"devices: " + b"[" * 100_000 + b"]" * 100_000 + b"\n", "nested too deeply"),
        (LAB + b"devices:\n  - {name: R1, host: h, role: hub, port: " + b"9" * 5000 + b"}\n", "1-65535"),
        (LAB + "devices:\n  - {name: R1, host: h, role: hub, port: \u00b2}\n".encode(), "1-65535"),
        (b"lab: " + b"1" * 5000 + b"\ndevices: []\n", "true or false"),
    ],
    ids=["latin-1", "utf-16", "nul", "png", "nested", "huge-port", "superscript-port", "huge-bool"],
)
def test_an_inventory_that_is_not_text_is_refused_in_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "inventory.yml"
    path.write_bytes(content)
    assert message in _refused(path).message


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe\x00secret", "pässwörd".encode("latin-1"), b"\x80\x81\x82"],
    ids=["utf-16-ish", "latin-1", "bare-continuation-bytes"],
)
def test_a_secret_file_that_is_not_utf8_is_refused_naming_it(write, tmp_path: Path, content: bytes) -> None:
    secret = tmp_path / "password"
    secret.write_bytes(content)
    path = write(GOOD.replace("{env: IPSECHA_TEST_PASSWORD}", f"{{file: {secret}}}", 1))
    error = _refused(path)
    assert error.where == "defaults.credentials.password.file"
    assert error.message == f"{secret} is not UTF-8 text"


@pytest.mark.parametrize("value", ['"~nosuchuser-ipsecha/secret"', '"/run/a\\0b"'], ids=["unknown-home", "nul"])
def test_a_path_that_cannot_be_one_is_refused(write, value: str) -> None:
    error = _refused(write(GOOD.replace("{env: IPSECHA_TEST_PASSWORD}", f"{{file: {value}}}", 1)))
    assert error.where == "defaults.credentials.password.file" and "nothing exists" in error.message


# --- SSH keys, the agent, jump hosts, timeouts, device_type (issue 15) -------------------


def _key(path: Path, passphrase: str | None = None) -> Path:
    """An ed25519 private key, OpenSSH format (encrypted with few bcrypt
    rounds when `passphrase` is given: decrypting stays quick)."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    with warnings.catch_warnings():  # bcrypt warns about so few rounds
        warnings.simplefilter("ignore")
        data = key.export_private_key("openssh", passphrase, rounds=16) if passphrase else key.export_private_key()
    path.write_bytes(data)
    path.chmod(0o600)
    return path


KEYED = """\
defaults:
  credentials:
    username: netops
    key_file: KEY_FILE
devices:
  - {name: R4, host: 172.16.0.4, role: branch}
"""


def _load_quietly(path: Path) -> Inventory:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_inventory(path)


def test_a_key_file_needs_no_password(write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    key = _key(tmp_path / ".ssh" / "ipsecha_ed25519")
    credentials = load_inventory(write(KEYED.replace("KEY_FILE", "~/.ssh/ipsecha_ed25519"))).devices["R4"].credentials
    assert credentials.key_file == key  # ~ expanded
    assert credentials.password == NO_PASSWORD and credentials.password.reveal() == ""
    assert credentials.passphrase is None and not credentials.use_agent and credentials.secrets == ()


def test_an_encrypted_key_takes_a_passphrase_secret(write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPSECHA_TEST_PASSPHRASE", "Recognisable-passphrase")
    key = _key(tmp_path / "id_ed25519", "Recognisable-passphrase")
    text = KEYED.replace("KEY_FILE", str(key)).replace(
        "    key_file:", "    passphrase: {env: IPSECHA_TEST_PASSPHRASE}\n    key_file:"
    )
    credentials = _load_quietly(write(text)).devices["R4"].credentials
    assert credentials.passphrase is not None and credentials.passphrase.reveal() == "Recognisable-passphrase"
    assert credentials.passphrase in credentials.secrets  # withheld from every output like a password
    assert "Recognisable-passphrase" not in repr(credentials)


def test_the_agent_alone_needs_no_password(write) -> None:
    text = KEYED.replace("    key_file: KEY_FILE\n", "    use_agent: true\n")
    credentials = load_inventory(write(text)).devices["R4"].credentials
    assert credentials.use_agent and credentials.key_file is None and credentials.password == NO_PASSWORD


@pytest.mark.parametrize(
    ("edit", "line", "where", "message"),
    [
        (("    key_file: KEY_FILE\n", ""), 3, "defaults.credentials.password", "needed unless key_file or use_agent"),
        (("KEY_FILE", "/nonexistent/id_ed25519"), 4, "defaults.credentials.key_file", "/nonexistent/id_ed25519 is"),
        (("KEY_FILE", "PUBLIC"), 4, "defaults.credentials.key_file", "not a private key (OpenSSH or PEM): it holds a"),
        (("KEY_FILE", "LATIN1"), 4, "defaults.credentials.key_file", "LATIN1 is not UTF-8 text"),
        (("KEY_FILE", "ENCRYPTED"), 4, "defaults.credentials.key_file", "ENCRYPTED is encrypted: give passphrase"),
        (
            ("    key_file: KEY_FILE\n", "    key_file: ENCRYPTED\n    passphrase: {env: IPSECHA_TEST_PASSWORD}\n"),
            4,
            "defaults.credentials.key_file",
            "cannot load ENCRYPTED (a wrong passphrase",
        ),
        (
            ("    key_file: KEY_FILE\n", "    use_agent: true\n    passphrase: {env: IPSECHA_TEST_PASSWORD}\n"),
            5,
            "defaults.credentials.passphrase",
            "given without key_file",
        ),
        (("    key_file: KEY_FILE\n", "    use_agent: please\n"), 4, "defaults.credentials.use_agent", "true or false"),
        (
            ("    key_file: KEY_FILE\n", "    key_file: KEY_FILE\n    passphrase: hunter2\n"),
            5,
            "defaults.credentials.passphrase",
            "inline secrets are refused",
        ),
    ],
    ids=["no-password", "missing", "public", "latin-1", "no-passphrase", "bad-passphrase", "stray", "agent", "inline"],
)
def test_key_errors_name_file_line_and_field(write, tmp_path: Path, edit, line: int, where: str, message: str) -> None:
    files = {
        "KEY_FILE": _key(tmp_path / "id_plain"),
        "ENCRYPTED": _key(tmp_path / "id_encrypted", "the-right-one"),
        "PUBLIC": tmp_path / "id_plain.pub",
        "LATIN1": tmp_path / "id_latin1",
    }
    files["PUBLIC"].write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake comment\n")
    files["LATIN1"].write_bytes("-----BEGIN OPENSSH PRIVATE KEY-----\nclé\n".encode("latin-1"))
    old, new = edit
    text = KEYED.replace(old, new, 1)
    for name, path in files.items():
        text, message = text.replace(name, str(path)), message.replace(name, str(path))
    error = _refused_quietly(write(text))
    assert (error.line, error.where) == (line, where), str(error)
    assert message in error.message, str(error)
    assert PASSWORD not in str(error) and "hunter2" not in str(error)


def _refused_quietly(path: Path) -> InventoryError:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _refused(path)


JUMP_CONFIG = """\
Host bastion
    HostName 192.0.2.10
    User jump
Host 172.16.*
    ProxyJump bastion
"""


def test_ssh_config_file_for_jump_hosts(write, tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(JUMP_CONFIG)
    text = GOOD.replace("  port: 2222\n", f"  port: 2222\n  ssh_config_file: {config}\n")
    inventory = load_inventory(write(text))
    assert {device.ssh_config_file for device in inventory.devices.values()} == {config}
    assert load_inventory(write(GOOD)).devices["R1"].ssh_config_file is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "is not a readable file"),
        ("Host x\n  ProxyJump caf\xe9\n".encode("latin-1"), "is not UTF-8 text"),
        (b"Host x\n\x00\x00\x00", "is a binary file, not text"),
        (b"Host 172.16.*\n    ProxyJump a,b\n", "ProxyJump a,b for 172.16.0.4 has more than one hop"),
        (b"Host x\n  =\n", "not a valid ssh_config"),
        (
            b"Host 172.16.*\n    ProxyCommand ssh -W %h:%p bastion\n",
            "the ProxyCommand for 172.16.0.4 gets %p = 22 (its Port there), but the device's port is 2200",
        ),
    ],
    ids=["missing", "latin-1", "binary", "two-hops", "unparsable", "proxycommand-port"],
)
def test_a_bad_ssh_config_file_is_named(write, tmp_path: Path, content: bytes | None, message: str) -> None:
    config = tmp_path / "ssh_config"
    if content is not None:
        config.write_bytes(content)
    text = GOOD.replace("    port: 22\n", f"    port: 2200\n    ssh_config_file: {config}\n")
    error = _refused(write(text))
    assert (error.line, error.where) == (15, "devices[2].ssh_config_file"), str(error)
    assert str(config) in error.message and message in error.message, str(error)


def test_a_known_hosts_file_that_is_not_text_is_named(write, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_bytes(b"\x89PNG\r\n\x1a\n\xff")
    error = _refused(write(GOOD.replace("  port: 2222\n", f"  port: 2222\n  known_hosts: {known}\n")))
    assert error.where == "defaults.known_hosts" and error.message == f"{known} is not UTF-8 text"


def test_a_binary_secret_file_is_refused_naming_it(write, tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_bytes(b"\x00\x01\x02ELF\x03\n")
    error = _refused(write(GOOD.replace("{env: IPSECHA_TEST_PASSWORD}", f"{{file: {secret}}}", 1)))
    assert error.where == "defaults.credentials.password.file"
    assert error.message == f"{secret} is a binary file, not text"


def test_an_inventory_path_with_a_nul_is_refused_naming_it() -> None:
    with pytest.raises(InventoryError, match="not a valid path") as caught:
        load_inventory("/tmp/inventory\0.yml")
    assert caught.value.where == "file"


def test_per_device_timeouts_override_polling(write) -> None:
    text = (
        GOOD.replace("  port: 2222\n", "  port: 2222\n  timeouts: {connect: 15, command: 40}\n")
        .replace("    port: 22\n", "    port: 22\n    timeouts: {command: 90, poll: 300, login: 25}\n")
        .replace("pairs:\n", "polling: {connect_timeout: 5, login_timeout: 8, command_timeout: 10}\npairs:\n")
    )
    inventory = load_inventory(write(text))
    polling = inventory.polling
    assert (polling.connect_timeout, polling.login_seconds, polling.command_timeout) == (5, 8, 10)
    r1, r4 = (inventory.devices[name].settings(polling) for name in ("R1", "R4"))
    # defaults.timeouts over polling, a device's own over both, key by key
    assert (r1.connect_timeout, r1.login_seconds, r1.command_timeout, r1.poll_timeout) == (15, 8, 40, 60)
    assert (r4.connect_timeout, r4.login_seconds, r4.command_timeout, r4.poll_timeout) == (15, 25, 90, 300)
    assert r4.workers == polling.workers and r4.keepalive == polling.keepalive
    assert load_inventory(write(GOOD)).devices["R4"].settings(polling) is polling
    assert PollSettings().login_seconds == PollSettings().connect_timeout  # login defaults to connect


@pytest.mark.parametrize(
    ("timeouts", "where", "message"),
    [
        ("{read: 5}", "devices[2].timeouts.read", "unknown field (known: command, connect, login, poll)"),
        ("{connect: 0}", "devices[2].timeouts.connect", "expected a number >= 0.1, got '0'"),
        ("{command: -5}", "devices[2].timeouts.command", "got '-5'"),
        ("{poll: soon}", "devices[2].timeouts.poll", "got 'soon'"),
        ("30", "devices[2].timeouts", "expected a mapping"),
    ],
)
def test_bad_timeouts_are_refused_naming_the_key(write, timeouts: str, where: str, message: str) -> None:
    error = _refused(write(GOOD.replace("    port: 22\n", f"    port: 22\n    timeouts: {timeouts}\n")))
    assert (error.line, error.where) == (15, where), str(error)
    assert message in error.message


def test_device_type_is_netmikos_name_for_platform(write) -> None:
    text = GOOD.replace("  port: 2222\n", "  port: 2222\n  device_type: cisco_xe\n")
    text = text.replace("    port: 22\n", "    port: 22\n    device_type: cisco_ios\n    platform: cisco_ios\n")
    inventory = load_inventory(write(text))
    assert [device.platform for device in inventory.devices.values()] == ["cisco_xe", "cisco_xe", "cisco_ios"]
    # a device's platform wins over the defaults' device_type, and the other way round
    text = GOOD.replace("  port: 2222\n", "  port: 2222\n  platform: cisco_xe\n")
    text = text.replace("    port: 22\n", "    port: 22\n    device_type: cisco_ios\n")
    assert load_inventory(write(text)).devices["R4"].platform == "cisco_ios"


@pytest.mark.parametrize(
    ("fields", "where", "message"),
    [
        ("device_type: cisco_xe\n    platform: cisco_ios", "devices[2].device_type", "disagrees with platform"),
        ("device_type: cisco_nxos", "devices[2].device_type", "expected one of cisco_ios, cisco_xe"),
    ],
)
def test_device_type_errors(write, fields: str, where: str, message: str) -> None:
    error = _refused(write(GOOD.replace("    port: 22\n", f"    port: 22\n    {fields}\n")))
    assert error.where == where and message in error.message, str(error)


# --- inline secrets: a lab inventory, and loopback hosts only ------------------------------

LAB_TEXT = """\
lab: true
defaults: {credentials: {username: lab, password: x, enable_secret: y}}
devices:
  - {name: R1, host: 127.0.0.1, port: 2001, role: hub}
  - {name: R2, host: "::1", port: 2002, role: hub}
  - {name: R4, host: 127.0.0.44, port: 2003, role: branch}
"""


def test_inline_secrets_stand_for_loopback_hosts_in_a_lab_inventory(tmp_path: Path) -> None:
    path = tmp_path / "lab.yml"
    path.write_text(LAB_TEXT)
    inventory = load_inventory(path)
    assert {device.credentials.password.reveal() for device in inventory.devices.values()} == {"x"}


@pytest.mark.parametrize("host", ["10.0.0.1", "192.0.2.7", "router.example.net", "localhost", "::ffff:10.0.0.1"])
def test_inline_secrets_are_refused_for_any_other_host_even_in_a_lab(tmp_path: Path, host: str) -> None:
    path = tmp_path / "lab.yml"
    path.write_text(LAB_TEXT.replace("127.0.0.44", f'"{host}"'))
    error = _refused(path)
    assert (error.line, error.where) == (2, "defaults.credentials.password"), str(error)
    assert f"inline secrets are refused for R4 (host {host})" in error.message
    assert "loopback" in error.message and "use {env: VARIABLE} or {file: PATH}" in error.message


def test_a_lab_host_elsewhere_may_use_env_and_file_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPSECHA_TEST_PASSWORD", PASSWORD)
    path = tmp_path / "lab.yml"
    path.write_text(
        LAB_TEXT.replace(
            "127.0.0.44, port: 2003, role: branch}",
            "10.0.0.4, role: branch, credentials: {username: lab, password: {env: IPSECHA_TEST_PASSWORD}}}",
        )
    )
    assert load_inventory(path).devices["R4"].credentials.password.reveal() == PASSWORD


# --- every command: a bad inventory is one line naming the file, exit 2 ----------------


@pytest.mark.integration  # a subprocess per command
@pytest.mark.parametrize("command", ["check", "serve"])
@pytest.mark.parametrize("bad", ["inventory-latin-1", "inventory-binary", "secret-binary", "key-latin-1"])
def test_every_command_names_the_bad_file_and_exits_2(tmp_path: Path, command: str, bad: str) -> None:
    inventory, secret = tmp_path / "inventory.yml", tmp_path / "password"
    secret.write_text("x\n")
    text = (
        "defaults: {credentials: {username: netops, password: {file: " + str(secret) + "}}}\n"
        "devices: [{name: R4, host: 127.0.0.1, port: 1, role: branch}]\n"
    )
    named = inventory
    if bad == "inventory-latin-1":
        inventory.write_bytes(text.encode() + "# café\n".encode("latin-1"))
    elif bad == "inventory-binary":
        inventory.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)))
    elif bad == "secret-binary":
        inventory.write_text(text)
        secret.write_bytes(b"\x00\x01\x02")
        named = secret
    else:
        key = tmp_path / "id_ed25519"
        key.write_bytes("-----BEGIN OPENSSH PRIVATE KEY-----\nclé\n".encode("latin-1"))
        inventory.write_text(text.replace("password: {file: " + str(secret) + "}", f"key_file: {key}"))
        named = key
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ipsec_ha_monitor",
            command,
            "--config",
            str(inventory),
            "--web.listen-address",
            "127.0.0.1:0",
        ]
        if command == "serve"
        else [sys.executable, "-m", "ipsec_ha_monitor", command, "--config", str(inventory)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1 and str(named) in lines[0] and "Traceback" not in lines[0], lines


# --- a hub in two pairs, relative paths (issue 25) ----------------------------------------


def test_a_hub_listed_in_two_pairs_is_refused_naming_the_line_and_both_pairs(write) -> None:
    text = GOOD.replace(
        "  - {name: HUB-PAIR-1, members: [R1, R2]}\n",
        "  - {name: HUB-PAIR-1, members: [R1, R2]}\n  - {name: HUB-PAIR-2, members: [R3, R1]}\n",
    ).replace(
        "  - name: R4\n", "  - {name: R3, host: 10.0.0.3, role: hub, expected_peers: [172.16.0.4]}\n  - name: R4\n"
    )
    error = _refused(write(text))
    assert (error.line, error.where) == (9, "pairs[1].members"), str(error)
    assert error.message == "R1 is in two pairs, HUB-PAIR-1 (line 8) and HUB-PAIR-2: a hub belongs to one pair only"
    # R1 saying `pair: HUB-PAIR-1` itself changes nothing: the second listing is the fault.
    error = _refused(write(text.replace("role: hub, expected_peers", "role: hub, pair: HUB-PAIR-1, expected_peers", 1)))
    assert error.where == "pairs[1].members" and "HUB-PAIR-1 (line 8) and HUB-PAIR-2" in error.message


@pytest.mark.integration  # a subprocess from another directory, as systemd starts it
def test_relative_paths_are_read_from_the_inventory_folder(tmp_path: Path) -> None:
    """key_file, known_hosts and a secret file given as relative paths are
    found beside the inventory, whatever the current directory (systemd
    runs `serve` from /)."""
    folder = tmp_path / "etc"
    (folder / "keys").mkdir(parents=True)
    _key(folder / "keys" / "id_ed25519")
    (folder / "known_hosts").write_text("[172.16.0.4]:22 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake\n")
    (folder / "enable").write_text(SECRET + "\n")
    inventory = folder / "inventory.yml"
    inventory.write_text(
        KEYED.replace("KEY_FILE", "keys/id_ed25519")
        .replace("    key_file:", "    enable_secret: {file: enable}\n    key_file:")
        .replace("role: branch}", "role: branch, known_hosts: known_hosts}")
    )
    snippet = (
        "import sys; from ipsec_ha_monitor.inventory import load_inventory;"
        "d = load_inventory(sys.argv[1]).devices['R4'];"
        "print(d.credentials.key_file); print(d.known_hosts);"
        "print(d.credentials.enable_secret.reveal() == sys.argv[2])"
    )
    for cwd in ("/", str(tmp_path)):
        done = subprocess.run(
            [sys.executable, "-c", snippet, str(inventory), SECRET], capture_output=True, text=True, cwd=cwd, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == [str(folder / "keys" / "id_ed25519"), str(folder / "known_hosts"), "True"]


def test_a_relative_key_file_not_found_names_the_path_tried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    monkeypatch.chdir(tmp_path)
    _key(tmp_path / "id_ed25519")  # in the current directory: not where the inventory means
    inventory = folder / "inventory.yml"
    inventory.write_text(KEYED.replace("KEY_FILE", "id_ed25519"))
    error = _refused(inventory)
    assert (error.line, error.where) == (4, "defaults.credentials.key_file"), str(error)
    assert error.message == (
        f"{folder / 'id_ed25519'} is not a readable file (id_ed25519 is read from the inventory's folder)"
    )


# --- IOS-XE box-to-box pairs ------------------------------------------------------------

B2B = GOOD.replace("  port: 2222\n", "  port: 2222\n  platform: cisco_xe\n").replace(
    "  - {name: HUB-PAIR-1, members: [R1, R2]}\n",
    "  - {name: HUB-PAIR-1, members: [R1, R2], mode: b2b, groups: [1, {id: 2, failover_threshold: 140}]}\n",
)


def test_a_box_to_box_pair_with_its_groups(write) -> None:
    from ipsec_ha_monitor.inventory import B2B as B2B_MODE
    from ipsec_ha_monitor.inventory import CLASSIC, RedundancyGroupWatch
    from ipsec_ha_monitor.poll.commands import B2B_HUB_COMMANDS, HUB_COMMANDS, commands_for

    inventory = load_inventory(write(B2B))
    pair = inventory.pairs["HUB-PAIR-1"]
    assert (pair.mode, pair.groups) == (B2B_MODE, (RedundancyGroupWatch(1), RedundancyGroupWatch(2, 140)))
    r1, r4 = inventory.devices["R1"], inventory.devices["R4"]
    assert (r1.pair_mode, r4.pair_mode) == (B2B_MODE, CLASSIC)
    assert commands_for(r1.role, r1.pair_mode) == B2B_HUB_COMMANDS
    assert "show standby" not in B2B_HUB_COMMANDS and "show redundancy application group all" in B2B_HUB_COMMANDS
    # the default: group 1; a classic pair is judged and polled as before
    default = load_inventory(write(B2B.replace(", groups: [1, {id: 2, failover_threshold: 140}]", "")))
    assert default.pairs["HUB-PAIR-1"].groups == (RedundancyGroupWatch(1),)
    classic = load_inventory(write(GOOD))
    assert (classic.pairs["HUB-PAIR-1"].mode, classic.pairs["HUB-PAIR-1"].groups) == (CLASSIC, ())
    assert commands_for("hub", classic.devices["R1"].pair_mode) == HUB_COMMANDS


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        ("mode: b2b", "mode: vrrp", "pairs[0].mode", "expected one of classic, b2b"),
        ("groups: [1, {id: 2", "groups: [1, {id: 1", "pairs[0].groups[1]", "listed twice"),
        ("groups: [1,", "groups: [0,", "pairs[0].groups[0]", "expected a whole number 1-255"),
        ("failover_threshold: 140", "failover_threshold: 300", "pairs[0].groups[1].failover_threshold", "1-255"),
        ("failover_threshold: 140", "threshold: 140", "pairs[0].groups[1].threshold", "unknown field"),
        ("groups: [1, {id: 2, failover_threshold: 140}]", "groups: []", "pairs[0].groups", "empty"),
        ("mode: b2b, ", "", "pairs[0].groups", "mode: b2b only"),
        ("mode: b2b,", "mode: b2b, stateful_group: BRANCH-5-TUNNEL,", "pairs[0].stateful_group", "no HSRP"),
        ("  platform: cisco_xe\n", "", "pairs[0].members", "platform cisco_ios"),
    ],
)
def test_box_to_box_errors_name_the_field(write, old: str, new: str, where: str, message: str) -> None:
    assert old in B2B
    error = _refused(write(B2B.replace(old, new, 1)))
    assert error.where == where and message in error.message, str(error)
