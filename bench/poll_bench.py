"""Poller scale: one polling cycle over 50, 200 and 500 lab routers with the
monitor's Poller (sessions kept between cycles), against a naive baseline
(a fresh netmiko connection per device poll, one device after the other).

    python bench/poll_bench.py [--sizes 50,200,500] [--cycles 3] [--naive-sample 20] [--workers 32]
    python bench/poll_bench.py --quick          # 50 routers, 2 cycles, naive sample 10
    python bench/poll_bench.py --profile        # also: cProfile of one reused cycle (smallest size)

For each size N, `ipsec-ha-monitor lab` runs in a separate process with
ceil(N / 50) hub pairs of 2 hubs and up to 48 branches each (50 routers a
pair, so every hub answers with 48 branch peers whatever N is), trimmed to
exactly N routers. Once its inventory is written and every router answers
with an SSH banner, two more processes of this script measure, one after
the other, so each has its own peak RSS and CPU clock:

1. reused: `Poller(load_inventory(...))` with `polling: {workers: W}`; one
   login cycle (`poll_all()` logging in to every router), then `--cycles`
   cycles on the same sessions. Per cycle: wall time, commands per second
   (commands run and parsed / wall), and the process CPU seconds
   (time.process_time: every thread, paramiko's transport threads included)
   divided by N: CPU per device poll. Every snapshot must be up and no
   session may be reopened after the login cycle; failures are printed.
   Peak RSS is the process's ru_maxrss (imports included; the RSS after the
   imports is printed below the table). Below the table too: the reused
   cycles' CPU split by thread (per-thread CPU clocks: poll workers,
   paramiko transport threads, the rest), and the CPU the open sessions
   cost while nothing is polled (`--idle` seconds of sleep after the
   cycles), which a real poll interval adds between cycles.
2. naive: what an ad-hoc cron script does, for a stratified sample of
   `--naive-sample` devices (hubs and branches in the fleet's proportion,
   at least one hub), sequentially: ConnectHandler(cisco_ios, host, port,
   username, password, secret; netmiko's defaults otherwise) -> enable() ->
   send_command(c) with default arguments for each of the role's commands
   -> parse_output -> disconnect(). One untimed poll first warms the
   imports and the parser's compiled templates. Wall and CPU (process
   time) per device poll are averaged per role and weighted by the fleet's
   hub/branch mix; the naive sequential cycle is extrapolated from them
   (polling all N one by one would take too long).

The lab's stderr is kept and summarised per size. Ctrl-C or SIGTERM stops
the workers and the lab (the workers ignore Ctrl-C; this process stops them).

The lab shares the machine's cores with the monitor, so absolute times are
noisy when anything else runs; the naive/reused CPU ratio, measured in the
same run, is the figure to compare. Targets: 500 routers polled in one
reused cycle in under 30 s; reused CPU per device poll at least 5x below
the naive baseline's.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from lab_bench import free_port, proc_cpu_seconds  # the lab benchmark's helpers: same machine facts

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ROUTERS_PER_PAIR = 50  # 2 hubs + 48 branches
TARGET_ROUTERS, TARGET_CYCLE_SECONDS, TARGET_CPU_RATIO = 500, 30.0, 5.0
LAB_START_TIMEOUT = 300.0
WORKER_TIMEOUT = 900.0
RESULT_MARK = "POLL-BENCH-RESULT "


# --- /proc helpers -------------------------------------------------------------


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _report(result: dict[str, Any]) -> None:
    print(RESULT_MARK + json.dumps(result), flush=True)


# --- worker: the monitor's poller, sessions reused ----------------------------------


def _cycle_stats(snapshots: dict[str, Any], wall: float, cpu: float, lab_cpu: float) -> dict[str, Any]:
    commands = sum(len(s.results) for s in snapshots.values())
    ok = sum(1 for s in snapshots.values() for r in s.results if r.ok)
    down = [s for s in snapshots.values() if not s.up]
    errors = [f"{s.device}: {f.command}: {f.status}: {f.error}" for s in down[:5] for f in s.failures[:1]]
    return {
        "wall": wall,
        "cpu": cpu,
        "lab_cpu": lab_cpu,
        "devices": len(snapshots),
        "commands": commands,
        "commands_ok": ok,
        "down": len(down),
        "sessions_opened": sum(1 for s in snapshots.values() if s.session_opened),
        "errors": errors,
    }


def _profile_reused(poller: Any, top: int) -> str:
    """One more reused cycle, every device polled in this thread (the same
    DevicePoller.poll the pool runs) under cProfile with a CPU clock of this
    thread; paramiko's transport threads are not profiled, their share is
    given apart."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile(time.thread_time)
    process_before, thread_before = time.process_time(), time.thread_time()
    profiler.enable()
    for name in poller.device_names:
        poller.poll(name)
    profiler.disable()
    process_cpu, thread_cpu = time.process_time() - process_before, time.thread_time() - thread_before
    out = io.StringIO()
    out.write(
        f"Profile of one reused cycle, {len(poller.device_names)} devices polled sequentially in one thread: "
        f"process CPU {process_cpu:.2f} s, of which the polling thread {thread_cpu:.2f} s and other threads "
        f"(paramiko transports, keepalives) {process_cpu - thread_cpu:.2f} s. Polling thread, by tottime (CPU):\n"
    )
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def _thread_cpu() -> dict[str, float]:
    """CPU seconds so far of this process's Python threads, by kind: the
    poller's workers, paramiko's transport threads (one per session: packet
    I/O, ciphers, and a wake-up every 0.1 s), the rest."""
    import threading

    import paramiko

    totals: dict[str, float] = {}
    for thread in threading.enumerate():
        if isinstance(thread, paramiko.Transport):
            kind = "paramiko transports"
        elif thread.name.startswith("poll"):
            kind = "poll workers"
        else:
            kind = "other"
        try:
            seconds = time.clock_gettime(time.pthread_getcpuclockid(thread.ident or 0))
        except (OSError, ProcessLookupError):
            continue  # the thread ended
        totals[kind] = totals.get(kind, 0.0) + seconds
    return totals


