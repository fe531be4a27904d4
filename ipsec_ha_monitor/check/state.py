"""The --state file: uptimes and RF-active members remembered between
runs (a ReloadTracker), so a check from cron reports reloads and
switchovers; and under "rg_history" the box-to-box pairs' group counters,
ACTIVE members and takeovers (an RgHistory), so rg_no_flapping,
rg_control_link_clean and rg_no_preempt look back across runs. Read only
if this monitor wrote it; written aside and renamed.

Version 2 carries the host's boot id and the clock's monotonic and wall
readings at the save ("clock"), and every stamp as a monotonic reading: the
next run on the same boot of the host compares monotonic readings (a
stepped wall clock changes nothing); after a host reboot it falls back on
the wall clock for the time between the two runs (never less than zero).
Version 1 files (and the unmarked ones before them), whose stamps are Unix
times, are still read, by the wall clock (see ReloadTracker.from_dict).
The box-to-box history's stamps are monotonic readings too, carried by the
same "clock" (reloads.rebase_stamps); a file without it (written before
it, or by a monitor without it) loads with an empty history, and older
monitors reading a file with it ignore the key."""

from __future__ import annotations

import errno
import glob
import json
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from ipsec_ha_monitor.clock import SYSTEM_CLOCK, Clock
from ipsec_ha_monitor.health_b2b import RgHistory
from ipsec_ha_monitor.logs import one_line
from ipsec_ha_monitor.reloads import ReloadTracker, rebase_stamps

# What a state file carries to say it is ours; and the exact fields of the
# files written before the marker (still read, never someone else's JSON).
STATE_FORMAT = "ipsec-ha-monitor check state"
STATE_VERSION = 2
_READ_VERSIONS = (1, 2)  # 1: Unix-time stamps, no boot id
_UNMARKED_STATE_FIELDS = frozenset({"devices", "rf_active", "switched_at", "recent_reloads", "recent_switchovers"})
RG_HISTORY_KEY = "rg_history"  # the box-to-box history's part of the file


class CheckState(NamedTuple):
    """What a previous run kept: the Monitor's tracker and rg_history."""

    tracker: ReloadTracker
    rg_history: RgHistory


def load_state(path: Path, clock: Clock = SYSTEM_CLOCK) -> ReloadTracker:
    """The tracker saved by the previous run (load_check_state's)."""
    return load_check_state(path, clock).tracker


def load_check_state(path: Path, clock: Clock = SYSTEM_CLOCK) -> CheckState:
    """The tracker and box-to-box history saved by the previous run; fresh
    ones when there is none (or the file is empty), a fresh history when
    the file has none. A file this monitor did not write is an error, not
    silently replaced: ours carries `"format": STATE_FORMAT` (or, from
    before the marker, exactly the tracker's fields). Every error is one
    line naming the file (raised as ValueError), a bad history as a bad
    tracker. The stamps are carried onto `clock`; what of the history has
    aged out of its windows by now is dropped (RgHistory.from_dict)."""
    fresh = CheckState(ReloadTracker(clock=clock), RgHistory())
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):  # no state yet (its directory is check_state_writable's)
        return fresh
    except OSError as exc:
        raise ValueError(f"state file {path}: cannot read it: {exc.strerror}") from None
    if not data.strip():  # created empty beforehand (touch, a config manager): nothing to lose
        return fresh
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"state file {path}: not UTF-8 text: not a state this monitor wrote") from None
    try:
        state = json.loads(text)
    except RecursionError:  # json.loads recurses once per level: 100,000 nested lists
        raise ValueError(f"state file {path}: nested too deeply: not a state this monitor wrote") from None
    except ValueError as exc:
        raise ValueError(f"state file {path}: not JSON: {one_line(str(exc))}") from None
    if not isinstance(state, Mapping):
        raise ValueError(f"state file {path}: not a JSON object: not a state this monitor wrote")
    if "format" in state:
        if state["format"] != STATE_FORMAT:
            raise ValueError(f"state file {path}: its format is not {STATE_FORMAT!r}: not a state this monitor wrote")
        version = state.get("version")
        if type(version) is not int or version not in _READ_VERSIONS:
            raise ValueError(
                f"state file {path}: {STATE_FORMAT} version {one_line(repr(version))[:40]}, "
                f"this monitor reads versions {_READ_VERSIONS[0]} to {STATE_VERSION}"
            )
        if version < 2 and "clock" in state:
            raise ValueError(f"state file {path}: version {version} with a clock: not a state this monitor wrote")
        if RG_HISTORY_KEY in state and "clock" not in state:  # its stamps are monotonic: they need the clock
            raise ValueError(f"state file {path}: a box-to-box history without a clock: not a state this monitor wrote")
        state = {key: value for key, value in state.items() if key not in ("format", "version")}
    elif set(state) != _UNMARKED_STATE_FIELDS:
        raise ValueError(f"state file {path}: a JSON object without our format marker: not a state this monitor wrote")
    try:
        return CheckState(ReloadTracker.from_dict(state, clock), _rg_history(state, clock))
    except ValueError as exc:
        raise ValueError(f"state file {path}: {one_line(str(exc))}") from None
    except Exception:  # a shape from_dict did not foresee (int(inf), a list nested too deeply for str())
        raise ValueError(f"state file {path}: not a state this monitor wrote") from None


