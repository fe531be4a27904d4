"""`ipsec-ha-monitor serve`: the Prometheus exporter over an inventory, and
`ipsec-ha-monitor demo` (ipsec_ha_monitor/demo.py): the same over the simulated lab.

serve polls every device in the background every --poll-interval seconds
(never with 0: replicas that Prometheus shards over /probe; product seconds,
see --time.scale and ipsec_ha_monitor/clock.py) and serves
/metrics from the latest snapshots, /probe?target= (one device, now),
/targets, / and /-/healthy, /-/ready. SIGHUP (and POST /-/reload with
--web.enable-lifecycle) reloads the inventory (healthy sessions stay) and
the web config (TLS and users for new connections and requests); a bad
file is refused with one line naming it and the old one kept. SIGINT /
SIGTERM stop it. HTTP limits: see ipsec_ha_monitor/export/server.py.

--web.listen-address ":9477" (the default) is every interface, IPv6 and
IPv4; "127.0.0.1:9477" or "[::1]:9477" keeps it on the host. Given once
(the command line refuses a second one). Once it serves, the start line
`serving N devices on URL/metrics (...)` is logged (announce), a record of
--log.format like every line serve writes.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading

from ipsec_ha_monitor.clock import Clock
from ipsec_ha_monitor.core import Monitor, SignalLoop
from ipsec_ha_monitor.export.exporter import Exporter
from ipsec_ha_monitor.export.server import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
    DEFAULT_MAX_OPEN_CONNECTIONS,
    DEFAULT_MAX_PROBES_PER_TARGET,
    ExporterServer,
)
from ipsec_ha_monitor.export.web_config import WebConfig, load_web_config
from ipsec_ha_monitor.inventory import Inventory, InventoryError, load_inventory
from ipsec_ha_monitor.limits import fit_open_files, open_files_needed
from ipsec_ha_monitor.syslog import DEFAULT_RATE_LIMIT
from ipsec_ha_monitor.words import count

log = logging.getLogger(__name__)


# The start line: a log record in the chosen --log.format (one JSON object
# per line with json), written at any --log.level, as the plain stdout line
# it replaces was: it is what a user, and a script, waits for to know where
# the exporter serves. `serving N devices on URL/metrics (...)`.
_START = logging.getLogger("ipsec_ha_monitor.serve.start")


def announce(message: str) -> None:
    """Log the start line at INFO whatever the root logger's level (its own
    logger is set to INFO: propagation to the root's handlers does not look
    at the root's level again)."""
    _START.setLevel(logging.INFO)
    _START.info(message)


def parse_listen_address(text: str) -> tuple[str, int]:
    """HOST:PORT, [IPv6]:PORT, or :PORT for every interface (host "": the
    server binds IPv6 and IPv4 together where it can, else 0.0.0.0)."""
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, [IPV6]:PORT or :PORT, got {text!r}")
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        raise ValueError(f"an IPv6 address goes in brackets, as in [::1]:9477, got {text!r}")
    return host.strip("[]"), int(port)


def format_listen_address(address: tuple[str, int]) -> str:
    """(host, port) as parse_listen_address reads it: an IPv6 host in brackets."""
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Reloader:
    """SIGHUP and POST /-/reload alike: the inventory from `config`, then the
    web config from `web_path`, each refused on its own when bad (the old
    one kept); one reload at a time. Returns None when everything was
    adopted, else the reasons in one line."""

    def __init__(
        self, monitor: Monitor, config: str | os.PathLike[str] | None, server: ExporterServer, web_path: str | None
    ) -> None:
        self.monitor, self.config, self.server, self.web_path = monitor, config, server, web_path
        self._lock = threading.Lock()

    @property
    def reloads(self) -> bool:
        return self.config is not None or self.web_path is not None

    def __call__(self) -> str | None:
        with self._lock:
            reasons = []
            if self.config is not None:
                reasons.append(self.monitor.try_reload_inventory(self.config))
            if self.web_path is not None:
                reasons.append(self.server.try_reload_web_config(self.web_path))
            return "; ".join(reason for reason in reasons if reason is not None) or None


