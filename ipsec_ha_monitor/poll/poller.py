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

import functools
import heapq
import itertools
import logging
import math
import queue
import socket
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TypeVar

from ipsec_ha_monitor.clock import SYSTEM_CLOCK, Clock
from ipsec_ha_monitor.inventory import Inventory, PollSettings
from ipsec_ha_monitor.poll.device import GRACE_SECONDS, DevicePoller
from ipsec_ha_monitor.poll.dialer import Dialer
from ipsec_ha_monitor.poll.logins import LoginBudget
from ipsec_ha_monitor.poll.workers import WorkerPool, auto_workers
from ipsec_ha_monitor.snapshot import Snapshot, Status

log = logging.getLogger(__name__)
T = TypeVar("T")


class Poller:
    def __init__(self, inventory: Inventory, clock: Clock = SYSTEM_CLOCK) -> None:
        self.inventory = inventory
        self.settings = inventory.polling
        self.clock = clock
        self.logins = _login_budget(self.settings, clock)
        self._devices = {
            name: DevicePoller(device, self.settings, clock=clock, logins=self.logins)
            for name, device in inventory.devices.items()
        }
        self._lock = threading.Lock()
        # Before any poll time is known: what the logins can keep busy.
        self._pool = WorkerPool(auto_workers(self.settings, 0.0, 1.0, len(self._devices)))
        self._dialer: Dialer | None = None

    @property
    def workers(self) -> int:
        """Polls that may run at once now."""
        return self._pool.size

    def fit_workers(self, busy_seconds: float, period: float) -> int:
        """Size the pool for the fleet (auto_workers: `busy_seconds` of
        answering polls per `period` real seconds); returns the size."""
        with self._lock:
            size, current = auto_workers(self.settings, busy_seconds, period, len(self._devices)), self._pool.size
            # Grown at once; shrunk only by a quarter or more, so that poll
            # times wobbling about a bound do not start and end threads.
            if size > current or size <= current * 3 // 4 or self.settings.workers is not None:
                self._pool.resize(size)
                return size
            return current

    @property
    def dialer(self) -> Dialer:
        """The TCP dialer of the fleet (started on first use)."""
        with self._lock:
            if self._dialer is None:
                self._dialer = Dialer()
            return self._dialer

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
            workers = self._pool.size
        snapshots: dict[str, Snapshot] = {}
        # Queued devices start late; allow every wave of workers its timeout.
        waves = -(-len(futures) // workers)
        longest = max((p.settings.poll_timeout for p in pollers.values()), default=self.settings.poll_timeout)
        give_up = started + waves * (longest + GRACE_SECONDS)
        # Each poll hands itself over as it ends: one queue read per device,
        # not a wait over every pending future at each end (quadratic).
        ended: queue.SimpleQueue[Future[Snapshot]] = queue.SimpleQueue()
        for future in futures:
            future.add_done_callback(ended.put)
        pending = set(futures)
        while pending:
            try:
                future = ended.get(timeout=max(0.0, give_up - self.clock.real_monotonic()))
            except queue.Empty:
                break
            pending.discard(future)
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
            if inventory.polling != self.settings:
                self.logins = _login_budget(inventory.polling, self.clock)
            for name, device in inventory.devices.items():
                current = old.get(name)
                if current is not None and current.device == device and inventory.polling == self.settings:
                    kept[name] = current
                else:
                    kept[name] = DevicePoller(device, inventory.polling, clock=self.clock, logins=self.logins)
            retired = [poller for name, poller in old.items() if kept.get(name) is not poller]
            self._devices = kept
            self.inventory = inventory
            if inventory.polling.workers is not None and inventory.polling.workers != self._pool.size:
                self._pool.resize(inventory.polling.workers)
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
            dialer, self._dialer = self._dialer, None
        if dialer is not None:
            dialer.close()
        closer = WorkerPool(max(1, min(len(pollers), self.settings.login_concurrency)), name="logout")
        for future in [closer.submit(poller.close) for poller in pollers]:
            future.exception()  # wait; a failed logout leaves nothing to do
        closer.shutdown()


def _login_budget(settings: PollSettings, clock: Clock) -> LoginBudget:
    return LoginBudget(settings.login_concurrency, settings.logins_per_second, settings.login_jitter, clock)


# --- the exporter's schedule ----------------------------------------------------------

# Failures that cost a worker its whole connect or command timeout: the
# device did not answer.
_UNANSWERED = {Status.TIMEOUT, Status.CONNECT}
# Buckets of how late a scheduled poll started (seconds past its due time).
DELAY_BUCKETS = (0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0)
# The classes of devices, in the order they get workers.
ANSWERING, NEW, UNANSWERING = 0, 1, 2
_MAX_SLEEP = 1.0  # the scheduler looks again at least this often (clock jumps, missed wake-ups)
# TCP connections the schedule makes at once (one file descriptor each, no thread).
DIALS_AT_ONCE = 1024
# Dialed connections waiting for their login, per login slot. A router
# drops a connection that does not log in within its `ip ssh time-out`
# (120 s by default, 60 s or less when hardened): dialing far ahead of the
# login budget would have it drop them. Past this, a device found to answer
# is let go and connects again inside its login slot.
HELD_PER_LOGIN_SLOT = 2


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
    workers: int = 0  # the pool's size now
    dialing: int = 0  # TCP connections being made (no worker held)


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
    dialing: bool = False  # its TCP connection is being made (the dialer): no worker yet
    dialed: socket.socket | None = None  # connected, waiting for a worker to log in over it
    holds: bool = False  # its poll has (or will log in over) a dialed connection: counted in Scheduler._held
    answers: bool = False  # its dial connected, and the connection was let go: its worker connects itself

    @property
    def busy(self) -> bool:
        return self.running is not None or self.dialing or self.dialed is not None


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
        self._dials = 0  # TCP connections being made
        self._held = 0  # dialed connections not yet done with (waiting for a worker or logging in)
        self._dials_ended: list[tuple[str, _Entry, Future[socket.socket]]] = []
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
            for entry in self._entries.values():
                self._drop_dialed(entry)
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
                if entry.busy:
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
            waiting = sum(1 for e in self._entries.values() if not e.busy and e.due_at <= now)
            return ScheduleStats(
                devices=len(self._entries),
                running=sum(self._busy),
                waiting=waiting,
                unanswering=sum(1 for e in self._entries.values() if e.kind == UNANSWERING),
                rounds=self._rounds,
                polls_started=self._started,
                delay_buckets=tuple(itertools.accumulate(self._delays)),
                delay_sum=self._delay_sum,
                workers=self.poller.workers,
                dialing=self._dials,
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
                    deliveries = self._collect(now) + self._collect_dials(now) + self._overdue(now)
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
            gone = self._entries.pop(name)
            self._classify(gone, NEW)  # its poll still running ends unrecorded here
            self._drop_dialed(gone)
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
                if not entry.busy:
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
            if entry is None or entry.ticket != ticket or entry.running is not None or entry.dialing:
                heapq.heappop(queue_)
                continue
            return (name, entry) if due_at <= now else None
        return None

    def _dispatch(self, now: float) -> None:
        """Dial due devices that need a connection (no worker needed), and
        start due devices while workers are free."""
        if self._stopped:
            return
        workers = self.poller.fit_workers(self._answering_cost, self._period)
        for_answering, for_unanswering = self._keep(workers)
        busy = self._busy
        while True:
            heads = [self._head(kind, now) for kind in (ANSWERING, NEW, UNANSWERING)]
            # A device with no session is dialed first, with no worker; while
            # every dial is taken it waits for one (never a worker in its place).
            undialed = [
                head is not None and head[1].dialed is None and not head[1].answers and head[1].poller.wants_dial()
                for head in heads
            ]
            if any(undialed) and self._dials < DIALS_AT_ONCE:
                dial = heads[undialed.index(True)]
                assert dial is not None
                self._dial(*dial, now)
                continue
            answering, new, unanswering = heads = [
                None if wait else head for head, wait in zip(heads, undialed, strict=True)
            ]
            due = [head for head in heads if head is not None]
            if not due or sum(busy) >= workers:
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

    def _note_start(self, entry: _Entry, now: float) -> None:
        delay = max(0.0, now - entry.due_at)
        self._delays[next((i for i, b in enumerate(DELAY_BUCKETS) if delay <= b), len(DELAY_BUCKETS))] += 1
        self._delay_sum += delay
        self._started += 1

    def _dial(self, name: str, entry: _Entry, now: float) -> None:
        """A poll begins with its TCP connection, made by the dialer."""
        self._note_start(entry, now)
        entry.dialing = True
        entry.started, entry.began = now, self._product_clock.monotonic()
        self._dials += 1
        device = entry.poller.device
        future = self.poller.dialer.dial(device.host, device.port, entry.poller.settings.connect_timeout)
        future.add_done_callback(functools.partial(self._dial_ended, name, entry))

    def _dial_ended(self, name: str, entry: _Entry, future: Future[socket.socket]) -> None:
        with self._cond:
            if self._stopped:  # nobody will take it any more
                if future.exception() is None:
                    future.result().close()
                return
            self._dials_ended.append((name, entry, future))
            self._cond.notify_all()

    def _start(self, name: str, entry: _Entry, now: float) -> None:
        kind = entry.kind
        device = entry.poller
        dialed, entry.dialed = entry.dialed, None
        if dialed is None and not entry.answers:  # a dialed poll was counted when its dial began
            self._note_start(entry, now)

        def job() -> Snapshot:
            snapshot = device.poll(dialed)
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
            self._let_go(entry)
            entry.answers = False  # the next connection (a new session) is dialed again
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
            self._poll_ended(name, entry, now)
        return deliveries

    def _collect_dials(self, now: float) -> list[Snapshot]:
        """Dials that ended: a connected device waits for a worker (in its
        place: due since its dial began); for one that did not connect, the
        poll ends here, recorded as unreachable."""
        deliveries: list[Snapshot] = []
        ended, self._dials_ended = self._dials_ended, []
        for name, entry, future in ended:
            self._dials -= 1
            entry.dialing = False
            error: OSError | None = None
            try:
                dialed: socket.socket | None = future.result()
            except OSError as exc:
                dialed, error = None, exc
            if self._entries.get(name) is not entry or entry.again or self._stopped:
                if dialed is not None:
                    dialed.close()
                if self._entries.get(name) is entry:
                    self._poll_ended(name, entry, now)  # `again`: polled afresh at once
                continue
            if dialed is not None:
                if self._held < HELD_PER_LOGIN_SLOT * self.poller.settings.login_concurrency:
                    entry.dialed, entry.holds = dialed, True
                    self._held += 1
                else:
                    dialed.close()  # it answers; it will connect again when its login can begin
                    entry.answers = True
                self._queue(name, entry, entry.due_at)
                continue
            assert error is not None
            deliveries.append(entry.poller.unreachable(error, now - entry.started, entry.began))
            self._classify(entry, UNANSWERING)
            self._poll_ended(name, entry, now)
        return deliveries

    def _drop_dialed(self, entry: _Entry) -> None:
        """Close the connection dialed for a poll that will not run."""
        if entry.dialed is not None:
            entry.dialed.close()
            entry.dialed = None
            self._let_go(entry)

    def _let_go(self, entry: _Entry) -> None:
        if entry.holds:
            entry.holds = False
            self._held -= 1

    def _poll_ended(self, name: str, entry: _Entry, now: float) -> None:
        """Schedule a device's next poll now that one ended."""
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
