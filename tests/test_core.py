"""The one pipeline (ipsec_ha_monitor/core.py): check and the exporter record
through the same Monitor; newest snapshot wins; an inventory update forgets
a name that left or moved to another host (check --watch too); a bad
inventory on SIGHUP (bad YAML, not UTF-8, a secret file that is not UTF-8)
is refused and the old one kept; the signal loop."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
from support.inventories import write_branch_inventory, write_inventory
from support.processes import StderrLines, closed_port, spawn_serve, start_monitor, stop
from support.snapshots import snapshot_of
from support.waiting import wait_until

import ipsec_ha_monitor.check
from ipsec_ha_monitor.cli import main
from ipsec_ha_monitor.core import Monitor, Recorded, SignalLoop
from ipsec_ha_monitor.export.exporter import Exporter
from ipsec_ha_monitor.inventory import Inventory, InventoryError, load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.lab.router import Faults
from ipsec_ha_monitor.lab.topology import LabPair
from ipsec_ha_monitor.snapshot import Snapshot

TIME_SCALE = 20
REFUSED = "inventory reload refused, keeping the previous one"


class Spy(Monitor):
    """A Monitor that keeps what every record() was handed."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.handed: list[set[str]] = []

    def record(self, polled: dict[str, Snapshot]) -> Recorded:  # type: ignore[override]
        self.handed.append(set(polled))
        return super().record(polled)


def snapshots_of(pair: LabPair, started_at: float) -> dict[str, Snapshot]:
    return {router.name: snapshot_of(router, started_at=started_at) for router in pair.hubs}


# --- one pipeline --------------------------------------------------------------------


@pytest.mark.integration  # the lab over SSH, or a subprocess
def test_check_and_the_exporter_record_through_the_monitor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spies: list[Spy] = []
    monkeypatch.setattr(
        ipsec_ha_monitor.check, "Monitor", lambda *args, **kwargs: spies.append(Spy(*args, **kwargs)) or spies[-1]
    )
    with LabThread(Lab(pairs=1, branches=1, time_scale=TIME_SCALE)) as running:
        path = write_inventory(running.lab, tmp_path / "lab.yml")
        assert main(["check", "--config", str(path), "--json", "--progress", "never"]) == 0
        report = json.loads(capsys.readouterr().out)
        (spy,) = spies
        assert spy.handed == [{"R1", "R2", "R4"}]  # check: the poll recorded as one
        assert [pair["pair"] for pair in report["pairs"]] == ["HUB-PAIR-1"]

        inventory = load_inventory(path)
        spy = Spy(inventory)
        exporter = Exporter(inventory, monitor=spy)
        try:
            exporter.poll_all()
            assert sorted(spy.handed, key=sorted) == [{"R1"}, {"R2"}, {"R4"}]  # each device as its poll ends
            spy.probe_reuse_seconds = 0  # a probe right after the cycle polls again (not answered from it)
            view = exporter.probe("R4", timeout=10)
            assert spy.handed[-1] == {"R4"} and view.snapshots["R4"] is spy.state().snapshots["R4"]
            assert [pair.verdict for pair in exporter.pair_table()] == ["healthy"]
            assert exporter.view().pairs == list(spy.state().pairs.values())
        finally:
            exporter.stop()


def test_the_front_ends_hold_no_pipeline_of_their_own() -> None:
    root = Path(ipsec_ha_monitor.__file__).parent
    check = sorted(
        path.relative_to(root).as_posix() for path in Path(ipsec_ha_monitor.check.__file__).parent.glob("*.py")
    )
    assert "check/__init__.py" in check and "check/result.py" in check  # the check package, every file of it
    for name in (*check, "serve.py", "export/exporter.py", "export/server.py"):
        source = (root / name).read_text(encoding="utf-8")
        for needle in ("evaluate_pair", ".observe(", ".forget(", "signal.signal(", REFUSED):
            assert needle not in source, f"{name} has its own {needle}"
    server = (root / "export/server.py").read_text(encoding="utf-8")
    assert ".poller" not in server and "exporter._" not in server  # public methods only


