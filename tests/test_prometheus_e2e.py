"""End to end with a real Prometheus, on one clock: the lab over SSH, `serve`
as a process, and Prometheus on 127.0.0.1 scraping it with the shipped
example config and rules. Alerts are read through Prometheus's HTTP API;
every dashboard query runs against the same server. The scale-out example
runs two `serve --poll-interval 0` replicas behind one Prometheus.

One clock. Everything that measures time runs SCALE times faster than in
production, by the one constant SCALE (60: one lab minute per real second):
- the lab's clock (`Lab(time_scale=SCALE)`): a 30 s reload takes 0.5 s;
  uptime, log time stamps, RF and HSRP timings count lab seconds;
- every duration of the shipped rules (`for:`, `keep_firing_for:`, ranges
  and offsets, by scaled_rules): their 15 minutes are 15 lab minutes;
- `serve`'s clock (`--time.scale SCALE`): its poll interval, data age, the
  hour a reload counts and the `boot` label's resolution (a lab minute);
- the intervals: the exporter polls, and Prometheus scrapes and evaluates,
  every POLL_SECONDS lab seconds (30 s: serve's default --poll-interval and
  the shipped example config's), and Prometheus's lookback delta (5 m);
- the lab's SA lifetime (SA_LIFETIME_SECONDS, a short but valid IOS one),
  so every tunnel rekeys during the run, and the standby's copies follow.
The rules count reloads from uptime resets and hand-overs from RF states,
never against a wall-clock threshold, so a lab failover sits next to the
rules' windows as a real one does: a 30-second reload is not the 30-minute
outage it was when the rules were scaled by 120 and the lab by 2, and each
scenario pages what it would in production.

What does not scale (the limits):
- The monitor's own work runs on the real clock: an SSH login, a poll, a
  scrape and a rule evaluation take real time, which the lab reads as
  SCALE times longer (a 0.3 s reconnection after a reload is 18 lab
  seconds). SCALE is small enough that these stay well inside the rules'
  windows (the shortest `for:` is 1 minute, 1 s here), and the waits allow
  SLACK real seconds beyond the scaled ones. The exporter's SSH timeouts
  and login backoff stay real (tests/support/inventories.FAST_POLLING), as
  the scrape timeout does (the interval, not a scaled 10 s of 167 ms).
- Numbers inside rule expressions are not durations to scaled_rules: only
  IpsechaStaleData's `ipsecha_data_age_seconds > 300` is one, and `serve`
  reports the data age in lab seconds, so it means 5 lab minutes here too
  (it is checked for staying quiet only).
- Prometheus's own start is real time: it evaluates the rules before its
  first scrape (target discovery takes about 5 s, 5 lab minutes), so it
  starts with IpsechaExporterDown firing; the test watches from the
  baseline on, once that is gone.
- The scale-out test polls through /probe, a real-time SSH poll per scrape:
  its scrape interval is real (2 s) and it checks steady state only.

Scenarios play on separate pairs of one lab (one exporter, one Prometheus),
so that their hour-long windows (IpsechaUnexpectedReload keeps firing for an
hour, IpsechaReloadLoop counts an hour) run at the same time and do not
carry one scenario's reloads into the next: failover, standby-reload and
reload-loop each on their own pair, started together; sync-loss,
active-unreachable, split-brain and sa-loss one after the other on a fourth
pair (each back to baseline and quiet before the next). A thread records
every alert Prometheus lists, so each test asserts the exact set that fired
for its pair (alertname and key labels) and that it resolved."""

from __future__ import annotations

import json
import math
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.dashboards import GRAFANA, exprs
from support.exposition import parse_samples
from support.inventories import write_inventory
from support.processes import start_serve, stop
from support.prometheus import RULES_DIR, AlertHistory, PrometheusServer, needs_prometheus, scaled_rules
from support.waiting import wait_until

from ipsec_ha_monitor.lab import Lab, LabThread

