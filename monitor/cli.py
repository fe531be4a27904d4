"""Command line: `ipsec-ha-monitor <subcommand>` (also `python -m monitor`)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from monitor import __version__
from monitor.lab import DEFAULT_CONTROL_ADDRESS, SCENARIOS
from monitor.parse import COMMANDS, DEFAULT_PLATFORM, PLATFORMS, ParseError, parse_output


def _parse(args: argparse.Namespace) -> int:
    """Offline parsing of a saved output: records as a JSON list on stdout."""
    try:
        if args.file == "-":
            text = sys.stdin.read()
        else:
            with open(args.file, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
    except OSError as exc:
        print(f"ipsec-ha-monitor parse: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        records = parse_output(args.command, text, args.platform)
    except ParseError as exc:
        print(f"ipsec-ha-monitor parse: {exc}", file=sys.stderr)
        return 1
    try:
        json.dump([record.to_dict() for record in records], sys.stdout, indent=2)
        sys.stdout.write("\n")
        sys.stdout.flush()
    except BrokenPipeError:  # `... | head`: the reader left, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _lab(args: argparse.Namespace) -> int:
    """Run the simulated lab, or steer a running one (`lab trigger NAME`, `lab status`)."""
    import asyncio

    from monitor.lab.control import parse_address, run_lab, send_control
    from monitor.lab.scenarios import SCENARIOS

    try:
        control = parse_address(args.control_address)
    except ValueError as exc:
        print(f"ipsec-ha-monitor lab: --control-address: {exc}", file=sys.stderr)
        return 2
    if args.action:
        if args.action[0] not in ("trigger", "status") or (args.action[0] == "trigger") != (len(args.action) in (2, 3)):
            print("ipsec-ha-monitor lab: expected 'lab trigger <scenario> [pair]' or 'lab status'", file=sys.stderr)
            return 2
        try:
            answer = send_control(" ".join(args.action), control)
        except OSError as exc:
            print(f"ipsec-ha-monitor lab: no lab answers on {args.control_address}: {exc}", file=sys.stderr)
            return 1
        print(answer)
        return 1 if answer.startswith("error") else 0
    if args.scenario not in SCENARIOS:
        print(
            f"ipsec-ha-monitor lab: unknown scenario {args.scenario!r}; known: {', '.join(SCENARIOS)}", file=sys.stderr
        )
        return 2
    inventory = Path(args.write_inventory) if args.write_inventory else None
    try:
        asyncio.run(run_lab(args.pairs, args.branches, args.time_scale, args.scenario, inventory, control))
    except (OSError, ValueError) as exc:  # a port in use, an unwritable inventory, a bad size
        print(f"ipsec-ha-monitor lab: {exc}", file=sys.stderr)
        return 1
    return 0


def _check(args: argparse.Namespace) -> int:
    """Poll the inventory once (or every --watch seconds), print the verdicts."""
    from monitor import check

    if args.watch is not None:
        _hold_sighup()  # a SIGHUP while starting is a reload once watching, not the end
    _setup_logging(args.log_level)
    progress = {"auto": None, "always": True, "never": False}[args.progress]
    return check.main(args.config, args.json, args.state, args.watch, progress)


def _serve(args: argparse.Namespace) -> int:
    """The Prometheus exporter over an inventory."""
    from monitor import serve

    _hold_sighup()  # a SIGHUP while starting is a reload once started, not the end
    _setup_logging(args.log_level)
    return serve.serve(
        args.config,
        args.listen,
        args.poll_interval,
        args.web_config,
        max_connections=args.max_connections,
        max_probes_per_target=args.max_probes_per_target,
    )


def _demo(args: argparse.Namespace) -> int:
    """The lab and the exporter over it, no configuration."""
    from monitor import serve

    _setup_logging(args.log_level)
    return serve.demo(args.listen, args.control_address)


def _hold_sighup() -> None:
    """Until the SignalLoop takes over, a SIGHUP is kept for it (it reloads
    at its first wait: it looks for `pending` on the handler it replaces)
    instead of ending the process, SIGHUP's default."""

    class HeldSighup:
        pending = False

        def __call__(self, signum: int, frame: object) -> None:
            self.pending = True

    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, HeldSighup())


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Paramiko logs every failed transport at ERROR; the pollers report the
    # same failure once, classified, per device.
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    # netmiko's debug log quotes every byte written to the device, the enable
    # secret included (its own filter misses escaped forms): never below INFO.
    logging.getLogger("netmiko").setLevel(max(logging.INFO, logging.getLogger().level))


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1, got {text}")
    return value


def _poll_interval(text: str) -> float:
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds (0: no background polling), got {text}")
    return value


