"""Ports and subprocesses: `ipsec-ha-monitor` started as a process, and
stopped and reaped whatever happens."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
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
