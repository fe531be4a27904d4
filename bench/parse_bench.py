"""Parse speed: ours against ntc_templates.parse.parse_output, side by side.

    python bench/parse_bench.py [--repeat N] [--peers N]

1. Per-call time on small outputs, for the commands both parse (the same
   texts, alternating the two parsers in one run so machine noise hits both).
   ntc's parse_output builds a CliTable and compiles the template on every
   call; ours compiles once per thread and reuses the machine.
2. Throughput on a synthetic hub `show crypto ipsec sa` with N branch peers
   (two ESP SAs each, one proxy per peer, as a crypto-map hub prints it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # support.paths: the fixtures and the vendored corpus

from ntc_templates.parse import parse_output as ntc_parse_output  # noqa: E402
from support.paths import CORPUS, FIXTURES  # noqa: E402

from ipsec_ha_monitor.parse import parse_output  # noqa: E402

# Commands ntc-templates also has a template for.
SHARED_COMMANDS = ("show standby", "show standby brief", "show redundancy", "show version")


def _texts(command: str) -> list[str]:
    folder = command.replace(" ", "_")
    paths = sorted((FIXTURES / folder).glob("*.raw")) + sorted((CORPUS / folder).glob("*.raw"))
    texts = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        try:  # keep the texts both parsers accept, so both do the same work
            ntc_parse_output(platform="cisco_ios", command=command, data=text)
            parse_output(command, text)
        except Exception:
            continue
        texts.append(text)
    return texts


def _per_call(function, texts: list[str], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        for text in texts:
            function(text)
    return (time.perf_counter() - start) / (repeat * len(texts))


def small_outputs(repeat: int) -> list[tuple[str, int, float, float]]:
    results = []
    for command in SHARED_COMMANDS:
        texts = _texts(command)
        ours_runs, ntc_runs = [], []
        for _ in range(5):  # interleave rounds: noise lands on both parsers
            ours_runs.append(_per_call(lambda t, c=command: parse_output(c, t), texts, repeat))
            ntc_runs.append(
                _per_call(lambda t, c=command: ntc_parse_output(platform="cisco_ios", command=c, data=t), texts, repeat)
            )
        results.append((command, len(texts), statistics.median(ours_runs), statistics.median(ntc_runs)))
    return results


def hub_ipsec_sa(peers: int) -> str:
    """`show crypto ipsec sa` of a crypto-map hub with `peers` branches."""
    blocks = ["interface: FastEthernet0/0", "    Crypto map tag: VPN, local addr 10.0.0.3", ""]
    for n in range(peers):
        peer = f"172.16.{n // 250}.{n % 250 + 4}"
        inbound, outbound = 0x10000000 + 2 * n, 0x20000000 + 2 * n
        blocks += [
            "   protected vrf: (none)",
            "   local  ident (addr/mask/prot/port): (192.168.1.0/255.255.255.0/0/0)",
            f"   remote ident (addr/mask/prot/port): (10.{n // 250}.{n % 250}.0/255.255.255.0/0/0)",
            f"   current_peer {peer} port 500",
            "     PERMIT, flags={origin_is_acl,}",
            f"    #pkts encaps: {1000 + n}, #pkts encrypt: {1000 + n}, #pkts digest: {1000 + n}",
            f"    #pkts decaps: {990 + n}, #pkts decrypt: {990 + n}, #pkts verify: {990 + n}",
            "    #pkts compressed: 0, #pkts decompressed: 0",
            "    #pkts not compressed: 0, #pkts compr. failed: 0",
            "    #pkts not decompressed: 0, #pkts decompress failed: 0",
            "    #send errors 0, #recv errors 0",
            "",
            f"     local crypto endpt.: 10.0.0.3, remote crypto endpt.: {peer}",
            "     path mtu 1500, ip mtu 1500, ip mtu idb FastEthernet0/0",
            f"     current outbound spi: 0x{outbound:X}({outbound})",
            "",
            "     inbound esp sas:",
            f"      spi: 0x{inbound:X}({inbound})",
            "        transform: esp-aes esp-sha-hmac ,",
            "        in use settings ={Tunnel, }",
            f"        conn id: {2000 + 2 * n}, flow_id: SW:{2 * n + 1}, crypto map: VPN",
            "        sa timing: remaining key lifetime (k/sec): (4562531/3412)",
            "        IV size: 16 bytes",
            "        replay detection support: Y",
            "        Status: ACTIVE",
            "",
            "     inbound ah sas:",
            "",
            "     inbound pcp sas:",
            "",
            "     outbound esp sas:",
            f"      spi: 0x{outbound:X}({outbound})",
            "        transform: esp-aes esp-sha-hmac ,",
            "        in use settings ={Tunnel, }",
            f"        conn id: {2001 + 2 * n}, flow_id: SW:{2 * n + 2}, crypto map: VPN",
            "        sa timing: remaining key lifetime (k/sec): (4562531/3412)",
            "        IV size: 16 bytes",
            "        replay detection support: Y",
            "        Status: ACTIVE",
            "",
            "     outbound ah sas:",
            "",
            "     outbound pcp sas:",
            "",
        ]
    return "\n".join(blocks) + "\n"


def throughput(peers: int, rounds: int) -> tuple[int, float, int]:
    text = hub_ipsec_sa(peers)
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        records = parse_output("show crypto ipsec sa", text)
        timings.append(time.perf_counter() - start)
    assert len(records) == peers and all(r.active_esp_sa_count == 2 for r in records)
    return len(text.encode()), statistics.median(timings), len(records)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20, help="passes over the texts per timing round")
    parser.add_argument("--peers", type=int, default=500, help="branch peers in the synthetic hub output")
    args = parser.parse_args()

    print("Per call, same texts, median of 5 interleaved rounds\n")
    print("| command | texts | ours (µs/call) | ntc parse_output (µs/call) | speed-up |")
    print("|---|---:|---:|---:|---:|")
    for command, count, ours, ntc in small_outputs(args.repeat):
        print(f"| {command} | {count} | {ours * 1e6:,.0f} | {ntc * 1e6:,.0f} | {ntc / ours:.1f}x |")

    size, seconds, records = throughput(args.peers, rounds=7)
    print(f"\nSynthetic hub `show crypto ipsec sa`, {args.peers} peers: {size / 1e6:.2f} MB, {records} records")
    print(f"parse_output: {seconds * 1e3:,.0f} ms (median of 7) = {size / 1e6 / seconds:.1f} MB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