LOG_LEVELS = ("debug", "info", "warning", "error")
DEFAULT_LISTEN_ADDRESS = "127.0.0.1:9477"
# monitor.export.server's defaults, repeated so that building the parser
# imports nothing heavy (tests/test_cli.py checks that they agree).
DEFAULT_MAX_CONNECTIONS = 64
DEFAULT_MAX_PROBES_PER_TARGET = 8


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ipsec-ha-monitor", description="Monitor Cisco IPsec stateful failover (HSRP + SSO) router pairs."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="subcommand", required=True)
    parse = sub.add_parser(
        "parse",
        help="parse a saved show-command output to JSON",
        description="Parse a saved output offline. Commands: " + "; ".join(spec.command for spec in COMMANDS),
    )
    parse.add_argument("--command", required=True, help='the show command, abbreviations allowed ("sh red sta")')
    parse.add_argument(
        "--platform",
        choices=PLATFORMS,
        default=DEFAULT_PLATFORM,
        help=f"the device's netmiko device type (default {DEFAULT_PLATFORM})",
    )
    parse.add_argument("file", help="file holding the output, or - for standard input")
    parse.set_defaults(run=_parse)

    check = sub.add_parser(
        "check",
        help="poll the inventory once and print the health of every pair",
        description="Poll every device of the inventory once, judge every pair and print a table per pair. "
        "Exit 0 when every pair is healthy, 1 when one is not, 2 when a device could not be polled "
        "(or the inventory is bad).",
    )
    check.add_argument("--config", required=True, metavar="FILE", help="the inventory (YAML)")
    check.add_argument("--json", action="store_true", help="print JSON (every snapshot, verdict and event)")
    check.add_argument(
        "--state", metavar="FILE", help="keep boot times and RF roles in FILE between runs to report reloads"
    )
    check.add_argument(
        "--watch", type=_positive, metavar="SECONDS", help="poll again every SECONDS until interrupted (SIGHUP reloads)"
    )
    check.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="progress bar on stderr (auto: on a tty)",
    )
    check.add_argument("--log-level", choices=LOG_LEVELS, default="warning")
    check.set_defaults(run=_check)

    serve = sub.add_parser(
        "serve",
        help="Prometheus exporter: /metrics, /probe?target=, /targets",
        description="Poll the inventory in the background and serve the latest state to Prometheus. "
        "SIGHUP reloads the inventory and the web config (a bad file is refused, the old one kept).",
    )
    serve.add_argument("--config", required=True, metavar="FILE", help="the inventory (YAML)")
    serve.add_argument("--web.listen-address", dest="listen", default=DEFAULT_LISTEN_ADDRESS, metavar="HOST:PORT")
    serve.add_argument(
        "--poll-interval",
        type=_poll_interval,
        default=30.0,
        metavar="SECONDS",
        help="default 30; 0: no background polling, devices are polled only by /probe (scale-out)",
    )
    serve.add_argument(
        "--web.config.file",
        dest="web_config",
        metavar="FILE",
        help="TLS and basic auth, in the Prometheus exporter-toolkit format (re-read on SIGHUP)",
    )
    serve.add_argument(
        "--web.max-connections",
        dest="max_connections",
        type=_at_least_one,
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help=f"connections handled at once (default {DEFAULT_MAX_CONNECTIONS}); one more is answered 503 at once",
    )
    serve.add_argument(
        "--web.max-probes-per-target",
        dest="max_probes_per_target",
        type=_at_least_one,
        default=DEFAULT_MAX_PROBES_PER_TARGET,
        metavar="N",
        help=f"/probe requests of one device waiting at once (default {DEFAULT_MAX_PROBES_PER_TARGET}; "
        "they share one poll); one more is answered 503 at once",
    )
    serve.add_argument("--log-level", choices=LOG_LEVELS, default="info")
    serve.set_defaults(run=_serve)

    demo = sub.add_parser(
        "demo",
        help="the simulated lab and the exporter over it, no configuration",
        description="Start the lab (R1/R2 hub pair, three branches, over SSH on 127.0.0.1) and serve it.",
    )
    demo.add_argument("--web.listen-address", dest="listen", default=DEFAULT_LISTEN_ADDRESS, metavar="HOST:PORT")
    demo.add_argument(
        "--control-address",
        default=DEFAULT_CONTROL_ADDRESS,
        help=f"the lab's control port (default {DEFAULT_CONTROL_ADDRESS})",
    )
    demo.add_argument("--log-level", choices=LOG_LEVELS, default="warning")
    demo.set_defaults(run=_demo)

    lab = sub.add_parser(
        "lab",
        help="run the simulated lab (routers over SSH on 127.0.0.1), or steer a running one",
        description="Run the simulated lab until interrupted, or with 'trigger <scenario> [pair]' / 'status' "
        "steer the lab running on --control-address. Scenarios: " + ", ".join(SCENARIOS) + ".",
    )
    lab.add_argument("action", nargs="*", help="trigger <scenario> [pair] | status (default: run a lab)")
    lab.add_argument("--scenario", default="baseline", help="scenario to play once the lab is up (default: baseline)")
    lab.add_argument("--pairs", type=int, default=1, help="hub pairs (default 1)")
    lab.add_argument("--branches", type=int, default=1, help="branch routers per pair (default 1: R4)")
    lab.add_argument("--time-scale", type=float, default=1.0, help="lab seconds per real second (default 1)")
    lab.add_argument("--write-inventory", metavar="PATH", help="write an inventory for check/serve to PATH")
    lab.add_argument(
        "--control-address", default=DEFAULT_CONTROL_ADDRESS, help=f"control port (default {DEFAULT_CONTROL_ADDRESS})"
    )
    lab.set_defaults(run=_lab)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))
