"""The exporter's HTTP front against hostile clients (issue 24), over real
sockets on loopback, real TLS and real bcrypt: ambiguous framing (request
smuggling) is answered 400 and nothing after it runs; connections that
trickle their headers, never send a ClientHello or wait kept alive take no
worker; a
wrong-password flood neither stops a verified credential nor holds the
workers, and is logged at WARNING, throttled; per-address and total
connection caps."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
from support.http_clients import basic, connect_from, read_response, read_to_end, status_of
from support.inventories import write_branch_inventory, write_inventory
from support.tls import self_signed
from support.waiting import wait_until

from ipsec_ha_monitor.export.exporter import Exporter
from ipsec_ha_monitor.export.password_gate import FAILURES_BEFORE_PENALTY
from ipsec_ha_monitor.export.server import ExporterServer
from ipsec_ha_monitor.export.web_config import load_web_config
from ipsec_ha_monitor.inventory import load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread

pytestmark = pytest.mark.integration  # the exporter's HTTP server on loopback, the lab over SSH

LOGGER = "ipsec_ha_monitor.export.server"
USER = "prometheus"
PASSWORD = "Hostile-Canary-7c2e"
WRONG = "Wrong-Canary-90ab"


class Served:
    """An ExporterServer on 127.0.0.1 (with TLS and a bcrypt user of `cost`
    when asked), polling only when probed."""

    def __init__(self, folder: Path, inventory: Path, *, tls: bool = False, cost: int | None = None, **limits: int):
        self.context: ssl.SSLContext | None = None
        lines = []
        if tls:
            cert, key = self_signed(folder)
            lines.append(f"tls_server_config:\n  cert_file: {cert.name}\n  key_file: {key.name}\n")
            self.context = ssl.create_default_context(cafile=str(cert))
        if cost is not None:
            hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=cost)).decode()
            lines.append(f"basic_auth_users:\n  {USER}: '{hashed}'\n")
        web_file = folder / "web.yml"
        web_file.write_text("".join(lines) or "{}\n", encoding="utf-8")
        self.exporter = Exporter(load_inventory(inventory))
        self.server = ExporterServer(("127.0.0.1", 0), self.exporter, load_web_config(web_file), **limits)  # type: ignore[arg-type]
        self.server.serve_in_thread()
        self.address = self.server.server_address[:2]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.exporter.stop()

    def scrape(self, password: str = PASSWORD, source: str = "127.0.0.1") -> int:
        return status_of(self.address, "/metrics", basic(USER, password), self.context, source)

    def exchange(self, request: bytes, source: str = "127.0.0.1") -> bytes:
        """Send `request`, read until the server closes (a timeout if it never does)."""
        with connect_from(self.address, source) as connection:
            connection.sendall(request)
            return read_to_end(connection)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with LabThread(Lab(pairs=1, branches=1, time_scale=20)) as running:
        yield running.lab


@pytest.fixture
def plain(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Served]:
    served = Served(tmp_path, write_branch_inventory(tmp_path / "inventory.yml"), **getattr(request, "param", {}))
    try:
        yield served
    finally:
        served.close()


def polls(lab: Lab, name: str) -> int:
    """Polls the router has seen: one `show version` each."""
    return list(lab.router(name).commands_received).count("show version")


def worker_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == "http-worker")


# --- framing --------------------------------------------------------------------------------

SMUGGLED = b"GET /probe?target=R1 HTTP/1.1\r\nHost: 127.0.0\r\n\r\n"  # 48 bytes


def test_the_smuggled_probe_never_runs(lab: Lab, tmp_path: Path) -> None:
    served = Served(tmp_path, write_inventory(lab, tmp_path / "lab.yml"))
    try:
        assert len(SMUGGLED) == 48
        before = polls(lab, "R1")
        # The request of the issue: a proxy that takes the first Content-Length
        # forwards one request; one that takes the last, a body of 48 bytes.
        request = (
            b"GET /targets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nContent-Length: 48\r\n\r\n" + SMUGGLED
        )
        answer = served.exchange(request)
        assert answer.startswith(b"HTTP/1.1 400 ") and answer.count(b"HTTP/1.1 ") == 1, answer
        assert b"Connection: close\r\n" in answer and b"more than one Content-Length" in answer
        # Every ambiguous framing: 400, closed, the rest never read as a request.
        ambiguous = {
            "Content-Length: 0\r\nContent-Length: 0": b"more than one Content-Length",
            "Content-Length: 48\r\nContent-Length: 48": b"more than one Content-Length",
            "Content-Length: 0\r\ncontent-length: 48": b"more than one Content-Length",
            "Content-Length: 0, 48": b"not a number",
            "Content-Length: +48": b"not a number",
            "Content-Length: 0x30": b"not a number",
            "Transfer-Encoding: chunked\r\nContent-Length: 48": b"Transfer-Encoding with Content-Length",
            "Content-Length: 48\r\nTransfer-Encoding: identity": b"Transfer-Encoding with Content-Length",
            "Content-Length : 48": b"not name: value",
            "X-Folded: a\r\n Content-Length: 48": b"not name: value",
            "X-Cr: a\rContent-Length: 48": b"not name: value",
            "Content-Length: " + "9" * 5000: b"has no body",  # past int()'s 4,300 digits
        }
        for headers, reason in ambiguous.items():
            head = f"GET /targets HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n\r\n".encode()
            answer = served.exchange(head + SMUGGLED)
            assert answer.startswith(b"HTTP/1.1 400 ") and answer.count(b"HTTP/1.1 ") == 1, (headers, answer)
            assert b"Connection: close\r\n" in answer and reason in answer, (headers, answer)
        # A head past 64 KiB: 431, closed.
        answer = served.exchange(b"GET /targets HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 70_000 + b"\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:100]
        time.sleep(1.0)  # a probe started anyway would have reached the router by now
        assert polls(lab, "R1") == before
        # Well-framed requests pipelined on one connection are each answered.
        pipelined = (
            b"GET /targets HTTP/1.1\r\nHost: x\r\n\r\n" * 2 + b"GET /-/healthy HTTP/1.1\r\nConnection: close\r\n\r\n"
        )
        answer = served.exchange(pipelined)
        assert answer.count(b"HTTP/1.1 200 OK\r\n") == 3 and answer.endswith(b"ipsec-ha-monitor is Healthy.\n"), answer
    finally:
        served.close()


# --- connections that take their time ------------------------------------------------------


@pytest.mark.parametrize("plain", [{"max_connections": 1}], indirect=True)
def test_a_kept_alive_connection_waits_in_the_front_not_in_a_worker(plain: Served) -> None:
    request = b"GET /targets HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with connect_from(plain.address) as kept:
        kept.sendall(request)
        first = read_response(kept)
        assert first.startswith(b"HTTP/1.1 200 ") and b"Connection: close" not in first, first
        wait_until(lambda: worker_threads() == 0, 10, "the worker to hand the connection back")
        # The only worker is free while `kept` waits: another client is served.
        answer = plain.exchange(b"GET /-/healthy HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200 "), answer
        kept.sendall(request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        assert read_to_end(kept).startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize("plain", [{"cost": 4, "max_connections": 4, "max_connections_per_client": 200}], indirect=True)
def test_trickling_clients_take_no_worker(plain: Served) -> None:
    # 70 clients, each sending one more header line every half second
    # (each read quick, the head never complete), from the scraper's own
    # address: only 4 workers, yet every scrape is answered.
    tricklers = [connect_from(plain.address) for _ in range(70)]
    stop = threading.Event()

    def trickle() -> None:
        for connection in tricklers:
            connection.sendall(b"GET /metrics HTTP/1.1\r\n")
        line = 0
        while not stop.wait(0.5):
            line += 1
            for connection in tricklers:
                try:
                    connection.sendall(f"X-Line-{line}: a\r\n".encode())
                except OSError:
                    pass

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        wait_until(lambda: plain.server.front.open_connections >= 70, 30, "the 70 tricklers held")
        assert worker_threads() == 0
        assert [plain.scrape() for _ in range(5)] == [200] * 5
        assert plain.server.front.open_connections >= 70  # the tricklers were there all along
    finally:
        stop.set()
        thread.join(30)
        for connection in tricklers:
            connection.close()


def test_clients_that_never_send_a_client_hello_take_no_worker(tmp_path: Path) -> None:
    served = Served(
        tmp_path,
        write_branch_inventory(tmp_path / "inventory.yml"),
        tls=True,
        cost=4,
        max_connections=4,
        max_connections_per_client=200,
    )
    silent: list[socket.socket] = []
    try:
        silent = [connect_from(served.address) for _ in range(70)]
        wait_until(lambda: served.server.front.open_connections >= 70, 30, "the 70 silent connections held")
        assert [served.scrape() for _ in range(5)] == [200] * 5
        assert served.server.front.open_connections >= 70
    finally:
        for connection in silent:
            connection.close()
        served.close()


# --- passwords -------------------------------------------------------------------------------


def test_a_wrong_password_flood_neither_stops_a_verified_scrape_nor_runs_bcrypt_unbounded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    served = Served(
        tmp_path, write_branch_inventory(tmp_path / "inventory.yml"), tls=True, cost=10, max_connections_per_client=200
    )
    gate = served.server.passwords
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    try:
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            assert served.scrape() == 200  # verified once, as a running Prometheus's credential is
            checks_before = gate.checks
            stop = threading.Event()

            def flood() -> None:  # wrong passwords as fast as answers come, from the scraper's address
                while not stop.is_set():
                    try:
                        status = served.scrape(WRONG)
                    except OSError:
                        continue
                    with lock:
                        statuses[status] += 1

            flooders = [threading.Thread(target=flood, daemon=True) for _ in range(64)]
            for thread in flooders:
                thread.start()
            try:
                wait_until(lambda: statuses[429] >= 64, 60, "the flood to be refused without bcrypt")
                scrapes = [served.scrape() for _ in range(5)]
            finally:
                stop.set()
                for thread in flooders:
                    thread.join(60)
        assert scrapes == [200] * 5
        assert set(statuses) <= {401, 429, 503}, statuses
        # bcrypt ran for the failures that earned the penalty and those
        # already queued then, not for the flood.
        most = FAILURES_BEFORE_PENALTY + gate.checkers + gate.queue
        assert 1 <= gate.checks - checks_before <= most, (gate.checks - checks_before, statuses)
        warnings = [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
        failed = [m for m in warnings if m.startswith("failed login from 127.0.0.1")]
        assert failed and len(failed) == 1, warnings  # throttled: one line a minute
        assert "1 user name tried" in failed[0]
        assert len([m for m in warnings if "refused (429)" in m]) == 1, warnings
        assert PASSWORD not in caplog.text and WRONG not in caplog.text
    finally:
        served.close()


# --- caps per address and in all ---------------------------------------------------------------


@pytest.mark.parametrize("plain", [{"max_connections_per_client": 4, "max_open_connections": 8}], indirect=True)
def test_connections_are_capped_per_address_and_in_all(plain: Served, caplog: pytest.LogCaptureFixture) -> None:
    front = plain.server.front
    plain.server.notes.every = 0  # every line, not one a minute
    held: list[socket.socket] = []
    try:
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            held += [connect_from(plain.address, "127.0.0.2") for _ in range(4)]
            wait_until(lambda: front.open_from("127.0.0.2") == 4, 10, "4 connections from 127.0.0.2")
            # A fifth from that address: 503 at once; another address is served.
            answer = plain.exchange(b"GET /targets HTTP/1.1\r\n\r\n", "127.0.0.2")
            assert answer.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 1\r\n" in answer, answer
            assert plain.exchange(b"GET /targets HTTP/1.1\r\nConnection: close\r\n\r\n").startswith(b"HTTP/1.1 200")
            # 8 open in all: a connection from any address is refused.
            held += [connect_from(plain.address, "127.0.0.3") for _ in range(4)]
            wait_until(lambda: front.open_connections == 8, 10, "8 connections open")
            answer = plain.exchange(b"GET /targets HTTP/1.1\r\nConnection: close\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 503 "), answer
        assert front.refused == 2
        messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
        assert "connection from 127.0.0.2 refused: 4 connections already open from 127.0.0.2" in messages
        assert "connection from 127.0.0.1 refused: 8 connections open in all" in messages
    finally:
        for connection in held:
            connection.close()
    # The caps count connections as they close.
    wait_until(lambda: front.open_connections == 0, 10, "the connections counted out")
    assert plain.exchange(b"GET /targets HTTP/1.1\r\nConnection: close\r\n\r\n", "127.0.0.2").startswith(
        b"HTTP/1.1 200"
    )
