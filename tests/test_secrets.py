"""Canary tests: a device that prints its own password or enable secret back,
as is, escaped, quoted or mangled, never gets either into `check`'s table,
JSON or plugin text, a CommandResult's error, a record, or a log line at
DEBUG (netmiko's own included), in any form: literal, repr'd, JSON-encoded,
shell-quoted, backslash-escaped, caret notation, or mangled by a character
set. Each is masked where it appears (MASK), the rest of the text kept; not
even the start of one survives a quote cut short.

The lab's routers are made to echo the canaries by wrapping their CLI in the
test (the lab itself has no such fault); the DevicePoller tests feed it the
escaped forms through a session that plays the device."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.inventories import write_inventory

from ipsec_ha_monitor.inventory import Device, PollSettings, load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.lab.ios_cli import IosCli, Reply
from ipsec_ha_monitor.poll import DevicePoller, Poller
from ipsec_ha_monitor.poll.commands import typed
from ipsec_ha_monitor.secret_text import MASK, MIN_MASKED, Secret, mask, reveals, secret_forms
from ipsec_ha_monitor.snapshot import Snapshot, Status

# Quotes, a backslash, non-ASCII, a bell and a tab: every escaping differs.
PASSWORD = "Cn4ryPW\"q'b\\s€ü\x07\t!"
# The lab's SSH server (asyncssh) SASLprep's passwords, which refuses
# control characters: over SSH, the issue's own canary.
LAB_PASSWORD = "Cn4ryPW\"q'b\\s€ü"
# Typed at the enable prompt, so printable only; `$(x)` for the shells.
ENABLE = "En4bl3\"a'b\\le€ü$(x)"


def caret(text: str) -> str:
    return "".join("^" + chr(ord(c) + 64) if ord(c) < 32 else c for c in text)


def question_marks(text: str) -> str:
    """Non-ASCII as `?`, as an IOS terminal shows it."""
    return text.encode("ascii", "replace").decode("ascii")


def latin1_read_as_utf8(text: str) -> str:
    """A device that keeps the secret in Latin-1, its bytes decoded as UTF-8
    with errors='replace' (what the session does with any output)."""
    return text.encode("latin-1", "replace").decode("utf-8", "replace")


def forms(secret: str) -> dict[str, str]:
    """Every form the secret must never appear in, named; written out here
    apart from ipsec_ha_monitor.inventory.secret_forms, so that a form it lacks fails."""
    base = {
        "literal": secret,
        "repr": repr(secret)[1:-1],
        "repr in a larger string": repr(f'% "{secret}')[1:-1][3:],
        "ascii": ascii(secret)[1:-1],
        "bytes repr": repr(secret.encode())[2:-1],
        "unicode_escape": secret.encode("unicode_escape").decode("ascii"),
        "json": json.dumps(secret)[1:-1],
        "json, no ensure_ascii": json.dumps(secret, ensure_ascii=False)[1:-1],
        "shell-quoted": shlex.quote(secret),
        "backslash-escaped": "".join("\\" + c if c in "\\'\"" else c for c in secret),
        "caret notation": caret(secret),
        "non-ASCII as ?": question_marks(secret),
        "UTF-8 read as ASCII, replaced": secret.encode().decode("ascii", "replace"),
        "Latin-1 read as UTF-8, replaced": latin1_read_as_utf8(secret),
    }
    found = dict(base)
    for name, form in base.items():  # as check --json prints a string holding it
        found[f"{name}, then JSON"] = json.dumps(form)[1:-1]
        found[f"{name}, then repr"] = repr(form)[1:-1]
    return found


CANARY_FORMS = {
    f"{secret!r} {name}": form for secret in (PASSWORD, LAB_PASSWORD, ENABLE) for name, form in forms(secret).items()
}


def assert_no_form(text: str, where: str) -> None:
    leaked = [name for name, form in CANARY_FORMS.items() if form in text]
    assert not leaked, f"{where} holds {leaked}"


# --- the forms, one by one --------------------------------------------------------


# Four characters, each escaped differently: the shortest secret that is masked.
@pytest.mark.parametrize("secret", [PASSWORD, ENABLE, "plain-Secret-123", "ünï€ødé", "'\"\\$"])
def test_every_form_of_a_secret_is_found(secret: str) -> None:
    canary = Secret(secret, "test")
    for name, form in forms(secret).items():
        assert canary.found_in(f"show standby: ios_error: at line 2: '% {form} x'"), name
        assert reveals(f"{form}", [None, Secret("other", "test"), canary]), name
    # The issue's own example: a ParseError quoting the echoed line.
    assert canary.found_in(repr(f"% {secret}"))
    assert not canary.found_in("show standby: no_match: no line of the output matched the template at line 1")


def test_text_that_escaping_would_turn_into_the_secret_is_withheld() -> None:
    # Not the secret, but JSON-encoded (check --json) or repr'd, it reads as it.
    assert Secret('a\\"b-canary', "test").found_in('the line was a"b-canary')
    assert Secret("a\\'b-canary", "test").found_in("the line was \"a'b-canary")


# --- a DevicePoller fed by a device that prints the canaries back ---------------------


class _EchoingSession:
    """Plays an R1 that answers every command as the lab's router would,
    except those in `replies`: the text returned as the SSH session would
    (echo, output, prompt), decoded with errors='replace' like the session."""

    def __init__(self, replies: dict[str, str], lab: Lab) -> None:
        self.replies = replies
        self.cli = IosCli(lab.router("R1"))
        self.cli.privileged = True
        self.is_open = False

    def open(self, deadline: float, dialed: socket.socket | None = None) -> None:
        self.is_open = True

    def run(self, command: str, timeout: float) -> str:
        output = self.replies.get(command)
        if output is None:
            output = self.cli.handle(command).output
        return f"R1#{command}\r\n{output}\r\nR1#"

    def close(self) -> None:
        self.is_open = False

    abort = close


def _device(tmp_path: Path) -> tuple[Device, PollSettings]:
    path = tmp_path / "inventory.yml"
    path.write_text(
        "lab: true\n"
        f"defaults: {{credentials: {{username: lab, password: {json.dumps(PASSWORD)}, "
        f"enable_secret: {json.dumps(ENABLE)}}}}}\n"
        "pairs: [{name: HUB-PAIR-1, members: [R1, R2]}]\n"
        "devices:\n"
        "  - {name: R1, host: 127.0.0.1, role: hub}\n"
        "  - {name: R2, host: 127.0.0.2, role: hub}\n",
        encoding="utf-8",
    )
    inventory = load_inventory(path)
    assert inventory.devices["R1"].credentials.password.reveal() == PASSWORD
    return inventory.devices["R1"], inventory.polling


def _reason(lab: Lab, reason: str) -> str:
    """R1's show version, with `reason` as the "returned to ROM by" text."""
    cli = IosCli(lab.router("R1"))
    cli.privileged = True
    output = cli.handle("show version").output
    assert "System returned to ROM by reload at" in output
    return output.replace("System returned to ROM by reload at", f"System returned to ROM by {reason} at")


