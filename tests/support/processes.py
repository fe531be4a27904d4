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


def _default_sigint() -> None:
    # A runner started in the background without job control (`make test &`
    # in a script, some CI shells) ignores SIGINT, and an ignored SIGINT is
    # inherited across exec: Python would then never raise KeyboardInterrupt
    # in the child and a test ending it with SIGINT would wait in vain.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_monitor(*args: str, **popen: Any) -> subprocess.Popen[str]:
    """`python -m monitor *args` with piped text stdout and stderr, and
    SIGINT at its default (KeyboardInterrupt), whatever the runner ignores."""
    options: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    options.update(popen)
    return subprocess.Popen([sys.executable, "-m", "monitor", *args], preexec_fn=_default_sigint, **options)


def spawn_serve(
    inventory: Path, *extra: str, listen: str = "127.0.0.1:0", interval: str = "0", **popen: Any
) -> subprocess.Popen[str]:
    """`serve` over `inventory` as a process, not waited for: a free loopback
    port and no background polling unless told otherwise, then `extra`."""
    return start_monitor(
        "serve", "--config.file", str(inventory), "--web.listen-address", listen, "--poll-interval", interval, *extra,
        **popen,
    )  # fmt: skip


def serving_url(process: subprocess.Popen[str]) -> str:
    """The base URL (`http://127.0.0.1:PORT`, https with TLS) from serve's
    first line on stdout, once it serves; a process that says anything else
    is stopped and the test fails with what it said."""
    line = process.stdout.readline() if process.stdout is not None else ""
    found = re.search(r" on (https?://\S+?)/metrics ", line)
    if found is None:
        stderr = stop(process)
        raise RuntimeError(f"serve did not start: {line!r} {stderr[-2000:]!r}")
    return found.group(1)


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
    stderr = process.stderr.read() if process.stderr else ""
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

    def logged(self) -> str:
        self.log.flush()
        return (self.folder / f"{self.name}.log").read_text()[-3000:]


def start_serve(inventory: Path, poll_interval: str, *extra: str) -> tuple[subprocess.Popen[str], str]:
    """`ipsec-ha-monitor serve` on a free port, started; (process, host:port)."""
    process = spawn_serve(inventory, "--log-level", "warning", *extra, interval=poll_interval)
    url = serving_url(process)
    if not url.startswith("http://"):
        stop(process)
        raise RuntimeError(f"serve answers {url}, not plain HTTP")
    return process, url.removeprefix("http://")
