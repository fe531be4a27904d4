"""Running the lab from the command line, and steering it while it runs.

`ipsec-ha-monitor lab` runs `run_lab`; a line-based control port on
127.0.0.1 takes `trigger <scenario> [pair]` and `status`, which is what
`ipsec-ha-monitor lab trigger failover` sends (`send_control`), and
`logins` / `logins reset`: the lab's LoginCounter as JSON (benchmarks read
the device side of a login storm there).
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import sys
from pathlib import Path

from ipsec_ha_monitor.lab.lab import Lab
from ipsec_ha_monitor.lab.scenarios import SCENARIOS
from ipsec_ha_monitor.lab.topology import SA_LIFETIME_SECONDS
from ipsec_ha_monitor.lab.xe_scenarios import XE_SCENARIOS
from ipsec_ha_monitor.rf_states import RF_STATE_NAMES


def parse_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def format_address(address: tuple[str, int]) -> str:
    return f"{address[0]}:{address[1]}"


def own_command() -> list[str]:
    """How to run this very program again, from any directory and whatever
    PATH holds: the installed command's full path when that is what runs,
    else this interpreter with `-m ipsec_ha_monitor` (a virtualenv's python is kept
    as is, not resolved: its symlink is what selects the environment)."""
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.stem == "ipsec-ha-monitor" and script.is_file():
        return [os.path.abspath(script)]
    return [os.path.abspath(sys.executable) if sys.executable else "python3", "-m", "ipsec_ha_monitor"]


def trigger_command(control: tuple[str, int], scenario: str = "failover") -> str:
    """The command line that triggers `scenario` on the lab listening on `control`."""
    return shlex.join([*own_command(), "lab", "trigger", scenario, "--control-address", format_address(control)])


def status(lab: Lab) -> list[dict[str, object]]:
    rows = []
    for router in lab.routers:
        group = router.hsrp[0] if router.hsrp else None
        row: dict[str, object] = {
            "device": router.name,
            "port": lab.servers[router.name].port,
            "reachable": router.reachable and not router.management_cut,  # SSH answers
            "hsrp": group.state if group else None,
            "rf": f"{RF_STATE_NAMES.get(router.rf_my)} / peer {RF_STATE_NAMES.get(router.rf_peer)}"
            if group or router.rg
            else None,
            "uptime_seconds": int(router.uptime_seconds()),
        }
        if router.rg is not None:  # an IOS-XE box-to-box member: its group's role
            row["rg_role"] = router.rg.role.upper()
        rows.append(row)
    return rows


def login_counts(lab: Lab) -> dict[str, int]:
    """The lab's logins since its start or the last reset: how many began,
    are in progress now, were at most in progress at once, and began at
    most within any one real second."""
    logins = lab.logins
    return {
        "started": logins.started,
        "in_progress": logins.in_progress,
        "max_in_progress": logins.max_in_progress,
        "max_started_within_1s": logins.max_started_within(1.0),
    }


async def _handle(lab: Lab, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        words = (await asyncio.wait_for(reader.readline(), 10)).decode(errors="replace").split()
        if len(words) in (2, 3) and words[0] == "trigger":
            pair = lab.scenario_pair(words[1], words[2] if len(words) == 3 else None)
            lab.trigger(words[1], pair.name)
            answer = f"ok: scenario {words[1]} started on {pair.name}"
        elif words == ["status"]:
            answer = json.dumps(status(lab))
        elif words[:1] == ["logins"] and words[1:] in ([], ["reset"]):
            if words[1:] == ["reset"]:
                lab.logins.reset()
            answer = json.dumps(login_counts(lab))
        else:
            answer = "error: expected 'trigger <scenario> [pair]', 'status' or 'logins [reset]'"
    except (KeyError, ValueError, TimeoutError, asyncio.TimeoutError) as exc:
        answer = f"error: {exc.args[0] if isinstance(exc, KeyError) and exc.args else exc}"
    writer.write((answer + "\n").encode())
    await writer.drain()
    writer.close()


async def serve_control(lab: Lab, control: tuple[str, int]) -> asyncio.Server:
    """The control port (`lab trigger ...`, `lab status`) of a running lab;
    OSError with a one-line reason when it cannot listen (in use)."""
    try:
        return await asyncio.start_server(lambda r, w: _handle(lab, r, w), *control)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise OSError(f"cannot listen on {format_address(control)} (the lab's control address): {reason}") from exc


async def run_lab(
    pairs: int,
    branches: int,
    time_scale: float,
    scenario: str,
    inventory: Path | None,
    control: tuple[str, int],
    sa_lifetime: float = SA_LIFETIME_SECONDS,
    *,
    base_port: int = 0,
    latency: str = "fast",
    xe_pairs: int = 0,
) -> None:
    """The lab until SIGINT/SIGTERM. OSError (one line: the address and
    why) when a router's SSH port or the control address cannot be bound;
    ValueError for a base port leaving too few ports."""
    lab = Lab(
        pairs=pairs,
        branches=branches,
        time_scale=time_scale,
        sa_lifetime=sa_lifetime,
        base_port=base_port,
        latency=latency,
        xe_pairs=xe_pairs,
    )
    await lab.start()
    try:
        server = await serve_control(lab, control)
    except OSError:
        await lab.stop()
        raise
    try:
        if inventory is not None:
            lab.write_inventory(inventory)
        print(f"lab: {len(lab.routers)} routers on 127.0.0.1, time scale {time_scale:g}x, latency {latency}")
        for row in status(lab):
            print(f"  {row['device']:<10} port {row['port']}")
        if inventory is not None:
            print(f"inventory (with the lab's throwaway credentials): {inventory}")
        print(f"control: {format_address(control)}")
        print(f"try: {trigger_command(control)}")
        print(f"     (scenarios: {', '.join(SCENARIOS)}; status: 'lab status' with the same --control-address)")
        if xe_pairs:
            print(f"     (IOS-XE box-to-box pairs: {', '.join(XE_SCENARIOS)})")
        sys.stdout.flush()
        if scenario not in ("baseline", "xe-baseline"):
            lab.trigger(scenario)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        server.close()
        await lab.stop()


def send_control(command: str, control: tuple[str, int], timeout: float = 10.0) -> str:
    async def exchange() -> str:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(*control), timeout)
        writer.write((command + "\n").encode())
        await writer.drain()
        answer = await asyncio.wait_for(reader.readline(), timeout)
        writer.close()
        return answer.decode().strip()

    return asyncio.run(exchange())
