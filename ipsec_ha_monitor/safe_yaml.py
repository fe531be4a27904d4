"""The one way the product reads a YAML file (the inventory, the web
config), at start-up and on every reload alike: bounded in size, depth and
alias expansion, with every failure one line naming the file (and the line
where known).

    root = load_yaml_file(path, YamlLimits(max_bytes=1024 * 1024))   # a yaml.Node, or None when empty

What it returns is PyYAML's node graph (yaml.compose), not Python objects:
every node keeps its line for the caller's errors, and nothing is converted
behind the caller's back (no int() of a 5,000-digit number, no bool of
`yes`). Callers check a node's type before they use its value, and quote
only short scalars in messages (`shown`): a value formatted before it was
checked is how an aliased list under `cert_file` once took 1 GB to print.

Limits:
- size: the caller's cap (`YamlLimits.max_bytes`); the file must be a
  regular file (a FIFO would block the read: see bounded_files).
- depth: `YamlLimits.max_depth` levels, counted through aliases; the
  composer recurses once per level, so this also keeps RecursionError away.
- aliases are allowed but bounded, rather than refused: an inventory may
  well share one `credentials` mapping or one `expected_peers` list between
  many devices with `&anchor` / `*alias`, which works today and which
  `defaults` (one set for all) does not replace. What an alias bomb ("billion
  laughs": each level a list of aliases of the level before) abuses is the
  expansion, so the expanded size is counted as the file is composed: each
  alias adds the full expanded size of what it names (a sum kept per node,
  never a walk), and the total may not exceed ALIAS_BASE_NODES plus
  ALIAS_RATIO times the nodes actually written. Alias-free files are never
  refused by it. A device line writes a dozen nodes or more, so any number of
  devices may each alias a shared block of up to about a thousand nodes (400
  hubs sharing one list of 500 peers expand to 200,000 and pass); a bomb's
  ratio runs to thousands (531,441 strings from 60 written nodes at six
  levels), so it is refused on its first level past the allowance, at the
  line of the alias, in microseconds. An alias to a node that contains it (a cycle) is
  refused outright: nothing in these files is recursive.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
import yaml.composer
import yaml.parser
import yaml.reader
import yaml.resolver
import yaml.scanner

from ipsec_ha_monitor.bounded_files import FileReadError, read_regular_file
from ipsec_ha_monitor.logs import one_line

# Expanded nodes allowed on top of what the file writes out (see the docstring).
ALIAS_BASE_NODES = 100_000
ALIAS_RATIO = 100
# The longest piece of a value, an anchor name or a parser message an error repeats.
SHOWN_CHARACTERS = 60
_PROBLEM_CHARACTERS = 200

_NULL_TAG = "tag:yaml.org,2002:null"
_BOOL_TAG = "tag:yaml.org,2002:bool"

__all__ = [
    "YamlFileError",
    "YamlLimits",
    "compose_text",
    "is_null",
    "label",
    "load_yaml_file",
    "scalar_bool",
    "shown",
]


class YamlFileError(ValueError):
    """A YAML file that cannot be used: `path:line: message`, one line (line
    0: not known, left out)."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        self.path, self.line, self.message = path, line, message
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")


@dataclass(frozen=True)
class YamlLimits:
    max_bytes: int  # the file's size
    max_depth: int = 32  # levels of nesting, aliases followed (the inventory needs 6, the web config 3)


