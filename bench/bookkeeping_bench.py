"""Bookkeeping that must not grow with the fleet: what recording one poll
costs (Monitor.record) and what Poller.poll_all spends per device besides
the polls, at several fleet sizes, with no network at all.

    python bench/bookkeeping_bench.py [--pairs 500 2500] [--repeat 3]
    python bench/bookkeeping_bench.py --quick        # 100 and 1000 pairs

- record: an inventory of N pairs (two hubs each, no branch; hosts never
  contacted), every device recorded once (every pair judged), then each
  device's next poll recorded on its own, as the exporter does: the mean
  cost per recorded poll. Issue 23 measured 78 us per device at 1,000
  devices and 298 us at 5,000 when record() scanned every pair.
- poll_all: the same inventory, every DevicePoller's poll replaced by one
  returning a ready snapshot at once: the mean wall time per device of
  Poller.poll_all (workers handing results back, the waiting on them).
  Issue 23: 11 us per device at 500 and 47 us at 5,000 with futures.wait
  over every pending future at each completion.

The point is the ratio between the sizes (1.0: flat); the absolute figures
depend on the machine. Printed: one RESULT line of JSON and a table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from support.snapshots import snapshot_of  # noqa: E402

from ipsec_ha_monitor.core import Monitor  # noqa: E402
from ipsec_ha_monitor.inventory import Inventory, load_inventory  # noqa: E402
from ipsec_ha_monitor.lab import Lab  # noqa: E402
from ipsec_ha_monitor.snapshot import Snapshot  # noqa: E402

RESULT_MARK = "BOOKKEEPING-BENCH-RESULT "


def fleet(pairs: int, folder: Path) -> Inventory:
    """N pairs of two lab hubs each, at a port nothing listens on."""
    template = Lab(pairs=1, branches=1, base_port=30000).inventory()
    devices, pair_list = [], []
    for n in range(1, pairs + 1):
        members = [f"P{n}-R1", f"P{n}-R2"]
        pair_list.append({"name": f"PAIR-{n}", "members": members})
        for member in members:
            devices.append({"name": member, "host": "127.0.0.1", "port": 9, "role": "hub", "pair": f"PAIR-{n}"})
    data = {"lab": True, "defaults": template["defaults"], "pairs": pair_list, "devices": devices}
    path = folder / f"fleet-{pairs}.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    path.chmod(0o600)
    return load_inventory(path)


def hub_snapshot() -> Snapshot:
    lab = Lab(pairs=1, branches=1, base_port=30000)
    return snapshot_of(lab.router("R1"))


def record_cost(inventory: Inventory, template: Snapshot) -> float:
    """Mean seconds per recorded poll, each device's poll recorded alone."""
    monitor = Monitor(inventory)
    try:
        names = list(inventory.devices)

        def polled(name: str, at: float) -> Snapshot:
            return dataclasses.replace(template, device=name, pair=inventory.pair_of(name), monotonic=at)

        monitor.record({name: polled(name, 1.0) for name in names})
        snapshots = [{name: polled(name, 2.0)} for name in names]
        started = time.perf_counter()
        for one in snapshots:
            monitor.record(one)
        return (time.perf_counter() - started) / len(names)
    finally:
        monitor.close()


def poll_all_cost(inventory: Inventory, template: Snapshot) -> float:
    """Mean wall seconds per device of Poller.poll_all over polls that
    return at once."""
    monitor = Monitor(inventory)
    try:
        for name, device in monitor.poller.pollers().items():
            ready = dataclasses.replace(template, device=name, pair=inventory.pair_of(name))
            device.poll = lambda ready=ready: ready  # type: ignore[method-assign]
        started = time.perf_counter()
        monitor.poller.poll_all()
        return (time.perf_counter() - started) / len(inventory.devices)
    finally:
        monitor.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, nargs="+", default=[500, 2500])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = [100, 1000] if args.quick else args.pairs
    template = hub_snapshot()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for pairs in sizes:
            inventory = fleet(pairs, Path(folder))
            record = statistics.median(record_cost(inventory, template) for _ in range(args.repeat))
            poll_all = statistics.median(poll_all_cost(inventory, template) for _ in range(args.repeat))
            rows.append(
                {"pairs": pairs, "devices": 2 * pairs, "record_us": record * 1e6, "poll_all_us": poll_all * 1e6}
            )
    first, last = rows[0], rows[-1]
    result = {
        "rows": rows,
        "record_ratio": last["record_us"] / first["record_us"],
        "poll_all_ratio": last["poll_all_us"] / first["poll_all_us"],
    }
    print(RESULT_MARK + json.dumps(result))
    print(f"{'devices':>8} {'record one poll':>16} {'poll_all per device':>20}")
    for row in rows:
        print(f"{row['devices']:>8} {row['record_us']:>13.1f} us {row['poll_all_us']:>17.1f} us")
    print(
        f"{last['devices']} / {first['devices']} devices: record x{result['record_ratio']:.2f}, "
        f"poll_all x{result['poll_all_ratio']:.2f} (1.00: independent of the fleet's size)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
