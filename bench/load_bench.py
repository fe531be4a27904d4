"""Scrape load: 20 concurrent scrapers on /metrics for 30 s, against an
exporter (`ipsec-ha-monitor serve`, its own process) polling 200 lab
routers (the lab in a third process) in the background.

    python bench/load_bench.py [--routers 200] [--scrapers 20] [--seconds 30] [--poll-interval 5]

Each scraper GETs /metrics (asking for gzip, as Prometheus does) again as
soon as the previous answer is read,
the way several Prometheus servers and dashboards would, never all in step.
The exporter keeps polling meanwhile, so scrapes race the poll results
being recorded. Reported: scrapes, errors (non-200, a body that does not
parse, a device missing), latency p50 / p99 / max. Target: no error and no
scrape over 1 s.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from lab_bench import free_port
from poll_bench import stop_process, wait_for_lab
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[1]


def scrape_loop(url: str, until: float, devices: int, latencies: list[float], errors: list[str]) -> None:
    """Scrape until `until`. Only the fetch is timed; every answer's status
    and device count are checked (C-level work: this process's 20 threads
    share one interpreter lock, and parsing each answer in Python here would
    time this process rather than the exporter; main() parses answers in
    full before and after the load)."""
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            body = fetch(url)
        except Exception as exc:  # counted, whatever it is
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        latencies.append(time.monotonic() - started)
        up = body.count(b"\nipsecha_device_up{")
        if up != devices:
            errors.append(f"{up} devices in the answer, expected {devices}")


def fetch(url: str) -> bytes:
    """One scrape, asking for gzip as Prometheus does; HTTPError for non-200."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
        if response.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
    return body


def parses(url: str, devices: int) -> bool:
    """A whole answer read by prometheus_client's parser, every device in it."""
    families = list(text_string_to_metric_families(fetch(url).decode()))
    up = next(family for family in families if family.name == "ipsecha_device_up")
    return len(up.samples) == devices


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--routers", type=int, default=200)
    parser.add_argument("--scrapers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--poll-interval", type=float, default=5.0)
    args = parser.parse_args()
    pairs = max(1, args.routers // 50)
    branches = args.routers // pairs - 2
    with tempfile.TemporaryDirectory(prefix="ipsecha-load-") as folder:
        inventory_path = Path(folder) / "lab.yml"
        lab = subprocess.Popen(
            [sys.executable, "-m", "ipsec_ha_monitor", "lab", "--pairs", str(pairs), "--branches", str(branches),
             "--write-inventory", str(inventory_path), "--control-address", f"127.0.0.1:{free_port()}"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        serve = None
        try:
            inventory = wait_for_lab(lab, inventory_path, time.perf_counter())
            devices = len(inventory["devices"])
            port = free_port()
            serve = subprocess.Popen(
                [sys.executable, "-m", "ipsec_ha_monitor", "serve", "--config", str(inventory_path),
                 "--web.listen-address", f"127.0.0.1:{port}", "--poll-interval", str(args.poll_interval),
                 "--log-level", "error"],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            url = f"http://127.0.0.1:{port}/metrics"
            deadline = time.monotonic() + 120
            while True:  # until the first cycle has every device
                try:
                    with urllib.request.urlopen(url, timeout=10) as response:
                        if response.read().count(b"ipsecha_device_up{") == devices:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the exporter did not poll every device within 120 s")
                time.sleep(0.5)
            latencies: list[float] = []
            errors: list[str] = [] if parses(url, devices) else ["the first answer does not parse"]
            until = time.monotonic() + args.seconds
            threads = [
                threading.Thread(target=scrape_loop, args=(url, until, devices, latencies, errors))
                for _ in range(args.scrapers)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if not parses(url, devices):
                errors.append("the last answer does not parse")
        finally:
            if serve is not None:
                stop_process(serve)
            stop_process(lab)
    ordered = sorted(latencies)
    p99 = ordered[int(0.99 * (len(ordered) - 1))] if ordered else float("nan")
    shape = f"{devices} routers ({pairs} x (2 + {branches}))"
    print(f"{args.scrapers} scrapers x {args.seconds:g} s on /metrics; lab {shape}; ", end="")
    print(f"poll every {args.poll_interval:g} s\n")
    print("| scrapes | errors | p50 | p99 | max |")
    print("|---:|---:|---:|---:|---:|")
    print(
        f"| {len(latencies):,} | {len(errors)} | {statistics.median(ordered) * 1000:.0f} ms "
        f"| {p99 * 1000:.0f} ms | {ordered[-1] * 1000:.0f} ms |"
    )
    for error in sorted(set(errors))[:5]:
        print(f"  error: {error}")
    verdict = "PASS" if not errors and ordered[-1] < 1.0 else "FAIL"
    print(f"\nTarget: no error, no scrape over 1 s: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
