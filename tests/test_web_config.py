"""--web.config.file: TLS and basic auth enforced on every endpoint, and a
bad file refused with the field it got wrong."""

from __future__ import annotations

import base64
import http.client
import re
import select
import signal
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import bcrypt
import pytest
from support.inventories import write_branch_inventory
from support.processes import StderrLines, serving_url, spawn_serve, stop
from support.tls import self_signed
from support.waiting import wait_until

from ipsec_ha_monitor.export import web_config
from ipsec_ha_monitor.export.exporter import Exporter
from ipsec_ha_monitor.export.server import ExporterServer
from ipsec_ha_monitor.export.web_config import WebConfigError, bcrypt_cost, load_web_config
from ipsec_ha_monitor.inventory import load_inventory

pytestmark = pytest.mark.integration  # the exporter's HTTPS server

PASSWORD = "Scrape-Canary-51f0"


@pytest.fixture
def secured(tmp_path: Path):
    cert, key = self_signed(tmp_path)
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    web_file = tmp_path / "web.yml"
    web_file.write_text(
        f"tls_server_config:\n  cert_file: {cert.name}\n  key_file: {key.name}\n"
        f"basic_auth_users:\n  prometheus: '{hashed}'\n",
        encoding="utf-8",
    )
    inventory = tmp_path / "inventory.yml"
    write_branch_inventory(inventory)
    exporter = Exporter(load_inventory(inventory))  # never polls here: /targets needs no device
    server = ExporterServer(("127.0.0.1", 0), exporter, load_web_config(web_file))
    server.serve_in_thread()
    try:
        yield server, ssl.create_default_context(cafile=str(cert))
    finally:
        server.shutdown()
        server.server_close()
        exporter.stop()


def fetch(url: str, context: ssl.SSLContext | None, user: str | None = None, password: str = "") -> int:
    headers = {}
    if user is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10, context=context) as r:
            return r.status
    except urllib.error.HTTPError as error:
        return error.code


def test_tls_and_basic_auth_are_enforced(secured) -> None:
    server, context = secured
    assert server.url.startswith("https://127.0.0.1:")
    for path in ("/targets", "/metrics", "/", "/probe?target=R4"):
        assert fetch(server.url + path, context) == 401, path
        assert fetch(server.url + path, context, "prometheus", "wrong") == 401, path
        assert fetch(server.url + path, context, "someone", PASSWORD) == 401, path
    assert fetch(server.url + "/targets", context, "prometheus", PASSWORD) == 200
    assert fetch(server.url + "/targets", context, "prometheus", "x" * 100) == 401  # bcrypt's 72-byte limit
    assert fetch(server.url + "/targets", context, "prometheus", PASSWORD) == 200  # remembered, still right
    # Plain HTTP gets no answer at all.
    host, port = server.server_address[:2]
    plain = http.client.HTTPConnection(host, port, timeout=5)
    with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
        plain.request("GET", "/targets")
        plain.getresponse().read()
    plain.close()


HASH = "$2b$04$" + "a" * 53  # a well-formed bcrypt hash (cost 4)


