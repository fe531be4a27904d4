"""Real SSH servers on 127.0.0.1 for the key and jump-host tests (asyncssh,
run on a LabThread's loop with `running.run(server.start())`):

- `JumpServer`: an SSH jump host (bastion) that accepts the given client
  keys and forwards direct-tcpip channels (`ssh -W`, ProxyJump) to
  127.0.0.1 only, recording each forwarding request.
- `KeyRouter`: a router that accepts only public-key logins (the lab's
  routers take passwords): each session is bridged to a lab router's
  shell, logged in there with the lab's password, so the poll sees real
  IOS output; every accepted key login is recorded.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh


def new_key(path: Path, passphrase: str | None = None) -> asyncssh.SSHKey:
    """A fresh ed25519 client key written to `path` (OpenSSH format, mode
    0600, encrypted with `passphrase` when given)."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    data = key.export_private_key("openssh", passphrase, rounds=16) if passphrase else key.export_private_key()
    path.write_bytes(data)
    path.chmod(0o600)
    return key


def public_line(key: asyncssh.SSHKey) -> str:
    """`algorithm base64` of the key's public half."""
    return " ".join(key.export_public_key("openssh").decode().split()[:2])


def known_hosts_line(port: int, key: asyncssh.SSHKey) -> str:
    return f"[127.0.0.1]:{port} {public_line(key)}"


class _KeyOnly(asyncssh.SSHServer):
    """Public-key authentication against a set of keys; nothing else."""

    def __init__(self, allowed: set[str], logins: list[tuple[str, str]]) -> None:
        self._allowed, self._logins = allowed, logins

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        line = public_line(key)
        if line in self._allowed:
            self._logins.append((username, line))
            return True
        return False


@dataclass
class Forward:
    host: str
    port: int


class _Jump(_KeyOnly):
    def __init__(self, server: JumpServer) -> None:
        super().__init__(server.allowed, server.logins)
        self._server = server

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._server.connections.add(conn)

    def connection_requested(self, dest_host: str, dest_port: int, orig_host: str, orig_port: int) -> bool:
        self._server.forwards.append(Forward(dest_host, dest_port))
        return dest_host == "127.0.0.1"  # asyncssh opens the forwarded connection itself


class _Serving:
    """What both servers stop the same way: their connections, then the listener."""

    connections: set[asyncssh.SSHServerConnection]
    _acceptor: asyncssh.SSHAcceptor | None

    async def stop(self) -> None:
        for conn in list(self.connections):
            conn.abort()
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            self._acceptor = None


@dataclass
class JumpServer(_Serving):
    """A bastion on 127.0.0.1 accepting `client_keys` (public key lines)."""

    client_keys: list[asyncssh.SSHKey]
    host_key: asyncssh.SSHKey = field(default_factory=lambda: asyncssh.generate_private_key("ssh-ed25519"))
    port: int = 0
    forwards: list[Forward] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    connections: set[asyncssh.SSHServerConnection] = field(default_factory=set)
    _acceptor: asyncssh.SSHAcceptor | None = None

    @property
    def allowed(self) -> set[str]:
        return {public_line(key) for key in self.client_keys}

    async def start(self) -> None:
        self._acceptor = await asyncssh.create_server(
            lambda: _Jump(self), "127.0.0.1", 0, server_host_keys=[self.host_key], login_timeout=20
        )
        self.port = self._acceptor.sockets[0].getsockname()[1]


@dataclass
class KeyRouter(_Serving):
    """A key-login front for a lab router at 127.0.0.1:`target_port`."""

    client_keys: list[asyncssh.SSHKey]
    target_port: int
    username: str
    password: str
    port: int = 0
    logins: list[tuple[str, str]] = field(default_factory=list)
    connections: set[asyncssh.SSHServerConnection] = field(default_factory=set)
    _acceptor: asyncssh.SSHAcceptor | None = None

    async def start(self) -> None:
        allowed = {public_line(key) for key in self.client_keys}
        router = self

        class _Front(_KeyOnly):
            def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
                router.connections.add(conn)

        self._acceptor = await asyncssh.create_server(
            lambda: _Front(allowed, self.logins),
            "127.0.0.1",
            0,
            server_host_keys=[asyncssh.generate_private_key("ssh-ed25519")],
            process_factory=self._bridge,
            encoding=None,
            line_editor=False,  # the lab router echoes, as IOS does
            login_timeout=20,
        )
        self.port = self._acceptor.sockets[0].getsockname()[1]

    async def _bridge(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        try:
            async with asyncssh.connect(
                "127.0.0.1",
                self.target_port,
                username=self.username,
                password=self.password,
                known_hosts=None,
                client_keys=None,
                agent_path=None,
                preferred_auth="password",
            ) as conn:
                remote = await conn.create_process(
                    process.command,
                    term_type=process.term_type or "vt100",
                    term_size=process.term_size,
                    encoding=None,
                )
                await process.redirect(stdin=remote.stdin, stdout=remote.stdout, stderr=remote.stderr)
                await remote.wait()
        except (OSError, asyncssh.Error, asyncio.CancelledError):
            pass
        finally:
            process.exit(0)
