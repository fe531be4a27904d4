"""Host-key checking against a known_hosts file, old IOS images that only
offer SHA-1 key exchange and ssh-rsa host keys, logins with a key file or
the SSH agent's keys (through a real key-only SSH server), and per-device
timeouts."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest
from support.inventories import FAST_POLLING, write_inventory
from support.ssh_hop import KeyRouter, public_line

from ipsec_ha_monitor.inventory import load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.lab.router import Faults
from ipsec_ha_monitor.lab.ssh_server import host_key
from ipsec_ha_monitor.poll import Poller
from ipsec_ha_monitor.poll.session import PARAMIKO_HAS_SHA1
from ipsec_ha_monitor.snapshot import Snapshot, Status

pytestmark = pytest.mark.integration  # the lab and SSH servers


@pytest.fixture(scope="module")
def running():
    with LabThread(Lab(pairs=1, branches=3, time_scale=10)) as running:
        yield running


def known_hosts_line(port: int, key: asyncssh.SSHKey) -> str:
    return (
        f"[127.0.0.1]:{port} "
        + key.export_public_key("openssh").decode().split()[0:2][0]
        + " "
        + (key.export_public_key("openssh").decode().split()[1])
    )


def test_known_hosts_accepts_the_right_key_and_refuses_others(running: LabThread, tmp_path: Path) -> None:
    lab = running.lab
    ports = {name: lab.servers[name].port for name in ("R4", "R5", "R6")}
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    known = tmp_path / "known_hosts"
    known.write_text(
        known_hosts_line(ports["R4"], host_key()) + "\n" + known_hosts_line(ports["R5"], stranger) + "\n",
        encoding="utf-8",
    )
    overrides = {name: {"known_hosts": str(known)} for name in ports}
    poller = Poller(load_inventory(write_inventory(lab, tmp_path / "lab.yml", overrides=overrides)))
    try:
        snapshots = poller.poll_all()
    finally:
        poller.close()
    assert snapshots["R4"].up, snapshots["R4"].failures
    r5, r6 = snapshots["R5"].results[0], snapshots["R6"].results[0]
    assert r5.status is Status.CONNECT and r5.error == (
        f"host key of 127.0.0.1:{ports['R5']} does not match {known}: refusing to log in"
    )
    assert r6.status is Status.CONNECT and r6.error == f"127.0.0.1:{ports['R6']} is not in {known}: refusing to log in"
    assert known.read_text(encoding="utf-8").count("\n") == 2  # nothing was added to the file
    assert snapshots["R1"].up and snapshots["R2"].up  # devices without the option are unaffected


def test_sha1_only_devices_need_legacy_ssh(running: LabThread, tmp_path: Path) -> None:
    lab = running.lab
    server = lab.servers["R6"]
    running.run(server.stop())
    server.legacy_only = True
    running.run(server.start())
    try:
        # R5, a modern device with the option on, shows what the option costs.
        path = write_inventory(lab, tmp_path / "lab.yml", overrides={"R5": {"legacy_ssh": True}})
        poller = Poller(load_inventory(path))
        try:
            plain = poller.poll("R6")
            r5 = poller.poll("R5")
        finally:
            poller.close()
        legacy = Poller(load_inventory(write_inventory(lab, path, overrides={"R6": {"legacy_ssh": True}})))
        try:
            opted_in = legacy.poll("R6")
        finally:
            legacy.close()
    finally:
        running.run(server.stop())
        server.legacy_only = False
        running.run(server.start())
    # Without the option SHA-1 is refused, whichever Paramiko is installed,
    # and the error says what to do.
    failure = plain.results[0]
    assert failure.status is Status.CONNECT and "set legacy_ssh: true" in failure.error
    if PARAMIKO_HAS_SHA1:
        assert opted_in.up, opted_in.failures
        assert r5.up
    else:
        # Paramiko 5 removed SHA-1: the option cannot help, and says so.
        assert opted_in.results[0].status is Status.CONNECT
        assert "install Paramiko < 5 (pip install 'netmiko[par4]')" in opted_in.results[0].error
        assert r5.results[0].status is Status.CONNECT and "legacy_ssh is set, but Paramiko 5" in r5.results[0].error


# --- key and agent logins, per-device timeouts (issue 15) ---------------------------------


@pytest.fixture
def key_router(running: LabThread) -> Iterator[tuple[KeyRouter, asyncssh.SSHKey]]:
    """A router taking public-key logins only (bridged to lab router R4),
    accepting one fresh key; the key's file is written by the test."""
    lab = running.lab
    key = asyncssh.generate_private_key("ssh-ed25519")
    router = KeyRouter([key], lab.servers["R4"].port, lab.credentials.username, lab.credentials.password)
    running.run(router.start())
    try:
        yield router, key
    finally:
        running.run(router.stop())


def _write_key(key: asyncssh.SSHKey, path: Path, passphrase: str | None = None) -> Path:
    with warnings.catch_warnings():  # bcrypt warns about so few rounds: quick to decrypt
        warnings.simplefilter("ignore")
        path.write_bytes(
            key.export_private_key("openssh", passphrase, rounds=16) if passphrase else key.export_private_key()
        )
    path.chmod(0o600)
    return path


