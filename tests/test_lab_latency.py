"""The lab at router speed (lab/latency.py): profiles and their lookup, delays
scaled by the lab clock, jitter that repeats with its seed, paced output in a
few pieces, and the login counter; then over real SSH (netmiko, paramiko):
a login that takes the handshake and AAA time, a longer output that takes
longer by its per-KiB cost, exec requests, paging, a `fast` lab as fast as
ever, and five concurrent logins as the lab counts them."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator

import paramiko
import pytest
from netmiko.exceptions import NetmikoAuthenticationException
from support.lab import connect
from support.waiting import wait_until

from ipsec_ha_monitor.lab import LATENCY_PROFILES, Lab, LabThread, LatencyProfile, LoginCounter, latency_profile
from ipsec_ha_monitor.lab.latency import CHUNK_BYTES, KIB, PROFILES, RouterLatency, profile
from ipsec_ha_monitor.lab.router import Clock

SCALE = 10.0  # lab seconds per real second: every delay below is a tenth of its figure


# --- profiles, delays, jitter, pacing (no SSH) ---


def test_fast_has_no_delay_and_router_has_every_kind() -> None:
    fast, router = PROFILES["fast"], PROFILES["router"]
    assert LATENCY_PROFILES is PROFILES and latency_profile is profile
    assert (fast.handshake_seconds, fast.aaa_seconds, fast.command_seconds) == (0, 0, 0)
    assert (fast.seconds_per_kib, fast.output_bytes_per_second, fast.jitter) == (0, 0, 0)
    assert router.handshake_seconds > 0 and router.aaa_seconds > 0 and router.command_seconds > 0
    assert router.seconds_per_kib > 0 and router.output_bytes_per_second > 0 and 0 < router.jitter < 1
    assert profile("router") is router and profile("fast") is fast


def test_an_unknown_or_impossible_profile_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown latency profile 'slow'; known: fast, router"):
        profile("slow")
    with pytest.raises(ValueError, match="unknown latency profile 'slow'"):
        Lab(latency="slow")
    with pytest.raises(ValueError, match="aaa_seconds must not be negative"):
        LatencyProfile("bad", aaa_seconds=-1)
    with pytest.raises(ValueError, match="jitter is a fraction below 1"):
        LatencyProfile("bad", jitter=1.0)


def test_delays_are_lab_seconds_divided_by_the_time_scale() -> None:
    figures = LatencyProfile("t", handshake_seconds=2, aaa_seconds=3, command_seconds=1, seconds_per_kib=0.5)
    latency = RouterLatency(figures, Clock(SCALE))
    assert latency.handshake() == pytest.approx(0.2)
    assert latency.aaa() == pytest.approx(0.3)
    assert latency.command(0) == pytest.approx(0.1)
    assert latency.command(4 * KIB) == pytest.approx((1 + 4 * 0.5) / SCALE)
    fast = RouterLatency(PROFILES["fast"], Clock(1.0))
    assert (fast.handshake(), fast.aaa(), fast.command(10**6)) == (0, 0, 0)


def _draws(latency: RouterLatency, count: int = 20) -> list[float]:
    return [latency.command(0) for _ in range(count)]


def test_jitter_repeats_with_the_seed_and_stays_within_its_fraction() -> None:
    jittery = LatencyProfile("j", command_seconds=1.0, jitter=0.5)
    first = _draws(RouterLatency(jittery, Clock(1.0), "0:R1"))
    assert first == _draws(RouterLatency(jittery, Clock(1.0), "0:R1"))
    assert first != _draws(RouterLatency(jittery, Clock(1.0), "1:R1"))
    assert all(0.5 <= draw <= 1.5 for draw in first) and len(set(first)) == len(first)
    # A lab seeds each router with its own name: the same seed, the same draws.
    one, same, other = (Lab(latency=jittery, latency_seed=seed) for seed in (7, 7, 8))
    assert _draws(one.servers["R1"].latency) == _draws(same.servers["R1"].latency)
    assert _draws(one.servers["R1"].latency) != _draws(one.servers["R2"].latency)
    assert _draws(same.servers["R2"].latency) != _draws(other.servers["R2"].latency)


def test_output_is_paced_in_a_few_pieces_whose_last_leaves_at_size_over_rate() -> None:
    text = "x" * 10_000
    slow = RouterLatency(LatencyProfile("p", output_bytes_per_second=1000), Clock(SCALE))  # 10,000 B/s real
    pieces = slow.paced(text)
    assert "".join(piece for piece, _ in pieces) == text
    assert [len(piece) for piece, _ in pieces] == [CHUNK_BYTES, CHUNK_BYTES, 10_000 - 2 * CHUNK_BYTES]
    assert [due for _, due in pieces] == pytest.approx([0.4096, 0.8192, 1.0])
    # A fast vty: a piece per 50 ms of output rather than thousands of 4 KiB ones.
    quick = RouterLatency(LatencyProfile("q", output_bytes_per_second=1_000_000), Clock(1.0))
    assert len(quick.paced("y" * 1_000_000)) == 20
    assert RouterLatency(PROFILES["fast"], Clock(1.0)).paced(text) == [(text, 0.0)]


def test_the_login_counter_counts_concurrency_and_windows() -> None:
    now = [0.0]
    counter = LoginCounter(clock=lambda: now[0])
    tokens = []
    for moment in (0.0, 0.1, 0.2):
        now[0] = moment
        tokens.append(counter.begin())
    counter.end(tokens[0])
    counter.end(tokens[0])  # twice: no effect
    now[0] = 5.0
    tokens.append(counter.begin())
    assert (counter.started, counter.in_progress, counter.max_in_progress) == (4, 3, 3)
    assert [counter.max_started_within(w) for w in (0.0, 0.1, 0.2, 4.8, 5.0)] == [1, 2, 3, 3, 4]
    with pytest.raises(ValueError, match="must not be negative"):
        counter.max_started_within(-1)
    counter.reset()
    state = (counter.started, counter.in_progress, counter.max_in_progress, counter.max_started_within(60))
    assert state == (0, 3, 3, 0)  # the three unended logins are still in progress
    for token in tokens:
        counter.end(token)
    assert counter.in_progress == 0


def test_a_lab_is_fast_unless_told_otherwise() -> None:
    lab = Lab(branches=2)
    assert {server.latency.profile.name for server in lab.servers.values()} == {"fast"}
    assert {id(server.logins) for server in lab.servers.values()} == {id(lab.logins)}
    lab.set_latency("router", "R2")
    assert {name: server.latency.profile.name for name, server in lab.servers.items()} == {
        "R1": "fast",
        "R2": "router",
        "R4": "fast",
        "R5": "fast",
    }


# --- over SSH ---


@pytest.fixture(scope="module")
def running() -> Iterator[Lab]:
    """A hub pair with 12 branches (R2's `show crypto ipsec sa`: about 18 KB)
    at 10 lab seconds per real second."""
    lab = Lab(branches=12, time_scale=SCALE)
    with LabThread(lab):
        yield lab


@pytest.fixture
def lab(running: Lab) -> Iterator[Lab]:
    running.logins.reset()
    yield running
    running.set_latency("fast")


def _transport(lab: Lab, name: str) -> paramiko.Transport:
    transport = paramiko.Transport(socket.create_connection(("127.0.0.1", lab.servers[name].port), timeout=10))
    transport.start_client(timeout=10)
    return transport


def _timed_auth(lab: Lab, name: str) -> float:
    """Real seconds from the first authentication request to its success
    (the key exchange itself is before: the lab charges its cost here)."""
    transport = _transport(lab, name)
    try:
        start = time.monotonic()
        transport.auth_password(lab.credentials.username, lab.credentials.password)
        return time.monotonic() - start
    finally:
        transport.close()


@pytest.mark.integration
def test_the_router_profile_login_takes_its_handshake_and_aaa_time_scaled(lab: Lab) -> None:
    router = PROFILES["router"]
    lab.set_latency("router")
    least = (router.handshake_seconds + router.aaa_seconds) * (1 - router.jitter) / SCALE
    most = (router.handshake_seconds + router.aaa_seconds) * (1 + router.jitter) / SCALE
    seconds = min(_timed_auth(lab, "R1") for _ in range(2))
    # At least the scaled figures; well under the unscaled ones (1.04 s at
    # the least): the delay follows the lab's clock.
    assert least <= seconds < most + 0.5


@pytest.mark.integration
def test_a_netmiko_login_lasts_the_scaled_handshake_and_aaa(lab: Lab) -> None:
    lab.set_latency(LatencyProfile("slow-login", handshake_seconds=4.0, aaa_seconds=6.0))  # 1 real second
    start = time.monotonic()
    connection = connect(lab, "R4", auth_timeout=10)
    seconds = time.monotonic() - start
    connection.disconnect()
    assert 1.0 <= seconds < 4.0  # 10 s unscaled


@pytest.mark.integration
def test_a_longer_output_takes_longer_by_its_per_kib_cost(lab: Lab) -> None:
    figures = LatencyProfile("sized", seconds_per_kib=0.4, output_bytes_per_second=8 * KIB)
    per_byte = (figures.seconds_per_kib / KIB + 1 / figures.output_bytes_per_second) / SCALE
    connection = connect(lab, "R2")
    try:
        lab.set_latency(figures)

        def fastest(command: str) -> tuple[float, str]:
            runs = []
            for _ in range(2):
                start = time.monotonic()
                output = connection.send_command(command, read_timeout=30)
                runs.append((time.monotonic() - start, output))
            return min(runs)

        small, _ = fastest("show clock")
        big, output = fastest("show crypto ipsec sa")
    finally:
        connection.disconnect()
    assert len(output) > 4 * CHUNK_BYTES and "current_peer 172.16.0.15" in output  # whole, in several pieces
    expected = len(output) * per_byte  # about 0.9 s for 18 KB
    assert small < 0.5
    assert 0.8 * expected <= big - small <= 1.5 * expected + 0.3


@pytest.mark.integration
def test_an_exec_request_waits_as_a_typed_command_does(lab: Lab) -> None:
    lab.set_latency(LatencyProfile("slow-command", command_seconds=5.0))  # half a real second
    transport = _transport(lab, "R1")
    try:
        transport.auth_password(lab.credentials.username, lab.credentials.password)
        channel = transport.open_session()
        start = time.monotonic()
        channel.exec_command("show clock")
        output = b""
        while chunk := channel.recv(65536):
            output += chunk
        seconds = time.monotonic() - start
    finally:
        transport.close()
    assert re.search(rb"\d\d:\d\d:\d\d", output)
    assert 0.5 <= seconds < 3.0


@pytest.mark.integration
def test_paging_is_unchanged_at_router_pace(lab: Lab) -> None:
    lab.set_latency("router")
    transport = _transport(lab, "R2")
    try:
        transport.auth_password(lab.credentials.username, lab.credentials.password)
        shell = transport.open_session()
        shell.get_pty(term="vt100", width=80, height=24)
        shell.invoke_shell()

        def answer() -> bytes:
            data = bytearray()

            def answered() -> bool:
                while shell.recv_ready():
                    data.extend(shell.recv(65536))
                return re.search(rb"(?:^|\n)R2[>#]$|Password: $| --More-- $", data) is not None

            wait_until(answered, 20, "the router's answer", 0.02, lambda: bytes(data[-200:]))
            return bytes(data)

        answer()
        shell.send(b"enable\n")
        answer()
        shell.send(lab.credentials.enable_secret.encode() + b"\n")
        answer()
        shell.send(b"show crypto ipsec sa\n")
        first = answer()
        assert first.endswith(b" --More-- ") and first.count(b"\r\n") == 24  # echo line + 23 lines
        shell.send(b"q")
        assert answer().endswith(b"R2#")
    finally:
        transport.close()


@pytest.mark.integration
def test_fast_stays_fast() -> None:
    """At time scale 1 the router profile would take over a second to log in
    and a quarter of one per command; the default lab takes neither."""
    lab = Lab()
    with LabThread(lab):
        auth = min(_timed_auth(lab, "R1") for _ in range(3))
        connection = connect(lab, "R1")
        try:
            start = time.monotonic()
            for _ in range(10):
                connection.send_command("show version")
            commands = time.monotonic() - start
        finally:
            connection.disconnect()
    assert auth < 0.5
    assert commands < 2.4


@pytest.mark.integration
def test_the_lab_counts_five_concurrent_logins(lab: Lab) -> None:
    lab.set_latency(LatencyProfile("aaa", aaa_seconds=20.0))  # 2 real seconds each
    names = ["R1", "R2", "R4", "R1", "R2"]
    barrier = threading.Barrier(len(names))
    connections, errors = [], []

    def log_in(name: str) -> None:
        barrier.wait()
        try:
            connections.append(connect(lab, name, auth_timeout=10))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=log_in, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    try:
        assert errors == [] and len(connections) == 5
        # Every session still open, but no login in progress: a login ends when its shell opens.
        assert sum(len(server.connections) for server in lab.servers.values()) >= 5
        counts = (lab.logins.started, lab.logins.in_progress, lab.logins.max_in_progress)
        assert counts == (5, 0, 5)
        assert lab.logins.max_started_within(2.0) == 5
        assert lab.logins.max_started_within(0.0) >= 1
    finally:
        for connection in connections:
            connection.disconnect()
    # A rejected password ends its login; a TCP connection that never
    # speaks SSH is no login at all, and one that gives up after its
    # version string ends its own.
    with pytest.raises(NetmikoAuthenticationException):
        connect(lab, "R4", password="not-the-password", auth_timeout=10)
    port = lab.servers["R4"].port
    silent = socket.create_connection(("127.0.0.1", port), timeout=10)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as quitter:
        quitter.sendall(b"SSH-2.0-quitter\r\n")
        wait_until(lambda: lab.logins.started == 7, 10, "the quitter's login")
    wait_until(lambda: lab.logins.in_progress == 0, 10, "every login ended")
    assert lab.logins.started == 7
    silent.close()
    assert lab.logins.max_in_progress == 5
