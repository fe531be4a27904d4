"""Every YAML file the product reads (the web config, the inventory) goes
through one bounded path: alias bombs, depth, huge numbers, FIFOs and
oversized files are refused at once, in one line naming the file, at
start-up and on reload alike, and the process stays up."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import bcrypt
import pytest
from support.inventories import write_branch_inventory
from support.processes import StderrLines, spawn_serve, stop
from support.tls import self_signed
from support.waiting import wait_until
from support.yaml_bombs import alias_bomb, measure_load

from ipsec_ha_monitor.export.web_config import WebConfigError, load_web_config
from ipsec_ha_monitor.inventory import InventoryError, load_inventory
from ipsec_ha_monitor.safe_yaml import ALIAS_BASE_NODES, YamlFileError, YamlLimits, load_yaml_file

HASH = bcrypt.hashpw(b"x", bcrypt.gensalt(rounds=4)).decode()
WEB_REFUSED = "web config reload refused, keeping the previous one"
INVENTORY_REFUSED = "inventory reload refused, keeping the previous one"
# What the measured bug did: 4-6 s and +840 MB at 6 levels, MemoryError at 7.
SECONDS, MIB = 1.0, 50


def _web_bomb(field: str, levels: int) -> str:
    return f"tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  {field}: {alias_bomb(levels)}\n"


def _inventory_bomb(levels: int) -> str:
    return (
        "defaults: {credentials: {username: u, password: {env: IPSECHA_NOT_SET}}}\n"
        f"devices:\n  - {{name: R1, host: 10.0.0.1, role: hub, expected_peers: {alias_bomb(levels)}}}\n"
    )


def _one_line_naming(path: Path, text: str) -> None:
    assert "\n" not in text.strip() and text.startswith(f"{path}:"), text[:500]
    assert len(text) < 500, text[:500]


# --- alias bombs, in a fresh process that measures the load --------------------


@pytest.mark.parametrize("levels", [6, 7])
@pytest.mark.parametrize("field", ["cert_file", "min_version"])
def test_an_alias_bomb_web_config_is_refused_at_once(tmp_path: Path, field: str, levels: int) -> None:
    path = tmp_path / "web.yml"
    path.write_text(_web_bomb(field, levels), encoding="utf-8")
    assert 340 < path.stat().st_size < 450  # the size of the files that froze the exporter (356-403 bytes)
    result = measure_load("ipsec_ha_monitor.export.web_config", "load_web_config", path)
    assert result["error"] is not None and result["error"].startswith("WebConfigError: "), result
    message = result["error"].removeprefix("WebConfigError: ")
    _one_line_naming(path, message)
    assert re.match(rf"{re.escape(str(path))}:\d+: YAML aliases expand this file past [\d,]+ nodes", message)
    assert result["seconds"] < SECONDS and result["peak_growth_mib"] < MIB, result


@pytest.mark.parametrize("levels", [6, 7])
def test_an_alias_bomb_inventory_is_refused_at_once(tmp_path: Path, levels: int) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text(_inventory_bomb(levels), encoding="utf-8")
    result = measure_load("ipsec_ha_monitor.inventory", "load_inventory", path)
    assert result["error"] is not None and result["error"].startswith("InventoryError: "), result
    message = result["error"].removeprefix("InventoryError: ")
    _one_line_naming(path, message)
    assert re.match(rf"{re.escape(str(path))}:3: file: YAML aliases expand", message), message
    assert result["seconds"] < SECONDS and result["peak_growth_mib"] < MIB, result


def test_shared_anchors_in_an_inventory_still_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Aliases are bounded, not refused: sharing one credentials mapping and
    one list of peers between devices is what anchors are for."""
    monkeypatch.setenv("IPSECHA_TEST_SHARED", "secret-value")
    peers = ", ".join(f"172.16.{n // 250}.{n % 250 + 1}" for n in range(500))
    devices = "".join(
        f"  - {{name: H{n}, host: 10.0.{n // 250}.{n % 250 + 1}, role: hub, "
        "credentials: *ops, expected_peers: *peers}\n"
        for n in range(1, 400)
    )
    path = tmp_path / "inventory.yml"
    path.write_text(
        "devices:\n"
        "  - {name: H0, host: 10.9.0.1, role: hub,\n"
        "     credentials: &ops {username: netops, password: {env: IPSECHA_TEST_SHARED}},\n"
        f"     expected_peers: &peers [{peers}]}}\n" + devices,
        encoding="utf-8",
    )
    assert 400 * 500 > ALIAS_BASE_NODES  # past the base allowance: the ratio to what is written lets it pass
    inventory = load_inventory(path)
    assert len(inventory.devices) == 400
    assert inventory.devices["H399"].credentials.password.reveal() == "secret-value"
    assert len(inventory.devices["H399"].expected_peers) == 500


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: &x [1, *x]\n", 1, "alias *x is inside the node it names: recursive YAML is refused"),
        ("a: &x {b: [*x]}\n", 1, "recursive YAML is refused"),
        ("a: " + "[" * 40 + "]" * 40 + "\n", 1, "nested too deeply: more than 32 levels"),
        ("a: &d " + "[" * 20 + "]" * 20 + "\nb: [[[[[[[[[[[[[[*d]]]]]]]]]]]]]]\n", 2, "once alias *d is expanded"),
        ("a: *nowhere\n", 1, "not valid YAML: found undefined alias 'nowhere'"),
        ("a: &" + "n" * 5000 + " [x]\nb: *" + "n" * 5000 + " \nc: *" + "m" * 5000 + "\n", 3, "undefined alias"),
        ("a: 1\n---\nb: 2\n", 2, "not valid YAML: expected a single document in the stream, but found another"),
    ],
    ids=["recursive-list", "recursive-mapping", "deep", "deep-through-alias", "undefined", "long-anchor", "two-docs"],
)
def test_what_the_composer_refuses(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "any.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(YamlFileError) as caught:
        load_yaml_file(path, YamlLimits(max_bytes=1 << 20))
    assert (caught.value.line, caught.value.path) == (line, path)
    assert message in caught.value.message and str(caught.value).startswith(f"{path}:{line}: ")
    assert len(str(caught.value)) < 500


def test_the_size_cap_is_read_past_by_one_byte_only(tmp_path: Path) -> None:
    path = tmp_path / "web.yml"
    path.write_text("{}\n" + "#" * (1 << 20), encoding="utf-8")
    with pytest.raises(WebConfigError) as caught:
        load_web_config(path)
    assert str(caught.value) == f"{path}: cannot read it: larger than 1 MiB"
    path.write_text("{}\n" + "#" * ((1 << 20) - 4) + "\n", encoding="utf-8")  # exactly 1 MiB
    assert load_web_config(path).open


# --- values are checked before they are quoted -----------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("tls_server_config: {cert_file: a.crt, key_file: a.key, min_version: DIGITS}\n", "min_version: expected"),
        ("tls_server_config: {cert_file: DIGITS, key_file: a.key}\n", "cert_file: cannot load"),
        ("basic_auth_users:\n  ? DIGITS\n  : hunter2\n", "basic_auth_users.11111"),  # over 1,024: an explicit key
        ("basic_auth_users:\n  prometheus: DIGITS\n", "basic_auth_users.prometheus: expected a bcrypt hash"),
        ("? DIGITS\n: {}\n", "unknown field"),
    ],
    ids=["min_version", "cert_file", "user-name", "hash", "top-key"],
)
def test_a_5000_digit_number_in_the_web_config_names_the_file(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "web.yml"
    path.write_text(text.replace("DIGITS", "1" * 5000).replace("HASH", HASH), encoding="utf-8")
    with pytest.raises(WebConfigError) as caught:
        load_web_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:") and field in message and "\n" not in message, message[:300]
    assert "1" * 300 not in message and "Exceeds the limit" not in message


def test_a_5000_digit_user_name_is_a_name_not_a_number(tmp_path: Path) -> None:
    path = tmp_path / "web.yml"
    path.write_text(f"basic_auth_users:\n  ? {'1' * 5000}\n  : '{HASH}'\n", encoding="utf-8")
    assert list(load_web_config(path).users) == ["1" * 5000]


def test_a_5000_digit_number_in_the_inventory_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text(
        f"lab: true\npolling: {{workers: {'9' * 5000}, login_jitter: {'9' * 5000}}}\n"
        "devices: [{name: R1, host: 127.0.0.1, role: branch, credentials: {username: u, password: p}}]\n",
        encoding="utf-8",
    )
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert str(caught.value).startswith(f"{path}:2: polling.") and len(str(caught.value)) < 300, str(caught.value)
    path.write_text(f"devices:\n  - ? {'k' * 5000}\n    : 1\n", encoding="utf-8")
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert str(caught.value).startswith(f"{path}:2: devices[0].kkk") and "(5,000 characters)" in str(caught.value)
    assert len(str(caught.value)) < 500


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ("  - {name: NAME, host: 127.0.0.2, role: branch}\n", "duplicate device name 'RRRR"),
        ("  - {name: R2, host: 127.0.0.2, role: branch}\npairs: [{name: P, members: [NAME, R2]}]\n", "is not a hub"),
    ],
    ids=["duplicate", "not-a-hub"],
)
def test_a_5000_character_name_is_cut_in_inventory_errors(tmp_path: Path, extra: str, says: str) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text(
        "lab: true\ndefaults: {credentials: {username: u, password: p}}\n"
        "devices:\n  - {name: NAME, host: 127.0.0.1, role: branch}\n".replace("NAME", "R" * 5000)
        + extra.replace("NAME", "R" * 5000),
        encoding="utf-8",
    )
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    message = str(caught.value)
    assert says in message and "(5,000 characters)" in message and len(message) < 600, message[:700]


