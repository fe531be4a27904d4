"""The exporter's HTTP server under abuse, over raw sockets on 127.0.0.1:
connections waiting for a request hold no worker, workers capped (one more
request is answered 503 at once), a request trickled byte by byte cut off at the header deadline, a
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
from support.http_clients import read_response, read_to_end
from support.inventories import write_inventory
from support.processes import start_serve, stop
from support.waiting import wait_until

from ipsec_ha_monitor.export.exporter import Exporter
from ipsec_ha_monitor.export.server import DEFAULT_MAX_PROBES_PER_TARGET, ExporterServer
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


def get(path: str, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def polls(lab: Lab, name: str = "R4") -> int:
    """Polls the router has seen: one `show version` each."""
    return list(lab.router(name).commands_received).count("show version")


def worker_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == "http-worker")


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


@pytest.mark.parametrize("served", [{"max_connections": 8, "max_connections_per_client": 100}], indirect=True)
def test_waiting_connections_hold_no_worker_and_workers_are_capped(served: Served) -> None:
    # 30 connections that send nothing: the front holds them, no worker
    # thread each, and a scrape is still answered.
    idle = [served.connect() for _ in range(30)]
    busy: list[socket.socket] = []
    try:
        wait_until(lambda: served.server.front.open_connections >= 30, 10, "the 30 connections held")
        assert worker_threads() == 0
        assert served.exchange(get("/targets")).startswith(b"HTTP/1.1 200")
        # 8 reloads that wait take the 8 workers: a complete request then
        # is answered 503 at once, never queued.
        release = threading.Event()
        served.server.enable_lifecycle = True
        served.server.reload = lambda: None if release.wait(60) else "not released"
        reload = b"POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        busy = [served.connect() for _ in range(8)]
        for connection in busy:
            connection.sendall(reload)
        wait_until(lambda: worker_threads() == 8, 20, "8 workers busy")
        for _ in range(5):
            answer = served.exchange(get("/targets"))
            assert answer.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 1\r\n" in answer, answer
        assert worker_threads() == 8
        release.set()
        for connection in busy:
            assert read_to_end(connection).startswith(b"HTTP/1.1 200 ")
    finally:
        for connection in idle + busy:
            connection.close()
    # The workers come back as their requests end.
    wait_until(lambda: worker_threads() == 0, 20, "the workers to end")
    assert served.exchange(get("/targets")).startswith(b"HTTP/1.1 200")


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


def test_serve_flags_cap_workers_not_waiting_connections(lab: Lab, tmp_path: Path) -> None:
    path = write_inventory(lab, tmp_path / "lab.yml")
    process, address = start_serve(path, "0", "--web.max-connections", "4", "--web.max-probes-per-target", "2")
    connections: list[socket.socket] = []
    try:
        host, port = address.split(":")
        tasks = Path(f"/proc/{process.pid}/task")
        baseline = len(os.listdir(tasks)) if tasks.is_dir() else 0
        # 20 connections that send nothing hold no thread and no worker:
        # with 4 workers, a scrape is still answered.
        connections = [socket.create_connection((host, int(port)), timeout=10) for _ in range(20)]
        with socket.create_connection((host, int(port)), timeout=30) as scrape:
            scrape.sendall(get("/targets"))
            assert read_to_end(scrape).startswith(b"HTTP/1.1 200")
        if tasks.is_dir():
            assert len(os.listdir(tasks)) <= baseline + 1  # at most the scrape's worker, ending
        # Four slow probes (two per target) take the 4 workers: then one
        # more request is answered 503 at once.
        for name in ("R1", "R4"):
            lab.router(name).faults = Faults(slow_seconds=3)
        for name in ("R1", "R1", "R4", "R4"):
            probe = socket.create_connection((host, int(port)), timeout=30)
            probe.sendall(get(f"/probe?target={name}"))
            connections.append(probe)

        def refused() -> bool:
            with socket.create_connection((host, int(port)), timeout=10) as connection:
                connection.sendall(get("/targets"))
                return read_to_end(connection).startswith(b"HTTP/1.1 503 ")

        wait_until(refused, 20, "a request refused while 4 probes run")
    finally:
        for name in ("R1", "R4"):
            lab.router(name).faults = Faults()
        for connection in connections:
            connection.close()
        stderr = stop(process)
    assert process.returncode == 0, stderr
    assert "request refused: 4 requests already being answered" in stderr
    assert stderr.count("requests already being answered") == 1  # one line a minute, however many
    assert "Traceback" not in stderr


def test_the_cli_defaults_are_the_servers() -> None:
    from ipsec_ha_monitor import cli
    from ipsec_ha_monitor.export import server

    for name in (
        "DEFAULT_MAX_CONNECTIONS",
        "DEFAULT_MAX_PROBES_PER_TARGET",
        "DEFAULT_MAX_OPEN_CONNECTIONS",
        "DEFAULT_MAX_CONNECTIONS_PER_CLIENT",
    ):
        assert getattr(cli, name) == getattr(server, name), name