def load_yaml_file(path: Path, limits: YamlLimits) -> yaml.Node | None:
    """The root node of the single YAML document in `path` (None for an
    empty file or one of comments only); YamlFileError otherwise."""
    try:
        data = read_regular_file(path, limits.max_bytes)
    except FileReadError as exc:
        raise YamlFileError(path, 0, f"cannot read it: {exc.reason}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:  # the decoder's message would quote a byte of the file
        raise YamlFileError(path, data.count(b"\n", 0, exc.start) + 1, "not UTF-8 text") from None
    return compose_text(text, path, limits)


def compose_text(text: str, path: Path, limits: YamlLimits) -> yaml.Node | None:
    """`text` (read from `path`, which errors name) composed within `limits`."""
    loader: _BoundedComposer | None = None
    try:
        loader = _BoundedComposer(text, limits)  # the reader checks every character here
        node: yaml.Node | None = loader.get_single_node()
        return node
    except _Refused as exc:
        raise YamlFileError(path, exc.line, exc.message) from None
    except yaml.reader.ReaderError as exc:  # a control character: binary, not YAML text
        line = text.count("\n", 0, exc.position) + 1
        raise YamlFileError(path, line, f"not valid YAML: unacceptable character #x{exc.character:04x}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        context, problem = getattr(exc, "context", None), getattr(exc, "problem", None) or "cannot parse it"
        problem = one_line(f"{context}, {problem}" if context else str(problem))
        raise YamlFileError(
            path, mark.line + 1 if mark is not None else 0, f"not valid YAML: {_cut(problem)}"
        ) from None
    except RecursionError:  # not expected past the depth cap; never a traceback if it comes
        raise YamlFileError(path, 0, "not valid YAML: nested too deeply") from None
    except ValueError as exc:  # not expected either (nothing is converted): named, never a traceback
        raise YamlFileError(path, 0, f"not valid YAML: {_cut(one_line(str(exc)))}") from None
    finally:
        if loader is not None:
            loader.dispose()


def is_null(node: yaml.Node) -> bool:
    """`key:` with nothing after it (or `~`, `null`)."""
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG


def scalar_bool(node: yaml.Node) -> bool | None:
    """The boolean a scalar spells (true/false, yes/no, on/off, as YAML 1.1
    reads them), None when it spells none."""
    if not isinstance(node, yaml.ScalarNode) or node.tag != _BOOL_TAG:
        return None
    value: bool | None = yaml.constructor.SafeConstructor.bool_values.get(str(node.value).lower())
    return value


def shown(text: str, limit: int = SHOWN_CHARACTERS) -> str:
    """`text` quoted for an error message: repr'd, cut to `limit`
    characters with its length said when longer, one line."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


def label(text: str, limit: int = SHOWN_CHARACTERS) -> str:
    """A key or name as an error names it, unquoted: cut to `limit`
    characters with its length said when longer."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _cut(text: str) -> str:
    return text if len(text) <= _PROBLEM_CHARACTERS else text[:_PROBLEM_CHARACTERS] + "..."


class _Refused(Exception):
    def __init__(self, mark: object, message: str) -> None:
        super().__init__(message)
        line = getattr(mark, "line", None)
        self.line = line + 1 if isinstance(line, int) else 0
        self.message = message


class _BoundedComposer(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    yaml.composer.Composer,
    yaml.resolver.Resolver,  # the tags yaml.compose and safe_load resolve (bool, int, null ...)
):
    """PyYAML's pure-Python composer, measuring as it goes: for each node
    composed, its expanded size and height (aliases followed)."""

    def __init__(self, text: str, limits: YamlLimits) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self._limits = limits
        self._level = 0  # nesting of the node being composed
        self._written = 0  # nodes the file writes out
        self._expanded = 0  # nodes with every alias expanded
        self._measures: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded size, height)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            target = self.anchors.get(event.anchor)
            if target is not None:  # else PyYAML's own "found undefined alias"
                self._follow(event, target)
            return super().compose_node(parent, index)
        event = self.peek_event()
        self._level += 1
        if self._level > self._limits.max_depth:
            raise _Refused(event.start_mark, f"nested too deeply: more than {self._limits.max_depth} levels")
        node = super().compose_node(parent, index)
        self._level -= 1
        if node is not None:
            self._measure(node)
        return node

    def _follow(self, event: yaml.AliasEvent, target: yaml.Node) -> None:
        name = f"*{label(str(event.anchor))}"
        measure = self._measures.get(id(target))
        if measure is None:  # its anchor is registered, its node not finished: it holds this alias
            raise _Refused(event.start_mark, f"alias {name} is inside the node it names: recursive YAML is refused")
        size, height = measure
        if self._level + height > self._limits.max_depth:
            raise _Refused(
                event.start_mark,
                f"nested too deeply: more than {self._limits.max_depth} levels once alias {name} is expanded",
            )
        self._expanded += size
        allowance = ALIAS_BASE_NODES + ALIAS_RATIO * self._written
        if self._expanded > allowance:
            raise _Refused(
                event.start_mark,
                f"YAML aliases expand this file past {allowance:,} nodes at alias {name} "
                "(an alias bomb?): refused; write the values out, or alias less",
            )

    def _measure(self, node: yaml.Node) -> None:
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [item for pair in node.value for item in pair]
        sizes = [self._measures[id(child)] for child in children]
        self._measures[id(node)] = (1 + sum(size for size, _ in sizes), 1 + max((h for _, h in sizes), default=0))
        self._written += 1
        self._expanded += 1
