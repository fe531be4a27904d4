"""The pipeline, written once: poll -> record -> judge. `check` and the
exporter are front ends over one Monitor.

    monitor = Monitor(load_inventory("inventory.yml"))
    polled = monitor.poll_all()          # check: the whole fleet, judged as one poll
    monitor.poll_all(as_one=False)       # each device recorded as its poll ends (the exporter's
                                         # Scheduler records each device's own polls the same way)
    monitor.probe("R1", timeout=9.5)     # /probe: one device now
    monitor.reload_inventory(path)       # SIGHUP: a bad file is refused, the old one stays
    monitor.state()                      # what a page shows
    monitor.close()

The Monitor owns the Poller (the SSH sessions), the ReloadTracker, the
histories the rules look back on (IPsec error counters; the box-to-box
pairs' group counters and takeovers, RgHistory), the latest snapshot of
every device, the reload counts and the pair verdicts.
Recording keeps the newest snapshot of each device (a result older than the
one held is dropped, never read as a reload), judges again only the pairs a
poll touched, and reports the reloads and switchovers seen. An inventory
update closes removed and changed devices' sessions (unchanged ones stay),
drops their snapshots and forgets the reload history of a name that left or
now points at another host.

SignalLoop is the one main-thread loop of `check --watch` and `serve`:
SIGHUP reloads the inventory (and serve's web config), SIGINT / SIGTERM
stop. No reload ever ends the process: a bad file is refused with one line
naming it, and the previous configuration stays.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from types import FrameType, TracebackType
from typing import Any, NamedTuple

from ipsec_ha_monitor.clock import SYSTEM_CLOCK, Clock
from ipsec_ha_monitor.health import IpsecErrorHistory, PairHealth, evaluate_pair
from ipsec_ha_monitor.health_b2b import RgHistory, Takeover
from ipsec_ha_monitor.inventory import B2B, Device, Inventory, InventoryError, Pair, load_inventory
from ipsec_ha_monitor.logs import one_line
from ipsec_ha_monitor.poll import Poller
from ipsec_ha_monitor.poll.device import DevicePoller
from ipsec_ha_monitor.reloads import Reload, ReloadTracker, Switchover
from ipsec_ha_monitor.snapshot import Snapshot

log = logging.getLogger(__name__)

# A /probe within this long of the end of the device's last poll answers
# from that poll instead of polling again (a flood of probes polls a device
# at most once per poll time plus this; Prometheus replicas scraping one
# target a moment apart share a poll). Product seconds (ipsec_ha_monitor/clock.py),
# measured on the monotonic clock.
PROBE_REUSE_SECONDS = 1.0

# Recent events kept per pair (devices in no pair: under ""), for the landing page.
EVENTS_PER_PAIR = 10

RecordListener = Callable[["Recorded"], None]
UpdateListener = Callable[[Inventory], None]


@dataclass(frozen=True)
class Recorded:
    """What one record() took in and what came of it."""

    snapshots: dict[str, Snapshot] = field(default_factory=dict)  # taken in: newer than held, in the inventory
    pairs: dict[str, PairHealth] = field(default_factory=dict)  # the pairs judged again, inventory order
    reloads: tuple[Reload, ...] = ()
    switchovers: tuple[Switchover, ...] = ()
    takeovers: tuple[Takeover, ...] = ()  # b2b pairs: the ACTIVE role of a group changing hands

    def __bool__(self) -> bool:
        return bool(self.snapshots)


@dataclass(frozen=True)
class Polled:
    """One poll of the whole inventory."""

    inventory: Inventory
    started_at: float  # Unix time (to read)
    duration_seconds: float  # real seconds
    snapshots: dict[str, Snapshot]  # every device polled, inventory order
    recorded: Recorded  # all of it (as_one=False: merged from each device's record)
    abandoned: tuple[str, ...] = ()  # devices not answered by the deadline (a timed-out stand-in each)


@dataclass(frozen=True)
class State:
    """A consistent copy of the Monitor's state."""

    inventory: Inventory
    snapshots: dict[str, Snapshot]
    pairs: dict[str, PairHealth]
    reload_counts: dict[tuple[str, bool], int]  # (device, expected) -> reloads seen since the start
    generation: int  # bumped by every change
    reload_causes: dict[tuple[str, str], int] = field(default_factory=dict)  # (device, cause) -> reloads seen
    booted_at: dict[str, float] = field(default_factory=dict)  # device -> Unix time its current boot began (label)
    boot_causes: dict[str, str] = field(default_factory=dict)  # device -> cause of the reload that began that boot
    # (pair, group, cause) -> takeovers seen since the start (b2b pairs: RgHistory.takeovers)
    rg_takeovers: dict[tuple[str, int, str], int] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """Something that happened to a pair or device, as the landing page and
    a human read it: a switchover, a reload, a poll that began to fail (or
    failed differently), a device answering again."""

    at: float  # Unix time, to read
    pair: str  # "" for a device in no pair
    device: str
    kind: str  # switchover, reload, poll_failed, poll_recovered
    text: str
    monotonic: float = 0.0  # Clock.monotonic(): what orders the events (a stepped wall clock does not)

    def to_dict(self) -> dict[str, Any]:
        return {"at": round(self.at, 3), "pair": self.pair, "device": self.device, "kind": self.kind, "text": self.text}


