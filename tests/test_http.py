"""The exporter's HTTP server under abuse, over raw sockets on 127.0.0.1:
connections capped (threads stay bounded, one more is answered 503 at
once), a request trickled byte by byte cut off at the header deadline, a
request the client abandoned not run (its /probe never polls), a GET body
refused rather than run as a second request, probes of one target bounded
(a flood polls the router once), no versions in the Server header, and the
caps as `serve` flags."""

from __future__ import annotations

import logging
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.inventories import write_inventory
from support.processes import start_serve, stop
from support.waiting import wait_until

from ipsec_ha_monitor.export.exporter import Exporter
from ipsec_ha_monitor.export.server import DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PROBES_PER_TARGET, ExporterServer
from ipsec_ha_monitor.inventory import load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.lab.router import Faults

pytestmark = pytest.mark.integration  # the lab over SSH, the exporter's HTTP server, `serve` as a process

LOGGER = "ipsec_ha_monitor.export.server"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with LabThread(Lab(pairs=1, branches=1, time_scale=20)) as running:
        yield running.lab


class Served:
    """An exporter over the lab on 127.0.0.1, polling only when probed."""

    def __init__(self, lab: Lab, folder: Path, **limits: float) -> None:
        self.lab = lab
        self.exporter = Exporter(load_inventory(write_inventory(lab, folder / "lab.yml")))
        self.server = ExporterServer(("127.0.0.1", 0), self.exporter, **limits)  # type: ignore[arg-type]
        self.server.notes.every = 0  # every abuse line, not one a minute
        self.server.serve_in_thread()
        self.address = self.server.server_address[:2]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.exporter.stop()

    def connect(self) -> socket.socket:
        connection = socket.create_connection(self.address, timeout=30)
        return connection

    def exchange(self, request: bytes, timeout: float = 30) -> bytes:
        """Send `request`, read until the server closes."""
        with self.connect() as connection:
            connection.settimeout(timeout)
            connection.sendall(request)
            return read_to_end(connection)


def read_to_end(connection: socket.socket) -> bytes:
    data = b""
    while chunk := connection.recv(65536):
        data += chunk
    return data


