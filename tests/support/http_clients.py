"""Clients of the exporter's HTTP front, friendly and hostile: raw sockets
from a chosen loopback source address (Linux routes all of 127/8 to lo),
and one Basic-auth request over plain HTTP or TLS, answered with its status."""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
from typing import Any


def connect_from(address: tuple[Any, ...], source: str = "127.0.0.1", timeout: float = 30) -> socket.socket:
    """A TCP connection to `address` from `source` (any port)."""
    return socket.create_connection(address[:2], timeout=timeout, source_address=(source, 0))


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
        chunk = connection.recv(65536)
        assert chunk, f"closed mid-body: {data!r}"
        body += chunk
    return head + b"\r\n\r\n" + body


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def status_of(
    address: tuple[Any, ...],
    path: str,
    authorization: str | None,
    context: ssl.SSLContext | None = None,
    source: str = "127.0.0.1",
    timeout: float = 30,
) -> int:
    """One GET on a fresh connection from `source`: the answer's status."""
    host, port = str(address[0]), int(address[1])
    connection: http.client.HTTPConnection
    if context is not None:
        connection = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=context, source_address=(source, 0)
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout, source_address=(source, 0))
    try:
        connection.request("GET", path, headers={"Authorization": authorization} if authorization else {})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()
