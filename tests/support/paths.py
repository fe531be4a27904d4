"""Where the test data lives. Everything is inside the repository: a fresh
clone runs its tests with nothing beside it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ipsec_ha_monitor.parse import DEFAULT_PLATFORM, PLATFORMS, TABLE, CommandSpec

REPO = Path(__file__).resolve().parents[2]
# tests/fixtures/<platform>/<command, spaces as _>/<name>.raw + .yml: each
# platform's folder holds the outputs of the templates written for it.
PLATFORM_FIXTURES = {platform: REPO / "tests" / "fixtures" / platform for platform in PLATFORMS}
FIXTURES = PLATFORM_FIXTURES[DEFAULT_PLATFORM]
# Real device outputs from public test fixtures, copied into the repository
# with their sources (MANIFEST.tsv) and licences (NOTICE).
CORPUS = REPO / "tests" / "corpus"
MANIFEST = CORPUS / "MANIFEST.tsv"

# Corpus folder -> the command we send for it. Folders of commands the monitor
# does not parse (the other detail variants, standby delay/internal) are not
# listed; `show crypto ikev2 sa detail` is read by the same template as
# `show crypto ikev2 sa`, and genieparser's `show redundancy application
# group` samples print every group's blocks: what `... group all` prints.
CORPUS_COMMANDS = {
    "show_standby": "show standby",
    "show_standby_all": "show standby all",
    "show_standby_brief": "show standby brief",
    "show_redundancy_states": "show redundancy states",
    "show_redundancy_inter_device": "show redundancy inter-device",
    "show_redundancy": "show redundancy",
    "show_redundancy_switchover_history": "show redundancy switchover history",
    "show_redundancy_application_group": "show redundancy application group all",
    "show_crypto_ipsec_sa": "show crypto ipsec sa",
    "show_crypto_isakmp_sa": "show crypto isakmp sa",
    "show_crypto_ikev2_sa": "show crypto ikev2 sa",
    "show_crypto_ikev2_sa_detail": "show crypto ikev2 sa detail",
    "show_crypto_session": "show crypto session",
    "show_version": "show version",
    "show_logging": "show logging",
}
# Corpus folders of commands only one platform has; every other folder is
# parsed as classic IOS (the IOS-XE rows of those commands reuse the IOS
# templates: parse/commands.py XE_COMMANDS).
CORPUS_PLATFORMS = {"show_redundancy_application_group": "cisco_xe"}


# One spec per template, in table order: the IOS-XE copies of the IOS rows
# (same template, same fixtures) are not tested twice.
def _one_per_template() -> tuple[CommandSpec, ...]:
    first: dict[str, CommandSpec] = {}
    for spec in TABLE:
        first.setdefault(spec.template, spec)
    return tuple(first.values())


TEMPLATE_SPECS = _one_per_template()


def command_of(folder: Path) -> str:
    """ntc-templates convention: the folder names the command."""
    return folder.name.replace("_", " ")


def corpus_platform(folder: Path | str) -> str:
    """The platform a corpus folder's outputs are parsed as."""
    return CORPUS_PLATFORMS.get(Path(folder).name, DEFAULT_PLATFORM)


def fixture_folder(spec: CommandSpec) -> Path:
    """Where the fixtures of `spec`'s template live."""
    return PLATFORM_FIXTURES[spec.platform] / spec.command.replace(" ", "_")


def fixture_platform(raw: Path) -> str:
    """The platform of a fixture: the folder above its command's."""
    return raw.parent.parent.name


def fixture_raws() -> list[Path]:
    """Every fixture output of every platform."""
    return sorted(raw for folder in PLATFORM_FIXTURES.values() for raw in folder.glob("*/*.raw"))


@dataclass(frozen=True)
class RawOutput:
    """One saved output and how the parser is asked to read it."""

    name: str  # corpus/<folder>/<file> or fixtures/<platform>/<folder>/<file>
    command: str
    platform: str
    path: Path


def raw_outputs() -> list[RawOutput]:
    """Every real output of a command we parse (tests/corpus) and every
    fixture, each with its command and platform."""
    found = [
        RawOutput(f"corpus/{folder}/{path.name}", command, corpus_platform(folder), path)
        for folder, command in CORPUS_COMMANDS.items()
        for path in sorted((CORPUS / folder).glob("*.raw"))
    ]
    found += [
        RawOutput(
            f"fixtures/{fixture_platform(path)}/{path.parent.name}/{path.name}",
            command_of(path.parent),
            fixture_platform(path),
            path,
        )
        for path in fixture_raws()
    ]
    return found
