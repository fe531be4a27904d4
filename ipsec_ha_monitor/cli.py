"""Command line: `ipsec-ha-monitor <subcommand>` (also `python -m ipsec_ha_monitor`)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from ipsec_ha_monitor import __version__
from ipsec_ha_monitor.lab import DEFAULT_CONTROL_ADDRESS, LATENCY_PROFILES, SCENARIOS
from ipsec_ha_monitor.logs import LOG_FORMATS, LOG_LEVELS, setup_logging
from ipsec_ha_monitor.parse import (
    COMMANDS,
    DEFAULT_PLATFORM,
    PLATFORMS,
    ParseError,
    ends_mid_line,
    parse_output,
    resolve,
)


def _parse(args: argparse.Namespace) -> int:
    """Offline parsing of a saved output: records as a JSON list on stdout."""
    try:
        # A command we do not parse, or an abbreviation of several, is a
        # usage error (exit 2), known before the file is read.
        resolve(args.command, args.platform)
    except ParseError as exc:
        print(f"ipsec-ha-monitor parse: --command: {exc}", file=sys.stderr)
        return 2
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        print(f"ipsec-ha-monitor parse: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        text = decode_text(data)
    except ValueError as exc:
        name = "standard input" if args.file == "-" else args.file
        print(f"ipsec-ha-monitor parse: {name}: {exc}", file=sys.stderr)
        return 2
    try:
        records = parse_output(args.command, text, args.platform, complete=not args.cut)
    except ParseError as exc:
        print(f"ipsec-ha-monitor parse: {exc}", file=sys.stderr)
        return 1
    if not args.cut and ends_mid_line(text):
        # Many saved outputs simply lack a final line end: read, but said.
        name = "standard input" if args.file == "-" else args.file
        print(
            f"ipsec-ha-monitor parse: note: {name} ends mid-line with no prompt after it; if the capture was cut, "
            "its last value may be cut short (--cut refuses such an output)",
            file=sys.stderr,
        )
    try:
        json.dump([record.to_dict() for record in records], sys.stdout, indent=2)
        sys.stdout.write("\n")
        sys.stdout.flush()
    except BrokenPipeError:  # `... | head`: the reader left, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def decode_text(data: bytes) -> str:
    """A saved output as text; a binary or non-UTF-8 file is refused with
    where it stops being text (a wrong file, not an output to guess at)."""
    if b"\0" in data:
        raise ValueError(f"a binary file, not a saved output (NUL byte at offset {data.index(0)})")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def _lab_missing(command: str) -> int | None:
    """None when the simulated lab can run here; else the exit code, once
    one line on stderr has said what to install."""
    from ipsec_ha_monitor.lab import LabUnavailable, require_lab

    try:
        require_lab()
    except LabUnavailable as exc:
        print(f"ipsec-ha-monitor {command}: {exc}", file=sys.stderr)
        return LabUnavailable.EXIT_CODE
    return None


def _lab(args: argparse.Namespace) -> int:
    """Run the simulated lab, or steer a running one (`lab trigger NAME`, `lab status`)."""
    import asyncio

    missing = _lab_missing("lab")
    if missing is not None:
        return missing
    from ipsec_ha_monitor.lab.control import parse_address, run_lab, send_control
    from ipsec_ha_monitor.lab.scenarios import SCENARIOS
    from ipsec_ha_monitor.lab.xe_scenarios import XE_SCENARIOS

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
    if args.scenario not in SCENARIOS and args.scenario not in XE_SCENARIOS:
        known = ", ".join((*SCENARIOS, *XE_SCENARIOS))
        print(f"ipsec-ha-monitor lab: unknown scenario {args.scenario!r}; known: {known}", file=sys.stderr)
        return 2
    if args.scenario in XE_SCENARIOS and args.xe_pairs < 1:
        print(f"ipsec-ha-monitor lab: scenario {args.scenario} needs an IOS-XE pair: --xe-pairs 1", file=sys.stderr)
        return 2
    inventory = Path(args.write_inventory) if args.write_inventory else None
    try:
        asyncio.run(
            run_lab(
                args.pairs,
                args.branches,
                args.time_scale,
                args.scenario,
                inventory,
                control,
                base_port=args.base_port,
                latency=args.latency,
                xe_pairs=args.xe_pairs,
            )
        )
    except (OSError, ValueError) as exc:  # a port in use, an unwritable inventory, a bad size
        print(f"ipsec-ha-monitor lab: {exc}", file=sys.stderr)
        return 1
    return 0


def _check(args: argparse.Namespace) -> int:
    """Poll the inventory once (or every --watch seconds), print the verdicts."""
    from ipsec_ha_monitor import check

    if args.watch is not None:
        _hold_sighup()  # a SIGHUP while starting is a reload once watching, not the end
    setup_logging(args.log_level, args.log_format)
    progress = {"auto": None, "always": True, "never": False}[args.progress]
    return check.main(
        args.config,
        args.json,
        args.state,
        args.watch,
        progress,
        nagios=args.nagios,
        pairs=args.pairs,
        devices=args.devices,
        time_scale=args.time_scale,
        timeout=args.timeout,
        started=args.started,
        hard_exit=args.as_program,
    )


def _serve(args: argparse.Namespace) -> int:
    """The Prometheus exporter over an inventory."""
    from ipsec_ha_monitor import serve

    _hold_sighup()  # a SIGHUP while starting is a reload once started, not the end
    setup_logging(args.log_level, args.log_format)
    return serve.serve(
        args.config,
        args.listen,
        args.poll_interval,
        args.web_config,
        max_connections=args.max_connections,
        max_probes_per_target=args.max_probes_per_target,
        max_open_connections=args.max_open_connections,
        max_connections_per_client=args.max_connections_per_client,
        enable_lifecycle=args.enable_lifecycle,
        time_scale=args.time_scale,
        syslog_listen=args.syslog_listen,
        syslog_rate_limit=args.syslog_rate_limit,
    )


def _demo(args: argparse.Namespace) -> int:
    """The lab and the exporter over it, no configuration."""
    missing = _lab_missing("demo")
    if missing is not None:
        return missing
    from ipsec_ha_monitor import demo

    setup_logging(args.log_level, args.log_format)
    return demo.demo(args.listen, args.control_address, base_port=args.base_port, syslog_listen=args.syslog_listen)


def _assets(args: argparse.Namespace) -> int:
    """The dashboards, rules and examples shipped in the package, to a directory."""
    from ipsec_ha_monitor.assets import AssetsError, write_assets

    try:
        written = write_assets(Path(args.output), overwrite=args.force)
    except AssetsError as exc:
        print(f"ipsec-ha-monitor assets: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


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


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
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


def _time_scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive factor (1: real time), got {text}")
    return value


def _positive_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of messages a second, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of messages a second, got {text!r}")
    return value


def _add_time_scale(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--time.scale",
        dest="time_scale",
        type=_time_scale,
        default=1.0,
        metavar="FACTOR",
        help="product seconds per real second, for accelerated tests against the lab (its --time-scale); "
        "leave at 1 for real routers. Scales the poll interval, --watch, the reload window and tolerance, "
        "data age and /probe reuse; SSH and HTTP timeouts stay real seconds",
    )


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) < 65536:
        raise argparse.ArgumentTypeError(f"expected a TCP port from 0 to 65535, got {text}")
    return int(text)


def _poll_interval(text: str) -> float:
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds (0: no background polling), got {text}")
    return value


# serve: every interface, the exporter convention (prometheus.yml scrapes
# ipsecha-exporter:9477 from another host); demo and lab stay on loopback.
DEFAULT_LISTEN_ADDRESS = ":9477"
DEMO_LISTEN_ADDRESS = "127.0.0.1:9477"
# ipsec_ha_monitor.export.server's defaults, repeated so that building the parser
# imports nothing heavy (tests/test_cli.py checks that they agree).
DEFAULT_MAX_CONNECTIONS = 64
DEFAULT_MAX_PROBES_PER_TARGET = 8
DEFAULT_MAX_OPEN_CONNECTIONS = 1024
DEFAULT_MAX_CONNECTIONS_PER_CLIENT = 32
# ipsec_ha_monitor.check.budget's, likewise.
DEFAULT_NAGIOS_TIMEOUT = 50.0


class UsageError(SystemExit):
    """argparse's error: its usage and message on stderr, then exit 2, as
    argparse does; raised with the message kept, so main can also put it on
    a Nagios plugin's status line (Nagios shows stdout only)."""

    def __init__(self, message: str) -> None:
        super().__init__(2)
        self.message = message


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise UsageError(message)