def run_exporter(
    inventory: Inventory,
    address: tuple[str, int],
    interval: float,
    config: str | None,
    web: WebConfig | None = None,
    *,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    max_probes_per_target: int = DEFAULT_MAX_PROBES_PER_TARGET,
    max_open_connections: int = DEFAULT_MAX_OPEN_CONNECTIONS,
    max_connections_per_client: int = DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
    enable_lifecycle: bool = False,
    clock: Clock | None = None,
    syslog: tuple[str, int] | None = None,
    syslog_rate_limit: float = DEFAULT_RATE_LIMIT,
) -> int:
    """Serve until SIGINT/SIGTERM; `config` (the inventory) and the web
    config `web` was read from are re-read on SIGHUP, and on POST /-/reload
    with `enable_lifecycle`. `interval` is in product seconds of `clock`
    (its scale: --time.scale). `syslog`: receive the routers' syslog there
    (UDP and TCP)."""
    clock = clock if clock is not None else Clock()
    fit_open_files(open_files_needed(len(inventory.devices), max_open_connections))
    exporter = Exporter(inventory, clock=clock)
    try:
        server = ExporterServer(
            address,
            exporter,
            web,
            max_connections=max_connections,
            max_probes_per_target=max_probes_per_target,
            max_open_connections=max_open_connections,
            max_connections_per_client=max_connections_per_client,
            enable_lifecycle=enable_lifecycle,
        )
    except OSError as exc:
        exporter.stop()
        print(f"ipsec-ha-monitor: cannot listen on {format_listen_address(address)}: {exc.strerror}", file=sys.stderr)
        return 1
    if syslog is not None:
        try:
            exporter.listen_syslog(syslog, syslog_rate_limit)
        except OSError as exc:
            server.server_close()
            exporter.stop()
            where = format_listen_address(syslog)
            print(f"ipsec-ha-monitor: cannot listen for syslog on {where}: {exc.strerror}", file=sys.stderr)
            return 1
        if interval <= 0:
            log.warning("syslog is counted but triggers no poll: there is no background polling (--poll-interval 0)")
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
    reloader = Reloader(exporter.monitor, config, server, str(web_path) if web_path is not None else None)
    server.reload = reloader
    try:
        with SignalLoop(exporter.monitor, None, [reloader] if reloader.reloads else []) as signals:
            if interval > 0:
                exporter.start(interval)
            server.serve_in_thread()
            polling = f"polling every {interval:g} s" if interval > 0 else "no background polling: /probe only"
            if clock.scale != 1:
                polling += f", time scale {clock.scale:g}: {clock.scale:g} product seconds per real second"
            where = ", every interface" if server.every_interface else ""
            if exporter.syslog is not None:
                where += f", syslog on udp/tcp {format_listen_address(exporter.syslog.address)}"
            announce(f"serving {count(len(inventory.devices), 'device')} on {server.url}/metrics ({polling}{where})")
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
    max_open_connections: int = DEFAULT_MAX_OPEN_CONNECTIONS,
    max_connections_per_client: int = DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
    enable_lifecycle: bool = False,
    time_scale: float = 1.0,
    syslog_listen: str | None = None,
    syslog_rate_limit: float = DEFAULT_RATE_LIMIT,
) -> int:
    try:
        clock = Clock(time_scale)
        address = parse_listen_address(listen)
        syslog = parse_listen_address(syslog_listen) if syslog_listen is not None else None
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
        max_open_connections=max_open_connections,
        max_connections_per_client=max_connections_per_client,
        enable_lifecycle=enable_lifecycle,
        clock=clock,
        syslog=syslog,
        syslog_rate_limit=syslog_rate_limit,
    )