def run_reused(inventory_path: Path, cycles: int, lab_pid: int, profile: bool, idle: float) -> dict[str, Any]:
    from ipsec_ha_monitor.inventory import load_inventory
    from ipsec_ha_monitor.poll import Poller

    rss_after_imports = _rss_mb()
    inventory = load_inventory(inventory_path)
    poller = Poller(inventory)
    results: list[dict[str, Any]] = []
    split: dict[str, float] = {}
    profile_text = ""
    try:
        for cycle in range(1 + cycles):
            threads_before = _thread_cpu() if cycle else {}
            cpu_before, lab_before = time.process_time(), proc_cpu_seconds(lab_pid)
            start = time.perf_counter()
            snapshots = poller.poll_all()
            wall = time.perf_counter() - start
            cpu, lab_cpu = time.process_time() - cpu_before, proc_cpu_seconds(lab_pid) - lab_before
            results.append(_cycle_stats(snapshots, wall, cpu, lab_cpu))
            if cycle:  # reused cycles only: the split of their CPU by thread kind
                for kind, seconds in _thread_cpu().items():
                    split[kind] = split.get(kind, 0.0) + seconds - threads_before.get(kind, 0.0)
        threads = len(os.listdir("/proc/self/task"))
        cpu_before = time.process_time()
        time.sleep(idle)  # sessions open, nothing polled: what holding them costs
        idle_cpu = time.process_time() - cpu_before
        if profile:
            profile_text = _profile_reused(poller, 25)
    finally:
        close_start = time.perf_counter()
        poller.close()
        close_seconds = time.perf_counter() - close_start
    return {
        "login": results[0],
        "reused": results[1:],
        "cpu_split": split,
        "idle_cpu_per_second": idle_cpu / idle if idle else float("nan"),
        "workers": inventory.polling.workers,
        "threads": threads,
        "close_seconds": close_seconds,
        "rss_after_imports_mb": rss_after_imports,
        "peak_rss_mb": _peak_rss_mb(),
        "profile": profile_text,
    }