ECHOED = [
    pytest.param(name, form, id=f"{which} {name}")
    for which, secret in (("password", PASSWORD), ("enable", ENABLE))
    for name, form in forms(secret).items()
    if "then" not in name
]


@pytest.mark.parametrize(("name", "form"), ECHOED)
def test_a_device_echoing_a_secret_leaks_no_form(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str, form: str
) -> None:
    caplog.set_level(logging.DEBUG)
    device, settings = _device(tmp_path)
    lab = Lab(pairs=1, branches=0)
    replies = {
        "show version": _reason(lab, form),  # a record's value
        "show standby": f"% {form}\r\n",  # an IOS message, quoted by the ParseError
        "show redundancy states": f'% Ambiguous command:  "show redundancy {form}"\r\n',
        "show crypto session": f"{form}\r\n",  # garbage
    }
    poller = DevicePoller(device, settings, session_factory=lambda d, s: _EchoingSession(replies, lab))
    snapshot = poller.poll()
    failed = {result.command: result for result in snapshot.failures}
    assert set(failed) >= {"show standby", "show redundancy states"}, snapshot.failures
    # The secret masked where it stood: the reload reason reads as the mask ...
    (version,) = snapshot.result("show version").records
    assert version.reload_reason == MASK, version
    # ... and IOS's messages are quoted with the mask in its place.
    assert failed["show standby"].status is Status.PARSE
    assert f"% {MASK}" in failed["show standby"].error
    assert failed["show redundancy states"].status is Status.INVALID_COMMAND
    assert f"show redundancy {MASK}" in failed["show redundancy states"].error
    assert snapshot.result("show redundancy inter-device").ok  # the rest as usual
    _assert_clean(snapshot, caplog)


