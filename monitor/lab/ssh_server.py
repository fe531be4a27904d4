"""A real SSH server (asyncssh) for each simulated router, on 127.0.0.1.

Password authentication against the router's credentials, an interactive
shell carrying IosCli (echo, prompts, `enable` with its secret typed without
echo), and exec requests (`ssh host "show version"`). While the router
reloads the server stops listening, so connections are refused, and open
sessions are dropped.
"""

from __future__ import annotations

import asyncio
import hmac

import asyncssh

from monitor.lab.ios_cli import IosCli
from monitor.lab.router import Router

_host_key: asyncssh.SSHKey | None = None


def host_key() -> asyncssh.SSHKey:
    """One throwaway Ed25519 host key per process, shared by every router."""
    global _host_key
    if _host_key is None:
        _host_key = asyncssh.generate_private_key("ssh-ed25519")
    return _host_key


class _Auth(asyncssh.SSHServer):
    def __init__(self, server: RouterSshServer) -> None:
        self._server = server

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._server.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections = {c for c in self._server.connections if not c.is_closed()}

    def begin_auth(self, username: str) -> bool:
        return True  # authentication is always required

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        credentials = self._server.router.credentials
        return hmac.compare_digest(username.encode(), credentials.username.encode()) and hmac.compare_digest(
            password.encode(), credentials.password.encode()
        )


class RouterSshServer:
    def __init__(self, router: Router, host: str = "127.0.0.1", port: int = 0) -> None:
        self.router = router
        self.host = host
        self.port = port  # 0 until started: the OS picks one, then it is kept
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self._acceptor: asyncssh.SSHAcceptor | None = None

    @property
    def listening(self) -> bool:
        return self._acceptor is not None

    async def start(self) -> None:
        if self._acceptor is not None:
            return
        self._acceptor = await asyncssh.create_server(
            lambda: _Auth(self),
            self.host,
            self.port,
            server_host_keys=[host_key()],
            process_factory=self._session,
            reuse_address=True,
            login_timeout=30,
            keepalive_interval=0,
        )
        self.port = self._acceptor.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening (connections are refused) and drop every session."""
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            self._acceptor = None
        for conn in list(self.connections):
            conn.abort()
        self.connections.clear()

    async def _session(self, process: asyncssh.SSHServerProcess) -> None:
        cli = IosCli(self.router)
        try:
            if process.command:  # exec request: run the one command, privileged
                cli.privileged = True
                process.stdout.write(cli.handle(process.command).output)
                return
            process.stdout.write(f"\n{cli.prompt}")
            while not process.stdin.at_eof():
                try:
                    line = await process.stdin.readline()
                except (asyncssh.BreakReceived, asyncssh.SignalReceived, asyncssh.TerminalSizeChanged):
                    continue
                if not line:
                    break
                reply = cli.handle(line.rstrip("\r\n"))
                process.stdout.write(reply.output)
                if reply.close:
                    break
                if reply.ask_secret:
                    process.channel.set_echo(False)  # the secret is typed unseen
                    continue
                process.channel.set_echo(True)
                process.stdout.write(cli.prompt)
        except (asyncssh.Error, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            process.exit(0)