class Probed(NamedTuple):
    snapshot: Snapshot
    on_time: bool  # False: a timed-out stand-in; the poll goes on and is recorded when it ends


class Monitor:
    def __init__(
        self,
        inventory: Inventory,
        tracker: ReloadTracker | None = None,
        poller: Poller | None = None,
        clock: Clock | None = None,
        rg_history: RgHistory | None = None,
    ) -> None:
        # `tracker` and `rg_history`: what a previous run kept (check --state).
        # One clock for every layer: the poller's when one is given. A poller
        # or tracker on another clock would stamp on one scale and age on
        # another: refused, never silently re-clocked.
        self.clock = clock if clock is not None else poller.clock if poller is not None else SYSTEM_CLOCK
        self.poller = poller or Poller(inventory, self.clock)
        self.tracker = tracker if tracker is not None else ReloadTracker(clock=self.clock)
        for part, its_clock in (("poller", self.poller.clock), ("reload tracker", self.tracker.clock)):
            if its_clock is not self.clock:
                raise ValueError(f"the {part} runs on {its_clock!r}, the monitor on {self.clock!r}: one clock for all")
        self.ipsec_errors = IpsecErrorHistory()  # the counters no_ipsec_errors_rising judges (health.py)
        # b2b pairs' group counters and takeovers (health_b2b.py)
        self.rg_history = rg_history if rg_history is not None else RgHistory()
        self._lock = threading.Lock()
        self._snapshots: dict[str, Snapshot] = {}
        self._pairs: dict[str, PairHealth] = {}
        self._reload_counts: Counter[tuple[str, bool]] = Counter()
        self._reload_causes: Counter[tuple[str, str]] = Counter()
        self._polled_after: dict[str, float] = {}  # device -> Clock.monotonic() when its entry last changed
        self._generation = 0
        self._on_record: list[RecordListener] = []
        self._on_update: list[UpdateListener] = []
        self._probing: dict[DevicePoller, Future[Snapshot]] = {}  # the poll each device's probes share
        self._events: dict[str, deque[Event]] = {}  # pair ("" for no pair) -> the latest EVENTS_PER_PAIR
        self.probe_reuse_seconds = PROBE_REUSE_SECONDS

    @property
    def inventory(self) -> Inventory:
        return self.poller.inventory

    @property
    def generation(self) -> int:
        """Bumped by every change of the state (a record, an inventory update)."""
        with self._lock:
            return self._generation

    @property
    def longest_poll_seconds(self) -> float:
        """The longest a caller waits for one device's poll."""
        return self.poller.longest_poll_seconds

    def subscribe(self, on_record: RecordListener | None = None, on_update: UpdateListener | None = None) -> None:
        """Call `on_record` with every non-empty Recorded and `on_update` with
        every adopted inventory, under the Monitor's lock: a listener's own
        state changes together with the Monitor's. Listeners must not call
        back into the Monitor."""
        if on_record is not None:
            self._on_record.append(on_record)
        if on_update is not None:
            self._on_update.append(on_update)

    # --- polling ------------------------------------------------------------------

    def poll_all(
        self,
        progress: Callable[[Snapshot], None] | None = None,
        *,
        as_one: bool = True,
        deadline: float | None = None,
        why: str = "",
    ) -> Polled:
        """Poll every device once. `as_one`: the poll is recorded as one when
        every device has answered (check: reloads and switchovers judged
        from the whole fleet at once); otherwise each device is recorded as
        its poll ends (the exporter: a slow device never holds back the
        others' fresh data).

        `deadline` (Clock.real_monotonic(); check --timeout): whatever has
        not answered by then is a timed-out stand-in saying `why` (listed in
        Polled.abandoned), so the devices that answered in time are still
        judged; the abandoned polls run on and are dropped."""
        inventory = self.inventory
        started_at, started = self.clock.wall(), self.clock.real_monotonic()
        parts: list[Recorded] = []

        def each(snapshot: Snapshot) -> None:
            if not as_one:
                parts.append(self.record({snapshot.device: snapshot}))
            if progress is not None:
                progress(snapshot)

        abandoned: tuple[str, ...] = ()
        if deadline is None:
            snapshots = self.poller.poll_all(each)
        else:
            snapshots, abandoned = self._poll_until(deadline, each, why or "not answered by the deadline")
        recorded = self.record(snapshots) if as_one else _merge(parts, inventory)
        return Polled(inventory, started_at, self.clock.real_monotonic() - started, snapshots, recorded, abandoned)

    def _poll_until(
        self, deadline: float, each: Callable[[Snapshot], None], why: str
    ) -> tuple[dict[str, Snapshot], tuple[str, ...]]:
        """The Poller's poll_all in a thread of its own, waited for until
        `deadline` (real monotonic seconds): the snapshots in inventory order,
        and the names given a stand-in. A snapshot arriving after the
        deadline is dropped (never half-reported, never recorded)."""
        pollers = self.poller.pollers()
        began, started = self.clock.monotonic(), self.clock.real_monotonic()
        arrived: dict[str, Snapshot] = {}
        lock = threading.Lock()
        finished = threading.Event()
        closed = False

        def take(snapshot: Snapshot) -> None:
            with lock:
                if closed:
                    return
                arrived[snapshot.device] = snapshot
                each(snapshot)

        failed: list[BaseException] = []

        def run() -> None:
            try:
                self.poller.poll_all(take)
            except BaseException as exc:  # a bug: raised in the caller's thread, as without a deadline
                failed.append(exc)
            finally:
                finished.set()

        threading.Thread(target=run, name="poll-all", daemon=True).start()
        finished.wait(max(0.0, deadline - self.clock.real_monotonic()))
        if failed:
            raise failed[0]
        with lock:
            closed = True
            missing = tuple(name for name in pollers if name not in arrived)
            for name in missing:
                # Began with this poll, so it is never newer than a later poll's own result.
                took = self.clock.real_monotonic() - started
                arrived[name] = pollers[name].timed_out(why, duration=took, began=began)
                each(arrived[name])
        return {name: arrived[name] for name in pollers}, missing

    def probe(self, name: str, timeout: float) -> Probed:
        """Poll one inventory device now (sharing a poll already running for
        it) and record the result. Past `timeout` seconds the answer is a
        timed-out stand-in; the poll carries on and is recorded when it
        ends. KeyError for a name not in the inventory, before anything is
        contacted.

        A device's poll that ended less than `probe_reuse_seconds` ago (a
        probe's or the background scheduler's; product seconds on the
        monotonic clock) answers without another: however
        many probes come, one device is polled at most once per poll time
        plus that. One thread per device runs its probes' poll, however
        many probes wait for it or gave up on it."""
        device = self.poller.device(name)
        with self._lock:
            held = self._snapshots.get(name)
            if held is not None and self.clock.monotonic() - held.ended < self.probe_reuse_seconds:
                return Probed(held, True)
            done = self._probing.get(device)
            if done is None:
                done = self._probing[device] = Future()
                threading.Thread(
                    target=self._run_probe, args=(name, device, done), name=f"probe-{name}", daemon=True
                ).start()
        try:
            return Probed(done.result(timeout=max(0.1, timeout)), True)
        except FutureTimeout:
            message = f"probe answered at its {timeout:.1f} s deadline; the poll goes on"
            return Probed(device.timed_out(message, duration=timeout), False)

    def _run_probe(self, name: str, device: DevicePoller, done: Future[Snapshot]) -> None:
        try:
            snapshot = device.poll()
            self.record({name: snapshot})
        except BaseException as exc:  # handed to the probers
            with self._lock:
                self._probing.pop(device, None)
            done.set_exception(exc)
        else:
            with self._lock:
                self._probing.pop(device, None)
            done.set_result(snapshot)

    # --- recording ------------------------------------------------------------------

    def record(self, polled: Mapping[str, Snapshot]) -> Recorded:
        """Take in polled snapshots: the latest state, reloads, switchovers,
        and the verdicts of the pairs they touch."""
        with self._lock:
            inventory = self.inventory
            # Only what is newer than the state, for devices still in the
            # inventory: a poll shared by several probes arrives once per
            # caller, a poll from before a SIGHUP may name a removed device
            # or the old host of a changed one, and an older snapshot must
            # never replace a newer one (its smaller uptime would read as a
            # reload). Newest by the monotonic clock: a stepped wall clock
            # neither freezes the state nor lets an old poll back in.
            snapshots = {
                name: snapshot
                for name, snapshot in polled.items()
                if name in inventory.devices
                and (name not in self._snapshots or snapshot.began > self._snapshots[name].began)
                and snapshot.began >= self._polled_after.get(name, snapshot.began)
            }
            if not snapshots:
                return Recorded()
            self._generation += 1
            self._note_polls(snapshots, inventory)
            self._snapshots.update(snapshots)
            latest = self._snapshots
            # The pairs touched: judged again, and their other member's latest
            # snapshot goes with the new ones so a switchover is seen whole.
            # Only those: the cost of recording a poll never grows with the fleet.
            touched = {inventory.pair_of(name) for name in snapshots}
            pairs = sorted((inventory.pairs[name] for name in touched if name in inventory.pairs), key=inventory.rank)
            partners = {member: latest[member] for pair in pairs for member in pair.members if member in latest}
            reloads, switchovers = self.tracker.observe(partners | snapshots, inventory)
            for reload in reloads:
                self._reload_counts[(reload.device, reload.expected)] += 1
                self._reload_causes[(reload.device, reload.cause)] += 1
            # IPsec error counters, read as of each poll's start (product seconds).
            for snapshot in snapshots.values():
                self.ipsec_errors.observe(snapshot, snapshot.began)
            # Box-to-box groups: counters and takeovers, from the pair's latest snapshots.
            takeovers = tuple(
                takeover
                for pair in pairs
                if pair.mode == B2B
                for takeover in self.rg_history.observe(pair, latest, self.tracker.recent(pair.name)[0])
            )
            now = max(snapshot.began for snapshot in snapshots.values())
            verdicts = {pair.name: self._judge(pair, inventory, now) for pair in pairs}
            self._pairs.update(verdicts)
            for reload in reloads:
                kind = "expected" if reload.expected else "UNEXPECTED"
                self._note(
                    Event(
                        reload.detected_at,
                        reload.pair,
                        reload.device,
                        "reload",
                        f"{reload.device} reloaded ({kind}, cause {reload.cause}): {reload.why}",
                        reload.instant,
                    )
                )
            for switchover in switchovers:
                self._note(
                    Event(
                        switchover.detected_at,
                        switchover.pair,
                        switchover.active,
                        "switchover",
                        f"switchover: {switchover.active} took over from {switchover.previous_active}",
                        switchover.instant,
                    )
                )
            recorded = Recorded(snapshots, verdicts, reloads, switchovers, takeovers)
            for listener in self._on_record:
                listener(recorded)
            return recorded

    def _judge(self, pair: Pair, inventory: Inventory, now: float | None = None) -> PairHealth:
        """One pair's verdict from the latest snapshots, the reloads and
        switchovers of the last hour and the IPsec error history up to `now`
        (product seconds; default: the newest read). Under the lock."""
        errors = self.ipsec_errors.trends(pair.members, now)
        groups = self.rg_history.view(pair, now) if pair.mode == B2B else None
        return evaluate_pair(
            pair, self._snapshots, inventory, *self.tracker.recent(pair.name), ipsec_errors=errors, rg_history=groups
        )

    def _note_polls(self, snapshots: Mapping[str, Snapshot], inventory: Inventory) -> None:
        """Events for polls (under the lock, before the state takes them in):
        a device whose poll fails where the previous one did not (or failed
        otherwise), and one answering again after failures. A device that
        keeps failing the same way is one event, not one per poll."""
        for name, snapshot in snapshots.items():
            held = self._snapshots.get(name)
            at, ended = snapshot.started_at + snapshot.duration_seconds, snapshot.ended
            pair = inventory.pair_of(name)
            if not snapshot.up:
                if held is None or held.up or _failing(held) != _failing(snapshot):
                    text = f"{name}: poll failed: {_failure_text(snapshot)}"
                    self._note(Event(at, pair, name, "poll_failed", text, ended))
            elif held is not None and not held.up:
                self._note(Event(at, pair, name, "poll_recovered", f"{name}: answers again, every command ran", ended))

    def _note(self, event: Event) -> None:
        self._events.setdefault(event.pair, deque(maxlen=EVENTS_PER_PAIR)).append(event)

    # --- the inventory ----------------------------------------------------------------

    def update_inventory(self, inventory: Inventory) -> list[str]:
        """Adopt a new inventory: unchanged devices keep their sessions;
        removed and changed ones are closed and their snapshots dropped (a
        changed device is polled afresh); a name that left the inventory or
        now points at another host has its reload history forgotten, so its
        new host's uptime is never read as a reload. Returns those names."""
        previous = self.inventory
        cutoff = self.clock.monotonic()  # a changed entry's old poller started its polls before this
        self.poller.update(inventory)
        with self._lock:
            self._generation += 1
            for name in set(previous.devices) | set(inventory.devices):
                if name not in inventory.devices:
                    self._polled_after.pop(name, None)
                elif inventory.devices[name] != previous.devices.get(name):
                    self._polled_after[name] = cutoff
            changed = {name for name in self._snapshots if inventory.devices.get(name) != previous.devices.get(name)}
            for name in changed:
                del self._snapshots[name]
            forgotten = sorted(
                name
                for name in set(self.tracker.devices) | set(previous.devices)
                if _host(inventory.devices.get(name)) != _host(previous.devices.get(name))
            )
            self.tracker.forget(forgotten)
            self.ipsec_errors.forget(forgotten)
            self.rg_history.forget(forgotten)
            # A pair that left, or whose members changed or moved: its
            # RF-active member is no longer known (no false switchover), nor
            # its groups' ACTIVE members and takeovers.
            moved = set(forgotten)

            def stale(name: str) -> bool:
                pair = inventory.pairs.get(name)
                return pair != previous.pairs.get(name) or (pair is not None and bool(moved & set(pair.members)))

            self.tracker.forget_pairs(
                [name for name in set(self.tracker.rf_active) | set(self.tracker.switched_at) if stale(name)]
            )
            self.rg_history.forget_pairs([name for name in set(previous.pairs) | set(inventory.pairs) if stale(name)])
            for key in [key for key in self._reload_counts if key[0] not in inventory.devices]:
                del self._reload_counts[key]
            for cause_key in [key for key in self._reload_causes if key[0] not in inventory.devices]:
                del self._reload_causes[cause_key]
            # Verdicts: a pair that left goes; one whose entry or members
            # changed is judged again from what is left of its snapshots.
            verdicts: dict[str, PairHealth] = {}
            for name, health in self._pairs.items():
                pair = inventory.pairs.get(name)
                if pair is None:
                    continue
                if pair != previous.pairs.get(name) or changed & set(pair.members):
                    health = self._judge(pair, inventory)
                verdicts[name] = health
            self._pairs = verdicts
            for left in [name for name in self._events if name and name not in inventory.pairs]:
                del self._events[left]
            for listener in self._on_update:
                listener(inventory)
        return forgotten

    def reload_inventory(self, path: str | os.PathLike[str]) -> bool:
        """SIGHUP: adopt the inventory as it is now in `path`, or keep the
        current one when the file is bad: one error line, naming the file
        (and the line and field, for an InventoryError). Never raises but
        for KeyboardInterrupt (a stop signal meanwhile)."""
        return self.try_reload_inventory(path) is None

    def try_reload_inventory(
        self, path: str | os.PathLike[str], narrow: Callable[[Inventory], Inventory] | None = None
    ) -> str | None:
        """reload_inventory, saying why not: None when the inventory was
        adopted, else the reason in one line (logged too; it never quotes
        the file's content). `narrow` (check --pair/--device) cuts the
        inventory read down first; its ValueError is a refusal too."""
        try:
            inventory = load_inventory(path)
            if narrow is not None:
                inventory = narrow(inventory)
        except (InventoryError, ValueError) as exc:
            reason = one_line(str(exc))
            log.error("inventory reload refused, keeping the previous one: %s", reason)
            return reason
        except Exception as exc:  # never kill the process over a reload; the text could quote a secret
            reason = f"{path}: {describe_error(exc)}"
            log.error("inventory reload refused, keeping the previous one: %s", reason)
            log.debug("inventory reload failed", exc_info=True)
            return reason
        try:
            self.update_inventory(inventory)
        except Exception:  # a bug: loud, but the process goes on
            log.exception("inventory %s: adopting it failed; polling goes on", path)
            return f"inventory {path}: adopting it failed (see the log)"
        log.info("inventory %s reloaded", path)
        return None

    # --- reading ------------------------------------------------------------------------

    def state(self) -> State:
        with self._lock:
            return State(
                self.inventory,
                dict(self._snapshots),
                dict(self._pairs),
                dict(self._reload_counts),
                self._generation,
                dict(self._reload_causes),
                self.tracker.booted_at(),
                self.tracker.boot_causes(),
                self.rg_history.takeovers(),
            )

    def events(self) -> dict[str, list[Event]]:
        """The recent events of each pair ("" for devices in no pair), newest
        first, at most EVENTS_PER_PAIR each."""
        with self._lock:
            return {
                pair: sorted(reversed(events), key=lambda event: event.monotonic, reverse=True)
                for pair, events in self._events.items()
            }

    def polled_every_device(self) -> bool:
        """Whether every device of the inventory has a poll on record."""
        with self._lock:
            return all(name in self._snapshots for name in self.inventory.devices)

    def pairs(self) -> list[PairHealth]:
        """The latest verdict of every pair judged so far."""
        with self._lock:
            return list(self._pairs.values())

    def close(self) -> None:
        """Log out of every session."""
        self.poller.close()


