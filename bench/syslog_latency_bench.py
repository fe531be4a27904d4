"""Failover detection latency: an exporter that takes the routers' syslog
against one that only polls, side by side over the same lab.

    python bench/syslog_latency_bench.py [--pairs 2] [--branches 1] [--interval 30] [--failovers 6] [--seed 1]
    python bench/syslog_latency_bench.py --quick     # 2 failovers, poll interval 10 s

One process: the lab (LabThread, time scale 1: real time), whose routers
send their log messages over UDP from 127.0.1.N to a port on 127.0.0.1,
and two Exporters over the lab's inventory, each polling in the background
every `--interval` s (Exporter.start) and served over HTTP on 127.0.0.1
(ExporterServer):

    syslog:     also Exporter.listen_syslog() on the port the lab sends to
                (a watched message polls its pair at once, debounced);
    poll-only:  the background polling and nothing else.

Once both have polled every device, `--failovers` failovers are triggered
one after the other, alternating between the pairs: each waits until the
previous one's hub is STANDBY HOT again, then a random pause of 0 to one
poll interval (so the failovers fall anywhere in the poll-only exporter's
schedule), then `trigger("failover", pair)`. A failover changes two
routers' RF state: the standby becomes ACTIVE (13) a second in; the failed
hub reloads (30 s, SSH refused) and walks INITIALIZATION (2) -> NEGOTIATION
(3) -> STANDBY COLD (4) -> STANDBY COLD-BULK (7) -> STANDBY HOT (8), 2 to 4
s apart.

Measured:
- when the lab changes a router's RF state: Router.rf_my wrapped at run
  time in this process (the lab's files untouched), stamped with
  time.monotonic() as the attribute is set;
- when each exporter first shows it: a thread per exporter GETs /metrics
  every 50 ms (keep-alive) and notes each change of every device's
  `ipsecha_redundancy_my_state`, stamped when the response has been read.

Latency of a state = the first scrape that shows it - the lab's change to
it. Changes are matched in order per device: a state the exporter never
shows before it shows a later one is "missed" (the router moved on before
a poll saw it, or the poll failed). Reported per exporter: states seen and
missed, latency p50 / p95 / max, by RF state too, and the polls each
exporter made in the window (the cost of the triggered polls).

Target: syslog p95 <= 2 s (the poll-only median is about half an
interval). No assertion: the figures are printed, PASS/FAIL against the
target below the table. The lab, both exporters and the scrapers share
this process and the machine's cores, so the absolute figures include
that contention; the ratio of the two exporters, measured in the same run
over the same failovers, is the point.
"""

from __future__ import annotations

import argparse
import http.client
import logging
import math
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ipsec_ha_monitor.clock import Clock
from ipsec_ha_monitor.demo import free_syslog_port
from ipsec_ha_monitor.export.exporter import Exporter
from ipsec_ha_monitor.export.server import ExporterServer
from ipsec_ha_monitor.inventory import load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.lab.router import Router
from ipsec_ha_monitor.rf_states import RF_STATE_NAMES

HOST = "127.0.0.1"
SCRAPE_EVERY = 0.05  # seconds between two GETs of one exporter's /metrics
TARGET_P95 = 2.0  # seconds, the syslog exporter
FAILOVER_TIMEOUT = 180.0  # seconds for one failover to reach STANDBY HOT again
READY_TIMEOUT = 120.0
MY_STATE = re.compile(rb'^ipsecha_redundancy_my_state\{device="([^"]*)"[^}]*\} (\S+)$', re.MULTILINE)
EXPORTERS = ("syslog", "poll-only")


# --- the lab's side: every change of a router's RF state, as it is made ------------------


class RfRecorder:
    """Wraps Router.__setattr__ (this process only, undone by close()) so
    that each new `rf_my` value is stamped as the lab sets it, whichever
    code path sets it (set_rf, or finish_reload's direct assignment)."""

    def __init__(self) -> None:
        self.changes: list[tuple[float, str, int]] = []  # (time.monotonic(), router, new rf_my)
        self._lock = threading.Lock()
        self._had_own = "__setattr__" in Router.__dict__
        self._original = Router.__setattr__
        original, changes, lock = self._original, self.changes, self._lock

        def recording_setattr(router: Any, name: str, value: Any) -> None:
            if name == "rf_my" and getattr(router, "rf_my", value) != value:
                with lock:
                    changes.append((time.monotonic(), router.name, int(value)))
            original(router, name, value)

        Router.__setattr__ = recording_setattr  # type: ignore[method-assign,assignment]

    def since(self, start: float) -> list[tuple[float, str, int]]:
        with self._lock:
            return [change for change in self.changes if change[0] >= start]

    def close(self) -> None:
        if self._had_own:
            Router.__setattr__ = self._original  # type: ignore[method-assign]
        else:
            del Router.__setattr__


