"""The lab: routers, their SSH servers, scenarios, and the inventory that
points the monitor at them.

    lab = Lab(pairs=1, branches=1, time_scale=10)
    await lab.start()           # every router listens on 127.0.0.1; SAs rekey
    lab.trigger("failover")     # runs in the background; await lab.wait()
    lab.write_inventory(path)   # what `check` / `serve` read
    await lab.stop()

    Lab(latency="router")       # answering at router speed (latency.py); lab.logins counts logins

LabThread runs the same lab on its own event loop for blocking callers
(tests, netmiko).
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import yaml

from ipsec_ha_monitor.inventory import B2B, CLASSIC
from ipsec_ha_monitor.lab.latency import LatencyProfile, LoginCounter, RouterLatency, as_profile
from ipsec_ha_monitor.lab.rekey import REKEY_SYNC_SECONDS, maintain_sas
from ipsec_ha_monitor.lab.router import Clock, Router
from ipsec_ha_monitor.lab.scenarios import SCENARIOS, ScenarioContext, finish_reload
from ipsec_ha_monitor.lab.ssh_server import RouterSshServer
from ipsec_ha_monitor.lab.syslog_sender import LabSyslog
from ipsec_ha_monitor.lab.topology import SA_LIFETIME_SECONDS, LabPair, build_pairs, lab_credentials
from ipsec_ha_monitor.lab.xe_scenarios import XE_SCENARIOS, finish_xe_boot
from ipsec_ha_monitor.lab.xe_topology import FAILOVER_THRESHOLD, build_xe_pairs


class Lab:
    """`sa_lifetime`: lab seconds between two rekeys of a tunnel's SA pair
    (IOS's default 3600; a few tens of seconds make rekeys happen in tests).

    `base_port`: the routers' SSH ports are base_port, base_port + 1, ... in
    inventory order (R1, R2, R4, ...); 0: any free ports, picked by the OS.

    `min_step_seconds`: every scenario step (the wait between two changes)
    lasts at least this many real seconds whatever the time scale, so that
    each state stays visible for a few polls (the demo's pace). The lab
    clock still runs at `time_scale`: such a step lasts longer in lab time.

    `ikev2_branches`: the first that many branches of each pair run IKEv2
    instead of IKEv1 (ISAKMP).

    `syslog_to`: (host, port) of a syslog receiver every router sends its
    log messages to, over UDP from its own loopback address
    (syslog_sender.py); the inventory then lists that address as the
    router's `syslog_sources`.

    `latency`: how fast every router answers, a LatencyProfile or the name
    of one in latency.PROFILES: "fast" (no delay, the default) or "router"
    (login, commands and output at a real IOS router's pace, in lab seconds,
    so scaled by time_scale). set_latency() changes it for some routers.
    `latency_seed` seeds each router's jitter (with its name), so that runs
    repeat. `logins` counts the SSH logins of every router (LoginCounter).

    `ssh_timeout`: lab seconds a router gives a connection to log in, from
    its TCP accept, before dropping it, as IOS's `ip ssh time-out` (120 s
    by default); None: 30 real seconds, whatever the time scale.

    `xe_pairs`: IOS-XE box-to-box pairs after the classic ones (xe_topology.py:
    XE-PAIR-1 with XE1 ACTIVE and XE2 STANDBY HOT, `branches` branches each),
    played by the `xe-...` scenarios (xe_scenarios.py)."""

    def __init__(
        self,
        pairs: int = 1,
        branches: int = 1,
        time_scale: float = 1.0,
        host: str = "127.0.0.1",
        sa_lifetime: float = SA_LIFETIME_SECONDS,
        *,
        base_port: int = 0,
        min_step_seconds: float = 0.0,
        ikev2_branches: int = 0,
        syslog_to: tuple[str, int] | None = None,
        latency: str | LatencyProfile = "fast",
        latency_seed: int = 0,
        ssh_timeout: float | None = None,
        xe_pairs: int = 0,
    ) -> None:
        if sa_lifetime <= REKEY_SYNC_SECONDS:
            raise ValueError(f"sa_lifetime must exceed the {REKEY_SYNC_SECONDS:g} s the standby's copies lag behind")
        if min_step_seconds < 0:
            raise ValueError("min_step_seconds must not be negative")
        self.clock = Clock(time_scale)
        self.credentials = lab_credentials()
        self.sa_lifetime = sa_lifetime
        self.min_step_seconds = min_step_seconds
        self.pairs: list[LabPair] = build_pairs(
            pairs, branches, self.credentials, self.clock, sa_lifetime=sa_lifetime, ikev2_branches=ikev2_branches
        ) + build_xe_pairs(
            xe_pairs, branches, self.credentials, self.clock, sa_lifetime=sa_lifetime, ikev2_branches=ikev2_branches
        )
        routers = self.routers
        if not 0 <= base_port <= 65536 - len(routers):
            raise ValueError(
                f"base port {base_port}: the lab's {len(routers)} routers need ports "
                f"{base_port}-{base_port + len(routers) - 1}, at most 65535 (0: any free ports)"
            )
        self.base_port = base_port
        self.latency_seed = latency_seed
        if ssh_timeout is not None and not ssh_timeout > 0:
            raise ValueError(f"ssh_timeout must be positive, got {ssh_timeout!r}")
        self.logins = LoginCounter()
        profile = as_profile(latency)  # an unknown name fails here, before any server exists
        self.servers = {
            router.name: RouterSshServer(
                router,
                host,
                base_port + index if base_port else 0,
                latency=self._latency(router, profile),
                logins=self.logins,
            )
            for index, router in enumerate(routers)
        }
        if ssh_timeout is not None:
            for server in self.servers.values():
                server.login_timeout = ssh_timeout / time_scale
        self.timeline: list[tuple[float, str, str]] = []  # (lab time, pair, step)
        self._scenarios: dict[str, asyncio.Task[None]] = {}  # running, by pair name
        self._rng = random.Random()  # SPIs of rekeys
        self._rekeys: asyncio.Task[None] | None = None
        self.syslog = LabSyslog(syslog_to, routers) if syslog_to is not None else None

    @property
    def routers(self) -> list[Router]:
        return [router for pair in self.pairs for router in (*pair.hubs, *pair.branches)]

    def router(self, name: str) -> Router:
        return self.servers[name].router

    def _latency(self, router: Router, profile: LatencyProfile) -> RouterLatency:
        return RouterLatency(profile, self.clock, f"{self.latency_seed}:{router.name}")

    def set_latency(self, latency: str | LatencyProfile, *routers: str) -> None:
        """Every router (none named), or the named ones, answer at `latency`'s
        pace from now on, with their jitter drawn afresh from the lab's seed."""
        profile = as_profile(latency)
        for name in routers or tuple(self.servers):
            server = self.servers[name]
            server.latency = self._latency(server.router, profile)

    def pair(self, name: str | None = None) -> LabPair:
        if name is None:
            return self.pairs[0]
        for pair in self.pairs:
            if pair.name == name:
                return pair
        raise KeyError(f"no pair named {name!r}")

    async def start(self) -> None:
        """Every router listens; a port that cannot be bound (in use) stops
        them all again and raises OSError naming the port and the router."""
        servers = list(self.servers.values())
        results = await asyncio.gather(*(server.start() for server in servers), return_exceptions=True)
        for server, result in zip(servers, results, strict=True):
            if isinstance(result, BaseException):
                await asyncio.gather(*(other.stop() for other in servers), return_exceptions=True)
                if isinstance(result, OSError) and server.port:
                    raise OSError(self._bind_error(server, result)) from result
                raise result
        if self._rekeys is None:
            self._rekeys = asyncio.get_running_loop().create_task(self._keep_sas())

    def _bind_error(self, server: RouterSshServer, error: OSError) -> str:
        """One line: which address, whose, and why (Address already in use)."""
        reason = os.strerror(error.errno) if error.errno else str(error)
        whose = f"{server.router.name}'s SSH port"
        if self.base_port:
            whose += f"; base port {self.base_port}: ports {self.base_port}-{self.base_port + len(self.servers) - 1}"
        return f"cannot listen on {server.host}:{server.port} ({whose}): {reason}"

    async def stop(self) -> None:
        running = [task for task in self._scenarios.values() if not task.done()]
        if self._rekeys is not None:
            running.append(self._rekeys)
            self._rekeys = None
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await asyncio.gather(*(server.stop() for server in self.servers.values()), return_exceptions=True)
        if self.syslog is not None:
            self.syslog.close()

    def scenario_pair(self, scenario: str, pair: str | None) -> LabPair:
        """The pair `scenario` plays on: `pair`, or the first pair of the
        scenario's kind (classic, or b2b for the xe-... ones). KeyError for
        an unknown scenario or pair, ValueError for a scenario of the other
        kind of pair."""
        if scenario not in SCENARIOS and scenario not in XE_SCENARIOS:
            known = ", ".join((*SCENARIOS, *XE_SCENARIOS))
            raise KeyError(f"unknown scenario {scenario!r}; known: {known}")
        mode = B2B if scenario in XE_SCENARIOS else CLASSIC
        if pair is None:
            for candidate in self.pairs:
                if candidate.mode == mode:
                    return candidate
            raise ValueError(
                f"scenario {scenario} plays on an IOS-XE box-to-box pair and this lab has none (xe_pairs, --xe-pairs)"
                if mode == B2B
                else f"scenario {scenario} plays on a classic pair and this lab has none"
            )
        target = self.pair(pair)
        if target.mode != mode:
            kind = "an IOS-XE box-to-box pair (xe-... scenarios)" if target.mode == B2B else "a classic pair"
            raise ValueError(f"scenario {scenario} cannot play on {target.name}: it is {kind}")
        return target

    def trigger(self, scenario: str, pair: str | None = None) -> asyncio.Task[None]:
        """Start `scenario` on a pair (by default the first of its kind: the
        xe-... scenarios play on box-to-box pairs, the others on classic
        ones), cancelling the scenario still running on that pair, if any.
        Other pairs carry on."""
        target = self.scenario_pair(scenario, pair)
        previous = self._scenarios.get(target.name)
        if previous is not None and not previous.done():
            previous.cancel()
        context = ScenarioContext(
            target, self._step, self._set_reachable, self._set_management, lambda step: self._note(target, step)
        )
        self._note(target, f"scenario {scenario} starts")
        task = asyncio.get_running_loop().create_task(self._play(scenario, context, previous))
        self._scenarios[target.name] = task
        return task

    async def _play(self, scenario: str, context: ScenarioContext, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)  # let it clean up first
        try:
            await (XE_SCENARIOS.get(scenario) or SCENARIOS[scenario])(context)
        except asyncio.CancelledError:
            # A reload cut short still ends: no router stays down for good.
            for router in (*context.pair.hubs, *context.pair.branches):
                if not router.reachable:
                    await (finish_xe_boot if router.rg is not None else finish_reload)(context, router)
            raise

    async def wait(self) -> None:
        """Until the scenarios running now have played out."""
        await asyncio.gather(*self._scenarios.values())

    async def _sleep(self, lab_seconds: float) -> None:
        await asyncio.sleep(lab_seconds / self.clock.time_scale)

    async def _step(self, lab_seconds: float) -> None:
        """A scenario's wait between two steps: at least min_step_seconds."""
        await asyncio.sleep(max(lab_seconds / self.clock.time_scale, self.min_step_seconds))

    async def _keep_sas(self) -> None:
        """Rekeys and standby copies (rekey.py), for as long as the lab runs:
        one pass whenever the next thing is due, across every pair."""
        while True:
            now = self.clock.now()
            wake = min(maintain_sas(pair, now, self._rng) for pair in self.pairs)
            # At least 10 real ms between passes, whatever the time scale.
            await self._sleep(max(wake - now, 0.01 * self.clock.time_scale))

    async def _set_reachable(self, router: Router, reachable: bool) -> None:
        router.reachable = reachable
        await self._listen(router)

    async def _set_management(self, router: Router, up: bool) -> None:
        router.management_cut = not up
        await self._listen(router)

    async def _listen(self, router: Router) -> None:
        """SSH answers while the router runs and its management path is up."""
        server = self.servers[router.name]
        await (server.start() if router.reachable and not router.management_cut else server.stop())

    def _note(self, pair: LabPair, step: str) -> None:
        self.timeline.append((self.clock.now(), pair.name, step))

    def inventory(self) -> dict[str, Any]:
        """An inventory `check` and `serve` accept as is: every router with its
        port, the pairs with their expected branch peers, and the lab's own
        throwaway credentials inline (the one place inline credentials belong)."""
        devices = []
        for pair in self.pairs:
            for router in (*pair.hubs, *pair.branches):
                server = self.servers[router.name]
                device: dict[str, Any] = {"name": router.name, "host": server.host, "port": server.port}
                device["role"] = router.role
                if router.platform != "cisco_ios":
                    device["platform"] = router.platform
                if router.role == "hub":
                    device["pair"] = pair.name
                    device["expected_peers"] = [branch.outside_ip for branch in pair.branches]
                if self.syslog is not None and router.name in self.syslog.sources:
                    device["syslog_sources"] = [self.syslog.sources[router.name]]
                devices.append(device)
        return {
            "lab": True,  # allows the inline credentials below
            "defaults": {
                "platform": "cisco_ios",
                "credentials": {
                    "username": self.credentials.username,
                    "password": self.credentials.password,
                    "enable_secret": self.credentials.enable_secret,
                },
            },
            "pairs": [self._pair_entry(pair) for pair in self.pairs],
            "devices": devices,
        }

    @staticmethod
    def _pair_entry(pair: LabPair) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": pair.name, "members": [hub.name for hub in pair.hubs]}
        if pair.mode == B2B:
            entry["mode"] = B2B
            entry["groups"] = [{"id": 1, "failover_threshold": FAILOVER_THRESHOLD}]
        return entry

    def write_inventory(self, path: str | os.PathLike[str]) -> Path:
        target = Path(path)
        header = "# Written by `ipsec-ha-monitor lab`: the simulated lab and its throwaway credentials.\n"
        # The file holds credentials: readable by its owner only. Written
        # aside and renamed, so a reader never sees half of it.
        partial = target.with_name(f".{target.name}.partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(header + yaml.safe_dump(self.inventory(), sort_keys=False))
        os.replace(partial, target)
        return target


class LabThread:
    """A Lab on its own event loop in a daemon thread, for blocking callers."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="lab", daemon=True)

    def __enter__(self) -> LabThread:
        try:
            self.start()
        except BaseException:  # a port in use: no thread, loop or server left behind
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def start(self, timeout: float = 120.0) -> None:
        self._thread.start()
        self.run(self.lab.start(), timeout)

    def stop(self) -> None:
        if self._thread.is_alive():
            self.run(self.lab.stop())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()

    def trigger(self, scenario: str, pair: str | None = None) -> None:
        async def start() -> None:
            self.lab.trigger(scenario, pair)

        self.run(start())

    def wait(self, timeout: float = 120.0) -> None:
        self.run(self.lab.wait(), timeout)
