"""A real SSH server (asyncssh) for each simulated router, on 127.0.0.1.

Password authentication against the router's credentials, an interactive
shell carrying IosCli (echo, prompts, `enable` with its secret typed without
echo, --More-- paging), and exec requests (`ssh host "show version"`, at the
user's privilege level). While the router reloads the server stops
listening, so connections are refused, and open sessions are dropped.

Each server answers at its RouterLatency's pace (latency.py; none by
default): the key exchange and the AAA check slow the login, each command
waits before its output, and the output goes out at the vty's rate. Every
delay is an asyncio.sleep: thousands of slow routers share one event loop.
Each connection counts in the LoginCounter from the client's first bytes
until its shell opens (or it closes first).
"""

from __future__ import annotations

import asyncio
import functools
import hmac
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncssh
from asyncssh.constants import MSG_IGNORE

from ipsec_ha_monitor.lab.ios_cli import FLOOD_ENDLESS, IosCli
from ipsec_ha_monitor.lab.latency import PROFILES, LoginCounter, RouterLatency
from ipsec_ha_monitor.lab.router import Router

_host_keys: dict[str, asyncssh.SSHKey] = {}
_T = TypeVar("_T")


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
    """One per connection."""

    def __init__(self, server: RouterSshServer) -> None:
        self._server = server
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        # Before key exchange, so before the first packet that would carry an IGNORE.
        conn.send_packet = _without_ignore_packets(conn.send_packet)  # type: ignore[method-assign]
        self._conn = conn
        self._server.connections.add(conn)
        # A login begins with the client's first bytes (its SSH version
        # string), not at the TCP accept: a client may connect first and log
        # in later (the monitor's dialer does, within its login budget).
        receive = conn.data_received

        def first_bytes(data: bytes, datatype: Any = None) -> None:
            conn.data_received = receive  # type: ignore[method-assign]
            self._server.login_begins(conn)
            receive(data, datatype)

        conn.data_received = first_bytes  # type: ignore[method-assign]

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections = {c for c in self._server.connections if not c.is_closed()}
        if self._conn is not None:
            self._server.login_ends(self._conn)  # closed before its shell opened, or a no-op

    def begin_auth(self, username: str) -> bool | Awaitable[bool]:
        # Authentication is always required. The key exchange's cost on the
        # router's CPU is paid here, once per connection, before the first
        # authentication answer: a client sees its login take that long.
        delay = self._server.latency.handshake()
        return self._server.after(delay, True) if delay > 0 else True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool | Awaitable[bool]:
        credentials = self._server.router.credentials
        valid = hmac.compare_digest(username.encode(), credentials.username.encode()) and hmac.compare_digest(
            password.encode(), credentials.password.encode()
        )
        # The AAA server takes as long to say no as to say yes.
        delay = self._server.latency.aaa()
        return self._server.after(delay, valid) if delay > 0 else valid