pytestmark = [needs_prometheus, pytest.mark.integration]  # the lab, `serve` and Prometheus as processes

SCALE = 60  # lab (and rule) seconds per real second: one lab minute is one real second
POLL_SECONDS = 30.0  # lab seconds: serve's default --poll-interval, the example config's scrape and evaluation
LOOKBACK_SECONDS = 300.0  # Prometheus's default --query.lookback-delta
SA_LIFETIME_SECONDS = 900.0  # lab seconds: a short IOS lifetime, so every tunnel rekeys during the run
MINUTE = 60.0  # lab seconds
SLACK = 10.0  # real seconds beyond a scaled wait: SSH logins, polls, scrapes and evaluations take real time
DASHBOARDS = sorted(GRAFANA.glob("*.json"))

# One pair per scenario (or run of short scenarios), by the lab's pair names.
FAILOVER, SHORT, STANDBY_RELOAD, RELOAD_LOOP = "HUB-PAIR-1", "HUB-PAIR-2", "HUB-PAIR-3", "HUB-PAIR-4"
PAIRS, BRANCHES = 4, 2
LONG_SCENARIOS = {FAILOVER: "failover", STANDBY_RELOAD: "standby-reload", RELOAD_LOOP: "reload-loop"}

# What identifies an alert here: alertname, then these labels ("" if absent).
# The pair is the test's; the others (reason, cause, boot, severity) are
# checked where they matter.
KEY_LABELS = ("device", "peer")
Key = tuple[str, ...]


def real(lab_seconds: float) -> float:
    """Real seconds for a lab (or rule) duration."""
    return lab_seconds / SCALE


def duration(lab_seconds: float) -> str:
    """A Prometheus duration for a lab one."""
    return f"{round(real(lab_seconds) * 1000)}ms"


INTERVAL = duration(POLL_SECONDS)  # 500ms


def key(alertname: str, **labels: str) -> Key:
    return (alertname, *(labels.get(name, "") for name in KEY_LABELS))


def key_of(labels: dict[str, str]) -> Key:
    return (labels["alertname"], *(labels.get(name, "") for name in KEY_LABELS))


def example_config(
    name: str, folder: Path, addresses: dict[str, str], scrape: tuple[str, str] = (INTERVAL, INTERVAL)
) -> dict[str, Any]:
    """A shipped example config, on the test's clock and local: rule
    evaluation every INTERVAL, the rules scaled by SCALE, scrapes every
    `scrape` (interval, timeout), the placeholder exporter hosts replaced.
    The scrape timeout is the interval, not the scaled 10 s (167 ms): it
    bounds real work, the exporter rendering its page."""
    text = (RULES_DIR / name).read_text()
    for placeholder, address in addresses.items():
        text = text.replace(placeholder, address)
    config = yaml.safe_load(text)
    rules = folder / "rules.yml"
    rules.write_text(scaled_rules(SCALE))
    config["global"] = {"scrape_interval": INTERVAL, "evaluation_interval": INTERVAL}
    config["rule_files"] = [str(rules)]
    for job in config["scrape_configs"]:
        job["scrape_interval"], job["scrape_timeout"] = scrape
        for sd in job.get("http_sd_configs", []):
            sd["refresh_interval"] = "1s"
    return config


