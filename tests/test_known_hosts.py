"""`@revoked` and `@cert-authority` lines in a device's known_hosts (issue
24, item 9), read as OpenSSH reads them: a revoked key is refused even when
the file also lists it as known, @cert-authority lines are skipped, every
other line works as before. Paramiko's own reader failed on any marker line
("Incorrect padding"). Against lab routers over real SSH (every lab router
shares one host key per algorithm: lab.ssh_server.host_key)."""

from __future__ import annotations

import logging
from pathlib import Path

import asyncssh
import paramiko
import pytest
from support.inventories import write_inventory

from ipsec_ha_monitor.inventory import load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.lab.ssh_server import host_key
from ipsec_ha_monitor.poll import Poller
from ipsec_ha_monitor.poll.known_hosts import KnownHosts, KnownHostsError
from ipsec_ha_monitor.snapshot import Snapshot, Status


def _key(key: asyncssh.SSHKey) -> str:
    """ "ssh-ed25519 AAAA..." (type and key, no comment)."""
    return " ".join(key.export_public_key("openssh").decode().split()[:2])


def _host(port: int) -> str:
    return f"[127.0.0.1]:{port}"


# --- the file, read ---------------------------------------------------------------------------


def test_marker_lines_are_read_and_a_revoked_key_is_never_among_the_accepted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lab_key, stranger = host_key(), asyncssh.generate_private_key("ssh-ed25519")
    hashed = paramiko.HostKeys.hash_host("[127.0.0.1]:2200")
    known = tmp_path / "known_hosts"
    known.write_text(
        "# a comment, then a blank line\n\n"
        f"{_host(2222)},r4.example.net {_key(lab_key)} r4 key\n"
        f"{hashed} {_key(stranger)}\n"
        f"@revoked * {_key(lab_key)}\n"
        f"@cert-authority *.example.net {_key(stranger)}\n",
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING, logger="ipsec_ha_monitor.poll.known_hosts"):
        read = KnownHosts.read(known)
        KnownHosts.read(known)  # said once per file
    lab_public = paramiko.PKey.from_type_string("ssh-ed25519", lab_key.public_data)
    assert read.is_revoked(lab_public)
    assert [entry.hostnames for entry in read.entries] == [[hashed]]  # the revoked key's line left out
    client = paramiko.SSHClient()
    read.install(client)
    assert client.get_host_keys().lookup("[127.0.0.1]:2200") is not None  # hashed names still match
    assert client.get_host_keys().lookup(_host(2222)) is None
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == [
        f"{known}: 1 @cert-authority line(s) skipped: host certificates are not supported; list the devices' own keys"
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("@revoked * ssh-ed25519 AAAAB", "the key is not base64"),
        ("@revoked *", "expected hosts, a key type and a key"),
        ("@revoked * ssh-ed25519 AAAAC3NzaC1yc2E=", "the key is not a valid ssh-ed25519 key"),
        ("@trusted * ssh-ed25519 AAAA", "unknown marker '@trusted'"),
    ],
)
def test_a_line_that_cannot_be_read_fails_closed_naming_the_line(tmp_path: Path, line: str, reason: str) -> None:
    """A revocation that cannot be read must not be lost: nothing is accepted."""
    known = tmp_path / "known_hosts"
    known.write_text(f"{_host(22)} {_key(host_key())}\n{line}\n", encoding="utf-8")
    with pytest.raises(KnownHostsError) as raised:
        KnownHosts.read(known)
    assert str(raised.value) == f"{known} line 2: {reason}"


# --- logins against the lab ------------------------------------------------------------------

pytestmark = pytest.mark.integration  # the lab and SSH servers (the file tests above are quick anyway)


@pytest.fixture(scope="module")
def running():
    with LabThread(Lab(pairs=1, branches=3, time_scale=10)) as running:
        yield running


def _poll(lab: Lab, tmp_path: Path, files: dict[str, Path]) -> dict[str, Snapshot]:
    overrides = {name: {"known_hosts": str(path)} for name, path in files.items()}
    poller = Poller(load_inventory(write_inventory(lab, tmp_path / "lab.yml", overrides=overrides)))
    try:
        return poller.poll_all()
    finally:
        poller.close()


def test_a_revoked_host_key_is_refused_even_when_listed_as_known(running: LabThread, tmp_path: Path) -> None:
    lab = running.lab
    ports = {name: lab.servers[name].port for name in ("R4", "R5", "R6")}
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    # R4: its key listed, and revoked (for every host, as OpenSSH users write it).
    r4 = tmp_path / "r4_known_hosts"
    r4.write_text(f"{_host(ports['R4'])} {_key(host_key())}\n@revoked * {_key(host_key())}\n", encoding="utf-8")
    # R5: another key listed for it (Paramiko's own mismatch path), its own revoked.
    r5 = tmp_path / "r5_known_hosts"
    r5.write_text(f"{_host(ports['R5'])} {_key(stranger)}\n@revoked {_host(ports['R5'])} {_key(host_key())}\n")
    # R6: its key listed; a revoked line and a @cert-authority line for some other key beside it.
    r6 = tmp_path / "r6_known_hosts"
    r6.write_text(
        f"@revoked * {_key(stranger)}\n@cert-authority * {_key(stranger)}\n{_host(ports['R6'])} {_key(host_key())}\n",
        encoding="utf-8",
    )
    before = {path: path.read_text(encoding="utf-8") for path in (r4, r5, r6)}
    snapshots = _poll(lab, tmp_path, {"R4": r4, "R5": r5, "R6": r6})
    for name, path in (("R4", r4), ("R5", r5)):
        result = snapshots[name].results[0]
        assert (result.status, result.error) == (
            Status.CONNECT,
            f"host key of 127.0.0.1:{ports[name]} is revoked in {path}: refusing to log in",
        )
    assert snapshots["R6"].up, snapshots["R6"].failures
    assert {path: path.read_text(encoding="utf-8") for path in (r4, r5, r6)} == before  # nothing written
    assert snapshots["R1"].up and snapshots["R2"].up  # devices without known_hosts are unaffected


def test_an_unreadable_line_refuses_the_login_with_the_file_and_line(running: LabThread, tmp_path: Path) -> None:
    lab = running.lab
    known = tmp_path / "known_hosts"
    known.write_text(f"{_host(lab.servers['R4'].port)} {_key(host_key())}\n@revoked * ssh-ed25519 AAAA%%%\n")
    result = _poll(lab, tmp_path, {"R4": known})["R4"].results[0]
    assert (result.status, result.error) == (
        Status.CONNECT,
        f"{known} line 2: the key is not a valid ssh-ed25519 key: refusing to log in",
    )
