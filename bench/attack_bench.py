"""Scrapes under attack: does a Prometheus-like scraper still get /metrics
while hostile clients go at the exporter's HTTP front?

`serve` runs as a process over the lab, with TLS and basic auth (one user,
a cost-12 bcrypt hash), the default limits (64 workers, 32 connections per
client address, 1024 in all, 10 s header deadline). A scraper GETs
/metrics with the right password every second on a kept-alive connection
(as Prometheus does; 10 s scrape timeout; a new connection when one is
lost), its credential verified once before the attack begins. Beside it,
in a process of their own (asyncio), one attack at a time:

  trickle   70 TLS clients sending one header line a second, never the end
            of the head, re-opening at once when cut
  silent    70 clients that connect and never send a ClientHello,
            re-opening at once when cut
  password  64 TLS clients sending wrong passwords for the cost-12 user as
            fast as answers come (keep-alive while the server keeps them)

Attackers come from 127.0.0.2 (another host, `--sources other`) or from
the scraper's own 127.0.0.1 (`--sources same`); `--fresh` makes the scraper
open a new connection for every scrape. Per run: scrapes attempted, those
answered 200 within 10 s and their share, p50/p99 latency, the server's CPU
(user+system over the run, % of one core), and what the attackers got.

    .venv/bin/python bench/attack_bench.py [--seconds 40] [--attacks trickle,silent,password]
                                           [--sources other,same] [--fresh]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import multiprocessing
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import bcrypt

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from support.tls import self_signed  # noqa: E402

from ipsec_ha_monitor.lab import Lab, LabThread  # noqa: E402

USER, PASSWORD, WRONG = "prometheus", "bench-right-password", "bench-wrong-password"
COST = 12
SCRAPE_TIMEOUT = 10.0
SOURCES = {"other": "127.0.0.2", "same": "127.0.0.1"}
CLIENTS = {"trickle": 70, "silent": 70, "password": 64}
SETTLE_SECONDS = 12.0  # between runs: the last attack's connections reach their deadline


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def authorization(password: str) -> str:
    return "Basic " + base64.b64encode(f"{USER}:{password}".encode()).decode()


# --- the scraper -------------------------------------------------------------------------------


class Scraper:
    """GET /metrics every second, kept alive (or `fresh` connections); each
    scrape's latency, or None when it failed or took over 10 s."""

    def __init__(self, port: int, context: ssl.SSLContext, fresh: bool) -> None:
        self.port, self.context, self.fresh = port, context, fresh
        self.results: list[float | None] = []
        self._connection: http.client.HTTPSConnection | None = None

    def scrape(self) -> float | None:
        started = time.monotonic()
        try:
            if self._connection is None:
                self._connection = http.client.HTTPSConnection(
                    "127.0.0.1", self.port, timeout=SCRAPE_TIMEOUT, context=self.context
                )
            self._connection.request("GET", "/metrics", headers={"Authorization": authorization(PASSWORD)})
            response = self._connection.getresponse()
            response.read()
            ok = response.status == 200
            if self.fresh or response.will_close:
                self._drop()
        except (OSError, http.client.HTTPException):
            self._drop()
            ok = False
        took = time.monotonic() - started
        return took if ok and took <= SCRAPE_TIMEOUT else None

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def run(self, seconds: float) -> None:
        next_at = time.monotonic()
        end = next_at + seconds
        while next_at < end:
            self.results.append(self.scrape())
            next_at += 1.0
            time.sleep(max(0.0, next_at - time.monotonic()))
        self._drop()


# --- the attackers (their own process, asyncio) ---------------------------------------------------


async def _connect(port: int, source: str, tls: bool) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    context = None
    if tls:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return await asyncio.wait_for(
        asyncio.open_connection(
            "127.0.0.1", port, ssl=context, local_addr=(source, 0), server_hostname="127.0.0.1" if tls else None
        ),
        30,
    )