def test_a_web_config_key_given_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "web.yml"
    path.write_text(f"basic_auth_users:\n  bob: '{HASH}'\n  bob: '{HASH}'\n", encoding="utf-8")
    with pytest.raises(WebConfigError, match=r"web\.yml:3: basic_auth_users\.bob: given twice"):
        load_web_config(path)


# --- FIFOs: refused at once, never waited on -------------------------------------


def _returns_at_once(call: Callable[[], object], fifo: Path) -> BaseException | None:
    """What `call()` raised (None if nothing), failing if it is still
    blocked after 10 s: then a writer is opened on `fifo` to free it."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # the blocked open() returns
        worker.join(10)
        pytest.fail(f"blocked on the FIFO {fifo}")
    return outcome[0]


@pytest.mark.parametrize("field", ["cert_file", "key_file"])
def test_a_fifo_as_a_tls_file_is_refused_at_once(tmp_path: Path, field: str) -> None:
    cert, key = self_signed(tmp_path)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    files = {"cert_file": cert.name, "key_file": key.name, field: "pipe"}
    path = tmp_path / "web.yml"
    path.write_text(f"tls_server_config: {{cert_file: {files['cert_file']}, key_file: {files['key_file']}}}\n")
    error = _returns_at_once(lambda: load_web_config(path), fifo)
    assert isinstance(error, WebConfigError)
    assert str(error) == (
        f"{path}:1: tls_server_config.{field}: cannot load {fifo}: a FIFO (named pipe), not a regular file"
    )


def test_a_device_is_refused_and_a_symlink_to_a_certificate_is_followed(tmp_path: Path) -> None:
    """/dev/zero never ends: refused before a byte is read. certbot's live/
    folder is symlinks to regular files: those load."""
    with pytest.raises(WebConfigError) as caught:
        load_web_config("/dev/zero")
    assert str(caught.value) == "/dev/zero: cannot read it: a device, not a regular file"
    cert, key = self_signed(tmp_path)
    (tmp_path / "live.crt").symlink_to(cert)
    path = tmp_path / "web.yml"
    path.write_text(f"tls_server_config: {{cert_file: /dev/zero, key_file: {key.name}}}\n", encoding="utf-8")
    with pytest.raises(WebConfigError, match="cert_file: cannot load /dev/zero: a device, not a regular file"):
        load_web_config(path)
    path.write_text(f"tls_server_config: {{cert_file: live.crt, key_file: {key.name}}}\n", encoding="utf-8")
    assert load_web_config(path).tls is not None


def test_a_fifo_as_the_yaml_file_or_a_secret_file_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    web = _returns_at_once(lambda: load_web_config(fifo), fifo)
    assert str(web) == f"{fifo}: cannot read it: a FIFO (named pipe), not a regular file"
    inventory = _returns_at_once(lambda: load_inventory(fifo), fifo)
    assert str(inventory) == f"{fifo}:0: file: cannot read it: a FIFO (named pipe), not a regular file"
    path = tmp_path / "inventory.yml"
    path.write_text(
        "defaults: {credentials: {username: u, password: {file: pipe}}}\n"
        "devices: [{name: R1, host: 10.0.0.1, role: branch}]\n",
        encoding="utf-8",
    )
    secret = _returns_at_once(lambda: load_inventory(path), fifo)
    assert isinstance(secret, InventoryError) and "a FIFO (named pipe), not a regular file" in str(secret)


# --- the process: start-up and reload --------------------------------------------


def _peak_rss_mib(process: subprocess.Popen[str], timeout: float = 60) -> float:
    """Reap `process` (it must end by itself within `timeout` s) and
    return its peak RSS, from wait4's resource usage."""
    try:
        wait_until(lambda: _zombie(process.pid), timeout, "serve to end")  # ended, not yet reaped
    except AssertionError:
        stop(process)
        raise
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    return usage.ru_maxrss / 1024


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return False


