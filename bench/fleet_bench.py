"""Fleet capacity: the largest fleet one exporter keeps fresh at real router
speed (the lab's `router` latency profile), a restart's login storm, silent
hosts listed first, the open-files limit, and threads + netmiko against a
plain asyncssh client on asyncio.

    python bench/fleet_bench.py [--scenarios capacity,silent-first,nofile,async-compare]
                                [--sizes 2000,3000,5000] [--interval 30] [--intervals 3] [--sample-every 10]
    python bench/fleet_bench.py --quick     # 200 routers, 20 + 180 silent, 150 under 128 fds, 100 async

Processes, all on this machine (2 cores, shared): the lab (`ipsec-ha-monitor
lab --latency router`, time scale 1: ceil(N / 50) pairs of 2 hubs and up to
48 branches, so a hub answers for 48 tunnels, trimmed to N routers), the
exporter (`ipsec-ha-monitor serve --poll-interval 30`, its stderr kept), and
this script, which scrapes /metrics every `--sample-every` s (plain, no
gzip) and reads /proc. The exporter's inventory is the lab's, polling
settings left at their defaults (workers auto, login_concurrency 32,
logins_per_second 20, login_jitter 0.5, connect_timeout 10) unless
`--polling key=value` overrides one. Scenarios, one after the other:

1. capacity: for each size, in order, a fresh lab and a fresh exporter. The
   first sweep: from starting `serve` to /-/ready (every device polled once),
   beside N / logins_per_second (login_concurrency / the login's duration
   can bind first); the lab's login counts over that restart
   (control port `logins`: the device side, from the client's first bytes
   to its shell) against login_concurrency and logins_per_second. Then a
   steady window of `--intervals` poll intervals from /-/ready: data age
   (every sample's ipsecha_data_age_seconds, p99 and max; and, per device,
   the time between two poll ends, which is the age the data reached just
   before the newer poll ended, seen within 1 s, the /metrics page's reuse),
   the largest ipsecha_poll_duration_seconds, down devices, how late polls
   started (ipsecha_exporter_poll_start_delay_seconds), workers, polls
   waiting. Pass: the largest data age <= interval + the largest poll
   duration (+ 1 s for the page's reuse), no device down. Costs: exporter
   CPU (cores, and CPU ms per router-poll: its CPU over the window / the
   polls that ended in it, ipsecha_exporter_polls_total), RSS, threads and
   open fds per router, the lab's and this script's CPU, and the whole
   machine's (/proc/stat: the rest is other work on the machine). The
   sizes stop at the first one that fails; what broke is said from those
   figures (CPU, workers, the lab, errors).
2. silent-first: `--silent` hosts listed BEFORE `--healthy` lab routers:
   most accept TCP and never speak (bench/isolation_bench.py's silent host
   worker), `--unanswering` of them never even accept TCP (a listener with
   a backlog of 0 that one held connection fills: the SYN is dropped). From
   starting `serve` until every healthy router is up, against interval +
   the largest healthy poll duration (the first poll includes the login);
   then 2 intervals of the healthy routers' data age.
3. nofile: `--nofile-routers` lab routers, `serve` started with RLIMIT_NOFILE
   soft `--nofile-soft` and hard `--nofile-hard` (the exporter raises its
   soft limit to the hard one): every device up at /-/ready and one
   interval later; then the same with the hard limit at the soft one too
   (nothing to raise to: what a fleet past the limit got before).
4. async-compare: `--async-size` lab routers polled by the product (as in
   capacity, `--async-intervals` intervals) and then, on the same lab, by
   this script as a plain asyncssh client on asyncio (`--worker asyncssh`, a
   process of its own): one persistent session per router (interactive
   shell, enable, `terminal length 0` and `terminal width 511`, as netmiko
   sets up the product's), the product's commands for the role
   (ipsec_ha_monitor.poll.commands, typed as the product types them), each
   read to the prompt and parsed with the product's parser, every router on
   its own clock (next poll `--interval` s after its last ended); logins
   paced as the product's budget (32 at once, 20/s, jitter 0.5). Side by
   side: CPU ms per router-poll (the client's also without the parsing),
   RSS per router, threads, data age. The product does more per poll than
   the client (health rules, the metrics page, its scheduler), and the
   client none of netmiko's prompt and pager handling.

One result line per scenario (FLEET-BENCH-RESULT + JSON), then a summary in
Markdown. Ctrl-C or SIGTERM stops every child. Caveats: the lab shares the
2 cores (its CPU is reported), as does whatever else runs on the machine;
the `router` profile's figures are partly estimates (docs/lab.md).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import random
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from isolation_bench import RESULT_MARK as SILENT_MARK
from lab_bench import free_port, proc_cpu_seconds
from poll_bench import _lab_shape, stop_process, wait_for_lab

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

RESULT_MARK = "FLEET-BENCH-RESULT "
PAGE_REUSE = 1.0  # the exporter reuses a /metrics page this long at most (export/exporter.py)
NEW_POLL = 2.0  # a poll end estimate this much later than the last one is a new poll
UNANSWERED_HTTP = 45.0  # the exporter is given up on when its HTTP stops answering this long
DEFAULTS = {"login_concurrency": 32, "logins_per_second": 20.0, "login_jitter": 0.5}
DEVICE_LINE = re.compile(
    r'^(ipsecha_data_age_seconds|ipsecha_poll_duration_seconds|ipsecha_device_up)\{device="([^"]*)"'
)
GAUGES = (
    "ipsecha_exporter_poll_workers",
    "ipsecha_exporter_dials_running",
    "ipsecha_exporter_logins_running",
    "ipsecha_exporter_logins_total",
    "ipsecha_exporter_polls_running",
    "ipsecha_exporter_polls_waiting",
    "ipsecha_exporter_devices_unanswering",
    "ipsecha_exporter_poll_start_delay_seconds_sum",
    "ipsecha_exporter_poll_start_delay_seconds_count",
)
LATE_BUCKET = 'ipsecha_exporter_poll_start_delay_seconds_bucket{le="1.0"}'


# --- /proc ------------------------------------------------------------------------------


def proc_status(pid: int) -> dict[str, float]:
    """RSS (MB), threads and open fds of a process, now."""
    out = {"rss_mb": float("nan"), "threads": 0.0, "fds": 0.0}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            out["rss_mb"] = int(line.split()[1]) / 1024
        elif line.startswith("Threads:"):
            out["threads"] = float(line.split()[1])
    try:
        out["fds"] = float(len(os.listdir(f"/proc/{pid}/fd")))
    except OSError:
        pass
    return out


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU jiffies of the whole machine, every core."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(fields[:8])
    return total - fields[3] - fields[4], total


def soft_nofile(pid: int) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return "/".join(line.split()[3:5])
    return "?"


# --- /metrics ---------------------------------------------------------------------------


def http_get(url: str, timeout: float = 60.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def parse_page(page: str) -> dict[str, Any]:
    """Per device: data age, last poll duration, up; the exporter's own
    gauges; the polls that ended (sum of ipsecha_exporter_polls_total)."""
    devices: dict[str, list[float]] = {}
    out: dict[str, Any] = {"devices": devices, "polls": 0.0}
    slot = {"ipsecha_data_age_seconds": 0, "ipsecha_poll_duration_seconds": 1, "ipsecha_device_up": 2}
    for line in page.split("\n"):
        if not line.startswith(("ipsecha_d", "ipsecha_p", "ipsecha_exporter_", "process_")):
            continue
        match = DEVICE_LINE.match(line)
        if match:
            devices.setdefault(match[2], [math.nan, math.nan, math.nan])[slot[match[1]]] = float(line.rsplit(" ", 1)[1])
        elif line.startswith("ipsecha_exporter_polls_total{"):
            out["polls"] += float(line.rsplit(" ", 1)[1])
        elif line.startswith(LATE_BUCKET):
            out["late_le_1s"] = float(line.rsplit(" ", 1)[1])
        elif line.startswith(GAUGES):
            name, value = line.split(" ", 1)
            if name in GAUGES:
                out[name] = float(value)
    return out


class ExporterWatch:
    """Samples one exporter (its /metrics and /proc) with the lab's and
    the machine's CPU; a window's figures from the samples since
    start_window()."""

    def __init__(
        self, exporter: subprocess.Popen[bytes], lab_pid: int, url: str, interval: float, only: set[str] | None = None
    ) -> None:
        self.exporter, self.lab_pid, self.url, self.interval = exporter, lab_pid, url, interval
        self.only = only  # the devices whose data age is tracked (None: all)
        self.samples: list[dict[str, Any]] = []
        self.devices: dict[str, list[float]] = {}  # the last sample's: [age, poll duration, up]
        self.peaks: dict[str, float] = {}
        self._window: dict[str, Any] | None = None

    def counters(self) -> dict[str, float]:
        busy, total = machine_jiffies()
        return {
            "t": time.monotonic(),
            "exporter_cpu": proc_cpu_seconds(self.exporter.pid),
            "lab_cpu": proc_cpu_seconds(self.lab_pid),
            "bench_cpu": time.process_time(),
            "machine_busy": busy,
            "machine_total": total,
        }

    def sample(self, timeout: float = 60.0) -> dict[str, Any]:
        began = time.monotonic()
        status, body = http_get(self.url + "/metrics", timeout)
        scrape = time.monotonic() - began
        if status != 200:
            raise RuntimeError(f"/metrics answered {status}")
        page = parse_page(body.decode(errors="replace"))
        page.update(proc_status(self.exporter.pid), t=time.monotonic(), scrape=scrape, page_mb=len(body) / 1e6)
        for key in ("rss_mb", "threads", "fds", *GAUGES[:6], "scrape"):
            if key in page:
                self.peaks[key] = max(self.peaks.get(key, 0.0), page[key])
        self.samples.append({k: v for k, v in page.items() if k != "devices"})
        self.devices = page["devices"]
        if self._window is not None:
            self._track(page)
        return page

    def start_window(self) -> None:
        self._window = {
            "start": self.counters(),
            "first": None,
            "ends": {},
            "gaps": [],
            "ages": [],
            "max_duration": 0.0,
            "down": set(),
            "late": [],
            "samples": [],
        }

    def _track(self, page: dict[str, Any]) -> None:
        window = self._window
        assert window is not None
        if window["first"] is None:
            window["first"] = page
        window["samples"].append({k: v for k, v in page.items() if k != "devices"})
        ends = window["ends"]
        for name, (age, duration, up) in page["devices"].items():
            if math.isnan(age) or (self.only is not None and name not in self.only):
                continue
            end = page["t"] - age  # the poll's end, seen within PAGE_REUSE
            window["ages"].append(age)
            if up != 1:
                window["down"].add(name)
            if name in ends and end > ends[name] + NEW_POLL:
                gap = end - ends[name]  # the data's age just before this poll ended
                window["gaps"].append((gap, duration, name))
                window["max_duration"] = max(window["max_duration"], duration)
                if gap > self.interval + duration + PAGE_REUSE:
                    window["late"].append((gap - self.interval - duration, name))
            if name not in ends or end > ends[name] + NEW_POLL:
                ends[name] = end

    def window_figures(self, routers: int) -> dict[str, Any]:
        window = self._window
        assert window is not None and window["first"] is not None
        start, end = window["start"], self.counters()
        last = self.samples[-1]
        seconds = end["t"] - start["t"]
        polls = last["polls"] - window["first"]["polls"]
        exporter_cpu = end["exporter_cpu"] - start["exporter_cpu"]
        ages = sorted(window["ages"])
        gaps = window["gaps"]
        max_gap = max((g for g, _, _ in gaps), default=0.0)
        max_age = max(max_gap, ages[-1] if ages else 0.0)
        max_duration = window["max_duration"]
        delay_count = last.get(GAUGES[8], 0.0) - window["first"].get(GAUGES[8], 0.0)
        delay_sum = last.get(GAUGES[7], 0.0) - window["first"].get(GAUGES[7], 0.0)
        late = delay_count - (last.get("late_le_1s", 0.0) - window["first"].get("late_le_1s", 0.0))
        samples = window["samples"]
        limit = self.interval + max_duration + PAGE_REUSE
        machine = (end["machine_busy"] - start["machine_busy"]) / max(1, end["machine_total"] - start["machine_total"])
        cores = os.cpu_count() or 1
        figures = {
            "window_seconds": seconds,
            "samples": len(samples),
            "polls": polls,
            "polls_per_second": polls / seconds if seconds else 0.0,
            "age_max": max_age,
            "age_p99": ages[min(len(ages) - 1, math.ceil(0.99 * len(ages)) - 1)] if ages else math.nan,
            "age_p50": statistics.median(ages) if ages else math.nan,
            "gaps": len(gaps),
            "oldest": max(gaps)[2] if gaps else "",
            "max_poll_duration": max_duration,
            "poll_duration_p50": statistics.median(d for _, d, _ in gaps) if gaps else math.nan,
            "age_limit": limit,
            "devices_late": len({name for _, name in window["late"]}),
            "worst_excess": max((e for e, _ in window["late"]), default=0.0),
            "down": sorted(window["down"])[:10],
            "down_count": len(window["down"]),
            "devices_seen": len(window["ends"]),
            "start_delay_mean": delay_sum / delay_count if delay_count else 0.0,
            "starts_late_over_1s": late / delay_count if delay_count else 0.0,
            "exporter_cores": exporter_cpu / seconds,
            "cpu_ms_per_poll": 1000 * exporter_cpu / polls if polls else math.nan,
            "lab_cores": (end["lab_cpu"] - start["lab_cpu"]) / seconds,
            "bench_cores": (end["bench_cpu"] - start["bench_cpu"]) / seconds,
            "machine_cores": machine * cores,
            "rss_mb": last["rss_mb"],
            "rss_kb_per_router": 1024 * last["rss_mb"] / routers,
            "threads": last["threads"],
            "threads_per_router": last["threads"] / routers,
            "fds": last["fds"],
            "workers_max": max(s.get(GAUGES[0], 0.0) for s in samples),
            "workers_last": last.get(GAUGES[0], 0.0),
            "polls_running_max": max(s.get(GAUGES[4], 0.0) for s in samples),
            "polls_waiting_max": max(s.get(GAUGES[5], 0.0) for s in samples),
            "polls_waiting_mean": statistics.mean(s.get(GAUGES[5], 0.0) for s in samples),
            "scrape_max": max(s["scrape"] for s in samples),
            "page_mb": last["page_mb"],
        }
        figures["passed"] = max_age <= limit and not window["down"] and len(window["ends"]) == routers
        return figures

    def up(self) -> int:
        return sum(1 for values in self.devices.values() if values[2] == 1)


# --- child processes --------------------------------------------------------------------


def start_lab(routers: int, folder: Path, tag: str) -> tuple[subprocess.Popen[bytes], dict, tuple[str, int], Path]:
    """The lab in its own process, router speed: (process, its inventory
    trimmed to `routers`, control address, stderr log)."""
    pairs, branches = _lab_shape(routers)
    path = folder / f"lab-{tag}.yml"
    control = ("127.0.0.1", free_port())
    command = [
        sys.executable, "-m", "ipsec_ha_monitor", "lab", "--pairs", str(pairs), "--branches", str(branches),
        "--latency", "router", "--time-scale", "1", "--write-inventory", str(path),
        "--control-address", f"{control[0]}:{control[1]}",
    ]  # fmt: skip
    log = folder / f"lab-{tag}.err"
    began = time.perf_counter()
    with log.open("wb") as stderr:
        lab = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        inventory = wait_for_lab(lab, path, began)
    except BaseException:
        stop_process(lab)
        raise
    names = {device["name"] for device in inventory["devices"][:routers]}
    inventory["devices"] = inventory["devices"][:routers]
    inventory["pairs"] = [pair for pair in inventory["pairs"] if set(pair["members"]) <= names]
    print(f"  lab: {routers} routers ({pairs} pairs x (2 + {branches})) up in {time.perf_counter() - began:.1f} s")
    return lab, inventory, control, log


def write_inventory(inventory: dict, path: Path, polling: dict[str, Any]) -> Path:
    inventory = dict(inventory)
    if polling:
        inventory["polling"] = dict(polling)
    else:
        inventory.pop("polling", None)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the lab's inline credentials
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory, handle, sort_keys=False)
    return path


def lab_logins(control: tuple[str, int], reset: bool = False) -> dict[str, int]:
    from ipsec_ha_monitor.lab.control import send_control

    return json.loads(send_control("logins reset" if reset else "logins", control))


def start_serve(
    inventory: Path, port: int, interval: float, log: Path, nofile: tuple[int, int] | None = None
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "ipsec_ha_monitor", "serve", "--config.file", str(inventory),
        "--web.listen-address", f"127.0.0.1:{port}", "--poll-interval", f"{interval:g}", "--log.level", "warning",
    ]  # fmt: skip

    def limits() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, nofile)

    with log.open("wb") as stderr:
        return subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=stderr, preexec_fn=limits if nofile else None
        )


def wait_ready(watch: ExporterWatch, began: float, timeout: float, every: float) -> tuple[float | None, str]:
    """(seconds from `began` to /-/ready, ""), or (None, why not): not
    within `timeout`, or HTTP unanswered for UNANSWERED_HTTP s after it
    had answered. Samples /metrics every `every` s meanwhile."""
    next_sample = 0.0
    answered = began + 10  # when HTTP last answered (at first: the 10 s serve may take to listen)
    while time.monotonic() - began < timeout:
        if watch.exporter.poll() is not None:
            raise RuntimeError(f"serve exited with status {watch.exporter.returncode}")
        try:
            if http_get(watch.url + "/-/ready", 10)[0] == 200:
                return time.monotonic() - began, ""
            answered = time.monotonic()
            if time.monotonic() >= next_sample:
                next_sample = time.monotonic() + every
                watch.sample(timeout=10)
        except OSError:  # not listening yet, or no longer answering
            if time.monotonic() - answered > UNANSWERED_HTTP:
                return None, f"HTTP (/-/ready, /metrics) unanswered for {UNANSWERED_HTTP:.0f} s"
        time.sleep(0.5)
    return None, f"no /-/ready within {timeout:.0f} s"


def run_window(watch: ExporterWatch, seconds: float, every: float) -> None:
    watch.start_window()
    end = time.monotonic() + seconds
    while True:
        tick = time.monotonic()
        watch.sample()
        if tick >= end:
            return
        time.sleep(max(0.0, min(every - (time.monotonic() - tick), end - time.monotonic())))


def log_summary(path: Path) -> dict[str, Any]:
    """A serve or lab stderr: line count and the most common messages
    (device names and numbers folded)."""
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    kinds: Counter[str] = Counter()
    for line in lines:
        text = line.split(" msg=", 1)[1] if " msg=" in line else line
        kinds[re.sub(r"\d+(\.\d+)?", "N", re.sub(r"\b(R|SILENT-)\d+\b", "DEV", text))[:160]] += 1
    return {"lines": len(lines), "top": kinds.most_common(4)}


def measure_product(
    lab: subprocess.Popen[bytes],
    inventory: dict,
    control: tuple[str, int],
    folder: Path,
    tag: str,
    args: argparse.Namespace,
    intervals: float,
    nofile: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """One `serve` over `inventory`: its first sweep (restart) and a steady window."""
    routers = len(inventory["devices"])
    path = write_inventory(inventory, folder / f"serve-{tag}.yml", args.polling)
    settings = {**DEFAULTS, **args.polling}
    lab_logins(control, reset=True)
    port = free_port()
    log = folder / f"serve-{tag}.err"
    began = time.monotonic()
    exporter = start_serve(path, port, args.interval, log, nofile)
    watch = ExporterWatch(exporter, lab.pid, f"http://127.0.0.1:{port}", args.interval)
    result: dict[str, Any] = {"routers": routers, "polling": args.polling}
    try:
        timeout = 120 + 2.5 * routers / float(settings["logins_per_second"])
        ready, why = wait_ready(watch, began, timeout, args.sample_every)
        logins = lab_logins(control)
        result.update(
            first_sweep=ready,
            sweep_estimate=routers / float(settings["logins_per_second"]),
            lab_logins=logins,
            logins_within_budget=logins["max_in_progress"] <= settings["login_concurrency"]
            and logins["max_started_within_1s"] <= settings["logins_per_second"],
            warmup_peaks=dict(watch.peaks),
            nofile=soft_nofile(exporter.pid),
        )
        if ready is None:
            status = proc_status(exporter.pid)
            try:
                watch.sample(timeout=10)
                up: int | None = watch.up()
            except OSError:
                up = None  # /metrics unanswered
            result.update(passed=False, up_at_timeout=up, fds_at_timeout=status["fds"], broke=f"{why} ({up} up)")
            result["last_up_seen"] = watch.up()
            print(f"  {tag}: NOT READY: {why}; {up} of {routers} up; {status['fds']:.0f} fds", flush=True)
            return result
        print(
            f"  {tag}: ready in {ready:.0f} s (N / logins_per_second: {result['sweep_estimate']:.0f} s); lab logins: "
            f"{logins['max_in_progress']} at once, {logins['max_started_within_1s']} in 1 s; "
            f"window of {intervals:g} x {args.interval:g} s...",
            flush=True,
        )
        run_window(watch, intervals * args.interval, args.sample_every)
        result.update(watch.window_figures(routers))
        result["peaks"] = dict(watch.peaks)
        result["up_last"] = watch.up()
    finally:
        stopping = time.monotonic()
        stop_process(exporter)
        result["stop_seconds"] = time.monotonic() - stopping
        result["serve_log"] = log_summary(log)
    return result


# --- worker: the plain asyncssh client ----------------------------------------------------


class Pacer:
    """The product's login budget, on asyncio: `concurrency` at once, starts
    1 / per_second apart, each gap stretched by up to `jitter` of it."""

    def __init__(self, concurrency: int, per_second: float, jitter: float) -> None:
        self.gate = asyncio.Semaphore(concurrency)
        self.gap, self.jitter = 1.0 / per_second, jitter
        self.next_start = 0.0

    async def __aenter__(self) -> None:
        await self.gate.acquire()
        now = time.monotonic()
        start = max(now, self.next_start)
        self.next_start = start + self.gap * (1 + random.uniform(0, self.jitter))
        await asyncio.sleep(start - now)

    async def __aexit__(self, *exc: object) -> None:
        self.gate.release()


class AsyncRouter:
    """One router's persistent session and its polls."""

    def __init__(self, device: dict, credentials: dict, stats: dict[str, Any]) -> None:
        self.device, self.credentials, self.stats = device, credentials, stats
        self.conn: Any = None
        self.process: Any = None
        self.prompt = ""
        self.ends: list[float] = []
        self.durations: list[float] = []

    async def _read_to(self, endings: tuple[str, ...]) -> str:
        chunks: list[str] = []
        tail = ""
        while not tail.rstrip(" ").endswith(endings):
            chunk = await self.process.stdout.read(65536)
            if not chunk:
                raise EOFError(f"{self.device['name']} closed the session")
            chunks.append(chunk)
            tail = (tail + chunk)[-256:]
        return "".join(chunks)

    async def login(self, pacer: Pacer) -> None:
        import asyncssh

        async with pacer:
            self.conn = await asyncssh.connect(
                self.device["host"],
                self.device["port"],
                username=self.credentials["username"],
                password=self.credentials["password"],
                known_hosts=None,
            )
            self.process = await self.conn.create_process(term_type="vt100")
            first = await self._read_to((">", "#"))
            host = first.rstrip(" ").splitlines()[-1][:-1]
            if first.rstrip(" ").endswith(">"):
                self.process.stdin.write("enable\n")
                await self._read_to(("Password:",))
                self.process.stdin.write(self.credentials["enable_secret"] + "\n")
                await self._read_to(("#",))
            self.prompt = "\n" + host + "#"
            for line in ("terminal length 0", "terminal width 511"):
                self.process.stdin.write(line + "\n")
                await self._read_to((self.prompt,))

    async def poll(self) -> None:
        from ipsec_ha_monitor.parse import parse_result
        from ipsec_ha_monitor.poll.commands import COMMANDS_BY_ROLE, TYPED, typed

        began = time.monotonic()
        for command in COMMANDS_BY_ROLE[self.device.get("role", "branch")]:
            self.process.stdin.write(typed(command) + "\n")
            text = await self._read_to((self.prompt,))
            body = text.split("\n", 1)[1] if "\n" in text else ""  # after the echo
            body = body[: body.rfind("\n") + 1]  # before the prompt
            cpu = time.process_time()
            parse_result(command, body, self.device.get("platform", "cisco_ios"), filtered=command in TYPED)
            self.stats["parse_cpu"] += time.process_time() - cpu
        self.ends.append(time.monotonic())
        self.durations.append(self.ends[-1] - began)

    async def run(self, pacer: Pacer, interval: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if self.process is None:
                    await self.login(pacer)
                await self.poll()
            except Exception as exc:
                self.stats["errors"] += 1
                self.stats.setdefault("first_errors", []).append(f"{self.device['name']}: {type(exc).__name__}: {exc}")
                if self.conn is not None:
                    self.conn.close()
                self.conn = self.process = None
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except asyncio.TimeoutError:
                pass


async def async_fleet(inventory: dict, interval: float, seconds: float, lab_pid: int) -> dict[str, Any]:
    import asyncssh  # noqa: F401  (imported before the baseline RSS is read)

    from ipsec_ha_monitor.parse import ParseError, parse_result
    from ipsec_ha_monitor.poll.commands import HUB_COMMANDS

    for command in HUB_COMMANDS:  # the templates loaded before the baseline RSS too
        try:
            parse_result(command, "x\n")
        except ParseError:
            pass
    rss_base = proc_status(os.getpid())["rss_mb"]
    credentials = inventory["defaults"]["credentials"]
    stats: dict[str, Any] = {"errors": 0, "parse_cpu": 0.0}
    routers = [AsyncRouter(device, credentials, stats) for device in inventory["devices"]]
    pacer = Pacer(DEFAULTS["login_concurrency"], DEFAULTS["logins_per_second"], DEFAULTS["login_jitter"])
    stop = asyncio.Event()
    began = time.monotonic()
    tasks = [asyncio.create_task(router.run(pacer, interval, stop)) for router in routers]
    while not all(router.ends for router in routers):
        if time.monotonic() - began > 120 + 2.5 * len(routers) / DEFAULTS["logins_per_second"]:
            break
        await asyncio.sleep(0.5)
    ready = time.monotonic() - began
    cpu, lab_cpu, parse_cpu = time.process_time(), proc_cpu_seconds(lab_pid), stats["parse_cpu"]
    start = time.monotonic()
    polls_before = sum(len(router.ends) for router in routers)
    await asyncio.sleep(seconds)
    end = time.monotonic()
    cpu, lab_cpu = time.process_time() - cpu, proc_cpu_seconds(lab_pid) - lab_cpu
    parse_cpu = stats["parse_cpu"] - parse_cpu
    polls = sum(len(router.ends) for router in routers) - polls_before
    status = proc_status(os.getpid())
    gaps = [
        (later - earlier, router.durations[i + 1])
        for router in routers
        for i, (earlier, later) in enumerate(itertools.pairwise(router.ends))
        if later >= start
    ]
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    for router in routers:
        if router.conn is not None:
            router.conn.close()
    n = len(routers)
    return {
        "routers": n,
        "first_sweep": ready,
        "window_seconds": end - start,
        "polls": polls,
        "cpu_ms_per_poll": 1000 * cpu / polls if polls else math.nan,
        "cpu_ms_per_poll_without_parse": 1000 * (cpu - parse_cpu) / polls if polls else math.nan,
        "cores": cpu / (end - start),
        "lab_cores": lab_cpu / (end - start),
        "rss_mb": status["rss_mb"],
        "rss_base_mb": rss_base,
        "rss_kb_per_router": 1024 * status["rss_mb"] / n,
        "rss_kb_per_router_over_base": 1024 * (status["rss_mb"] - rss_base) / n,
        "threads": status["threads"],
        "fds": status["fds"],
        "age_max": max((g for g, _ in gaps), default=math.nan),
        "max_poll_duration": max((d for _, d in gaps), default=math.nan),
        "poll_duration_p50": statistics.median(d for _, d in gaps) if gaps else math.nan,
        "errors": stats["errors"],
        "first_errors": stats.get("first_errors", [])[:5],
        "never_polled": sum(1 for router in routers if not router.ends),
    }


def measure_async(lab_pid: int, inventory: dict, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    path = write_inventory(inventory, folder / "async.yml", {})
    seconds = args.async_intervals * args.interval
    command = [
        sys.executable, str(Path(__file__).resolve()), "--worker", "asyncssh", "--inventory", str(path),
        "--interval", f"{args.interval:g}", "--window", f"{seconds:g}", "--lab-pid", str(lab_pid),
    ]  # fmt: skip
    log = folder / "async.err"
    with log.open("wb") as stderr:
        worker = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=stderr)
    try:
        return read_result(worker, RESULT_MARK, 300 + 2.5 * len(inventory["devices"]) / 20 + seconds)
    finally:
        stop_process(worker)


def read_result(process: subprocess.Popen[bytes], mark: str, timeout: float) -> dict:
    """The JSON after `mark` on a child's stdout."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline().decode(errors="replace")
        if line.startswith(mark):
            return json.loads(line[len(mark) :])
        if not line and process.poll() is not None:
            break
    raise RuntimeError(f"worker exited with status {process.returncode} and no result")


# --- scenarios ----------------------------------------------------------------------------


def diagnose(row: dict[str, Any]) -> str:
    """What gave way, from the window's figures."""
    if row.get("first_sweep") is None:
        return row.get("broke", "the first sweep did not end")
    cores = os.cpu_count() or 1
    reasons = []
    if row["machine_cores"] > 0.9 * cores:
        reasons.append(
            f"CPU: the machine's {cores} cores {100 * row['machine_cores'] / cores:.0f}% busy (exporter "
            f"{row['exporter_cores']:.2f}, lab {row['lab_cores']:.2f}, this script {row['bench_cores']:.2f} cores)"
        )
    if row["exporter_cores"] > 0.85:
        reasons.append(f"the exporter's own CPU: {row['exporter_cores']:.2f} cores (one interpreter lock)")
    if row["polls_waiting_max"] and row["polls_running_max"] >= row["workers_max"]:
        reasons.append(
            f"workers: all {row['workers_max']:.0f} busy, up to {row['polls_waiting_max']:.0f} polls waiting "
            f"(mean {row['polls_waiting_mean']:.1f})"
        )
    if row["starts_late_over_1s"] > 0.01:
        reasons.append(f"{100 * row['starts_late_over_1s']:.0f}% of polls started over 1 s late")
    if row["lab_cores"] > 0.8:
        reasons.append(f"the lab: {row['lab_cores']:.2f} cores")
    if row["down_count"]:
        reasons.append(f"{row['down_count']} devices down (serve log: {row['serve_log']['top'][:2]})")
    if row["devices_seen"] < row["routers"]:
        reasons.append(f"only {row['devices_seen']} of {row['routers']} devices had data")
    return "; ".join(reasons) or "nothing stood out"


def scenario_capacity(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    rows = []
    for size in args.sizes:
        print(f"capacity: {size} routers", flush=True)
        lab, inventory, control, lab_log = start_lab(size, folder, f"cap-{size}")
        try:
            row = measure_product(lab, inventory, control, folder, f"cap-{size}", args, args.intervals)
        finally:
            stop_process(lab)
        row["lab_log"] = log_summary(lab_log)
        if not row.get("passed"):
            row["broke"] = diagnose(row)
        rows.append(row)
        _print_row(row, args)
        if not row.get("passed"):
            print(f"  {size} routers FAILED: {row['broke']}; larger sizes skipped", flush=True)
            break
    passed = [row["routers"] for row in rows if row.get("passed")]
    return {"scenario": "capacity", "interval": args.interval, "largest_passed": max(passed, default=0), "rows": rows}


def _print_row(row: dict[str, Any], args: argparse.Namespace) -> None:
    if row.get("first_sweep") is None:
        return
    print(
        f"  {row['routers']}: data age max {row['age_max']:.1f} s (limit {row['age_limit']:.1f}), p99 "
        f"{row['age_p99']:.1f}; poll max {row['max_poll_duration']:.1f} s; exporter {row['exporter_cores']:.2f} cores, "
        f"{row['cpu_ms_per_poll']:.1f} ms/poll, RSS {row['rss_mb']:.0f} MB, {row['threads']:.0f} threads, "
        f"{row['fds']:.0f} fds, workers {row['workers_last']:.0f}; lab {row['lab_cores']:.2f} cores; machine "
        f"{row['machine_cores']:.2f} cores; {'PASS' if row['passed'] else 'FAIL'}",
        flush=True,
    )


def start_silent(count: int) -> tuple[subprocess.Popen[bytes], list[int]]:
    """isolation_bench's silent hosts: accept TCP, never write a byte."""
    command = [sys.executable, str(Path(__file__).with_name("isolation_bench.py")), "--worker", "silent"]
    process = subprocess.Popen([*command, "--silent", str(count)], cwd=REPO, stdout=subprocess.PIPE)
    try:
        return process, read_result(process, SILENT_MARK, 120)["ports"]
    except BaseException:
        stop_process(process)
        raise


def unanswering_hosts(count: int) -> tuple[list[socket.socket], list[int]]:
    """Listeners whose accept queue (backlog 0) one held connection fills:
    further SYNs are dropped, so a connect waits out its timeout."""
    held: list[socket.socket] = []
    ports = []
    for _ in range(count):
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        filler = socket.create_connection(server.getsockname(), timeout=5)
        held += [server, filler]
        ports.append(server.getsockname()[1])
    return held, ports


def scenario_silent_first(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    print(
        f"silent-first: {args.silent} silent hosts ({args.unanswering} not accepting TCP) before {args.healthy} "
        "lab routers",
        flush=True,
    )
    lab, inventory, control, lab_log = start_lab(args.healthy, folder, "silent")
    silent, ports = start_silent(args.silent - args.unanswering)
    held, closed_ports = unanswering_hosts(args.unanswering)
    result: dict[str, Any] = {"scenario": "silent-first", "silent": args.silent, "unanswering": args.unanswering}
    try:
        healthy = [device["name"] for device in inventory["devices"]]
        silent_devices = [
            {"name": f"SILENT-{n:04d}", "host": "127.0.0.1", "port": port, "role": "branch"}
            for n, port in enumerate(closed_ports + ports, 1)
        ]
        fleet = dict(inventory, devices=silent_devices + inventory["devices"])
        path = write_inventory(fleet, folder / "serve-silent.yml", args.polling)
        lab_logins(control, reset=True)
        port = free_port()
        log = folder / "serve-silent.err"
        began = time.monotonic()
        exporter = start_serve(path, port, args.interval, log)
        watch = ExporterWatch(exporter, lab.pid, f"http://127.0.0.1:{port}", args.interval, set(healthy))
        first_up: dict[str, float] = {}
        durations: dict[str, float] = {}
        try:
            while len(first_up) < len(healthy) and time.monotonic() - began < 300:
                try:
                    page = watch.sample()
                except OSError:
                    time.sleep(0.5)
                    continue
                for name in healthy:
                    values = page["devices"].get(name)
                    if name not in first_up and values and values[2] == 1:
                        first_up[name], durations[name] = page["t"] - began, values[1]
                time.sleep(0.5)
            all_up = max(first_up.values()) if len(first_up) == len(healthy) else None
            longest = max(durations.values(), default=math.nan)
            result.update(
                healthy=len(healthy),
                healthy_up=len(first_up),
                all_healthy_up=all_up,
                first_healthy_up=min(first_up.values(), default=math.nan),
                max_first_poll=longest,
                limit=args.interval + longest,
                lab_logins=lab_logins(control),
            )
            print(
                f"  every healthy router up {all_up if all_up is None else round(all_up, 1)} s after start "
                f"(limit {args.interval:g} + {longest:.1f} s); window of 2 intervals...",
                flush=True,
            )
            run_window(watch, 2 * args.interval, args.sample_every)
            window = watch.window_figures(len(healthy))
            result.update(
                healthy_age_max=window["age_max"],
                healthy_poll_max=window["max_poll_duration"],
                healthy_down=window["down_count"],
                healthy_late=window["devices_late"],
                unanswering_gauge=watch.samples[-1].get(GAUGES[6]),
                dials_max=watch.peaks.get(GAUGES[1], 0.0),
                fds=watch.samples[-1]["fds"],
                threads=watch.samples[-1]["threads"],
            )
            result["passed"] = all_up is not None and all_up <= result["limit"] and window["passed"]
        finally:
            stop_process(exporter)
            result["serve_log"] = log_summary(log)
    finally:
        for sock in held:
            sock.close()
        stop_process(silent)
        stop_process(lab)
    result["lab_log"] = log_summary(lab_log)
    return result


def scenario_nofile(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    n = args.nofile_routers
    print(f"nofile: {n} routers, serve under RLIMIT_NOFILE {args.nofile_soft}/{args.nofile_hard}", flush=True)
    lab, inventory, control, lab_log = start_lab(n, folder, "nofile")
    runs = []
    try:
        for hard, window in ((args.nofile_hard, 1.0), (args.nofile_soft, 0.0)):
            tag = f"nofile-{args.nofile_soft}-{hard}"
            print(f"  soft {args.nofile_soft}, hard {hard}:", flush=True)
            row = measure_product(lab, inventory, control, folder, tag, args, window, (args.nofile_soft, hard))
            row.update(soft=args.nofile_soft, hard=hard)
            if row.get("first_sweep") is not None:
                _print_row(row, args)
            runs.append(row)
            if args.no_contrast:
                break
    finally:
        stop_process(lab)
    return {"scenario": "nofile", "routers": n, "runs": runs, "lab_log": log_summary(lab_log)}


def scenario_async(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    n = args.async_size
    print(f"async-compare: {n} routers, product then plain asyncssh, {args.async_intervals:g} intervals each")
    lab, inventory, control, _ = start_lab(n, folder, "async")
    try:
        product = measure_product(lab, inventory, control, folder, "async-product", args, args.async_intervals)
        _print_row(product, args)
        client = measure_async(lab.pid, inventory, folder, args)
        print(
            f"  asyncssh: ready in {client['first_sweep']:.0f} s; {client['cpu_ms_per_poll']:.1f} ms/poll "
            f"({client['cpu_ms_per_poll_without_parse']:.1f} without parsing), RSS {client['rss_mb']:.0f} MB, "
            f"{client['threads']:.0f} threads, data age max {client['age_max']:.1f} s, errors {client['errors']}",
            flush=True,
        )
    finally:
        stop_process(lab)
    return {"scenario": "async-compare", "routers": n, "product": product, "asyncssh": client}


# --- summary ---------------------------------------------------------------------------------


def _f(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def print_summary(results: list[dict[str, Any]], args: argparse.Namespace, wall: float) -> None:
    print(f"\n{os.cpu_count()} cores shared by the lab, the exporter, this script and any other work; interval "
          f"{args.interval:g} s; polling overrides: {args.polling or 'none'}\n")  # fmt: skip
    for result in results:
        kind = result["scenario"]
        if kind == "capacity":
            print("| routers | first sweep | lab logins at once / in 1 s | data age max (limit) | p99 | poll max | "
                  "p50 | exporter cores | CPU ms / poll | RSS MB (KB/router) | threads (/router) | fds | workers | "
                  "lab cores | machine cores | result |")  # fmt: skip
            print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
            for row in result["rows"]:
                logins = row["lab_logins"]
                head = (
                    f"| {row['routers']:,} | {_f(row['first_sweep'], 0)} s | "
                    f"{logins['max_in_progress']} / {logins['max_started_within_1s']} |"
                )
                if row.get("first_sweep") is None:
                    print(head + " - | - | - | - | - | - | - | - | - | - | - | - | FAIL |")
                    continue
                print(
                    f"{head} {_f(row['age_max'])} ({_f(row['age_limit'])}) | {_f(row['age_p99'])} | "
                    f"{_f(row['max_poll_duration'])} | {_f(row['poll_duration_p50'])} | "
                    f"{_f(row['exporter_cores'], 2)} | "
                    f"{_f(row['cpu_ms_per_poll'])} | {_f(row['rss_mb'], 0)} ({_f(row['rss_kb_per_router'], 0)}) | "
                    f"{row['threads']:,.0f} ({_f(row['threads_per_router'], 2)}) | {row['fds']:,.0f} | "
                    f"{row['workers_last']:.0f} (max {row['workers_max']:.0f}) | {_f(row['lab_cores'], 2)} | "
                    f"{_f(row['machine_cores'], 2)} | {'PASS' if row['passed'] else 'FAIL'} |"
                )
            rows = [row for row in result["rows"] if row.get("first_sweep") is not None]
            for a, b in itertools.pairwise(rows):
                slope = 1024 * (b["rss_mb"] - a["rss_mb"]) / (b["routers"] - a["routers"])
                threads = (b["threads"] - a["threads"]) / (b["routers"] - a["routers"])
                print(f"- {a['routers']} -> {b['routers']}: {slope:.0f} KB RSS and {threads:.2f} threads per router")
            for row in result["rows"]:
                print(
                    f"- {row['routers']}: restart logins within budget: {row['logins_within_budget']} "
                    f"({row['lab_logins']}); exporter's own peak logins_running "
                    f"{row.get('warmup_peaks', {}).get(GAUGES[2], '-')}, dials "
                    f"{row.get('warmup_peaks', {}).get(GAUGES[1], '-')}"
                )
                if row.get("first_sweep") is not None:
                    print(
                        f"  window {row['window_seconds']:.0f} s, {row['polls']:.0f} polls "
                        f"({row['polls_per_second']:.1f}/s), {row['samples']} samples; start delay mean "
                        f"{row['start_delay_mean']:.2f} s, {100 * row['starts_late_over_1s']:.1f}% over 1 s; "
                        f"polls waiting max {row['polls_waiting_max']:.0f}; devices late {row['devices_late']} "
                        f"(worst {row['worst_excess']:.1f} s over); down {row['down_count']}; oldest {row['oldest']}; "
                        f"scrape max {row['scrape_max']:.2f} s ({row['page_mb']:.1f} MB); this script "
                        f"{row['bench_cores']:.2f} cores; stop {row['stop_seconds']:.1f} s"
                    )
                print(f"  serve log: {row['serve_log']}; lab log: {row['lab_log']['lines']} lines")
                if "broke" in row:
                    print(f"  broke: {row['broke']}")
            print(f"\nLargest fleet kept fresh: {result['largest_passed']:,} routers\n")
        elif kind == "silent-first":
            print(
                f"silent-first: {result['silent']} silent hosts ({result['unanswering']} not accepting TCP) listed "
                f"before {result['healthy']} routers: every healthy router up {_f(result['all_healthy_up'])} s after "
                f"start (first {_f(result['first_healthy_up'])} s), limit interval + longest first poll "
                f"{_f(result['limit'])} s; then healthy data age max {_f(result['healthy_age_max'])} s, poll max "
                f"{_f(result['healthy_poll_max'])} s, down {result['healthy_down']}; lab logins "
                f"{result['lab_logins']}; fds {result['fds']:.0f}; {'PASS' if result['passed'] else 'FAIL'}"
            )
            print(f"  serve log: {result['serve_log']}\n")
        elif kind == "nofile":
            for row in result["runs"]:
                if row.get("first_sweep") is not None:
                    state = (
                        f"ready in {row['first_sweep']:.0f} s, {row['up_last']} up at the end, {row['down_count']} "
                        f"seen down, {row['fds']:.0f} fds"
                    )
                else:
                    state = (
                        f"{row['broke']}; {row['last_up_seen']} up in the last /metrics answered, "
                        f"{row['fds_at_timeout']:.0f} fds"
                    )
                print(
                    f"nofile: {result['routers']} routers, serve started under soft {row['soft']} / hard "
                    f"{row['hard']} (it ran with {row['nofile']}): {state}; "
                    f"{'PASS' if row.get('passed') else 'FAIL'}; serve log {row['serve_log']}"
                )
            print()
        elif kind == "async-compare":
            p, c = result["product"], result["asyncssh"]
            print(f"async-compare, {result['routers']} routers, same lab, one after the other:\n")
            print("| client | first sweep | CPU ms / poll | cores | RSS MB | KB / router (over the base) | threads | "
                  "data age max | poll p50 | devices seen down / poll errors | lab cores |")  # fmt: skip
            print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            print(
                f"| product (threads + netmiko) | {_f(p.get('first_sweep'), 0)} s | {_f(p.get('cpu_ms_per_poll'))} | "
                f"{_f(p.get('exporter_cores'), 2)} | {_f(p.get('rss_mb'), 0)} | {_f(p.get('rss_kb_per_router'), 0)} | "
                f"{p.get('threads', 0):,.0f} | {_f(p.get('age_max'))} | {_f(p.get('poll_duration_p50'), 2)} | "
                f"{p.get('down_count', '-')} | {_f(p.get('lab_cores'), 2)} |"
            )
            print(
                f"| plain asyncssh on asyncio | {_f(c['first_sweep'], 0)} s | {_f(c['cpu_ms_per_poll'])} "
                f"({_f(c['cpu_ms_per_poll_without_parse'])} without parsing) | {_f(c['cores'], 2)} | "
                f"{_f(c['rss_mb'], 0)} | {_f(c['rss_kb_per_router'], 0)} ({_f(c['rss_kb_per_router_over_base'], 0)}) | "
                f"{c['threads']:.0f} | {_f(c['age_max'])} | {_f(c['poll_duration_p50'], 2)} | {c['errors']} | "
                f"{_f(c['lab_cores'], 2)} |"
            )
            if c["errors"]:
                print(f"  asyncssh errors: {c['errors']}: {c['first_errors']}")
            print()
    print(f"benchmark wall time {wall:.0f} s")


# --- main ------------------------------------------------------------------------------------


def product_fingerprint() -> str:
    """The commit and a hash of the package's sources as they are now (the
    tree may hold uncommitted work): which code the figures are for."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((REPO / "ipsec_ha_monitor").rglob("*.py")):
        digest.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes())
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return f"commit {head.stdout.strip() or '?'}, ipsec_ha_monitor/*.py sha256 {digest.hexdigest()[:12]}"


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds through the finally blocks that stop the children


def _polling(text: str) -> tuple[str, Any]:
    key, _, value = text.partition("=")
    if not key or not value:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key, yaml.safe_load(value)


SCENARIOS = {
    "capacity": scenario_capacity,
    "silent-first": scenario_silent_first,
    "nofile": scenario_nofile,
    "async-compare": scenario_async,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma separated (default: all)")
    parser.add_argument("--sizes", default="2000,3000,5000", help="capacity: router counts, in order")
    parser.add_argument("--interval", type=float, default=30.0, help="poll interval, seconds (default 30)")
    parser.add_argument("--intervals", type=float, default=3.0, help="capacity: steady window, intervals (3)")
    parser.add_argument("--sample-every", type=float, default=10.0, help="seconds between /metrics samples (10)")
    parser.add_argument("--polling", type=_polling, action="append", default=[], help="inventory polling: key=value")
    parser.add_argument("--healthy", type=int, default=100, help="silent-first: lab routers (100)")
    parser.add_argument("--silent", type=int, default=900, help="silent-first: silent hosts listed first (900)")
    parser.add_argument("--unanswering", type=int, default=100, help="silent-first: of them, not accepting TCP (100)")
    parser.add_argument("--nofile-routers", type=int, default=1100, help="nofile: lab routers (1100)")
    parser.add_argument("--nofile-soft", type=int, default=1024, help="nofile: soft RLIMIT_NOFILE (1024)")
    parser.add_argument("--nofile-hard", type=int, default=4096, help="nofile: hard RLIMIT_NOFILE (4096)")
    parser.add_argument("--no-contrast", action="store_true", help="nofile: skip the run with hard = soft")
    parser.add_argument("--async-size", type=int, default=500, help="async-compare: lab routers (500)")
    parser.add_argument("--async-intervals", type=float, default=2.0, help="async-compare: window, intervals (2)")
    parser.add_argument("--quick", action="store_true", help="small sizes: 200; 20 + 180; 150 under 128; 100")
    parser.add_argument("--worker", choices=("asyncssh",), help=argparse.SUPPRESS)
    parser.add_argument("--inventory", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--window", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--lab-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker == "asyncssh":
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the benchmark process stops its workers
        inventory = yaml.safe_load(args.inventory.read_text())
        result = asyncio.run(async_fleet(inventory, args.interval, args.window, args.lab_pid))
        print(RESULT_MARK + json.dumps(result), flush=True)
        return 0

    if args.quick:
        args.sizes, args.intervals, args.healthy, args.silent, args.unanswering = "200", 2.0, 20, 180, 20
        args.nofile_routers, args.nofile_soft, args.async_size = 150, 128, 100
    args.polling = dict(args.polling)
    scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = [name for name in scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios {unknown}; known: {', '.join(SCENARIOS)}")
    try:
        args.sizes = [int(size) for size in args.sizes.split(",")]
    except ValueError:
        parser.error(f"--sizes: expected comma-separated whole numbers, got {args.sizes!r}")
    if not all(2 <= size <= 250 * 50 for size in args.sizes) or args.interval <= 0 or args.unanswering > args.silent:
        parser.error("sizes from 2 to 12,500 routers (50 a pair), a positive interval, unanswering <= silent")
    signal.signal(signal.SIGTERM, _terminate)
    began = time.perf_counter()
    results = []
    print(f"product: {product_fingerprint()}; {time.strftime('%Y-%m-%d %H:%M %Z')}", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="fleet-bench-") as folder:
            for name in scenarios:
                result = SCENARIOS[name](Path(folder), args)
                result["code"] = product_fingerprint()
                print(RESULT_MARK + json.dumps(result), flush=True)
                results.append(result)
    except KeyboardInterrupt:
        print("interrupted; every child process is stopped", file=sys.stderr)
        return 130
    print_summary(results, args, time.perf_counter() - began)
    return 0


if __name__ == "__main__":
    sys.exit(main())