@dataclass
class Stack:
    lab_thread: LabThread
    prometheus: PrometheusServer
    history: AlertHistory
    started: float  # time.time(): the start of the dashboards' range
    ready: float  # time.monotonic(): the baseline in Prometheus

    @property
    def lab(self) -> Lab:
        return self.lab_thread.lab

    def trigger(self, scenario: str, pair: str) -> float:
        """Start `scenario` on `pair`; the time.monotonic() it started."""
        began = time.monotonic()
        self.lab_thread.trigger(scenario, pair)
        return began

    def value(self, expr: str) -> float | None:
        result = self.prometheus.query(expr)
        return float(result[0]["value"][1]) if result else None

    def values(self, expr: str, label: str) -> dict[str, float]:
        """{label value: sample value} of an instant query."""
        return {series["metric"].get(label, ""): float(series["value"][1]) for series in self.prometheus.query(expr)}

    def wait(self, what: str, condition: Any, lab_seconds: float, since: float | None = None) -> None:
        """Wait for `condition()` up to `lab_seconds` (scaled) plus SLACK,
        counted from `since` (a time.monotonic(); default now)."""
        deadline = (time.monotonic() if since is None else since) + real(lab_seconds) + SLACK
        self.prometheus.wait_for(what, condition, max(deadline - time.monotonic(), 1.0))

    def fired(self, pair: str, since: float) -> set[Key]:
        """Every alert of `pair` seen firing after `since`."""
        return {key_of(alert.labels) for alert in self.history.seen(since, "firing", pair=pair)}

    def firing(self, pair: str, alertname: str, since: float = 0.0, **labels: str) -> bool:
        """`alertname` of `pair` (with `labels`) seen firing after `since`."""
        return bool(self.history.seen(since, "firing", pair=pair, alertname=alertname, **labels))

    def quiet(self, pair: str) -> bool:
        """No alert of `pair` listed now, pending or firing."""
        return self.history.listed_now(pair=pair) == []

    def hubs(self, pair: str) -> tuple[str, str]:
        """(RF active, STANDBY HOT) names of `pair` at baseline."""
        lab_pair = self.lab.pair(pair)
        return lab_pair.r2.name, lab_pair.r1.name

    def branch_ips(self, pair: str) -> list[str]:
        return [branch.outside_ip for branch in self.lab.pair(pair).branches]


def lab_devices(lab: Lab, pair: str) -> str:
    return "|".join(hub.name for hub in lab.pair(pair).hubs)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("e2e")
    lab = Lab(pairs=PAIRS, branches=BRANCHES, time_scale=SCALE, sa_lifetime=SA_LIFETIME_SECONDS)
    with LabThread(lab) as lab_thread:
        inventory = write_inventory(lab, folder / "lab.yml")
        exporter, address = start_serve(inventory, f"{POLL_SECONDS:g}", "--time.scale", f"{SCALE:g}")
        try:
            config = example_config("prometheus.yml", folder, {"ipsecha-exporter:9477": address})
            flags = (f"--query.lookback-delta={duration(LOOKBACK_SECONDS)}",)
            with PrometheusServer(folder, config, flags) as prometheus:
                started = time.time()
                prometheus.wait_for(
                    "the lab's baseline in Prometheus",
                    lambda: (
                        {
                            s["metric"]["pair"]
                            for s in prometheus.query("pair:ipsecha_hsrp_active_members:sum == 1")
                            if s["metric"]["pair"] in {p.name for p in lab.pairs}
                        }
                        == {p.name for p in lab.pairs}
                        and len(prometheus.query("device:ipsecha_rf_active:bool == 1")) == PAIRS
                    ),
                    60,
                )
                # Prometheus evaluates rules before its first scrape (target
                # discovery takes about 5 real s: 5 lab minutes), so it starts
                # with IpsechaExporterDown for the data it has not scraped yet.
                prometheus.wait_for("the startup's alerts gone", lambda: prometheus.alerts() == [], 30)
                with AlertHistory(prometheus) as history:
                    yield Stack(lab_thread, prometheus, history, started, time.monotonic())
        finally:
            stop(exporter)


@pytest.fixture(scope="module")
def long_scenarios(stack: Stack) -> dict[str, float]:
    """failover, standby-reload and reload-loop started together, each on its
    pair, once the baseline test is done: their hour-long windows run while
    the short scenarios play. {pair: time.monotonic() it started}."""
    return {pair: stack.trigger(scenario, pair) for pair, scenario in LONG_SCENARIOS.items()}


