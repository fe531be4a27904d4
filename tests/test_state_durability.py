"""check --state: the file is fsynced before it is renamed into place and
its directory after, so a power loss leaves the old state or the new one,
never an empty file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ipsec_ha_monitor.check import load_state, save_state
from ipsec_ha_monitor.reloads import ReloadTracker


def _tracker() -> ReloadTracker:
    devices = {f"R{n}": {"boot_time": 1000.0 + n, "uptime": n, "polled_at": 2000.0} for n in range(300)}
    return ReloadTracker.from_dict({"devices": devices})


def test_the_state_is_fsynced_before_the_rename_and_its_directory_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[tuple[str, str, int]] = []  # (what, path, size on disk then)
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        target = os.readlink(f"/proc/self/fd/{fd}")
        status = os.fstat(fd)
        events.append(("fsync dir" if stat.S_ISDIR(status.st_mode) else "fsync file", target, status.st_size))
        real_fsync(fd)

    def replace(source: str | os.PathLike[str], destination: str | os.PathLike[str]) -> None:
        events.append(("replace", str(source), Path(source).stat().st_size))
        real_replace(source, destination)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    path = tmp_path / "state.json"
    path.write_text("{}", encoding="utf-8")  # an old state, replaced whole
    save_state(path, _tracker())
    monkeypatch.undo()
    assert [what for what, _, _ in events] == ["fsync file", "replace", "fsync dir"], events
    (_, synced, synced_size), (_, renamed, renamed_size), (_, directory, _) = events
    assert synced == renamed and Path(synced).parent == tmp_path and synced_size == renamed_size
    assert directory == str(tmp_path)
    assert path.stat().st_size == renamed_size > 10_000  # the whole file, flushed before its fsync
    assert sorted(load_state(path).devices) == sorted(f"R{n}" for n in range(300))  # parses whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]  # no partial file left


def test_a_failed_fsync_leaves_the_old_state_and_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    path = tmp_path / "state.json"
    save_state(path, ReloadTracker.from_dict({"devices": {}}))
    before = path.read_bytes()
    monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(ValueError, match=r"state file .*state\.json: cannot write it: Input/output error"):
        save_state(path, _tracker())
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
