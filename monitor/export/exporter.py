"""The exporter's state: the latest snapshot of every device, the reload
counts, the pair verdicts, and its own poll statistics, fed by a background
polling loop (/metrics) or by single-device probes (/probe). Scrapes only
read this state; they never wait on SSH (except /probe, by design).
"""

from __future__ import annotations

import gzip
import logging
import threading
import time
from collections import Counter
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from monitor.export.metrics import ExportView, escape_label, render
from monitor.health import PairHealth, ReloadTracker, evaluate_pair
from monitor.inventory import Inventory
from monitor.poll import Poller
from monitor.snapshot import CommandResult, Snapshot, Status

log = logging.getLogger(__name__)

# A /metrics body is reused for this long at most when nothing changed (so
# ipsecha_data_age_seconds is never more than this much behind).
PAGE_MAX_AGE_SECONDS = 1.0
PAGE_MIN_AGE_SECONDS = 0.25
# Buckets of ipsecha_exporter_poll_duration_seconds (one device's poll).
POLL_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Exporter:
    def __init__(self, inventory: Inventory, poller: Poller | None = None) -> None:
        self.poller = poller or Poller(inventory)
        self._lock = threading.Lock()
        self._snapshots: dict[str, Snapshot] = {}
        self._tracker = ReloadTracker()
        self._reloads: Counter[tuple[str, bool]] = Counter()
        self._pairs: dict[str, PairHealth] = {}
        self._polls: Counter[tuple[str, str]] = Counter()  # (device, "success"/"failure")
        self._errors: Counter[tuple[str, str]] = Counter()  # (device, status)
        self._durations: dict[str, list[float]] = {}  # device -> [bucket counts..., +Inf count, sum]
        self._cycles = 0
        self._generation = 0  # bumped by every change of the state
        self._page: tuple[int, float, bytes, bytes] = (-1, 0.0, b"", b"")  # generation, at, body, gzipped body
        self._render_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def inventory(self) -> Inventory:
        return self.poller.inventory

    # --- feeding ----------------------------------------------------------------

    def poll_all(self) -> None:
        """One cycle over the inventory (the background loop's step). Each
        device is recorded as soon as its poll ends, so a slow device never
        holds back the others' fresh data."""
        self.poller.poll_all(lambda snapshot: self.record({snapshot.device: snapshot}))
        with self._lock:
            self._cycles += 1

    def probe(self, name: str, timeout: float) -> ExportView:
        """Poll one inventory device now (sharing a poll already running for
        it), record the result and return the device's view. Past `timeout`
        seconds the view holds a timed-out snapshot instead; the poll itself
        carries on and lands in the state when it ends. KeyError for a name
        not in the inventory."""
        device = self.poller.device(name)  # KeyError first: no connection for strangers
        done: Future[Snapshot] = Future()

        def run() -> None:
            try:
                snapshot = device.poll()
                self.record({name: snapshot})
                done.set_result(snapshot)
            except BaseException as exc:  # reported to the prober below
                done.set_exception(exc)

        threading.Thread(target=run, name=f"probe-{name}", daemon=True).start()
        try:
            done.result(timeout=max(0.1, timeout))
        except FutureTimeout:
            message = f"probe answered at its {timeout:.1f} s deadline; the poll goes on"
            results = tuple(CommandResult(c, Status.TIMEOUT, error=message) for c in device.commands)
            late = Snapshot(name, device.device.pair or "", device.device.role, time.time() - timeout, timeout, results)
            view = self.view(name)
            return ExportView(view.inventory, {name: late}, view.pairs, view.reloads, view.now)
        return self.view(name)

    def record(self, polled: dict[str, Snapshot]) -> None:
        """Take in polled snapshots: state, reloads, verdicts, own metrics."""
        with self._lock:
            # Only what is newer than the state, for devices still in the
            # inventory: a poll shared by several probes arrives once per
            # caller, a poll from before a SIGHUP may name a removed device,
            # and an older snapshot must never replace a newer one (its
            # smaller uptime would read as a reload).
            snapshots = {
                name: snapshot
                for name, snapshot in polled.items()
                if name in self.inventory.devices
                and (name not in self._snapshots or snapshot.started_at > self._snapshots[name].started_at)
            }
            if not snapshots:
                return
            self._generation += 1
            self._snapshots.update(snapshots)
            latest = dict(self._snapshots)
            # The pairs touched: judged again, and their other member's latest
            # snapshot goes with the new ones so a switchover is seen whole.
            pairs = [self.inventory.pairs[name] for name in {self.inventory.pair_of(n) for n in snapshots} if name]
            partners = {member: latest[member] for pair in pairs for member in pair.members if member in latest}
            reloads, switchovers = self._tracker.observe(partners | snapshots, self.inventory)
            for reload in reloads:
                self._reloads[(reload.device, reload.expected)] += 1
                log.warning(
                    "%s reloaded (%s): reason %r, %s",
                    reload.device,
                    "expected" if reload.expected else "UNEXPECTED",
                    reload.reason,
                    reload.why,
                )
            for switchover in switchovers:
                log.warning(
                    "switchover in %s: %s took over from %s",
                    switchover.pair,
                    switchover.active,
                    switchover.previous_active,
                )
            for pair in pairs:
                self._pairs[pair.name] = evaluate_pair(pair, latest, self.inventory, reloads)
            for name, snapshot in snapshots.items():
                self._polls[(name, "success" if snapshot.up else "failure")] += 1
                for failure in snapshot.failures:
                    self._errors[(name, failure.status.value)] += 1
                buckets = self._durations.setdefault(name, [0.0] * (len(POLL_BUCKETS) + 2))
                for index, bound in enumerate(POLL_BUCKETS):
                    if snapshot.duration_seconds <= bound:
                        buckets[index] += 1
                buckets[-2] += 1
                buckets[-1] += snapshot.duration_seconds

    # --- background loop ----------------------------------------------------------

    def start(self, interval: float) -> None:
        """Poll the inventory every `interval` seconds in the background."""

        def loop() -> None:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    self.poll_all()
                except Exception:  # a bug must not end the polling for good
                    log.exception("poll cycle failed")
                self._stop.wait(max(0.0, interval - (time.monotonic() - started)))

        self._thread = threading.Thread(target=loop, name="poll-loop", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.poller.close()

    def update_inventory(self, inventory: Inventory) -> None:
        """SIGHUP: the new inventory; devices no longer in it leave the state
        and the metrics."""
        previous = self.inventory.devices
        self.poller.update(inventory)
        with self._lock:
            self._generation += 1
            self._page = (-1, 0.0, b"", b"")  # the next scrape renders the new inventory at once
            # Removed and changed devices: a changed one is polled afresh.
            gone = [name for name in self._snapshots if inventory.devices.get(name) != previous.get(name)]
            for name in gone:
                del self._snapshots[name]
            self._tracker.forget(gone)  # a new device of the same name starts afresh
            # A device that left takes its series with it, counters included.
            for counter in (self._polls, self._errors, self._reloads):
                for key in [key for key in counter if key[0] not in inventory.devices]:
                    del counter[key]
            for name in [name for name in self._durations if name not in inventory.devices]:
                del self._durations[name]
            self._pairs = {name: health for name, health in self._pairs.items() if name in inventory.pairs}

    # --- reading -------------------------------------------------------------------

    def view(self, device: str | None = None) -> ExportView:
        """Everything (device None), or one device and its pair's verdict."""
        with self._lock:
            if device is None:
                snapshots = dict(self._snapshots)
                pairs = list(self._pairs.values())
            else:
                snapshots = {device: self._snapshots[device]} if device in self._snapshots else {}
                pair = self._pairs.get(self.inventory.pair_of(device))
                pairs = [pair] if pair is not None else []
            reloads = {key: count for key, count in self._reloads.items() if key[0] in snapshots}
        return ExportView(self.inventory, snapshots, pairs, reloads, now=time.time())

    def metrics_page(self, gzipped: bool = False, max_age: float = PAGE_MAX_AGE_SECONDS) -> bytes:
        """The /metrics body (gzip-compressed, as Prometheus asks for it, when
        `gzipped`). Rendered and compressed once per change of the state (or
        every `max_age` seconds, for the data ages) and shared by every
        scrape in between: twenty scrapers cost one render, not twenty."""
        with self._render_lock:
            with self._lock:
                generation = self._generation
            cached_generation, rendered_at, body, compressed = self._page
            age = time.monotonic() - rendered_at
            # While a cycle records device after device, re-render at most
            # every PAGE_MIN_AGE_SECONDS: the scrapes in between share a page.
            if (cached_generation != generation and age >= PAGE_MIN_AGE_SECONDS) or age > max_age:
                body = render(self.view()) + self.own_metrics().encode()
                compressed = gzip.compress(body, compresslevel=1, mtime=0)
                self._page = (generation, time.monotonic(), body, compressed)
            return compressed if gzipped else body

    def own_metrics(self) -> str:
        """The exporter's own series, in the text format."""
        with self._lock:
            polls, errors = dict(self._polls), dict(self._errors)
            durations = {name: list(values) for name, values in self._durations.items()}
            cycles = self._cycles
        lines = [
            "# HELP ipsecha_exporter_polls_total Device polls by result (success: every command ran and parsed)\n",
            "# TYPE ipsecha_exporter_polls_total counter\n",
        ]
        lines += [
            f'ipsecha_exporter_polls_total{{device="{escape_label(d)}",result="{r}"}} {n}\n'
            for (d, r), n in sorted(polls.items())
        ]
        lines += [
            "# HELP ipsecha_exporter_poll_errors_total Failed commands by reason (the command's status)\n",
            "# TYPE ipsecha_exporter_poll_errors_total counter\n",
        ]
        lines += [
            f'ipsecha_exporter_poll_errors_total{{device="{escape_label(d)}",reason="{r}"}} {n}\n'
            for (d, r), n in sorted(errors.items())
        ]
        lines += [
            "# HELP ipsecha_exporter_poll_duration_seconds Wall time of one device's poll\n",
            "# TYPE ipsecha_exporter_poll_duration_seconds histogram\n",
        ]
        for device, values in sorted(durations.items()):
            name = escape_label(device)
            for bound, count in zip(POLL_BUCKETS, values, strict=False):
                lines.append(
                    f'ipsecha_exporter_poll_duration_seconds_bucket{{device="{name}",le="{bound}"}} {int(count)}\n'
                )
            lines.append(
                f'ipsecha_exporter_poll_duration_seconds_bucket{{device="{name}",le="+Inf"}} {int(values[-2])}\n'
            )
            lines.append(f'ipsecha_exporter_poll_duration_seconds_sum{{device="{name}"}} {values[-1]}\n')
            lines.append(f'ipsecha_exporter_poll_duration_seconds_count{{device="{name}"}} {int(values[-2])}\n')
        lines += [
            "# HELP ipsecha_exporter_poll_cycles_total Background polling cycles over the whole inventory\n",
            "# TYPE ipsecha_exporter_poll_cycles_total counter\n",
            f"ipsecha_exporter_poll_cycles_total {cycles}\n",
        ]
        return "".join(lines)

    def pair_table(self) -> list[PairHealth]:
        with self._lock:
            return list(self._pairs.values())
