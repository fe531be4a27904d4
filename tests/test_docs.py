"""The documentation a user follows: a short README, every relative link and
anchor resolving, and every `ipsec-ha-monitor <command> --flag` it shows
accepted by that command's parser."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from support.paths import REPO

from ipsec_ha_monitor.cli import build_parser

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
README_MAX_LINES = 200


def _without_code_blocks(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def _anchors(path: Path) -> set[str]:
    """GitHub's heading slugs: lower case, punctuation dropped, spaces to -."""
    headings = re.findall(r"^#{1,6} (.+)$", _without_code_blocks(path.read_text(encoding="utf-8")), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def test_the_readme_is_a_short_user_guide() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES
    text = "\n".join(lines)
    for needed in ("make demo", "make test", "docs/", "LICENSE", "assets --output"):
        assert needed in text, needed


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(REPO)))
def test_every_relative_link_resolves(document: Path) -> None:
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", _without_code_blocks(document.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        destination = (document.parent / path) if path else document
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in _anchors(destination):
            broken.append(f"{target}: no heading #{anchor}")
    assert broken == []


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (action,) = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    return dict(action.choices)


def test_every_documented_flag_exists() -> None:
    """`ipsec-ha-monitor check --nagios ...` (or `python -m ipsec_ha_monitor ...`) in
    any document: each --flag must be one its command accepts."""
    commands = _subcommands()
    unknown = []
    for document in DOCUMENTS:
        for line in document.read_text(encoding="utf-8").splitlines():
            for match in re.finditer(r"(?:ipsec-ha-monitor|python3? -m ipsec_ha_monitor) (\w+)((?: +[^|`;&]+)?)", line):
                command, rest = match.group(1), match.group(2)
                if command not in commands:
                    continue
                known = {flag for action in commands[command]._actions for flag in action.option_strings}
                for flag in re.findall(r"(?<![\w-])--[a-z][\w.-]*", rest):
                    if flag not in known:
                        unknown.append(f"{document.relative_to(REPO)}: {command} {flag}")
    assert unknown == []


EXAMPLES = REPO / "docs" / "examples"


def test_the_example_inventory_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    from ipsec_ha_monitor.inventory import load_inventory

    for name in set(re.findall(r"\{env: (\w+)\}", (EXAMPLES / "inventory.yml").read_text(encoding="utf-8"))):
        monkeypatch.setenv(name, f"example-{name.lower()}")
    inventory = load_inventory(EXAMPLES / "inventory.yml")
    assert inventory.pairs and any(device.role == "branch" for device in inventory.devices.values())
    assert all(device.credentials.password.reveal().startswith("example-") for device in inventory.devices.values())


def test_the_example_web_config_loads_beside_a_certificate(tmp_path: Path) -> None:
    from support.tls import self_signed

    from ipsec_ha_monitor.export.web_config import load_web_config

    self_signed(tmp_path)  # tls.crt and tls.key, the names the example uses
    copy = tmp_path / "web-config.yml"
    copy.write_bytes((EXAMPLES / "web-config.yml").read_bytes())
    web = load_web_config(str(copy))
    assert web.tls is not None and set(web.users) == {"prometheus"}


def test_the_example_unit_runs_serve_with_flags_it_has() -> None:
    unit = (EXAMPLES / "ipsec-ha-monitor.service").read_text(encoding="utf-8")
    service = dict(
        line.split("=", 1) for line in unit.replace("\\\n", " ").splitlines() if "=" in line and line[0].isupper()
    )
    command = service["ExecStart"].split()
    assert command[0].endswith("/ipsec-ha-monitor") and command[1] == "serve"
    args = build_parser().parse_args(command[1:])
    assert args.config and args.web_config and args.listen == ":9477"
    assert service["User"] != "root" and service["NoNewPrivileges"] == "yes"
    assert service["ExecReload"].endswith("-HUP $MAINPID")
