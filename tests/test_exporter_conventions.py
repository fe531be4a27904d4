"""The exporter as Prometheus users expect exporters to be, over real HTTP
on 127.0.0.1 and the lab over SSH: /-/healthy, /-/ready (503 until every
device's first poll ended), POST /-/reload (403 unless enabled, as in
Prometheus; what SIGHUP does, with the reason when refused), HEAD on every
GET path, basic auth on every path, ipsecha_build_info and the process_* /
python_* metrics from prometheus_client's collectors, /probe's
probe_success and probe_duration_seconds and its `module` check, reload
counters from 0, RF HELP texts listing every code, and the landing page
(refreshing itself, each pair's recent events, escaped)."""

from __future__ import annotations

import base64
import http.client
import json
import platform
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
from support.exposition import parse_samples
from support.exposition import sample as get
from support.inventories import write_branch_inventory, write_inventory
from support.processes import start_serve, stop
from support.prometheus import PROMTOOL
from support.snapshots import snapshot_of
from support.waiting import wait_until

from ipsec_ha_monitor import __version__
from ipsec_ha_monitor.core import EVENTS_PER_PAIR
from ipsec_ha_monitor.export.exporter import Exporter
from ipsec_ha_monitor.export.server import PROBE_MODULES, ExporterServer
from ipsec_ha_monitor.export.web_config import load_web_config
from ipsec_ha_monitor.inventory import load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.lab.router import Faults
from ipsec_ha_monitor.reloads import RELOAD_CAUSES
from ipsec_ha_monitor.rf_states import RF_STATE_NAMES
from ipsec_ha_monitor.serve import Reloader, parse_listen_address
from ipsec_ha_monitor.snapshot import CommandResult, Snapshot, Status

pytestmark = pytest.mark.integration  # the lab over SSH, the exporter's HTTP server

PASSWORD = "s3cret-Passw0rd"
DEVICES = ("R1", "R2", "R4")


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with LabThread(Lab(pairs=1, branches=1, time_scale=20)) as running:
        yield running.lab


@pytest.fixture(autouse=True)
def no_faults(lab: Lab) -> Iterator[None]:
    yield
    for router in lab.routers:
        router.faults = Faults()


class Answer:
    def __init__(self, raw: bytes) -> None:
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}

    @property
    def text(self) -> str:
        return self.body.decode()


