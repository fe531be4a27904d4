"""Syslog flood: does one source sending 10,000 messages a second slow the
scrapes or the other devices' polls?

    python bench/syslog_flood_bench.py [--pairs 2] [--branches 2] [--interval 5] [--seconds 10] [--rounds 3]
                                       [--rate 10000] [--rate-limit 100]
    python bench/syslog_flood_bench.py --quick     # 1 round of 8 s phases

Processes, all on 127.0.0.1 of this machine:
- the lab (this script, multiprocessing): `--pairs` pairs of 2 hubs +
  `--branches` branches at time scale 1, every router's syslog sent from
  its own loopback address (127.0.1.N) to the exporter's port; no scenario
  runs, so the routers themselves log nothing during the phases;
- the exporter (this process): Exporter.start(--interval) over the lab's
  inventory, Exporter.listen_syslog() with --rate-limit messages a second
  per source, served over HTTP by ExporterServer;
- the flood (this script, multiprocessing, so that it shares no GIL with
  the exporter): a UDP socket bound to the first router's syslog source
  address (R1's 127.0.1.1, port 0), so the flood is a known device's and
  goes through the per-source rate limit; real IOS lines
  ("<189>000123: Dec 07 14:33:22.123: %SYS-5-CONFIG_I: Configured from
  console by vty0", sequence numbers counting up), paced at --rate a
  second in 1 ms batches.

After every device's first poll and one more interval, phases alternate
--rounds times: A (no flood, --seconds) then B (the flood, --seconds).
Measured in each phase:
- scrapes: GET /metrics (Accept-Encoding: gzip, keep-alive, as Prometheus
  scrapes) every 100 ms from a thread of this process: p50 / p95 / max;
- the poll schedule of every device but the flooding one, from each poll
  the Monitor records (Monitor.subscribe; a poll belongs to the phase it
  began in): the interval between the end of a device's previous poll and
  the end of this one (scheduled: --interval + the poll's duration), how
  late the poll began after it was due (the previous end + --interval),
  the poll's duration, and the scheduler's own
  ipsecha_exporter_poll_start_delay_seconds (mean over the phase);
- CPU: the exporter process's, and its syslog thread's (per-thread clock);
- the flood: messages sent and the rate achieved (the sender's count and
  clock), what the receiver took (counted as the device's `other`
  messages), ipsecha_syslog_dropped_total{reason="rate_limited"}, and what
  never reached the receiver (sent - taken - dropped: the socket buffer
  overflowed; the kernel's UDP RcvbufErrors over the phase beside it).

Reported: both phase kinds side by side, and the ratio flood / no flood.
Target: scrape latency and the other devices' poll intervals within 10%
of the no-flood figures (ratio <= 1.10). No assertion: the figures are
printed, PASS/FAIL against the target below the table. The lab, the flood
and the exporter share the machine's cores: on a small machine the
sender's CPU is part of what the exporter competes with, and the
repetition (A B A B ...) is there to tell that from noise.
"""

from __future__ import annotations

import argparse
import http.client
import logging
import math
import multiprocessing
import os
import queue
import re
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ipsec_ha_monitor.clock import Clock
from ipsec_ha_monitor.demo import free_syslog_port
from ipsec_ha_monitor.export.exporter import Exporter
from ipsec_ha_monitor.export.server import ExporterServer
from ipsec_ha_monitor.inventory import load_inventory

HOST = "127.0.0.1"
SCRAPE_EVERY = 0.1  # seconds between two scrapes
FLOOD_LINE = b"<189>%06d: Dec 07 14:33:22.123: %%SYS-5-CONFIG_I: Configured from console by vty0"
TARGET_RATIO = 1.10
LAB_TIMEOUT = 120.0
READY_TIMEOUT = 120.0
START_DELAY = re.compile(r"^ipsecha_exporter_poll_start_delay_seconds_(sum|count) (\S+)$", re.MULTILINE)


# --- child processes ---------------------------------------------------------------------


