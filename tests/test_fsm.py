"""FastFsm against stock TextFSM: same rows, same errors, on every template
and every output we have (fixtures and corpus, whole and cut at every line).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import textfsm
from support.paths import CORPUS, TEMPLATE_SPECS, fixture_raws

from ipsec_ha_monitor.parse.fsm import FastFsm, compile_template
from ipsec_ha_monitor.parse.templates import relaxed, run

TEXTS = [path.read_text(encoding="utf-8", errors="replace") for path in fixture_raws()]
TEXTS += [path.read_text(encoding="utf-8", errors="replace") for path in sorted(CORPUS.glob("*/*.raw"))]


def _outcome(parse, text: str) -> object:
    try:
        return parse(text)
    except textfsm.TextFSMError as exc:
        return f"error: {exc}"


@pytest.mark.parametrize("required", [True, False], ids=["as written", "without Required (what parse_output runs)"])
@pytest.mark.parametrize("spec", TEMPLATE_SPECS, ids=lambda s: s.command)
def test_fast_engine_matches_textfsm(spec, required: bool) -> None:
    template = spec.template_path.read_text(encoding="utf-8")
    if not required:
        template = relaxed(template)
        assert "Required" not in "".join(line for line in template.splitlines() if line.startswith("Value "))
    engine = compile_template(spec.template_path, template)
    assert isinstance(engine, FastFsm), "our templates stay within what FastFsm runs"
    stock = textfsm.TextFSM(io.StringIO(template))

    def stock_parse(text: str) -> list:
        stock.Reset()
        return stock.ParseText(text)

    assert engine.header == stock.header
    compared = 0
    for text in TEXTS:
        lines = text.splitlines()
        for cut in range(len(lines) + 1):
            piece = "\n".join(lines[:cut])
            assert _outcome(engine.parse, piece) == _outcome(stock_parse, piece), (spec.command, piece[-200:])
            compared += 1
    assert compared > 1000


def _template(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "t.textfsm"
    path.write_text(body)
    return path


SEMANTICS = """Value Filldown,Required IFACE (\\S+)
Value List ADDR (\\S+)
Value Required STATE (\\w+)
Value NOTE (.*)

Start
  ^interface ${IFACE} -> Continue
  ^interface -> Clear
  ^  addr ${ADDR}
  ^  state ${STATE} -> Record
  ^  note ${NOTE} -> Continue
  ^  note hop -> Hop
  ^reset -> Clearall
  ^boom -> Error "stop here"

Hop
  ^  back -> Start
  ^  state ${STATE} -> Record
"""

SEMANTICS_TEXT = """interface Gi1
  addr 10.0.0.1
  addr 10.0.0.2
  state up
  addr 10.0.0.3
  state down
interface Gi2
  note hop
  state skipped-by-hop
  back
  state up
reset
  state orphan
interface Gi3
  addr 1.1.1.1