# --- recording ------------------------------------------------------------------------


def test_a_stale_result_is_dropped_not_read_as_a_reload(inventory: Inventory, pair: LabPair) -> None:
    core = Monitor(inventory)
    try:
        older = snapshots_of(pair, 1_000_000.0)
        for router in pair.hubs:  # ten minutes later: every uptime is 600 s longer
            router.boot_time -= 600
        newer = snapshots_of(pair, 1_000_600.0)
        first = core.record(newer)
        assert set(first.snapshots) == {"R1", "R2"} and set(first.pairs) == {"HUB-PAIR-1"}
        late = core.record(older)  # a slow cycle's result landing after a probe's
        assert not late and late.reloads == () and late.pairs == {}
        state = core.state()
        assert state.snapshots == newer and state.reload_counts == {}
        assert core.record(newer) == Recorded()  # a shared poll arriving twice counts once
        assert core.record({"R9": newer["R1"]}) == Recorded()  # not in the inventory
    finally:
        core.close()


def test_only_the_pairs_a_poll_touches_are_judged(inventory: Inventory, pair: LabPair) -> None:
    core = Monitor(inventory)
    try:
        snapshots = snapshots_of(pair, 1_000_000.0)
        branch = snapshot_of(pair.branches[0], started_at=1_000_000.0)
        assert core.record({"R4": branch}).pairs == {}
        recorded = core.record({"R1": snapshots["R1"]})
        assert list(recorded.pairs) == ["HUB-PAIR-1"]
        assert recorded.pairs["HUB-PAIR-1"].verdict == "unknown"  # R2 not polled yet
        assert core.record({"R2": snapshots["R2"]}).pairs["HUB-PAIR-1"].verdict == "healthy"
    finally:
        core.close()


def test_an_update_forgets_a_name_moved_to_another_host(inventory: Inventory, pair: LabPair, tmp_path: Path) -> None:
    core = Monitor(inventory)
    try:
        r4 = snapshot_of(pair.branches[0], started_at=1_000_000.0)
        core.record({"R4": r4})
        assert "R4" in core.tracker.devices
        # Only a password changes: the same box, its history stays.
        text = inventory.path.read_text(encoding="utf-8")
        rotated, new_password = tmp_path / "rotated.yml", tmp_path / "rotated-password"
        new_password.write_text("y\n", encoding="utf-8")
        assert str(tmp_path / "password") in text  # the fixture's password file
        rotated.write_text(text.replace(str(tmp_path / "password"), str(new_password)), encoding="utf-8")
        assert core.update_inventory(load_inventory(rotated)) == []
        assert "R4" in core.tracker.devices and "R4" not in core.state().snapshots  # changed: polled afresh
        # R4 now names another host, freshly booted: not a reload of R4.
        moved = tmp_path / "moved.yml"
        moved.write_text(text.replace("host: 172.16.0.4", "host: 172.16.0.9"), encoding="utf-8")
        assert core.update_inventory(load_inventory(moved)) == ["R4"]
        assert "R4" not in core.tracker.devices
        version = replace(r4.version, uptime_seconds=60)
        results = tuple(
            replace(result, records=(version,)) if result.command == "show version" else result for result in r4.results
        )
        # A poll of the old host that began before the update and ends after it
        # stays out: by the monotonic clock, whatever its wall time says.
        before = replace(r4, started_at=time.time() + 3600, monotonic=core.clock.monotonic() - 5)
        assert core.record({"R4": before}) == Recorded()
        fresh = replace(r4, started_at=time.time() - 3600, monotonic=core.clock.monotonic(), results=results)
        recorded = core.record({"R4": fresh})
        assert set(recorded.snapshots) == {"R4"} and recorded.reloads == ()
    finally:
        core.close()


