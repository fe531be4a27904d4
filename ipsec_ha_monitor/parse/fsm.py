r"""Run TextFSM templates fast: compile once, dispatch each line in one regex.

textfsm parses the template (so the syntax and its errors are TextFSM's);
FastFsm then runs it with TextFSM's semantics, differently built:

- each state's rules are also joined into one regex, alternatives in rule
  order; Python's regex engine returns the first alternative that matches,
  which is the first rule TextFSM's own scan would match, so a line costs one
  C-level match instead of one Python call per rule (and nothing more when no
  rule matches);
- values are slots in a list with their options resolved up front, instead
  of objects looked up by name for every match;
- all run state is local to one call, so one machine serves every thread;
- every regex is compiled with re.ASCII (RULE_FLAGS): `\s` is a blank IOS
  prints (space, tab; the line ends are gone: both engines split lines with
  str.splitlines), `\d` an ASCII digit, `\w` an ASCII word character, `\S`
  anything else. Python's `re` on str otherwise calls NBSP, U+2000..U+200A,
  U+3000 and more `\s`, and `\d` any script's digit: no IOS output prints
  them (every real output we hold is ASCII), and a template written for
  blanks must not backtrack over runs of them. A Unicode blank is therefore an
  ordinary character: a line holding one where the template wants a blank
  reads as no rule's line (an unknown line, an error where the template
  refuses those). On ASCII input, the only input IOS prints, both engines
  agree (tests/test_fsm.py);
- an Error action reports the number of the input line (FsmError);
- `parse_checked` also reports what TextFSM cannot (see `Checked`): the
  informational lines a template skipped by its `^. -> Next` rule, and a
  value that one record states twice.

Supported: the options Required, Filldown, List (without nested named groups)
and Key; line actions Next, Continue, Error; record actions NoRecord, Record,
Clear, Clearall; state changes, End and EOF. A template outside that (Fillup,
List with nested named groups, or rule regexes whose meaning could change when
joined: numbered or named back-references, conditionals, or anything whose
group count the join would alter) is run by textfsm itself; see
`FastFsm.supports`. tests/test_fsm.py runs both engines on every fixture and
corpus output, cut at every line, and requires identical rows and errors
(parse_checked's rows too); it also requires that every template of ours
runs on FastFsm, since a template textfsm runs gets none of the extra checks.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import textfsm

# A named group opening, or any escaped character (kept as it is, so that an
# escaped "\(" is never mistaken for a group).
_NAMED_GROUP_OR_ESCAPE = re.compile(r"\\.|\(\?P<\w+>")
# Constructs whose meaning depends on group names or numbers (false alarms are
# harmless: the template then runs on textfsm itself).
_GROUP_REFERENCE = re.compile(r"\\[1-9]|\(\?P=|\(\?\(")
_NEVER = "(?!)"
_END_STATES = ("End", "EOF")
# The rule a template ends a state with to skip, and count, an informational
# line it does not know (docs/templates.md); `^. -> Error` refuses one.
INFORMATIONAL_RULE = "^."
# Flags of every template regex FastFsm compiles (see the module docstring).
RULE_FLAGS = re.ASCII


class FsmError(textfsm.TextFSMError):
    """TextFSM's Error action, with the input line that triggered it."""

    def __init__(self, message: str, line_number: int, line: str) -> None:
        super().__init__(message)
        self.line_number = line_number
        self.line = line


def _without_names(regex: str) -> str:
    """`regex` with its named groups made non-capturing."""
    return _NAMED_GROUP_OR_ESCAPE.sub(lambda m: m.group(0) if m.group(0)[0] == "\\" else "(?:", regex)


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    # (group number, value slot, slot is a List, slot is Filldown), in group order
    assigns: tuple[tuple[int, int, bool, bool], ...]
    record: str  # "", "Record", "Clear", "Clearall"
    line: str  # "", "Next", "Continue", "Error"
    new_state: str
    line_num: int
    informational: bool  # `^. -> Next`: an unknown line, skipped and counted


@dataclass(frozen=True)
class Restated:
    """A value (neither List nor Filldown) that one record assigned twice,
    from two different lines: the last would silently win."""

    value: str  # the template's value name
    first: str
    first_line: int
    again: str
    line_number: int
    line: str


@dataclass
class Checked:
    """What parse_checked saw beside the rows."""

    rows: list[list[object]]
    starts: list[int]  # per row, the line of its first value (0: none)
    ends: list[int]  # per row, the line of its last value (0: none)
    skipped: list[tuple[int, str]]  # informational lines skipped by `^. -> Next`
    restated: list[Restated]