def _rg_history(state: Mapping[str, Any], clock: Clock) -> RgHistory:
    """The file's box-to-box history, its stamps carried by the file's clock."""
    saved = state.get(RG_HISTORY_KEY)
    if saved is None:  # a file from before it
        return RgHistory()
    return RgHistory.from_dict(saved, rebase_stamps(state.get("clock"), clock), clock.monotonic())


def check_state_writable(path: Path) -> None:
    """Before any poll: the directory exists (created when absent, as
    `mkdir -p` would: see create_directory) and takes a new file (a partial
    file is made there and removed, as save_state makes one). ValueError:
    one line naming the path."""
    directory = path.parent
    if not directory.exists():
        create_directory(path)
    if not directory.is_dir():
        raise ValueError(f"state file {path}: {directory} is not a directory")
    if path.is_dir():
        raise ValueError(f"state file {path}: is a directory")
    try:
        fd, partial = _create_partial(path)
    except OSError as exc:
        raise ValueError(f"state file {path}: cannot write in {directory}: {exc.strerror}") from None
    os.close(fd)
    try:
        partial.unlink()
    except OSError:
        pass


def create_directory(path: Path) -> None:
    """The state file's directory and any missing parents (a fresh host:
    `--state /var/lib/ipsecha/state.json` from the README's cron example).
    Mode 0777 less the umask, as `mkdir -p` and the state file itself (made
    with the umask's mode) have it: the state holds no secret (device names,
    boot times, RF roles), and the operator's umask is the policy to follow.
    ValueError: one line naming the path and why it could not be made."""
    directory = path.parent
    blocking = next((parent for parent in (directory, *directory.parents) if parent.exists()), None)
    if blocking is not None and not blocking.is_dir():
        raise ValueError(f"state file {path}: cannot create its directory {directory}: {blocking} is not a directory")
    try:
        directory.mkdir(mode=0o777, parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(directory) else ""
        raise ValueError(f"state file {path}: cannot create its directory {directory}: {reason}{where}") from None


def _create_partial(path: Path) -> tuple[int, Path]:
    """A new partial file beside `path`, created with the umask's mode (as
    the file itself would be): its descriptor and its path."""
    for _ in range(100):
        partial = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.partial")
        try:
            return os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), partial
        except FileExistsError:
            continue
    raise FileExistsError(17, "no unused partial file name")


def save_state(path: Path, tracker: ReloadTracker, rg_history: RgHistory | None = None) -> None:
    """The tracker and, when given, the box-to-box history beside it.
    Written aside and renamed: a crash never leaves half a state file,
    and runs at the same time never share a partial file (each writes its
    own, in the same directory, and the last rename wins whole). The data
    is fsynced before the rename and the directory after it: without the
    first, a power loss can leave the renamed file empty (the rename
    reached the disk, the data not yet); without the second, the old file."""
    state = {"format": STATE_FORMAT, "version": STATE_VERSION, **tracker.to_dict()}
    if rg_history is not None:
        state[RG_HISTORY_KEY] = rg_history.to_dict()
    text = json.dumps(state, indent=1, sort_keys=True).encode("utf-8")
    partial: Path | None = None
    try:
        fd, partial = _create_partial(path)
        with os.fdopen(fd, "wb") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
        partial = None
        _fsync_directory(path.parent)
    except OSError as exc:
        raise ValueError(f"state file {path}: cannot write it: {exc.strerror}") from None
    finally:
        if partial is not None:
            try:
                partial.unlink()
            except OSError:  # already gone
                pass
    _sweep_partials(path)


def _fsync_directory(directory: Path) -> None:
    """Makes a rename in `directory` durable (POSIX: the directory entry is
    the directory's data)."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):  # a file system that cannot: the file is whole anyway
            raise
    finally:
        os.close(fd)


# A partial file this old was left by a run killed mid-write (a write takes
# milliseconds): removed by the next run that saves.
_STALE_PARTIAL_SECONDS = 600.0


def _sweep_partials(path: Path) -> None:
    cutoff = time.time() - _STALE_PARTIAL_SECONDS  # against files' modification times: wall time
    try:
        leftovers = list(path.parent.glob(f".{glob.escape(path.name)}.*.partial"))
    except OSError:
        return
    for leftover in leftovers:
        try:
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
        except OSError:  # another run swept it first
            pass