def _key_inventory(running: LabThread, path: Path, router: KeyRouter, credentials: dict[str, object]) -> Path:
    lab = running.lab
    credentials = {"username": lab.credentials.username, "enable_secret": lab.credentials.enable_secret, **credentials}
    return write_inventory(lab, path, overrides={"R4": {"port": router.port, "credentials": credentials}})


def _poll(path: Path, name: str = "R4") -> Snapshot:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        poller = Poller(load_inventory(path))
    try:
        return poller.poll(name)
    finally:
        poller.close()


def test_a_key_file_logs_in_without_a_password(
    running: LabThread, key_router: tuple[KeyRouter, asyncssh.SSHKey], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    router, key = key_router
    monkeypatch.setenv("IPSECHA_TEST_PASSPHRASE", "Key-passphrase-9c1e")
    plain = _write_key(key, tmp_path / "id_plain")
    encrypted = _write_key(key, tmp_path / "id_encrypted", "Key-passphrase-9c1e")
    with_key = _poll(_key_inventory(running, tmp_path / "plain.yml", router, {"key_file": str(plain)}))
    assert with_key.up, with_key.failures
    assert {line for _, line in router.logins} == {public_line(key)}  # the key logged in: no password exists
    passphrase = {"key_file": str(encrypted), "passphrase": {"env": "IPSECHA_TEST_PASSPHRASE"}}
    decrypted = _poll(_key_inventory(running, tmp_path / "encrypted.yml", router, passphrase))
    assert decrypted.up, decrypted.failures
    # A key the router does not know: refused, saying which key was offered.
    other = _write_key(asyncssh.generate_private_key("ssh-ed25519"), tmp_path / "id_other")
    refused = _poll(_key_inventory(running, tmp_path / "other.yml", router, {"key_file": str(other)}))
    failure = refused.results[0]
    assert failure.status is Status.AUTH and failure.error == (
        f"login to 127.0.0.1:{router.port} refused for user lab (key_file {other})"
    )


NO_AGENT = shutil.which("ssh-agent") is None or shutil.which("ssh-add") is None
# CI (IPSECHA_REQUIRE_PROMETHEUS=1) installs openssh-client, which has both: never skipped there.
if NO_AGENT and os.environ.get("IPSECHA_REQUIRE_PROMETHEUS"):
    raise RuntimeError("IPSECHA_REQUIRE_PROMETHEUS is set but ssh-agent/ssh-add (openssh-client) are not on PATH")


@pytest.mark.skipif(NO_AGENT, reason="the OpenSSH agent (ssh-agent, ssh-add) is not installed")
def test_use_agent_offers_the_agents_keys_and_only_then(
    running: LabThread, key_router: tuple[KeyRouter, asyncssh.SSHKey], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    router, key = key_router
    socket_path = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket_path)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not socket_path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        env = {**os.environ, "SSH_AUTH_SOCK": str(socket_path)}
        subprocess.run(["ssh-add", str(_write_key(key, tmp_path / "id_agent"))], env=env, check=True, timeout=10)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(socket_path))
        with_agent = _poll(_key_inventory(running, tmp_path / "agent.yml", router, {"use_agent": True}))
        # Without use_agent the agent is not asked, whatever SSH_AUTH_SOCK says.
        lab_password = {"password": running.lab.credentials.password}
        without = _poll(_key_inventory(running, tmp_path / "no-agent.yml", router, lab_password))
    finally:
        agent.terminate()
        agent.wait(10)
    assert with_agent.up, with_agent.failures
    assert {line for _, line in router.logins} == {public_line(key)}
    assert without.results[0].status is Status.AUTH and "(a password)" in without.results[0].error


def test_per_device_timeouts_override_polling(running: LabThread, tmp_path: Path) -> None:
    lab = running.lab
    polling = {**FAST_POLLING, "command_timeout": 0.4}
    overrides = {"R5": {"timeouts": {"command": 5}}, "R6": {"timeouts": {"login": 0.6}}}
    path = write_inventory(lab, tmp_path / "lab.yml", polling=polling, overrides=overrides)
    for name in ("R4", "R5"):
        lab.router(name).faults = Faults(slow_seconds=0.8)
    lab.router("R6").faults = Faults(no_prompt=True)
    poller = Poller(load_inventory(path))
    try:
        snapshots = {name: poller.poll(name) for name in ("R4", "R5", "R6")}
    finally:
        poller.close()
        for name in ("R4", "R5", "R6"):
            lab.router(name).faults = Faults()
    slow_default, slow_allowed, silent = snapshots["R4"], snapshots["R5"], snapshots["R6"]
    assert slow_default.failures and slow_default.failures[0].status is Status.TIMEOUT
    assert "within 0.4 s" in slow_default.failures[0].error  # polling's command_timeout
    assert slow_allowed.up, slow_allowed.failures  # its own command timeout, 5 s
    # login 0.6 s instead of the connect timeout (3 s): the silent shell is given up on at once
    failure = silent.results[0]
    assert failure.status is Status.TIMEOUT and failure.error.endswith("but no prompt within 0.6 s"), failure
    assert silent.duration_seconds < 2.5
