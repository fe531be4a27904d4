"""`ipsec-ha-monitor assets --output DIR`: the files a deployment needs
beside the program (Grafana dashboards, Prometheus rules and their tests,
the Alertmanager config, example inventory / web config / systemd unit, the
runbooks every alert links to and the TextFSM templates), written out of
the installed package.

A checkout keeps them in dashboards/, docs/examples/, docs/runbooks.md and
textfsm_templates/; ipsec_ha_monitor/shipped/ links to each, so the package
(a wheel, or a checkout) carries them all. The runbooks go to
docs/runbooks.md under DIR, the path the alerts' runbook_url names after
the external label runbook_base_url: DIR/ is a base that resolves them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ipsec_ha_monitor.parse.templates import OUR_TEMPLATES

SHIPPED = Path(__file__).resolve().parent / "shipped"
# directory under --output (a checkout's names) -> where the package has it
FOLDERS = {
    "dashboards": SHIPPED / "dashboards",
    "examples": SHIPPED / "examples",
    "textfsm_templates": OUR_TEMPLATES,
}
# single files: path under --output -> where the package has it
FILES = {
    "docs/runbooks.md": SHIPPED / "runbooks.md",
}
# Build scripts and package markers are not assets.
_SKIPPED_SUFFIXES = (".py", ".pyc")


class AssetsError(Exception):
    """The output directory cannot take the files; one line naming the path."""


def shipped_files() -> Iterator[tuple[str, Path]]:
    """(relative path under --output, file) for every shipped file."""
    for output, folder in FOLDERS.items():
        for path in sorted(folder.rglob("*")):
            parts = path.relative_to(folder).parts
            if (
                path.is_file()
                and not path.name.endswith(_SKIPPED_SUFFIXES)
                and not any(part.startswith((".", "__")) for part in parts)
            ):
                yield "/".join((output, *parts)), path
    yield from FILES.items()


def write_assets(output: Path, *, overwrite: bool = False) -> list[Path]:
    """Write every shipped file under `output`; existing files are refused
    (all of them named before anything is written) unless `overwrite`."""
    files = list(shipped_files())
    targets = [(output / relative, source) for relative, source in files]
    if not overwrite:
        present = [str(target) for target, _ in targets if target.exists()]
        if present:
            more = f" (and {len(present) - 1} more)" if len(present) > 1 else ""
            raise AssetsError(f"{present[0]} exists{more}; --force overwrites")
    written = []
    for target, source in targets:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
        except OSError as exc:
            raise AssetsError(f"cannot write {target}: {exc.strerror or exc}") from None
        written.append(target)
    return written