def test_a_stalled_tls_handshake_is_cut_at_the_header_deadline(secured) -> None:
    server, context = secured
    server.header_timeout = 1.0
    with socket.create_connection(server.server_address[:2], timeout=10) as stalled:
        stalled.sendall(b"\x16\x03\x01")  # the start of a ClientHello, and no more
        readable, _, _ = select.select([stalled], [], [], 8)
        assert readable, "the stalled handshake was never cut off"
        try:
            assert stalled.recv(100) == b""
        except ConnectionResetError:
            pass
    assert fetch(server.url + "/targets", context, "prometheus", PASSWORD) == 200


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("basic_auth_users:\n  prometheus: hunter2\n", "basic_auth_users.prometheus: expected a bcrypt hash"),
        ("basic_auth_users:\n  prometheus: $2y$10$hunter2\n", "basic_auth_users.prometheus: expected a bcrypt hash"),
        (f"basic_auth_users:\n  prometheus: '{HASH[:4]}99{HASH[6:]}'\n", "bcrypt cost 99 is not 04 to 31"),
        (f"basic_auth_users:\n  'a:b': '{HASH}'\n", "basic_auth_users.a:b: a user name is not empty and holds no ':'"),
        ("tls_server_config:\n  cert_file: a.crt\n", "tls_server_config.key_file: missing"),
        ("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n", "cannot load"),
        ("tls_server_config:\n  certificate: a.crt\n", "tls_server_config.certificate: unknown field"),
        ("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  min_version: [1]\n", "min_version: expected"),
        ("http_server_config: {}\n", "http_server_config: unknown field"),
        ("basic_auth_users: [\n", "not valid YAML"),
        ("- prometheus\n", "expected a mapping"),
        ("basic_auth_users: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply: more than 32 levels"),
        # Empty: an error, never an open server by accident.
        ("", "empty: write {} to serve without TLS or basic auth on purpose, or leave out --web.config.file"),
        ("# users to come\n", "empty: write {}"),
        ("basic_auth_users:\n", "basic_auth_users: empty: list user: bcrypt-hash lines, or leave the key out"),
        ("basic_auth_users: {}\n", "basic_auth_users: empty"),
        ("tls_server_config:\n", "tls_server_config: empty: give cert_file and key_file, or leave the key out"),
        ("tls_server_config: {}\n", "tls_server_config: empty"),
    ],
)
def test_bad_web_config(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "web.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WebConfigError) as caught:
        load_web_config(path)
    assert re.match(rf"{re.escape(str(path))}(:\d+)?: ", str(caught.value)) and message in str(caught.value)
    assert "hunter2" not in str(caught.value) and "\n" not in str(caught.value)


def test_a_web_config_that_is_not_utf8_names_the_file_and_line_not_a_byte(tmp_path: Path) -> None:
    path = tmp_path / "web.yml"
    path.write_bytes(b"basic_auth_users:\n  prometheus: '$2y$10$\xe4bc'\n")
    with pytest.raises(WebConfigError) as caught:
        load_web_config(path)
    assert str(caught.value) == f"{path}:2: not UTF-8 text"


def test_an_explicitly_open_web_config(tmp_path: Path) -> None:
    path = tmp_path / "web.yml"
    path.write_text("{}\n", encoding="utf-8")
    web = load_web_config(path)
    assert web.open and web.path == path and web.authorized(None)


# --- basic-auth timing ---------------------------------------------------------------


def test_an_unknown_user_costs_as_much_as_a_configured_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The structure that makes timing equal (bench/auth_timing_bench.py
    measures it): a name that is not configured is checked with bcrypt at
    the cost of a configured user, the same cost at every try."""
    checked: list[bytes] = []
    real = web_config._checkpw

    def recording(password: str, hashed: bytes) -> bool:
        checked.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(web_config, "_checkpw", recording)

    def header(user: str, password: str = "wrong") -> str:
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    path = tmp_path / "web.yml"
    one = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=5)).decode()
    path.write_text(f"basic_auth_users:\n  prometheus: '{one}'\n", encoding="utf-8")
    web = load_web_config(path)
    for user in ("prometheus", "someone", "admin", "x" * 300):
        assert web.authorized(header(user)) is False
    assert [bcrypt_cost(hashed) for hashed in checked] == [5] * 4  # one user: always its cost
    assert checked[1:] == [web.dummy_hash("someone"), web.dummy_hash("admin"), web.dummy_hash("x" * 300)]
    assert not bcrypt.checkpw(b"", web.dummy_hash("someone"))  # a stand-in no password matches
    # Users of different costs: an unknown name borrows one of theirs, the same every time.
    other = bcrypt.hashpw(b"other", bcrypt.gensalt(rounds=4)).decode()
    path.write_text(f"basic_auth_users:\n  prometheus: '{one}'\n  grafana: '{other}'\n", encoding="utf-8")
    web = load_web_config(path)
    costs = {name: bcrypt_cost(web.dummy_hash(name)) for name in (f"user{n}" for n in range(64))}
    assert set(costs.values()) == {4, 5}
    again = load_web_config(path)
    assert {name: bcrypt_cost(again.dummy_hash(name)) for name in costs} == costs


# --- SIGHUP --------------------------------------------------------------------------------


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _status(url: str, context: ssl.SSLContext, headers: dict[str, str]) -> int | str:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10, context=context) as r:
            return r.status
    except urllib.error.HTTPError as error:
        return error.code
    except urllib.error.URLError as error:
        return type(error.reason).__name__


REFUSED = "web config reload refused, keeping the previous one"


def _refusals(logged: list[str], count: int) -> Callable[[], bool]:
    return lambda: "".join(logged).count(REFUSED) == count


@pytest.mark.integration  # `serve` as a process
def test_sighup_rereads_the_web_config_and_keeps_it_when_bad(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    self_signed(first)
    self_signed(second)
    contexts = {name: ssl.create_default_context(cafile=str(folder / "tls.crt")) for name, folder in
                (("first", first), ("second", second))}  # fmt: skip

    def web(folder: str, user: str, password: str) -> str:
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
        return (
            f"tls_server_config: {{cert_file: {folder}/tls.crt, key_file: {folder}/tls.key}}\n"
            f"basic_auth_users:\n  {user}: '{hashed}'\n"
        )

    web_file = tmp_path / "web.yml"
    web_file.write_text(web("first", "alice", PASSWORD), encoding="utf-8")
    inventory = tmp_path / "inventory.yml"
    write_branch_inventory(inventory)
    process = spawn_serve(inventory, "--web.config.file", str(web_file))
    stderr_lines = StderrLines(process)
    logged = stderr_lines.lines
    try:
        url = stderr_lines.serving_url()
        assert url.startswith("https://127.0.0.1:"), url
        url += "/targets"
        assert _status(url, contexts["first"], _basic("alice", PASSWORD)) == 200
        # New certificate, new user: for new connections and requests.
        web_file.write_text(web("second", "bob", "Bob-Canary-77"), encoding="utf-8")
        process.send_signal(signal.SIGHUP)
        wait_until(lambda: "web config" in "".join(logged) and "reloaded" in "".join(logged), what="the reload")
        assert _status(url, contexts["second"], _basic("bob", "Bob-Canary-77")) == 200
        assert _status(url, contexts["second"], _basic("alice", PASSWORD)) == 401
        assert _status(url, contexts["first"], _basic("bob", "Bob-Canary-77")) == "SSLCertVerificationError"
        # Bad files: each refused with one line naming it; bob and the second certificate stay.
        bad = {
            "not UTF-8": (b"basic_auth_users:\n  bob: '\xff'\n", "web.yml:2: not UTF-8 text"),
            "empty": (b"", "web.yml: empty: write {}"),
            "missing certificate": (b"tls_server_config: {cert_file: no.crt, key_file: no.key}\n", "cannot load"),
            "password, not hash": (b"basic_auth_users: {bob: hunter2}\n", "expected a bcrypt hash"),
        }
        for refusals, (name, (content, says)) in enumerate(bad.items(), start=1):
            web_file.write_bytes(content)
            seen = len(logged)
            process.send_signal(signal.SIGHUP)
            wait_until(_refusals(logged, refusals), what=f"refusal of {name}")
            time.sleep(0.2)
            lines = [line for line in logged[seen:] if re.search(r" ERROR |level=error|Traceback", line)]
            assert len(lines) == 1 and str(web_file) in lines[0] and says in lines[0], (name, lines)
            assert _status(url, contexts["second"], _basic("bob", "Bob-Canary-77")) == 200, name
    finally:
        stderr_lines.stop()
    stderr = stderr_lines.text()
    assert process.returncode == 0 and "Traceback" not in stderr
    assert "hunter2" not in stderr and PASSWORD not in stderr


@pytest.mark.integration  # `serve` as a process
def test_serve_refuses_an_empty_web_config_and_says_when_it_is_open_on_purpose(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    write_branch_inventory(inventory)
    web_file = tmp_path / "web.yml"
    web_file.write_text("", encoding="utf-8")
    process = spawn_serve(inventory, "--web.config.file", str(web_file))
    process.wait(timeout=30)
    stderr = stop(process)
    assert process.returncode == 2
    assert f"{web_file}: empty: write {{}} to serve without TLS or basic auth on purpose" in stderr
    web_file.write_text("{}\n", encoding="utf-8")
    process = spawn_serve(inventory, "--web.config.file", str(web_file))
    try:
        assert serving_url(process).startswith("http://127.0.0.1:")
    finally:
        stderr = stop(process)
    assert f"{web_file} sets neither tls_server_config nor basic_auth_users" in stderr
    assert "served without TLS or authentication" in stderr and "no --web.config.file" not in stderr