class Served:
    """An exporter over the lab on 127.0.0.1: background polling every
    `interval` seconds (None: only /probe polls), POST /-/reload wired as
    serve wires it."""

    def __init__(
        self,
        lab: Lab,
        folder: Path,
        *,
        interval: float | None = None,
        enable_lifecycle: bool = False,
        web_file: Path | None = None,
    ) -> None:
        self.lab = lab
        self.path = write_inventory(lab, folder / "lab.yml")
        self.exporter = Exporter(load_inventory(self.path))
        web = load_web_config(web_file) if web_file is not None else None
        self.server = ExporterServer(("127.0.0.1", 0), self.exporter, web, enable_lifecycle=enable_lifecycle)
        self.server.reload = Reloader(
            self.exporter.monitor, str(self.path), self.server, str(web_file) if web_file else None
        )
        if interval is not None:
            self.exporter.start(interval)
        self.server.serve_in_thread()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.exporter.stop()

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> Answer:
        """One request on its own connection, read to the server's close
        (a HEAD answer's body is whatever the server wrongly sent)."""
        lines = [f"{method} {path} HTTP/1.1", "Host: x", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        host, port = self.server.server_address[:2]
        with socket.create_connection((str(host), port), timeout=30) as connection:
            connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            data = b""
            while chunk := connection.recv(65536):
                data += chunk
        return Answer(data)

    def targets(self) -> list[str]:
        return [group["targets"][0] for group in json.loads(self.request("GET", "/targets").body)]


@pytest.fixture
def served(lab: Lab, tmp_path: Path) -> Iterator[Served]:
    served = Served(lab, tmp_path)
    try:
        yield served
    finally:
        served.close()


def promtool_check(page: bytes) -> None:
    if PROMTOOL is None:
        return
    result = subprocess.run([PROMTOOL, "check", "metrics"], input=page, capture_output=True, timeout=60, check=False)
    findings = (result.stdout + result.stderr).decode(errors="replace").strip()
    assert result.returncode == 0 and not findings, f"promtool exit {result.returncode}:\n{findings[:3000]}"


# --- /-/healthy, /-/ready ------------------------------------------------------------------


def test_ready_only_once_every_device_was_polled(lab: Lab, tmp_path: Path) -> None:
    lab.router("R4").faults = Faults(slow_seconds=0.5)  # R4's first poll takes a few seconds
    served = Served(lab, tmp_path, interval=5)
    try:
        early = served.request("GET", "/-/ready")
        assert early.status == 503, early.text
        assert "not ready" in early.text
        assert served.request("GET", "/-/healthy").status == 200  # serving, if not ready
        wait_until(lambda: served.request("GET", "/-/ready").status == 200, 30, "/-/ready 200")
        samples = parse_samples(served.request("GET", "/metrics").text)
        assert {dict(key)["device"] for key in samples["ipsecha_device_up"]} == set(DEVICES)
        ready = served.request("GET", "/-/ready")
        assert ready.text == "ipsec-ha-monitor is Ready.\n"
        # The landing page refreshes every poll interval.
        assert "<meta http-equiv='refresh' content='5'>" in served.request("GET", "/").text
    finally:
        served.close()


def test_healthy_and_ready_at_once_without_background_polling(served: Served) -> None:
    healthy = served.request("GET", "/-/healthy")
    assert (healthy.status, healthy.text) == (200, "ipsec-ha-monitor is Healthy.\n")
    assert served.request("GET", "/-/ready").status == 200  # /probe polls on demand
    assert not served.exporter.monitor.state().snapshots  # nothing was polled for it
    # No background polling: the landing page refreshes every 10 s.
    assert "<meta http-equiv='refresh' content='10'>" in served.request("GET", "/").text


# --- HEAD, methods ---------------------------------------------------------------------------


def test_head_answers_every_get_path_with_the_same_headers_and_no_body(served: Served) -> None:
    served.exporter.monitor.probe_reuse_seconds = 60  # /probe answers from one poll: the same body
    paths = ["/targets", "/-/healthy", "/-/ready", "/", "/probe?target=R4", "/nope", "/probe?target=R4&module=nope"]
    served.request("GET", "/probe?target=R4")
    for path in paths:
        got = served.request("GET", path)
        head = served.request("HEAD", path)
        assert head.status == got.status, path
        assert head.body == b"", (path, head.body[:200])
        assert int(head.headers["content-length"]) > 0, path
        if path.startswith("/probe") and got.status == 200:  # probe_duration_seconds varies in length
            assert abs(int(head.headers["content-length"]) - len(got.body)) < 30, path
            continue
        assert head.headers["content-length"] == got.headers["content-length"] == str(len(got.body)), path
        assert head.headers["content-type"] == got.headers["content-type"], path

    # /metrics: rendered at most once a second, so the two may differ in
    # the process metrics; one pair in a row agrees.
    def agree() -> bool:
        head, got = served.request("HEAD", "/metrics"), served.request("GET", "/metrics")
        assert head.status == 200 and head.body == b"" and head.headers["content-type"].startswith("text/plain")
        return head.headers["content-length"] == str(len(got.body))

    wait_until(agree, 10, "HEAD and GET /metrics of the same length")


def test_wrong_methods(served: Served) -> None:
    answer = served.request("GET", "/-/reload")
    assert answer.status == 405 and answer.headers["allow"] == "POST, PUT", answer.text
    answer = served.request("POST", "/metrics")
    assert answer.status == 405 and answer.headers["allow"] == "GET, HEAD"
    assert served.request("DELETE", "/metrics").status == 501


# --- /-/reload -------------------------------------------------------------------------------


def test_reload_is_forbidden_unless_enabled(served: Served) -> None:
    write_inventory(served.lab, served.path, drop=("R4",))
    answer = served.request("POST", "/-/reload")
    assert (answer.status, answer.text) == (403, "Lifecycle API is not enabled.\n")
    assert served.targets() == list(DEVICES)  # nothing reloaded


def test_reload_applies_a_changed_inventory_and_refuses_a_bad_one(lab: Lab, tmp_path: Path) -> None:
    served = Served(lab, tmp_path, enable_lifecycle=True)
    try:
        assert served.request("POST", "/-/reload").status == 200  # unchanged: fine
        write_inventory(lab, served.path, drop=("R4",))
        answer = served.request("POST", "/-/reload")
        assert (answer.status, answer.text) == (200, "reloaded\n")
        assert served.targets() == ["R1", "R2"]
        served.path.write_bytes(b"devices: [{name: R\xe94}]\n")
        answer = served.request("PUT", "/-/reload")  # Prometheus takes PUT too
        assert answer.status == 500
        assert answer.text.count("\n") == 1 and str(served.path) in answer.text and "not UTF-8" in answer.text
        assert served.targets() == ["R1", "R2"]  # the previous inventory stays
        served.path.write_text("devices: []\n", encoding="utf-8")
        answer = served.request("POST", "/-/reload")
        assert answer.status == 500 and "devices" in answer.text and answer.text.count("\n") == 1
        assert served.targets() == ["R1", "R2"]
    finally:
        served.close()


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_basic_auth_covers_every_path_and_reload_rereads_the_web_config(lab: Lab, tmp_path: Path) -> None:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    web_file = tmp_path / "web.yml"
    web_file.write_text(f"basic_auth_users:\n  prometheus: '{hashed}'\n", encoding="utf-8")
    served = Served(lab, tmp_path, enable_lifecycle=True, web_file=web_file)
    auth = _basic("prometheus", PASSWORD)
    try:
        for method, path in (("GET", "/-/healthy"), ("GET", "/-/ready"), ("HEAD", "/metrics"), ("POST", "/-/reload")):
            answer = served.request(method, path)
            assert answer.status == 401 and "www-authenticate" in answer.headers, (method, path)
            assert served.request(method, path, auth).status == 200, (method, path)
        # A second user through POST /-/reload; then a bad file is refused and both stay.
        other = bcrypt.hashpw(b"other-Passw0rd", bcrypt.gensalt(rounds=4)).decode()
        web_file.write_text(f"basic_auth_users:\n  prometheus: '{hashed}'\n  grafana: '{other}'\n", encoding="utf-8")
        assert served.request("GET", "/-/healthy", _basic("grafana", "other-Passw0rd")).status == 401
        assert served.request("POST", "/-/reload", auth).status == 200
        assert served.request("GET", "/-/healthy", _basic("grafana", "other-Passw0rd")).status == 200
        web_file.write_text("basic_auth_users: [not, a, mapping]\n", encoding="utf-8")
        answer = served.request("POST", "/-/reload", auth)
        assert answer.status == 500 and str(web_file) in answer.text and answer.text.count("\n") == 1, answer.text
        assert served.request("GET", "/-/healthy", _basic("grafana", "other-Passw0rd")).status == 200
    finally:
        served.close()


# --- /probe ----------------------------------------------------------------------------------


def test_probe_success_and_duration(served: Served) -> None:
    served.exporter.monitor.probe_reuse_seconds = 0  # every probe polls
    answer = served.request("GET", "/probe?target=R4")
    assert answer.status == 200
    promtool_check(answer.body)
    samples = parse_samples(answer.text)
    assert get(samples, "probe_success") == 1 and get(samples, "ipsecha_device_up", device="R4", pair="") == 1
    assert 0 < get(samples, "probe_duration_seconds") < 10  # type: ignore[operator]
    assert "process_" not in answer.text and "ipsecha_build_info" not in answer.text  # /metrics only
    served.lab.router("R4").faults = Faults(slow_seconds=0.3, garbage=True)  # answers, but no IOS text
    answer = served.request("GET", "/probe?target=R4")
    samples = parse_samples(answer.text)
    assert answer.status == 200 and get(samples, "probe_success") == 0
    assert get(samples, "ipsecha_device_up", device="R4", pair="") == 0
    assert get(samples, "probe_duration_seconds") >= 0.3  # type: ignore[operator]


def test_probe_modules(served: Served) -> None:
    served.exporter.monitor.probe_reuse_seconds = 0
    r4 = served.lab.router("R4")
    before = len(r4.commands_received)
    for query in ("module=nope", "module=ipsecha&module=ipsecha", "module=http_2xx"):
        answer = served.request("GET", f"/probe?target=R4&{query}")
        assert answer.status == 400, query
        assert "unknown module" in answer.text and "ipsecha" in answer.text, answer.text
    assert "'nope'" in served.request("GET", "/probe?target=R4&module=nope").text
    assert len(r4.commands_received) == before  # nothing contacted
    assert PROBE_MODULES == ("ipsecha",)
    for query in ("module=ipsecha", "module=", ""):
        answer = served.request("GET", f"/probe?target=R4&{query}")
        assert answer.status == 200 and "probe_success 1\n" in answer.text, query


# --- /metrics: self metrics, counters from 0, HELP -------------------------------------------


def test_build_info_process_metrics_and_reload_counters_from_zero(served: Served) -> None:
    assert served.request("GET", "/probe?target=R4").status == 200
    page = served.exporter.metrics_page(max_age=0)
    promtool_check(page)
    samples = parse_samples(page.decode())
    assert get(samples, "ipsecha_build_info", version=__version__, python_version=platform.python_version()) == 1
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds"):
        assert get(samples, name) is not None and get(samples, name) > 0, name  # type: ignore[operator]
    assert samples["python_info"] and samples["python_gc_objects_collected_total"]
    # R4 polled once: both reload series and every cause at 0, so the first reload is an increase.
    for expected in ("false", "true"):
        assert get(samples, "ipsecha_reloads_total", device="R4", pair="", expected=expected) == 0
    for cause in RELOAD_CAUSES:
        assert get(samples, "ipsecha_reloads_by_cause_total", device="R4", pair="", cause=cause) == 0
    # Never polled: no series for R1 (the probe-only exporter has no data on it).
    assert get(samples, "ipsecha_reloads_total", device="R1", pair="HUB-PAIR-1", expected="false") is None


def test_the_rf_state_help_lists_every_code(served: Served) -> None:
    text = served.request("GET", "/metrics").text
    every = [f"{code} {name}" for code, name in sorted(RF_STATE_NAMES.items())]
    for metric in ("ipsecha_redundancy_my_state", "ipsecha_redundancy_peer_state"):
        (line,) = [line for line in text.splitlines() if line.startswith(f"# HELP {metric} ")]
        listed = line.split(": ", 1)[1].split(", ")
        assert listed == every, line


# --- the landing page ------------------------------------------------------------------------


def test_recent_events_are_bounded_newest_first_and_escaped(served: Served) -> None:
    exporter, lab = served.exporter, served.lab
    start = time.time() - 100

    def failing(at: float, error: str) -> Snapshot:
        return Snapshot("R4", "", "branch", at, 0.1, (CommandResult("show version", Status.TIMEOUT, error=error),))

    # Failing the same way three polls in a row is one event.
    for index in range(3):
        exporter.record({"R4": failing(start + index, "no prompt")})
    assert [event.kind for event in exporter.monitor.events()[""]] == ["poll_failed"]
    # Up, failing, up, ...: an event each, the oldest dropped past EVENTS_PER_PAIR.
    for index in range(3, 3 + 2 * EVENTS_PER_PAIR):
        if index % 2:
            exporter.record({"R4": snapshot_of(lab.router("R4"), started_at=start + index)})
        else:
            exporter.record({"R4": failing(start + index, f"<script>alert({index})</script> & more")})
    events = exporter.monitor.events()[""]
    assert len(events) == EVENTS_PER_PAIR
    assert [event.at for event in events] == sorted((event.at for event in events), reverse=True)
    assert events[0].at == start + 2 + 2 * EVENTS_PER_PAIR + 0.1  # the newest first
    page = served.request("GET", "/").text
    assert "<script>" not in page and "&lt;script&gt;alert(" in page and "&amp; more" in page
    section = page.split("<h3>devices in no pair</h3>")[1]
    items = re.findall(r"<li>(.*?)</li>", section)
    assert len(items) == EVENTS_PER_PAIR
    assert "R4: answers again" in items[0] or "R4: poll failed" in items[0]
    assert "<h3>HUB-PAIR-1</h3><p>none yet</p>" in page


def test_the_landing_page_lists_a_failover(tmp_path: Path) -> None:
    with LabThread(Lab(pairs=1, branches=1, time_scale=20)) as running:
        served = Served(running.lab, tmp_path, interval=0.3)
        try:
            wait_until(lambda: served.request("GET", "/-/ready").status == 200, 30, "ready")
            page = served.request("GET", "/").text
            assert "<meta http-equiv='refresh' content='2'>" in page  # at least 2 s
            running.trigger("failover")
            wanted = ("switchover: R1 took over from R2", "R2 reloaded (UNEXPECTED", "R2: poll failed", "R2: answers")

            def listed() -> str:
                text = served.request("GET", "/").text
                return text if all(want in text for want in wanted) else ""

            page = wait_until(listed, 90, "the failover's events on the landing page", 0.2)
            pair = page.split("<h3>HUB-PAIR-1</h3>")[1].split("<h3>")[0]
            shown = re.findall(r"<li>(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC: (.*?)</li>", pair)
            assert len(shown) >= len(wanted) and all(any(want in text for _, text in shown) for want in wanted)
            assert [at for at, _ in shown] == sorted((at for at, _ in shown), reverse=True)  # newest first
            events = served.exporter.monitor.events()["HUB-PAIR-1"]
            assert [event.at for event in events] == sorted((event.at for event in events), reverse=True)
        finally:
            served.close()


# --- the listen address ----------------------------------------------------------------------


def test_listen_addresses() -> None:
    assert parse_listen_address(":9477") == ("", 9477)  # every interface
    assert parse_listen_address("127.0.0.1:9477") == ("127.0.0.1", 9477)
    assert parse_listen_address("[::1]:9477") == ("::1", 9477)
    assert parse_listen_address("[::]:0") == ("::", 0)
    for bad in ("9477", "::1:9477", "host:port", ":70000", ""):
        with pytest.raises(ValueError, match=r"HOST:PORT|brackets"):
            parse_listen_address(bad)


def test_http_client_sees_head_as_it_should(served: Served) -> None:
    """A stock client on a kept-alive connection: HEAD then GET on one
    connection, so a body sent after a HEAD would be read as the next
    answer and break it."""
    host, port = served.server.server_address[:2]
    connection = http.client.HTTPConnection(str(host), port, timeout=30)
    try:
        for path in ("/-/healthy", "/targets", "/"):
            connection.request("HEAD", path)
            head = connection.getresponse()
            assert head.status == 200 and head.read() == b""
            connection.request("GET", path)
            got = connection.getresponse()
            body = got.read()
            assert got.status == 200 and head.getheader("Content-Length") == str(len(body)), path
    finally:
        connection.close()


def test_serve_enables_the_lifecycle_api_by_flag(tmp_path: Path) -> None:
    """`serve --web.enable-lifecycle` as a process: POST /-/reload adopts
    the changed inventory; without the flag it is 403. No device is
    contacted (--poll-interval 0)."""
    path = write_branch_inventory(tmp_path / "inventory.yml")
    for flag, status in ((["--web.enable-lifecycle"], 200), ([], 403)):
        write_branch_inventory(path)
        process, address = start_serve(path, "0", *flag)
        try:
            path.write_text(path.read_text(encoding="utf-8").replace("name: R4", "name: R9"), encoding="utf-8")
            request = urllib.request.Request(f"http://{address}/-/reload", method="POST")
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    answered = response.status
            except urllib.error.HTTPError as error:
                answered = error.code
            assert answered == status, flag
            with urllib.request.urlopen(f"http://{address}/targets", timeout=10) as response:
                targets = [group["targets"][0] for group in json.load(response)]
            assert targets == (["R9"] if status == 200 else ["R4"]), flag
        finally:
            stop(process)
        assert process.returncode == 0
