"""The fleet: a DevicePoller per inventory device and a bounded pool of
worker threads, so one slow or dead device costs one worker for at most its
poll timeout and never delays the others.

    poller = Poller(load_inventory("inventory.yml"))
    snapshots = poller.poll_all()        # {device name: Snapshot}
    poller.update(load_inventory(...))   # SIGHUP: healthy sessions stay
    poller.close()
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any, TypeVar

from monitor.inventory import Inventory
from monitor.poll.device import GRACE_SECONDS, DevicePoller
from monitor.snapshot import Snapshot

log = logging.getLogger(__name__)
T = TypeVar("T")


class _WorkerPool:
    """A fixed number of daemon worker threads. Unlike ThreadPoolExecutor's,
    they never hold up the interpreter's exit: a poll stuck past every
    timeout must not keep `check` from ending."""

    def __init__(self, workers: int) -> None:
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, name=f"poll-{n}", daemon=True) for n in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        self._jobs.put((future, job))
        return future

    def shutdown(self) -> None:
        """Workers stop once the jobs queued so far are done."""
        for _ in self._threads:
            self._jobs.put(None)

    def _work(self) -> None:
        while (item := self._jobs.get()) is not None:
            future, job = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job())
            except BaseException as exc:  # handed to whoever waits on the future
                future.set_exception(exc)


class Poller:
    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.settings = inventory.polling
        self._devices = {name: DevicePoller(device, self.settings) for name, device in inventory.devices.items()}
        self._lock = threading.Lock()
        self._pool = _WorkerPool(self.settings.workers)

    @property
    def device_names(self) -> list[str]:
        with self._lock:
            return list(self._devices)

    def device(self, name: str) -> DevicePoller:
        """The poller of an inventory device (KeyError for any other name)."""
        with self._lock:
            return self._devices[name]

    @property
    def longest_poll_seconds(self) -> float:
        """The longest a caller waits for one device's poll (its poll
        timeout and the grace past it); a probe never waits longer."""
        return self.settings.poll_timeout + GRACE_SECONDS

    def poll(self, name: str) -> Snapshot:
        """Poll one device now, in the calling thread (or join its running poll)."""
        return self.device(name).poll()

    def poll_all(self, progress: Callable[[Snapshot], None] | None = None) -> dict[str, Snapshot]:
        """Poll every device once, at most `workers` at a time; returns when
        all have answered or been abandoned at their poll timeout."""
        started = time.monotonic()
        with self._lock:  # update() may swap the pool
            pollers = dict(self._devices)
            futures: dict[Future[Snapshot], str] = {self._pool.submit(p.poll): name for name, p in pollers.items()}
            workers = self.settings.workers
        snapshots: dict[str, Snapshot] = {}
        # Queued devices start late; allow every wave of workers its timeout.
        waves = -(-len(futures) // workers)
        give_up = started + waves * (self.settings.poll_timeout + GRACE_SECONDS)
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=max(0.0, give_up - time.monotonic()), return_when=FIRST_COMPLETED)
            if not done:
                break
            for future in done:
                name = futures[future]
                try:
                    snapshots[name] = future.result()
                except Exception:  # a bug in a poller: report it on that device only
                    log.exception("%s: poll failed", name)
                    snapshots[name] = pollers[name].timed_out("internal error in the poller (see the log)")
                if progress is not None:
                    progress(snapshots[name])
        for future in pending:
            name = futures[future]
            log.warning("%s: poll still running after %.0f s; reported as timed out", name, time.monotonic() - started)
            snapshots[name] = pollers[name].timed_out(f"poll abandoned after {time.monotonic() - started:.0f} s")
            if progress is not None:
                progress(snapshots[name])
        return {name: snapshots[name] for name in pollers}  # inventory order

    def update(self, inventory: Inventory) -> None:
        """Adopt a reloaded inventory: devices whose entry is unchanged keep
        their poller and SSH session; changed and removed ones are closed."""
        if inventory.polling != self.settings:
            log.info("polling settings changed: every session is reopened")
        with self._lock:
            old = self._devices
            kept: dict[str, DevicePoller] = {}
            for name, device in inventory.devices.items():
                current = old.get(name)
                if current is not None and current.device == device and inventory.polling == self.settings:
                    kept[name] = current
                else:
                    kept[name] = DevicePoller(device, inventory.polling)
            retired = [poller for name, poller in old.items() if kept.get(name) is not poller]
            self._devices = kept
            self.inventory = inventory
            if inventory.polling.workers != self.settings.workers:
                self._pool.shutdown()
                self._pool = _WorkerPool(inventory.polling.workers)
            self.settings = inventory.polling
        for poller in retired:
            poller.close()
        unchanged = sum(1 for name, poller in kept.items() if old.get(name) is poller)
        log.info("inventory %s: %d devices, %d kept, %d closed", inventory.path, len(kept), unchanged, len(retired))

    def close(self) -> None:
        """Log out of every session, many at once (each waits on its device)."""
        with self._lock:
            self._pool.shutdown()
            pollers = list(self._devices.values())
        closer = _WorkerPool(min(len(pollers), self.settings.workers))
        for future in [closer.submit(poller.close) for poller in pollers]:
            future.exception()  # wait; a failed logout leaves nothing to do
        closer.shutdown()
