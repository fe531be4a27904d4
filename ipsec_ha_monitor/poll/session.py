"""One netmiko SSH session to one device: open (login, enable), run a show
command, close. Every failure leaves here as a CommandFailure carrying a
Status and a message fit for an operator; no secret ever reaches either
(DevicePoller masks one in any form), nor netmiko's own log: a secret of an
open session is masked there in any form (netmiko's filter masks the
literal only).
"""

from __future__ import annotations

import logging
import os
import select
import socket
import subprocess
import time
import weakref
from pathlib import Path

import paramiko
from netmiko import ConnectHandler
from netmiko.base_connection import BaseConnection
from netmiko.exceptions import NetmikoAuthenticationException, ReadTimeout

from ipsec_ha_monitor.inventory import Device, PollSettings
from ipsec_ha_monitor.logs import one_line
from ipsec_ha_monitor.poll.channel_reader import CommandOutput, OutputTooLarge, size_text
from ipsec_ha_monitor.poll.known_hosts import KnownHosts, KnownHostsError, RevokedHostKey
from ipsec_ha_monitor.poll.login_channel import LoginChannel
from ipsec_ha_monitor.secret_text import Secret, mask, reveals
from ipsec_ha_monitor.snapshot import Status

# What Paramiko 5 removed and old IOS images may still need: SHA-1 key
# exchange and ssh-rsa (SHA-1) host key signatures. Refused unless a device
# says `legacy_ssh: true`, whichever Paramiko is installed.
SHA1_KEX = ("diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha1", "diffie-hellman-group1-sha1")
SHA1_HOST_KEYS = ("ssh-rsa",)
PARAMIKO_HAS_SHA1 = int(paramiko.__version__.split(".")[0]) < 5
LEGACY_HINT = (
    "the device may offer only SHA-1 key exchange or ssh-rsa host keys (old IOS images): "
    "set legacy_ssh: true for it, which needs Paramiko < 5 (pip install 'netmiko[par4]')"
)


class CommandFailure(Exception):
    """A login or command that failed, classified."""

    def __init__(self, status: Status, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"{status}: {message}")