# --- worker: naive baseline ------------------------------------------------------


def _sample(devices: list[Any], size: int) -> list[Any]:
    """`size` devices, hubs and branches in the fleet's proportion (at least
    one hub when there is one), spread evenly over each role's list."""
    hubs = [d for d in devices if d.role == "hub"]
    branches = [d for d in devices if d.role != "hub"]
    size = min(size, len(devices))
    n_hubs = min(len(hubs), max(1 if hubs else 0, round(size * len(hubs) / len(devices))))
    n_branches = min(len(branches), size - n_hubs)

    def spread(items: list[Any], n: int) -> list[Any]:
        return [items[i * len(items) // n] for i in range(n)] if n else []

    return spread(hubs, n_hubs) + spread(branches, n_branches)


def _naive_poll(device: Any) -> tuple[int, list[str]]:
    """One cron-style poll: connect, enable, every command with default
    arguments, parse, disconnect. Returns (commands parsed, errors)."""
    from netmiko import ConnectHandler

    from ipsec_ha_monitor.parse import parse_output
    from ipsec_ha_monitor.poll import COMMANDS_BY_ROLE

    credentials = device.credentials
    ok, errors = 0, []
    try:
        connection = ConnectHandler(
            device_type=device.platform,
            host=device.host,
            port=device.port,
            username=credentials.username,
            password=credentials.password.reveal(),
            secret=credentials.enable_secret.reveal() if credentials.enable_secret else "",
        )
    except Exception as exc:
        return 0, [f"{device.name}: login: {type(exc).__name__}: {str(exc).strip()[:120]}"]
    try:
        connection.enable()
        for command in COMMANDS_BY_ROLE[device.role]:
            try:
                parse_output(command, connection.send_command(command))
                ok += 1
            except Exception as exc:
                errors.append(f"{device.name}: {command}: {type(exc).__name__}: {str(exc).strip()[:120]}")
    except Exception as exc:
        errors.append(f"{device.name}: enable: {type(exc).__name__}: {str(exc).strip()[:120]}")
    finally:
        try:
            connection.disconnect()
        except Exception as exc:
            errors.append(f"{device.name}: disconnect: {type(exc).__name__}")
    return ok, errors


def run_naive(inventory_path: Path, sample_size: int) -> dict[str, Any]:
    from ipsec_ha_monitor.inventory import load_inventory
    from ipsec_ha_monitor.poll import COMMANDS_BY_ROLE

    devices = list(load_inventory(inventory_path).devices.values())
    sample = _sample(devices, sample_size)
    _naive_poll(sample[0])  # warm-up, untimed: imports, compiled templates
    per_role: dict[str, dict[str, list[float]]] = {}
    commands = ok = 0
    errors: list[str] = []
    for device in sample:
        cpu_before, start = time.process_time(), time.perf_counter()
        parsed, failed = _naive_poll(device)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_before
        role = per_role.setdefault(device.role, {"wall": [], "cpu": []})
        role["wall"].append(wall)
        role["cpu"].append(cpu)
        commands += len(COMMANDS_BY_ROLE[device.role])
        ok += parsed
        errors += failed
    fleet = {role: sum(1 for d in devices if d.role == role) for role in per_role}
    missing = [role for role in {d.role for d in devices} if role not in per_role]
    if missing:
        raise SystemExit(f"naive sample holds no {missing}")
    total = sum(fleet.values())
    cycle = sum(fleet[r] * statistics.mean(per_role[r]["wall"]) for r in per_role)
    cpu_per_poll = sum(fleet[r] * statistics.mean(per_role[r]["cpu"]) for r in per_role) / total
    wall_per_poll = cycle / total
    return {
        "sample": len(sample),
        "sample_roles": {r: len(v["wall"]) for r, v in per_role.items()},
        "commands": commands,
        "commands_ok": ok,
        "errors": errors[:5],
        "error_count": len(errors),
        "cpu_per_poll": cpu_per_poll,
        "wall_per_poll": wall_per_poll,
        "extrapolated_cycle": cycle,
        "peak_rss_mb": _peak_rss_mb(),
    }


# --- orchestration ---------------------------------------------------------------


def _lab_shape(size: int) -> tuple[int, int]:
    pairs = math.ceil(size / ROUTERS_PER_PAIR)
    return pairs, math.ceil(size / pairs) - 2


def wait_for_lab(lab: subprocess.Popen[bytes], inventory_path: Path, started: float) -> dict[str, Any]:
    """The lab's inventory, once written and every router sends its SSH banner."""
    while not inventory_path.exists():
        if lab.poll() is not None:
            raise RuntimeError(f"the lab exited with status {lab.returncode}")
        if time.perf_counter() - started > LAB_START_TIMEOUT:
            raise RuntimeError(f"the lab wrote no inventory within {LAB_START_TIMEOUT:.0f} s")
        time.sleep(0.2)
    inventory = yaml.safe_load(inventory_path.read_text())
    for device in inventory["devices"]:
        while True:
            try:
                with socket.create_connection((device["host"], device["port"]), timeout=10) as probe:
                    if probe.recv(64).startswith(b"SSH-"):
                        break
            except OSError:
                pass
            if lab.poll() is not None or time.perf_counter() - started > LAB_START_TIMEOUT:
                raise RuntimeError(f"{device['name']} does not answer on port {device['port']}")
            time.sleep(0.2)
    return inventory


def _run_worker(args: list[str]) -> dict[str, Any]:
    """This script as a child process; its result is the JSON line it prints.
    The child ignores Ctrl-C: this process stops it (and reaps it) instead."""
    worker = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *args], cwd=REPO, stdout=subprocess.PIPE)
    try:
        stdout, _ = worker.communicate(timeout=WORKER_TIMEOUT)
    finally:
        stop_process(worker)
    for line in reversed(stdout.decode(errors="replace").splitlines()):
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK) :])
    raise RuntimeError(f"worker {args[:2]} exited with status {worker.returncode} and no result")


