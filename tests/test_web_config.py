"""--web.config.file: TLS and basic auth enforced on every endpoint, and a
bad file refused with the field it got wrong."""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import ipaddress
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import bcrypt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from monitor.export.exporter import Exporter
from monitor.export.server import ExporterServer
from monitor.export.web_config import WebConfigError, load_web_config
from monitor.inventory import load_inventory

pytestmark = pytest.mark.integration  # the exporter's HTTPS server

PASSWORD = "Scrape-Canary-51f0"


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "tls.crt", folder / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


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
    inventory.write_text(
        "lab: true\ndefaults: {credentials: {username: lab, password: x}}\n"
        "devices: [{name: R4, host: 127.0.0.1, port: 1, role: branch}]\n",
        encoding="utf-8",
    )
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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("basic_auth_users:\n  prometheus: hunter2\n", "basic_auth_users.prometheus: expected a bcrypt hash"),
        ("tls_server_config:\n  cert_file: a.crt\n", "tls_server_config.key_file: missing"),
        ("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n", "cannot load"),
        ("tls_server_config:\n  certificate: a.crt\n", "tls_server_config.certificate: unknown field"),
        ("http_server_config: {}\n", "http_server_config: unknown field"),
        ("basic_auth_users: [\n", "not valid YAML"),
    ],
)
def test_bad_web_config(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "web.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WebConfigError) as caught:
        load_web_config(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)
    assert "hunter2" not in str(caught.value)
