"""Lab scale: how many SSH logins and command round trips per second one lab
process serves.

    python bench/lab_bench.py [--pairs 100] [--branches 3] [--concurrency 50] [--rounds 5]

Starts `ipsec-ha-monitor lab` in a separate process (pairs x (2 + branches)
routers; 500 by default), then from this process, with asyncssh:
1. logs in to every router (TCP, key exchange, password, shell, first prompt),
   `concurrency` at a time, and reports logins per second;
2. keeps those sessions, enters enable mode, and sends `show redundancy
   states` (hubs) or `show version` (branches) `rounds` times on every
   session, `concurrency` at a time, reporting command round trips per
   second.
The lab process's CPU seconds and peak RSS come from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncssh
import yaml

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Session:
    def __init__(self, device: dict, credentials: dict) -> None:
        self.device, self.credentials = device, credentials
        self.conn: asyncssh.SSHClientConnection | None = None
        self.process: asyncssh.SSHClientProcess | None = None

    async def _read_until(self, endings: tuple[str, ...]) -> str:
        assert self.process is not None
        buffer = ""
        while not buffer.rstrip(" ").endswith(endings):
            chunk = await self.process.stdout.read(65536)
            if not chunk:
                raise EOFError(f"{self.device['name']} closed the session")
            buffer += chunk
        return buffer

    async def login(self) -> None:
        self.conn = await asyncssh.connect(
            self.device["host"],
            self.device["port"],
            username=self.credentials["username"],
            password=self.credentials["password"],
            known_hosts=None,
        )
        self.process = await self.conn.create_process(term_type="vt100")
        await self._read_until((">",))

    async def enable(self) -> None:
        assert self.process is not None
        self.process.stdin.write("enable\n")
        await self._read_until(("Password:",))
        self.process.stdin.write(self.credentials["enable_secret"] + "\n")
        await self._read_until(("#",))
        self.process.stdin.write("terminal length 0\n")
        await self._read_until(("#",))

    async def command(self, text: str) -> str:
        assert self.process is not None
        self.process.stdin.write(text + "\n")
        return await self._read_until(("#",))

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


async def _bounded(concurrency: int, jobs) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def run(job):
        async with gate:
            await job

    await asyncio.gather(*(run(job) for job in jobs))


async def measure(inventory: dict, concurrency: int, rounds: int, lab_pid: int) -> dict[str, float]:
    credentials = inventory["defaults"]["credentials"]
    sessions = [Session(device, credentials) for device in inventory["devices"]]
    cpu_before = proc_cpu_seconds(lab_pid)
    start = time.perf_counter()
    await _bounded(concurrency, (s.login() for s in sessions))
    login_seconds = time.perf_counter() - start
    cpu_logins = proc_cpu_seconds(lab_pid) - cpu_before
    await _bounded(concurrency, (s.enable() for s in sessions))

    async def work(session: Session) -> None:
        text = "show redundancy states" if session.device.get("role") == "hub" else "show version"
        for _ in range(rounds):
            output = await session.command(text)
            assert "my state" in output or "uptime is" in output, output[:200]

    cpu_before = proc_cpu_seconds(lab_pid)
    start = time.perf_counter()
    await _bounded(concurrency, (work(s) for s in sessions))
    command_seconds = time.perf_counter() - start
    cpu_commands = proc_cpu_seconds(lab_pid) - cpu_before
    for session in sessions:
        session.close()
    return {
        "routers": len(sessions),
        "login_seconds": login_seconds,
        "logins_per_second": len(sessions) / login_seconds,
        "lab_cpu_ms_per_login": 1000 * cpu_logins / len(sessions),
        "commands": len(sessions) * rounds,
        "command_seconds": command_seconds,
        "commands_per_second": len(sessions) * rounds / command_seconds,
        "lab_cpu_ms_per_command": 1000 * cpu_commands / (len(sessions) * rounds),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--branches", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        inventory_path = Path(folder) / "lab.yml"
        command = [
            sys.executable, "-m", "ipsec_ha_monitor", "lab",
            "--pairs", str(args.pairs), "--branches", str(args.branches),
            "--write-inventory", str(inventory_path), "--control-address", f"127.0.0.1:{free_port()}",
        ]  # fmt: skip
        started = time.perf_counter()
        lab = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL)
        try:
            while not inventory_path.exists():
                if lab.poll() is not None or time.perf_counter() - started > 300:
                    raise SystemExit("the lab did not start")
                time.sleep(0.2)
            startup = time.perf_counter() - started
            inventory = yaml.safe_load(inventory_path.read_text())
            results = asyncio.run(measure(inventory, args.concurrency, args.rounds, lab.pid))
            peak_rss = _proc_peak_rss_mb(lab.pid)
        finally:
            lab.terminate()
            lab.wait(30)

    print(
        f"Lab of {results['routers']:.0f} routers in one process (startup {startup:.1f} s, peak RSS {peak_rss:.0f} MB)"
    )
    print(f"concurrency {args.concurrency}, {os.cpu_count()} cores shared by lab and client\n")
    print("| measure | value |")
    print("|---|---:|")
    logins = f"{results['logins_per_second']:.0f} /s ({results['login_seconds']:.1f} s for all)"
    print(f"| SSH logins (to first prompt) | {logins} |")
    print(f"| lab CPU per login | {results['lab_cpu_ms_per_login']:.1f} ms |")
    print(f"| command round trips ({results['commands']:.0f}) | {results['commands_per_second']:.0f} /s |")
    print(f"| lab CPU per command | {results['lab_cpu_ms_per_command']:.2f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
