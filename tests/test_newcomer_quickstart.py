"""The README as a new user follows it on a fresh clone: after `make
install` the bare `ipsec-ha-monitor` of every README command runs once the
README's activation line is typed (and `make install` prints that very
line); the quick start stays two commands and leads on to `check`; and
`make demo` and `make lab` take control ports of their own, settable, so
they run side by side."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest
from support.paths import REPO
from support.processes import _default_sigint, closed_port, stop
from support.waiting import wait_until

README = (REPO / "README.md").read_text(encoding="utf-8")
VENV_BIN = Path(sys.executable).parent  # the .venv `make install` made
BARE_PATH = "/usr/bin:/bin"  # a new shell's PATH: no virtualenv on it
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="no make")


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, flags=re.S | re.M)
    assert match, title
    return match.group(1)


def _code_lines(text: str) -> list[str]:
    """The indented code lines of a section, comments dropped."""
    return [line.strip().split("  #")[0].strip() for line in text.splitlines() if line.startswith("    ")]


def _activation() -> str:
    (line,) = [line for line in _code_lines(_section("Install")) if "activate" in line]
    return line


def _readme_commands() -> list[str]:
    """Each `ipsec-ha-monitor <command>` the README shows, by its bare name."""
    return sorted(set(re.findall(r"^\s+ipsec-ha-monitor (\w+)", README, flags=re.M)))


def test_the_install_section_activates_before_any_bare_command() -> None:
    assert _activation() == ". .venv/bin/activate"
    first_bare = re.search(r"^\s+ipsec-ha-monitor \w+", README, flags=re.M)
    assert first_bare and README.index(_activation()) < first_bare.start()
    assert {"check", "serve", "assets"} <= set(_readme_commands())


@pytest.mark.integration  # a shell in a subprocess
def test_every_readme_command_runs_by_its_bare_name_after_the_activation_line(tmp_path: Path) -> None:
    if not (VENV_BIN / "activate").is_file() or not (VENV_BIN / "ipsec-ha-monitor").is_file():
        pytest.skip("not run from a virtualenv with the command installed")
    env = {"PATH": BARE_PATH, "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    # Without the line, a new shell has no such command (the case).
    missing = subprocess.run(["bash", "-c", "ipsec-ha-monitor --version"], env=env, capture_output=True, timeout=30)
    assert missing.returncode == 127
    # The README's line, typed in the checkout (its .venv is the one `make install` made).
    activation = _activation().replace(".venv/", f"{VENV_BIN.parent}/", 1)
    script = " && ".join(
        [
            activation,
            "ipsec-ha-monitor --version",
            *(f"ipsec-ha-monitor {c} --help >/dev/null" for c in _readme_commands()),
        ]
    )
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ipsec-ha-monitor "), done.stdout


@needs_make
@pytest.mark.integration  # make in a subprocess
def test_make_install_prints_the_readmes_activation_line(tmp_path: Path) -> None:
    """An up-to-date install only prints the hint (a scratch VENV, so the
    real .venv is never rebuilt by a test)."""
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".installed").touch()
    os.utime(venv / ".installed", (2**31, 2**31))  # newer than pyproject.toml and constraints.txt
    done = subprocess.run(
        ["make", "-s", "-C", str(REPO), "install", f"VENV={venv}"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert f"    . {venv}/bin/activate" in done.stdout, done.stdout
    # With the default VENV that line is the README's.
    assert _activation() == f". {'.venv'}/bin/activate"


def test_the_quick_start_is_two_commands_and_leads_to_check() -> None:
    quick = _section("Quick start")
    assert _code_lines(quick) == ["make demo", "make test"]
    # On to `check`: the demo's printed check command, make demo-check, make lab's lab.yml.
    assert "`check` command" in quick and "make demo-check" in quick
    assert "ipsec-ha-monitor check --config.file lab.yml --time.scale 5" in quick
    assert "DEMO_CONTROL_PORT" in quick and "LAB_CONTROL_PORT" in quick


def _dry_run(*variables: str) -> dict[str, list[str]]:
    """The command line `make -n` would run for demo, lab and demo-check's lab."""
    dry = subprocess.run(
        ["make", "-n", "-C", str(REPO), "demo", "lab", "demo-check", *variables],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dry.returncode == 0, dry.stderr
    commands: dict[str, list[str]] = {}
    for line in dry.stdout.replace("\\\n", " ").splitlines():  # continuation lines joined
        words = shlex.split(line.split(">")[0].lstrip("@")) if "ipsec-ha-monitor " in line else []
        if len(words) > 1 and words[0].endswith("/ipsec-ha-monitor") and words[1] in ("demo", "lab"):
            key = "demo-check" if "--write-inventory" in words and ".demo/lab.yml" in words else words[1]
            commands[key] = words
    return commands


def _control(words: list[str]) -> str:
    return words[words.index("--control-address") + 1]


@needs_make
def test_demo_lab_and_demo_check_have_control_ports_of_their_own() -> None:
    commands = _dry_run()
    assert {name: _control(words) for name, words in commands.items()} == {
        "demo": "127.0.0.1:9180",
        "lab": "127.0.0.1:9179",
        "demo-check": "127.0.0.1:9178",
    }
    overridden = _dry_run("DEMO_CONTROL_PORT=9301", "LAB_CONTROL_PORT=9302", "DEMO_CHECK_CONTROL_PORT=9303")
    assert [_control(overridden[name]) for name in ("demo", "lab", "demo-check")] == [
        "127.0.0.1:9301",
        "127.0.0.1:9302",
        "127.0.0.1:9303",
    ]


@needs_make
@pytest.mark.integration  # the demo and the lab as processes
def test_make_demo_and_make_lab_run_side_by_side(tmp_path: Path) -> None:
    """The command lines make would run for both, started together (the
    control ports on free ports here; the defaults differ, above): both come
    up and answer `lab status` on their own control port."""
    ports = {name: closed_port() for name in ("PORT", "DEMO_CONTROL_PORT", "LAB_CONTROL_PORT")}
    commands = _dry_run(*(f"{name}={port}" for name, port in ports.items()))
    if not Path(commands["demo"][0]).is_file():
        pytest.skip(f"{commands['demo'][0]} is not installed")
    with ExitStack() as stack:
        outputs = {}
        for name in ("demo", "lab"):
            log = tmp_path / f"{name}.log"
            handle = stack.enter_context(log.open("w"))
            process = subprocess.Popen(
                commands[name], cwd=tmp_path, stdout=handle, stderr=subprocess.STDOUT, preexec_fn=_default_sigint
            )
            stack.callback(stop, process)
            outputs[name] = log
        for name, log in outputs.items():
            wait_until(lambda log=log: "try: " in log.read_text(), 60, f"make {name}'s banner", describe=log.read_text)
        for name, words in (("demo", commands["demo"]), ("lab", commands["lab"])):
            status = subprocess.run(
                [words[0], "lab", "status", "--control-address", _control(words)],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert status.returncode == 0 and '"device": "R1"' in status.stdout.replace("'", '"'), (name, status)
        assert (tmp_path / "lab.yml").is_file()  # make lab's inventory, where README and docs/lab.md say
