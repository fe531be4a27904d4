"""A real SSH server (asyncssh) for each simulated router, on 127.0.0.1.

Password authentication against the router's credentials, an interactive
shell carrying IosCli (echo, prompts, `enable` with its secret typed without
echo, --More-- paging), and exec requests (`ssh host "show version"`, at the
user's privilege level). While the router reloads the server stops
listening, so connections are refused, and open sessions are dropped.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
from collections.abc import Callable
from typing import Any

import asyncssh
from asyncssh.constants import MSG_IGNORE

from ipsec_ha_monitor.lab.ios_cli import IosCli
from ipsec_ha_monitor.lab.router import Router

_host_keys: dict[str, asyncssh.SSHKey] = {}


def _without_ignore_packets(send_packet: Callable[..., None]) -> Callable[..., None]:
    """asyncssh puts an empty SSH_MSG_IGNORE in front of every packet it
    sends once encrypted; IOS does not. Left in, every lab router would cost
    its SSH clients twice the packets a real one does (bench/poll_bench.py
    counted 8 packets per command, 4 of them IGNORE). Wraps one connection's
    bound send_packet: other asyncssh users in the process are untouched."""

    @functools.wraps(send_packet)
    def send(pkttype: int, *args: Any, **kwargs: Any) -> None:
        if pkttype != MSG_IGNORE:
            send_packet(pkttype, *args, **kwargs)

    return send


# What an old IOS image offers (12.x, early 15.x): SHA-1 key exchange and an
# RSA host key signed with SHA-1, nothing newer.
LEGACY_KEX = ("diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1")
LEGACY_HOST_KEY = "ssh-rsa"


def host_key(algorithm: str = "ssh-ed25519") -> asyncssh.SSHKey:
    """One throwaway host key per algorithm and process, shared by every router."""
    if algorithm not in _host_keys:
        if "rsa" in algorithm:
            _host_keys[algorithm] = asyncssh.generate_private_key(algorithm, key_size=2048)
        else:
            _host_keys[algorithm] = asyncssh.generate_private_key(algorithm)
    return _host_keys[algorithm]


class _Auth(asyncssh.SSHServer):
    def __init__(self, server: RouterSshServer) -> None:
        self._server = server

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        # Before key exchange, so before the first packet that would carry an IGNORE.
        conn.send_packet = _without_ignore_packets(conn.send_packet)  # type: ignore[method-assign]
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
        self.legacy_only = False  # offer only what old IOS does (LEGACY_KEX, ssh-rsa); takes effect on start()
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self._acceptor: asyncssh.SSHAcceptor | None = None

    @property
    def listening(self) -> bool:
        return self._acceptor is not None

    async def start(self) -> None:
        if self._acceptor is not None:
            return
        algorithms: dict[str, object] = {"server_host_keys": [host_key()]}
        if self.legacy_only:
            algorithms = {
                "server_host_keys": [host_key(LEGACY_HOST_KEY)],
                "kex_algs": list(LEGACY_KEX),
                "signature_algs": [LEGACY_HOST_KEY],
            }
        self._acceptor = await asyncssh.create_server(
            lambda: _Auth(self),
            self.host,
            self.port,
            **algorithms,
            process_factory=self._session,
            line_editor=False,  # _Terminal echoes and assembles lines, as IOS does
            reuse_address=True,
            login_timeout=30,
            keepalive_interval=0,
        )
        self.port = self._acceptor.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening (connections are refused) and drop every session."""
        # Sessions first: since Python 3.12 wait_closed() waits for them.
        for conn in list(self.connections):
            conn.abort()
        self.connections.clear()
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            self._acceptor = None

    async def _session(self, process: asyncssh.SSHServerProcess) -> None:
        terminal = _Terminal(process)
        cli = IosCli(self.router)
        faults = self.router.faults
        try:
            if faults.no_prompt:  # logged in, and then nothing, ever
                while await terminal.read_line(echo=False) is not None:
                    pass
                return
            if process.command:  # exec request: one command at the user's privilege level
                terminal.write(cli.handle(process.command).output)
                return
            terminal.write(f"{faults.banner}\n{cli.prompt}")
            while True:
                stray = f"\n{cli.prompt}" if self.router.faults.early_prompt else ""
                line = await terminal.read_line(echo=not cli.awaiting_secret, before_echo=stray)
                if line is None:
                    break
                reply = cli.handle(line)
                if self.router.faults.slow_seconds and line.strip():
                    await asyncio.sleep(self.router.faults.slow_seconds)
                # The prompt goes out with the output's last page, as IOS's
                # buffered vty output does, unless the command stalls or asks.
                prompt = "" if reply.stall or reply.ask_secret or reply.close else cli.prompt
                if not await terminal.page(reply.output, cli.terminal_length, prompt) or reply.close:
                    break
                if reply.stall:  # the rest never comes: wait for the client to give up
                    while await terminal.read_line(echo=False) is not None:
                        pass
                    break
        except (asyncssh.Error, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            process.exit(0)


class _Terminal:
    """Raw terminal I/O as IOS does it: characters are echoed when IOS reads
    them (so a secret typed ahead of its prompt is never shown), any of CR,
    LF or CR LF ends a line, output lines end in CR LF, and long output
    pauses at --More-- unless `terminal length 0`."""

    def __init__(self, process: asyncssh.SSHServerProcess) -> None:
        self._process = process
        self._pending = ""
        self._last_was_cr = False

    def write(self, text: str) -> None:
        if text:
            self._process.stdout.write(text.replace("\r\n", "\n").replace("\n", "\r\n"))

    async def _char(self) -> str | None:
        while not self._pending:
            chunk = await self._process.stdin.read(4096)
            if not chunk:
                return None
            self._pending = chunk
        char, self._pending = self._pending[0], self._pending[1:]
        return char

    async def read_line(self, echo: bool, before_echo: str = "") -> str | None:
        """One line typed by the client; `before_echo` goes out on its own
        50 ms ahead of the echo, once the line's first character is in (a
        fault: a stray prompt the client reads apart from the answer)."""
        line, shown = "", ""  # `shown`: echo gathered for one write per chunk
        while True:
            if not self._pending:
                self._flush(shown)
                shown = ""
            char = await self._char()
            if char is None:
                return None
            if before_echo:
                self._flush(before_echo)
                before_echo = ""
                await asyncio.sleep(0.05)
            if char == "\n" and self._last_was_cr:  # the LF of a CR LF pair
                self._last_was_cr = False
                continue
            self._last_was_cr = char == "\r"
            if char in "\r\n" or char == "\x03":  # Enter; Ctrl-C abandons the line
                self._flush(shown + "\r\n")  # the echo and its line end, as one write
                return line if char != "\x03" else ""
            if char in "\x7f\x08":
                if line:
                    line = line[:-1]
                    shown += "\b \b" if echo else ""
            elif char.isprintable():
                line += char
                shown += char if echo else ""

    def _flush(self, shown: str) -> None:
        if shown:
            self._process.stdout.write(shown)

    async def page(self, text: str, length: int, prompt: str = "") -> bool:
        """Write `text`, pausing every `length - 1` lines at --More-- until
        a key comes (space: next page, Enter: next line, anything else: stop),
        then `prompt`. False when the client went away."""
        lines = text.split("\n")
        if length == 0 or len(lines) <= length:
            self.write(text + prompt)
            return True
        shown, step = 0, length - 1
        while shown < len(lines):
            chunk = lines[shown : shown + step]
            shown += len(chunk)
            if shown >= len(lines):
                self.write("\n".join(chunk) + prompt)
                return True
            self.write("\n".join(chunk) + "\n")
            self._process.stdout.write(" --More-- ")
            key = await self._char()
            self._process.stdout.write("\b" * 10 + " " * 10 + "\b" * 10)
            if key is None:
                return False
            if key in "\r\n":
                step = 1
            elif key == " ":
                step = length - 1
            else:
                self.write("\n" + prompt)
                return True
        return True
