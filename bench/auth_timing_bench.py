"""Basic-auth timing: can a client tell a configured user name from an
unknown one by how long a wrong password takes?

    python bench/auth_timing_bench.py [--costs 10,12] [--repeat 15]

A web config with one user per cost in --costs (user_<cost>), each checked
with a wrong password --repeat times, against the same number of unknown
names (over HTTP, through the exporter's own server on 127.0.0.1, so the
whole request path is timed). Prints the median time per configured user
and, for the unknown names, the median per cost their stand-in hash has;
the ratio of each unknown-name median to the configured user of the same
cost should be about 1.0 (the issue measured 550 ms for a cost-12 user
against 120 ms for any unknown name before). With a single cost every
unknown name takes that cost.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path

import bcrypt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ipsec_ha_monitor.export.exporter import Exporter
from ipsec_ha_monitor.export.server import ExporterServer
from ipsec_ha_monitor.export.web_config import bcrypt_cost, load_web_config
from ipsec_ha_monitor.inventory import load_inventory


def timed_get(url: str, user: str, password: str) -> float:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request = urllib.request.Request(url, headers={"Authorization": f"Basic {token}"})
    started = time.perf_counter()
    try:
        urllib.request.urlopen(request, timeout=60).read()
    except urllib.error.HTTPError as error:
        assert error.code == 401, error.code
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--costs", default="10,12", help="bcrypt costs of the configured users (default 10,12)")
    parser.add_argument("--repeat", type=int, default=15, help="tries per name (default 15)")
    args = parser.parse_args()
    costs = [int(cost) for cost in args.costs.split(",")]
    with tempfile.TemporaryDirectory(prefix="ipsecha-auth-bench-") as folder:
        web_file, inventory = Path(folder) / "web.yml", Path(folder) / "inventory.yml"
        lines = ["basic_auth_users:"]
        for cost in costs:
            hashed = bcrypt.hashpw(b"the right one", bcrypt.gensalt(rounds=cost)).decode()
            lines.append(f"  user_{cost}: '{hashed}'")
        web_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        inventory.write_text(
            "lab: true\ndefaults: {credentials: {username: lab, password: x}}\n"
            "devices: [{name: R4, host: 127.0.0.1, port: 1, role: branch}]\n",
            encoding="utf-8",
        )
        web = load_web_config(web_file)
        exporter = Exporter(load_inventory(inventory))
        server = ExporterServer(("127.0.0.1", 0), exporter, web)
        server.serve_in_thread()
        url = server.url + "/targets"
        try:
            known = {cost: [timed_get(url, f"user_{cost}", "wrong") for _ in range(args.repeat)] for cost in costs}
            unknown: dict[int, list[float]] = defaultdict(list)
            for n in range(args.repeat * len(costs)):
                name = f"nobody_{n}"
                unknown[bcrypt_cost(web.dummy_hash(name))].append(timed_get(url, name, "wrong"))
        finally:
            server.shutdown()
            server.server_close()
            exporter.stop()
    print(f"{'name':<22} {'cost':>4} {'tries':>5} {'median ms':>10} {'ratio':>6}")
    for cost in costs:
        median = statistics.median(known[cost])
        print(f"{'user_' + str(cost):<22} {cost:>4} {len(known[cost]):>5} {median * 1000:>10.1f} {'':>6}")
    for cost in costs:
        if unknown.get(cost):
            median = statistics.median(unknown[cost])
            ratio = median / statistics.median(known[cost])
            print(f"{'unknown names':<22} {cost:>4} {len(unknown[cost]):>5} {median * 1000:>10.1f} {ratio:>6.2f}")


if __name__ == "__main__":
    main()
