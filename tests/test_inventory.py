"""Inventory loading: typed data out of one YAML file, every error naming the
file, the line and the field, and no secret in any repr or message."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monitor.inventory import InventoryError, Secret, load_inventory
from monitor.lab import Lab, LabThread

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
    assert r1.credentials.enable_secret.reveal() == SECRET
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
    assert load_inventory(write(GOOD)).polling.workers == 32


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
        (("pairs:\n", "polling: {workers: 2.5}\npairs:\n"), 7, "polling.workers", "whole number"),
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
