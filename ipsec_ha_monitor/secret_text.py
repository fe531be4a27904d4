"""Secrets in text: a credential of the inventory (`Secret`), every form it
can come back in (`secret_forms`: escaped, quoted, repr'd, JSON-encoded,
mangled), whether a text gives one away (`reveals`), and `mask`, which
keeps one out of any text that leaves the process: device output before it
is parsed, error messages, log lines, `check`'s output.

Masking replaces each occurrence of a secret, in any of its forms, by MASK
and leaves the rest readable. It runs before anything cuts or quotes a
text: a secret cut in half matches no form, so a quote cut at 256
characters would show the start of one. What masking cannot find (a view
that gives a secret away only once the text is unescaped, say) is caught by
`reveals` after it, and the line that still holds it is withheld whole.

A secret shorter than MIN_MASKED characters has no forms: it is neither
masked nor looked for. Masked, a one-letter password would blank that
letter in every word and the masks would spell it out; withheld, every line
holding the letter would go. `short_secret_warning` says so, once per load.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Iterator

from ipsec_ha_monitor.parse.device_errors import strip_terminal_controls

# What stands in for a secret in text; a line masking cannot clean is replaced by WITHHELD_LINE.
MASK = "********"
WITHHELD_LINE = "(withheld: it contained a credential of the inventory)"
# Shorter secrets are neither masked nor looked for (see the module's docstring).
MIN_MASKED = 4


class Secret:
    """A password or secret: `reveal()` hands it to the SSH client, nothing
    else ever prints it."""

    __slots__ = ("_anchor", "_forms", "_value", "source")

    def __init__(self, value: str, source: str) -> None:
        self._value = value
        self.source = source  # where it came from, e.g. "env IPSECHA_PASSWORD"
        self._forms: tuple[str, ...] | None = None
        self._anchor = ""

    def reveal(self) -> str:
        return self._value

    @property
    def too_short(self) -> bool:
        """Shorter than MIN_MASKED (and not empty): neither masked nor looked for."""
        return 0 < len(self._value) < MIN_MASKED

    @property
    def anchor(self) -> str:
        """The longest ASCII letters-and-digits run of the secret when every
        form holds it ("" when not): a text without it gives nothing away."""
        self.forms  # noqa: B018 (computes the anchor with the forms)
        return self._anchor

    @property
    def forms(self) -> tuple[str, ...]:
        """Every form the secret can come back in (see secret_forms); none
        when it is too short."""
        if self._forms is None:
            forms = () if self.too_short else secret_forms(self._value)
            # A quick first test: the longest ASCII letters-and-digits run,
            # which no escaping or mangling changes, when every form has it.
            runs = sorted(re.findall(r"[A-Za-z0-9]+", self._value), key=len)
            self._anchor = runs[-1] if runs and all(runs[-1] in form for form in forms) else ""
            self._forms = forms
        return self._forms

    def found_in(self, text: str) -> bool:
        """Whether `text`, or `text` once repr'd or JSON-encoded, holds this
        secret in any of its forms."""
        return reveals(text, (self,))

    def __repr__(self) -> str:
        return f"Secret(from {self.source})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def reveals(text: str, secrets: Iterable[Secret | None]) -> bool:
    """Whether `text` gives any of `secrets` away: holds one in any of its
    forms, as is, once the text itself is repr'd or JSON-encoded (how a log
    line, `check --json` or an error quoting a line would print it), or once
    or twice unescaped (a form escaped again: a device's JSON-escaped echo
    quoted by a ParseError's repr)."""
    held = [secret for secret in set(secrets) if secret is not None and secret.forms]
    if not text or not held:
        return False
    once = _unescape(text)
    views = dict.fromkeys(
        (text, repr(text), ascii(text), json.dumps(text), json.dumps(text, ensure_ascii=False), once, _unescape(once))
    )
    for secret in held:
        for view in views:
            if secret.anchor and secret.anchor not in view:
                continue
            if any(form in view for form in secret.forms):
                return True
    return False


# A backslash escape of Python, JSON, C or a shell: \xNN, \uNNNN, \UNNNNNNNN,
# octal, \n and kin, or a backslash before any other character.
_ESCAPE = re.compile(r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{1,3}|.)", re.DOTALL)
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def _unescape(text: str) -> str:
    """`text` with one level of backslash escapes and shell quoting undone
    (lossy: only ever searched, never shown)."""
    if "\\" not in text and "'" not in text:
        return text

    def one(match: re.Match[str]) -> str:
        sequence = match.group(0)[1:]
        if len(sequence) > 1 and sequence[0] in "xuU":
            code = int(sequence[1:], 16)
            return chr(code) if code <= 0x10FFFF else sequence
        if sequence[0] in "01234567":
            return chr(int(sequence, 8))
        return _SIMPLE_ESCAPES.get(sequence, sequence)

    result = _ESCAPE.sub(one, text).replace("'\"'\"'", "'").replace("'\\''", "'")
    try:  # JSON's surrogate pairs back into one character
        return result.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeError:
        return result


MIN_STRIPPED_FORM = 6


def secret_forms(value: str) -> tuple[str, ...]:
    """`value` as it can reappear in text: its character set mangled (UTF-8
    read as ASCII or Latin-1 with replacement characters, non-ASCII shown as
    `?`, a Latin-1 or cp1252 device read as UTF-8, control characters in
    caret notation or dropped as the parser drops terminal controls), each
    of those as is, Python-repr'd (str, ascii() and bytes, with either quote
    escaped), JSON-encoded (with and without ensure_ascii, `/` escaped or
    not), with backslash escapes (unicode_escape, quotes and backslashes,
    regex) and shell-quoted. Never empty strings; none shorter than the
    value but the one without terminal controls, kept only while it has
    MIN_STRIPPED_FORM characters (a shorter one would match innocent text)."""
    if not value:
        return ()
    raw = value.encode("utf-8", "surrogateescape")
    spellings = [
        value,
        raw.decode("utf-8", "replace"),
        raw.decode("ascii", "replace"),  # a replacement character per non-ASCII byte
        raw.decode("latin-1"),  # mojibake
        value.encode("ascii", "replace").decode("ascii"),  # `?` per character, as IOS shows it
        value.encode("latin-1", "replace").decode("utf-8", "replace"),  # a Latin-1 device
        value.encode("cp1252", "replace").decode("utf-8", "replace"),  # a Windows-1252 one
        "".join(_caret(char) for char in value),  # ^G for BEL, as a terminal echoes it
    ]
    # Each as the parser reads it: terminal controls (NUL, BEL, ESC sequences) gone.
    stripped = (strip_terminal_controls(spelling) for spelling in spellings)
    spellings += [spelling for spelling in stripped if len(spelling) >= MIN_STRIPPED_FORM]
    forms: dict[str, None] = {}
    for spelling in dict.fromkeys(spellings):
        for form in _escapes(spelling):
            forms.setdefault(form)
    return tuple(form for form in forms if form)


def _caret(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return "^" + chr(code + 0x40)
    return "^?" if code == 0x7F else char


def _escapes(text: str) -> Iterator[str]:
    yield text
    raw = text.encode("utf-8", "surrogateescape")
    for quote in ("", "'", '"'):  # repr escapes one quote, or none
        yield "".join("\\" + c if c == quote else repr(c)[1:-1] for c in text)
        yield "".join("\\" + c if c == quote else ascii(c)[1:-1] for c in text)
        yield "".join("\\" + chr(b) if chr(b) == quote else repr(bytes([b]))[2:-1] for b in raw)
    for encoded in (json.dumps(text), json.dumps(text, ensure_ascii=False)):
        yield encoded[1:-1]
        yield encoded[1:-1].replace("/", "\\/")
    yield text.encode("unicode_escape").decode("ascii")
    yield "".join("\\" + c if c in "\\'\"" else c for c in text)
    yield re.escape(text)  # a backslash before every special character, as a shell's \ does
    yield shlex.quote(text)
    yield text.replace("'", "'\"'\"'")  # inside a larger single-quoted word
    yield text.replace("'", "'\\''")


def mask(text: str, secrets: Iterable[Secret | None]) -> str:
    """`text` with every secret of `secrets`, in any of its forms, replaced
    by MASK; a line that still gives one away is withheld (WITHHELD_LINE),
    and the whole text when the secret spans lines."""
    held = [secret for secret in set(secrets) if secret is not None and secret.forms]
    if not text or not held:
        return text
    for form in _longest_first(held):
        if form in text:
            text = text.replace(form, MASK)
    if not reveals(text, held):
        return text
    kept = "".join(
        WITHHELD_LINE + line[len(line.rstrip("\r\n")) :] if reveals(line, held) else line
        for line in text.splitlines(keepends=True)
    )
    return WITHHELD_LINE if reveals(kept, held) else kept


def _longest_first(secrets: list[Secret]) -> list[str]:
    """The forms of `secrets`, longest first: a form that holds another
    (the secret escaped holds parts of it as is) is masked whole."""
    return sorted({form for secret in secrets for form in secret.forms}, key=len, reverse=True)


def short_secret_warning(secret: Secret, where: str) -> str | None:
    """The one line to log at load about a secret too short to mask (None
    when it is long enough): where it is set, never its value."""
    if not secret.too_short:
        return None
    return (
        f"{where} ({secret.source}) is shorter than {MIN_MASKED} characters: it is not masked in output, "
        "logs or errors (masking it would blank innocent text and spell it out); a secret that short "
        "is also easy to guess: use a longer one"
    )