# --- the exporters' side: what a scrape shows ------------------------------------------------


class Scraper(threading.Thread):
    """GETs /metrics every SCRAPE_EVERY seconds and notes each device's
    `ipsecha_redundancy_my_state` whenever it changes (None: no series)."""

    def __init__(self, name: str, server: ExporterServer) -> None:
        super().__init__(name=f"scrape-{name}", daemon=True)
        self.host, self.port = HOST, int(server.server_address[1])
        self.changes: list[tuple[float, str, int | None]] = []  # (time.monotonic(), device, shown value)
        self.current: dict[str, int | None] = {}
        self.durations: list[float] = []
        self.errors = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            while not self.stopping.is_set():
                began = time.monotonic()
                try:
                    connection.request("GET", "/metrics")
                    response = connection.getresponse()
                    body = response.read()
                except (OSError, http.client.HTTPException):
                    self.errors += 1
                    connection.close()
                    connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
                    self.stopping.wait(SCRAPE_EVERY)
                    continue
                seen = time.monotonic()
                self.durations.append(seen - began)
                shown: dict[str, int | None] = {name.decode(): int(float(v)) for name, v in MY_STATE.findall(body)}
                with self._lock:
                    for device in set(shown) | set(self.current):
                        value = shown.get(device)
                        if self.current.get(device, -1) != value:
                            self.current[device] = value
                            self.changes.append((seen, device, value))
                self.stopping.wait(max(0.0, SCRAPE_EVERY - (time.monotonic() - began)))
        finally:
            connection.close()

    def shows(self) -> dict[str, int | None]:
        with self._lock:
            return dict(self.current)

    def since(self, start: float) -> list[tuple[float, str, int | None]]:
        with self._lock:
            return [change for change in self.changes if change[0] >= start]


def match(lab: list[tuple[float, int]], shown: list[tuple[float, int | None]]) -> list[tuple[int, float | None]]:
    """Per lab change of one device (time, new state), in order: (state,
    latency), latency None when missed. `shown` is what the exporter showed
    (time, value); absent series are skipped and a value shown again after
    a gap is no new showing. Each lab change takes the exporter's first new
    value at or after it: its own value (seen), or a later one (missed)."""
    values: list[tuple[float, int]] = []
    for at, value in shown:
        if value is not None and (not values or values[-1][1] != value):
            values.append((at, value))
    result: list[tuple[int, float | None]] = []
    index = 0
    for at, state in lab:
        while index < len(values) and values[index][0] < at:
            index += 1
        if index < len(values) and values[index][1] == state:
            result.append((state, values[index][0] - at))
            index += 1
        else:
            result.append((state, None))
    return result


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))] if ordered else math.nan


# --- the run ---------------------------------------------------------------------------


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


def run_failover(lab: Lab, running: LabThread, pair: str) -> tuple[float, str]:
    """Trigger a failover of `pair` and wait for its end: (trigger time,
    how it ended: the last timeline step)."""
    mark = len(lab.timeline)
    triggered = time.monotonic()
    running.trigger("failover", pair)

    def ended() -> bool:
        steps = [step for _, name, step in lab.timeline[mark:] if name == pair]
        return any("STANDBY HOT" in step or "declined" in step for step in steps)

    wait_until(ended, FAILOVER_TIMEOUT, f"the failover of {pair} to end")
    last = [step for _, name, step in lab.timeline[mark:] if name == pair][-1]
    return triggered, last