def test_the_baseline_fires_nothing(stack: Stack) -> None:
    """Past the longest `for:` (15 minutes), no alert is even pending; the
    standby holds a copy of every active SA, branch by branch."""
    for pair in stack.lab.pairs:
        active, standby = stack.hubs(pair.name)
        branches = set(stack.branch_ips(pair.name))

        def copies_match(active: str = active, standby: str = standby, branches: set[str] = branches) -> bool:
            on_active = stack.values(f'ipsecha_ipsec_sa_active{{device="{active}"}}', "peer")
            copies = stack.values(f'ipsecha_ipsec_sa_standby{{device="{standby}"}}', "peer")
            return set(on_active) == branches and on_active == copies and all(on_active.values())

        stack.wait(f"{standby} holding a copy of each SA of {active}", copies_match, POLL_SECONDS * 3)
        assert stack.values(f'ipsecha_ipsec_sa_active{{device="{standby}"}}', "peer") == dict.fromkeys(branches, 0)
        assert stack.value(f'ipsecha_pair_rule_ok{{pair="{pair.name}",rule="standby_has_sa_copies"}}') == 1
        assert stack.value(f'ipsecha_pair_verdict{{pair="{pair.name}",verdict="healthy"}}') == 1
    time.sleep(max(0.0, stack.ready + real(16 * MINUTE) - time.monotonic()))
    assert stack.history.listed_now() == []
    assert stack.history.seen(0.0, "pending") == [] and stack.history.seen(0.0, "firing") == []


def test_sync_loss_pages_the_missing_sa_copies(stack: Stack, long_scenarios: dict[str, float]) -> None:
    active, standby = stack.hubs(SHORT)
    branches = stack.branch_ips(SHORT)
    since = stack.trigger("sync-loss", SHORT)
    stack.wait(
        f"{standby} reporting no SA copy and the rule failing",
        lambda: (
            stack.values(f'ipsecha_ipsec_sa_standby{{device="{standby}"}}', "peer") == dict.fromkeys(branches, 0)
            and stack.value(f'ipsecha_pair_rule_ok{{pair="{SHORT}",rule="standby_has_sa_copies"}}') == 0
        ),
        POLL_SECONDS * 3,
    )
    # Its active SAs are there: the copies are what is missing.
    assert all(stack.values(f'ipsecha_ipsec_sa_active{{device="{active}"}}', "peer").values())
    page = key("IpsechaStandbyMissingSaCopies", device=standby)
    stack.wait("IpsechaStandbyMissingSaCopies", lambda: page in stack.fired(SHORT, since), 10 * MINUTE)
    # One alert for the hub, naming how many branches lack a copy: all of them.
    (alert,) = stack.history.listed_now(pair=SHORT, alertname="IpsechaStandbyMissingSaCopies")
    assert float(alert["value"]) == len(branches), alert
    missing = stack.values(f'device_peer:ipsecha_ipsec_sa_standby_missing:count{{device="{standby}"}}', "peer")
    assert missing == dict.fromkeys(branches, 1), missing
    stack.trigger("baseline", SHORT)
    stack.wait("sync-loss resolved", lambda: stack.quiet(SHORT), 5 * MINUTE)
    assert stack.fired(SHORT, since) == {page}
    assert stack.values(f'ipsecha_ipsec_sa_standby{{device="{standby}"}}', "peer") == stack.values(
        f'ipsecha_ipsec_sa_active{{device="{active}"}}', "peer"
    )