def describe_error(exc: BaseException) -> str:
    """A few words on an unexpected error reading a file, quoting none of
    its content (a decoder's message quotes the bytes it choked on)."""
    if isinstance(exc, UnicodeError):
        return "not UTF-8 text"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot read it: {exc.strerror}"
    if isinstance(exc, MemoryError):
        return "too large"
    return type(exc).__name__


def _failing(snapshot: Snapshot) -> tuple[tuple[str, str], ...]:
    return tuple((result.command, result.status.value) for result in snapshot.failures)


def _failure_text(snapshot: Snapshot) -> str:
    """The failed commands and why, short: `show version: timeout (no prompt ...)`."""
    if not snapshot.results:
        return "nothing ran"
    parts = []
    for result in snapshot.failures[:3]:
        error = one_line(result.error)
        error = error if len(error) <= 100 else error[:99] + "\u2026"
        parts.append(f"{result.command}: {result.status.value}" + (f" ({error})" if error else ""))
    more = len(snapshot.failures) - 3
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _host(device: Device | None) -> tuple[str, int] | None:
    return (device.host, device.port) if device is not None else None


def _merge(parts: list[Recorded], inventory: Inventory) -> Recorded:
    snapshots: dict[str, Snapshot] = {}
    pairs: dict[str, PairHealth] = {}
    reloads: list[Reload] = []
    switchovers: list[Switchover] = []
    takeovers: list[Takeover] = []
    for part in parts:
        snapshots.update(part.snapshots)
        pairs.update(part.pairs)
        reloads += part.reloads
        switchovers += part.switchovers
        takeovers += part.takeovers
    ordered = {name: pairs[name] for name in inventory.pairs if name in pairs}
    return Recorded(snapshots, ordered, tuple(reloads), tuple(switchovers), tuple(takeovers))