def _assert_clean(snapshot: Snapshot, caplog: pytest.LogCaptureFixture) -> None:
    report = snapshot.to_dict()
    for text in (json.dumps(report), json.dumps(report, ensure_ascii=False), repr(snapshot), str(report)):
        assert_no_form(text, "the snapshot")
    assert_no_form(_log_text(caplog), "the log")


def _log_text(caplog: pytest.LogCaptureFixture) -> str:
    """What the monitor (and netmiko, paramiko) logged; the lab's own server
    side knows the secrets and is no part of the monitor."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(
        formatter.format(record)
        for record in caplog.records
        if not record.name.startswith(("ipsec_ha_monitor.lab", "asyncssh"))
    )


def test_a_crash_quoting_a_secret_is_masked(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    device, settings = _device(tmp_path)
    lab = Lab(pairs=1, branches=0)

    class Crashing(_EchoingSession):
        def run(self, command: str, timeout: float) -> str:
            raise KeyError(f"no such thing as {ENABLE}")  # a bug, quoting device text

    poller = DevicePoller(device, settings, session_factory=lambda d, s: Crashing({}, lab))
    with pytest.raises(RuntimeError) as caught:
        poller.poll()
    assert str(caught.value) == f"KeyError while polling R1: 'no such thing as {MASK}'"
    assert caught.value.__suppress_context__ and caught.value.__cause__ is None
    assert_no_form(str(caught.value), "the error")


# --- the lab over SSH, routers printing the canaries back ---------------------------------


def _replace_reason(reason: str) -> Callable[[str], str]:
    return lambda output: output.replace(
        "System returned to ROM by reload at", f"System returned to ROM by {reason} at"
    )


# (router, typed line): what it prints instead of (or made of) its output.
INJECTED: dict[tuple[str, str], Callable[[str], str]] = {
    ("R1", "show version"): _replace_reason(ENABLE),  # a record: the table's LAST RELOAD REASON
    ("R2", "show standby"): lambda output: f"% {LAB_PASSWORD}\n",  # quoted repr'd by the ParseError
    ("R4", "show crypto session"): lambda output: f'% Ambiguous command:  "show crypto {ENABLE}"\n',
    ("R5", "show version"): _replace_reason(question_marks(ENABLE)),
    ("R5", "show crypto isakmp sa"): lambda output: f"% {json.dumps(LAB_PASSWORD)[1:-1]}\n",  # escaped, then repr'd
    # The secret past the 256 characters an error quotes of a line: masked
    # before the cut, or the quote would end in the secret's first characters.
    ("R1", "show crypto isakmp sa"): lambda output: "% " + "." * 239 + LAB_PASSWORD + "\n",
}


@pytest.fixture
def echoing_lab(monkeypatch: pytest.MonkeyPatch) -> Iterator[LabThread]:
    original = IosCli.handle

    def handle(self: IosCli, line: str) -> Reply:
        reply = original(self, line)
        inject = INJECTED.get((self.router.name, line.strip()))
        return dataclasses.replace(reply, output=inject(reply.output)) if inject else reply

    monkeypatch.setattr(IosCli, "handle", handle)
    lab = Lab(pairs=1, branches=2, time_scale=20)
    lab.credentials.password = LAB_PASSWORD  # shared by every router
    lab.credentials.enable_secret = ENABLE
    with LabThread(lab) as running:
        yield running


EXPECTED = {  # (device, command): status; the reload reasons, masked, parse
    ("R2", "show standby"): Status.PARSE,
    ("R4", "show crypto session"): Status.INVALID_COMMAND,
    ("R5", "show crypto isakmp sa"): Status.PARSE,
    ("R1", "show crypto isakmp sa"): Status.PARSE,
}
# The start of a canary: what a quote cut inside the secret would show.
CANARY_STARTS = (LAB_PASSWORD[:MIN_MASKED], ENABLE[:MIN_MASKED])


def assert_no_start(text: str, where: str) -> None:
    assert not [start for start in CANARY_STARTS if start in text], f"{where} holds the start of a secret"


@pytest.mark.integration
def test_pollers_over_ssh_mask_every_form(
    echoing_lab: LabThread, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="netmiko")  # its debug log quotes every byte written
    lab = echoing_lab.lab
    poller = Poller(load_inventory(write_inventory(lab, tmp_path / "lab.yml")))
    try:
        snapshots = poller.poll_all()
    finally:
        poller.close()
    failed = {(name, r.command): r for name, s in snapshots.items() for r in s.failures}
    assert {key: r.status for key, r in failed.items()} == EXPECTED, failed
    assert all(MASK in result.error for result in failed.values()), failed
    for name in ("R1", "R5"):  # the reload reasons: the mask where the secret stood
        (version,) = snapshots[name].result("show version").records
        assert version.reload_reason == MASK, version
    for snapshot in snapshots.values():
        _assert_clean(snapshot, caplog)
        assert_no_start(json.dumps(snapshot.to_dict(), ensure_ascii=False), "the snapshot")
    assert_no_start(_log_text(caplog), "the log")
    netmiko = [r.getMessage() for r in caplog.records if r.name == "netmiko"]
    assert any("write_channel" in line for line in netmiko)  # its debug log was on ...
    assert any(MASK in line for line in netmiko)  # ... and the enable secret's write masked


@pytest.mark.integration
def test_check_output_and_debug_log_hold_no_form(echoing_lab: LabThread, tmp_path: Path) -> None:
    path = write_inventory(echoing_lab.lab, tmp_path / "lab.yml")
    outputs = []
    for extra in (["--json"], [], ["--nagios"]):
        done = subprocess.run(
            [sys.executable, "-m", "ipsec_ha_monitor", "check", "--config", str(path), "--log-level", "debug", *extra],
            env={**os.environ, "PYTHONIOENCODING": "utf-8"},
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
        )
        outputs.append(done.stdout + done.stderr)
        if extra == ["--nagios"]:
            assert done.stdout.startswith("IPSECHA "), done.stdout
        elif extra:
            report = json.loads(done.stdout)
            failed = {
                (device["device"], command["command"]): command["status"]
                for device in report["devices"]
                for command in device["commands"]
                if command["status"] != "ok"
            }
            assert failed == {key: status.value for key, status in EXPECTED.items()}
        else:
            assert "LAST RELOAD REASON" in done.stdout and MASK in done.stdout
    for output in outputs:
        assert_no_form(output, "check's output")
        assert_no_start(output, "check's output")
    assert "level=debug" in outputs[0]  # the debug log was on


@pytest.mark.integration
def test_netmiko_debug_log_of_a_login_masks_the_enable_secret(
    echoing_lab: LabThread, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """netmiko's own filter masks the literal secret; the write of it is
    logged as a bytes repr, which it misses."""
    from ipsec_ha_monitor.poll.session import DeviceSession

    caplog.set_level(logging.DEBUG, logger="netmiko")
    inventory = load_inventory(write_inventory(echoing_lab.lab, tmp_path / "lab.yml"))
    session = DeviceSession(inventory.devices["R4"], inventory.polling)
    session.open(time.monotonic() + 10)
    try:
        assert "R4 uptime" in session.run(typed("show version"), 5)
    finally:
        session.close()
    assert_no_form(_log_text(caplog), "netmiko's log")
    assert any(MASK in record.getMessage() for record in caplog.records if record.name == "netmiko")


def test_a_secret_with_terminal_controls_is_found_as_the_parser_reads_it() -> None:
    # The parser drops NUL, BEL and ESC sequences from device output, so a
    # secret holding one comes back without it; a form cut that short that it
    # would match innocent text (fewer than 6 characters left) is not kept.
    assert Secret("Pa\x07ss-W0rd", "test").found_in("reason: Pass-W0rd at 10:00")
    assert Secret("Pa\x1b[Kss-W0rd", "test").found_in("reason: Pass-W0rd at 10:00")
    assert "ab" not in secret_forms("\x07ab")
    assert not Secret("\x07ab", "test").found_in("about a tab")


# --- masking: before any cut, and never of innocent text ------------------------------------


@pytest.mark.parametrize("offset", range(len(PASSWORD) + 1))
def test_a_quote_cut_inside_the_secret_shows_none_of_it(tmp_path: Path, offset: int) -> None:
    """The error quotes the first 256 characters of a line: wherever that
    cut falls in the secret, none of the secret's start is shown."""
    device, settings = _device(tmp_path)
    lab = Lab(pairs=1, branches=0)
    filler = "." * (256 - 2 - offset)  # the cut falls `offset` characters into the secret
    replies = {"show standby": f"% {filler}{PASSWORD} and more\r\n"}
    poller = DevicePoller(device, settings, session_factory=lambda d, s: _EchoingSession(replies, lab))
    snapshot = poller.poll()
    error = snapshot.result("show standby").error
    assert error and MASK[: min(offset, len(MASK))] in error, error
    report = json.dumps(snapshot.to_dict(), ensure_ascii=False)
    assert PASSWORD[:MIN_MASKED] not in report and PASSWORD[:MIN_MASKED] not in repr(snapshot)