"""


def test_actions_and_options_match_textfsm(tmp_path: Path) -> None:
    """Filldown, Required, List, Continue, Clear, Clearall, state changes,
    the implicit EOF record, and Error, on a template written to use them."""
    path = _template(tmp_path, SEMANTICS)
    engine = compile_template(path)
    assert isinstance(engine, FastFsm)
    stock = textfsm.TextFSM(path.open())
    assert engine.parse(SEMANTICS_TEXT) == stock.ParseText(SEMANTICS_TEXT)
    stock.Reset()
    assert _outcome(engine.parse, SEMANTICS_TEXT + "boom\n") == _outcome(stock.ParseText, SEMANTICS_TEXT + "boom\n")
    assert "stop here" in str(_outcome(engine.parse, "boom"))


def test_templates_fastfsm_cannot_run_go_to_textfsm(tmp_path: Path) -> None:
    path = _template(tmp_path, "Value Fillup A (\\d+)\nValue B (\\w+)\n\nStart\n  ^a ${A}\n  ^b ${B} -> Record\n")
    engine = compile_template(path)
    assert not isinstance(engine, FastFsm)
    rows = run(path, "b x\nb y\na 7\n")
    assert [(row["A"], row["B"]) for row in rows] == [("7", "x"), ("7", "y"), ("7", "")]


@pytest.mark.parametrize(
    "rule",
    [
        "^(\\w)\\1 ${A} -> Record",  # numbered back-reference: joining renumbers groups
        "^(?P<x>\\w)(?P=x) ${A} -> Record",  # named back-reference
        "^(?P<x><)?${A}(?(x)>) -> Record",  # conditional on a group
    ],
)
def test_group_references_run_on_textfsm(tmp_path: Path, rule: str) -> None:
    path = _template(tmp_path, f"Value A (\\d+)\n\nStart\n  ^skip\n  {rule}\n")
    assert not isinstance(compile_template(path), FastFsm)
    with open(path) as handle:
        stock = textfsm.TextFSM(handle)
    text = "aa 1\n<2>\nxx 3\n"
    assert [[row["A"]] for row in run(path, text)] == stock.ParseText(text)


def test_escaped_parenthesis_and_empty_state_match_textfsm(tmp_path: Path) -> None:
    path = _template(tmp_path, "Value A (\\d+)\n\nStart\n  ^\\(?P<x> ${A} -> Record\n  ^go -> Empty\n\nEmpty\n\n")
    engine = compile_template(path)
    assert isinstance(engine, FastFsm)
    with open(path) as handle:
        stock = textfsm.TextFSM(handle)
    text = "(P<x> 1\nP<x> 2\ngo\n(P<x> 3\n"
    assert engine.parse(text) == stock.ParseText(text) == [["1"], ["2"]]


@pytest.mark.parametrize("spec", TEMPLATE_SPECS, ids=lambda s: s.command)
def test_checked_parse_gives_the_same_rows(spec) -> None:
    """parse_checked (what the parser runs) is parse plus extra channels:
    the same rows, or the same error, on every output whole."""
    engine = compile_template(spec.template_path, relaxed(spec.template_path.read_text(encoding="utf-8")))
    assert isinstance(engine, FastFsm)

    def checked_rows(text: str) -> list:
        checked = engine.parse_checked(text)
        assert len(checked.starts) == len(checked.ends) == len(checked.rows)
        # 0: a row of filled-down values only (the parser drops those)
        assert all(
            0 < start <= end or start == end == 0 for start, end in zip(checked.starts, checked.ends, strict=True)
        )
        return checked.rows

    for text in TEXTS:
        assert _outcome(checked_rows, text) == _outcome(engine.parse, text), (spec.command, text[:200])


CHECKED = """Value Filldown IFACE (\\S+)
Value List ADDR (\\S+)
Value STATE (\\w+)
Value PRIO (\\d+)

Start
  ^interface -> Continue.Record
  ^interface ${IFACE}
  ^  addr ${ADDR}
  ^  state ${STATE}
  ^  prio ${PRIO}
  ^  both ${STATE} ${PRIO} -> Continue
  ^  both \\w+ ${PRIO}
  ^\\s*$$
  ^. -> Next
"""


def test_checked_reports_restated_values_skipped_lines_and_blocks(tmp_path: Path) -> None:
    """A single value set twice in one record is reported with both lines
    (List and Filldown values, and a value a Continue rule sets again from
    the same line, are not); lines the `^. -> Next` rule skips are listed;
    each row's first and last line are known. textfsm sees none of it."""
    path = _template(tmp_path, CHECKED)
    engine = compile_template(path)
    assert isinstance(engine, FastFsm)
    text = (
        "interface Gi1\n  addr 1\n  addr 2\n  state up\n  mystery line\n  state down\n"
        "interface Gi2\n  both up 7\n  prio 7\n\ninterface Gi3\n  state up\n"
    )
    checked = engine.parse_checked(text)
    stock = textfsm.TextFSM(path.open())
    assert checked.rows == engine.parse(text) == stock.ParseText(text)
    assert [(r.value, r.first, r.first_line, r.again, r.line_number, r.line) for r in checked.restated] == [
        ("STATE", "up", 4, "down", 6, "  state down"),
        ("PRIO", "7", 8, "7", 9, "  prio 7"),
    ]
    assert checked.skipped == [(5, "  mystery line")]
    assert (checked.starts, checked.ends) == ([1, 7, 11], [6, 9, 12])


def test_informational_rule_is_only_the_bare_catch_all(tmp_path: Path) -> None:
    """`^. -> Error` and `^.` with a record or state change are not the
    informational rule: nothing is counted for them."""
    body = "Value A (\\d+)\n\nStart\n  ^a ${A} -> Record\n  ^x -> Other\n  ^.\n\nOther\n  ^. -> Record Start\n"
    engine = compile_template(_template(tmp_path, body))
    assert isinstance(engine, FastFsm)
    checked = engine.parse_checked("a 1\nzz\nx\nyy\nqq\n")
    assert checked.skipped == [(2, "zz"), (5, "qq")]