def test_an_unreachable_active_hub_pages_only_that_it_is_not_polled(
    stack: Stack, long_scenarios: dict[str, float]
) -> None:
    """The standby reports its peer ACTIVE with Communications Up: the pair
    has its RF-active hub, only the monitor cannot reach it."""
    active, standby = stack.hubs(SHORT)
    since = stack.trigger("active-unreachable", SHORT)
    stack.wait(
        f"IpsechaDeviceNotPolled for {active}",
        lambda: stack.firing(SHORT, "IpsechaDeviceNotPolled", since, device=active),
        10 * MINUTE + POLL_SECONDS * 3,
    )
    # Past every pair alert's `for:` but the 15 minutes of IpsechaPeerNotStandbyHot
    # (which reads the RF-active hub's own report, absent here).
    assert stack.value(f'ipsecha_redundancy_peer_state{{device="{standby}"}}') == 13
    assert stack.value(f'ipsecha_redundancy_communications_up{{device="{standby}"}}') == 1
    back = stack.trigger("baseline", SHORT)
    stack.wait(f"{active} polled again", lambda: stack.value(f'ipsecha_device_up{{device="{active}"}}') == 1, 60)
    polled_after = time.monotonic() - back
    stack.wait("active-unreachable resolved", lambda: stack.quiet(SHORT), 5 * MINUTE)
    assert stack.fired(SHORT, since) == {key("IpsechaDeviceNotPolled", device=active)}
    # Polled at the next poll, no backoff: a poll interval, a login and a scrape.
    assert polled_after < real(3 * POLL_SECONDS) + 3, f"{active} polled again {polled_after:.1f} s after baseline"


def test_split_brain_and_sa_loss_fire_their_alerts(stack: Stack, long_scenarios: dict[str, float]) -> None:
    active, _ = stack.hubs(SHORT)
    since = stack.trigger("split-brain", SHORT)
    # Both hubs HSRP active: the split brain. The standby holds the virtual
    # IP without being RF active, the same fault seen twice: the rules leave
    # IpsechaHsrpActiveNotRfActive out while the split brain fires (it may be
    # pending for the split brain's first minute), so it never fires, past
    # its 2 minutes too.
    expected = {key("IpsechaHsrpSplitBrain")}
    stack.wait("the split-brain alert", lambda: stack.fired(SHORT, since) >= expected, 2 * MINUTE)
    time.sleep(real(2 * MINUTE))
    stack.trigger("baseline", SHORT)
    stack.wait("split brain healed", lambda: stack.quiet(SHORT), 5 * MINUTE)
    assert stack.fired(SHORT, since) == expected

    lost, *others = stack.branch_ips(SHORT)
    since = stack.trigger("sa-loss", SHORT)
    stack.wait(
        f"IpsechaBranchSaMissing toward {lost}",
        lambda: stack.firing(SHORT, "IpsechaBranchSaMissing", since, device=active, peer=lost),
        5 * MINUTE + POLL_SECONDS * 3,
    )
    stack.trigger("baseline", SHORT)
    stack.wait("SA back", lambda: stack.quiet(SHORT), 5 * MINUTE)
    assert stack.fired(SHORT, since) == {key("IpsechaBranchSaMissing", device=active, peer=lost)}, (
        f"only the lost branch's SA is missing, not {others}'"
    )


def reload_alerts(stack: Stack, pair: str, since: float) -> list[dict[str, str]]:
    """The label sets of IpsechaUnexpectedReload seen firing for `pair`: one
    per reload (label boot)."""
    return [
        alert.labels for alert in stack.history.seen(since, "firing", pair=pair, alertname="IpsechaUnexpectedReload")
    ]


def assert_reload_counted(stack: Stack, device: str, expected: str, cause: str, count: int) -> None:
    """`count` reloads of `device` counted (the exporter started with the lab:
    none before), all `expected` and of `cause`, the current boot's too."""
    assert stack.value(f'ipsecha_reloads_total{{device="{device}",expected="{expected}"}}') == count
    assert stack.value(f'ipsecha_reloads_by_cause_total{{device="{device}",cause="{cause}"}}') == count
    assert stack.values(f'ipsecha_reload_info{{device="{device}"}}', "cause") == {cause: 1}


