"""asyncssh is the `lab` extra, not a dependency: only the simulated lab
(`lab`, `demo`) uses it. Started where asyncssh cannot be imported, they
exit 1 with one line naming the extra; the rest of the product runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import REPO
from support.processes import closed_port

from ipsec_ha_monitor.lab import LAB_EXTRA, LabUnavailable

pytestmark = pytest.mark.integration  # the command in subprocesses

SCRIPT = Path(sys.executable).parent / "ipsec-ha-monitor"  # the installed console script
MESSAGE = (
    "the simulated lab needs asyncssh, which is not installed: pip install 'ipsec-ha-monitor[lab]' "
    "(or `make install` in a checkout)"
)


def test_asyncssh_is_the_lab_extra_and_make_installs_it() -> None:
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")

    def requirements(key: str) -> list[str]:  # a TOML list of strings (tomllib: Python 3.11+)
        block = re.search(rf"^{key} = \[(.*?)^\]", pyproject, flags=re.S | re.M)
        assert block, key
        return re.findall(r'^\s*"([^"]+)"', block.group(1), flags=re.M)

    assert requirements("dependencies") and not any(r.startswith("asyncssh") for r in requirements("dependencies"))
    assert [r for r in requirements("lab") if r.startswith("asyncssh")]
    name = re.search(r'^name = "(.+)"', pyproject, flags=re.M)
    assert name and LAB_EXTRA == name[1] + "[lab]"
    # make install (and so CI, and make test-latest / test-legacy-ssh) installs it, pinned.
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert makefile.count("-e '.[test,lab]'") == 3 and "-e '.[test]'" not in makefile
    assert any(line.startswith("asyncssh==") for line in (REPO / "constraints.txt").read_text().splitlines())


def _without_asyncssh(tmp_path: Path) -> dict[str, str]:
    """An environment where `import asyncssh` fails as if it were not
    installed: a package of that name, first on PYTHONPATH, that refuses."""
    shim = tmp_path / "shim" / "asyncssh"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'asyncssh'\", name='asyncssh')\n", encoding="utf-8"
    )
    return {**os.environ, "PYTHONPATH": str(shim.parent)}


@pytest.mark.parametrize("how", ["module", "script"])
@pytest.mark.parametrize("what", ["demo", "lab"])
def test_lab_and_demo_without_asyncssh_say_so_in_one_line_and_exit_1(tmp_path: Path, what: str, how: str) -> None:
    invocation = [sys.executable, "-m", "ipsec_ha_monitor"] if how == "module" else [str(SCRIPT)]
    if not Path(invocation[0]).exists():
        pytest.skip(f"{invocation[0]} is not installed")
    env = _without_asyncssh(tmp_path)
    probe = subprocess.run([sys.executable, "-c", "import asyncssh"], env=env, capture_output=True, timeout=60)
    assert probe.returncode == 1 and b"No module named 'asyncssh'" in probe.stderr  # the shim works
    options = ["--control-address", f"127.0.0.1:{closed_port()}"]
    if what == "demo":
        options += ["--web.listen-address", f"127.0.0.1:{closed_port()}"]
    done = subprocess.run(
        [*invocation, what, *options], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == LabUnavailable.EXIT_CODE == 1, done
    assert done.stderr == f"ipsec-ha-monitor {what}: {MESSAGE}\n", done.stderr
    assert done.stdout == ""


def test_the_rest_runs_without_asyncssh(tmp_path: Path) -> None:
    """`assets` and `check` (a device that refuses, exit 2) never import it."""
    env = _without_asyncssh(tmp_path)
    assets = subprocess.run(
        [sys.executable, "-m", "ipsec_ha_monitor", "assets", "--output", str(tmp_path / "assets")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert assets.returncode == 0, assets.stderr
    inventory = tmp_path / "lab.yml"
    inventory.write_text(
        "lab: true\n"
        "defaults: {credentials: {username: lab, password: x}}\n"
        f"devices: [{{name: R4, host: 127.0.0.1, port: {closed_port()}, role: branch}}]\n"
        "polling: {connect_timeout: 2, poll_timeout: 5}\n",
        encoding="utf-8",
    )
    inventory.chmod(0o600)
    check = subprocess.run(
        [sys.executable, "-m", "ipsec_ha_monitor", "check", "--config.file", str(inventory)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 2 and "R4" in check.stdout, check
    assert "asyncssh" not in check.stdout + check.stderr
