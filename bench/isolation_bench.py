"""Polling isolation: 100 healthy lab routers beside 900 hosts that accept
TCP and never answer SSH. How old does the healthy routers' data get?

    python bench/isolation_bench.py [--healthy 100] [--silent 900] [--interval 5] [--connect-timeout 2]
                                    [--workers 32] [--seconds 120] [--mode both|new|old]
    python bench/isolation_bench.py --quick      # 50 + 450, 60 s per mode

Processes, all on this machine:
- the lab (`ipsec-ha-monitor lab`, time scale 1): ceil(healthy / 50) pairs
  of 2 hubs + 48 branches, trimmed to `--healthy` routers;
- the silent hosts (this script, `--worker silent`): `--silent` TCP
  listeners on 127.0.0.1 (asyncio) that accept every connection, read and
  drop what the client sends, and never write a byte, so each SSH login
  waits for its banner until the connect timeout;
- the exporter (this script, `--worker new|old`), one after the other: an
  Exporter over the inventory of both (the silent hosts spread evenly
  among the lab routers), `polling: {workers, connect_timeout,
  command_timeout: 5, poll_timeout: 10}`, polling every `--interval` s:
    new: Exporter.start(): each device on its own clock (the Scheduler);
    old: the loop this exporter had before: Exporter.poll_all() (one pass
         over the inventory, each device recorded as its poll ends) then a
         wait for the rest of the interval, again and again.
  Once every healthy router has data, for `--seconds`, every 0.5 s: the
  /metrics page rendered afresh (Exporter.metrics_page(max_age=0), what a
  scrape gets) and every healthy router's `ipsecha_data_age_seconds` read
  from it. Reported per mode: the healthy routers' data age (max, p99,
  p50 over all samples), their polls in the window, the silent hosts'
  login attempts, and how late polls started (the exporter's own
  ipsecha_exporter_poll_start_delay_seconds, new mode only).

Target (issue 16): with the new schedule, the healthy routers' data age
stays under two poll intervals. The ratios old / new are the point; the
absolute figures depend on the machine (the lab, the silent hosts and the
exporter share its cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml
from lab_bench import free_port
from poll_bench import stop_process, wait_for_lab

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ROUTERS_PER_PAIR = 50
RESULT_MARK = "ISOLATION-BENCH-RESULT "
SAMPLE_EVERY = 0.5
WARM_UP_TIMEOUT = 900.0
AGE_PREFIX = 'ipsecha_data_age_seconds{device="'


# --- worker: the silent hosts ---------------------------------------------------------


async def _silent_hosts(count: int) -> None:
    accepted = 0

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        try:
            while await reader.read(4096):  # the client's banner and nothing else; never answered
                pass
        except OSError:
            pass
        finally:
            writer.close()

    servers = [await asyncio.start_server(hold, "127.0.0.1", 0, backlog=128) for _ in range(count)]
    ports = [server.sockets[0].getsockname()[1] for server in servers]
    print(RESULT_MARK + json.dumps({"ports": ports}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    print(f"silent hosts: {accepted} connections accepted", file=sys.stderr, flush=True)


# --- worker: the exporter -------------------------------------------------------------


def run_exporter(inventory_path: Path, mode: str, interval: float, seconds: float, healthy: list[str]) -> dict:
    from ipsec_ha_monitor.export.exporter import Exporter
    from ipsec_ha_monitor.inventory import load_inventory

    exporter = Exporter(load_inventory(inventory_path))
    wanted = set(healthy)
    polls: dict[str, int] = {}
    lock = threading.Lock()

    def count(recorded: Any) -> None:
        with lock:
            for name in recorded.snapshots:
                polls[name] = polls.get(name, 0) + 1

    exporter.monitor.subscribe(on_record=count)
    stop = threading.Event()
    loop: threading.Thread | None = None
    began = time.monotonic()
    if mode == "new":
        exporter.start(interval)
    else:  # the background loop as it was: a pass over every device, then the rest of the interval

        def old_loop() -> None:
            while not stop.is_set():
                started = time.monotonic()
                exporter.poll_all()
                stop.wait(max(0.0, interval - (time.monotonic() - started)))

        loop = threading.Thread(target=old_loop, name="old-poll-loop", daemon=True)
        loop.start()
    try:
        while not wanted <= set(exporter.monitor.state().snapshots):
            if time.monotonic() - began > WARM_UP_TIMEOUT:
                raise RuntimeError("the healthy routers were not all polled in time")
            time.sleep(0.2)
        first_data = time.monotonic() - began
        with lock:
            polls_before = dict(polls)
        ages: list[float] = []
        worst: dict[str, float] = {}
        down = set()
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            tick = time.monotonic()
            for line in exporter.metrics_page(max_age=0).decode().splitlines():
                if line.startswith(AGE_PREFIX):
                    name = line[len(AGE_PREFIX) :].split('"', 1)[0]
                    if name in wanted:
                        age = float(line.rsplit(" ", 1)[1])
                        ages.append(age)
                        worst[name] = max(worst.get(name, 0.0), age)
            state = exporter.monitor.state()
            down |= {name for name in wanted if not state.snapshots[name].up}
            time.sleep(max(0.0, SAMPLE_EVERY - (time.monotonic() - tick)))
        window = time.monotonic() - start
        with lock:
            polled = {name: polls.get(name, 0) - polls_before.get(name, 0) for name in polls}
        own = exporter.own_metrics()
    finally:
        stop.set()
        stopping = time.monotonic()
        if loop is not None:
            loop.join(timeout=10)  # as the old Exporter.stop() did: the pass under way ends first
        exporter.stop()
        stop_seconds = time.monotonic() - stopping
    ages.sort()
    silent = [n for name, n in polled.items() if name not in wanted]
    return {
        "mode": mode,
        "first_data": first_data,
        "window": window,
        "samples": len(ages),
        "age_max": ages[-1],
        "age_p99": ages[min(len(ages) - 1, math.ceil(0.99 * len(ages)) - 1)],
        "age_p50": statistics.median(ages),
        "worst_device": max(worst, key=worst.__getitem__),
        "healthy_polls": sum(n for name, n in polled.items() if name in wanted),
        "healthy_polls_min": min(polled.get(name, 0) for name in wanted),
        "healthy_down": sorted(down),
        "silent_polls": sum(silent),
        "silent_polled": len([n for n in silent if n]),
        "own": [line for line in own.splitlines() if "start_delay" in line or "cycles_total " in line],
        "stop_seconds": stop_seconds,
    }


# --- orchestration --------------------------------------------------------------------


def _result(process: subprocess.Popen[bytes], timeout: float) -> dict:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline().decode(errors="replace")
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK) :])
        if not line and process.poll() is not None:
            break
    raise RuntimeError(f"worker exited with status {process.returncode} and no result")


def _worker(*args: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """This script as a child process (its stderr to `log`, if given)."""
    command = [sys.executable, str(Path(__file__).resolve()), *args]
    if log is None:
        return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE)
    with log.open("wb") as stderr:
        return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=stderr)


def build_inventory(lab_inventory: dict, ports: list[int], args: argparse.Namespace, path: Path) -> list[str]:
    """The lab's routers with the silent hosts spread evenly among them."""
    healthy = lab_inventory["devices"][: args.healthy]
    silent = [
        {"name": f"SILENT-{n:04d}", "host": "127.0.0.1", "port": port, "role": "branch"}
        for n, port in enumerate(ports, 1)
    ]
    devices: list[dict] = []
    for index, device in enumerate(healthy):
        devices.append(device)
        devices += silent[index * len(silent) // len(healthy) : (index + 1) * len(silent) // len(healthy)]
    names = {device["name"] for device in healthy}
    inventory = dict(lab_inventory)
    inventory["devices"] = devices
    inventory["pairs"] = [pair for pair in lab_inventory["pairs"] if set(pair["members"]) <= names]
    inventory["polling"] = {
        "workers": args.workers,
        "connect_timeout": args.connect_timeout,
        "command_timeout": 5,
        "poll_timeout": 10,
    }
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the lab's inline credentials
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory, handle, sort_keys=False)
    return [device["name"] for device in healthy]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--healthy", type=int, default=100, help="lab routers (default 100)")
    parser.add_argument("--silent", type=int, default=900, help="hosts that accept TCP and never answer (900)")
    parser.add_argument("--interval", type=float, default=5.0, help="poll interval, seconds (default 5)")
    parser.add_argument("--connect-timeout", type=float, default=2.0, help="polling.connect_timeout (default 2)")
    parser.add_argument("--workers", type=int, default=32, help="polling.workers (default 32)")
    parser.add_argument("--seconds", type=float, default=120.0, help="measuring window per mode (default 120)")
    parser.add_argument("--mode", choices=("both", "new", "old"), default="both")
    parser.add_argument("--quick", action="store_true", help="50 healthy + 450 silent, 60 s per mode")
    parser.add_argument("--worker", choices=("silent", "new", "old"), help=argparse.SUPPRESS)
    parser.add_argument("--inventory", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--names", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker == "silent":
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        asyncio.run(_silent_hosts(args.silent))
        return 0
    if args.worker in ("new", "old"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        names = json.loads(Path(args.names).read_text())
        result = run_exporter(args.inventory, args.worker, args.interval, args.seconds, names)
        print(RESULT_MARK + json.dumps(result), flush=True)
        return 0

    if args.quick:
        args.healthy, args.silent, args.seconds = 50, 450, 60.0
    if args.healthy < 2 or args.silent < 0 or args.interval <= 0 or args.seconds <= 0:
        parser.error("at least 2 healthy routers, a positive interval and window")
    modes = ["new", "old"] if args.mode == "both" else [args.mode]
    pairs = math.ceil(args.healthy / ROUTERS_PER_PAIR)
    branches = math.ceil(args.healthy / pairs) - 2
    began = time.perf_counter()
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="isolation-bench-") as folder:
        lab_path = Path(folder) / "lab.yml"
        command = [
            sys.executable, "-m", "ipsec_ha_monitor", "lab", "--pairs", str(pairs), "--branches", str(branches),
            "--time-scale", "1", "--write-inventory", str(lab_path), "--control-address", f"127.0.0.1:{free_port()}",
        ]  # fmt: skip
        lab = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        silent = _worker("--worker", "silent", "--silent", str(args.silent))
        children = [lab, silent]
        try:
            lab_inventory = wait_for_lab(lab, lab_path, time.perf_counter())
            ports = _result(silent, 120)["ports"] if args.silent else []
            inventory_path = Path(folder) / "fleet.yml"
            healthy = build_inventory(lab_inventory, ports, args, inventory_path)
            names_path = Path(folder) / "healthy.json"
            names_path.write_text(json.dumps(healthy))
            print(
                f"{len(healthy)} lab routers + {len(ports)} silent hosts; interval {args.interval:g} s, "
                f"{args.workers} workers, connect_timeout {args.connect_timeout:g} s; {args.seconds:g} s per mode",
                flush=True,
            )
            for mode in modes:
                print(f"{mode}: polling...", flush=True)
                log = Path(folder) / f"{mode}.err"  # a warning per failed login, paramiko's tracebacks
                worker = _worker(
                    "--worker", mode, "--inventory", str(inventory_path), "--names", str(names_path),
                    "--interval", str(args.interval), "--seconds", str(args.seconds), log=log,
                )  # fmt: skip
                children.append(worker)
                try:
                    results.append(_result(worker, WARM_UP_TIMEOUT + args.seconds + 120))
                finally:
                    stop_process(worker)
                    lines = log.read_text(errors="replace").splitlines()
                    print(f"{mode}: exporter stderr {len(lines)} lines (failed logins)", flush=True)
                    if not results or results[-1]["mode"] != mode:
                        print("\n".join(lines[-30:]), file=sys.stderr)
        except KeyboardInterrupt:
            print("interrupted; every child process is stopped", file=sys.stderr)
            return 130
        finally:
            for child in reversed(children):
                stop_process(child)
    _print(results, args, time.perf_counter() - began)
    return 0


def _print(results: list[dict], args: argparse.Namespace, wall: float) -> None:
    interval = args.interval
    print(f"\n{os.cpu_count()} cores shared by the lab, the silent hosts and the exporter\n")
    print(
        "| mode | healthy data age max | p99 | p50 | first data for all (s) | healthy polls / router / interval "
        "| silent logins tried | stop() |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        per_interval = r["healthy_polls"] / args.healthy / (r["window"] / interval)
        print(
            f"| {r['mode']} | {r['age_max']:.1f} s ({r['age_max'] / interval:.2f} intervals) "
            f"| {r['age_p99']:.1f} s | {r['age_p50']:.1f} s | {r['first_data']:.0f} | {per_interval:.2f} "
            f"| {r['silent_polls']} ({r['silent_polled']} hosts) | {r['stop_seconds']:.1f} s |"
        )
    by_mode = {r["mode"]: r for r in results}
    if "new" in by_mode and "old" in by_mode:
        new, old = by_mode["new"], by_mode["old"]
        print(
            f"\nold / new: data age max {old['age_max'] / new['age_max']:.1f}x, p99 "
            f"{old['age_p99'] / new['age_p99']:.1f}x, p50 {old['age_p50'] / new['age_p50']:.1f}x; healthy polls "
            f"new / old {new['healthy_polls'] / max(1, old['healthy_polls']):.1f}x"
        )
    for r in results:
        print(
            f"\n{r['mode']}: {r['samples']} age samples over {r['window']:.0f} s; oldest: {r['worst_device']}; "
            f"fewest polls of one healthy router: {r['healthy_polls_min']}"
        )
        if r["healthy_down"]:
            print(f"  healthy routers seen down: {', '.join(r['healthy_down'][:10])}")
        for line in r["own"]:
            print(f"  {line}")
    if "new" in by_mode:
        new = by_mode["new"]
        verdict = "PASS" if new["age_max"] < 2 * interval else "FAIL"
        print(
            f"\nTarget: healthy data age under two intervals ({2 * interval:g} s) with the new schedule: "
            f"max {new['age_max']:.1f} s {verdict}"
        )
    print(f"benchmark wall time {wall:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