def test_failover_pages_the_reload_only(stack: Stack, long_scenarios: dict[str, float]) -> None:
    """The RF-active hub fails, its peer takes over, and it comes back
    STANDBY HOT within a minute: one page, the RF self-reload, kept for the
    hour. Its peer was not STANDBY HOT for well under 15 minutes and it was
    not polled for well under 10: no IpsechaPeerNotStandbyHot, no
    IpsechaDeviceNotPolled, and never a pair without its RF-active hub."""
    since = long_scenarios[FAILOVER]
    failed, survivor = stack.hubs(FAILOVER)
    page = key("IpsechaUnexpectedReload", device=failed)
    stack.wait(
        f"{failed} back STANDBY HOT under {survivor}",
        lambda: (
            stack.value(f'ipsecha_redundancy_my_state{{device="{failed}"}}') == 8
            and stack.value(f'ipsecha_redundancy_my_state{{device="{survivor}"}}') == 13
            and stack.value(f'ipsecha_redundancy_peer_state{{device="{survivor}"}}') == 8
        ),
        5 * MINUTE,
        since,
    )
    stack.wait(
        f"IpsechaUnexpectedReload for {failed}", lambda: page in stack.fired(FAILOVER, since), 10 * MINUTE, since
    )
    assert_reload_counted(stack, failed, "false", "rf_self_reload", 1)
    if stack.firing(FAILOVER, "IpsechaUnexpectedReload", time.monotonic() - 1):
        # The verdict says what the page says (the pair is not healthy while it fires).
        assert stack.value(f'ipsecha_pair_verdict{{pair="{FAILOVER}",verdict="healthy"}}') == 0
    stack.wait("the reload alert resolved after its hour", lambda: stack.quiet(FAILOVER), 70 * MINUTE, since)
    assert stack.fired(FAILOVER, since) == {page}
    # One alert, for the boot the exporter reports (a later reload would be another).
    (alert,) = reload_alerts(stack, FAILOVER, since)
    assert {alert.get("boot")} == set(stack.values(f'ipsecha_reload_info{{device="{failed}"}}', "boot")), alert


def test_a_standby_self_reload_pages_as_unexpected(stack: Stack, long_scenarios: dict[str, float]) -> None:
    """The standby self-reloads (RF induced) with no switchover: `show version`
    says "reload" as for an operator's, its log says RF."""
    since = long_scenarios[STANDBY_RELOAD]
    active, standby = stack.hubs(STANDBY_RELOAD)
    page = key("IpsechaUnexpectedReload", device=standby)
    stack.wait(
        f"IpsechaUnexpectedReload for {standby}",
        lambda: page in stack.fired(STANDBY_RELOAD, since),
        10 * MINUTE,
        since,
    )
    stack.wait(
        f"{standby} back STANDBY HOT",
        lambda: stack.value(f'ipsecha_redundancy_my_state{{device="{standby}"}}') == 8,
        5 * MINUTE,
        since,
    )
    assert_reload_counted(stack, standby, "false", "rf_self_reload", 1)
    assert stack.value(f'ipsecha_reloads_total{{device="{standby}",expected="true"}}') in (None, 0)
    assert stack.value(f'ipsecha_redundancy_my_state{{device="{active}"}}') == 13, "no switchover"
    # One alert, for the boot the exporter reports (a later reload would be another).
    (alert,) = reload_alerts(stack, STANDBY_RELOAD, since)
    assert {alert.get("boot")} == set(stack.values(f'ipsecha_reload_info{{device="{standby}"}}', "boot")), alert
    stack.wait("the reload alert resolved after its hour", lambda: stack.quiet(STANDBY_RELOAD), 70 * MINUTE, since)
    assert stack.fired(STANDBY_RELOAD, since) == {page}


