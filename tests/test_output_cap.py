"""No device can blow up the poller with what it sends (issue 24, item 4):
one command's output is capped at polling.max_output_bytes and a login's
banner at max_banner_bytes (status `output_too_large`, the session dropped,
the device polled again on its schedule, the others undisturbed), and the
search for a command's prompt looks at each chunk with a short tail only,
never the whole output again.

The prompt search is tested on bytes (CommandOutput); the caps against lab
routers over real SSH: one printing without end, one printing 100 MB, one
whose login banner never ends. The memory test polls each in a subprocess
with the default caps and reads its peak RSS.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest
from support.inventories import FAST_POLLING, write_inventory
from support.paths import REPO
from support.waiting import wait_until

from ipsec_ha_monitor.core import Recorded
from ipsec_ha_monitor.export.exporter import Exporter
from ipsec_ha_monitor.inventory import PollSettings, load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.lab.router import Faults
from ipsec_ha_monitor.poll import Poller
from ipsec_ha_monitor.poll.channel_reader import CommandOutput, OutputTooLarge, PromptEnd
from ipsec_ha_monitor.snapshot import Snapshot, Status

ECHO = b"show crypto ipsec sa"
PROMPT = b"R1#"
MiB = 1 << 20


def _feed(output: CommandOutput, data: bytes, size: int) -> PromptEnd | None:
    end = None
    for at in range(0, len(data), size):
        end = output.feed(data[at : at + size])
    return end


def _output(lines: int) -> bytes:
    body = b"".join(b"   #pkts encaps: %d, #pkts encrypt: %d, #pkts digest: %d\r\n" % (n, n, n) for n in range(lines))
    return ECHO + b"\r\n" + body + PROMPT


# --- the prompt search, on bytes ------------------------------------------------


def test_a_megabyte_fed_a_byte_at_a_time_is_searched_in_linear_work() -> None:
    data = _output(18_000)
    assert len(data) > MiB
    output = CommandOutput(ECHO, PROMPT, cap=16 * MiB)
    end = _feed(output, data, 1)
    assert end == PromptEnd(len(data) - len(PROMPT), True)
    assert output.text(end) == data.decode()
    # Each byte is looked at a bounded number of times: the search window
    # (the prompt and the blanks that may follow it) per chunk, and each new
    # byte a few times. A rescan of what came before would be ~5e11 here.
    per_chunk = len(PROMPT) + 64 + 64
    assert output.examined <= 6 * len(data) + per_chunk * len(data), output.examined


def test_large_chunks_are_examined_about_once() -> None:
    data = _output(180_000)  # ~10 MB
    output = CommandOutput(ECHO, PROMPT, cap=16 * MiB)
    end = _feed(output, data, 65536)
    assert end is not None and end.clean
    assert output.examined <= 4 * len(data), output.examined / len(data)
    assert output.lines == 180_001


def test_a_prompt_or_an_echo_split_across_chunks_is_found() -> None:
    data = _output(3)
    for cut in range(1, len(data)):
        output = CommandOutput(ECHO, PROMPT, cap=MiB)
        first = output.feed(data[:cut])
        end = output.feed(data[cut:])
        assert first is None and end == PromptEnd(len(data) - len(PROMPT), True), cut


def test_a_stale_prompt_before_the_echo_never_ends_the_output() -> None:
    output = CommandOutput(ECHO, PROMPT, cap=MiB)
    assert output.feed(b"\r\nR1#") is None  # a late answer to an Enter at login
    assert output.feed(ECHO) is None  # the echo, its line not ended
    assert output.feed(b" R1#") is None  # on the echo's line: not the end either
    end = output.feed(b"\r\nline\r\n\r\x1b[K R1#  ")  # line noise before it, blanks after it
    assert end is not None and end.clean
    assert output.text(end) == "\r\nR1#show crypto ipsec sa R1#\r\nline\r\nR1#  "


def test_a_prompt_mid_line_is_put_on_a_line_of_its_own() -> None:
    output = CommandOutput(ECHO, PROMPT, cap=MiB)
    end = output.feed(ECHO + b"\r\nno line end hereR1#")
    assert end is not None and not end.clean
    assert output.text(end) == "show crypto ipsec sa\r\nno line end here\nR1#"


def test_past_the_cap_the_output_is_refused_and_the_bytes_are_counted() -> None:
    output = CommandOutput(ECHO, PROMPT, cap=1000)
    output.feed(ECHO + b"\r\n" + b"x" * 900)
    with pytest.raises(OutputTooLarge) as raised:
        output.feed(b"y" * 200)
    assert (raised.value.received, raised.value.cap) == (len(ECHO) + 2 + 900 + 200, 1000)
    assert len(output.received) == len(ECHO) + 2 + 900  # the chunk that crossed the cap was not kept


def test_the_default_caps() -> None:
    settings = PollSettings()
    assert (settings.max_output_bytes, settings.max_banner_bytes) == (16 * MiB, 64 * 1024)


# --- over SSH: the caps, the session, the schedule --------------------------------------------

pytestmark = pytest.mark.integration  # the lab over SSH (the byte tests above are quick anyway)

ENDLESS, HUGE, BANNER = "R4", "R5", "R6"
FAULTS = {
    ENDLESS: Faults(endless_output=True),
    HUGE: Faults(huge_output_bytes=100_000_000),
    BANNER: Faults(endless_banner=True),
}


@pytest.fixture
def lab_with_floods():
    with LabThread(Lab(pairs=1, branches=3, time_scale=20)) as running:
        for name, faults in FAULTS.items():
            running.lab.router(name).faults = faults
        yield running


def _first(snapshot: Snapshot) -> tuple[Status, str]:
    return snapshot.results[0].status, snapshot.results[0].error


def test_each_flood_ends_as_output_too_large_with_the_bytes_and_the_cap(lab_with_floods: LabThread, tmp_path: Path):
    """A lowered output cap (the mechanism, not the figure, is under test here)."""
    polling = dict(FAST_POLLING, command_timeout=10, poll_timeout=30, max_output_bytes=MiB)
    poller = Poller(load_inventory(write_inventory(lab_with_floods.lab, tmp_path / "lab.yml", polling=polling)))
    try:
        snapshots = poller.poll_all()
    finally:
        poller.close()
    for name in (ENDLESS, HUGE):
        status, error = _first(snapshots[name])
        command = snapshots[name].results[0].command
        assert status is Status.OUTPUT_TOO_LARGE, (name, status, error)
        assert error.startswith(f"{command}: output over 1 MiB (the polling.max_output_bytes cap; 1,")
        assert error.endswith(" bytes received): session dropped"), error
        received = int(error.split("cap; ")[1].split(" bytes")[0].replace(",", ""))
        assert MiB < received <= MiB + 65536, error  # read no further than one chunk past the cap
        assert snapshots[name].results[0].duration_seconds < 10  # well within the command timeout
        # The rest of the poll is not run (no second login into the flood);
        # never taken for a refused login (no backoff).
        for later in snapshots[name].results[1:]:
            assert (later.status, later.error) == (Status.OUTPUT_TOO_LARGE, f"not run: {error}")
        # Dropped: the router sees its session closed.
        server = lab_with_floods.lab.servers[name]
        wait_until(lambda: all(c.is_closed() for c in server.connections), 10, f"{name}'s session closed")  # noqa: B023
    port = lab_with_floods.lab.servers[BANNER].port
    for result in snapshots[BANNER].results:  # the login failed: every command says why
        assert result.status is Status.OUTPUT_TOO_LARGE
        assert result.error.startswith(
            f"login to 127.0.0.1:{port}: over 64 KiB before the first prompt (the polling.max_banner_bytes cap; "
        ), result.error
        assert result.error.endswith(" bytes received): session dropped"), result.error
    assert snapshots["R1"].up and snapshots["R2"].up, (snapshots["R1"].failures, snapshots["R2"].failures)


INTERVAL = 2.0


def test_flooding_devices_are_polled_on_schedule_in_new_sessions_beside_healthy_ones(
    lab_with_floods: LabThread, tmp_path: Path
) -> None:
    polling = dict(FAST_POLLING, workers=4, command_timeout=10, poll_timeout=30, max_output_bytes=MiB)
    exporter = Exporter(load_inventory(write_inventory(lab_with_floods.lab, tmp_path / "lab.yml", polling=polling)))
    lock = threading.Lock()
    ends: dict[str, list[float]] = defaultdict(list)
    polls: dict[str, list[Snapshot]] = defaultdict(list)

    def record(recorded: Recorded) -> None:
        now = time.monotonic()
        with lock:
            for name, snapshot in recorded.snapshots.items():
                ends[name].append(now)
                polls[name].append(snapshot)

    exporter.monitor.subscribe(on_record=record)
    try:
        exporter.start(INTERVAL)
        start = time.monotonic()
        time.sleep(6 * INTERVAL)
        end = time.monotonic()
    finally:
        exporter.stop()
    with lock:
        for name in ("R1", "R2", ENDLESS, HUGE, BANNER):
            within = [at for at in ends[name] if start <= at <= end]
            gaps = [b - a for a, b in zip([start, *within], [*within, end], strict=False)]
            # Polled again about every interval through the window, the floods too.
            assert len(within) >= 3 and max(gaps) < 2.5 * INTERVAL, (name, [round(g, 2) for g in gaps])
        for name in ("R1", "R2"):
            assert all(snapshot.up for snapshot in polls[name]), name
        for name in (ENDLESS, HUGE, BANNER):
            assert all(_first(s)[0] is Status.OUTPUT_TOO_LARGE for s in polls[name]), name
            # Dropped, never reused: every poll logged in afresh.
            assert all(snapshot.session_opened for snapshot in polls[name]), name
            assert all(Status.AUTH not in {r.status for r in s.results} for s in polls[name]), name


# --- memory: the default caps, in a process of its own ------------------------------------------

_POLL_ONE = """
import json, sys, time
from ipsec_ha_monitor.inventory import load_inventory
from ipsec_ha_monitor.poll import Poller

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024

