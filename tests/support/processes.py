"""Ports and subprocesses: `ipsec-ha-monitor` started as a process, and
stopped and reaped whatever happens."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused;
    free for a server to bind until someone else takes it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SilentHost:
    """127.0.0.1:port accepts TCP connections and never sends a byte (an SSH
    daemon that hangs, a tarpit); what the client sends is never read. A
    context manager: closed, with its connections, on exit."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self.accepted = 0
        self._server.settimeout(0.1)
        self._connections: list[socket.socket] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            self._connections.append(connection)

    def __enter__(self) -> SilentHost:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(5)
        self._server.close()
        for connection in self._connections:
            connection.close()


class BlackHole:
    """127.0.0.1:port answers no TCP connection at all, as a powered-off or
    filtered device does: a listener whose accept queue is kept full, so
    the kernel drops every SYN and connects time out. A context manager."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0), backlog=0)
        self.port: int = self._server.getsockname()[1]
        self._filler = socket.create_connection(("127.0.0.1", self.port))  # never accepted

    def __enter__(self) -> BlackHole:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._filler.close()
        self._server.close()


def _default_sigint() -> None:
    # A runner started in the background without job control (`make test &`
    # in a script, some CI shells) ignores SIGINT, and an ignored SIGINT is
    # inherited across exec: Python would then never raise KeyboardInterrupt
    # in the child and a test ending it with SIGINT would wait in vain.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_monitor(*args: str, code: str | None = None, **popen: Any) -> subprocess.Popen[str]:
    """`python -m ipsec_ha_monitor *args` with piped text stdout and stderr, and
    SIGINT at its default (KeyboardInterrupt), whatever the runner ignores.
    `code`: run `python -c code *args` instead (a test's own entry point)."""
    options: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    options.update(popen)
    entry = ["-m", "ipsec_ha_monitor"] if code is None else ["-c", code]
    return subprocess.Popen([sys.executable, *entry, *args], preexec_fn=_default_sigint, **options)


def spawn_serve(
    inventory: Path, *extra: str, listen: str = "127.0.0.1:0", interval: str = "0", **popen: Any
) -> subprocess.Popen[str]:
    """`serve` over `inventory` as a process, not waited for: a free loopback
    port and no background polling unless told otherwise, then `extra`."""
    return start_monitor(
        "serve", "--config.file", str(inventory), "--web.listen-address", listen, "--poll-interval", interval, *extra,
        **popen,
    )  # fmt: skip


# serve's start record, in either --log.format: logfmt quotes the msg,
# JSON carries it in "msg"; the URL reads the same in both.
SERVING = re.compile(r"serving [0-9]+ devices? on (https?://\S+?)/metrics ")

# stderr lines serving_url read before the start record, by process id:
# stop() hands them back first, so a test still sees the whole log.
_READ_BEFORE: dict[int, list[str]] = {}


def serving_url(process: subprocess.Popen[str]) -> str:
    """The base URL (`http://127.0.0.1:PORT`, https with TLS) from serve's
    start record on stderr (a log record, logfmt or JSON), once it serves;
    the lines before it are kept for stop(). A process that ends first is
    stopped and the test fails with what it said."""
    seen = _READ_BEFORE.setdefault(process.pid, [])
    while process.stderr is not None and (line := process.stderr.readline()):
        seen.append(line)
        found = SERVING.search(line)
        if found is not None:
            return found.group(1)
    stderr = stop(process)
    raise RuntimeError(f"serve did not start: {stderr[-2000:]!r}")


def stop(process: subprocess.Popen[Any], signum: int = signal.SIGTERM, timeout: float = 20) -> str:
    """Signal a process, reap it (killing it after `timeout` s), close its
    pipes; its stderr ("" when it was not piped)."""
    if process.poll() is None:
        process.send_signal(signum)
    try:
        process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = "".join(_READ_BEFORE.pop(process.pid, [])) + (process.stderr.read() if process.stderr else "")
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
    return stderr


class StderrLines:
    """A process's stderr gathered line by line into `lines` as it comes (a
    thread reads it), so a test can read the log while the process runs."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._reader = threading.Thread(target=lambda: self.lines.extend(process.stderr or ()), daemon=True)
        self._reader.start()

    def text(self) -> str:
        return "".join(self.lines)

    def serving_url(self, timeout: float = 30) -> str:
        """The base URL of serve's start record (see serving_url), once it
        has come; AssertionError after `timeout` s."""
        from support.waiting import wait_until

        found: list[str] = []

        def started() -> bool:
            found[:] = [m.group(1) for line in list(self.lines) if (m := SERVING.search(line))]
            return bool(found) or self.process.poll() is not None

        wait_until(started, timeout, "serve's start record")
        assert found, f"serve ended before it served: {self.text()[-2000:]}"
        return found[0]

    def stop(self) -> None:
        """SIGTERM, wait for the end (killed after 20 s), the rest of stderr
        read into `lines`, the process reaped and its pipes closed."""
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        finally:
            self._reader.join(timeout=10)  # the rest of stderr, to its end
            stop(self.process)


class ServerProcess:
    """A server binary started on 127.0.0.1 with its log in `folder`, ready
    once GET <url>/-/ready answers 200 (Prometheus and Alertmanager alike);
    use as a context manager: stopped and reaped on exit."""

    name = "server"

    def __init__(self, folder: Path, argv: list[str], url: str) -> None:
        self.folder, self.url = folder, url
        self.log = (folder / f"{self.name}.log").open("w")
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)

    def __enter__(self) -> Any:
        from support.waiting import wait_until

        try:
            wait_until(lambda: self.process.poll() is not None or self._ready(), 30, f"{self.name} to start", 0.1)
        except AssertionError:
            pass
        if self.process.poll() is not None or not self._ready():
            self.__exit__()
            raise RuntimeError(f"{self.name} did not start: {self.logged()}")
        return self

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def __exit__(self, *exc_info: object) -> None:
        stop(self.process)
        self.log.close()

    def kill(self) -> None:
        """SIGKILL, as a crash or a lost host would end it: no shutdown, no
        goodbye to its peers; reaped at once (__exit__ then has nothing to do)."""
        stop(self.process, signal.SIGKILL)

    def logged(self) -> str:
        self.log.flush()
        return (self.folder / f"{self.name}.log").read_text()[-3000:]


def start_serve(
    inventory: Path, poll_interval: str, *extra: str, listen: str = "127.0.0.1:0"
) -> tuple[subprocess.Popen[str], str]:
    """`ipsec-ha-monitor serve` on `listen` (a free port), started; (process, host:port)."""
    process = spawn_serve(inventory, "--log.level", "warn", *extra, listen=listen, interval=poll_interval)
    url = serving_url(process)
    if not url.startswith("http://"):
        stop(process)
        raise RuntimeError(f"serve answers {url}, not plain HTTP")
    return process, url.removeprefix("http://")
