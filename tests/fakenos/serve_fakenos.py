"""Cisco IOS devices on FakeNOS (PyPI `fakenos`), an emulator independent of
the project's own lab, serving saved real outputs over SSH on 127.0.0.1.

Run with the FakeNOS virtual environment's Python (FakeNOS pins Paramiko < 5,
the project runs Paramiko 5), never imported by the project or its tests:

    .venv-fakenos/bin/python tests/fakenos/serve_fakenos.py SPEC.json

SPEC.json (paths relative to the spec file):

    {"devices": [{
        "name": "R1",                      # FakeNOS host name
        "hostname": "R1",                  # the prompt: R1> / R1#
        "port": 0,                         # 0: a free port
        "username": "netops", "password": "...",
        "enable_secret": "..." | null,     # null: `enable` says "% No password set"
        "enable_without_password": false,  # `enable` goes to # without asking
        "privilege": 1 | 15,               # login lands at `>` or `#`
        "banner": "...",                   # SSH login banner (before authentication)
        "motd": "...",                     # after login, before the first prompt
        "page_length": 24,                 # --More-- every N-1 lines until `terminal length 0`
        "errors": {"terminal length 0": "Command authorization failed.",
                   "terminal width 511": "invalid"},
        "user_exec": ["show version"],     # show commands that run at `>`
        "outputs": {"show version": "outputs/show_version/...raw", ...}
    }]}

Prints one line, {"ready": true, "ports": {"R1": 40001, ...}}, once every
server listens, then runs until SIGTERM / SIGINT.

Everything is FakeNOS's own machinery: its Paramiko SSH server plugin, its
CMDShell shell plugin and one Nos plugin per device (the commands and their
outputs). What FakeNOS does not model (IOS privilege levels with an enable
password prompt, `--More--` paging, `terminal length`, a refused command,
`% Invalid input` with its caret line) is added by a CMDShell subclass
registered in the FakeNOS instance's shell-plugin table under the name the
inventory schema accepts ("CMDShell"), and per-device settings ride on the
Nos plugin's `device` attribute, which FakeNOS keeps for device state.

Two FakeNOS races are fixed (_typed_to_shell, _shell_to_typed: a reply that
could wipe its own "replied" signal, and typed-ahead echo landing between a
reply's lines), each of which made logins fail at random. FakeNOS's SSH server reads input
line by line and echoes every byte as it arrives (10 ms apart), including a password typed at `Password:`; IOS would
not echo it. Keys pressed at `--More--` therefore reach the shell as a line:
an empty line shows one more line, a line starting with a space the next
page, anything else quits the pager with its first character consumed (as
IOS consumes the key), the rest being read as a command.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from fakenos import FakeNOS
from fakenos.core.nos import Nos
from fakenos.plugins.servers import ssh_server_paramiko
from fakenos.plugins.shell.cmd_shell import CMDShell

INVALID = "% Invalid input detected at '^' marker."
MORE = " --More-- "
ERASE_MORE = "\b" * len(MORE) + " " * len(MORE) + "\b" * len(MORE)
USER_EXEC_DEFAULT = ("show version",)
ALWAYS_KNOWN = ("enable", "disable", "exit", "logout", "terminal length", "terminal width")


def _typed_to_shell(channel_stdio, shell_stdin, shell_replied, run_srv) -> None:
    """FakeNOS 1.2.1's channel-to-shell tap, with one race fixed.

    Its tap hands a typed line to the shell and only then clears the
    "shell replied" event; a shell that answers in between (a loaded
    machine) has its reply's event wiped, and every later typed byte then
    waits 10 s for a reply that already came, so logins time out at random.
    Here the event is cleared before the line goes to the shell. Otherwise
    the same behaviour: bytes echoed as they arrive, 10 ms apart, a line
    handed over at CR or LF."""
    line = bytearray()
    while run_srv.is_set():
        byte = channel_stdio.read(1)
        shell_replied.wait(10)
        if not channel_stdio.channel.active:
            break
        try:
            if byte in (b"\r", b"\n"):
                channel_stdio.write(b"\r\n")
                text = (bytes(line) + byte).decode("utf-8")
                line.clear()
                shell_replied.clear()  # before the shell can answer, never after
                shell_stdin.write(text)
            else:
                channel_stdio.write(byte)
                if byte not in (b"\x00", b""):
                    line += byte
            time.sleep(0.01)
        except (OSError, EOFError):
            break


def _shell_to_typed(channel_stdio, shell_stdout, shell_replied, run_srv) -> None:
    """FakeNOS 1.2.1's shell-to-channel tap, answering "the shell replied"
    only once the shell waits for input: when what it wrote does not end a
    line (a prompt, ` --More-- `, `Password: `). FakeNOS sets it after every
    line, so the echo of a command typed ahead could land between an error
    message and its prompt (`tR2>erminal length 0`), which IOS never prints:
    it echoes typed-ahead keys when its CLI reads them, after the prompt."""
    while run_srv.is_set() and not channel_stdio.closed:
        text = shell_stdout.readline()
        if text is None:
            break
        if "\n" in text and "\r\n" not in text:
            text = text.replace("\n", "\r\n")
        try:
            channel_stdio.write(text.encode("utf-8"))
        except (OSError, EOFError):
            break
        if not text.endswith("\n"):
            shell_replied.set()


ssh_server_paramiko.channel_to_shell_tap = _typed_to_shell
ssh_server_paramiko.shell_to_channel_tap = _shell_to_typed


class DeviceSettings:
    """One device's behaviour beyond its command outputs (Nos.device)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.hostname: str = spec.get("hostname", spec["name"])
        self.enable_secret: str | None = spec.get("enable_secret")
        self.enable_without_password: bool = bool(spec.get("enable_without_password", False))
        self.privilege: int = int(spec.get("privilege", 1))
        self.page_length: int = int(spec.get("page_length", 24))
        self.errors: dict[str, str] = dict(spec.get("errors") or {})
        self.user_exec: tuple[str, ...] = tuple(spec.get("user_exec") or USER_EXEC_DEFAULT)
        self.typed: list[str] = []  # every line received, for debugging
        self.lock = threading.Lock()