def run_lab(pairs: int, branches: int, port: int, inventory: str, ready: Any, stop: Any) -> None:
    """The lab, its syslog to (HOST, port), until `stop` is set."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the benchmark process stops it
    from ipsec_ha_monitor.lab import Lab, LabThread

    lab = Lab(pairs=pairs, branches=branches, time_scale=1.0, syslog_to=(HOST, port))
    with LabThread(lab):
        lab.write_inventory(inventory)
        ready.set()
        stop.wait()


def run_flood(source: str, target: tuple[str, int], commands: Any, results: Any) -> None:
    """For each (rate, seconds) from `commands`: send `rate` messages a second
    for `seconds` from `source`, then put what was sent on `results`. None
    ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((source, 0))
    sequence = 0
    while True:
        command = commands.get()
        if command is None:
            break
        rate, seconds = command
        sent = errors = 0
        cpu_before, began = time.process_time(), time.monotonic()
        while True:
            elapsed = time.monotonic() - began
            if elapsed >= seconds:
                break
            due = min(int(elapsed * rate), int(seconds * rate))
            while sent < due:
                sequence = sequence % 999999 + 1
                try:
                    sock.sendto(FLOOD_LINE % sequence, target)
                except OSError:
                    errors += 1
                sent += 1
            time.sleep(0.001)
        elapsed = time.monotonic() - began
        results.put({"sent": sent, "errors": errors, "seconds": elapsed, "cpu": time.process_time() - cpu_before})
    sock.close()


# --- measuring in this process -----------------------------------------------------------


class Scraper(threading.Thread):
    """GET /metrics every SCRAPE_EVERY seconds: (began, seconds, ok)."""

    def __init__(self, port: int) -> None:
        super().__init__(name="scraper", daemon=True)
        self.port = port
        self.samples: list[tuple[float, float, bool]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            while not self.stopping.is_set():
                began = time.monotonic()
                ok = True
                try:
                    connection.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})
                    response = connection.getresponse()
                    response.read()
                    ok = response.status == 200
                except (OSError, http.client.HTTPException):
                    ok = False
                    connection.close()
                    connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
                self.samples.append((began, time.monotonic() - began, ok))
                self.stopping.wait(max(0.0, SCRAPE_EVERY - (time.monotonic() - began)))
        finally:
            connection.close()


def udp_receive_errors() -> int:
    """The kernel's UDP RcvbufErrors (datagrams dropped: a socket buffer was full), machine-wide."""
    lines = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines() if line.startswith("Udp:")]
    return int(lines[1][lines[0].index("RcvbufErrors")])


def thread_cpu(name: str) -> float:
    for thread in threading.enumerate():
        if thread.name == name and thread.ident is not None:
            return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
    return math.nan


class Readings:
    """Counters read at each phase boundary."""

    def __init__(self, exporter: Exporter, flooder: str) -> None:
        self.exporter, self.flooder = exporter, flooder

    def read(self) -> dict[str, float]:
        receiver = self.exporter.syslog
        assert receiver is not None
        stats = receiver.stats
        with stats._lock:  # one consistent reading (SyslogStats' own lock)
            taken = sum(n for (device, _), n in stats.messages.items() if device == self.flooder)
            dropped = dict(stats.dropped)
        delay = dict(START_DELAY.findall(self.exporter.own_metrics()))
        return {
            "at": time.monotonic(),
            "cpu": time.process_time(),
            "syslog_cpu": thread_cpu("syslog"),
            "taken": taken,
            "rate_limited": dropped["rate_limited"],
            "other_drops": sum(n for reason, n in dropped.items() if reason != "rate_limited"),
            "delay_sum": float(delay.get("sum", 0.0)),
            "delay_count": float(delay.get("count", 0.0)),
            "rcvbuf_errors": udp_receive_errors(),
        }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))] if ordered else math.nan


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


def measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    port = free_syslog_port(HOST)
    inventory_path = folder / "lab.yml"
    ready, stop = context.Event(), context.Event()
    lab = context.Process(
        target=run_lab, args=(args.pairs, args.branches, port, str(inventory_path), ready, stop), name="lab"
    )
    commands, results = context.Queue(), context.Queue()
    children: list[Any] = [lab]
    exporter: Exporter | None = None
    server: ExporterServer | None = None
    scraper: Scraper | None = None
    try:
        lab.start()
        wait_until(lambda: ready.is_set() or not lab.is_alive(), LAB_TIMEOUT, "the lab")
        if not ready.is_set():
            raise RuntimeError(f"the lab exited with status {lab.exitcode}")
        inventory = load_inventory(inventory_path)
        sources = {name: device.syslog_sources for name, device in inventory.devices.items() if device.syslog_sources}
        flooder = next(iter(sources))
        source = sources[flooder][0]
        flood = context.Process(target=run_flood, args=(source, (HOST, port), commands, results), name="flood")
        flood.start()
        children.append(flood)

        exporter = Exporter(inventory, clock=Clock(1.0))
        polls: list[tuple[str, float, float, float, bool]] = []  # (device, began, ended, duration, up)
        lock = threading.Lock()

        def note(recorded: Any) -> None:
            with lock:
                for name, snapshot in recorded.snapshots.items():
                    polls.append((name, snapshot.began, snapshot.ended, snapshot.duration_seconds, snapshot.up))

        exporter.monitor.subscribe(on_record=note)
        exporter.listen_syslog((HOST, port), rate_limit=args.rate_limit)
        exporter.start(args.interval)
        server = ExporterServer((HOST, 0), exporter, None)
        server.serve_in_thread()
        scraper = Scraper(int(server.server_address[1]))
        scraper.start()
        print(
            f"lab: {args.pairs} pairs x (2 hubs + {args.branches} branches), {len(inventory.devices)} devices; "
            f"poll interval {args.interval:g} s; flood from {flooder} ({source}) at {args.rate:,.0f}/s, "
            f"rate limit {args.rate_limit:g}/s",
            flush=True,
        )
        wait_until(lambda: exporter is not None and exporter.ready, READY_TIMEOUT, "every device's first poll")
        time.sleep(args.interval)  # one more interval: the schedule in its steady state
        readings = Readings(exporter, flooder)
        phases: list[dict[str, Any]] = []
        for round_number in range(args.rounds):
            for kind in ("no flood", "flood"):
                before = readings.read()
                sent: dict[str, Any] = {}
                if kind == "flood":
                    commands.put((args.rate, args.seconds))
                    sent = results.get(timeout=args.seconds + 60)
                    time.sleep(max(0.0, before["at"] + args.seconds - time.monotonic()))
                else:
                    time.sleep(args.seconds)
                after = readings.read()
                phases.append({"kind": kind, "round": round_number + 1, "before": before, "after": after, **sent})
                print(f"round {round_number + 1}: {kind} phase done", flush=True)
        scraper.stopping.set()
        scraper.join(15)
        with lock:
            recorded = list(polls)
        return {
            "phases": phases,
            "polls": recorded,
            "scrapes": list(scraper.samples),
            "flooder": flooder,
            "devices": len(inventory.devices),
        }
    finally:
        if scraper is not None:
            scraper.stopping.set()
        if server is not None:
            server.shutdown()
            server.server_close()
        if exporter is not None:
            exporter.stop()
        commands.put(None)
        stop.set()
        for child in reversed(children):
            child.join(15)
            if child.is_alive():
                child.terminate()
                child.join(5)


# --- the report --------------------------------------------------------------------------


