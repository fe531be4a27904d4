"""Host-key checking against a known_hosts file, and old IOS images that
only offer SHA-1 key exchange and ssh-rsa host keys."""

from __future__ import annotations

from pathlib import Path

import asyncssh
import pytest
from support.inventories import write_inventory

from monitor.inventory import load_inventory
from monitor.lab import Lab, LabThread
from monitor.lab.ssh_server import host_key
from monitor.poll import Poller
from monitor.poll.session import PARAMIKO_HAS_SHA1
from monitor.snapshot import Status

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