def test_a_reload_loop_pages_the_loop(stack: Stack, long_scenarios: dict[str, float]) -> None:
    """An operator reloads the standby three times in a row: each reload is
    expected, three within the hour are a loop. Both the exporter and the
    rules see a reload as uptime going down, so each needs the standby to
    have run long enough for `uptime is` (whole minutes) to show it: two
    minutes for the rules' 2-minute fold over replicas."""
    since = long_scenarios[RELOAD_LOOP]
    _, standby = stack.hubs(RELOAD_LOOP)
    page = key("IpsechaReloadLoop", device=standby)
    stack.wait(
        f"{standby} back STANDBY HOT after 3 operator reloads",
        lambda: (
            stack.value(f'ipsecha_redundancy_my_state{{device="{standby}"}}') == 8
            and stack.value(f'ipsecha_reloads_total{{device="{standby}",expected="true"}}') == 3
        ),
        10 * MINUTE,
        since,
    )
    stack.wait(f"IpsechaReloadLoop for {standby}", lambda: page in stack.fired(RELOAD_LOOP, since), 15 * MINUTE, since)
    assert_reload_counted(stack, standby, "true", "operator", 3)
    # The exporter's verdict judged the loop too, within its own hour (scaled
    # with the rest: by now that hour may be over, so over the whole scenario).
    loop_rule = f'ipsecha_pair_rule_ok{{pair="{RELOAD_LOOP}",rule="no_reload_loop"}}'
    assert stack.value(f"min_over_time({loop_rule}[{math.ceil(time.monotonic() - since) + 5}s])") == 0
    stack.wait("the loop alert resolved after its hour", lambda: stack.quiet(RELOAD_LOOP), 75 * MINUTE, since)
    assert stack.fired(RELOAD_LOOP, since) == {page}
    stack.wait(
        "the exporter's no_reload_loop holds again after its hour", lambda: stack.value(loop_rule) == 1, 5 * MINUTE
    )


def test_no_alert_fires_outside_the_scenarios(stack: Stack, long_scenarios: dict[str, float]) -> None:
    """Branches, the exporter, the data: nothing but the scenarios' pairs paged."""
    assert {
        (alert.labels.get("pair"), alert.labels["alertname"])
        for alert in stack.history.seen(0.0, "firing")
        if alert.labels.get("pair") not in (FAILOVER, SHORT, STANDBY_RELOAD, RELOAD_LOOP)
    } == set()


def substituted(expr: str, elapsed: float, pair: str, devices: str) -> str:
    """Template variables as Grafana fills them in: the pair, its hubs, and
    intervals that span several scrapes."""
    values = {
        "$pair": pair,
        "$device": devices,
        "$__rate_interval": duration(4 * POLL_SECONDS),
        "$__interval": INTERVAL,
        "$__range": f"{int(elapsed)}s",
    }
    for name, value in sorted(values.items(), key=lambda item: -len(item[0])):
        expr = expr.replace(name, value).replace("${" + name[1:] + "}", value)
    assert "$" not in expr, f"a template variable the test does not know: {expr}"
    return expr


def test_every_dashboard_query_returns_data(stack: Stack, long_scenarios: dict[str, float]) -> None:
    assert len(DASHBOARDS) >= 2, DASHBOARDS
    # The reload and switchover annotations need the failover's.
    failed, survivor = stack.hubs(FAILOVER)
    stack.wait(
        "the failover over",
        lambda: (
            stack.value(f'ipsecha_redundancy_my_state{{device="{failed}"}}') == 8
            and stack.value(f'ipsecha_redundancy_my_state{{device="{survivor}"}}') == 13
        ),
        5 * MINUTE,
        long_scenarios[FAILOVER],
    )
    end = time.time()
    empty, count = [], 0
    for path in DASHBOARDS:
        for where, expr in exprs(json.loads(path.read_text())):
            if "ipsecha_syslog" in expr:
                continue  # this stack runs without syslog: tests/test_syslog_e2e.py queries those panels
            if "ipsecha_rg_" in expr:
                continue  # box-to-box panels: this lab's pairs are classic (tests/test_xe_b2b_e2e.py queries them)
            count += 1
            query = substituted(expr, end - stack.started, FAILOVER, lab_devices(stack.lab, FAILOVER))
            if not stack.prometheus.query_range(query, stack.started, end, 1):
                empty.append(f"{path.name}: {where}: {query}")
    assert count >= 10
    assert empty == []


