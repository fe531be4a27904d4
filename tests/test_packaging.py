"""The wheel as a user installs it: built from this checkout without
warnings, carrying the licence, and able to write out the dashboards, rules,
examples and templates (`ipsec-ha-monitor assets --output DIR`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support.paths import REPO

from ipsec_ha_monitor import __version__

pytestmark = pytest.mark.integration  # pip builds and installs in subprocesses


def _shipped_in_checkout() -> dict[str, bytes]:
    """What a deployment needs, read from the checkout's own directories."""
    wanted = {
        "dashboards": REPO / "dashboards",
        "examples": REPO / "docs" / "examples",
        "textfsm_templates": REPO / "textfsm_templates",
    }
    files = {}
    for output, folder in wanted.items():
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts:
                files[f"{output}/{path.relative_to(folder).as_posix()}"] = path.read_bytes()
    # The runbooks every alert's runbook_url names, at that very path.
    files["docs/runbooks.md"] = (REPO / "docs" / "runbooks.md").read_bytes()
    return files


def _slugs(markdown: str) -> set[str]:
    """GitHub's heading anchors (as tests/test_docs.py computes them)."""
    headings = re.findall(r"^#{1,6} (.+)$", markdown, flags=re.M)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel and pip's build log. Built offline with this environment's
    setuptools, from a copy so the checkout gets no build/ directory."""
    out = tmp_path_factory.mktemp("wheel")
    source = out / "source"
    shutil.copytree(
        REPO,
        source,
        symlinks=True,  # ipsec_ha_monitor/shipped links to dashboards/ and docs/examples/
        ignore=shutil.ignore_patterns(".*", "__pycache__", "*.egg-info", "build", "dist", "tests", "bench", "lab.yml"),
    )
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=out,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    (built,) = out.glob("ipsec_ha_monitor-*.whl")
    return built, build.stdout + build.stderr


def test_the_wheel_builds_without_warnings(wheel: tuple[Path, str]) -> None:
    _, log = wheel
    warnings = [line for line in log.splitlines() if "warning" in line.lower()]
    assert warnings == []


def test_the_wheel_carries_the_licence_and_declares_it(wheel: tuple[Path, str]) -> None:
    built, _ = wheel
    with zipfile.ZipFile(built) as archive:
        names = archive.namelist()
        (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        text = archive.read(metadata).decode()
        (licence,) = [name for name in names if name.endswith(".dist-info/licenses/LICENSE")]
        assert archive.read(licence) == (REPO / "LICENSE").read_bytes()
    assert "License-Expression: Apache-2.0" in text
    assert f"\nVersion: {__version__}\n" in text  # the one version, ipsec_ha_monitor.__version__
    assert built.name.startswith(f"ipsec_ha_monitor-{__version__}-")
    assert "Apache License" in (REPO / "LICENSE").read_text() and "Version 2.0" in (REPO / "LICENSE").read_text()


def test_an_installed_wheel_writes_out_every_asset(wheel: tuple[Path, str], tmp_path: Path) -> None:
    built, _ = wheel
    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(target), str(built)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    # The installed copy, not this checkout (the editable install comes later on sys.path).
    env = {**os.environ, "PYTHONPATH": str(target)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ipsec_ha_monitor", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=tmp_path,
        )

    where = subprocess.run(
        [sys.executable, "-c", "import ipsec_ha_monitor; print(ipsec_ha_monitor.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert where.stdout.strip().startswith(str(target)), where.stdout + where.stderr

    output = tmp_path / "assets"
    result = run("assets", "--output", str(output))
    assert result.returncode == 0, result.stderr
    written = {path.relative_to(output).as_posix(): path.read_bytes() for path in output.rglob("*") if path.is_file()}
    expected = _shipped_in_checkout()
    assert written == expected
    assert {"dashboards/grafana/ipsecha-pair.json", "dashboards/prometheus/ipsecha-rules.yml"} <= set(written)
    assert any(name.startswith("examples/") and name.endswith(".service") for name in written)
    assert set(result.stdout.split()) == {str(output / name) for name in expected}
    # Every alert's runbook_url, relative to the output directory (the base
    # runbook_base_url would name), lands on a section of the written runbooks.
    rules = written["dashboards/prometheus/ipsecha-rules.yml"].decode()
    links = re.findall(r"runbook_url: \"\{\{ \$externalLabels\.runbook_base_url \}\}([^#\"]+)#([^\"]+)\"", rules)
    assert len(links) == rules.count("runbook_url:") and links, "a runbook_url of another form"
    anchors = _slugs(written["docs/runbooks.md"].decode())
    assert {path for path, _ in links} == {"docs/runbooks.md"}
    assert {anchor for _, anchor in links} - anchors == set()

    again = run("assets", "--output", str(output))
    assert again.returncode == 2 and again.stdout == ""
    assert len(again.stderr.strip().splitlines()) == 1 and "exists" in again.stderr and "--force" in again.stderr
    (output / "dashboards/prometheus/ipsecha-rules.yml").write_text("changed\n")
    forced = run("assets", "--output", str(output), "--force")
    assert forced.returncode == 0, forced.stderr
    assert (output / "dashboards/prometheus/ipsecha-rules.yml").read_bytes() == expected[
        "dashboards/prometheus/ipsecha-rules.yml"
    ]


def test_assets_into_an_unwritable_place_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory\n")
    result = subprocess.run(
        [sys.executable, "-m", "ipsec_ha_monitor", "assets", "--output", str(blocker / "sub")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and str(blocker) in result.stderr


def test_the_wheel_carries_every_module_and_template(wheel: tuple[Path, str]) -> None:
    """pyproject.toml lists the packages one by one: a new subpackage left
    out would install a command that fails at its first import."""
    built, _ = wheel
    with zipfile.ZipFile(built) as archive:
        names = set(archive.namelist())
    wanted = {
        path.relative_to(REPO).as_posix()
        for path in REPO.glob("ipsec_ha_monitor/**/*.py")
        if "shipped/" not in path.relative_to(REPO).as_posix() or path.name == "__init__.py"
    }
    wanted |= {
        f"ipsec_ha_monitor/shipped/textfsm_templates/{path.name}" for path in (REPO / "textfsm_templates").iterdir()
    }
    assert wanted - names == set()
    # One import name only: nothing generic (`monitor`, `textfsm_templates`)
    # lands at the top of a user's site-packages.
    tops = {name.split("/")[0] for name in names}
    assert all(top == "ipsec_ha_monitor" or top.endswith(".dist-info") for top in tops), tops
    # The runbooks, a copy of the file (not the checkout's link).
    with zipfile.ZipFile(built) as archive:
        assert archive.read("ipsec_ha_monitor/shipped/runbooks.md") == (REPO / "docs" / "runbooks.md").read_bytes()
