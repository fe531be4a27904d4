"""Where templates live, and compiled templates shared by every thread.

Compiling a template (dozens of regexes) costs far more than running it on a
typical output, so each template is compiled once (monitor.parse.fsm) and
reused; a template fsm.FastFsm cannot run goes to textfsm itself, with one
machine per thread since a TextFSM object holds parse state.
"""

from __future__ import annotations

import threading
from pathlib import Path

import textfsm
from textfsm import clitable

from monitor.parse.fsm import FastFsm, compile_template

# Our templates and their CliTable index, at the top of the repository and
# shipped inside the wheel (see pyproject.toml).
OUR_TEMPLATES = Path(__file__).resolve().parents[2] / "textfsm_templates"
INDEX_FILE = "index"
PLATFORM = "cisco_ios"


_compile_lock = threading.Lock()
_engines: dict[Path, FastFsm | textfsm.TextFSM] = {}
_per_thread = threading.local()


def _engine(path: Path) -> FastFsm | textfsm.TextFSM:
    engine = _engines.get(path)
    if engine is None:
        with _compile_lock:
            engine = _engines.get(path) or _engines.setdefault(path, compile_template(path))
    return engine


def run(path: Path, text: str) -> list[dict[str, object]]:
    """Rows of `text` parsed by the template at `path`, as dicts keyed by value name."""
    engine = _engine(path)
    if isinstance(engine, FastFsm):
        rows = engine.parse(text)
    else:
        machines: dict[Path, textfsm.TextFSM] = _per_thread.__dict__.setdefault("machines", {})
        machine = machines.get(path)
        if machine is None:
            with open(path, encoding="utf-8") as handle:
                machine = machines[path] = textfsm.TextFSM(handle)
        machine.Reset()
        rows = machine.ParseText(text)
    header = engine.header
    return [dict(zip(header, row, strict=True)) for row in rows]


_index_lock = threading.Lock()
_indexes: dict[Path, clitable.CliTable] = {}


def index_template(template_dir: Path, command: str) -> str | None:
    """The template file the CliTable index in `template_dir` names for
    `command` (abbreviations allowed), or None when no row matches."""
    with _index_lock:
        table = _indexes.get(template_dir)
        if table is None:
            table = _indexes[template_dir] = clitable.CliTable(INDEX_FILE, str(template_dir))
        row = table.index.GetRowMatch({"Command": command, "Platform": PLATFORM})
    if not row:
        return None
    # A row may list several templates joined by ":"; ours list one.
    return table.index.index[row]["Template"].split(":")[0]