class RouterSshServer:
    def __init__(
        self,
        router: Router,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency: RouterLatency | None = None,
        logins: LoginCounter | None = None,
    ) -> None:
        self.router = router
        self.host = host
        self.port = port  # 0 until started: the OS picks one, then it is kept
        self.legacy_only = False  # offer only what old IOS does (LEGACY_KEX, ssh-rsa); takes effect on start()
        # Real seconds from the TCP accept to a completed login, as IOS's
        # `ip ssh time-out`: a connection not logged in by then is dropped.
        self.login_timeout = 30.0
        self.connections: set[asyncssh.SSHServerConnection] = set()
        # How slowly it answers (no delay by default); may be replaced at any
        # time, sessions then open take the new pace at their next delay.
        self.latency = latency if latency is not None else RouterLatency(PROFILES["fast"], router.clock, router.name)
        self.logins = logins if logins is not None else LoginCounter()  # the lab's, shared by every router
        self._logins_open: dict[asyncssh.SSHServerConnection, int] = {}
        self._sleeping: set[asyncio.Task[Any]] = set()  # in a delay: stop() cancels them
        self._acceptor: asyncssh.SSHAcceptor | None = None

    async def pause(self, seconds: float) -> None:
        """Sleep through a latency delay, where stop() can cut it. A delay of
        0 (or less) neither waits nor yields: a `fast` router runs exactly
        as the lab always did."""
        task = asyncio.current_task()
        if seconds <= 0 or task is None:
            return
        self._sleeping.add(task)
        try:
            await asyncio.sleep(seconds)
        finally:
            self._sleeping.discard(task)

    async def after(self, seconds: float, result: _T) -> _T:
        await self.pause(seconds)
        return result

    def login_begins(self, conn: asyncssh.SSHServerConnection) -> None:
        self._logins_open[conn] = self.logins.begin()

    def login_ends(self, conn: asyncssh.SSHServerConnection) -> None:
        """Its shell or exec request opened, or it closed before: once per connection."""
        token = self._logins_open.pop(conn, None)
        if token is not None:
            self.logins.end(token)

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
            login_timeout=self.login_timeout,
            keepalive_interval=0,
        )
        self.port = self._acceptor.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening (connections are refused) and drop every session."""
        # Sessions first: since Python 3.12 wait_closed() waits for them.
        for conn in list(self.connections):
            conn.abort()
        self.connections.clear()
        # A session or login in one of its delays would sleep on past the
        # reload (and past the loop's end): cut it now.
        sleeping = [task for task in self._sleeping if task is not asyncio.current_task()]
        for task in sleeping:
            task.cancel()
        await asyncio.gather(*sleeping, return_exceptions=True)
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            self._acceptor = None

    async def _session(self, process: asyncssh.SSHServerProcess) -> None:
        self.login_ends(process.get_extra_info("connection"))  # authenticated, and its shell opened
        terminal = _Terminal(process, self)
        cli = IosCli(self.router)
        faults = self.router.faults
        try:
            if faults.no_prompt:  # logged in, and then nothing, ever
                while await terminal.read_line(echo=False) is not None:
                    pass
                return
            if process.command:  # exec request: one command at the user's privilege level
                output = cli.handle(process.command).output
                await terminal.send(output, wait=self.latency.command(len(output.encode())))
                return
            if faults.endless_banner:  # the first prompt never comes
                await terminal.flood(f"{faults.banner or _ENDLESS_BANNER}\n", FLOOD_ENDLESS)
                return
            await terminal.send(f"{faults.banner}\n{cli.prompt}")
            while True:
                stray = f"\n{cli.prompt}" if self.router.faults.early_prompt else ""
                line = await terminal.read_line(echo=not cli.awaiting_secret, before_echo=stray)
                if line is None:
                    break
                reply = cli.handle(line)
                # The command's delay before its output (an empty line gets its
                # prompt back at once, as on IOS), slept with the output's pace.
                wait = self.latency.command(len(reply.output.encode())) if line.strip() else 0.0
                if self.router.faults.slow_seconds and line.strip():
                    await asyncio.sleep(self.router.faults.slow_seconds)
                # The prompt goes out with the output's last page, as IOS's
                # buffered vty output does, unless the command stalls or asks.
                prompt = "" if reply.stall or reply.ask_secret or reply.close else cli.prompt
                if reply.flood:  # unpaged, unpaced: as fast as the client reads
                    await terminal.flood(reply.output, reply.flood)
                    await terminal.send(prompt)
                    continue
                if not await terminal.page(reply.output, cli.terminal_length, prompt, wait) or reply.close:
                    break
                if reply.stall:  # the rest never comes: wait for the client to give up
                    while await terminal.read_line(echo=False) is not None:
                        pass
                    break
        except (asyncssh.Error, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            process.exit(0)


_ENDLESS_BANNER = "Authorized access only. Disconnect IMMEDIATELY if you are not an authorized user!"
_FLOOD_BLOCK = 65536  # characters per write of a flood


class _Terminal:
    """Raw terminal I/O as IOS does it: characters are echoed when IOS reads
    them (so a secret typed ahead of its prompt is never shown), any of CR,
    LF or CR LF ends a line, output lines end in CR LF, and long output
    pauses at --More-- unless `terminal length 0`."""

    def __init__(self, process: asyncssh.SSHServerProcess, server: RouterSshServer) -> None:
        self._process = process
        self._server = server  # its latency, read at each write (it may change)
        self._pending = ""
        self._last_was_cr = False

    async def send(self, text: str, wait: float = 0.0) -> None:
        """Output at the vty's rate, `wait` real seconds from now: in pieces,
        each written once the rate allows all of it (so the last byte leaves
        at wait + size / rate), with asyncio.sleep between; a short output
        is one sleep and one write. Unpaced with no wait: at once."""
        if not text:
            return
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        loop = asyncio.get_running_loop()
        start = loop.time() + wait
        for piece, due in self._server.latency.paced(text):
            await self._server.pause(start + due - loop.time())
            self._process.stdout.write(piece)

    async def flood(self, text: str, size: int) -> None:
        """`text` over and over, as fast as the client reads it (each write
        waits for the channel to drain): `size` characters (ASCII: bytes),
        ending with a whole line, or without end for FLOOD_ENDLESS (until
        the client goes away: the write then fails)."""
        text = (text.replace("\r\n", "\n").replace("\n", "\r\n") or "\r\n").encode("ascii", "replace").decode()
        block = text * max(1, _FLOOD_BLOCK // len(text))
        sent = 0
        while size == FLOOD_ENDLESS or sent < size:
            piece = block if size == FLOOD_ENDLESS else block[: size - sent]
            if size != FLOOD_ENDLESS and len(piece) < len(block) and not piece.endswith("\n"):
                piece += "\r\n"  # the last line whole, a byte or two over
            self._process.stdout.write(piece)
            sent += len(piece)
            await self._process.stdout.drain()

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

    async def page(self, text: str, length: int, prompt: str = "", wait: float = 0.0) -> bool:
        """Write `text` (`wait` real seconds from now), pausing every
        `length - 1` lines at --More-- until a key comes (space: next page,
        Enter: next line, anything else: stop), then `prompt`. False when
        the client went away."""
        lines = text.split("\n")
        if length == 0 or len(lines) <= length:
            await self.send(text + prompt, wait)
            return True
        shown, step = 0, length - 1
        while shown < len(lines):
            chunk = lines[shown : shown + step]
            shown += len(chunk)
            if shown >= len(lines):
                await self.send("\n".join(chunk) + prompt, wait)
                return True
            await self.send("\n".join(chunk) + "\n", wait)
            wait = 0.0  # the command's delay comes once, before its first page
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
                await self.send("\n" + prompt)
                return True
        return True