# --- the signal loop ------------------------------------------------------------------


class SignalLoop:
    """The main thread's loop for `check --watch` and `serve`: SIGHUP
    reloads the inventory from `config` (None: no inventory reloads) and
    then calls each of `reloaders` (serve: the web config); a bad file is
    refused with one line naming it and the previous configuration kept,
    and nothing a reload raises ends the loop. SIGINT / SIGTERM stop. A
    stop signal ends wait(); one arriving while the main thread works
    (polls, reloads) raises KeyboardInterrupt there, as Ctrl-C does by
    default, so the work does not run to its end first.

        with SignalLoop(monitor, config) as signals:
            while not signals.wait(interval):
                ...

    The handlers are installed on entry (from the main thread only; from
    another thread the loop still waits, without signals) and the previous
    ones restored on exit. A stop signal the process was started ignoring
    stays ignored, as Python leaves an ignored SIGINT. A SIGHUP handler it
    replaces whose `pending` is True (cli's, installed first thing so a
    SIGHUP while starting does not end the process) means a reload at the
    first wait."""

    TICK = 0.1  # seconds between looks at the flags the handlers set

    def __init__(
        self,
        monitor: Monitor,
        config: str | os.PathLike[str] | None,
        reloaders: Sequence[Callable[[], object]] = (),
    ) -> None:
        self.monitor = monitor
        self.clock = monitor.clock
        self.config = config
        self.reloaders = tuple(reloaders)
        self._stop = False
        self._reload = False
        self._waiting = False
        self._previous: dict[int, Any] = {}

    @property
    def stopped(self) -> bool:
        return self._stop

    def stop(self) -> None:
        """End the loop, as a stop signal does (from any thread)."""
        self._stop = True

    @property
    def reloads(self) -> bool:
        """Whether SIGHUP has anything to reload."""
        return self.config is not None or bool(self.reloaders)

    def request_reload(self) -> None:
        """Reload at the next wait(), as SIGHUP does."""
        self._reload = True

    def reload(self) -> None:
        """The inventory, then each reloader: each refuses a bad file on
        its own; a bug is logged with its traceback, never raised."""
        if self.config is not None:
            try:
                self.monitor.reload_inventory(self.config)
            except Exception:
                log.exception("inventory reload failed; the previous inventory stays")
        for reloader in self.reloaders:
            try:
                reloader()
            except Exception:
                log.exception("reload failed; the previous configuration stays")

    def __enter__(self) -> SignalLoop:
        if threading.current_thread() is not threading.main_thread():
            return self
        handlers: dict[int, Callable[[int, FrameType | None], None]] = {
            signal.SIGINT: self._on_stop,
            signal.SIGTERM: self._on_stop,
        }
        if self.reloads and hasattr(signal, "SIGHUP"):
            handlers[signal.SIGHUP] = self._on_reload
        for signum, handler in handlers.items():
            if signum != getattr(signal, "SIGHUP", None) and signal.getsignal(signum) == signal.SIG_IGN:
                continue  # started with it ignored (a background job): leave it so
            self._previous[signum] = signal.signal(signum, handler)
        held = self._previous.get(getattr(signal, "SIGHUP", -1))
        if getattr(held, "pending", False) is True:  # cli's holder caught one while the process started
            self._reload = True
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def wait(self, seconds: float) -> bool:
        """Wait up to `seconds` (real seconds: a caller with a product
        duration converts it, Clock.real); True once a stop was asked for. A
        reload asked for meanwhile (or before) is done at once and ends the
        wait (False), so the caller can act on the new inventory."""
        deadline = self.clock.real_monotonic() + seconds
        while not self._stop:
            if self._reload:
                self._reload = False
                self.reload()
                return self._stop
            remaining = deadline - self.clock.real_monotonic()
            if remaining <= 0:
                return False
            # Handlers only set flags: Event.set() from a handler can deadlock.
            self._waiting = True
            try:
                time.sleep(min(self.TICK, remaining))
            finally:
                self._waiting = False
        return True

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self._stop = True
        if not self._waiting:
            raise KeyboardInterrupt

    def _on_reload(self, signum: int, frame: FrameType | None) -> None:
        self._reload = True