def measure(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    port = free_syslog_port(HOST)
    lab = Lab(pairs=args.pairs, branches=args.branches, time_scale=1.0, syslog_to=(HOST, port))
    recorder = RfRecorder()
    exporters: dict[str, Exporter] = {}
    servers: list[ExporterServer] = []
    scrapers: dict[str, Scraper] = {}
    polls: dict[str, Counter[str]] = {name: Counter() for name in EXPORTERS}
    # Every poll each exporter recorded: (device, began, ended, up, first failure) on time.monotonic().
    poll_log: dict[str, list[tuple[str, float, float, bool, str]]] = {name: [] for name in EXPORTERS}
    polls_lock = threading.Lock()
    try:
        with LabThread(lab) as running, tempfile.TemporaryDirectory(prefix="syslog-latency-bench-") as folder:
            path = lab.write_inventory(Path(folder) / "lab.yml")
            hubs = [hub.name for pair in lab.pairs for hub in pair.hubs]
            for name in EXPORTERS:
                exporter = Exporter(load_inventory(path), clock=Clock(1.0))
                exporters[name] = exporter

                def count(recorded: Any, name: str = name) -> None:
                    with polls_lock:
                        polls[name].update(list(recorded.snapshots))
                        for device, snapshot in recorded.snapshots.items():
                            failure = snapshot.failures[0] if snapshot.failures else None
                            why = f"{failure.status.value}: {failure.error[:60]}" if failure is not None else ""
                            poll_log[name].append((device, snapshot.began, snapshot.ended, snapshot.up, why))

                exporter.monitor.subscribe(on_record=count)
                if name == "syslog":
                    exporter.listen_syslog((HOST, port))
                exporter.start(args.interval)
                server = ExporterServer((HOST, 0), exporter, None)
                server.serve_in_thread()
                servers.append(server)
                scrapers[name] = Scraper(name, server)
                scrapers[name].start()
            print(
                f"lab: {args.pairs} pairs x (2 hubs + {args.branches} branches), syslog to udp {HOST}:{port}; "
                f"exporters poll every {args.interval:g} s; waiting for every hub's first poll...",
                flush=True,
            )
            wait_until(
                lambda: all(all(s.shows().get(h) is not None for h in hubs) for s in scrapers.values()),
                READY_TIMEOUT,
                "every hub's RF state on both exporters",
            )
            start = time.monotonic()
            with polls_lock:
                polls_before = {name: Counter(counter) for name, counter in polls.items()}
            failovers: list[dict[str, Any]] = []
            for number in range(args.failovers):
                pair = lab.pairs[number % len(lab.pairs)].name
                pause = rng.uniform(0.0, args.interval)
                time.sleep(pause)
                triggered, last = run_failover(lab, running, pair)
                took = time.monotonic() - triggered
                failovers.append({"pair": pair, "pause": pause, "took": took, "last": last})
                print(
                    f"failover {number + 1}/{args.failovers} on {pair} (after a {pause:.1f} s pause): "
                    f"{took:.1f} s, {last}",
                    flush=True,
                )
            tail = args.interval + 5.0  # the last states reach the poll-only exporter too
            print(f"waiting {tail:.0f} s for the last states to be polled...", flush=True)
            time.sleep(tail)
            window = time.monotonic() - start
            with polls_lock:
                polled = {name: sum((polls[name] - polls_before[name]).values()) for name in EXPORTERS}
            lab_changes = recorder.since(start)
            shown = {name: scraper.since(-math.inf) for name, scraper in scrapers.items()}
            syslog_stats = exporters["syslog"].syslog
            stats = syslog_stats.stats if syslog_stats is not None else None
    finally:
        for scraper in scrapers.values():
            scraper.stopping.set()
        for scraper in scrapers.values():
            scraper.join(15)
        for server in servers:
            server.shutdown()
            server.server_close()
        for exporter in exporters.values():
            exporter.stop()
        recorder.close()
    results: dict[str, list[tuple[str, int, float | None]]] = {}
    missed_polls: dict[str, list[str]] = {}
    for name in EXPORTERS:
        rows: list[tuple[str, int, float | None]] = []
        notes: list[str] = []
        for device in sorted({device for _, device, _ in lab_changes}):
            lab_side = [(at, value) for at, d, value in lab_changes if d == device]
            shown_side = [(at, value) for at, d, value in shown[name] if d == device]
            for index, (state, latency) in enumerate(match(lab_side, shown_side)):
                rows.append((device, state, latency))
                if latency is not None:
                    continue
                at = lab_side[index][0]
                until = lab_side[index + 1][0] if index + 1 < len(lab_side) else math.inf
                lasted = f"{until - at:.1f} s" if until < math.inf else "until the end"
                polls_then = [
                    f"{began - at:+.2f}..{ended - at:+.2f} s " + ("ok" if up else why)
                    for d, began, ended, up, why in poll_log[name]
                    if d == device and at - 1.0 <= ended and began <= until
                ]
                notes.append(
                    f"{device} {_state(state)} (lasted {lasted}): polls ending from 1 s before to its end: "
                    + ("; ".join(polls_then) or "none")
                )
        results[name] = rows
        missed_polls[name] = notes
    return {
        "results": results,
        "missed_polls": missed_polls,
        "failovers": failovers,
        "window": window,
        "polls": polled,
        "lab_changes": len(lab_changes),
        "scrapes": {name: (len(s.durations), statistics.median(s.durations), s.errors) for name, s in scrapers.items()},
        "syslog": {
            "messages": sum(stats.messages.values()) if stats else 0,
            "dropped": {k: v for k, v in stats.dropped.items() if v} if stats else {},
            "triggered": sum(stats.polls.values()) if stats else 0,
        },
    }


def _state(code: int) -> str:
    return f"{code} {RF_STATE_NAMES.get(code, '?')}"


def report(measured: dict[str, Any], args: argparse.Namespace, wall: float) -> None:
    results = measured["results"]
    print(
        f"\n{os.cpu_count()} cores shared by the lab, both exporters and their scrapers; poll interval "
        f"{args.interval:g} s; {len(measured['failovers'])} failovers over {args.pairs} pairs; "
        f"{measured['lab_changes']} RF state changes in the lab over {measured['window']:.0f} s\n"
    )
    print("| exporter | states seen | missed | latency p50 | p95 | max | polls in the window |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    summary: dict[str, tuple[float, float]] = {}
    for name in EXPORTERS:
        latencies = [latency for _, _, latency in results[name] if latency is not None]
        missed = sum(1 for _, _, latency in results[name] if latency is None)
        p50, p95 = statistics.median(latencies) if latencies else math.nan, percentile(latencies, 0.95)
        summary[name] = (p50, p95)
        print(
            f"| {name} | {len(latencies)} | {missed} | {p50:.2f} s | {p95:.2f} s "
            f"| {max(latencies, default=math.nan):.2f} s | {measured['polls'][name]} |"
        )
    print("\nBy RF state (seen/changes, median latency):\n")
    print("| RF state entered | " + " | ".join(EXPORTERS) + " |")
    print("|---|" + "---:|" * len(EXPORTERS))
    for code in sorted({state for _, state, _ in results[EXPORTERS[0]]}, key=lambda c: (c != 13, c)):
        cells = []
        for name in EXPORTERS:
            rows = [latency for _, state, latency in results[name] if state == code]
            seen = [latency for latency in rows if latency is not None]
            median = f"{statistics.median(seen):.2f} s" if seen else "-"
            cells.append(f"{len(seen)}/{len(rows)}, {median}")
        print(f"| {_state(code)} | " + " | ".join(cells) + " |")
    syslog_p50, syslog_p95 = summary["syslog"]
    poll_p50, _ = summary["poll-only"]
    print(f"\npoll-only / syslog median latency: {poll_p50 / syslog_p50:.1f}x (same run, same failovers)")
    for name, (scrapes, median, errors) in measured["scrapes"].items():
        print(f"{name}: {scrapes} scrapes, median {1000 * median:.1f} ms, {errors} failed")
    stats = measured["syslog"]
    dropped = ", ".join(f"{reason} {n}" for reason, n in stats["dropped"].items()) or "none"
    print(
        f"syslog exporter: {stats['messages']} messages taken, dropped: {dropped}; "
        f"{stats['triggered']} device polls asked for by syslog (whole run)"
    )
    for name in EXPORTERS:
        if measured["missed_polls"][name]:
            print(f"\n{name} missed (times from the lab's change to that state):")
            for note in measured["missed_polls"][name]:
                print(f"  {note}")
    verdict = "PASS" if syslog_p95 <= TARGET_P95 else "FAIL"
    print(f"\nTarget: syslog p95 <= {TARGET_P95:g} s: {syslog_p95:.2f} s {verdict}")
    print(f"benchmark wall time {wall:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=2, help="hub pairs in the lab (default 2)")
    parser.add_argument("--branches", type=int, default=1, help="branches per pair (default 1)")
    parser.add_argument("--interval", type=float, default=30.0, help="both exporters' poll interval, s (default 30)")
    parser.add_argument("--failovers", type=int, default=6, help="failovers, alternating pairs (default 6)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the pauses between failovers (default 1)")
    parser.add_argument("--quick", action="store_true", help="2 failovers, poll interval 10 s")
    parser.add_argument("--verbose", action="store_true", help="show the exporters' warnings (reloads, switchovers)")
    args = parser.parse_args()
    if args.quick:
        args.failovers, args.interval = 2, 10.0
    if args.pairs < 1 or args.branches < 1 or args.interval <= 0 or args.failovers < 1:
        parser.error("at least 1 pair, 1 branch, 1 failover and a positive interval")
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.ERROR, format="%(name)s: %(message)s")
    began = time.monotonic()
    try:
        measured = measure(args)
    except KeyboardInterrupt:
        print("interrupted; the lab and the exporters are stopped", file=sys.stderr)
        return 130
    report(measured, args, time.monotonic() - began)
    return 0


if __name__ == "__main__":
    sys.exit(main())