class DeviceSession:
    """A logged-in shell on one device. Not thread-safe: its DevicePoller
    runs one poll at a time."""

    def __init__(self, device: Device, settings: PollSettings) -> None:
        self.device = device
        self.settings = settings
        self._connection: BaseConnection | None = None
        self._prompt = ""
        self._pager_wants_enter = False  # learnt when `q` alone did not leave the pager
        self._known_hosts: KnownHosts | None = None  # as read for the latest login
        # Why the session was dropped when an output went over the cap: the
        # rest of the poll is not run (no second login into the same flood);
        # the next poll logs in again.
        self._dropped_because = ""
        _SESSIONS.add(self)  # netmiko's log is scrubbed of its secrets

    @property
    def is_open(self) -> bool:
        """Open and its transport still alive (a reload or an idle timeout
        on the device drops it)."""
        connection = self._connection
        if connection is None:
            return False
        transport = getattr(connection.remote_conn, "transport", None)
        return transport is not None and transport.is_active()

    def open(self, deadline: float, dialed: socket.socket | None = None) -> None:
        """Log in (and enable), giving up at `deadline` (time.monotonic()),
        over `dialed` when given (a TCP connection to the device, taken
        over: closed whatever happens) or a connection of its own."""
        try:
            self._open(deadline, dialed)
        except BaseException:
            if dialed is not None:
                dialed.close()
            raise

    def _open(self, deadline: float, dialed: socket.socket | None) -> None:
        self.abort()
        self._dropped_because = ""
        device, credentials = self.device, self.device.credentials
        if device.legacy_ssh and not PARAMIKO_HAS_SHA1:
            raise CommandFailure(
                Status.CONNECT,
                f"legacy_ssh is set, but Paramiko {paramiko.__version__} has no SHA-1 key exchange or ssh-rsa "
                "host keys; install Paramiko < 5 (pip install 'netmiko[par4]') to poll this device",
            )
        remaining = deadline - time.monotonic()
        budget = max(0.5, min(self.settings.connect_timeout, remaining))  # TCP, the SSH handshake and banner
        login = max(0.5, min(self.settings.login_seconds, remaining))  # authentication and the first prompt
        options: dict[str, object] = {
            "device_type": device.platform,
            "host": device.host,
            "port": device.port,
            "username": credentials.username,
            "password": credentials.password.reveal(),
            "fast_cli": True,
            "conn_timeout": budget,
            "auth_timeout": login,
            "banner_timeout": _banner_seconds(budget),
            # The prompt and terminal setup: two reads that each may wait this long.
            "read_timeout_override": login / 2,
            "keepalive": self.settings.keepalive,
            "allow_agent": credentials.use_agent,
            # Only the key named: ~/.ssh/id_* are never searched (use_keys
            # would have Paramiko offer each, and a device may lock out the
            # account after a few refused ones).
            "use_keys": False,
        }
        if credentials.key_file is not None:
            options["key_file"] = str(credentials.key_file)
            if credentials.passphrase is not None:
                options["passphrase"] = credentials.passphrase.reveal()
        if device.ssh_config_file is not None:
            options["ssh_config_file"] = str(device.ssh_config_file)
        elif dialed is not None:
            options["sock"] = dialed
        if credentials.enable_secret is not None:
            options["secret"] = credentials.enable_secret.reveal()
        if not device.legacy_ssh:
            options["disabled_algorithms"] = {"kex": list(SHA1_KEX), "keys": list(SHA1_HOST_KEYS)}
        known: KnownHosts | None = None
        if device.known_hosts is not None:
            # Read here, not by Paramiko (whose reader fails on @revoked
            # lines), at every login: an edited file counts from the next one.
            try:
                known = KnownHosts.read(device.known_hosts)
            except KnownHostsError as exc:
                raise CommandFailure(Status.CONNECT, f"{exc}: refusing to log in") from None
            options.update(ssh_strict=True, system_host_keys=False, alt_host_keys=False)
        self._known_hosts = known
        try:
            # Connected below, step by step: the login's reads go through a capped channel.
            connection = ConnectHandler(**options, auto_connect=False)
        except Exception as exc:
            raise self._login_failure(exc, budget, login) from None
        login_channel: LoginChannel | None = None
        try:
            if known is not None:
                _check_host_keys(connection, known)
            connection._modify_connection_params()  # what netmiko's own connect (_open) does, step by step
            connection.establish_connection()
            if isinstance(connection.remote_conn, paramiko.Channel):
                cap = self.settings.max_banner_bytes
                login_channel = LoginChannel(connection.remote_conn, connection.encoding, cap)
                connection.channel = login_channel
            connection._try_session_preparation()  # netmiko's own login steps (ConnectHandler's _open)
            if credentials.enable_secret is not None:
                try:
                    connection.enable()
                except (ValueError, ReadTimeout):
                    raise CommandFailure(Status.AUTH, "enable refused: check the enable secret") from None
            prompt = connection.find_prompt()
            if prompt.rstrip().endswith(">"):  # user EXEC: most of the show commands are refused
                raise CommandFailure(
                    Status.PRIVILEGE,
                    f"logged in at user EXEC ({prompt.strip()}): give the account privilege 15, or set enable_secret",
                )
        except CommandFailure:
            _close_quietly(connection)
            raise
        except Exception as exc:
            _close_quietly(connection)
            raise self._login_failure(exc, budget, login) from None
        if login_channel is not None:
            login_channel.reset()
        connection.read_timeout_override = None  # from here on each command has its own timeout
        _quiet_transport(connection)
        self._connection = connection
        self._prompt = prompt.strip()

    def run(self, command: str, timeout: float) -> str:
        """The raw output of `command`: its echo, the output and the prompt
        (the parser skips echo and prompt lines). Raises CommandFailure
        (TIMEOUT, CONNECT, PAGING, or OUTPUT_TOO_LARGE past
        polling.max_output_bytes, which drops the session).

        netmiko logged in and set the terminal up; the command itself is
        written to and read from the session's SSH channel directly, with
        blocking reads that wake when data arrives. netmiko's send_command
        polls every 25 ms and re-scans the whole output each time, which
        made up most of a reused poll's CPU (bench/poll_bench.py); here each
        chunk is searched with a short tail of the one before only
        (channel_reader.py)."""
        channel = self._channel()
        output = CommandOutput(command.encode(), self._prompt.encode(), self.settings.max_output_bytes)
        deadline = time.monotonic() + timeout
        try:
            drained = 0
            while channel.recv_ready():  # drop whatever is pending (a late prompt), within the cap
                drained += len(channel.recv(_CHUNK))
                if drained > output.cap:
                    raise OutputTooLarge(drained, output.cap)
            channel.settimeout(timeout)  # a full send window must not block forever either
            channel.sendall(output.echo + b"\n")
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                channel.settimeout(remaining)
                chunk = channel.recv(_CHUNK)
                if not chunk:
                    raise CommandFailure(Status.CONNECT, f"{command}: the device closed the session")
                # Done at the prompt, on a line after this command's echo: a
                # stale prompt (a late answer to an Enter at login) can never
                # pass for the end of this output and shift every answer onto
                # the next command.
                end = output.feed(chunk)
                # Mid-line (output with no line end before the prompt):
                # the end only once nothing more comes.
                if end is not None and (end.clean or not _more_within(channel, _QUIET_SECONDS)):
                    return output.text(end)
                # A pager waiting for a key: `terminal length 0` did not take.
                if output.pager_at_end() and not _more_within(channel, 0.2):
                    raise CommandFailure(Status.PAGING, self._leave_pager(command, output.lines, deadline))
        except CommandFailure:
            raise
        except OutputTooLarge as exc:
            # The rest is still coming: the session can never be back in step.
            self.abort()
            self._dropped_because = (
                f"{command}: output over {size_text(exc.cap)} (the polling.max_output_bytes cap; {exc.received:,} "
                "bytes received): session dropped"
            )
            raise CommandFailure(Status.OUTPUT_TOO_LARGE, self._dropped_because) from None
        except TimeoutError:  # socket.timeout too
            raise CommandFailure(
                Status.TIMEOUT,
                f"{command}: no complete answer within {timeout:.1f} s (output stalled after {output.lines} lines)",
            ) from None
        except Exception as exc:  # the transport went away under us
            raise CommandFailure(Status.CONNECT, f"{command}: session dropped ({_describe(exc)})") from None
        finally:
            try:
                channel.settimeout(None)
            except Exception:  # the channel is gone; nothing to restore
                pass

    def _channel(self) -> paramiko.Channel:
        """The open session's SSH channel (netmiko types it loosely: telnet too)."""
        channel = self._connection.remote_conn if self._connection is not None else None
        if channel is None and self._dropped_because:
            raise CommandFailure(Status.OUTPUT_TOO_LARGE, f"not run: {self._dropped_because}")
        if not isinstance(channel, paramiko.Channel):
            raise CommandFailure(Status.CONNECT, "no open session")
        return channel

    def _leave_pager(self, command: str, lines: int, deadline: float) -> str:
        """Quit the pager so the session stays usable (IOS quits on a single
        `q`; line-based shells want Enter too), or drop the session. The
        message for the operator."""
        message = (
            f"{command}: output stopped at --More-- after {lines} lines: paging is on because "
            "`terminal length 0` did not take (AAA command authorization refused it?); "
            "allow `terminal length 0` for the monitoring account"
        )
        prompt = self._prompt.encode()
        keys = (b"q\n",) if self._pager_wants_enter else (b"q", b"\n")
        try:
            channel = self._channel()
            tail = bytearray()
            for key in keys:
                channel.sendall(key)
                wait_until = min(deadline, time.monotonic() + _PAGER_QUIT_SECONDS)
                while (remaining := wait_until - time.monotonic()) > 0:
                    channel.settimeout(remaining)
                    try:
                        chunk = channel.recv(_CHUNK)
                    except TimeoutError:
                        break
                    if not chunk:
                        raise ConnectionError("closed")
                    tail = (tail + chunk)[-_PAGER_TAIL:]  # the prompt is looked for at the end only
                    if tail.rstrip(b" \t\r\n").endswith(prompt):
                        if key == b"\n":
                            self._pager_wants_enter = True
                        return message
        except Exception:  # fall through: the session is out of step
            pass
        self.abort()
        return message + " (the pager did not quit: session dropped)"

    def close(self) -> None:
        """Log out politely (frees the device's vty line at once)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            _close_quietly(connection)

    def abort(self) -> None:
        """Drop a session that is out of step with the device (a stalled
        output, a dead transport): logging out would wait on it."""
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.paramiko_cleanup()
            except Exception:  # already gone
                pass
            _close_quietly(connection)  # now quick; releases netmiko's log filter

    # --- classification ---------------------------------------------------------

    def _login_failure(self, exc: Exception, budget: float, login: float) -> CommandFailure:
        failure = self._classify_login(exc, budget, login)
        config = self.device.ssh_config_file
        if config is not None and failure.status is Status.CONNECT and exc is not failure:
            # The hop's own words (the OpenSSH client's stderr) say more than
            # what the failed hop looks like from here (no banner, a closed pipe).
            hop_error = _proxy_error(_chain(exc))
            if hop_error:
                return CommandFailure(
                    failure.status,
                    f"SSH to {self.device.host}:{self.device.port} failed at the {_hop(config, self.device.host)}: "
                    f"{hop_error}",
                )
            return CommandFailure(
                failure.status,
                f"{failure.message} (through the ProxyJump/ProxyCommand of {config}: check the jump host too)",
            )
        return failure

    def _is_revoked(self, key: paramiko.PKey) -> bool:
        """Whether the known_hosts read for this login revokes `key`."""
        return self._known_hosts is not None and self._known_hosts.is_revoked(key)

    def _classify_login(self, exc: Exception, budget: float, login: float) -> CommandFailure:
        where = f"{self.device.host}:{self.device.port}"
        if isinstance(exc, CommandFailure):
            return exc
        chain = _chain(exc)  # netmiko wraps Paramiko's and the socket's errors
        text = " ".join(_describe(e) for e in chain)
        credentials = self.device.credentials
        if any(isinstance(e, paramiko.PasswordRequiredException) for e in chain):
            return CommandFailure(Status.AUTH, f"key_file {credentials.key_file} is encrypted: set passphrase")
        if any(isinstance(e, NetmikoAuthenticationException | paramiko.AuthenticationException) for e in chain):
            how = " and ".join(
                way
                for way, used in (
                    ("a password", credentials.password.reveal() != ""),
                    (f"key_file {credentials.key_file}", credentials.key_file is not None),
                    ("the SSH agent's keys", credentials.use_agent),
                )
                if used
            )
            return CommandFailure(Status.AUTH, f"login to {where} refused for user {credentials.username} ({how})")
        if credentials.key_file is not None and any(
            isinstance(e, paramiko.SSHException) and "key" in str(e).lower() and "host key" not in str(e).lower()
            for e in chain
        ):
            return CommandFailure(
                Status.AUTH,
                f"key_file {credentials.key_file} cannot be used ({_describe(chain[-1])}): check passphrase",
            )
        too_large = next((e for e in chain if isinstance(e, OutputTooLarge)), None)
        if too_large is not None:
            return CommandFailure(
                Status.OUTPUT_TOO_LARGE,
                f"login to {where}: over {size_text(too_large.cap)} before the first prompt (the "
                f"polling.max_banner_bytes cap; {too_large.received:,} bytes received): session dropped",
            )
        bad_key = next((e for e in chain if isinstance(e, paramiko.BadHostKeyException)), None)
        if any(isinstance(e, RevokedHostKey) for e in chain) or (
            isinstance(bad_key, paramiko.BadHostKeyException) and self._is_revoked(bad_key.key)
        ):
            return CommandFailure(
                Status.CONNECT, f"host key of {where} is revoked in {self.device.known_hosts}: refusing to log in"
            )
        if bad_key is not None:
            return CommandFailure(
                Status.CONNECT, f"host key of {where} does not match {self.device.known_hosts}: refusing to log in"
            )
        if "not found in known_hosts" in text:
            return CommandFailure(Status.CONNECT, f"{where} is not in {self.device.known_hosts}: refusing to log in")
        if "Incompatible ssh" in text or "no acceptable" in text.lower():
            return CommandFailure(
                Status.CONNECT, f"SSH negotiation with {where} failed ({_describe(chain[-1])}); {LEGACY_HINT}"
            )
        if isinstance(exc, ReadTimeout):
            return CommandFailure(Status.TIMEOUT, f"logged in to {where}, but no prompt within {login:.1f} s")
        if any(isinstance(e, paramiko.ssh_exception.ProxyCommandFailure) for e in chain):
            return CommandFailure(Status.CONNECT, f"SSH to {where}: the proxy command failed: {_describe(chain[-1])}")
        if any(isinstance(e, paramiko.ssh_exception.NoValidConnectionsError | ConnectionRefusedError) for e in chain):
            return tcp_failure(where, "connection refused")
        # TCP connected, SSH did not: what the host did, and what to look at.
        closed = any(isinstance(e, EOFError | ConnectionResetError | BrokenPipeError) for e in chain)
        if any(isinstance(e, paramiko.SSHException) and "protocol banner" in str(e) for e in chain):
            if closed:
                return CommandFailure(
                    Status.CONNECT,
                    f"{where} accepted TCP, then closed the connection before the SSH banner: is it an SSH server "
                    "(the right port), and does it take new SSH sessions (vty lines free, access-class)?",
                )
            return no_banner(where, _banner_seconds(budget))
        if "No existing session" in text:
            return CommandFailure(
                Status.CONNECT,
                f"{where} sent its SSH banner, but the SSH handshake (key exchange) did not complete within "
                f"{budget:.1f} s",
            )
        if closed:
            return CommandFailure(
                Status.CONNECT,
                f"{where} closed the connection during the SSH handshake, after its banner: it may accept none of "
                "our key exchange or host key algorithms (old IOS: legacy_ssh), or allow no more sessions",
            )
        if any(isinstance(e, socket.timeout | TimeoutError) for e in chain):
            return tcp_failure(where, f"no answer within {budget:.1f} s")
        return CommandFailure(Status.CONNECT, f"SSH to {where} failed: {_describe(chain[-1])}")


def tcp_failure(where: str, reason: str) -> CommandFailure:
    """The TCP connection to `where` (host:port) failed: "connection
    refused", "no answer within 10.0 s" (the session's or the dialer's)."""
    return CommandFailure(Status.CONNECT, f"TCP connection to {where} failed: {reason}")