def test_an_update_forgets_a_removed_pair_and_its_members(inventory: Inventory, pair: LabPair, tmp_path: Path) -> None:
    core = Monitor(inventory)
    try:
        core.record(snapshots_of(pair, 1_000_000.0))
        assert core.tracker.rf_active == {"HUB-PAIR-1": "R2"} and core.state().pairs
        branches = tmp_path / "branches.yml"
        branches.write_text(
            f"lab: true\ndefaults: {{credentials: {{username: lab, password: {{file: {tmp_path / 'password'}}}}}}}\n"
            "devices: [{name: R4, host: 172.16.0.4, role: branch}]\n",
            encoding="utf-8",
        )
        assert core.update_inventory(load_inventory(branches)) == ["R1", "R2", "R5"]
        assert core.tracker.rf_active == {} and core.state().pairs == {}
        assert set(core.tracker.devices) == set()  # R4 was never recorded here
    finally:
        core.close()


# --- bad inventories on reload ------------------------------------------------------------


def test_an_inventory_that_is_not_utf8_is_an_inventory_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes(b"lab: true\n# caf\xe9\ndevices: []\n")
    with pytest.raises(InventoryError, match=r"latin1\.yml:2: file: not UTF-8 text"):
        load_inventory(path)
    secret = tmp_path / "secret"
    secret.write_bytes(b"p\xe4ssword\n")
    path.write_text(
        f"defaults: {{credentials: {{username: netops, password: {{file: {secret}}}}}}}\n"
        "devices: [{name: R4, host: 192.0.2.4, role: branch}]\n",
        encoding="utf-8",
    )
    with pytest.raises(InventoryError, match=r"password\.file: .*secret is not UTF-8 text") as error:
        load_inventory(path)
    assert "\\xe4" not in str(error.value) and "0xe4" not in str(error.value)  # not a byte of the secret


@pytest.mark.parametrize(
    "content",
    [b"devices: [\n", b"devices:\n  - {name: R4, host: caf\xe9}\n", "secret"],
    ids=["bad-yaml", "not-utf8", "secret-not-utf8"],
)
def test_a_bad_inventory_on_reload_is_refused_and_the_old_one_kept(
    inventory: Inventory, tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes | str
) -> None:
    path = tmp_path / "reloaded.yml"
    if content == "secret":
        secret = tmp_path / "secret"
        secret.write_bytes(b"\xff\xfe")
        path.write_text(
            f"defaults: {{credentials: {{username: netops, password: {{file: {secret}}}}}}}\n"
            "devices: [{name: R4, host: 192.0.2.4, role: branch}]\n",
            encoding="utf-8",
        )
    else:
        path.write_bytes(content)
    core = Monitor(inventory)
    try:
        with caplog.at_level(logging.ERROR, logger="ipsec_ha_monitor.core"):
            assert core.reload_inventory(path) is False
        assert core.inventory is inventory
        (message,) = [record.getMessage() for record in caplog.records]
        assert message.startswith(REFUSED) and str(path) in message
    finally:
        core.close()


# --- the signal loop --------------------------------------------------------------------------


