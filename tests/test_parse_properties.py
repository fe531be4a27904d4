"""Properties over every real output (tests/corpus) and fixture the parser
reads: an output that contradicts itself, one cut inside its last line, and
one carrying terminal control sequences.

Each property mutates the unmodified outputs, whose records are computed
once, and compares; all of them together stay within seconds.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass

import pytest
from support.paths import CORPUS, CORPUS_COMMANDS, TEMPLATE_SPECS, raw_outputs

from ipsec_ha_monitor.parse import ParseError, _rows, errors, parse_output, resolve
from ipsec_ha_monitor.parse.templates import run_checked


@dataclass(frozen=True)
class Output:
    name: str  # corpus/<folder>/<file> or fixtures/<platform>/<folder>/<file>
    command: str
    platform: str
    text: str
    records: tuple  # what the unmodified text gives


@functools.cache
def outputs() -> tuple[Output, ...]:
    """Real outputs and fixtures that parse (a fixture that must be refused
    gives nothing to keep equal)."""
    result = []
    for raw in raw_outputs():
        text = raw.path.read_text(encoding="utf-8")
        try:
            records = parse_output(raw.command, text, raw.platform)
        except ParseError:
            continue
        result.append(Output(raw.name, raw.command, raw.platform, text, tuple(records)))
    return tuple(result)


def outcome(output: Output, text: str, **options: bool) -> tuple | str:
    """The records of `text` read as `output`'s command, or the kind of the
    ParseError it gives."""
    try:
        return tuple(parse_output(output.command, text, output.platform, **options))
    except ParseError as exc:
        return exc.kind


def _repeats_legitimately(output: Output) -> bool:
    """Logs and event histories list the same record twice when it happened
    twice; every other command's records have a key (consistency.py), or are
    one record whose values may not be restated."""
    return resolve(output.command, output.platform).record_key is None


def test_the_corpus_is_here() -> None:
    names = [output.name for output in outputs()]
    assert sum(name.startswith("corpus/") for name in names) >= 60
    assert sum(name.startswith("fixtures/") for name in names) >= 40
    # every template, the IOS-XE ones too, is under every property below
    read = {resolve(output.command, output.platform).template for output in outputs() if output.records}
    assert read == {spec.template for spec in TEMPLATE_SPECS}


# --- contradictions -----------------------------------------------------------


def test_an_output_given_twice_is_inconsistent() -> None:
    """Every output with records, given twice in one answer, is refused as
    inconsistent_output (logs and histories aside: they repeat by nature)."""
    checked = Counter()
    for output in outputs():
        if not output.records or _repeats_legitimately(output):
            continue
        text = output.text if output.text.endswith("\n") else output.text + "\n"
        assert outcome(output, text + text) == errors.INCONSISTENT, output.name
        checked[output.command] += 1
    assert len(checked) >= 9, checked


def _doubled(lines: list[str], index: int, copy: str) -> str:
    return "\n".join([*lines[: index + 1], copy, *lines[index + 1 :]])


def _restated_at(output: Output, text: str, line_number: int) -> list[str]:
    """The values the engine saw restated on `line_number` (1-based) of
    `text` (those a template may restate aside)."""
    spec = resolve(output.command, output.platform)
    try:
        _, checked = run_checked(spec.template_path, text, required=False)
    except Exception:  # a template Error action: the line does not read
        return []
    return [
        restated.again
        for restated in checked.restated
        if restated.line_number == line_number and restated.value not in spec.may_restate
    ]


def _changed(line: str, value: str) -> str | None:
    """`line` with the last digit or letter of `value` (where the line holds
    it) changed to another of its kind, or None."""
    end = line.rfind(value) + len(value)
    for position in range(end - 1, end - len(value) - 1, -1):
        char = line[position]
        if char.isdigit():
            new = str((int(char) + 1) % 10)
        elif char.isascii() and char.isalpha():
            base = ord("a") if char.islower() else ord("A")
            new = chr(base + (ord(char) - base + 1) % 26)
        else:
            continue
        return line[:position] + new + line[position + 1 :]
    return None


def test_a_restated_value_is_inconsistent() -> None:
    """Every line that sets a single value (neither List nor Filldown),
    given twice in its block, or given again with that value changed, is
    refused as inconsistent_output."""
    doubled = changed = 0
    for output in outputs():
        if not output.records:
            continue
        lines = output.text.splitlines()
        for index, line in enumerate(lines):
            text = _doubled(lines, index, line)
            values = _restated_at(output, text, index + 2)
            if not values:
                continue  # the line sets no single value
            assert outcome(output, text) == errors.INCONSISTENT, (output.name, line)
            doubled += 1
            copy = _changed(line, values[0])
            if copy is None or copy == line:
                continue
            text = _doubled(lines, index, copy)
            if _restated_at(output, text, index + 2):  # the changed copy still reads
                assert outcome(output, text) == errors.INCONSISTENT, (output.name, line, copy)
                changed += 1
    assert doubled > 500 and changed > 400, (doubled, changed)


def test_a_block_given_twice_is_inconsistent() -> None:
    """In every output of several records, each record's block given twice
    (right after itself) is refused: the same key twice."""
    blocks = 0
    for output in outputs():
        if len(output.records) < 2 or _repeats_legitimately(output):
            continue
        # The parser's own rows (filled-down-only rows dropped) and where each starts.
        _, checked = _rows(resolve(output.command, output.platform), output.text)
        lines = output.text.splitlines()
        for first, last in zip(checked.starts, checked.ends, strict=True):
            block = lines[first - 1 : last]
            text = "\n".join([*lines[:last], *block, *lines[last:]]) + "\n"
            assert outcome(output, text) == errors.INCONSISTENT, (output.name, block[0])
            blocks += 1
    assert blocks > 50


def test_unmodified_outputs_parse_as_before() -> None:
    """The checks refuse nothing real: every corpus output parses, with
    the records the key-field tests check (tests/test_corpus.py)."""
    corpus = [output for output in outputs() if output.name.startswith("corpus/")]
    raws = sum(len(list((CORPUS / folder).glob("*.raw"))) for folder in CORPUS_COMMANDS)
    assert len(corpus) == raws


# --- a last line cut short ------------------------------------------------------


def test_an_output_cut_inside_its_last_line_is_never_misread() -> None:
    """Every output cut at every character of its last line, with no line
    end and no prompt after it (complete=False), is refused or gives exactly
    the records of its complete lines: never a value read from a cut line."""
    cuts = refused = 0
    for output in outputs():
        lines = output.text.rstrip("\n").split("\n")
        if len(lines) < 2:
            continue
        head = "\n".join(lines[:-1]) + "\n"
        before = outcome(output, head)
        last = lines[-1]
        for cut in range(1, len(last) + 1):
            result = outcome(output, head + last[:cut], complete=False)
            cuts += 1
            if isinstance(result, str):
                refused += 1
            else:
                assert result == before, (output.name, last[:cut])
    assert cuts > 2000 and refused > 0


def test_a_complete_output_is_read_whole() -> None:
    """complete=False refuses nothing that ends with its line end: the
    unmodified outputs that have one parse exactly as before."""
    for output in outputs():
        if output.text.endswith("\n"):
            assert outcome(output, output.text, complete=False) == output.records, output.name


# --- the echo and the prompt ----------------------------------------------------------


def test_the_echoed_command_and_the_prompt_change_nothing() -> None:
    """What the poller hands the parser (poll/session.py run): the command's
    echo after a prompt, the output, the prompt. Every output read that way
    gives the records it gives alone."""
    changed = []
    for output in outputs():
        body = output.text if output.text.endswith("\n") else output.text + "\n"
        result = outcome(output, f"R1#{output.command}\n{body}R1#")
        if result != output.records:
            changed.append((output.name, result if isinstance(result, str) else "other records"))
    assert not changed, changed


# --- terminal control sequences ---------------------------------------------------

SEQUENCES = ("\x1b[K", "\x1b[2K", "\x1b[0m", "\x1b[1;32m", "\x1b]0;R1\x07", "\x1b7", "x\x08")


def test_terminal_controls_at_any_line_start_change_nothing() -> None:
    """A terminal control sequence at the start of any line of any output
    gives the same records (each line gets one, the kinds taking turns)."""
    inserted = 0
    for output in outputs():
        lines = output.text.split("\n")
        for index in range(len(lines)):
            sequence = SEQUENCES[(index + len(output.name)) % len(SEQUENCES)]
            text = "\n".join([*lines[:index], sequence + lines[index], *lines[index + 1 :]])
            assert outcome(output, text) == output.records, (output.name, index, sequence)
            inserted += 1
    assert inserted > 2000


@pytest.mark.parametrize("sequence", SEQUENCES)
def test_every_kind_of_sequence_on_every_line_at_once(sequence: str) -> None:
    for output in outputs():
        text = "\n".join(sequence + line for line in output.text.split("\n"))
        assert outcome(output, text) == output.records, output.name
