"""Jump hosts through an OpenSSH client configuration (`ssh_config_file`):
netmiko runs ProxyCommand, or turns ProxyJump into `ssh -W` by the OpenSSH
client, and the poll goes through a real SSH hop on 127.0.0.1 (an asyncssh
bastion that accepts the test's key and records every forwarding request)
to a lab router behind it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.inventories import write_inventory
from support.ssh_hop import Forward, JumpServer, known_hosts_line, new_key

from ipsec_ha_monitor.inventory import load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.poll import Poller
from ipsec_ha_monitor.snapshot import Snapshot, Status

pytestmark = pytest.mark.integration  # the lab, a jump host and the OpenSSH client

SSH = shutil.which("ssh")
# CI (IPSECHA_REQUIRE_PROMETHEUS=1, see .ci/run) installs openssh-client: these tests never skip there.
if SSH is None and os.environ.get("IPSECHA_REQUIRE_PROMETHEUS"):
    raise RuntimeError("IPSECHA_REQUIRE_PROMETHEUS is set but the OpenSSH client (ssh) is not on PATH")
needs_ssh = pytest.mark.skipif(SSH is None, reason="the OpenSSH client (ssh) is not installed")


@pytest.fixture(scope="module")
def running() -> Iterator[LabThread]:
    with LabThread(Lab(pairs=1, branches=2)) as running:
        yield running


@pytest.fixture
def jump(running: LabThread, tmp_path: Path) -> Iterator[tuple[JumpServer, Path]]:
    """A bastion accepting the key at tmp_path/jump_key, and that key."""
    key_path = tmp_path / "jump_key"
    server = JumpServer([new_key(key_path)])
    running.run(server.start())
    try:
        yield server, key_path
    finally:
        running.run(server.stop())


def _ssh_config(tmp_path: Path, jump: JumpServer, key: Path, how: str, port: int) -> Path:
    """An ssh_config sending 127.0.0.1 through the bastion `ipsecha-jump`,
    with its host key pinned and nothing read from ~/.ssh."""
    known = tmp_path / "jump_known_hosts"
    known.write_text(known_hosts_line(jump.port, jump.host_key) + "\n")
    config = tmp_path / "ssh_config"
    route = (
        "    ProxyJump ipsecha-jump\n"
        if how == "ProxyJump"
        # %p is the Port here, not the inventory's: the loader insists they agree.
        else f"    Port {port}\n    ProxyCommand ssh -F {config} -W %h:%p ipsecha-jump\n"
    )
    config.write_text(
        "Host ipsecha-jump\n"
        "    HostName 127.0.0.1\n"
        f"    Port {jump.port}\n"
        "    User hop\n"
        f"    IdentityFile {key}\n"
        "    IdentitiesOnly yes\n"
        "    IdentityAgent none\n"
        "    BatchMode yes\n"
        "    StrictHostKeyChecking yes\n"
        f"    UserKnownHostsFile {known}\n"
        "    GlobalKnownHostsFile /dev/null\n"
        "    ConnectTimeout 5\n"
        "Host 127.0.0.1\n" + route
    )
    config.chmod(0o600)
    return config


@needs_ssh
@pytest.mark.parametrize("how", ["ProxyJump", "ProxyCommand"])
def test_a_poll_goes_through_the_jump_host(
    running: LabThread, jump: tuple[JumpServer, Path], tmp_path: Path, how: str
) -> None:
    lab, (server, key) = running.lab, jump
    config = _ssh_config(tmp_path, server, key, how, lab.servers["R4"].port)
    path = write_inventory(lab, tmp_path / "lab.yml", overrides={"R4": {"ssh_config_file": str(config)}})
    inventory = load_inventory(path)
    assert inventory.devices["R4"].ssh_config_file == config
    poller = Poller(inventory)
    try:
        through = poller.poll("R4")
        direct = poller.poll("R5")  # no ssh_config_file: straight to the router
    finally:
        poller.close()
    assert through.up, through.failures
    assert direct.up, direct.failures
    # The hop saw the test's key and one forwarding request: to R4's SSH port, none to R5's.
    assert {user for user, _ in server.logins} == {"hop"}
    assert server.forwards == [Forward("127.0.0.1", lab.servers["R4"].port)]


@needs_ssh
def test_a_jump_host_refusing_the_key_fails_the_poll_saying_how(
    running: LabThread, jump: tuple[JumpServer, Path], tmp_path: Path
) -> None:
    lab, (server, _) = running.lab, jump
    stranger = tmp_path / "stranger_key"
    new_key(stranger)
    config = _ssh_config(tmp_path, server, stranger, "ProxyJump", lab.servers["R4"].port)
    path, snapshot = _poll_r4_through(lab, config, tmp_path)
    failure = snapshot.results[0]
    assert not snapshot.up and failure.status is Status.CONNECT, failure
    # The hop's own error (the OpenSSH client's), not what its failure looks like from here.
    assert failure.error.startswith(
        f"SSH to 127.0.0.1:{lab.servers['R4'].port} failed at the jump host ipsecha-jump (ProxyJump in {config}): "
    ), failure.error
    assert "Permission denied (publickey)" in failure.error, failure.error
    assert server.logins == [] and server.forwards == []  # refused at the hop: the router was never reached
    assert not any(secret.reveal() in failure.error for secret in snapshot_secrets(path))


def _poll_r4_through(lab: Lab, config: Path, tmp_path: Path) -> tuple[Path, Snapshot]:
    """(inventory path, R4's snapshot) for one poll of R4 through `config`."""
    path = write_inventory(lab, tmp_path / "lab.yml", overrides={"R4": {"ssh_config_file": str(config)}})
    poller = Poller(load_inventory(path))
    try:
        return path, poller.poll("R4")
    finally:
        poller.close()


def snapshot_secrets(path: Path) -> list:
    """The inventory's secrets (the lab's throwaway password and enable secret)."""
    return [secret for device in load_inventory(path).devices.values() for secret in device.credentials.secrets]


@needs_ssh
@pytest.mark.parametrize("how", ["ProxyJump", "ProxyCommand"])
def test_a_dead_jump_host_fails_the_poll_with_its_own_error(
    running: LabThread, jump: tuple[JumpServer, Path], tmp_path: Path, how: str
) -> None:
    """The bastion is down (its port closed): the message is the hop's
    (`ssh: connect to host ... Connection refused`), named as the jump
    host's, not "no SSH banner" from the router's side."""
    lab, (server, key) = running.lab, jump
    config = _ssh_config(tmp_path, server, key, how, lab.servers["R4"].port)
    dead_port = server.port
    running.run(server.stop())
    path, snapshot = _poll_r4_through(lab, config, tmp_path)
    failure = snapshot.results[0]
    assert not snapshot.up and failure.status is Status.CONNECT, failure
    hop = "jump host ipsecha-jump (ProxyJump in" if how == "ProxyJump" else "ProxyCommand of"
    assert failure.error.startswith(f"SSH to 127.0.0.1:{lab.servers['R4'].port} failed at the {hop} {config}"), (
        failure.error
    )
    assert f"ssh: connect to host 127.0.0.1 port {dead_port}: Connection refused" in failure.error, failure.error
    assert "banner" not in failure.error
    assert not any(secret.reveal() in failure.error for secret in snapshot_secrets(path))
