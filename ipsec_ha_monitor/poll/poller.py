"""The fleet: a DevicePoller per inventory device and a bounded pool of
worker threads, so one slow or dead device costs one worker for at most its
poll timeout and never delays the others.

    poller = Poller(load_inventory("inventory.yml"))
    snapshots = poller.poll_all()        # {device name: Snapshot}
    poller.update(load_inventory(...))   # SIGHUP: healthy sessions stay
    poller.close()

    scheduler = Scheduler(poller, 30.0, on_result)   # the exporter: each device on its own clock
    scheduler.start(); scheduler.refresh(); scheduler.stop()
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import queue
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Any, TypeVar

from ipsec_ha_monitor.clock import SYSTEM_CLOCK, Clock
from ipsec_ha_monitor.inventory import Inventory
from ipsec_ha_monitor.poll.device import GRACE_SECONDS, DevicePoller
from ipsec_ha_monitor.snapshot import Snapshot, Status

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
    def __init__(self, inventory: Inventory, clock: Clock = SYSTEM_CLOCK) -> None:
        self.inventory = inventory
        self.settings = inventory.polling
        self.clock = clock
        self._devices = {
            name: DevicePoller(device, self.settings, clock=clock) for name, device in inventory.devices.items()
        }
        self._lock = threading.Lock()
        self._pool = _WorkerPool(self.settings.workers)

    @property
    def device_names(self) -> list[str]:
        with self._lock:
            return list(self._devices)

    def pollers(self) -> dict[str, DevicePoller]:
        """Every device's poller, inventory order (a copy)."""
        with self._lock:
            return dict(self._devices)

    def device(self, name: str) -> DevicePoller:
        """The poller of an inventory device (KeyError for any other name)."""
        with self._lock:
            return self._devices[name]

    @property
    def longest_poll_seconds(self) -> float:
        """The longest a caller waits for one device's poll (its poll
        timeout and the grace past it); a probe never waits longer."""
        with self._lock:
            pollers = list(self._devices.values())
        return max((p.settings.poll_timeout for p in pollers), default=self.settings.poll_timeout) + GRACE_SECONDS

    def poll(self, name: str) -> Snapshot:
        """Poll one device now, in the calling thread (or join its running poll)."""
        return self.device(name).poll()

    def submit(self, job: Callable[[], T]) -> Future[T]:
        """Run `job` on one of the pool's workers (queued while all are busy)."""
        with self._lock:  # update() may swap the pool
            return self._pool.submit(job)

    def poll_all(self, progress: Callable[[Snapshot], None] | None = None) -> dict[str, Snapshot]:
        """Poll every device once, at most `workers` at a time; returns when
        all have answered or been abandoned at their poll timeout."""
        started = self.clock.real_monotonic()  # the poll timeouts are real seconds
        with self._lock:  # update() may swap the pool
            pollers = dict(self._devices)
            futures: dict[Future[Snapshot], str] = {self._pool.submit(p.poll): name for name, p in pollers.items()}
            workers = self.settings.workers
        snapshots: dict[str, Snapshot] = {}
        # Queued devices start late; allow every wave of workers its timeout.
        waves = -(-len(futures) // workers)
        longest = max((p.settings.poll_timeout for p in pollers.values()), default=self.settings.poll_timeout)
        give_up = started + waves * (longest + GRACE_SECONDS)
        pending = set(futures)
        while pending:
            done, pending = wait(
                pending, timeout=max(0.0, give_up - self.clock.real_monotonic()), return_when=FIRST_COMPLETED
            )
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
            elapsed = self.clock.real_monotonic() - started
            log.warning("%s: poll still running after %.0f s; reported as timed out", name, elapsed)
            snapshots[name] = pollers[name].timed_out(f"poll abandoned after {elapsed:.0f} s", duration=elapsed)
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
                    kept[name] = DevicePoller(device, inventory.polling, clock=self.clock)
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


# --- the exporter's schedule ----------------------------------------------------------

# Failures that cost a worker its whole connect or command timeout: the
# device did not answer.
_UNANSWERED = {Status.TIMEOUT, Status.CONNECT}
# Buckets of how late a scheduled poll started (seconds past its due time).
DELAY_BUCKETS = (0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0)
# The classes of devices, in the order they get workers.
ANSWERING, NEW, UNANSWERING = 0, 1, 2
_MAX_SLEEP = 1.0  # the scheduler looks again at least this often (clock jumps, missed wake-ups)


def answered(snapshot: Snapshot) -> bool:
    """The device answered its poll: no command timed out or failed to
    connect (a refused login or command is an answer)."""
    return not any(result.status in _UNANSWERED for result in snapshot.failures)


@dataclass(frozen=True)
class ScheduleStats:
    """What the schedule looks like now, and since it started."""

    devices: int
    running: int  # polls started and not ended
    waiting: int  # devices due and not started: every worker busy
    unanswering: int  # devices whose last poll timed out or could not connect
    rounds: int  # times every device's poll ended at least once since the previous round
    polls_started: int
    delay_buckets: tuple[int, ...]  # cumulative counts per DELAY_BUCKETS bound, then +Inf
    delay_sum: float


@dataclass(eq=False)
class _Entry:
    poller: DevicePoller
    due_at: float  # Clock.real_monotonic()
    kind: int = NEW  # ANSWERING, NEW (not polled since it came in or changed) or UNANSWERING
    cost: float = 0.0  # its last poll's duration, seconds (a worker's time)
    ticket: int = 0  # the valid queue entry's; older entries are skipped
    running: Future[Snapshot] | None = None
    started: float = 0.0  # Clock.real_monotonic() when its poll was handed to a worker
    began: float = 0.0  # Clock.monotonic() then: a stand-in's start (the poll's own result is newer)
    stood_in: bool = False  # a timed-out stand-in was recorded for the running poll
    again: bool = False  # its inventory entry changed while it was polled: poll again at once
    soon: bool = False  # a poll was asked for (poll_soon) while one ran: poll again once it ends


class Scheduler:
    """Each device on its own clock: polled again `interval` seconds
    (product seconds of `clock`, see ipsec_ha_monitor/clock.py; the schedule itself
    runs in real seconds) after its previous poll ended, at most `workers` polls at a time (the
    Poller's pool), every result handed to `on_result` as its poll ends (in
    the worker's thread). A slow, stalled or silent device delays only
    itself:

    - Devices that are due start as workers free up, earliest due first
      within their class. A device whose poll still runs is never started
      again.
    - Devices that answered their last poll go first, then devices not
      polled yet (new in the inventory, or changed), then those whose last
      poll timed out or could not connect ("unanswering"). The new and the
      unanswering share what the answering leave and never take the
      workers kept for answering devices: twice what these keep busy on
      average (the sum of their last poll durations over the interval),
      at least workers // 8 and 1. So an answering device that comes due
      finds a worker at once, or as soon as another answering poll ends,
      however many polls hang on devices that do not answer. And when
      unanswering devices are due, answering ones leave them workers // 8
      (at least 1), so they are still retried when answering devices alone
      would fill the pool. With one worker, due order alone.
    - A poll still running `poll_timeout` + 5 s after it started is
      recorded as timed out (a stand-in, once); its worker stays counted as
      busy until the poll really ends, and the poll's own result, newer
      than the stand-in, is recorded then.

    refresh() after an inventory update: new devices are due at once,
    removed ones dropped (a poll of theirs still running ends unrecorded by
    the schedule), changed ones polled afresh at once (or as soon as their
    running poll ends)."""

    def __init__(
        self,
        poller: Poller,
        interval: float,
        on_result: Callable[[Snapshot], object],
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"the poll interval must be positive, got {interval!r}")
        self.poller = poller
        self.interval = interval  # product seconds
        self._period = clock.real(interval)  # the same in real seconds: what the schedule waits
        self._on_result = on_result
        self._product_clock = clock
        self._clock = clock.real_monotonic
        self._cond = threading.Condition()  # an RLock: done callbacks may run in this thread
        self._entries: dict[str, _Entry] = {}
        self._queues: tuple[list[tuple[float, int, int, str]], ...] = ([], [], [])  # (due, seq, ticket, name) per class
        self._sequence = itertools.count()
        self._running: dict[Future[Snapshot], tuple[str, _Entry, int]] = {}  # future -> (name, entry, class)
        self._busy = [0, 0, 0]  # polls running per class
        self._answering_cost = 0.0  # the last poll durations of the answering devices, summed
        self._ended: list[Future[Snapshot]] = []
        self._stale = True
        self._stopped = False
        self._round: set[str] = set()
        self._rounds = 0
        self._started = 0
        self._delays = [0] * (len(DELAY_BUCKETS) + 1)
        self._delay_sum = 0.0
        self._thread: threading.Thread | None = None

    # --- control ----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="poll-schedule", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """No more polls started; polls running carry on (and are recorded)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def refresh(self) -> None:
        """The Poller's inventory changed: take it in (in the scheduler's
        thread, at once). Takes no lock but the scheduler's own."""
        with self._cond:
            self._stale = True
            self._cond.notify_all()

    def poll_soon(self, names: Iterable[str]) -> tuple[str, ...]:
        """Poll these devices as soon as a worker is free (a router's syslog
        announced a change): each one's next scheduled poll moved to now,
        within the same workers and classes as every scheduled poll (an
        answering device first); one whose poll runs now is polled again
        when it ends (that poll may have begun before the change). Its
        schedule goes on from that poll's end. Returns the devices whose
        poll was moved or added: not those already due, nor already asked
        for while their poll runs."""
        moved = []
        with self._cond:
            now = self._clock()
            for name in names:
                entry = self._entries.get(name)
                if entry is None:
                    continue
                if entry.running is not None:
                    if not entry.soon and not entry.again:
                        entry.soon = True
                        moved.append(name)
                elif entry.due_at > now:
                    self._queue(name, entry, now)
                    moved.append(name)
            self._cond.notify_all()
        return tuple(moved)

    def stats(self) -> ScheduleStats:
        with self._cond:
            now = self._clock()
            waiting = sum(1 for e in self._entries.values() if e.running is None and e.due_at <= now)
            return ScheduleStats(
                devices=len(self._entries),
                running=sum(self._busy),
                waiting=waiting,
                unanswering=sum(1 for e in self._entries.values() if e.kind == UNANSWERING),
                rounds=self._rounds,
                polls_started=self._started,
                delay_buckets=tuple(itertools.accumulate(self._delays)),
                delay_sum=self._delay_sum,
            )

    # --- the loop -----------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            try:
                with self._cond:
                    if self._stopped:
                        return
                    if self._stale:
                        self._sync()
                    now = self._clock()
                    deliveries = self._collect(now) + self._overdue(now)
                    self._dispatch(now)
                    if not deliveries:
                        self._cond.wait(self._sleep(now))
                        continue
                for snapshot in deliveries:  # outside the lock: recording takes the Monitor's
                    self._deliver(snapshot)
            except Exception:  # a bug must not end the polling for good
                log.exception("poll scheduler failed; carrying on")
                with self._cond:
                    self._cond.wait(_MAX_SLEEP)

    def _sync(self) -> None:
        """Adopt the Poller's devices (after an inventory update)."""
        self._stale = False
        now = self._clock()
        pollers = self.poller.pollers()
        for name in [name for name in self._entries if name not in pollers]:
            self._classify(self._entries.pop(name), NEW)  # its poll still running ends unrecorded here
        self._round &= set(pollers)
        for name, device in pollers.items():
            entry = self._entries.get(name)
            if entry is None:
                self._entries[name] = entry = _Entry(device, now)
                self._queue(name, entry, now)
                self._round.add(name)
            elif entry.poller is not device:  # changed: a new poller, polled afresh
                entry.poller = device
                self._classify(entry, NEW)
                if entry.running is None:
                    self._queue(name, entry, now)
                else:
                    entry.again = True
        if not self._round:
            self._round = set(self._entries)

    def _classify(self, entry: _Entry, kind: int, cost: float = 0.0) -> None:
        """Set a device's class and cost, keeping the answering devices'
        total cost (what they need of the workers) up to date."""
        if entry.kind == ANSWERING:
            self._answering_cost -= entry.cost
        entry.kind, entry.cost = kind, cost
        if kind == ANSWERING:
            self._answering_cost += cost

    def _keep(self, workers: int) -> tuple[int, int]:
        """Workers kept for the answering devices (never taken by the
        others) and for the unanswering (never taken by answering devices
        while unanswering ones are due)."""
        if workers < 2:
            return 0, 0
        for_unanswering = max(1, workers // 8)
        # What the answering devices keep busy on average (each poll's
        # duration once per interval), twice over: their bursts.
        needed = math.ceil(2 * max(0.0, self._answering_cost) / self._period)
        for_answering = min(workers - for_unanswering, max(for_unanswering, needed))
        return for_answering, for_unanswering

    def _queue(self, name: str, entry: _Entry, due_at: float) -> None:
        entry.due_at = due_at
        entry.ticket += 1
        queue_ = self._queues[entry.kind]
        heapq.heappush(queue_, (due_at, next(self._sequence), entry.ticket, name))

    def _head(self, kind: int, now: float) -> tuple[str, _Entry] | None:
        """The earliest due device of a class, if it is due now (stale queue
        entries dropped on the way)."""
        queue_ = self._queues[kind]
        while queue_:
            due_at, _, ticket, name = queue_[0]
            entry = self._entries.get(name)
            if entry is None or entry.ticket != ticket or entry.running is not None:
                heapq.heappop(queue_)
                continue
            return (name, entry) if due_at <= now else None
        return None

    def _dispatch(self, now: float) -> None:
        """Start due devices while workers are free."""
        if self._stopped:
            return
        workers = max(1, self.poller.settings.workers)
        for_answering, for_unanswering = self._keep(workers)
        busy = self._busy
        while sum(busy) < workers:
            answering, new, unanswering = heads = [self._head(kind, now) for kind in (ANSWERING, NEW, UNANSWERING)]
            due = [head for head in heads if head is not None]
            if not due:
                return
            if workers == 1:
                self._start(*min(due, key=lambda head: head[1].due_at), now)
                continue
            others = busy[NEW] + busy[UNANSWERING] < workers - for_answering  # room for those not known to answer
            if answering is not None and (unanswering is None or busy[ANSWERING] < workers - for_unanswering):
                self._start(*answering, now)
            elif new is not None and others:
                self._start(*new, now)
            elif unanswering is not None and others:
                self._start(*unanswering, now)
            else:
                return

    def _start(self, name: str, entry: _Entry, now: float) -> None:
        kind = entry.kind
        device = entry.poller
        delay = max(0.0, now - entry.due_at)
        self._delays[next((i for i, b in enumerate(DELAY_BUCKETS) if delay <= b), len(DELAY_BUCKETS))] += 1
        self._delay_sum += delay
        self._started += 1

        def job() -> Snapshot:
            snapshot = device.poll()
            self._deliver(snapshot)
            return snapshot

        entry.started, entry.began, entry.stood_in = now, self._product_clock.monotonic(), False
        future = self.poller.submit(job)
        entry.running = future
        self._running[future] = (name, entry, kind)
        self._busy[kind] += 1
        future.add_done_callback(self._ended_callback)

    def _ended_callback(self, future: Future[Snapshot]) -> None:
        with self._cond:
            self._ended.append(future)
            self._cond.notify_all()

    def _collect(self, now: float) -> list[Snapshot]:
        """Polls that ended: each device due again one interval after its
        poll ended. Returns stand-ins to record for polls that crashed."""
        deliveries: list[Snapshot] = []
        ended, self._ended = self._ended, []
        for future in ended:
            name, entry, kind = self._running.pop(future)
            self._busy[kind] -= 1
            entry.running = None
            if self._entries.get(name) is not entry:
                continue  # left the inventory meanwhile
            try:
                snapshot = future.result()
            except Exception:  # a bug in a poller: reported on that device only
                log.exception("%s: poll failed", name)
                deliveries.append(entry.poller.timed_out("internal error in the poller (see the log)"))
                self._classify(entry, UNANSWERING)
            else:
                self._classify(entry, ANSWERING if answered(snapshot) else UNANSWERING, snapshot.duration_seconds)
            if entry.again:  # its poller changed meanwhile: that result was the old one's
                entry.again = False
                self._classify(entry, NEW)
                self._queue(name, entry, now)
            elif entry.soon:
                self._queue(name, entry, now)
            else:
                self._queue(name, entry, now + self._period)
            entry.soon = False
            self._round.discard(name)
            if not self._round:
                self._rounds += 1
                self._round = set(self._entries)
        return deliveries

    def _overdue(self, now: float) -> list[Snapshot]:
        """Stand-ins for polls running past their poll timeout and grace."""
        stand_ins = []
        for name, entry, _ in self._running.values():
            limit = entry.poller.settings.poll_timeout + GRACE_SECONDS  # its own, with its device's timeouts
            if not entry.stood_in and now - entry.started > limit and self._entries.get(name) is entry:
                entry.stood_in = True
                elapsed = now - entry.started
                log.warning("%s: poll still running after %.0f s; reported as timed out", name, elapsed)
                message = f"poll still running after {elapsed:.0f} s; reported as timed out"
                stand_ins.append(entry.poller.timed_out(message, duration=elapsed, began=entry.began))
        return stand_ins

    def _sleep(self, now: float) -> float:
        """Until the next due device (if a worker is free) or stand-in."""
        wake = now + _MAX_SLEEP
        # A device due now and not started waits for a worker: a poll's end wakes the loop.
        for kind in (ANSWERING, NEW, UNANSWERING):
            head = self._head(kind, math.inf)
            if head is not None and head[1].due_at > now:
                wake = min(wake, head[1].due_at)
        for _, entry, _ in self._running.values():
            if not entry.stood_in:
                wake = min(wake, entry.started + entry.poller.settings.poll_timeout + GRACE_SECONDS)
        return max(0.0, wake - now)

    def _deliver(self, snapshot: Snapshot) -> None:
        try:
            self._on_result(snapshot)
        except Exception:  # recording failed: the schedule goes on
            log.exception("%s: recording the poll failed", snapshot.device)