async def _trickler(port: int, source: str, end: float, stats: Counter[str]) -> None:
    while time.monotonic() < end:
        try:
            reader, writer = await _connect(port, source, tls=True)
        except (OSError, asyncio.TimeoutError):
            stats["refused"] += 1
            continue
        stats["opened"] += 1
        cut = asyncio.ensure_future(reader.read(65536))
        try:
            writer.write(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            line = 0
            while time.monotonic() < end:
                done, _ = await asyncio.wait([cut], timeout=1.0)
                if done:
                    stats["cut"] += 1
                    break
                line += 1
                writer.write(f"X-Trickle-{line}: a\r\n".encode())
                await writer.drain()
        except (OSError, asyncio.TimeoutError):
            stats["cut"] += 1
        finally:
            cut.cancel()
            writer.close()


async def _silent(port: int, source: str, end: float, stats: Counter[str]) -> None:
    while time.monotonic() < end:
        try:
            reader, writer = await _connect(port, source, tls=False)
        except (OSError, asyncio.TimeoutError):
            stats["refused"] += 1
            continue
        stats["opened"] += 1
        try:
            await asyncio.wait_for(reader.read(65536), max(0.1, end - time.monotonic()))
            stats["cut"] += 1
        except (OSError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()


async def _guesser(port: int, source: str, end: float, stats: Counter[str]) -> None:
    request = (f"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {authorization(WRONG)}\r\n\r\n").encode()
    while time.monotonic() < end:
        try:
            reader, writer = await _connect(port, source, tls=True)
        except (OSError, asyncio.TimeoutError):
            stats["refused"] += 1
            continue
        stats["opened"] += 1
        try:
            while time.monotonic() < end:
                writer.write(request)
                await writer.drain()
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                lines = head.decode("latin-1").lower().split("\r\n")
                stats[lines[0].split()[1]] += 1
                length = next((int(line.split(":")[1]) for line in lines if line.startswith("content-length:")), 0)
                await reader.readexactly(length)
                if "connection: close" in lines:
                    break
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            stats["cut"] += 1
        finally:
            writer.close()


ATTACKERS = {"trickle": _trickler, "silent": _silent, "password": _guesser}


def attack(kind: str, port: int, source: str, seconds: float, results: Any) -> None:
    async def main() -> Counter[str]:
        stats: Counter[str] = Counter()
        end = time.monotonic() + seconds
        await asyncio.gather(*(ATTACKERS[kind](port, source, end, stats) for _ in range(CLIENTS[kind])))
        return stats

    results.put(dict(asyncio.run(main())))


# --- a run ---------------------------------------------------------------------------------------


def run(kind: str, source: str, port: int, pid: int, context: ssl.SSLContext, seconds: float, fresh: bool) -> str:
    results: Any = multiprocessing.Queue()
    attacker = multiprocessing.Process(target=attack, args=(kind, port, SOURCES[source], seconds + 2, results))
    scraper = Scraper(port, context, fresh)
    scraper.scrape()  # connected (kept alive) and verified before the attack, as a running Prometheus is
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
    attacker.start()
    time.sleep(2)  # the attack under way
    scraper.run(seconds)
    cpu = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before)
    stats = results.get(timeout=120)
    attacker.join(60)
    ok = [latency for latency in scraper.results if latency is not None]
    ordered = sorted(ok) or [float("nan")]
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    got = ", ".join(f"{key} {value}" for key, value in sorted(stats.items()))
    return (
        f"{kind:<9} {source:<6} {'fresh' if fresh else 'kept':<6} {len(scraper.results):>5} {len(ok):>5} "
        f"{100 * len(ok) / max(1, len(scraper.results)):>6.1f}% {statistics.median(ordered) * 1000:>8.1f} "
        f"{p99 * 1000:>8.1f} {100 * cpu:>6.0f}%  {got}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0, help="scraping time per attack (default 40)")
    parser.add_argument("--attacks", default="trickle,silent,password")
    parser.add_argument("--sources", default="other,same", help="attackers' address: other (127.0.0.2), same")
    parser.add_argument("--fresh", action="store_true", help="a new connection for every scrape")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="ipsecha-attack-bench-") as name,
        LabThread(Lab(pairs=1, branches=1)) as lab,
    ):
        folder = Path(name)
        cert, key = self_signed(folder)
        hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=COST)).decode()
        web = folder / "web.yml"
        web.write_text(
            f"tls_server_config:\n  cert_file: {cert.name}\n  key_file: {key.name}\n"
            f"basic_auth_users:\n  {USER}: '{hashed}'\n",
            encoding="utf-8",
        )
        inventory = lab.lab.write_inventory(folder / "lab.yml")
        port = free_port()
        log = (folder / "serve.log").open("w+", encoding="utf-8")
        command = [sys.executable, "-m", "ipsec_ha_monitor", "serve", "--config.file", str(inventory)]
        command += ["--web.listen-address", f"127.0.0.1:{port}", "--web.config.file", str(web)]
        command += ["--poll-interval", "10", "--log.level", "warn"]
        server = subprocess.Popen(command, stderr=log, stdout=subprocess.DEVNULL)
        context = ssl.create_default_context(cafile=str(cert))
        try:
            deadline = time.monotonic() + 60
            while Scraper(port, context, True).scrape() is None:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("serve did not start")
                time.sleep(0.5)
            print(f"serve pid {server.pid} on 127.0.0.1:{port}, TLS, bcrypt cost {COST}; {os.cpu_count()} CPUs")
            print(
                f"{'attack':<9} {'from':<6} {'conn':<6} {'tries':>5} {'ok':>5} {'share':>7} {'p50 ms':>8} "
                f"{'p99 ms':>8} {'cpu':>7}  attackers got"
            )
            for source in args.sources.split(","):
                for kind in args.attacks.split(","):
                    print(run(kind, source, port, server.pid, context, args.seconds, args.fresh), flush=True)
                    time.sleep(SETTLE_SECONDS)
        finally:
            server.terminate()
            server.wait(30)
            log.seek(0)
            lines = log.read().splitlines()
            log.close()
        print(f"serve logged {len(lines)} lines; the first of each kind:")
        seen: set[str] = set()
        for line in lines:
            kind = line.split("msg=", 1)[-1][:40]
            if kind not in seen:
                seen.add(kind)
                print("  " + line[:220])


if __name__ == "__main__":
    main()