def test_every_dashboard_variable_query_finds_values(stack: Stack) -> None:
    for path in DASHBOARDS:
        for variable in json.loads(path.read_text())["templating"]["list"]:
            query = variable.get("query")
            query = query.get("query") if isinstance(query, dict) else query
            match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query or "")
            if match is None:
                continue
            selector, label = match.groups()
            result = stack.prometheus.query(substituted(selector, 60, FAILOVER, lab_devices(stack.lab, FAILOVER)))
            assert {series["metric"].get(label) for series in result} - {None}, (path.name, variable["name"])


def test_scale_out_polls_each_device_on_exactly_one_replica(tmp_path: Path) -> None:
    with LabThread(Lab(pairs=2, branches=2, time_scale=SCALE)) as lab_thread:
        inventory = write_inventory(lab_thread.lab, tmp_path / "lab.yml")
        devices = {router.name for router in lab_thread.lab.routers}
        replicas: list[tuple[subprocess.Popen[str], str]] = []
        try:
            for _ in range(2):
                replicas.append(start_serve(inventory, "0", "--time.scale", f"{SCALE:g}"))
            addresses = {f"ipsecha-exporter-{n}:9477": address for n, (_, address) in enumerate(replicas)}
            # A probe polls over SSH, in real time: a 2 s scrape (1.5 s timeout) leaves it 1 s.
            config = example_config("prometheus-scale-out.yml", tmp_path, addresses, ("2s", "1500ms"))
            with PrometheusServer(tmp_path, config) as prometheus:
                prometheus.wait_for(
                    "every lab device scraped",
                    lambda: {s["metric"]["device"] for s in prometheus.query("ipsecha_device_up == 1")} == devices,
                    60,
                )
                per_device = {
                    s["metric"]["device"]: float(s["value"][1])
                    for s in prometheus.query("count by (device) (ipsecha_device_up)")
                }
                assert per_device == dict.fromkeys(devices, 1.0)
                # Each device is an active target of exactly one replica's job...
                jobs: dict[str, set[str]] = {}
                for target in prometheus.targets()["activeTargets"]:
                    jobs.setdefault(target["labels"]["instance"], set()).add(target["labels"]["job"])
                assert set(jobs) == devices and all(len(names) == 1 for names in jobs.values()), jobs
                assert len({job for names in jobs.values() for job in names}) == 2, "both replicas have a shard"
                # ... both hubs of a pair on the same one, so the pair is judged whole...
                for pair in lab_thread.lab.pairs:
                    assert len({next(iter(jobs[hub.name])) for hub in pair.hubs}) == 1
                    verdict = prometheus.query(f'max(ipsecha_pair_verdict{{pair="{pair.name}",verdict="healthy"}})')
                    assert float(verdict[0]["value"][1]) == 1
                # ... and the rules see one RF-active member per pair.
                pairs = {pair.name: 1.0 for pair in lab_thread.lab.pairs}
                wait_until(
                    lambda: (
                        {
                            s["metric"]["pair"]: float(s["value"][1])
                            for s in prometheus.query("pair:ipsecha_rf_active_members:sum")
                        }
                        == pairs
                    ),
                    10,
                    "one RF-active member per pair in the recording rules",
                    0.25,
                )
            # Each replica logged in only to its own shard (no background polling).
            polled: dict[str, int] = {}
            for _, address in replicas:
                with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
                    samples = parse_samples(response.read().decode())
                for device in {dict(key)["device"] for key in samples.get("ipsecha_exporter_polls_total", {})}:
                    polled[device] = polled.get(device, 0) + 1
            assert polled == dict.fromkeys(devices, 1)
        finally:
            for process, _ in replicas:
                stop(process)