def test_a_short_secret_is_not_masked_and_withholds_nothing() -> None:
    short = Secret("a" * (MIN_MASKED - 1), "env P")
    text = "Cisco IOS Software, 7200 Software\naaa new-model\n"
    assert short.too_short and short.forms == ()
    assert mask(text, [short]) == text
    assert not reveals(text, [short])


def test_a_common_word_as_a_secret_is_masked_where_it_stands_only() -> None:
    cisco = Secret("cisco", "env ENABLE")
    text = "Cisco IOS Software, C7200 Software\ncisco 7206VXR (NPE400) processor\nuptime is 5 weeks\n"
    masked = mask(text, [cisco]).splitlines()
    assert masked == ["Cisco IOS Software, C7200 Software", f"{MASK} 7206VXR (NPE400) processor", "uptime is 5 weeks"]


def test_a_form_that_only_unescaping_spells_withholds_its_line_only() -> None:
    secret = Secret("Sesame-0pen", "env P")
    text = "first line\nreason: Ses\\x61me-0pen\nlast line\n"  # \\x61 is "a": no form, yet it gives it away
    masked = mask(text, [secret])
    assert masked.splitlines()[0::2] == ["first line", "last line"]
    assert not reveals(masked, [secret]) and "0pen" not in masked


def test_a_device_printing_a_common_word_secret_keeps_its_output(tmp_path: Path) -> None:
    """An enable secret `cisco`: show version still parses, every value but
    the word itself as printed."""
    path = tmp_path / "inventory.yml"
    path.write_text(
        "lab: true\n"
        "defaults: {credentials: {username: lab, password: Long-Enough-1, enable_secret: cisco}}\n"
        "devices:\n  - {name: R1, host: 127.0.0.1, role: hub}\n",
        encoding="utf-8",
    )
    inventory = load_inventory(path)
    lab = Lab(pairs=1, branches=0)
    cli = IosCli(lab.router("R1"))
    cli.privileged = True
    assert "Cisco IOS Software" in cli.handle("show version").output
    poller = DevicePoller(
        inventory.devices["R1"], inventory.polling, session_factory=lambda d, s: _EchoingSession({}, lab)
    )
    snapshot = poller.poll()
    assert snapshot.result("show version").ok, snapshot.result("show version").error
    assert "withheld" not in json.dumps(snapshot.to_dict())


def test_a_short_secret_is_warned_about_once_at_load(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three devices share one two-letter password: one warning, naming
    where it is set and where it comes from, never the secret."""
    path = tmp_path / "inventory.yml"
    path.write_text(
        "defaults: {credentials: {username: ops, password: {env: IPSECHA_SHORT}}}\n"
        "devices:\n" + "".join(f"  - {{name: R{n}, host: 192.0.2.{n}, role: branch}}\n" for n in (1, 2, 3)),
        encoding="utf-8",
    )
    monkeypatch.setenv("IPSECHA_SHORT", "Zq")
    with caplog.at_level(logging.WARNING, logger="ipsec_ha_monitor.inventory"):
        load_inventory(path)
    warnings = [r.getMessage() for r in caplog.records if r.name == "ipsec_ha_monitor.inventory"]
    assert len(warnings) == 1, warnings
    assert "env IPSECHA_SHORT" in warnings[0] and "not masked" in warnings[0] and "Zq" not in warnings[0]
