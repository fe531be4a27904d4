"""The exporter: a front end over the Monitor (ipsec_ha_monitor/core.py), which
holds the latest snapshots, reloads and pair verdicts. Here: the background
polling (/metrics: each device on its own clock, see
ipsec_ha_monitor.poll.poller.Scheduler), single-device probes (/probe), the /metrics
page rendered once per change and shared by every scrape, and the
exporter's own poll statistics. Scrapes only read; they never wait on SSH
(except /probe, by design).
"""

from __future__ import annotations

import gzip
import logging
import platform
import threading
from collections import Counter

from prometheus_client import CollectorRegistry, GCCollector, Info, PlatformCollector, ProcessCollector, generate_latest

from ipsec_ha_monitor import __version__
from ipsec_ha_monitor.clock import Clock
from ipsec_ha_monitor.core import Monitor, Recorded
from ipsec_ha_monitor.export.metrics import ExportView, escape_label, render, render_syslog
from ipsec_ha_monitor.health import PairHealth
from ipsec_ha_monitor.inventory import Inventory
from ipsec_ha_monitor.poll import Poller
from ipsec_ha_monitor.poll.poller import DELAY_BUCKETS, Scheduler
from ipsec_ha_monitor.snapshot import Snapshot
from ipsec_ha_monitor.syslog import DEFAULT_RATE_LIMIT, SyslogReceiver

log = logging.getLogger(__name__)

# A /metrics body is reused for this long at most when nothing changed (so
# ipsecha_data_age_seconds is never more than this much behind: product
# seconds); and, while polls keep changing the state, for this long at
# least (real seconds: what a render costs).
PAGE_MAX_AGE_SECONDS = 1.0
PAGE_MIN_AGE_SECONDS = 0.25
# Buckets of ipsecha_exporter_poll_duration_seconds (one device's poll).
POLL_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_NO_PAGE: tuple[int, float, bytes, bytes] = (-1, 0.0, b"", b"")