def phase_figures(measured: dict[str, Any], phase: dict[str, Any], interval: float) -> dict[str, Any]:
    start, end = phase["before"]["at"], phase["after"]["at"]
    scrapes = [seconds for began, seconds, ok in measured["scrapes"] if start <= began < end and ok]
    failed = sum(1 for began, _, ok in measured["scrapes"] if start <= began < end and not ok)
    previous: dict[str, float] = {}
    intervals, lateness, durations, down = [], [], [], 0
    for device, began, ended, duration, up in sorted(measured["polls"], key=lambda p: p[2]):
        if device != measured["flooder"] and start <= began < end:
            durations.append(duration)
            down += not up
            if device in previous:
                intervals.append(ended - previous[device])
                lateness.append(began - previous[device] - interval)
        previous[device] = ended
    before, after = phase["before"], phase["after"]
    seconds = end - start
    starts = after["delay_count"] - before["delay_count"]
    return {
        "scrapes": scrapes,
        "scrape_failures": failed,
        "intervals": intervals,
        "lateness": lateness,
        "durations": durations,
        "down": down,
        "delay_mean": (after["delay_sum"] - before["delay_sum"]) / starts if starts else math.nan,
        "cpu": (after["cpu"] - before["cpu"]) / seconds,
        "syslog_cpu": (after["syslog_cpu"] - before["syslog_cpu"]) / seconds,
        "taken": after["taken"] - before["taken"],
        "rate_limited": after["rate_limited"] - before["rate_limited"],
        "other_drops": after["other_drops"] - before["other_drops"],
        "rcvbuf_errors": after["rcvbuf_errors"] - before["rcvbuf_errors"],
    }


