"""The poll workers: threads that each run one device's poll at a time,
and how many of them a fleet needs.

Threads, not asynchronous I/O, because netmiko's device handling (prompts,
pagers, enable, the quirks of old images) earns its place and is
synchronous; a poll's worker spends nearly all its time waiting on the
device, so what a worker costs is memory (a stack and a session's
buffers), not CPU. bench/fleet_bench.py measures it per router.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from ipsec_ha_monitor.inventory import PollSettings

T = TypeVar("T")

# "auto" never goes below this many workers: a small fleet is polled at once.
MIN_AUTO_WORKERS = 8
# Auto keeps twice what the answering devices need on average: their polls
# come due in bursts (after a restart, a syslog storm, a slow minute).
HEADROOM = 2.0


def auto_workers(settings: PollSettings, busy_seconds: float, period: float, devices: int) -> int:
    """The workers a fleet needs: enough for the answering devices' polls
    (`busy_seconds`, the sum of their last poll durations, once per
    `period`, with HEADROOM) plus one per login the budget allows at once
    (logins hold a worker for the login), never more than there are devices
    nor more than max_workers. A fixed `workers` setting wins."""
    if settings.workers is not None:
        return settings.workers
    needed = math.ceil(HEADROOM * max(0.0, busy_seconds) / period) + settings.login_concurrency
    return max(1, min(settings.max_workers, devices, max(MIN_AUTO_WORKERS, needed)))


class WorkerPool:
    """Daemon worker threads, as many as `resize` last asked for. Unlike
    ThreadPoolExecutor's, they never hold up the interpreter's exit: a poll
    stuck past every timeout must not keep `check` from ending. Shrinking
    lets the extra workers finish their job first."""

    def __init__(self, workers: int, name: str = "poll") -> None:
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = queue.SimpleQueue()
        self._name = name
        self._lock = threading.Lock()
        self._size = 0
        self._started = 0
        self.resize(workers)

    @property
    def size(self) -> int:
        with self._lock:
            return self._size

    def resize(self, workers: int) -> None:
        with self._lock:
            for _ in range(workers - self._size):
                self._started += 1
                threading.Thread(target=self._work, name=f"{self._name}-{self._started}", daemon=True).start()
            for _ in range(self._size - workers):
                self._jobs.put(None)  # one worker leaves once the jobs before it are taken
            self._size = max(0, workers)

    def submit(self, job: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        self._jobs.put((future, job))
        return future

    def shutdown(self) -> None:
        """Workers stop once the jobs queued so far are done."""
        self.resize(0)

    def _work(self) -> None:
        while (item := self._jobs.get()) is not None:
            future, job = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job())
            except BaseException as exc:  # handed to whoever waits on the future
                future.set_exception(exc)
