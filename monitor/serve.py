"""`ipsec-ha-monitor serve`: the Prometheus exporter over an inventory, and
`ipsec-ha-monitor demo`: the same over the simulated lab, with no
configuration at all.

serve polls every device in the background every --poll-interval seconds
(never with 0: replicas that Prometheus shards over /probe) and serves
/metrics from the latest snapshots, /probe?target= (one device, now),
/targets and /. SIGHUP reloads the inventory (healthy sessions stay) and
the web config (TLS and users for new connections and requests); a bad
file is refused with one line naming it and the old one kept. SIGINT /
SIGTERM stop it. HTTP limits: see monitor/export/server.py.
"""

from __future__ import annotations

import logging
import math
import sys
import tempfile
from pathlib import Path

from monitor.core import SignalLoop
from monitor.export.exporter import Exporter
from monitor.export.server import DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PROBES_PER_TARGET, ExporterServer
from monitor.export.web_config import WebConfig, load_web_config
from monitor.inventory import Inventory, InventoryError, load_inventory

log = logging.getLogger(__name__)


def parse_listen_address(text: str) -> tuple[str, int]:
    """HOST:PORT, [IPv6]:PORT, or :PORT for every interface."""
    host, _, port = text.rpartition(":")
    if not _ or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def run_exporter(
    inventory: Inventory,
    address: tuple[str, int],
    interval: float,
    config: str | None,
    web: WebConfig | None = None,
    *,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    max_probes_per_target: int = DEFAULT_MAX_PROBES_PER_TARGET,
) -> int:
    """Serve until SIGINT/SIGTERM; `config` (the inventory) and the web
    config `web` was read from are re-read on SIGHUP."""
    exporter = Exporter(inventory)
    try:
        server = ExporterServer(
            address, exporter, web, max_connections=max_connections, max_probes_per_target=max_probes_per_target
        )
    except OSError as exc:
        exporter.stop()
        print(f"ipsec-ha-monitor: cannot listen on {address[0]}:{address[1]}: {exc.strerror}", file=sys.stderr)
        return 1
    web_path = server.web.path
    if web_path is None:
        log.warning("no --web.config.file: %s is served without TLS or authentication", server.url)
    elif server.web.open:
        log.warning(
            "%s sets neither tls_server_config nor basic_auth_users ({}): %s is served without TLS or authentication",
            web_path,
            server.url,
        )
    else:
        log.info("%s: %s (%s)", server.url, server.web.describe(), web_path)
    reloaders = [lambda: server.reload_web_config(str(web_path))] if web_path is not None else []
    try:
        with SignalLoop(exporter.monitor, config, reloaders) as signals:
            if interval > 0:
                exporter.start(interval)
            server.serve_in_thread()
            polling = f"polling every {interval:g} s" if interval > 0 else "no background polling: /probe only"
            print(f"serving {len(inventory.devices)} devices on {server.url}/metrics ({polling})")
            sys.stdout.flush()
            while not signals.wait(math.inf):
                pass
    except KeyboardInterrupt:  # a stop signal while the main thread was busy (starting, reloading)
        pass
    finally:
        server.shutdown()
        server.server_close()
        exporter.stop()
    return 0


def serve(
    config: str,
    listen: str,
    interval: float,
    web_config: str | None = None,
    *,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    max_probes_per_target: int = DEFAULT_MAX_PROBES_PER_TARGET,
) -> int:
    try:
        address = parse_listen_address(listen)
        inventory = load_inventory(config)
        web = load_web_config(web_config) if web_config else None
    except (ValueError, InventoryError) as exc:  # WebConfigError is a ValueError
        print(f"ipsec-ha-monitor serve: {exc}", file=sys.stderr)
        return 2
    return run_exporter(
        inventory,
        address,
        interval,
        config,
        web,
        max_connections=max_connections,
        max_probes_per_target=max_probes_per_target,
    )


def demo(listen: str, control: str) -> int:
    """The lab (baseline, three branches) and the exporter over it."""
    from monitor.lab import SCENARIOS, Lab, LabThread
    from monitor.lab.control import parse_address, serve_control

    try:
        address = parse_listen_address(listen)
        control_address = parse_address(control)
    except ValueError as exc:
        print(f"ipsec-ha-monitor demo: {exc}", file=sys.stderr)
        return 2
    lab = Lab(pairs=1, branches=3, time_scale=10)
    with LabThread(lab) as running, tempfile.TemporaryDirectory(prefix="ipsecha-demo-") as folder:
        try:
            control_server = running.run(serve_control(lab, control_address))
        except OSError as exc:
            print(f"ipsec-ha-monitor demo: control port {control}: {exc.strerror}", file=sys.stderr)
            return 1
        inventory = load_inventory(lab.write_inventory(Path(folder) / "lab.yml"))
        base = f"http://{address[0]}:{address[1]}"
        print(
            f"lab: {len(lab.routers)} routers over SSH on 127.0.0.1 (R1, R2 hub pair; R4-R6 branches), "
            "10 lab seconds per second\n"
            f"  {base}/            health table\n"
            f"  {base}/metrics     every device\n"
            f"  {base}/probe?target=R1\n"
            f"  {base}/targets     Prometheus HTTP service discovery\n"
            f"try: ipsec-ha-monitor lab trigger failover --control-address {control}\n"
            f"     (also {', '.join(name for name in SCENARIOS if name != 'failover')}), then watch /metrics\n"
            "Ctrl-C stops the demo."
        )
        try:
            return run_exporter(inventory, address, 2.0, None)
        finally:
            control_server.close()