def _merge(rows: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key in ("scrapes", "intervals", "lateness", "durations"):
        merged[key] = [value for row in rows for value in row[key]]
    for key in ("scrape_failures", "down"):
        merged[key] = sum(row[key] for row in rows)
    for key in ("cpu", "syslog_cpu", "delay_mean"):
        merged[key] = statistics.mean(row[key] for row in rows)
    return merged


def report(measured: dict[str, Any], args: argparse.Namespace, wall: float) -> None:
    figures = [(phase, phase_figures(measured, phase, args.interval)) for phase in measured["phases"]]
    quiet = _merge([f for p, f in figures if p["kind"] == "no flood"])
    flood = _merge([f for p, f in figures if p["kind"] == "flood"])
    print(
        f"\n{os.cpu_count()} cores shared by the lab, the flood sender and the exporter; "
        f"{measured['devices']} devices, poll interval {args.interval:g} s; {args.rounds} rounds of "
        f"{args.seconds:g} s without then with the flood; "
        f"poll figures: the {measured['devices'] - 1} devices other than {measured['flooder']}\n"
    )
    print("| | no flood | flood | flood / no flood |")
    print("|---|---:|---:|---:|")
    ratios: dict[str, float] = {}

    def row(label: str, a: float, b: float, unit: str, scale: float = 1.0, digits: int = 1, key: str = "") -> None:
        ratio = b / a if a else math.nan
        if key:
            ratios[key] = ratio
        print(f"| {label} | {a * scale:.{digits}f} {unit} | {b * scale:.{digits}f} {unit} | {ratio:.2f} |")

    quiet_scrapes = f"{len(quiet['scrapes'])} ({quiet['scrape_failures']})"
    flood_scrapes = f"{len(flood['scrapes'])} ({flood['scrape_failures']})"
    print(f"| scrapes (failed) | {quiet_scrapes} | {flood_scrapes} | |")
    for label, fraction in (("p50", 0.5), ("p95", 0.95)):
        a, b = percentile(quiet["scrapes"], fraction), percentile(flood["scrapes"], fraction)
        row(f"scrape latency {label}", a, b, "ms", 1000, 2, f"scrape {label}")
    row("scrape latency max", max(quiet["scrapes"]), max(flood["scrapes"]), "ms", 1000, 2)
    quiet_polls, flood_polls = (
        f"{len(quiet['durations'])} ({quiet['down']})",
        f"{len(flood['durations'])} ({flood['down']})",
    )
    print(f"| polls (down) | {quiet_polls} | {flood_polls} | |")
    for label, fraction in (("p50", 0.5), ("p95", 0.95)):
        a, b = percentile(quiet["intervals"], fraction), percentile(flood["intervals"], fraction)
        row(f"poll end to poll end {label}", a, b, "s", 1, 3, f"poll interval {label}")
    row("poll end to poll end max", max(quiet["intervals"]), max(flood["intervals"]), "s", 1, 3)
    for label, fraction in (("p50", 0.5), ("p95", 0.95)):
        a, b = percentile(quiet["lateness"], fraction), percentile(flood["lateness"], fraction)
        row(f"poll began after due, {label}", a, b, "ms", 1000, 1)
    for label, fraction in (("p50", 0.5), ("p95", 0.95)):
        a, b = percentile(quiet["durations"], fraction), percentile(flood["durations"], fraction)
        row(f"poll duration {label}", a, b, "ms", 1000, 1, f"poll duration {label}")
    row("scheduler start delay, mean", quiet["delay_mean"], flood["delay_mean"], "ms", 1000, 2)
    row("exporter process CPU", quiet["cpu"], flood["cpu"], "% of a core", 100, 1)
    row("its syslog thread's CPU", quiet["syslog_cpu"], flood["syslog_cpu"], "% of a core", 100, 1)

    print("\nThe flood, per phase:\n")
    print(
        "| round | sent | rate achieved | taken (counted) | rate_limited | other drops | lost before the receiver "
        "| kernel RcvbufErrors | sender CPU |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for phase, f in figures:
        if phase["kind"] != "flood":
            continue
        lost = phase["sent"] - f["taken"] - f["rate_limited"] - f["other_drops"]
        print(
            f"| {phase['round']} | {phase['sent']:,} | {phase['sent'] / phase['seconds']:,.0f}/s | {f['taken']:,} "
            f"| {f['rate_limited']:,} | {f['other_drops']:,} | {lost:,} ({100 * lost / max(1, phase['sent']):.1f}%) "
            f"| {f['rcvbuf_errors']:,} | {100 * phase['cpu'] / phase['seconds']:.0f}% |"
        )
    print("\nPer phase (noise check):\n")
    print("| round | phase | scrape p50 | scrape p95 | poll end to end p50 | p95 | poll duration p50 | process CPU |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for phase, f in figures:
        print(
            f"| {phase['round']} | {phase['kind']} | {1000 * percentile(f['scrapes'], 0.5):.2f} ms "
            f"| {1000 * percentile(f['scrapes'], 0.95):.2f} ms | {percentile(f['intervals'], 0.5):.3f} s "
            f"| {percentile(f['intervals'], 0.95):.3f} s | {1000 * percentile(f['durations'], 0.5):.1f} ms "
            f"| {100 * f['cpu']:.0f}% |"
        )
    print(f"\nTarget: flood / no flood within {TARGET_RATIO:.2f}:")
    for key in ("scrape p50", "scrape p95", "poll interval p50", "poll interval p95"):
        verdict = "PASS" if ratios[key] <= TARGET_RATIO else "FAIL"
        print(f"- {key}: {ratios[key]:.2f} {verdict}")
    print(f"benchmark wall time {wall:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=2, help="hub pairs in the lab (default 2)")
    parser.add_argument("--branches", type=int, default=2, help="branches per pair (default 2)")
    parser.add_argument("--interval", type=float, default=5.0, help="poll interval, seconds (default 5)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase, seconds (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="no-flood + flood phase pairs (default 3)")
    parser.add_argument("--rate", type=float, default=10000.0, help="flood messages a second (default 10000)")
    parser.add_argument("--rate-limit", type=float, default=100.0, help="the receiver's per-source limit (100)")
    parser.add_argument("--quick", action="store_true", help="1 round of 8 s phases")
    parser.add_argument("--verbose", action="store_true", help="show the exporter's warnings")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds = 1, 8.0
    if args.pairs < 1 or args.branches < 0 or min(args.interval, args.seconds, args.rate, args.rate_limit) <= 0:
        parser.error("at least 1 pair; positive interval, phase length, rate and rate limit")
    if args.rounds < 1:
        parser.error("at least 1 round")
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.ERROR, format="%(name)s: %(message)s")
    began = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="syslog-flood-bench-") as folder:
            measured = measure(args, Path(folder))
    except KeyboardInterrupt:
        print("interrupted; the lab, the sender and the exporter are stopped", file=sys.stderr)
        return 130
    except queue.Empty:
        print("the flood sender reported nothing", file=sys.stderr)
        return 1
    report(measured, args, time.monotonic() - began)
    return 0


if __name__ == "__main__":
    sys.exit(main())