def measure_size(size: int, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    pairs, branches = _lab_shape(size)
    lab_inventory = folder / f"lab-{size}.yml"
    command = [
        sys.executable, "-m", "ipsec_ha_monitor", "lab",
        "--pairs", str(pairs), "--branches", str(branches), "--time-scale", "1",
        "--write-inventory", str(lab_inventory), "--control-address", f"127.0.0.1:{free_port()}",
    ]  # fmt: skip
    started = time.perf_counter()
    lab_log = folder / f"lab-{size}.err"
    with lab_log.open("wb") as stderr:
        lab = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        inventory = wait_for_lab(lab, lab_inventory, started)
        startup = time.perf_counter() - started
        inventory["devices"] = inventory["devices"][:size]  # trailing branches of the last pair
        inventory["polling"] = {"workers": args.workers}
        poll_inventory = folder / f"poll-{size}.yml"
        descriptor = os.open(poll_inventory, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # inline lab secrets
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            yaml.safe_dump(inventory, handle, sort_keys=False)
        print(f"{size} routers: lab up in {startup:.1f} s ({pairs} pairs x (2 + {branches})); polling...", flush=True)
        reused = _run_worker(
            ["--worker", "reused", "--inventory", str(poll_inventory), "--cycles", str(args.cycles)]
            + ["--lab-pid", str(lab.pid), "--idle", str(args.idle)]
            + (["--profile"] if args.profile and size == min(args.sizes) else [])
        )
        naive_args = ["--inventory", str(poll_inventory), "--naive-sample", str(args.sample)]
        naive = _run_worker(["--worker", "naive", *naive_args])
    finally:
        stop_process(lab)
    lab_errors = lab_log.read_text(errors="replace").splitlines()
    return {
        "size": size,
        "routers": len(inventory["devices"]),
        "startup": startup,
        "reused": reused,
        "naive": naive,
        "lab_stderr": lab_errors,
    }


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate (then kill) a child process if it still runs, and reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


def _print_results(rows: list[dict[str, Any]], args: argparse.Namespace, wall: float) -> None:
    print(f"\n{os.cpu_count()} cores shared by the lab and the monitor; {args.workers} poll workers; ", end="")
    print(f"{args.cycles} reused cycles per size (median shown); naive sample {args.sample} devices per size\n")
    print(
        "| routers | login cycle s | reused cycle s | commands/s | CPU ms/poll reused | CPU ms/poll naive "
        "| naive/reused | naive seq. cycle s | peak RSS MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        reused, naive, login, n = row["reused"]["reused"], row["naive"], row["reused"]["login"], row["routers"]
        cycle = statistics.median(c["wall"] for c in reused)
        rate = statistics.median(c["commands_ok"] / c["wall"] for c in reused)
        cpu_ms = 1000 * statistics.median(c["cpu"] / c["devices"] for c in reused)
        naive_ms = 1000 * naive["cpu_per_poll"]
        ratio = naive_ms / cpu_ms if cpu_ms else float("inf")
        row["cycle"], row["ratio"] = cycle, ratio
        print(
            f"| {n} | {login['wall']:.1f} | {cycle:.2f} | {rate:.0f} | {cpu_ms:.1f} | {naive_ms:.1f} "
            f"| {ratio:.1f}x | {naive['extrapolated_cycle']:.0f} | {row['reused']['peak_rss_mb']:.0f} |"
        )
    print("\nDetails:")
    for row in rows:
        reused, naive, login, n = row["reused"], row["naive"], row["reused"]["login"], row["routers"]
        walls = ", ".join(f"{c['wall']:.2f}" for c in reused["reused"])
        lab_cpu = statistics.median(c["lab_cpu"] for c in reused["reused"])
        print(
            f"- {n} routers: lab startup {row['startup']:.1f} s; login cycle CPU {1000 * login['cpu'] / n:.1f} ms "
            f"per device; reused cycles {walls} s; lab CPU per reused cycle {lab_cpu:.1f} s; "
            f"{reused['threads']} threads; close {reused['close_seconds']:.1f} s; RSS after imports "
            f"{reused['rss_after_imports_mb']:.0f} MB"
        )
        total = sum(c["cpu"] for c in reused["reused"])
        split = dict(reused["cpu_split"])
        if total - sum(split.values()) > 0.01 * total:
            split["ended threads"] = total - sum(split.values())
        shares = ", ".join(f"{kind} {100 * seconds / total:.0f}%" for kind, seconds in split.items() if total)
        print(f"  reused CPU by thread: {shares}")
        idle = reused["idle_cpu_per_second"]
        print(
            f"  idle, {n} sessions open: {100 * idle:.1f}% of a core ({1000 * idle * 60 / n:.1f} ms CPU per session "
            "per minute, not counted in the cycles above)"
        )
        roles = ", ".join(f"{k} {v}" for k, v in naive["sample_roles"].items())
        print(
            f"  naive: sample of {naive['sample']} ({roles}), {1000 * naive['wall_per_poll']:.0f} ms wall per device "
            f"poll (fleet-weighted), {naive['commands_ok']}/{naive['commands']} commands parsed, "
            f"peak RSS {naive['peak_rss_mb']:.0f} MB"
        )
        for name, cycle in [("login", login)] + [(f"cycle {i + 1}", c) for i, c in enumerate(reused["reused"])]:
            reopened = cycle["sessions_opened"] if name != "login" else 0
            if cycle["down"] or reopened or cycle["commands_ok"] != cycle["commands"]:
                print(
                    f"  FAILURES in {name}: {cycle['down']} devices down, {cycle['commands'] - cycle['commands_ok']} "
                    f"commands failed, {reopened} sessions reopened"
                )
                for error in cycle["errors"]:
                    print(f"    {error}")
        if row["lab_stderr"]:
            lines = row["lab_stderr"]
            common = max(set(lines), key=lines.count)
            print(f"  lab stderr: {len(lines)} lines, {lines.count(common)} x {common!r}")
        if naive["error_count"]:
            print(f"  NAIVE FAILURES: {naive['error_count']}")
            for error in naive["errors"]:
                print(f"    {error}")
    print("\nTargets:")
    big = [row for row in rows if row["routers"] >= TARGET_ROUTERS]
    if big:
        row = max(big, key=lambda r: r["routers"])
        verdict = "PASS" if row["cycle"] < TARGET_CYCLE_SECONDS else "FAIL"
        print(
            f"- {row['routers']} routers, one reused cycle < {TARGET_CYCLE_SECONDS:.0f} s: "
            f"{row['cycle']:.1f} s {verdict}"
        )
    else:
        print(f"- {TARGET_ROUTERS} routers, one reused cycle < {TARGET_CYCLE_SECONDS:.0f} s: not measured")
    for row in rows:
        verdict = "PASS" if row["ratio"] >= TARGET_CPU_RATIO else "FAIL"
        target = f"naive/reused CPU per poll >= {TARGET_CPU_RATIO:g}x"
        print(f"- {row['routers']} routers, {target}: {row['ratio']:.1f}x {verdict}")
    print(f"\nbenchmark wall time {wall:.0f} s")
    for row in rows:
        if row["reused"]["profile"]:
            print(f"\n{row['routers']} routers: {row['reused']['profile']}")


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds through the finally blocks that stop the children


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="50,200,500", help="router counts, comma separated (default 50,200,500)")
    parser.add_argument("--cycles", type=int, default=3, help="reused cycles measured after the login cycle")
    parser.add_argument("--naive-sample", dest="sample", type=int, default=20, help="devices the naive baseline polls")
    parser.add_argument("--workers", type=int, default=32, help="the poller's worker threads (polling.workers)")
    parser.add_argument(
        "--idle", type=float, default=5.0, help="seconds to measure the CPU of idle open sessions (default 5)"
    )
    parser.add_argument("--quick", action="store_true", help="50 routers, 2 cycles, naive sample 10")
    parser.add_argument("--profile", action="store_true", help="cProfile one reused cycle at the smallest size")
    parser.add_argument("--worker", choices=("reused", "naive"), help=argparse.SUPPRESS)
    parser.add_argument("--inventory", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--lab-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the benchmark process stops its workers
    if args.worker == "reused":
        _report(run_reused(args.inventory, args.cycles, args.lab_pid, args.profile, args.idle))
        return 0
    if args.worker == "naive":
        _report(run_naive(args.inventory, args.sample))
        return 0

    if args.quick:
        args.sizes, args.cycles, args.sample = "50", 2, 10
    try:
        args.sizes = sorted({int(size) for size in args.sizes.split(",")})
    except ValueError:
        parser.error(f"--sizes: expected comma-separated whole numbers, got {args.sizes!r}")
    if not all(2 <= size <= 250 * 252 for size in args.sizes) or args.cycles < 1 or args.sample < 1:
        parser.error("sizes from 2 to 63000 routers, at least 1 cycle and a naive sample of at least 1")
    signal.signal(signal.SIGTERM, _terminate)
    began = time.perf_counter()
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="poll-bench-") as folder:
            for size in args.sizes:
                rows.append(measure_size(size, Path(folder), args))
    except KeyboardInterrupt:
        print("interrupted; every child process is stopped", file=sys.stderr)
        return 130
    _print_results(rows, args, time.perf_counter() - began)
    return 0


if __name__ == "__main__":
    sys.exit(main())