class FastFsm:
    """A compiled template; `parse(text)` returns rows like TextFSM.ParseText."""

    def __init__(self, template: textfsm.TextFSM) -> None:
        self.header: list[str] = template.header
        names = [value.name for value in template.values]
        slot = {name: index for index, name in enumerate(names)}
        options = [value.OptionNames() for value in template.values]
        self._filldown = tuple(i for i, opts in enumerate(options) if "Filldown" in opts)
        self._lists = tuple(i for i, opts in enumerate(options) if "List" in opts)
        self._list_filldown = tuple(i for i in self._lists if i in self._filldown)
        # What a record does per slot, in TextFSM's option order.
        self._on_save = tuple(tuple(o for o in opts if o in ("Required", "List")) for opts in options)
        self._has_eof_state = "EOF" in template.states
        # Per state: the dispatch regex, and for each rule index the rules
        # from that one on (where TextFSM's scan resumes).
        self._states: dict[str, tuple[re.Pattern[str], list[tuple[_Rule, ...]]]] = {}
        for name, rules in template.states.items():
            compiled = []
            for rule in rules:
                regex = re.compile(rule.regex, RULE_FLAGS)
                assigns = tuple(
                    (number, slot[group], slot[group] in self._lists, slot[group] in self._filldown)
                    for group, number in regex.groupindex.items()
                    if group in slot
                )
                informational = (
                    rule.regex == INFORMATIONAL_RULE
                    and rule.line_op in ("", "Next")
                    and not rule.record_op
                    and not rule.new_state
                )
                compiled.append(
                    _Rule(regex, assigns, rule.record_op, rule.line_op, rule.new_state, rule.line_num, informational)
                )
            # Wrap each rule as a named alternative; values' own groups become
            # non-capturing because a name may not repeat in one regex.
            dispatch = "|".join(f"(?P<_{i}>{_without_names(rule.regex)})" for i, rule in enumerate(rules))
            tails = [tuple(compiled[i:]) for i in range(len(compiled))]
            self._states[name] = (re.compile(dispatch or _NEVER, RULE_FLAGS), tails)

    @classmethod
    def supports(cls, template: textfsm.TextFSM) -> bool:
        for rules in template.states.values():
            for rule in rules:
                if _GROUP_REFERENCE.search(rule.regex):
                    return False
                original = re.compile(rule.regex)
                if re.compile(_without_names(rule.regex)).groups != original.groups - len(original.groupindex):
                    return False  # the rewrite touched something other than value groups
        for value in template.values:
            opts = set(value.OptionNames())
            if not opts <= {"Required", "Filldown", "List", "Key"}:
                return False
            if "List" in opts and re.compile(value.regex).groupindex:
                return False  # nested named groups make TextFSM build dicts
        return True

    def parse(self, text: str) -> list[list[object]]:
        return self._parse(text, None).rows

    def parse_checked(self, text: str) -> Checked:
        """The rows of `parse`, with the lines each row starts at, the
        informational lines skipped, and the values a record restated."""
        return self._parse(text, Checked([], [], [], [], []))

    def _parse(self, text: str, checked: Checked | None) -> Checked:
        width = len(self.header)
        header = self.header
        # Per slot, the line that last assigned it in the current record
        # (0: not since the record began); List and Filldown slots repeat
        # by design and are not tracked.
        assigned_at = [0] * width
        first_line = last_line = 0
        current: list[object] = [None] * width  # str, None, or a list once saved
        kept: list[object] = [None] * width  # last value of each Filldown slot
        lists: dict[int, list[str | None]] = {i: [] for i in self._lists}
        filldown, list_filldown, on_save = self._filldown, self._list_filldown, self._on_save
        result: list[list[object]] = []

        def clear() -> None:
            nonlocal first_line, last_line
            first_line = last_line = 0
            for i in range(width):
                current[i] = None
                assigned_at[i] = 0
            for i in filldown:
                current[i] = kept[i]
            for i in lists:
                if i not in list_filldown:
                    lists[i] = []

        def clear_all() -> None:
            nonlocal first_line, last_line
            first_line = last_line = 0
            for i in range(width):
                current[i] = kept[i] = None
                assigned_at[i] = 0
            for i in lists:
                lists[i] = []

        def append_record() -> None:
            for i, actions in enumerate(on_save):
                for action in actions:
                    if action == "Required":
                        if not current[i]:
                            clear()
                            return
                    else:
                        current[i] = list(lists[i])
            if all(value is None or value == [] for value in current):
                return
            result.append(["" if value is None else value for value in current])
            if checked is not None:
                checked.starts.append(first_line)
                checked.ends.append(last_line)
            clear()

        state_name = "Start"
        dispatch, tails = self._states[state_name]
        for number, line in enumerate(text.splitlines(), 1):
            first = dispatch.match(line)
            if first is None:
                continue
            # The wrapping group of the matching alternative closes last.
            for rule in tails[int(first.lastgroup[1:]) if first.lastgroup else 0]:
                matched = rule.regex.match(line)
                if matched is None:
                    continue
                if rule.informational and checked is not None:
                    checked.skipped.append((number, line))
                for group, i, is_list, is_filldown in rule.assigns:
                    value = matched.group(group)
                    if checked is not None and value is not None:
                        if not first_line:
                            first_line = number
                        last_line = number
                        if not (is_list or is_filldown):
                            previous = assigned_at[i]
                            if previous and previous != number:
                                old = current[i]
                                old = old if isinstance(old, str) else ""
                                checked.restated.append(Restated(header[i], old, previous, value, number, line))
                            assigned_at[i] = number
                    current[i] = value
                    if is_list:
                        lists[i].append(value)
                    if is_filldown:
                        kept[i] = value
                if rule.record == "Record":
                    append_record()
                elif rule.record == "Clear":
                    clear()
                elif rule.record == "Clearall":
                    clear_all()
                if rule.line == "Error":
                    if rule.new_state:
                        message = f"Error: {rule.new_state}. Rule Line: {rule.line_num}. Input Line: {line}."
                    else:
                        message = f"State Error raised. Rule Line: {rule.line_num}. Input Line: {line}"
                    raise FsmError(message, number, line)
                if rule.line == "Continue":
                    continue
                if rule.new_state:
                    state_name = rule.new_state
                    if state_name not in _END_STATES:
                        dispatch, tails = self._states[state_name]
                break
            if state_name in _END_STATES:
                break
        if state_name != "End" and not self._has_eof_state:
            append_record()
        if checked is None:
            return Checked(result, [], [], [], [])
        checked.rows = result
        return checked


def compile_template(path: Path, text: str | None = None) -> FastFsm | textfsm.TextFSM:
    """The fastest faithful engine for the template at `path` (or for the
    template `text`, when given: a variant of that file)."""
    if text is None:
        text = path.read_text(encoding="utf-8")
    template = textfsm.TextFSM(io.StringIO(text))
    return FastFsm(template) if FastFsm.supports(template) else template
