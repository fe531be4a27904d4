"""Where templates live, and compiled templates shared by every thread.

Compiling a template (dozens of regexes) costs far more than running it on a
typical output, so each template is compiled once (ipsec_ha_monitor.parse.fsm) and
reused; a template fsm.FastFsm cannot run goes to textfsm itself, with one
machine per thread since a TextFSM object holds parse state.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import textfsm
from textfsm import clitable

from ipsec_ha_monitor.parse.fsm import Checked, FastFsm, compile_template

# Our templates and their CliTable index: textfsm_templates/ at the top of the
# repository, reached through the package's shipped/ link (a copy inside the
# wheel, see pyproject.toml).
OUR_TEMPLATES = Path(__file__).resolve().parents[1] / "shipped" / "textfsm_templates"
INDEX_FILE = "index"
# netmiko device types whose output this parser reads (the index's Platform
# column); the inventory accepts these and no others.
PLATFORMS = ("cisco_ios", "cisco_xe")
DEFAULT_PLATFORM = "cisco_ios"


_compile_lock = threading.Lock()
_engines: dict[tuple[Path, bool], FastFsm | textfsm.TextFSM] = {}
_per_thread = threading.local()


def _template_text(path: Path, required: bool) -> str:
    text = path.read_text(encoding="utf-8")
    return text if required else relaxed(text)


def relaxed(template: str) -> str:
    """`template` with the Required option dropped from every Value line.

    TextFSM silently discards a record that lacks a Required value; the
    parser runs this variant instead so that such a record reaches the
    completeness check (commands.py `required`), which names the missing line.
    """
    lines = []
    for line in template.splitlines(keepends=True):
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[0] == "Value" and not parts[2].startswith("("):
            options = [option for option in parts[1].split(",") if option != "Required"]
            line = f"Value {','.join(options)} {parts[2]}" if options else f"Value {parts[2]}"
        lines.append(line)
    return "".join(lines)


def _engine(path: Path, required: bool = True) -> FastFsm | textfsm.TextFSM:
    key = (path, required)
    engine = _engines.get(key)
    if engine is None:
        with _compile_lock:
            engine = _engines.get(key)
            if engine is None:
                engine = _engines[key] = compile_template(path, _template_text(path, required))
    return engine


def filldown_values(path: Path) -> frozenset[str]:
    """Names of the template's Filldown values."""
    with open(path, encoding="utf-8") as handle:
        template = textfsm.TextFSM(handle)
    return frozenset(value.name for value in template.values if "Filldown" in value.OptionNames())


def run(path: Path, text: str, required: bool = True) -> list[dict[str, object]]:
    """Rows of `text` parsed by the template at `path`, as dicts keyed by value name.

    With required=False the template runs without its Required options (see
    `relaxed`): records lacking a Required value are returned, not dropped.
    """
    engine = _engine(path, required)
    if isinstance(engine, FastFsm):
        rows = engine.parse(text)
    else:
        machines: dict[tuple[Path, bool], textfsm.TextFSM] = _per_thread.__dict__.setdefault("machines", {})
        machine = machines.get((path, required))
        if machine is None:
            machine = machines[(path, required)] = textfsm.TextFSM(io.StringIO(_template_text(path, required)))
        machine.Reset()
        rows = machine.ParseText(text)
    header = engine.header
    return [dict(zip(header, row, strict=True)) for row in rows]


def run_checked(path: Path, text: str, required: bool = True) -> tuple[list[dict[str, object]], Checked]:
    """`run`, with what FastFsm saw beside the rows (fsm.Checked). A template
    textfsm runs reports no skipped lines, restated values or row starts:
    none of ours does (tests/test_fsm.py)."""
    engine = _engine(path, required)
    if not isinstance(engine, FastFsm):
        rows = run(path, text, required)
        return rows, Checked([], [0] * len(rows), [0] * len(rows), [], [])
    checked = engine.parse_checked(text)
    header = engine.header
    return [dict(zip(header, row, strict=True)) for row in checked.rows], checked


_index_lock = threading.Lock()
_indexes: dict[Path, clitable.CliTable] = {}


def index_template(template_dir: Path, command: str, platform: str = DEFAULT_PLATFORM) -> str | None:
    """The template file the CliTable index in `template_dir` names for
    `command` (abbreviations allowed) on `platform`, or None when no row
    matches."""
    with _index_lock:
        table = _indexes.get(template_dir)
        if table is None:
            table = _indexes[template_dir] = clitable.CliTable(INDEX_FILE, str(template_dir))
        row = table.index.GetRowMatch({"Command": command, "Platform": platform})
    if not row:
        return None
    # A row may list several templates joined by ":"; ours list one.
    return table.index.index[row]["Template"].split(":")[0]