inventory, name = load_inventory(sys.argv[1]), sys.argv[2]
poller = Poller(inventory)
try:
    for healthy in ("R1", "R2"):  # what any poll loads is loaded
        poller.poll(healthy)
    try:
        open("/proc/self/clear_refs", "w").write("5")  # the peak from here on
    except OSError:
        pass
    before = status("VmRSS:")
    began = time.monotonic()
    snapshot = poller.poll(name)
    seconds = time.monotonic() - began
    peak = status("VmHWM:")
finally:
    poller.close()
print(json.dumps({
    "growth": peak - before,
    "seconds": seconds,
    "results": [[r.status.value, r.error, r.duration_seconds] for r in snapshot.results],
}))
"""


@pytest.mark.parametrize("name", [ENDLESS, HUGE, BANNER])
def test_a_flood_costs_a_session_little_memory_at_the_default_caps(
    lab_with_floods: LabThread, tmp_path: Path, name: str
) -> None:
    """Measured in a process of its own (the lab's own buffers stay out of
    it), at the real default caps: 16 MiB of output, 64 KiB of banner.
    Before the caps, the endless output grew a process by 700 MB within one
    20 s command timeout."""
    polling = dict(FAST_POLLING, command_timeout=20, poll_timeout=60)
    keep = (name, "R1", "R2")  # the pair, healthy, beside the flood
    drop = tuple(n for n in ("R3", "R4", "R5", "R6") if n not in keep)
    path = write_inventory(lab_with_floods.lab, tmp_path / "lab.yml", polling=polling, drop=drop)
    done = subprocess.run(
        [sys.executable, "-c", _POLL_ONE, str(path), name],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    status, error, duration = measured["results"][0]
    assert status == "output_too_large", measured["results"][0]
    cap = "64 KiB" if name == BANNER else "16 MiB"
    assert f"over {cap}" in error, error
    assert duration < 20, duration  # within the command / login timeout
    print(f"{name}: RSS growth {measured['growth'] / MiB:.1f} MiB, poll {measured['seconds']:.2f} s")
    assert measured["growth"] < 64 * MiB, measured["growth"] / MiB