def read_response(connection: socket.socket) -> bytes:
    """One response on a kept-alive connection: its head and its body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        assert chunk, f"closed mid-response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")).split()[1])
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


def get(path: str, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def polls(lab: Lab, name: str = "R4") -> int:
    """Polls the router has seen: one `show version` each."""
    return list(lab.router(name).commands_received).count("show version")


def handler_threads() -> int:
    return sum(1 for thread in threading.enumerate() if "process_request_thread" in thread.name)


@pytest.fixture
def served(lab: Lab, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Served]:
    limits = getattr(request, "param", {})
    running = Served(lab, tmp_path, **limits)
    try:
        yield running
    finally:
        running.close()
        lab.router("R4").faults = Faults()


# --- connections ------------------------------------------------------------------------


@pytest.mark.parametrize("served", [{"max_connections": 8}], indirect=True)
def test_connections_are_capped_and_threads_stay_bounded(served: Served) -> None:
    idle = [served.connect() for _ in range(8)]
    try:
        wait_until(lambda: handler_threads() >= 8, 10, "8 handler threads")
        extra = [served.connect() for _ in range(30)]
        for connection in extra:  # each answered 503 at once and closed, no thread started for it
            answer = read_to_end(connection)
            assert answer.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 1\r\n" in answer, answer
            connection.close()
        assert handler_threads() == 8
        # A scrape while the cap is reached: refused at once (503, or reset
        # when its request crossed the refusal), never served nor queued.
        with served.connect() as connection:
            connection.sendall(get("/targets"))
            try:
                answer = read_to_end(connection)
            except ConnectionResetError:
                answer = b""
        assert not answer.startswith(b"HTTP/1.1 200"), answer
    finally:
        for connection in idle:
            connection.close()
    # The slots come back as the connections close.
    answer = wait_until(lambda: served.exchange(get("/targets")).startswith(b"HTTP/1.1 200"), 10, "a slot")
    assert answer
    wait_until(lambda: handler_threads() == 0, 10, "the handler threads to end")


@pytest.mark.parametrize("served", [{"header_timeout": 1.0, "idle_timeout": 4.0}], indirect=True)
def test_a_slow_header_client_is_dropped_at_the_deadline(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    # A byte every 0.2 s: no single read ever waits long, yet the request
    # never ends. The deadline covers the whole request line and headers.
    with caplog.at_level(logging.WARNING, logger=LOGGER), served.connect() as connection:
        connection.sendall(b"GET /targets HTTP/1.1\r\n")
        cut_off = False
        for byte in b"X-Slow: " + b"a" * 100:  # 20 s of trickling, unless cut off
            try:
                connection.sendall(bytes([byte]))
                time.sleep(0.2)
                if select.select([connection], [], [], 0)[0]:
                    cut_off = connection.recv(65536) == b""  # closed, never answered
                    break
            except ConnectionError:
                cut_off = True
                break
    assert cut_off, "the slow client was never cut off"
    assert "no complete request within 1 s: closed" in caplog.text
    # A kept-alive connection may sit idle past the header deadline
    # (up to the idle timeout) before its next request.
    with served.connect() as connection:
        connection.sendall(get("/targets").replace(b"Connection: close\r\n", b""))
        assert read_response(connection).startswith(b"HTTP/1.1 200")
        time.sleep(1.5)
        connection.sendall(get("/targets"))
        assert read_to_end(connection).startswith(b"HTTP/1.1 200")


# --- abandoned requests, bodies ---------------------------------------------------------


def test_an_abandoned_probe_is_not_polled(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    lab = served.lab
    before = polls(lab)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        # Hung up in the middle of its headers (no blank line): not run.
        with served.connect() as connection:
            connection.sendall(b"GET /probe?target=R4 HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            connection.shutdown(socket.SHUT_WR)
            assert read_to_end(connection) == b""
        # A whole request, the hang-up in the same segment (corked): not polled.
        if hasattr(socket, "TCP_CORK"):
            with served.connect() as connection:
                connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
                connection.sendall(get("/probe?target=R4"))
                connection.shutdown(socket.SHUT_WR)
                assert read_to_end(connection) == b""
        time.sleep(1.0)  # a poll started anyway would have reached the router by now
        assert polls(lab) == before
        # Gone while its probe ran (a reset): the poll ends and is recorded;
        # the failed answer is one line, no traceback.
        lab.router("R4").faults = Faults(slow_seconds=0.3)
        with served.connect() as connection:
            connection.sendall(get("/probe?target=R4"))
            wait_until(lambda: polls(lab) > before, 10, "the probe's poll to start")
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        state = served.exporter.monitor
        wait_until(lambda: "R4" in state.state().snapshots, 20, "the probe's poll to be recorded")
        wait_until(lambda: "went away" in caplog.text, 10, "the line about the client gone")
    lines = [record for record in caplog.records if record.name == LOGGER]
    messages = [record.getMessage() for record in lines]
    hung_up = [m for m in messages if "hung up" in m]
    assert len(hung_up) == (2 if hasattr(socket, "TCP_CORK") else 1), messages
    assert "hung up in the middle of GET '/probe?target=R4': not run" in hung_up[0]
    assert hung_up[1:] in ([], ["127.0.0.1: GET '/probe?target=R4': hung up before its poll: not polled"])
    assert len([m for m in messages if "went away" in m]) == 1, messages
    assert all(record.levelno < logging.ERROR and record.exc_info is None for record in lines), messages
    # A probe that stays for its answer is polled as usual.
    lab.router("R4").faults = Faults()
    served.exporter.monitor.probe_reuse_seconds = 0
    counted = polls(lab)
    assert served.exchange(get("/probe?target=R4")).startswith(b"HTTP/1.1 200")
    assert polls(lab) == counted + 1


@pytest.mark.parametrize(
    "body_headers",
    [("Content-Length: 44",), ("Transfer-Encoding: chunked",)],
    ids=["content-length", "chunked"],
)
def test_a_get_with_a_body_is_refused_not_run_as_a_second_request(served: Served, body_headers: tuple[str]) -> None:
    smuggled = b"GET /probe?target=R4 HTTP/1.1\r\nHost: x\r\n\r\n"
    request = get("/targets", *body_headers).replace(b"Connection: close\r\n", b"") + smuggled
    before = polls(served.lab)
    answer = served.exchange(request)
    assert answer.startswith(b"HTTP/1.1 400 ") and b"Connection: close\r\n" in answer, answer
    assert answer.count(b"HTTP/1.1 ") == 1 and b"a GET request has no body" in answer
    time.sleep(0.5)
    assert polls(served.lab) == before
    # Nor is a POST's body (400, closed) or an unknown method's (501, closed).
    answer = served.exchange(request.replace(b"GET /targets", b"POST /-/reload", 1))
    assert answer.startswith(b"HTTP/1.1 400 ") and answer.count(b"HTTP/1.1 ") == 1, answer
    assert b"a POST request has no body" in answer and b"Connection: close\r\n" in answer
    answer = served.exchange(request.replace(b"GET /targets", b"DELETE /targets", 1))
    assert answer.startswith(b"HTTP/1.1 501 ") and answer.count(b"HTTP/1.1 ") == 1, answer
    time.sleep(0.5)
    assert polls(served.lab) == before
    # No body (Content-Length: 0) is fine.
    assert served.exchange(get("/targets", "Content-Length: 0")).startswith(b"HTTP/1.1 200")


# --- probes -------------------------------------------------------------------------------


@pytest.mark.parametrize("served", [{"max_connections": 200}], indirect=True)
def test_a_probe_flood_is_bounded_per_target(served: Served) -> None:
    lab = served.lab
    lab.router("R4").faults = Faults(slow_seconds=0.1)  # a poll of R4 takes a few tenths of a second
    before = polls(lab)
    # 60 probes of R4 at once: 8 wait for one shared poll, the rest get 503 at once.
    barrier = threading.Barrier(60)
    answers: list[bytes] = []

    def probe() -> None:
        with served.connect() as connection:
            barrier.wait()
            connection.sendall(get("/probe?target=R4"))
            answers.append(read_to_end(connection))

    threads = [threading.Thread(target=probe) for _ in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    statuses = sorted(answer.split(b" ", 2)[1].decode() for answer in answers)
    assert len(statuses) == 60
    assert 1 <= statuses.count("200") <= DEFAULT_MAX_PROBES_PER_TARGET, statuses
    assert statuses.count("503") == 60 - statuses.count("200"), statuses
    assert all(b"Retry-After: 1\r\n" in answer for answer in answers if b" 503 " in answer[:13])
    assert polls(lab) - before == 1
    # 12 clients probing R4 back to back for 3 s: each poll is shared, and
    # one that ended under a second ago answers without another, so R4 is
    # polled at most once per poll time plus a second (back to back, a
    # quick poll after another: many more).
    lab.router("R4").faults = Faults()
    before = polls(lab)
    stop_at = time.monotonic() + 3

    def keep_probing() -> None:
        while time.monotonic() < stop_at:
            served.exchange(get("/probe?target=R4"))

    flood = [threading.Thread(target=keep_probing) for _ in range(12)]
    for thread in flood:
        thread.start()
    for thread in flood:
        thread.join(60)
    assert 1 <= polls(lab) - before <= 4


# --- headers, and the caps as flags of `serve` ----------------------------------------------


def test_the_server_header_names_no_versions(served: Served) -> None:
    for request in (
        get("/targets"),
        get("/nope"),
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    ):
        answer = served.exchange(request)
        head = answer.split(b"\r\n\r\n")[0].decode()
        assert "\r\nServer: ipsec-ha-monitor\r\n" in head, head
        assert "Python" not in answer.decode(errors="replace") and "BaseHTTP" not in head


def test_serve_flags_cap_connections_and_threads(lab: Lab, tmp_path: Path) -> None:
    path = write_inventory(lab, tmp_path / "lab.yml")
    process, address = start_serve(path, "0", "--web.max-connections", "4", "--web.max-probes-per-target", "2")
    connections: list[socket.socket] = []
    try:
        host, port = address.split(":")
        tasks = Path(f"/proc/{process.pid}/task")
        baseline = len(os.listdir(tasks)) if tasks.is_dir() else 0
        connections = [socket.create_connection((host, int(port)), timeout=10) for _ in range(4)]
        wait_until(lambda: len(os.listdir(tasks)) >= baseline + 4 if tasks.is_dir() else True, 10, "4 handlers")
        refused = [socket.create_connection((host, int(port)), timeout=10) for _ in range(40)]
        for connection in refused:
            assert read_to_end(connection).startswith(b"HTTP/1.1 503 ")
            connection.close()
        if tasks.is_dir():
            assert len(os.listdir(tasks)) <= baseline + 4
    finally:
        for connection in connections:
            connection.close()
        stderr = stop(process)
    assert process.returncode == 0, stderr
    assert "connection refused: 4 connections already open" in stderr
    assert stderr.count("connections already open") == 1  # one line a minute, however many
    assert "Traceback" not in stderr


def test_the_cli_defaults_are_the_servers() -> None:
    from ipsec_ha_monitor import cli

    assert (cli.DEFAULT_MAX_CONNECTIONS, cli.DEFAULT_MAX_PROBES_PER_TARGET) == (
        DEFAULT_MAX_CONNECTIONS,
        DEFAULT_MAX_PROBES_PER_TARGET,
    )