class _Once(argparse.Action):
    """An option that takes one value: given twice is a usage error, not the
    last one silently winning."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        if getattr(namespace, f"_{self.dest}_given", False):
            raise argparse.ArgumentError(self, f"given twice; {self.help_once}")
        setattr(namespace, f"_{self.dest}_given", True)
        setattr(namespace, self.dest, values)

    help_once = "give it once"


class _OneListenAddress(_Once):
    help_once = "serve listens on one address (:PORT is every interface, IPv4 and IPv6)"


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Defaults in --help, as every exporter shows them; the description's
    line breaks kept."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(super(_HelpFormatter, self)._fill_text(part, width, indent) for part in text.split("\n"))


def _add_command(sub: argparse._SubParsersAction, name: str, help: str, description: str) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help, description=description, formatter_class=_HelpFormatter)


def _add_inventory(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config.file", "--config", dest="config", required=True, metavar="FILE", help="the inventory (YAML)"
    )


def _add_logging(parser: argparse.ArgumentParser, level: str) -> None:
    # --log-level: the spelling before 0.2, kept as an alias.
    parser.add_argument(
        "--log.level", "--log-level", dest="log_level", choices=LOG_LEVELS, default=level, help="least level logged"
    )
    parser.add_argument(
        "--log.format", dest="log_format", choices=LOG_FORMATS, default="logfmt", help="log line format on stderr"
    )


def _add_base_port(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-port",
        type=_port,
        default=0,
        metavar="PORT",
        help="the lab routers' SSH ports: PORT, PORT+1, ... (0: any free ports)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="ipsec-ha-monitor", description="Monitor Cisco IPsec stateful failover (HSRP + SSO) router pairs."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="subcommand", required=True)

    parse = _add_command(
        sub,
        "parse",
        "parse a saved show-command output to JSON",
        "Parse a saved output offline. Commands: " + "; ".join(spec.command for spec in COMMANDS),
    )
    parse.add_argument("--command", required=True, help='the show command, abbreviations allowed ("sh red sta")')
    parse.add_argument(
        "--platform", choices=PLATFORMS, default=DEFAULT_PLATFORM, help="the device's netmiko device type"
    )
    parse.add_argument(
        "--cut",
        action="store_true",
        help="the capture may have been cut (no prompt after it): refuse an output whose last line has no line end",
    )
    parse.add_argument("file", help="file holding the output, or - for standard input")
    parse.set_defaults(run=_parse)

    check = _add_command(
        sub,
        "check",
        "poll the inventory once and print the health of every pair",
        "Poll every device of the inventory once, judge every pair and print a table per pair.\n"
        "Exit 0 when every pair is healthy, 1 when one is not, 2 when a device could not be polled "
        "or an input (inventory, state file) is bad. With --nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
    )
    _add_inventory(check)
    output = check.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON (every snapshot, verdict and event)")
    output.add_argument(
        "--nagios", action="store_true", help="Nagios/Icinga plugin output: one status line with perfdata, exit 0-3"
    )
    check.add_argument(
        "--pair", dest="pairs", action="append", default=[], metavar="NAME", help="check only this pair (repeatable)"
    )
    check.add_argument(
        "--device",
        dest="devices",
        action="append",
        default=[],
        metavar="NAME",
        help="poll only this device (repeatable)",
    )
    check.add_argument(
        "--state", metavar="FILE", help="keep boot times and RF roles in FILE between runs to report reloads"
    )
    check.add_argument(
        "--watch", type=_positive, metavar="SECONDS", help="poll again every SECONDS until interrupted (SIGHUP reloads)"
    )
    check.add_argument(
        "-t",
        "--timeout",
        type=_positive,
        metavar="SECONDS",
        help="answer within SECONDS whatever the devices do: devices that have not answered by then are "
        "reported timed out (with what they did answer) and the others judged; with --nagios the default is "
        f"{DEFAULT_NAGIOS_TIMEOUT:g} (under Nagios' 60 s service_check_timeout), without it none; "
        "product seconds (see --time.scale); with --watch, each round's",
    )
    check.add_argument(
        "-V", "--version", action="version", version=f"ipsec-ha-monitor check {__version__}", help="print the version"
    )
    check.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="progress bar on stderr (auto: on a tty)",
    )
    _add_time_scale(check)
    _add_logging(check, "warning")
    check.set_defaults(run=_check)

    serve = _add_command(
        sub,
        "serve",
        "Prometheus exporter: /metrics, /probe?target=, /targets",
        "Poll the inventory in the background and serve the latest state to Prometheus. "
        "SIGHUP (or POST /-/reload with --web.enable-lifecycle) reloads the inventory and the web config "
        "(a bad file is refused, the old one kept).",
    )
    _add_inventory(serve)
    serve.add_argument(
        "--web.listen-address",
        dest="listen",
        action=_OneListenAddress,
        default=DEFAULT_LISTEN_ADDRESS,
        metavar="HOST:PORT",
        help="address to serve on, once (:PORT for every interface, IPv4 and IPv6; 127.0.0.1:PORT for this host only)",
    )
    serve.add_argument(
        "--web.config.file",
        dest="web_config",
        metavar="FILE",
        help="TLS and basic auth, in the Prometheus exporter-toolkit format (re-read on reload)",
    )
    serve.add_argument(
        "--web.enable-lifecycle",
        dest="enable_lifecycle",
        action="store_true",
        help="allow POST /-/reload (off: 403, as in Prometheus)",
    )
    serve.add_argument(
        "--poll-interval",
        type=_poll_interval,
        default=30.0,
        metavar="SECONDS",
        help="0: no background polling, devices are polled only by /probe (scale-out); "
        "in product seconds (see --time.scale)",
    )
    serve.add_argument(
        "--web.max-connections",
        dest="max_connections",
        type=_at_least_one,
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help="requests answered at once (worker threads); one more is answered 503 at once. "
        "Connections waiting for a request hold none",
    )
    serve.add_argument(
        "--web.max-open-connections",
        dest="max_open_connections",
        type=_at_least_one,
        default=DEFAULT_MAX_OPEN_CONNECTIONS,
        metavar="N",
        help="open connections in all, whatever their state; one more is closed at once",
    )
    serve.add_argument(
        "--web.max-connections-per-client",
        dest="max_connections_per_client",
        type=_at_least_one,
        default=DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
        metavar="N",
        help="open connections from one client address; one more is closed at once",
    )
    serve.add_argument(
        "--web.max-probes-per-target",
        dest="max_probes_per_target",
        type=_at_least_one,
        default=DEFAULT_MAX_PROBES_PER_TARGET,
        metavar="N",
        help="/probe requests of one device waiting at once (they share one poll); one more is answered 503 at once",
    )
    serve.add_argument(
        "--syslog.listen-address",
        dest="syslog_listen",
        metavar="HOST:PORT",
        help="receive the routers' syslog on this address, UDP and TCP (off by default; :PORT or [::]:PORT for "
        "every interface): a watched message polls its pair at once (docs/syslog.md)",
    )
    serve.add_argument(
        "--syslog.rate-limit",
        dest="syslog_rate_limit",
        type=_positive_rate,
        default=100.0,
        metavar="PER_SECOND",
        help="syslog messages a second taken from one source address (bursts of five seconds' worth); "
        "the rest are dropped and counted",
    )
    _add_time_scale(serve)
    _add_logging(serve, "info")
    serve.set_defaults(run=_serve)

    demo = _add_command(
        sub,
        "demo",
        "the simulated lab and the exporter over it, no configuration",
        "Start the lab (R1/R2 hub pair, three branches, over SSH on 127.0.0.1) and serve it.",
    )
    demo.add_argument(
        "--web.listen-address",
        dest="listen",
        action=_OneListenAddress,
        default=DEMO_LISTEN_ADDRESS,
        metavar="HOST:PORT",
        help="address to serve on",
    )
    demo.add_argument("--control-address", default=DEFAULT_CONTROL_ADDRESS, help="the lab's control port")
    demo.add_argument(
        "--syslog.listen-address",
        dest="syslog_listen",
        default="127.0.0.1:0",
        metavar="HOST:PORT",
        help="where the exporter takes the lab routers' syslog (port 0: any free port)",
    )
    _add_base_port(demo)
    _add_logging(demo, "warning")
    demo.set_defaults(run=_demo)

    lab = _add_command(
        sub,
        "lab",
        "run the simulated lab (routers over SSH on 127.0.0.1), or steer a running one",
        "Run the simulated lab until interrupted, or with 'trigger <scenario> [pair]' / 'status' "
        "steer the lab running on --control-address. Scenarios: " + ", ".join(SCENARIOS) + ".",
    )
    lab.add_argument("action", nargs="*", help="trigger <scenario> [pair] | status (none: run a lab)")
    lab.add_argument("--scenario", default="baseline", help="scenario to play once the lab is up")
    lab.add_argument("--pairs", type=int, default=1, help="hub pairs")
    lab.add_argument("--branches", type=int, default=1, help="branch routers per pair (1: R4)")
    lab.add_argument(
        "--xe-pairs",
        type=int,
        default=0,
        help="IOS-XE box-to-box pairs after the classic ones (XE-PAIR-1: XE1, XE2), played by the xe-... scenarios",
    )
    lab.add_argument("--time-scale", type=float, default=1.0, help="lab seconds per real second")
    lab.add_argument("--write-inventory", metavar="PATH", help="write an inventory for check/serve to PATH")
    lab.add_argument("--control-address", default=DEFAULT_CONTROL_ADDRESS, help="control port")
    lab.add_argument(
        "--latency",
        choices=tuple(LATENCY_PROFILES),
        default="fast",
        help="how fast the routers answer: fast (at once) or router (a real IOS router's pace; docs/lab.md)",
    )
    _add_base_port(lab)
    lab.set_defaults(run=_lab)

    assets = _add_command(
        sub,
        "assets",
        "write the Grafana dashboards, Prometheus rules, Alertmanager config and examples to a directory",
        "Write the files shipped in the package (dashboards/, examples/, textfsm_templates/) under DIR, "
        "for an installation from a wheel. Existing files are not overwritten unless --force.",
    )
    assets.add_argument("--output", required=True, metavar="DIR", help="directory to write (created if missing)")
    assets.add_argument("--force", action="store_true", help="overwrite files that exist")
    assets.set_defaults(run=_assets)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Where check's --timeout budget starts (time.monotonic(), the clock's
    # real_monotonic()): as close to the process's start as we see.
    started = time.monotonic()
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(arguments)
    except UsageError as exc:
        if "--nagios" not in arguments:
            raise
        # A Nagios plugin's bad arguments are UNKNOWN (3), never argparse's 2
        # (CRITICAL), with the reason on the status line: Nagios shows stdout only.
        from ipsec_ha_monitor.check.nagios import NAGIOS_UNKNOWN, nagios_line

        sys.stdout.write(nagios_line(NAGIOS_UNKNOWN, f"invalid arguments: {exc.message}"))
        sys.stdout.flush()
        return NAGIOS_UNKNOWN
    # Run as the program (not main([...]) from a test or a script): a check
    # past its --timeout may end the process itself.
    args.as_program = argv is None
    args.started = started
    return int(args.run(args))