class IosShell(CMDShell):
    """FakeNOS's CMDShell with IOS privilege levels, paging and errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings: DeviceSettings = self.nos.device
        self.level = self.settings.privilege
        self.page_length = self.settings.page_length
        self.pending: list[str] = []  # lines held back at --More--
        self.password_tries = 0  # > 0 while `enable` waits for its password
        self.stopping = False
        self.prompt = self.exec_prompt()
        self.motd, self.intro = self.intro, None  # cmd.Cmd would end it with a bare LF

    def preloop(self) -> None:
        if self.motd:
            self.writeline(self.motd)

    def exec_prompt(self) -> str:
        return self.settings.hostname + ("#" if self.level >= 15 else ">")

    def stop(self) -> None:  # FakeNOS's watchdog: the session went away
        self.stopping = True
        super().stop()

    def onecmd(self, line: str) -> bool:
        if self.stopping or not self.is_running.is_set():
            return True
        with self.settings.lock:
            self.settings.typed.append(line)
        if self.pending:
            return self.at_more(line)
        if self.password_tries:
            return self.at_password(line)
        return self.command(line)

    # --- states ---------------------------------------------------------------

    def at_more(self, line: str) -> bool:
        self.stdout.write(ERASE_MORE)
        if line == "":
            self.page(1)
            return False
        if line.startswith(" "):
            self.page(max(1, self.page_length - 1))
            return False
        self.pending = []
        self.prompt = self.exec_prompt()
        rest = line[1:]
        return self.command(rest) if rest.strip() else False

    def at_password(self, line: str) -> bool:
        if line == self.settings.enable_secret:
            self.password_tries = 0
            self.level = 15
            self.prompt = self.exec_prompt()
            return False
        self.password_tries += 1
        if self.password_tries > 3:
            self.password_tries = 0
            self.writeline("% Bad secrets")
            self.writeline("")
            self.prompt = self.exec_prompt()
        return False

    def command(self, line: str) -> bool:
        line = line.strip()
        if not line:
            return False
        if line in self.settings.errors:
            answer = self.settings.errors[line]
            self.writeline(self.invalid(line) if answer == "invalid" else answer)
            return False
        words = line.split()
        if words[0] in ("exit", "logout", "quit"):
            return True
        if line == "enable":
            return self.enable()
        if line == "disable":
            self.level = 1
            self.prompt = self.exec_prompt()
            return False
        if words[:2] == ["terminal", "length"] and len(words) == 3 and words[2].isdigit():
            self.page_length = int(words[2])
            return False
        if words[:2] == ["terminal", "width"] and len(words) == 3 and words[2].isdigit():
            return False
        output = self.output_of(line)
        if output is None:
            self.writeline(self.invalid(line))
            return False
        self.pending = output.replace("\r\n", "\n").split("\n")
        if self.pending and self.pending[-1] == "":
            self.pending.pop()
        self.page(self.page_length - 1 if self.page_length > 0 else len(self.pending))
        return False

    def enable(self) -> bool:
        if self.level >= 15:
            return False
        if self.settings.enable_without_password:
            self.level = 15
        elif self.settings.enable_secret is None:
            self.writeline("% No password set")
        else:
            self.password_tries = 1
            self.prompt = "Password: "
            return False
        self.prompt = self.exec_prompt()
        return False

    # --- output -----------------------------------------------------------------

    def output_of(self, line: str) -> str | None:
        """The command's saved output, if this device has it at this level."""
        data = self.commands.get(line)
        if not data or line.startswith("_"):
            return None
        if self.level < 15 and line not in self.settings.user_exec:
            return None
        output = data.get("output")
        return output if isinstance(output, str) else None

    def known(self) -> list[str]:
        served = [c for c in self.commands if not c.startswith("_") and c not in ("exit",)]
        if self.level < 15:
            served = [c for c in served if c in self.settings.user_exec]
        return [*served, *ALWAYS_KNOWN]

    def invalid(self, line: str) -> str:
        """IOS's rejection: a caret under the first word no command has,
        counted from the start of the prompt line."""
        words = line.split()
        known = [command.split() for command in self.known()]
        depth = 0
        while depth < len(words) and any(command[: depth + 1] == words[: depth + 1] for command in known):
            depth += 1
        column = len(self.prompt) + (len(" ".join(words[:depth])) + 1 if depth else 0)
        return " " * column + "^\n" + INVALID

    def page(self, count: int) -> None:
        shown, self.pending = self.pending[:count], self.pending[count:]
        for text in shown:
            self.stdout.write(text + self.newline)
        if self.pending:
            self.stdout.write(MORE)
            self.prompt = ""  # IOS waits at --More--; no prompt
        else:
            self.prompt = self.exec_prompt()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def build(spec_path: Path) -> tuple[FakeNOS, dict[str, int]]:
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    base = spec_path.parent
    hosts: dict[str, Any] = {}
    plugins: list[Nos] = []
    ports: dict[str, int] = {}
    for device in spec["devices"]:
        settings = DeviceSettings(device)
        commands: dict[str, Any] = {}
        for command, source in (device.get("outputs") or {}).items():
            path = Path(source) if Path(source).is_absolute() else base / source
            text = path.read_text(encoding="utf-8")
            levels = ["{base_prompt}>", "{base_prompt}#"] if command in settings.user_exec else ["{base_prompt}#"]
            commands[command] = {"output": text, "help": f"saved output of {command}", "prompt": levels}
        commands["_default_"] = {"output": INVALID, "help": "unknown command"}
        nos = Nos(
            name=f"ipsecha-{device['name']}",
            commands=commands,
            initial_prompt="{base_prompt}#" if settings.privilege >= 15 else "{base_prompt}>",
        )
        nos.device = settings
        plugins.append(nos)
        port = int(device.get("port") or 0) or free_port()
        ports[device["name"]] = port
        hosts[device["name"]] = {
            "username": device["username"],
            "password": device["password"],
            "port": port,
            "server": {
                "plugin": "ParamikoSshServer",
                "configuration": {
                    "address": "127.0.0.1",
                    "timeout": 1,
                    "watchdog_interval": 1,
                    "ssh_banner": device.get("banner") or "",
                },
            },
            "shell": {
                "plugin": "CMDShell",
                "configuration": {
                    "base_prompt": settings.hostname,
                    "intro": device.get("motd") or "",
                },
            },
            "nos": {"plugin": nos.name},
        }
    net = FakeNOS(inventory={"hosts": hosts}, plugins=plugins)
    net.shell_plugins["CMDShell"] = IosShell
    return net, ports


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} SPEC.json", file=sys.stderr)
        return 2
    net, ports = build(Path(argv[1]))
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    net.start()
    print(json.dumps({"ready": True, "ports": ports}), flush=True)
    while not stopping.wait(0.5):
        pass
    stopper = threading.Thread(target=net.stop, daemon=True)
    stopper.start()
    stopper.join(timeout=10)
    sys.stdout.flush()
    os._exit(0)  # FakeNOS's connection threads are not daemons; never wait on a stuck one


if __name__ == "__main__":
    sys.exit(main(sys.argv))
