"""/metrics latency while one router prints pathological output.

The exporter polls a lab pair (R1, R2) and branches in the background; R1's
`show standby` is replaced by about 1 MB of the worst lines found for that
template (bench/parse_worst_bench.py: digits after `State is Standby`, each
line at the 4,096-character cap, so every line is read, none refused), and
/metrics is scraped back to back. The same run without the pathological
output gives the baseline: quote the ratio.

    .venv/bin/python bench/pathological_scrape_bench.py [--seconds 20] [--megabytes 1]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ipsec_ha_monitor.export.exporter import Exporter
from ipsec_ha_monitor.export.server import ExporterServer
from ipsec_ha_monitor.inventory import load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.lab.outputs import SHOW_COMMANDS
from ipsec_ha_monitor.lab.router import Router

INTERVAL = 0.5  # seconds between a device's polls


def pathological(normal: Callable[[Router], str], megabytes: float) -> Callable[[Router], str]:
    """R1's show standby: its real output with every line padded to 4,000
    characters of digits after `State is Standby`."""

    def render(router: Router) -> str:
        text = normal(router)
        if router.name != "R1":
            return text
        line = "  State is Standby" + " " + "1" * 3980
        count = int(megabytes * 1_000_000 / len(line))
        return text + "\n" + "\n".join([line] * count)

    return render


def run(seconds: float, megabytes: float | None) -> list[float]:
    key = ("show", "standby")
    normal = SHOW_COMMANDS[key]
    if megabytes:
        SHOW_COMMANDS[key] = pathological(normal, megabytes)
    try:
        with tempfile.TemporaryDirectory() as folder, LabThread(Lab(pairs=1, branches=3, time_scale=10)) as lab:
            inventory = load_inventory(lab.lab.write_inventory(Path(folder) / "lab.yml"))
            exporter = Exporter(inventory)
            server = ExporterServer(("127.0.0.1", 0), exporter)
            server.serve_in_thread()
            exporter.start(INTERVAL)
            try:
                time.sleep(2 * INTERVAL)  # the first polls in
                latencies = []
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    started = time.monotonic()
                    with urllib.request.urlopen(server.url + "/metrics", timeout=60) as response:
                        response.read()
                    latencies.append(time.monotonic() - started)
                with urllib.request.urlopen(server.url + "/metrics", timeout=60) as response:
                    page = response.read().decode()
                status = [
                    line
                    for line in page.splitlines()
                    if line.startswith('ipsecha_command_status{device="R1"') and '"show standby"' in line
                ]
                polls = [
                    line for line in page.splitlines() if line.startswith('ipsecha_exporter_polls_total{device="R1"')
                ]
                print(" ", *status, *polls, sep="\n  ")
                return latencies
            finally:
                server.shutdown()
                server.server_close()
                exporter.stop()
    finally:
        SHOW_COMMANDS[key] = normal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--megabytes", type=float, default=1.0)
    args = parser.parse_args()
    results = {"baseline": run(args.seconds, None), f"R1 {args.megabytes:g} MB": run(args.seconds, args.megabytes)}
    base = statistics.median(results["baseline"])
    for name, latencies in results.items():
        ordered = sorted(latencies)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        print(
            f"{name:>14}: {len(latencies)} scrapes, median {statistics.median(latencies) * 1000:.1f} ms "
            f"(x{statistics.median(latencies) / base:.1f}), p99 {p99 * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
