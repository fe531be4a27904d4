"""/metrics render time and size for 100 and 1,000 device snapshots.

    python bench/scrape_bench.py [--sizes 100,1000] [--repeat 20]

No SSH: the lab's routers (pairs of 2 hubs + 8 branches, so every hub has 8
expected peers) render each polled command, which is parsed into the same
snapshots a poll yields (set-up, not timed). Timed: building the metric
families from the snapshots and pair verdicts, and the text exposition
(ipsec_ha_monitor.export.render, prometheus_client's generate_latest), median of
--repeat runs. Target: under 100 ms at 1,000 devices.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ipsec_ha_monitor.export import ExportView, render
from ipsec_ha_monitor.health import evaluate_pair
from ipsec_ha_monitor.inventory import Inventory, load_inventory
from ipsec_ha_monitor.lab.outputs import SHOW_COMMANDS
from ipsec_ha_monitor.lab.router import Clock
from ipsec_ha_monitor.lab.topology import build_pairs, lab_credentials, set_baseline
from ipsec_ha_monitor.parse import parse_output
from ipsec_ha_monitor.poll import COMMANDS_BY_ROLE
from ipsec_ha_monitor.snapshot import CommandResult, Snapshot, Status

BRANCHES_PER_PAIR = 8


def fleet(devices: int, folder: Path) -> tuple[Inventory, dict[str, Snapshot]]:
    """An inventory of `devices` routers and one good snapshot of each."""
    count = -(-devices // (2 + BRANCHES_PER_PAIR))
    pairs = build_pairs(count, BRANCHES_PER_PAIR, lab_credentials(), Clock(1.0))
    entries, snapshots = [], {}
    for pair in pairs:
        set_baseline(pair)
        peers = [branch.outside_ip for branch in pair.branches]
        for router in (*pair.hubs, *pair.branches):
            if len(entries) == devices:
                break
            entry = {"name": router.name, "host": router.outside_ip, "role": router.role}
            if router.role == "hub":
                entry.update(pair=pair.name, expected_peers=peers)
            entries.append(entry)
            results = tuple(
                CommandResult(c, Status.OK, tuple(parse_output(c, SHOW_COMMANDS[tuple(c.split())](router))))
                for c in COMMANDS_BY_ROLE[router.role]
            )
            name = pair.name if router.role == "hub" else ""
            snapshots[router.name] = Snapshot(router.name, name, router.role, time.time() - 5, 0.3, results)
    names = {entry["name"] for entry in entries}
    # Inline secrets stand for loopback hosts only: these are routers' outside addresses.
    secret = folder / "password"
    secret.write_text("lab\n", encoding="utf-8")
    document = {
        "lab": True,
        "defaults": {"credentials": {"username": "lab", "password": {"file": str(secret)}}},
        "pairs": [
            {"name": p.name, "members": [h.name for h in p.hubs]} for p in pairs if {h.name for h in p.hubs} <= names
        ],
        "devices": [e for e in entries if e["role"] == "branch" or e.get("pair") in {p.name for p in pairs}],
    }
    # A pair cut in half by the size keeps its hubs out of any pair.
    paired = {m for p in document["pairs"] for m in p["members"]}
    for entry in document["devices"]:
        if entry["role"] == "hub" and entry["name"] not in paired:
            entry.pop("pair", None)
    path = folder / f"fleet-{devices}.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return load_inventory(path), snapshots


def measure(devices: int, repeat: int, folder: Path) -> dict[str, float]:
    inventory, snapshots = fleet(devices, folder)
    pairs = [evaluate_pair(pair, snapshots, inventory) for pair in inventory.pairs.values()]
    view = ExportView(inventory, snapshots, pairs, {(name, False): 1 for name in snapshots}, now=time.time())
    render(view)  # warm-up
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        text = render(view)
        timings.append(time.perf_counter() - started)
    samples = sum(1 for line in text.splitlines() if not line.startswith(b"#"))
    return {"devices": devices, "samples": samples, "bytes": len(text), "render_ms": statistics.median(timings) * 1000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000", help="device counts (default 100,1000)")
    parser.add_argument("--repeat", type=int, default=20, help="timed renders per size (median shown)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        rows = [measure(size, args.repeat, Path(folder)) for size in sizes]
    print(f"/metrics render, median of {args.repeat}; pairs of 2 hubs + {BRANCHES_PER_PAIR} branches\n")
    print("| devices | samples | size | render |")
    print("|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['devices']:,} | {row['samples']:,} | {row['bytes'] / 1024:,.0f} KiB | {row['render_ms']:.1f} ms |"
        )
    largest = max(rows, key=lambda row: row["devices"])
    if largest["devices"] >= 1000:
        verdict = "PASS" if largest["render_ms"] < 100 else "FAIL"
        print(f"\nTarget: {largest['devices']:,} devices under 100 ms: {largest['render_ms']:.1f} ms {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
