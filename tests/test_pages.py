"""Valid pages, always: whatever the devices print, every page the exporter
writes is one Prometheus accepts, checked with `promtool check metrics` (the
parser Prometheus's tooling uses, and its lint) and read back with
prometheus_client's parser.

Two halves make that hold. The parser bounds every integer a device prints
(ipsec_ha_monitor.parse.values: counters at most 2**64-1, durations and timers
2**32-1, HSRP priorities 255 and groups 4095, ports 65535): a number beyond
is a `bad_value` ParseError naming its line, never a record and never an
internal error. The renderer writes every value as a finite float64:
integers exactly up to 2**53, the nearest float64 beyond (a 20-digit counter
as 1.8446744073709552e+19), and a value without one (which bounded records
never hold) is left out rather than costing the page.

Pages are built three ways: the lab's baseline; lab outputs with counters at
the bounds, parsed; and records fuzzed from a seeded generator (extreme
integers, label values with quotes, backslashes, newlines, control
characters and any Unicode, empty strings).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import re
import subprocess
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from support.exposition import parse_samples
from support.exposition import sample as value
from support.paths import FIXTURES, command_of
from support.prometheus import PROMTOOL
from support.snapshots import snapshot_of

from ipsec_ha_monitor.export import ExportView, render
from ipsec_ha_monitor.health import PairHealth, evaluate_pair
from ipsec_ha_monitor.inventory import Credentials, Device, Inventory, Pair, Secret
from ipsec_ha_monitor.lab.outputs import SHOW_COMMANDS
from ipsec_ha_monitor.lab.router import Router
from ipsec_ha_monitor.lab.topology import LabPair
from ipsec_ha_monitor.parse import COMMANDS, MAX_LINE, ParseError, errors, parse_output
from ipsec_ha_monitor.parse.values import COUNTER_MAX, TIME_MAX
from ipsec_ha_monitor.poll import COMMANDS_BY_ROLE
from ipsec_ha_monitor.records import HsrpGroup, IpsecSa, Record
from ipsec_ha_monitor.reloads import RELOAD_CAUSES
from ipsec_ha_monitor.snapshot import CommandResult, Snapshot, Status

needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="needs promtool (Debian package `prometheus`; .ci/run installs it)"
)


def promtool_check(page: bytes) -> None:
    """`promtool check metrics` on the page: exit 1 when it does not parse
    (a value that is no float64, a bad escape, invalid UTF-8), 3 with one
    line per lint finding (names, units, suffixes, HELP). Every finding
    fails: none is excused, the contract's names (counters in _total, info
    metrics as gauges in _info, base units) pass the lint as they are."""
    assert PROMTOOL is not None
    result = subprocess.run([PROMTOOL, "check", "metrics"], input=page, capture_output=True, timeout=60, check=False)
    findings = (result.stdout + result.stderr).decode(errors="replace").strip()
    assert result.returncode == 0 and not findings, f"promtool exit {result.returncode}:\n{findings[:3000]}"


def read_back(page: bytes) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """The page as prometheus_client reads it (a duplicate series fails),
    every value a finite float."""
    samples = parse_samples(page.decode("utf-8"))
    for name, series in samples.items():
        for labels, number in series.items():
            assert math.isfinite(number), (name, labels, number)
    return samples


def _view(pair: LabPair, inventory: Inventory, **replaced: Snapshot) -> ExportView:
    snapshots = {router.name: snapshot_of(router) for router in (*pair.hubs, *pair.branches)}
    snapshots.update(replaced)
    health = [evaluate_pair(p, snapshots, inventory) for p in inventory.pairs.values()]
    return ExportView(inventory, snapshots, health, {("R2", False): 1}, now=1_000_010.0)


# --- the lab's pages ------------------------------------------------------------------


@needs_promtool
def test_the_lab_baseline_page_passes_promtool(pair: LabPair, inventory: Inventory) -> None:
    page = render(_view(pair, inventory))
    promtool_check(page)
    samples = read_back(page)
    assert value(samples, "ipsecha_device_up", device="R1", pair="HUB-PAIR-1") == 1


@needs_promtool
def test_the_empty_page_passes_promtool() -> None:
    promtool_check(render(ExportView(Inventory(Path("inventory.yml")), {})))


# Lab output with its numbers at the bounds (or one beyond): what a router
# that has counted a long time prints. command -> [(pattern, replacement)].
def _at_bounds(beyond: int = 0) -> dict[str, list[tuple[str, str]]]:
    counter = str(COUNTER_MAX + beyond)
    return {
        "show crypto ipsec sa": [(r"(#(?:pkts \w+|send errors|recv errors):? )\d+", rf"\g<1>{counter}")],
        "show crypto isakmp sa": [(r"(QM_IDLE +)\d+", rf"\g<1>{counter}")],
        "show standby": [
            (r"\d+ state changes?", f"{counter} state changes"),
            (r"Priority \d+", f"Priority {255 + beyond}"),
        ],
        # 136 years and 10 weeks: 4,294,944,000 s, just under TIME_MAX
        "show version": [(r"uptime is .*", "uptime is 136 years, 10 weeks" + (", 1 day" if beyond else ""))],
    }


def _polled(router: Router, substitutions: dict[str, list[tuple[str, str]]]) -> Snapshot:
    """A poll of the lab router whose outputs carry `substitutions`; a
    command that does not parse is a failed command, as in a real poll."""
    results = []
    for command in COMMANDS_BY_ROLE[router.role]:
        text = SHOW_COMMANDS[tuple(command.split())](router)
        for pattern, replacement in substitutions.get(command, []):
            text, count = re.subn(pattern, replacement, text)
            assert count, (command, pattern)
        try:
            results.append(CommandResult(command, Status.OK, tuple(parse_output(command, text))))
        except ParseError as exc:
            assert exc.kind == errors.BAD_VALUE, exc
            results.append(CommandResult(command, Status.PARSE, error=str(exc)))
    return Snapshot(router.name, "HUB-PAIR-1", router.role, 5_000_000_000.0, 0.2, tuple(results))


@needs_promtool
def test_counters_at_the_bound_are_written_as_float64(pair: LabPair, inventory: Inventory) -> None:
    r2 = _polled(pair.r2, _at_bounds())
    assert r2.up, r2.failures
    page = render(_view(pair, inventory, R2=r2))
    promtool_check(page)
    samples = read_back(page)
    labels = {"device": "R2", "pair": "HUB-PAIR-1"}
    sas = [sa for sa in r2.ipsec_sas or () if sa.peer == "172.16.0.4"]
    assert {sa.pkts_encrypt for sa in sas} == {COUNTER_MAX}
    encrypted = sum(sa.pkts_encrypt or 0 for sa in sas)
    assert value(samples, "ipsecha_ipsec_packets_encrypted_total", **labels, peer="172.16.0.4") == float(encrypted)
    assert value(samples, "ipsecha_ipsec_send_errors_total", **labels, peer="172.16.0.4") == float(encrypted)
    r2_peer = 'device="R2",pair="HUB-PAIR-1",peer="172.16.0.4"'
    assert f"ipsecha_ipsec_send_errors_total{{{r2_peer}}} {float(encrypted)!r}\n".encode() in page
    group = {"interface": "FastEthernet0/0", "group": "1"}
    assert value(samples, "ipsecha_hsrp_priority", **labels, **group) == 255
    r2_group = 'device="R2",pair="HUB-PAIR-1",interface="FastEthernet0/0",group="1"'
    assert f"ipsecha_hsrp_state_changes_total{{{r2_group}}} 1.8446744073709552e+19\n".encode() in page
    assert value(samples, "ipsecha_uptime_seconds", **labels) == 4_294_944_000  # exact: under 2**53
    assert b'ipsecha_uptime_seconds{device="R2",pair="HUB-PAIR-1"} 4294944000\n' in page


@needs_promtool
def test_numbers_beyond_the_bound_fail_their_command_not_the_page(pair: LabPair, inventory: Inventory) -> None:
    """One absurd number loses one command of one device: its series go
    (the staleness rule), the page stays valid and the others stay."""
    r2 = _polled(pair.r2, _at_bounds(beyond=1))
    failed = {result.command for result in r2.failures}
    assert failed == {"show crypto ipsec sa", "show crypto isakmp sa", "show standby", "show version"}
    assert all("bad_value" in result.error for result in r2.failures)
    page = render(_view(pair, inventory, R2=r2))
    promtool_check(page)
    samples = read_back(page)
    labels = {"device": "R2", "pair": "HUB-PAIR-1"}
    assert value(samples, "ipsecha_device_up", **labels) == 0
    assert value(samples, "ipsecha_command_status", **labels, command="show crypto ipsec sa", status="parse") == 1
    assert value(samples, "ipsecha_ipsec_packets_encrypted_total", **labels, peer="172.16.0.4") is None
    assert value(samples, "ipsecha_redundancy_my_state", **labels) == 13  # what parsed is still shown
    assert value(samples, "ipsecha_device_up", device="R1", pair="HUB-PAIR-1") == 1


def test_a_value_without_a_float64_is_left_out_not_the_page(
    pair: LabPair, inventory: Inventory, caplog: pytest.LogCaptureFixture
) -> None:
    """Records the parser built never hold one (it bounds every number); a
    record built otherwise costs its series, logged, never the page."""
    r2 = snapshot_of(pair.r2)
    huge = dataclasses.replace(r2.ipsec_sas[0], pkts_encrypt=10**400)
    results = tuple(
        dataclasses.replace(result, records=(huge, *result.records[1:]))
        if result.command == "show crypto ipsec sa"
        else result
        for result in r2.results
    )
    with caplog.at_level(logging.WARNING, logger="ipsec_ha_monitor.export.metrics"):
        page = render(_view(pair, inventory, R2=dataclasses.replace(r2, results=results)))
    samples = read_back(page)
    labels = {"device": "R2", "pair": "HUB-PAIR-1", "peer": huge.peer}
    assert value(samples, "ipsecha_ipsec_packets_encrypted_total", **labels) is None
    assert value(samples, "ipsecha_ipsec_packets_decrypted_total", **labels) is not None
    assert "ipsecha_ipsec_packets_encrypted_total" in caplog.text and "too large" in caplog.text
    if PROMTOOL is not None:
        promtool_check(page)


# --- fuzzed records -------------------------------------------------------------------

# Label values a device (or an inventory) could hand the exporter.
NASTY = [
    "",
    " ",
    '"',
    "\\",
    "\n",
    '\\"',
    "\\n",
    'a"b\\c\nd',
    '"}\nipsecha_device_up{device="x"} 1',
    "{",
    "}",
    "=",
    ",",
    "# HELP ipsecha_device_up x",
    "ü€😀",
    "\u2028\u2029",
    "\ufeff",
    "\x00",
    "\r",
    "\t",
    "\x7f\x1b[31m",
    "x" * 300,
    "\ud800",  # a lone surrogate: never in decoded device text, still no lost page
    "NaN",
    "+Inf",
]
EXTREME_INTS = [0, 1, 255, 4095, 65535, TIME_MAX, 2**53 - 1, 2**53, 2**53 + 1, 2**63, COUNTER_MAX - 1, COUNTER_MAX]
EXTREME_FLOATS = [0.0, 0.2, 1e-300, 1_000_000.0, 1.7e9, 5e9, 1e15, -1e12, 1e300]
# Commands printing one record per output.
_SINGLE = {"show version", "show redundancy states", "show redundancy inter-device", "show redundancy"}
_RECORD_OF = {spec.command: spec.record for spec in COMMANDS}


class Fuzz:
    """Seeded random records, snapshots and views with extreme values."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def text(self) -> str:
        roll = self.rng.random()
        if roll < 0.75:
            return self.rng.choice(NASTY)
        if roll < 0.9:  # any code point, surrogates included
            return "".join(chr(self.rng.randrange(0x110000)) for _ in range(self.rng.randrange(1, 12)))
        return self.rng.choice(["R1", "10.0.0.1", "FastEthernet0/0", "QM_IDLE", "UP-ACTIVE", "Active"])

    def integer(self) -> int:
        return self.rng.choice(EXTREME_INTS) if self.rng.random() < 0.8 else self.rng.randrange(COUNTER_MAX + 1)

    def value(self, hint: Any) -> Any:
        origin = typing.get_origin(hint)
        if hint is str:
            return self.text()
        if hint is bool:
            return self.rng.random() < 0.5
        if hint is int:
            return self.integer()
        if hint is float:
            return self.rng.choice(EXTREME_FLOATS)
        if origin in (types.UnionType, typing.Union):
            (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
            return None if self.rng.random() < 0.2 else self.value(inner)
        if origin is list:
            (inner,) = typing.get_args(hint)
            return [self.value(inner) for _ in range(self.rng.randrange(4))]
        if dataclasses.is_dataclass(hint):
            return self.record(hint)
        raise TypeError(f"no fuzz for {hint!r}")

    def record(self, cls: type[Any], **fixed: Any) -> Any:
        hints = typing.get_type_hints(cls)
        fields = {
            f.name: fixed[f.name] if f.name in fixed else self.value(hints[f.name]) for f in dataclasses.fields(cls)
        }
        return cls(**fields)

    def names(self, count: int, prefix: str) -> list[str]:
        """`count` distinct nasty names."""
        return [f"{self.text()}{prefix}{i}" for i in range(count)]

    def inventory(self) -> Inventory:
        hubs = self.names(2 * self.rng.randrange(1, 3), "hub")
        branches = self.names(self.rng.randrange(0, 3), "branch")
        pairs = {}
        devices = {}
        credentials = Credentials("lab", Secret("x", "test"))
        for i in range(0, len(hubs), 2):
            name = self.text() + f"pair{i}"
            group = None if self.rng.random() < 0.5 else self.text()
            pairs[name] = Pair(name, (hubs[i], hubs[i + 1]), group)
            for hub in hubs[i : i + 2]:
                peers = tuple(dict.fromkeys(self.text() for _ in range(self.rng.randrange(4))))
                devices[hub] = Device(hub, "10.0.0.1", 22, "cisco_ios", "hub", credentials, name, group, peers)
        for branch in branches:
            devices[branch] = Device(branch, "10.0.0.2", 22, "cisco_ios", "branch", credentials)
        return Inventory(Path("inventory.yml"), devices, pairs)

    def snapshot(self, device: Device, pair: str) -> Snapshot:
        results = []
        for command in COMMANDS_BY_ROLE[device.role]:
            status = Status.OK if self.rng.random() < 0.85 else self.rng.choice(list(Status))
            if status is not Status.OK:
                results.append(CommandResult(command, status, error=self.text()))
                continue
            count = 1 if command in _SINGLE else self.rng.randrange(5)
            records = [self._record(_RECORD_OF[command], device) for _ in range(count)]
            results.append(CommandResult(command, Status.OK, tuple(records), duration_seconds=0.1))
        started = self.rng.choice(EXTREME_FLOATS)
        return Snapshot(device.name, pair, device.role, started, self.rng.choice(EXTREME_FLOATS), tuple(results))

    def _record(self, cls: type[Record], device: Device) -> Record:
        fixed: dict[str, Any] = {}
        if cls is IpsecSa and device.expected_peers and self.rng.random() < 0.5:
            fixed["peer"] = self.rng.choice(device.expected_peers)  # summed with the expected peers' zeros
        if cls is HsrpGroup and self.rng.random() < 0.3:
            fixed.update(interface="Fa0/0", group=1)  # a group printed twice: one series
        return self.record(cls, **fixed)

    def view(self) -> ExportView:
        inventory = self.inventory()
        snapshots = {name: self.snapshot(device, inventory.pair_of(name)) for name, device in inventory.devices.items()}
        pairs = [evaluate_pair(pair, snapshots, inventory) for pair in inventory.pairs.values()]
        reloads = {(name, expected): self.integer() for name in inventory.devices for expected in (False, True)}
        causes = {(name, cause): self.integer() for name in inventory.devices for cause in RELOAD_CAUSES}
        booted = {name: self.rng.choice(EXTREME_FLOATS) for name in inventory.devices if self.rng.random() < 0.5}
        now = self.rng.choice(EXTREME_FLOATS)
        return ExportView(inventory, snapshots, pairs, reloads, now, causes, booted)


def _as_written(text: str) -> str:
    """A label value as the page holds it (a lone surrogate becomes '?')."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _first_groups(snapshot: Snapshot) -> dict[tuple[str, int], HsrpGroup]:
    groups: dict[tuple[str, int], HsrpGroup] = {}
    for group in snapshot.hsrp_groups or ():
        groups.setdefault((group.interface, group.group), group)
    return groups


PAGES = 40


@needs_promtool
@pytest.mark.parametrize("seed", range(PAGES))
def test_pages_from_fuzzed_records_are_valid(seed: int) -> None:
    view = Fuzz(20261130 + seed).view()
    page = render(view)
    promtool_check(page)
    samples = read_back(page)
    # Every device's labels read back as given, quotes, newlines and all.
    up = {dict(key)["device"]: number for key, number in samples["ipsecha_device_up"].items()}
    assert set(up) == {_as_written(name) for name in view.snapshots}
    for name, snapshot in view.snapshots.items():
        labels = {"device": _as_written(name), "pair": _as_written(snapshot.pair)}
        assert up[labels["device"]] == (1.0 if snapshot.up else 0.0)
        for (interface, number), group in _first_groups(snapshot).items():
            key = {**labels, "interface": _as_written(interface), "group": str(number)}
            assert value(samples, "ipsecha_hsrp_priority", **key) == float(group.priority)
            if group.state_changes is not None:
                assert value(samples, "ipsecha_hsrp_state_changes_total", **key) == float(group.state_changes)
        for (device, expected), count in view.reloads.items():
            if device == name:
                assert value(samples, "ipsecha_reloads_total", **labels, expected=str(expected).lower()) == float(count)


def test_fuzzed_views_cover_the_extremes() -> None:
    """The generator does reach what the pages must survive."""
    views = [Fuzz(20261130 + seed).view() for seed in range(PAGES)]
    ints: set[int] = set()
    texts: set[str] = set()

    def walk(item: Any) -> None:
        if isinstance(item, bool):
            return
        if isinstance(item, int):
            ints.add(item)
        elif isinstance(item, str):
            texts.add(item)
        elif isinstance(item, dict):
            for inner in item.values():
                walk(inner)
        elif isinstance(item, list | tuple):
            for inner in item:
                walk(inner)

    for view in views:
        for snapshot in view.snapshots.values():
            for result in snapshot.results:
                walk([record.to_dict() for record in result.records])
    assert {0, 2**53 + 1, COUNTER_MAX} <= ints
    assert {"", '"', "\\", "\n", "ü€😀", "\ud800"} <= texts
    assert all(isinstance(pair, PairHealth) for view in views for pair in view.pairs)


# --- the parser: numbers no IOS prints are bad values ------------------------------------

IPSEC = FIXTURES / "show_crypto_ipsec_sa/packetlife_r2_hub.raw"


@pytest.mark.parametrize("digits", [21, 310, 4_000, 5_000])
def test_a_huge_pkts_encaps_counter_is_a_bad_value(digits: int) -> None:
    lines = IPSEC.read_text().splitlines()
    number = next(n for n, line in enumerate(lines, 1) if "#pkts encaps" in line)
    lines[number - 1] = re.sub(r"(#pkts encaps: )\d+", rf"\g<1>{'9' * digits}", lines[number - 1])
    with pytest.raises(ParseError) as caught:
        parse_output("show crypto ipsec sa", "\n".join(lines) + "\n")
    error = caught.value
    assert (error.kind, error.line_number) == (errors.BAD_VALUE, number)
    assert len(str(error)) < 800  # the number is quoted by its start
    if len(lines[number - 1]) > MAX_LINE:
        assert "over the 4096 this parser reads" in error.message
    else:
        assert "pkts encaps" in error.message and str(COUNTER_MAX) in error.message


def _ints(item: Any) -> list[int]:
    """The integers in a record's dict, sorted (where they sit may move: an
    HSRP track object renamed is no longer merged with its other line)."""
    if isinstance(item, bool):
        return []
    if isinstance(item, int):
        return [item]
    inner = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
    return sorted(number for part in inner for number in _ints(part))


def _has_int_fields(cls: type[Any]) -> bool:
    for hint in typing.get_type_hints(cls).values():
        parts = typing.get_args(hint) or (hint,)
        for part in parts:
            inner = typing.get_args(part) or (part,)
            if any(x is int or (dataclasses.is_dataclass(x) and _has_int_fields(x)) for x in inner):
                return True
    return False


_DIGIT_RUN = re.compile(r"[0-9]+")
# Just over a 64-bit counter; far over a float64 as an integer; near
# Python's int() limit but under the line cap; over both.
HUGE = [str(COUNTER_MAX + 1), "9" * 310, "9" * 4_000, "9" * 5_000]


@pytest.mark.parametrize("spec", COMMANDS, ids=lambda s: s.command)
def test_a_huge_number_anywhere_is_a_bad_value_or_stays_out_of_the_records(spec) -> None:
    """Every run of digits of every fixture of the command, one at a time,
    made huge: the output either fails with a ParseError other than
    internal_error (a bad_value names the altered line), or parses to
    records whose integers are those of the unaltered output (the number
    was text: an address, an interface, a time stamp)."""
    bad_values = 0
    for raw in sorted((FIXTURES / spec.command.replace(" ", "_")).glob("*.raw")):
        command = command_of(raw.parent)
        text = raw.read_text()
        expected = _ints([record.to_dict() for record in parse_output(command, text)])
        lines = text.splitlines()
        for index, line in enumerate(lines):
            for run in _DIGIT_RUN.finditer(line):
                for huge in HUGE:
                    altered = line[: run.start()] + huge + line[run.end() :]
                    output = "\n".join([*lines[:index], altered, *lines[index + 1 :]]) + "\n"
                    try:
                        records = parse_output(command, output)
                    except ParseError as exc:
                        assert exc.kind != errors.INTERNAL, exc
                        if exc.kind == errors.BAD_VALUE:
                            bad_values += 1
                            assert exc.line_number == index + 1, (raw.name, line, exc)
                        continue
                    got = _ints([record.to_dict() for record in records])
                    assert got == expected, f"{raw.name}: {line!r} with {huge[:30]}...: integers {got}, not {expected}"
    if _has_int_fields(spec.record):
        assert bad_values, f"{spec.command}: no number made huge was refused"
