"""Command line: `ipsec-ha-monitor <subcommand>` (also `python -m monitor`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from monitor import __version__
from monitor.parse import COMMANDS, ParseError, parse_output


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
        records = parse_output(args.command, text)
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
    parse.add_argument("file", help="file holding the output, or - for standard input")
    parse.set_defaults(run=_parse)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))
