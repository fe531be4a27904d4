"""SSH failures a user can act on: hosts on 127.0.0.1 that accept TCP and
then misbehave (close at once, never send a banner, stop after it), polled
by the real poller. Each gives its own message, bounded by the connect
timeout, and none repeats a secret. (A dead or refusing jump host:
tests/test_jump_host.py.)"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from ipsec_ha_monitor.inventory import load_inventory
from ipsec_ha_monitor.poll import Poller
from ipsec_ha_monitor.snapshot import Status

pytestmark = pytest.mark.integration  # real sockets and SSH clients

PASSWORD = "Recognisable-Pa55word"
ENABLE = "Recognisable-En4ble"
CONNECT_TIMEOUT = 2.0


@contextmanager
def tcp_server(behaviour: str) -> Iterator[int]:
    """A TCP server on 127.0.0.1 (its port) doing `behaviour` with each
    connection: "close" at once, stay "silent", send an SSH "banner-then-close"
    or a "banner-then-silent". Stopped, and every connection closed, after."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:  # the listener closed: stop
                return
            if behaviour.startswith("banner"):
                connection.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
            if behaviour.endswith("close"):
                connection.close()
            else:
                held.append(connection)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stopping.set()
        # close() alone does not wake a thread blocked in accept(): a last connection does.
        socket.create_connection(listener.getsockname(), timeout=5).close()
        thread.join(5)
        listener.close()
        for connection in held:
            connection.close()


def _poll(tmp_path: Path, port: int) -> tuple[Status, str, float]:
    """One poll of a device at 127.0.0.1:port: its first failure's status
    and message, and how long the poll took."""
    path = tmp_path / "inventory.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "lab": True,  # inline throwaway credentials, for a loopback host
                "defaults": {"credentials": {"username": "lab", "password": PASSWORD, "enable_secret": ENABLE}},
                "devices": [{"name": "R4", "host": "127.0.0.1", "port": port, "role": "branch"}],
                "polling": {"connect_timeout": CONNECT_TIMEOUT, "poll_timeout": 10},
            }
        )
    )
    path.chmod(0o600)
    poller = Poller(load_inventory(path))
    started = time.monotonic()
    try:
        snapshot = poller.poll("R4")
    finally:
        poller.close()
    took = time.monotonic() - started
    failure = snapshot.results[0]
    assert not snapshot.up and failure.error, snapshot
    assert PASSWORD not in failure.error and ENABLE not in failure.error
    return failure.status, failure.error, took


def test_a_host_that_accepts_tcp_then_closes(tmp_path: Path) -> None:
    with tcp_server("close") as port:
        status, message, took = _poll(tmp_path, port)
    assert status is Status.CONNECT
    assert message == (
        f"127.0.0.1:{port} accepted TCP, then closed the connection before the SSH banner: is it an SSH server "
        "(the right port), and does it take new SSH sessions (vty lines free, access-class)?"
    )
    assert "EOFError" not in message and took < CONNECT_TIMEOUT


def test_a_host_that_never_sends_an_ssh_banner(tmp_path: Path) -> None:
    with tcp_server("silent") as port:
        status, message, took = _poll(tmp_path, port)
    assert status is Status.CONNECT
    assert message == (
        f"127.0.0.1:{port}: no SSH banner within {CONNECT_TIMEOUT - 0.3:.1f} s after TCP connected: "
        "is it an SSH server (the right port)?"
    )
    assert "TCP connection" not in message and "No existing session" not in message
    assert CONNECT_TIMEOUT - 0.5 < took < CONNECT_TIMEOUT + 3


def test_a_host_that_closes_after_its_banner(tmp_path: Path) -> None:
    with tcp_server("banner-then-close") as port:
        status, message, _ = _poll(tmp_path, port)
    assert status is Status.CONNECT
    assert message.startswith(f"127.0.0.1:{port} closed the connection during the SSH handshake, after its banner")
    assert "EOFError" not in message


def test_a_host_that_stops_after_its_banner(tmp_path: Path) -> None:
    with tcp_server("banner-then-silent") as port:
        status, message, took = _poll(tmp_path, port)
    assert status is Status.CONNECT
    assert message == (
        f"127.0.0.1:{port} sent its SSH banner, but the SSH handshake (key exchange) did not complete within "
        f"{CONNECT_TIMEOUT:.1f} s"
    )
    assert took < CONNECT_TIMEOUT + 3