def test_the_signal_loop_reloads_on_sighup_and_stops_on_sigterm(
    inventory: Inventory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "reloaded.yml"
    write_branch_inventory(path, "172.16.0.4", None)
    core = Monitor(inventory)
    previous = signal.getsignal(signal.SIGTERM)
    # A runner started in the background may ignore SIGINT, and the loop
    # rightly keeps an ignored SIGINT ignored: give this test Python's default.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with SignalLoop(core, path) as signals:
            signal.raise_signal(signal.SIGHUP)
            assert signals.wait(5) is False  # the reload ends the wait at once
            assert list(core.inventory.devices) == ["R4"]
            path.write_bytes(b"\xff")
            signal.raise_signal(signal.SIGHUP)
            with caplog.at_level(logging.ERROR, logger="ipsec_ha_monitor.core"):
                assert signals.wait(5) is False
            assert list(core.inventory.devices) == ["R4"] and REFUSED in caplog.text
            threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
            assert signals.wait(10) is True
            # A stop signal while the main thread works cuts the work short.
            with pytest.raises(KeyboardInterrupt):
                signal.raise_signal(signal.SIGINT)
                for _ in range(10_000_000):
                    pass
        assert signal.getsignal(signal.SIGTERM) is previous  # restored
    finally:
        signal.signal(signal.SIGINT, previous_int)
        core.close()


@pytest.mark.integration  # the lab over SSH, or a subprocess
def test_watch_forgets_a_moved_device_and_survives_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    """check --watch: SIGHUP with a file that is not UTF-8 is refused (no
    traceback, polling goes on); R4 re-pointed at another, freshly booted
    router is not read as a reload of R4 (that router's own reboot is one)."""
    with LabThread(Lab(pairs=1, branches=2, time_scale=TIME_SCALE)) as running:
        lab = running.lab
        path = write_inventory(lab, tmp_path / "lab.yml")
        state = tmp_path / "state.json"
        process = start_monitor("check", "--config", str(path), "--json", "--watch", "0.3", "--state", str(state))
        reports: list[dict] = []
        reader = threading.Thread(
            target=lambda: reports.extend(json.loads(line) for line in process.stdout), daemon=True
        )
        reader.start()
        try:
            wait_until(lambda: len(reports) >= 2, what="two reports")
            good = path.read_bytes()
            path.write_bytes(good.replace(b"R4", b"R\xe94", 1))
            seen = len(reports)
            process.send_signal(signal.SIGHUP)
            wait_until(lambda: len(reports) >= seen + 2, what="polls after a refused reload")
            assert process.poll() is None
            # R5 rebooted ten lab minutes ago; R4's name now points at it.
            r5 = lab.router("R5")
            r5.boot_time = r5.now() - 600
            port = next(device["port"] for device in lab.inventory()["devices"] if device["name"] == "R5")
            write_inventory(lab, path, overrides={"R4": {"port": port}})
            seen = len(reports)
            process.send_signal(signal.SIGHUP)

            def moved() -> bool:
                r4 = next(d for d in reports[-1]["devices"] if d["device"] == "R4")
                return len(reports) > seen and r4["commands"][0]["records"][0]["uptime_seconds"] < 3600

            wait_until(moved, what="R4 polled on its new host")
            wait_until(lambda: len(reports) >= seen + 3, what="more polls")
            reloaded = [reload["device"] for report in reports for reload in report["reloads"]]
            assert reloaded == ["R5"]  # R5 itself did reboot; R4 only moved
            assert json.loads(state.read_text(encoding="utf-8"))["devices"]["R4"]["uptime"] < 3600
        finally:
            stderr = stop(process, signal.SIGTERM)
        assert REFUSED in stderr and "lab.yml:" in stderr and "not UTF-8 text" in stderr
        assert "Traceback" not in stderr
        assert process.returncode == 0  # stopped by SIGTERM: the last verdict, healthy


@pytest.mark.integration  # the lab over SSH, or a subprocess
def test_serve_survives_sighup_with_any_bad_file(tmp_path: Path) -> None:
    """serve (no device contacted: --poll-interval 0): no bad inventory
    ends it on SIGHUP, decoding errors included. Each is refused with
    exactly one line naming the file, and /targets keeps the old one."""
    path = tmp_path / "inventory.yml"
    secret = tmp_path / "secret"
    secret.write_text("pw\n", encoding="utf-8")
    good = (
        f"defaults: {{credentials: {{username: netops, password: {{file: {secret}}}}}}}\n"
        "devices: [{name: R4, host: 192.0.2.4, role: branch}]\n"
    )
    path.write_text(good, encoding="utf-8")
    bad_files = {  # what is written -> what its one line says
        "not UTF-8": (b"devices: [{name: R\xe94}]\n", None, "file: not UTF-8 text"),
        "secret not UTF-8": (good.encode(), b"p\xe4ss\n", "secret is not UTF-8 text"),
        "binary": (bytes(range(256)) * 16, None, "file: not UTF-8 text"),
        "control bytes": (b"devices:\x00\x01\x02\n", None, "file: not valid YAML"),
        "nested": (b"devices: " + b"[" * 20000 + b"]" * 20000 + b"\n", None, "inventory.yml"),
        "no devices": (b"{}\n", None, "devices: missing"),
    }
    port = closed_port()
    process = spawn_serve(path, listen=f"127.0.0.1:{port}")
    stderr_lines = StderrLines(process)
    logged = stderr_lines.lines
    try:
        assert stderr_lines.serving_url() == f"http://127.0.0.1:{port}"
        for refusals, (name, (content, secret_content, says)) in enumerate(bad_files.items(), start=1):
            path.write_bytes(content)
            secret.write_bytes(secret_content or b"pw\n")
            seen = len(logged)
            process.send_signal(signal.SIGHUP)
            wait_until(lambda n=refusals: "".join(logged).count(REFUSED) == n, what=f"refusal of {name}")
            time.sleep(0.2)  # anything else it would log about this reload
            lines = [line for line in logged[seen:] if "level=error" in line or "Traceback" in line]
            assert len(lines) == 1 and str(path) in lines[0] and says in lines[0], (name, lines)
            assert process.poll() is None
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/targets", timeout=10) as response:
                assert [group["targets"] for group in json.load(response)] == [["R4"]], name
    finally:
        stderr_lines.stop()
    stderr = "".join(logged)
    assert process.returncode == 0 and "Traceback" not in stderr
    assert "\\xe4" not in stderr and "0xe4" not in stderr  # no byte of the secret quoted


def test_nothing_a_reload_raises_ends_the_loop(
    inventory: Inventory, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in adopting an inventory or in another reloader (the web
    config) is logged with its traceback; the loop and the old state stay."""
    path = tmp_path / "reloaded.yml"
    write_branch_inventory(path, "172.16.0.4", None)
    core = Monitor(inventory)

    def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    calls: list[str] = []
    try:
        monkeypatch.setattr(core, "update_inventory", broken)
        signals = SignalLoop(core, path, [lambda: calls.append("web"), broken, lambda: calls.append("after")])
        with caplog.at_level(logging.ERROR, logger="ipsec_ha_monitor.core"):
            signals.request_reload()
            assert signals.wait(1) is False
        assert core.inventory is inventory and calls == ["web", "after"]
        assert "adopting it failed" in caplog.text and "reload failed; the previous configuration stays" in caplog.text
    finally:
        core.close()


@pytest.mark.integration  # the lab over SSH
def test_probes_that_give_up_leave_one_poll_thread_per_device(tmp_path: Path) -> None:
    """Probes answered at their deadline do not pile up threads: one
    device's probes share one poll thread; a poll just ended answers the
    next probe without another."""
    with LabThread(Lab(pairs=1, branches=1, time_scale=TIME_SCALE)) as running:
        running.lab.router("R4").faults = Faults(slow_seconds=0.5)
        core = Monitor(load_inventory(write_inventory(running.lab, tmp_path / "lab.yml")))
        try:
            answers = [core.probe("R4", timeout=0.1) for _ in range(20)]
            assert not any(answer.on_time for answer in answers)
            assert sum(thread.name == "probe-R4" for thread in threading.enumerate()) == 1
            wait_until(lambda: "R4" in core.state().snapshots, 30, "the shared poll to end")
            shown = list(running.lab.router("R4").commands_received).count("show version")
            assert shown == 1
            assert core.probe("R4", timeout=5) == (core.state().snapshots["R4"], True)  # within a second: reused
            assert list(running.lab.router("R4").commands_received).count("show version") == shown
        finally:
            core.close()