def no_banner(where: str, seconds: float) -> CommandFailure:
    """TCP connected to `where`, and no SSH banner came."""
    return CommandFailure(
        Status.CONNECT,
        f"{where}: no SSH banner within {seconds:.1f} s after TCP connected: is it an SSH server (the right port)?",
    )


_CHUNK = 65536  # bytes asked of the channel per read
_QUIET_SECONDS = 0.2  # no more output for this long: a prompt mid-line is the end
_PAGER_QUIT_SECONDS = 0.5  # for the prompt after `q`, then after Enter
_PAGER_TAIL = 512  # bytes kept while waiting for the prompt after `q`


def _check_host_keys(connection: BaseConnection, known: KnownHosts) -> None:
    """Have the Paramiko client netmiko builds for this login check the host
    key against `known` (netmiko itself loads no known_hosts file here)."""
    build = connection._build_ssh_client

    def build_checked() -> paramiko.SSHClient:
        client = build()
        known.install(client)
        return client

    connection._build_ssh_client = build_checked  # type: ignore[method-assign]


def _more_within(channel: paramiko.Channel, seconds: float) -> bool:
    """Whether more data arrives within `seconds` (a pager waits for a key;
    "--More--" that merely ends a read is followed by the rest)."""
    if channel.recv_ready():
        return True
    give_up = time.monotonic() + seconds
    while time.monotonic() < give_up:
        time.sleep(0.02)
        if channel.recv_ready():
            return True
    return False


