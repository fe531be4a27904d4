"""`ipsec-ha-monitor demo`: the simulated lab and the exporter over it, with
no configuration at all (the embedded default).

The pace. The exporter polls a device DEMO_POLL_INTERVAL (2 s) after its
previous poll of it ended, so a device is polled every 2 s + one poll's
duration: 2.2-2.5 s here, up to about 3 s for the login after a reload.
Every scenario step (the wait between two changes of a failover: HSRP Init
before the reload, the reload, back at INITIALIZATION, NEGOTIATION, STANDBY
COLD, COLD-BULK, then STANDBY HOT) lasts at least DEMO_STEP_SECONDS = 7 s of
real time (Lab's min_step_seconds), whatever its length in lab seconds at
DEMO_TIME_SCALE. A 7-s window holds at least 2 polls of each device as long
as they come at most 3.5 s apart (a poll, login included, under 1.5 s): every
state of a failover shows in two consecutive polls or more
(tests/test_demo.py watches it happen over SSH). A failover plays in
6 steps x 7 s = 42 s. The exporter runs on the lab's clock (its time scale
is DEMO_TIME_SCALE, as `serve --time.scale` would set it): the hour a
reload keeps a pair `recovering` passes in 6 real minutes.
"""

from __future__ import annotations

import contextlib
import shlex
import socket
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ipsec_ha_monitor.clock import Clock
from ipsec_ha_monitor.inventory import load_inventory
from ipsec_ha_monitor.serve import parse_listen_address, run_exporter

if TYPE_CHECKING:
    from ipsec_ha_monitor.lab import Lab

DEMO_TIME_SCALE = 10.0  # lab seconds per real second: uptimes and SA lifetimes run 10x
DEMO_POLL_INTERVAL = 2.0  # seconds between the end of a device's poll and its next one
# The shortest a scenario step lasts, in real seconds: 2 polls 3.5 s apart.
DEMO_STEP_SECONDS = 3.5 * DEMO_POLL_INTERVAL
DEMO_SYSLOG_ADDRESS = "127.0.0.1:0"  # where the demo's exporter takes the lab's syslog (0: a free port)


def demo_lab(base_port: int = 0, syslog_to: tuple[str, int] | None = None) -> Lab:
    """The demo's lab: one hub pair, three branches, at the demo's pace;
    with `syslog_to`, every router sends its syslog there."""
    from ipsec_ha_monitor.lab import Lab

    return Lab(
        pairs=1,
        branches=3,
        time_scale=DEMO_TIME_SCALE,
        base_port=base_port,
        min_step_seconds=DEMO_STEP_SECONDS,
        syslog_to=syslog_to,
    )


def free_syslog_port(host: str) -> int:
    """A port free for UDP and TCP on `host` now (the lab must know where to
    send before the exporter binds it; the exporter says so if it was taken
    meanwhile)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(20):
        with socket.socket(family, socket.SOCK_DGRAM) as udp, socket.socket(family, socket.SOCK_STREAM) as tcp:
            udp.bind((host, 0))
            port = udp.getsockname()[1]
            try:
                tcp.bind((host, port))
            except OSError:
                continue
            return int(port)
    raise OSError(f"no port free for both UDP and TCP on {host}")


def check_command(inventory: Path) -> str:
    """The `check` command line for the demo's inventory, runnable as
    printed from another terminal (full path, the demo's time scale)."""
    from ipsec_ha_monitor.lab.control import own_command

    return shlex.join(
        [*own_command(), "check", "--config.file", str(inventory), "--time.scale", f"{DEMO_TIME_SCALE:g}"]
    )


def demo(listen: str, control: str, *, base_port: int = 0, syslog_listen: str = DEMO_SYSLOG_ADDRESS) -> int:
    """The lab (baseline, three branches) and the exporter over it, the
    routers' syslog on (port 0: any free one). The caller has made sure the
    lab can run (lab.require_lab)."""
    from ipsec_ha_monitor.lab import SCENARIOS, LabThread
    from ipsec_ha_monitor.lab.control import parse_address, serve_control, trigger_command

    try:
        address = parse_listen_address(listen)
        control_address = parse_address(control)
        syslog = parse_listen_address(syslog_listen)
        if not syslog[0] or syslog[0] == "::":
            raise ValueError(f"the lab sends its syslog to one address: give a host, got {syslog_listen!r}")
        if syslog[1] == 0:
            syslog = (syslog[0], free_syslog_port(syslog[0]))
        lab = demo_lab(base_port, syslog_to=syslog)
    except ValueError as exc:
        print(f"ipsec-ha-monitor demo: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"ipsec-ha-monitor demo: {exc}", file=sys.stderr)
        return 1
    with contextlib.ExitStack() as stack:
        try:
            running = stack.enter_context(LabThread(lab))
        except OSError as exc:  # a router's SSH port in use
            print(f"ipsec-ha-monitor demo: {exc}", file=sys.stderr)
            return 1
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="ipsecha-demo-"))
        try:
            control_server = running.run(serve_control(lab, control_address))
        except OSError as exc:
            print(f"ipsec-ha-monitor demo: {exc}", file=sys.stderr)
            return 1
        inventory_path = lab.write_inventory(Path(folder) / "lab.yml")
        inventory = load_inventory(inventory_path)
        base = f"http://{address[0]}:{address[1]}"
        ports = ", ".join(f"{name} {server.port}" for name, server in lab.servers.items())
        others = ", ".join(name for name in SCENARIOS if name != "failover")
        print(
            f"lab: {len(lab.routers)} routers over SSH on 127.0.0.1 ({ports}): R1, R2 hub pair, R4-R6 branches\n"
            f"  {base}/            health table\n"
            f"  {base}/metrics     every device\n"
            f"  {base}/probe?target=R1\n"
            f"  {base}/targets     Prometheus HTTP service discovery\n"
            f"syslog: the routers send theirs to udp {syslog[0]}:{syslog[1]} (from 127.0.1.x): "
            "a failover is polled as it happens\n"
            f"try: {trigger_command(control_address)}\n"
            f"     (or {others}); each step lasts {DEMO_STEP_SECONDS:g} s or more, "
            f"polled every {DEMO_POLL_INTERVAL:g} s\n"
            f"inventory: {inventory_path} (removed when the demo stops)\n"
            f"check: {check_command(inventory_path)}\n"
            "Ctrl-C stops the demo.",
            flush=True,
        )
        try:
            # The exporter on the lab's clock (--time.scale, as the docs ask):
            # uptimes, the reload hour and the boot label all in lab seconds.
            clock = Clock(DEMO_TIME_SCALE)
            return run_exporter(inventory, address, clock.product(DEMO_POLL_INTERVAL), None, clock=clock, syslog=syslog)
        finally:
            control_server.close()