class Exporter:
    def __init__(
        self,
        inventory: Inventory,
        poller: Poller | None = None,
        monitor: Monitor | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.monitor = monitor or Monitor(inventory, poller=poller, clock=clock)
        self.clock = self.monitor.clock  # one time source for every layer (ipsec_ha_monitor/clock.py)
        self._lock = threading.Lock()  # the own metrics below
        self._polls: Counter[tuple[str, str]] = Counter()  # (device, "success"/"failure")
        self._errors: Counter[tuple[str, str]] = Counter()  # (device, status)
        self._durations: dict[str, list[float]] = {}  # device -> [bucket counts..., +Inf count, sum]
        self._cycles = 0
        self._page = _NO_PAGE  # generation, at, body, gzipped body
        self._render_lock = threading.Lock()
        self._scheduler: Scheduler | None = None
        self._ready = False
        self.interval: float | None = None  # the background polling's (product seconds), once started
        self.syslog: SyslogReceiver | None = None  # listen_syslog()
        self.self_registry = self_metrics_registry()
        self.monitor.subscribe(on_record=self._count, on_update=self._prune)

    @property
    def inventory(self) -> Inventory:
        return self.monitor.inventory

    @property
    def poller(self) -> Poller:
        return self.monitor.poller

    @property
    def ready(self) -> bool:
        """/-/ready: without background polling at once (/probe polls on
        demand); with it, once every device's first poll ended (answered
        or not). Stays ready from then on, inventory reloads included."""
        if not self._ready and (self._scheduler is None or self.monitor.polled_every_device()):
            self._ready = True
        return self._ready

    @property
    def longest_probe_seconds(self) -> float:
        """No probe waits longer than a poll may take at all."""
        return self.monitor.longest_poll_seconds

    # --- feeding ----------------------------------------------------------------

    def poll_all(self) -> None:
        """Poll the whole inventory once, now, and return when every device
        has answered or been given up (counted as a round). Each device is
        recorded as soon as its poll ends. The background polling (start())
        does not use it: there each device has its own clock."""
        self.monitor.poll_all(as_one=False)
        with self._lock:
            self._cycles += 1

    def probe(self, name: str, timeout: float) -> ExportView:
        """Poll one inventory device now (sharing a poll already running for
        it), record the result and return the device's view. Past `timeout`
        seconds the view holds a timed-out snapshot instead; the poll itself
        carries on and lands in the state when it ends. KeyError for a name
        not in the inventory."""
        snapshot, on_time = self.monitor.probe(name, timeout)
        view = self.view(name)
        if on_time:
            return view
        return ExportView(
            view.inventory,
            {name: snapshot},
            view.pairs,
            view.reloads,
            view.now,
            scale=view.scale,
            rg_takeovers=view.rg_takeovers,
            boot_causes=view.boot_causes,
        )

    def record(self, polled: dict[str, Snapshot]) -> Recorded:
        """Take in polled snapshots (the Monitor's record; the own metrics
        count what it took in)."""
        return self.monitor.record(polled)

    def _count(self, recorded: Recorded) -> None:
        """Every record the Monitor takes in (under its lock): the own
        metrics, and a log line per reload and switchover."""
        for reload in recorded.reloads:
            log.warning(
                "%s reloaded (%s): reason %r, %s",
                reload.device,
                "expected" if reload.expected else "UNEXPECTED",
                reload.reason,
                reload.why,
            )
        for switchover in recorded.switchovers:
            log.warning(
                "switchover in %s: %s took over from %s", switchover.pair, switchover.active, switchover.previous_active
            )
        with self._lock:
            for name, snapshot in recorded.snapshots.items():
                self._polls[(name, "success" if snapshot.up else "failure")] += 1
                for failure in snapshot.failures:
                    self._errors[(name, failure.status.value)] += 1
                buckets = self._durations.setdefault(name, [0.0] * (len(POLL_BUCKETS) + 2))
                for index, bound in enumerate(POLL_BUCKETS):
                    if snapshot.duration_seconds <= bound:
                        buckets[index] += 1
                buckets[-2] += 1
                buckets[-1] += snapshot.duration_seconds

    def _prune(self, inventory: Inventory) -> None:
        """An inventory update: a device that left takes its series with it,
        counters included; the next scrape renders the new inventory at once;
        the background polling schedules new devices and drops removed ones."""
        if self._scheduler is not None:
            self._scheduler.refresh()
        if self.syslog is not None:
            self.syslog.refresh(inventory)
        with self._lock:
            self._page = _NO_PAGE
            for counter in (self._polls, self._errors):
                for key in [key for key in counter if key[0] not in inventory.devices]:
                    del counter[key]
            for name in [name for name in self._durations if name not in inventory.devices]:
                del self._durations[name]

    # --- background polling --------------------------------------------------------

    def start(self, interval: float) -> None:
        """Poll in the background, each device on its own clock: again
        `interval` seconds (product seconds: the clock's scale) after its
        previous poll ended, at most `workers`
        at a time, devices that answer before those that time out (see
        Scheduler). Each result is recorded as its poll ends."""
        if self._scheduler is not None:
            raise RuntimeError("the background polling already runs")
        self.interval = interval
        self._scheduler = Scheduler(self.poller, interval, self._record_one, self.clock)
        self._scheduler.start()

    def _record_one(self, snapshot: Snapshot) -> None:
        self.monitor.record({snapshot.device: snapshot})

    def request_polls(self, devices: tuple[str, ...]) -> tuple[str, ...]:
        """Poll these devices now (a syslog trigger): their scheduled polls
        moved earlier, within the background polling's workers. Returns
        those whose poll was moved or added (not one already due or already
        asked for). Without background polling (/probe only) nothing is
        polled: Prometheus schedules the probes."""
        if self._scheduler is None:
            return ()
        return self._scheduler.poll_soon(devices)

    def listen_syslog(self, address: tuple[str, int], rate_limit: float = DEFAULT_RATE_LIMIT) -> SyslogReceiver:
        """Receive the routers' syslog on `address` (UDP and TCP): a watched
        message polls its pair at once (ipsec_ha_monitor/syslog/). OSError when
        the address cannot be bound."""
        if self.syslog is not None:
            raise RuntimeError("the syslog receiver already runs")
        self.syslog = SyslogReceiver(address, self.inventory, self.request_polls, self.clock, rate_limit=rate_limit)
        self.syslog.start()
        return self.syslog

    def stop(self) -> None:
        """Start no more polls (at once: polls running are not waited for),
        stop receiving syslog, and log out of every session."""
        if self._scheduler is not None:
            self._scheduler.stop()
        if self.syslog is not None:
            self.syslog.stop()
        self.monitor.close()

    def update_inventory(self, inventory: Inventory) -> None:
        """SIGHUP: the new inventory; devices no longer in it leave the state
        and the metrics."""
        self.monitor.update_inventory(inventory)

    # --- reading -------------------------------------------------------------------

    def view(self, device: str | None = None) -> ExportView:
        """Everything (device None), or one device and its pair's verdict."""
        state = self.monitor.state()
        if device is None:
            snapshots = state.snapshots
            pairs = list(state.pairs.values())
        else:
            snapshots = {device: state.snapshots[device]} if device in state.snapshots else {}
            pair = state.pairs.get(state.inventory.pair_of(device)) if device in state.inventory.devices else None
            pairs = [pair] if pair is not None else []
        reloads = {key: count for key, count in state.reload_counts.items() if key[0] in snapshots}
        causes = {key: count for key, count in state.reload_causes.items() if key[0] in snapshots}
        booted_at = {name: at for name, at in state.booted_at.items() if name in snapshots}
        # Read after the state: every snapshot ended before it (data age >= 0).
        now = self.clock.monotonic()
        return ExportView(
            state.inventory,
            snapshots,
            pairs,
            reloads,
            now,
            causes,
            booted_at,
            self.clock.scale,
            rg_takeovers=state.rg_takeovers,
            boot_causes={name: cause for name, cause in state.boot_causes.items() if name in snapshots},
        )

    def metrics_page(self, gzipped: bool = False, max_age: float = PAGE_MAX_AGE_SECONDS) -> bytes:
        """The /metrics body (gzip-compressed, as Prometheus asks for it, when
        `gzipped`). Rendered and compressed once per change of the state (or
        every `max_age` product seconds, for the data ages) and shared by every
        scrape in between: twenty scrapers cost one render, not twenty."""
        with self._render_lock:
            generation = self.monitor.generation
            cached_generation, rendered_at, body, compressed = self._page
            age = self.clock.real_monotonic() - rendered_at
            # While polls end and are recorded device after device, re-render at most
            # every PAGE_MIN_AGE_SECONDS: the scrapes in between share a page.
            if (cached_generation != generation and age >= PAGE_MIN_AGE_SECONDS) or age > self.clock.real(max_age):
                body = render(self.view()) + self.own_metrics().encode() + generate_latest(self.self_registry)
                if self.syslog is not None:
                    body += render_syslog(self.syslog.stats.read(), self.inventory)
                compressed = gzip.compress(body, compresslevel=1, mtime=0)
                self._page = (generation, self.clock.real_monotonic(), body, compressed)
            return compressed if gzipped else body

    def own_metrics(self) -> str:
        """The exporter's own series, in the text format."""
        with self._lock:
            polls, errors = dict(self._polls), dict(self._errors)
            durations = {name: list(values) for name, values in self._durations.items()}
            cycles = self._cycles
        stats = self._scheduler.stats() if self._scheduler is not None else None
        logins = self.poller.logins
        if stats is not None:
            cycles += stats.rounds
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
            "# HELP ipsecha_exporter_poll_cycles_total Rounds over the whole inventory: every device's poll ended"
            " at least once since the previous round\n",
            "# TYPE ipsecha_exporter_poll_cycles_total counter\n",
            f"ipsecha_exporter_poll_cycles_total {cycles}\n",
            "# HELP ipsecha_exporter_poll_workers Poll workers now: polling.workers, or sized from the fleet's"
            " poll times (auto)\n",
            "# TYPE ipsecha_exporter_poll_workers gauge\n",
            f"ipsecha_exporter_poll_workers {stats.workers if stats else self.poller.workers}\n",
            "# HELP ipsecha_exporter_dials_running TCP connections to devices being made now (no worker held)\n",
            "# TYPE ipsecha_exporter_dials_running gauge\n",
            f"ipsecha_exporter_dials_running {stats.dialing if stats else 0}\n",
            "# HELP ipsecha_exporter_logins_running SSH logins in progress now (at most polling.login_concurrency)\n",
            "# TYPE ipsecha_exporter_logins_running gauge\n",
            f"ipsecha_exporter_logins_running {logins.in_progress}\n",
            "# HELP ipsecha_exporter_logins_total SSH logins started (within polling.logins_per_second)\n",
            "# TYPE ipsecha_exporter_logins_total counter\n",
            f"ipsecha_exporter_logins_total {logins.started}\n",
            "# HELP ipsecha_exporter_polls_running Background polls running now (at most the poll workers)\n",
            "# TYPE ipsecha_exporter_polls_running gauge\n",
            f"ipsecha_exporter_polls_running {stats.running if stats else 0}\n",
            "# HELP ipsecha_exporter_polls_waiting Devices due for a background poll and waiting for a free worker\n",
            "# TYPE ipsecha_exporter_polls_waiting gauge\n",
            f"ipsecha_exporter_polls_waiting {stats.waiting if stats else 0}\n",
            "# HELP ipsecha_exporter_devices_unanswering Devices whose last background poll timed out or could not"
            " connect (polled after the answering ones)\n",
            "# TYPE ipsecha_exporter_devices_unanswering gauge\n",
            f"ipsecha_exporter_devices_unanswering {stats.unanswering if stats else 0}\n",
            "# HELP ipsecha_exporter_poll_start_delay_seconds How late background polls started after they were due"
            " (every worker busy)\n",
            "# TYPE ipsecha_exporter_poll_start_delay_seconds histogram\n",
        ]
        delays = stats.delay_buckets if stats else (0,) * (len(DELAY_BUCKETS) + 1)
        for bound, count in zip(DELAY_BUCKETS, delays, strict=False):
            lines.append(f'ipsecha_exporter_poll_start_delay_seconds_bucket{{le="{bound}"}} {count}\n')
        lines += [
            f'ipsecha_exporter_poll_start_delay_seconds_bucket{{le="+Inf"}} {delays[-1]}\n',
            f"ipsecha_exporter_poll_start_delay_seconds_sum {stats.delay_sum if stats else 0.0}\n",
            f"ipsecha_exporter_poll_start_delay_seconds_count {delays[-1]}\n",
        ]
        return "".join(lines)

    def pair_table(self) -> list[PairHealth]:
        return self.monitor.pairs()


def self_metrics_registry() -> CollectorRegistry:
    """The exporter's process as prometheus_client's own collectors write it
    (process_*, python_info, python_gc_*) and ipsecha_build_info: a private
    registry, so nothing else a library registers globally leaks in."""
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    Info("ipsecha_build", "The running ipsec-ha-monitor: its version and Python's", registry=registry).info(
        {"version": __version__, "python_version": platform.python_version()}
    )
    return registry