# Paramiko's transport thread wakes every 0.1 s to see whether it should
# stop; with hundreds of idle sessions that alone costs a sizeable share of
# a core. Once logged in, once a second is plenty (data still wakes it at
# once; it only delays noticing a close by up to that much).
_TRANSPORT_WAKE_SECONDS = 1.0


def _quiet_transport(connection: BaseConnection) -> None:
    transport = getattr(connection.remote_conn, "transport", None)
    if transport is not None and transport.sock is not None:
        transport.sock.settimeout(_TRANSPORT_WAKE_SECONDS)


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and the exceptions it was raised from, outermost first."""
    chain = [exc]
    while (inner := chain[-1].__cause__ or chain[-1].__context__) is not None and inner not in chain:
        chain.append(inner)
    return chain


def _proxy_error(chain: list[BaseException]) -> str:
    """What the ProxyCommand (netmiko's `ssh -W` for a ProxyJump) said on
    stderr before it failed: the jump host's own error, one line; "" when
    there was no ProxyCommand or it said nothing. netmiko keeps the proxy to
    itself: it is found among the locals of the frames the error came through
    (paramiko's connect has it as `sock`)."""
    proxy = None
    for error in chain:
        frame = error.__traceback__
        while frame is not None and proxy is None:
            for value in frame.tb_frame.f_locals.values():
                candidates = value.values() if isinstance(value, dict) else (value,)
                proxy = next((c for c in candidates if isinstance(c, paramiko.ProxyCommand)), None)
                if proxy is not None:
                    break
            frame = frame.tb_next
        if proxy is not None:
            break
    if proxy is None:
        return ""
    process = proxy.process
    try:
        if process.poll() is None:  # still running (a silent hop): its words so far
            process.terminate()
        process.wait(_PROXY_EXIT_SECONDS)
        readable, _, _ = select.select([process.stderr], [], [], 0) if process.stderr is not None else ([], [], [])
        said = os.read(process.stderr.fileno(), 4096) if readable and process.stderr is not None else b""
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return ""
    lines = [
        line.strip()
        for line in said.decode("utf-8", "replace").splitlines()
        if line.strip() and not line.startswith("Killed by signal")  # ours, from the terminate above
    ]
    return one_line("; ".join(lines[-2:]))[:300] if lines else ""


def _hop(config: Path, host: str) -> str:
    """The hop of `host` in the ssh_config `config`, for a message: "jump
    host NAME (ProxyJump in FILE)" or "ProxyCommand of FILE"."""
    try:
        found = paramiko.SSHConfig.from_path(str(config)).lookup(host)
    except Exception:  # read at load time; gone or changed since: the file's name will do
        found = {}
    if "proxycommand" not in found and found.get("proxyjump"):
        return f"jump host {found['proxyjump']} (ProxyJump in {config})"
    return f"ProxyCommand of {config}"


_PROXY_EXIT_SECONDS = 2.0
# Paramiko gives up on the handshake at the connect timeout and then tries
# to log in anyway ("No existing session"): the banner's own limit a little
# earlier, so a host that never sends one is reported as such.
_BANNER_MARGIN_SECONDS = 0.3


def _banner_seconds(budget: float) -> float:
    """How long to wait for the SSH banner within the connect `budget`."""
    return max(0.4, budget - _BANNER_MARGIN_SECONDS)  # for a stopped ProxyCommand to exit and leave its stderr


def _describe(exc: BaseException) -> str:
    """One line about an exception: its type and first line of text."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _close_quietly(connection: BaseConnection) -> None:
    try:
        connection.disconnect()
    except Exception:  # a dead transport cannot say goodbye; nothing to keep
        pass


# --- netmiko's log ------------------------------------------------------------------

_SESSIONS: weakref.WeakSet[DeviceSession] = weakref.WeakSet()


class _MaskSecrets(logging.Filter):
    """netmiko logs (at DEBUG) what it reads from and writes to devices, its
    SecretsFilter masking the literal password only: a secret of any open
    session is masked in any form (secret_text.mask)."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets: set[Secret] = set()
        for session in list(_SESSIONS):
            secrets.update(session.device.credentials.secrets)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: logging reports it itself
            return True
        if reveals(message, secrets):
            record.msg, record.args = mask(message, secrets), ()
        return True


logging.getLogger("netmiko").addFilter(_MaskSecrets())