def _vm_rss_mib(pid: int) -> float:
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


@pytest.mark.integration  # `serve` as a process
def test_serve_refuses_to_start_on_an_alias_bomb_or_a_fifo(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    write_branch_inventory(inventory)
    web = tmp_path / "web.yml"
    web.write_text("", encoding="utf-8")  # refused by the same path: the cost of starting and refusing
    baseline = spawn_serve(inventory, "--web.config.file", str(web))
    base_mib = _peak_rss_mib(baseline)
    assert baseline.returncode == 2, stop(baseline)
    stop(baseline)
    os.mkfifo(tmp_path / "pipe")
    cases = {
        "web bomb": (web, _web_bomb("cert_file", 7), "YAML aliases expand"),
        "web fifo": (web, "tls_server_config: {cert_file: pipe, key_file: pipe}\n", "a FIFO (named pipe)"),
        "inventory bomb": (tmp_path / "bomb.yml", _inventory_bomb(7), "YAML aliases expand"),
    }
    for name, (path, text, says) in cases.items():
        path.write_text(text, encoding="utf-8")
        config = path if path.name == "bomb.yml" else inventory
        web_args = ("--web.config.file", str(web)) if path == web else ()
        started = time.monotonic()
        process = spawn_serve(config, *web_args)
        peak_mib = _peak_rss_mib(process)
        seconds = time.monotonic() - started
        stderr = stop(process)
        assert process.returncode == 2, (name, stderr)
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and str(path) in lines[0] and says in lines[0], (name, stderr)
        assert peak_mib < base_mib + MIB, (name, peak_mib, base_mib)
        assert seconds < 60, (name, seconds)  # a process start on a loaded box; the load itself is measured above


def _logged(lines: list[str], seen: int, text: str) -> Callable[[], bool]:
    return lambda: any(text in line for line in lines[seen:])


@pytest.mark.integration  # `serve` as a process
def test_a_bad_reload_keeps_the_old_config_and_the_process_answers(tmp_path: Path) -> None:
    """SIGHUP and POST /-/reload with a bomb or a FIFO: refused at once in
    one line, the previous config kept, /metrics answering throughout, and
    a good file adopted afterwards (a FIFO once hung every later reload)."""
    inventory = tmp_path / "inventory.yml"
    write_branch_inventory(inventory)
    good_inventory = inventory.read_text(encoding="utf-8")
    cert, key = self_signed(tmp_path)
    os.mkfifo(tmp_path / "pipe")
    web = tmp_path / "web.yml"
    web.write_text("{}\n", encoding="utf-8")
    process = spawn_serve(inventory, "--web.config.file", str(web), "--web.enable-lifecycle")
    stderr_lines = StderrLines(process)
    logged = stderr_lines.lines
    try:
        url = stderr_lines.serving_url()
        assert url.startswith("http://"), url

        def get(path: str) -> int:
            with urllib.request.urlopen(url + path, timeout=10) as response:
                response.read()
                return response.status

        def post_reload() -> tuple[int, str, float]:
            started = time.monotonic()
            request = urllib.request.Request(url + "/-/reload", method="POST")
            try:
                with urllib.request.urlopen(request, timeout=20) as response:
                    return response.status, response.read().decode(), time.monotonic() - started
            except urllib.error.HTTPError as error:
                return error.code, error.read().decode(), time.monotonic() - started

        assert get("/metrics") == 200
        rss_before = _vm_rss_mib(process.pid)
        bad = {
            "cert_file bomb, 7 levels": (web, _web_bomb("cert_file", 7), "YAML aliases expand", WEB_REFUSED),
            "min_version bomb, 6 levels": (web, _web_bomb("min_version", 6), "YAML aliases expand", WEB_REFUSED),
            "FIFO cert_file": (web, f"tls_server_config: {{cert_file: pipe, key_file: {key.name}}}\n", "FIFO",
                               WEB_REFUSED),
            "FIFO key_file": (web, f"tls_server_config: {{cert_file: {cert.name}, key_file: pipe}}\n", "FIFO",
                              WEB_REFUSED),
            "inventory bomb": (inventory, _inventory_bomb(7), "YAML aliases expand", INVENTORY_REFUSED),
        }  # fmt: skip
        for number, (name, (path, text, says, refused)) in enumerate(bad.items()):
            path.write_text(text, encoding="utf-8")
            seen = len(logged)
            if number % 2 == 0:  # POST /-/reload: the answer says why
                status, body, seconds = post_reload()
                assert status == 500 and str(path) in body and says in body, (name, status, body)
                assert seconds < 5, (name, seconds)  # an HTTP round trip on a loaded box; at once in practice
                wait_until(_logged(logged, seen, refused), what=f"{name} logged")
            else:  # SIGHUP: the log says why
                process.send_signal(signal.SIGHUP)
                wait_until(_logged(logged, seen, refused), what=f"refusal of {name}")
            time.sleep(0.2)  # any further error lines of the same reload
            errors = [line for line in logged[seen:] if re.search(r" ERROR |level=error|Traceback", line)]
            assert len(errors) == 1 and str(path) in errors[0] and says in errors[0], (name, errors)
            assert get("/metrics") == 200, name
            assert process.poll() is None, name
            path.write_text(good_inventory if path == inventory else "{}\n", encoding="utf-8")
        assert _vm_rss_mib(process.pid) - rss_before < MIB
        # Later reloads are not stuck behind the FIFO: a good pair of files is adopted.
        status, body, _ = post_reload()
        assert (status, body) == (200, "reloaded\n")
        assert get("/metrics") == 200
    finally:
        stderr_lines.stop()
    stderr = stderr_lines.text()
    assert process.returncode == 0 and "Traceback" not in stderr and "MemoryError" not in stderr
