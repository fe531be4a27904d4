"""Writes ipsecha-rules.test.yml, the promtool unit tests of ipsecha-rules.yml.

    python dashboards/prometheus/build_rule_tests.py [OUTFILE]

Scenarios are written here as compact Python (a hub's series in one call).
Expected annotations made from labels alone are the rules' own templates
rendered here for the expected labels, so rewording them needs no hand
edits; texts that query Prometheus (hub lists, RF state names, failing
scrape targets) or compare values are written out in the cases below, and
promtool checks both against what Prometheus renders. To write a new case:
set TEXTS_TODO, run this and `promtool test rules`, read the rendered texts
it prints, and write them in. The test suite checks that the committed file
is what this script writes, runs `promtool test rules` on it, and
(tests/test_alert_texts.py) that every rendered text reads right.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
RULES = yaml.safe_load((HERE / "ipsecha-rules.yml").read_text())
ALERTS = {rule["alert"]: rule for group in RULES["groups"] for rule in group["rules"] if "alert" in rule}


_IF = re.compile(r"\{\{ if \$labels\.(\w+) \}\}(.*?)(?:\{\{ else \}\}(.*?))?\{\{ end \}\}", re.S)


class NeedsPrometheus(ValueError):
    """A template this script cannot render (`query`, `match`, comparisons):
    the test case gives the expected text, and promtool checks it."""


def render_text(template: str, value: float, labels: dict[str, str]) -> str:
    """One annotation template as Prometheus renders it, for the label forms
    only: `$labels.X`, `$value`, `$externalLabels.X` (none are set in the
    tests) and `if $labels.X` / `else` / `end`. Any other form raises
    NeedsPrometheus."""
    text = re.sub(r"\{\{ \$externalLabels\.\w+ \}\}", "", template)
    text = _IF.sub(lambda m: m.group(2) if labels.get(m.group(1)) else (m.group(3) or ""), text)
    text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), text)
    text = text.replace("{{ $value }}", f"{value:g}").replace("{{ $value | humanize }}", f"{value:g}")
    if "{{" in text:
        raise NeedsPrometheus(f"a template form this script cannot render: {text}")
    return text


def render(alert: str, value: float, **labels: str) -> dict[str, str]:
    """Every annotation of `alert` by render_text."""
    return {key: render_text(t, value, labels) for key, t in ALERTS[alert]["annotations"].items()}


# True while writing a new case: the texts this script cannot render are
# written as TODO, and `promtool test rules` prints what Prometheus renders.
TEXTS_TODO = False


def annotations(alert: str, value: float, labels: dict[str, str], texts: dict[str, str]) -> dict[str, str]:
    """The expected annotations: `texts` (written out by hand for the
    templates that query Prometheus), the rest by render_text."""
    if set(texts) - set(ALERTS[alert]["annotations"]):
        raise ValueError(f"{alert}: no such annotation {sorted(set(texts) - set(ALERTS[alert]['annotations']))}")
    out = {}
    for key, template in ALERTS[alert]["annotations"].items():
        try:
            out[key] = texts[key] if key in texts else render_text(template, value, labels)
        except NeedsPrometheus as error:
            if not TEXTS_TODO:
                raise NeedsPrometheus(f"{alert}.{key}: give the expected text: {error}") from None
            out[key] = "TODO"
    return out


HEADER = """\
# promtool unit tests for ipsecha-rules.yml: `promtool test rules ipsecha-rules.test.yml`.
# Written by build_rule_tests.py: edit the scenarios there, then run it.
# Times are minutes from the start of each test (evaluation every minute).
# Hubs R1 and R2 of HUB-PAIR-1, HSRP group 1 (BRANCH-5-TUNNEL, the group that
# `scheme standby` names) on FastEthernet0/0. RF codes: 13 ACTIVE, 8 STANDBY
# HOT, 1 DISABLED, 2 INITIALIZATION, 3 NEGOTIATION, 4/7 STANDBY COLD(-BULK).
# Expected annotations are the rules' templates rendered for the labels.

rule_files:
  - ipsecha-rules.yml

evaluation_interval: 1m

tests:
"""

P = "HUB-PAIR-1"
G = 'interface="FastEthernet0/0",group="1"'
GN = G + ',group_name="BRANCH-5-TUNNEL"'


def s(metric, labels, values):
    return f"      - series: '{metric}{{{labels}}}'\n        values: '{values}'\n"


def dev(d, pair=P, inst="exporter:9477", job="ipsecha"):
    """A device series' labels: from /metrics by default; /probe gives instance=<device>, job=ipsecha-replica-N."""
    return f'instance="{inst}",job="{job}",device="{d}",pair="{pair}"'


def hub(
    d,
    *,
    up,
    my,
    peer,
    duplex,
    comms,
    uptime,
    reason="reload",
    active,
    standby,
    scheme=None,
    age=None,
    pair=P,
    inst="exporter:9477",
    preempt=None,
) -> str:
    """The series of one hub; `scheme` also paces reload_info (both come with a poll that answered)."""
    L = dev(d, pair, inst)
    out = s("ipsecha_device_up", L, up)
    out += s("ipsecha_data_age_seconds", L, age or "1x90")
    out += s("ipsecha_redundancy_my_state", L, my)
    out += s("ipsecha_redundancy_peer_state", L, peer)
    out += s("ipsecha_redundancy_duplex", L, duplex)
    out += s("ipsecha_redundancy_communications_up", L, comms)
    out += s("ipsecha_uptime_seconds", L, uptime)
    out += s("ipsecha_reload_info", L + f',reason="{reason}",returned_to_rom_by="reload"', scheme or "1x90")
    out += s("ipsecha_redundancy_stateful_group_info", L + ',group_name="BRANCH-5-TUNNEL"', scheme or "1x90")
    out += s("ipsecha_hsrp_state", L + "," + GN + ',state="active"', active)
    out += s("ipsecha_hsrp_state", L + "," + GN + ',state="standby"', standby)
    out += s("ipsecha_hsrp_preempt", L + "," + G, preempt or "0x90")
    return out


def alert(name, t, exp):
    text = f"      - eval_time: {t}\n        alertname: {name}\n"
    if not exp:
        return text + "        exp_alerts: []\n"
    text += "        exp_alerts:\n"
    for labels, value, *texts in exp:
        ann = annotations(name, value, labels, texts[0] if texts else {})
        text += "          - exp_labels:\n"
        for k, v in labels.items():
            if v == "":
                continue  # an empty label is no label
            text += f"              {k}: {json.dumps(v)}\n"
        text += "            exp_annotations:\n"
        for k, v in ann.items():
            text += f"              {k}: {json.dumps(v)}\n"
    return text


def test(comment: str, series: str, alerts: list[tuple], interval: str = "1m") -> str:
    """One test case: `comment` above it, the input series, the alert checks."""
    text = "".join(f"  # {line}\n" for line in comment.split("\n"))
    text += f"  - interval: {interval}\n    input_series:\n" + series + "    alert_rule_test:\n"
    for check in alerts:
        text += alert(*check)
    return text + "\n"


ALL = list(ALERTS)


def quiet(t: str, *names: str, but: tuple[str, ...] | list[str] = ()) -> list[tuple]:
    """Not firing at `t`: the named alerts, or all but `but`."""
    return [(n, t, []) for n in (names or ALL) if n not in but]


def crit(**labels: str) -> dict[str, str]:
    return {"severity": "critical", **labels}


def warn(**labels: str) -> dict[str, str]:
    return {"severity": "warning", **labels}


def lan_active(device: str) -> str:
    """HSRP group 2 (INSIDE, a LAN group `scheme standby` does not name) active on `device` throughout."""
    labels = dev(device) + ',interface="FastEthernet0/1",group="2",group_name="INSIDE",state="active"'
    return s("ipsecha_hsrp_state", labels, "1x90")


def steady(my: int, peer: int, hsrp_active: bool, n: int = 90) -> dict[str, str]:
    """A hub's series holding still for n minutes: answering, Duplex, IPC up."""
    return dict(
        up=f"1x{n}",
        my=f"{my}x{n}",
        peer=f"{peer}x{n}",
        duplex=f"1x{n}",
        comms=f"1x{n}",
        uptime=f"1814400+60x{n}",
        active=f"{int(hsrp_active)}x{n}",
        standby=f"{int(not hsrp_active)}x{n}",
    )


def baseline(r1: dict[str, str] | None = None, r2: dict[str, str] | None = None) -> str:
    """A healthy pair: R2 RF ACTIVE and HSRP active, R1 STANDBY HOT; overrides per hub."""
    return hub("R2", **(steady(13, 8, True) | (r2 or {}))) + hub("R1", **(steady(8, 13, False) | (r1 or {})))


def peer_series(device, peer, sa, expected=True, encrypted=None, errors=None, receive=None):
    L = dev(device) + f',peer="{peer}"'
    out = s("ipsecha_ipsec_sa_active", L, sa)
    if expected:
        out += s("ipsecha_ipsec_peer_expected", L, "1x90")
    out += s("ipsecha_ipsec_packets_encrypted_total", L, encrypted or "0+100x90")
    out += s("ipsecha_ipsec_send_errors_total", L, errors or "0x90")
    out += s("ipsecha_ipsec_receive_errors_total", L, receive or "0x90")
    return out


# The expected texts of the templates that query Prometheus (hub lists, RF
# state names, the scrape targets that fail) or compare values, written out
# for each case that fires them; promtool checks them against what
# Prometheus renders, tests/test_alert_texts.py checks they read right.
RELOAD_CHECK = (
    " Check `show logging` / `show redundancy history` for what triggered it, that the router came back as STANDBY"
    " HOT, and `show crypto session` for branches that did not come back."
)
NOT_OPERATOR = (
    ' Only an operator\'s reload (`reload`, "Reload Command", "Admin reload CLI" or an install) with no switchover'
    " in the pair within the hour before counts as expected."
)
PEER_TAIL = (
    " (1 DISABLED: peer gone or reloading; 2-3 INITIALIZATION/NEGOTIATION: booting; 4-7 STANDBY COLD: bulk sync not"
    " finished.) A failover now drops every tunnel of the pair. Check on the peer hub: `show redundancy states` and"
    " `show redundancy history` (is it stuck, or reloading in a loop?), `show redundancy inter-device`, and that both"
    " hubs run the same IOS image and redundancy config."
)
RF_COUNT_TAIL = (
    " Two: both claim the IPsec state (the IPC link is down and each went active). None: no hub that answers holds"
    " the IPsec state; a hub that is not polled may be down while the other did not take over. Check `show"
    " redundancy states`, `show redundancy inter-device` and `show standby` on each hub that answers, and the"
    " console of a hub that does not."
)
STALE_TAIL = (
    ". Check that the exporter runs and its scrape succeeds (`up`, the Prometheus targets page), its log for stuck"
    " polls, and `ipsecha_exporter_poll_duration_seconds` against the poll interval. A device just removed from the"
    " inventory clears within the hour."
)
EXPORTER_TAIL = (
    " Check that the exporter process runs (`ipsec-ha-monitor serve`), that Prometheus reaches its listen address,"
    " its TLS/basic-auth settings, and the `up` series and targets page in Prometheus."
)


SIMPLEX_SUMMARY = f"{P}: RF-active R2 runs Simplex although both hubs answer (RF states: R1 DISABLED, R2 ACTIVE)"
IPC_SUMMARY = f"{P}: IPC communications down on RF-active R2 (RF states: R1 DISABLED, R2 ACTIVE)"
SPLIT_SUMMARY = f"{P}: split brain, 2 hubs are HSRP active on the stateful group (HSRP states: R1 active, R2 active)"
NOHSRP_SUMMARY = f"{P}: no hub is HSRP active on the stateful group (HSRP states: R1 standby, R2 unknown)"
NO_DATA_DESCRIPTION = (
    "Prometheus holds no ipsecha_device_up series: no scrape job named ipsecha* delivers device data (the job is"
    " missing or renamed, or the exporter serves an empty inventory), so no IPsec HA rule can fire." + EXPORTER_TAIL
)


def rf_count_description(how_many: str) -> str:
    return f"{P} should have exactly one RF ACTIVE hub; of the hubs that report their RF state, {how_many}." + (
        RF_COUNT_TAIL
    )


def exporter_description(targets: str) -> str:
    return (
        f"Prometheus cannot scrape {targets}, so the devices behind these targets are not judged and their alerts go"
        " quiet." + EXPORTER_TAIL
    )


def reload_texts(device: str, pair: str, reason: str) -> dict[str, str]:
    """IpsechaUnexpectedReload: an operator's reason (unexpected for the switchover) or another one."""
    where = f"{device} of {pair}" if pair else device
    if reason == "reload":
        return {
            "summary": f"{device} ({pair}) reloaded unexpectedly: an operator's reload, but the pair switched over"
            " within the hour before",
            "description": f'{where} restarted; `show version` gives the last reload reason "{reason}". That is an'
            f" operator's reload, but the RF-active hub of {pair} changed within the hour before it, so it is taken"
            ' for a failover: IOS calls an RF self-reload "reload" too.' + RELOAD_CHECK,
        }
    return {
        "summary": f'{device}{f" ({pair})" if pair else ""} reloaded unexpectedly: "{reason}", not an'
        " operator's reload",
        "description": f'{where} restarted; `show version` gives the last reload reason "{reason}".'
        + NOT_OPERATOR
        + RELOAD_CHECK,
    }


def peer_texts(reported: int, name: str, own: str) -> dict[str, str]:
    """IpsechaPeerNotStandbyHot: R2 RF ACTIVE, reporting R1 as `name`; R1's own state `own`."""
    return {
        "summary": f"{P}: peer hub R1 is not STANDBY HOT (RF-active R2 reports it {name})",
        "description": f"R2 is RF ACTIVE and has reported its peer in RF state {reported}, not 8 STANDBY HOT, for 15"
        f" minutes. The peer hub R1 reports its own RF state as {own}." + PEER_TAIL,
    }


def stale_texts(device: str, pair: str, why: str) -> dict[str, str]:
    where = f"{device} (pair {pair})" if pair else device
    return {"description": f"Prometheus has no fresh data for {where}: {why}" + STALE_TAIL}


def build() -> str:
    """The whole test file."""
    out = [HEADER]

    series = hub(
        "R2",
        up="1x9 0x5 1x66",
        my="13x9 stale _x5 2 3 4 4 7 7 8x60",
        peer="8x9 stale _x5 1 2 3 3 6 6 13x60",
        duplex="1x9 stale _x5 0 1x65",
        comms="1x9 stale _x5 0 1x65",
        uptime="1814400+60x9 stale _x5 0+60x65",
        active="1x9 stale _x5 0x65",
        standby="0x9 stale _x5 0 0 0 0 1x61",
        scheme="1x9 stale _x5 1x65",
    )
    series += hub(
        "R1",
        up="1x81",
        my="8x9 13x72",
        peer="13x9 1x5 2 3 4 4 7 7 8x60",
        duplex="1x9 0x6 1x65",
        comms="1x9 0x6 1x65",
        uptime="1814400+60x81",
        active="0x9 1x72",
        standby="1x9 0x72",
    )
    series += s("ipsecha_ipsec_peer_expected", dev("R1") + ',peer="172.16.0.4"', "1x81")
    series += s("ipsecha_ipsec_peer_expected", dev("R2") + ',peer="172.16.0.4"', "1x81")
    series += s("ipsecha_ipsec_sa_active", dev("R2") + ',peer="172.16.0.4"', "2x9 stale _x5 0x65")
    series += s("ipsecha_ipsec_sa_active", dev("R1") + ',peer="172.16.0.4"', "0x9 2x72")
    series += s("ipsecha_ipsec_receive_errors_total", dev("R1") + ',peer="172.16.0.4"', "0x81")
    series += s("ipsecha_ipsec_send_errors_total", dev("R1") + ',peer="172.16.0.4"', "0x81")
    reload = [(crit(alertname="IpsechaUnexpectedReload", device="R2", pair=P, reason="reload"), 1)]
    out.append(
        test(
            "A normal failover. R2 (RF ACTIVE, HSRP active) loses its outside link at 10: R1 takes over at once, R2\n"
            "self-reloads (no answer 10-15), is back at 16 and walks INITIALIZATION -> NEGOTIATION -> STANDBY COLD\n"
            '-> COLD-BULK -> STANDBY HOT at 22. Its reason reads "reload", an operator\'s word, but the pair switched\n'
            "over: unexpected, at once, and kept firing for an hour. R1's peer was not STANDBY HOT for\n"
            "12 minutes, Simplex with both up for 1: a normal failover pages only the reload.",
            series,
            [
                *quiet("12m"),
                ("IpsechaUnexpectedReload", "16m", [(reload[0][0], 1, reload_texts("R2", P, "reload"))]),
                *quiet("16m", but=["IpsechaUnexpectedReload"]),
                *quiet("21m", but=["IpsechaUnexpectedReload"]),
                ("IpsechaUnexpectedReload", "75m", [(reload[0][0], 1, reload_texts("R2", P, "reload"))]),
                *quiet("30m", but=["IpsechaUnexpectedReload"]),
                *quiet("85m"),
            ],
        )
    )

    not_hot = crit(alertname="IpsechaPeerNotStandbyHot", device="R2", pair=P)
    out.append(
        test(
            "The standby never gets hot: R1 reloaded before 0 and hangs in STANDBY COLD (4), say an image or\n"
            "config mismatch. Pending for 15 minutes (a reload plus bulk sync fits inside), then firing.",
            baseline(r2={"peer": "4x90"}, r1={"my": "4x90", "peer": "13x90"}),
            [
                *quiet("14m"),
                ("IpsechaPeerNotStandbyHot", "15m", [(not_hot, 4, peer_texts(4, "STANDBY COLD", "STANDBY COLD"))]),
                *quiet("15m", but=["IpsechaPeerNotStandbyHot"]),
            ],
        )
    )

    out.append(
        test(
            "A standby reporting its own peer (the active, 13) is never judged; neither is a pair whose RF-active\n"
            "member is not polled (R2's states missing): no alert on what is not known.",
            baseline(r2={"my": "13x20 stale", "peer": "8x20 stale", "up": "1x20 0x69"}),
            quiet("20m", "IpsechaPeerNotStandbyHot") + quiet("40m", "IpsechaPeerNotStandbyHot", "IpsechaPairSimplex"),
        )
    )

    simplex = crit(alertname="IpsechaPairSimplex", device="R2", pair=P)
    ipc = crit(alertname="IpsechaIpcCommunicationsDown", device="R2", pair=P)
    out.append(
        test(
            "The IPC (SCTP) link between the hubs fails at 0 while both answer polls: R2 Simplex, Communications\n"
            "Down, R1 RF DISABLED. Simplex and IPC down after 5 minutes, the peer alert after 15.",
            baseline(
                r2={"peer": "1x90", "duplex": "0x90", "comms": "0x90"},
                r1={"my": "1x90", "peer": "0x90", "duplex": "0x90", "comms": "0x90", "standby": "0x90"},
            ),
            [
                *quiet("4m", but=["IpsechaNoHsrpActive"]),
                (
                    "IpsechaPairSimplex",
                    "5m",
                    [
                        (
                            simplex,
                            0,
                            {"summary": SIMPLEX_SUMMARY},
                        )
                    ],
                ),
                (
                    "IpsechaIpcCommunicationsDown",
                    "5m",
                    [
                        (
                            ipc,
                            0,
                            {"summary": IPC_SUMMARY},
                        )
                    ],
                ),
                ("IpsechaPeerNotStandbyHot", "15m", [(not_hot, 1, peer_texts(1, "DISABLED", "DISABLED"))]),
            ],
        )
    )

    out.append(
        test(
            'Operator reloads: R1 (the standby) reloaded at 10 with `reload` (reason "Reload Command") and no\n'
            "switchover: expected, no alert; nor when the operator switches the pair over to R1 at 47, after it\n"
            "was judged. Branch R4 (in no pair) came back at 20 after a power failure: paged.",
            hub(
                "R2",
                up="1x90",
                my="13x46 8x44",
                peer="8x9 1x6 8x30 13x43",
                duplex="1x90",
                comms="1x90",
                uptime="1814400+60x90",
                active="1x46 0x44",
                standby="0x46 1x44",
            )
            + hub(
                "R1",
                up="1x9 0x5 1x75",
                my="8x9 stale _x5 8x30 13x44",
                peer="13x9 stale _x5 13x30 8x44",
                duplex="1x9 stale _x5 1x75",
                comms="1x9 stale _x5 1x75",
                uptime="1814400+60x9 stale _x5 0+60x75",
                reason="Reload Command",
                active="0x46 1x44",
                standby="1x9 stale _x5 1x30 0x44",
                scheme="1x9 stale _x5 1x75",
            )
            + s("ipsecha_device_up", dev("R4", ""), "1x90")
            + s("ipsecha_data_age_seconds", dev("R4", ""), "1x90")
            + s("ipsecha_uptime_seconds", dev("R4", ""), "900000+60x18 stale _ 0+60x70")
            + s(
                "ipsecha_reload_info",
                dev("R4", "") + ',reason="power-on",returned_to_rom_by="power-on"',
                "1x18 stale _ 1x70",
            ),
            [
                *quiet("20m"),
                (
                    "IpsechaUnexpectedReload",
                    "22m",
                    [
                        (
                            crit(alertname="IpsechaUnexpectedReload", device="R4", pair="", reason="power-on"),
                            1,
                            reload_texts("R4", "", "power-on"),
                        )
                    ],
                ),
                *quiet("50m", but=["IpsechaUnexpectedReload"]),
                (
                    "IpsechaUnexpectedReload",
                    "50m",
                    [
                        (
                            crit(alertname="IpsechaUnexpectedReload", device="R4", pair="", reason="power-on"),
                            1,
                            reload_texts("R4", "", "power-on"),
                        )
                    ],
                ),
            ],
        )
    )

    split = crit(alertname="IpsechaHsrpSplitBrain", pair=P)
    out.append(
        test(
            "Split brain: HSRP hellos stop crossing at 0 and R1 goes active too on the stateful group. A LAN group\n"
            "(INSIDE, not named by `scheme standby`) is active on both all along and never counts. A minute for\n"
            "the split brain; R1 is HSRP active without being RF active, paged after 2.",
            baseline(r1={"active": "1x90", "standby": "0x90"}) + lan_active("R1") + lan_active("R2"),
            [
                *quiet("0m"),
                (
                    "IpsechaHsrpSplitBrain",
                    "1m",
                    [
                        (
                            split,
                            2,
                            {"summary": SPLIT_SUMMARY},
                        )
                    ],
                ),
                ("IpsechaHsrpActiveNotRfActive", "1m", []),
                (
                    "IpsechaHsrpActiveNotRfActive",
                    "2m",
                    [
                        (
                            crit(alertname="IpsechaHsrpActiveNotRfActive", device="R1", pair=P),
                            1,
                            {
                                "summary": f"{P}: R1 is HSRP active but R2 is the RF-active hub",
                                "description": "R1 owns the virtual IP (HSRP active on the stateful group) but R2 is RF"
                                " ACTIVE and holds the IPsec state, so branch traffic reaches a hub without working"
                                " SAs. RF states: R1 STANDBY HOT, R2 ACTIVE. Check `show standby` and `show redundancy"
                                " states` on both hubs; `standby ... preempt` or a tracked object that moved HSRP"
                                " without RF following is the usual cause.",
                            },
                        )
                    ],
                ),
            ],
        )
    )

    out.append(
        test(
            "The same LAN group active on both hubs while the stateful group is healthy: no split brain.",
            baseline() + lan_active("R1") + lan_active("R2"),
            quiet("10m"),
        )
    )

    nohsrp = crit(alertname="IpsechaNoHsrpActive", pair=P)
    out.append(
        test(
            "R2's outside interface goes down at 0 and R1 does not take over (tracking misconfigured): no owner of\n"
            "the virtual IP. 30 s later is a normal election; after a minute it pages.",
            baseline(r2={"active": "0x90"}),
            [
                *quiet("0m"),
                (
                    "IpsechaNoHsrpActive",
                    "1m",
                    [
                        (
                            nohsrp,
                            0,
                            {"summary": NOHSRP_SUMMARY},
                        )
                    ],
                ),
            ],
        )
    )

    out.append(
        test(
            "No HSRP-active member among those that answered, but R2's HSRP is not known (show standby failed):\n"
            "not judged.",
            baseline(r2={"active": "0x5 stale", "standby": "0x5 stale"}),
            quiet("10m", "IpsechaNoHsrpActive"),
        )
    )

    preempt = warn(
        alertname="IpsechaHsrpPreemptOnStatefulGroup", device="R1", pair=P, interface="FastEthernet0/0", group="1"
    )
    out.append(
        test(
            "Preemption configured at 0 on R1's stateful group (fires after 5 minutes) and on R2's LAN group 2\n"
            "(not stateful: never).",
            baseline(r1={"preempt": "1x90"})
            + lan_active("R2")
            + s("ipsecha_hsrp_preempt", dev("R2") + ',interface="FastEthernet0/1",group="2"', "1x90"),
            [*quiet("4m"), ("IpsechaHsrpPreemptOnStatefulGroup", "5m", [(preempt, 1)])],
        )
    )

    sa_missing = crit(alertname="IpsechaBranchSaMissing", device="R2", pair=P, peer="172.16.0.5")
    out.append(
        test(
            "SAs on the RF-active hub R2. .5 loses its SA at 0 for good: paged after 5 minutes. .4 rekeys every 10\n"
            "minutes (4 SAs while old and new overlap, counters restart with the new SA). .6 is idle (SA up, no\n"
            "traffic). .7 is down for 3 minutes while DPD and IKE set up a new SA. .9 is not expected (a stale\n"
            "crypto map entry). The standby R1 has 0 SAs toward everyone (its copies are standby). Only .5 pages;\n"
            "no error alert from the rekeys' counter resets.",
            baseline()
            + peer_series("R2", "172.16.0.5", "0x90")
            + peer_series(
                "R2",
                "172.16.0.4",
                "2x8 4 2x8 4 2x8 4 2x8 4 2x8 4 2x8 4 2x30",
                encrypted="0+100x8 0+100x9 0+100x9 0+100x9 0+100x9 0+100x9 0+100x30",
                errors="0x8 3 0x9 0x9 0x9 0x9 0x9 0x30",
            )
            + peer_series("R2", "172.16.0.6", "2x90", encrypted="5000x90")
            + peer_series("R2", "172.16.0.7", "2x9 0x2 2x77")
            + peer_series("R2", "172.16.0.9", "0x90", expected=False)
            + peer_series("R1", "172.16.0.4", "0x90")
            + peer_series("R1", "172.16.0.5", "0x90"),
            [
                *quiet("4m"),
                ("IpsechaBranchSaMissing", "5m", [(sa_missing, 0)]),
                ("IpsechaBranchSaMissing", "60m", [(sa_missing, 0)]),
                *quiet("60m", but=["IpsechaBranchSaMissing"]),
            ],
        )
    )

    errors = warn(alertname="IpsechaIpsecErrorsRising", device="R2", pair=P, peer="172.16.0.4")
    out.append(
        test(
            "Receive errors toward .4: a burst of 50 at 5 (a failover's stale SPIs), then quiet, then rising by 10 a\n"
            "minute from 30 on. The burst is never paged; the steady rise is, after 10 minutes.",
            baseline() + peer_series("R2", "172.16.0.4", "2x90", receive="0x4 50x25 50+10x60"),
            quiet("12m")
            + quiet("41m", "IpsechaIpsecErrorsRising")
            + [("IpsechaIpsecErrorsRising", "42m", [(errors, 50)])],
        )
    )

    notpolled = warn(alertname="IpsechaDeviceNotPolled", device="R1", pair=P)
    out.append(
        test(
            "R1 stops answering polls at 0 (auth or SSH trouble): its series go, device_up stays at 0. Not polled\n"
            "for 10 minutes pages (a reload is shorter, and paged on its own).",
            baseline(
                r1={
                    "up": "0x90",
                    "my": "stale",
                    "peer": "stale",
                    "duplex": "stale",
                    "comms": "stale",
                    "uptime": "stale",
                    "active": "stale",
                    "standby": "stale",
                    "scheme": "stale",
                }
            ),
            [
                *quiet("9m"),
                ("IpsechaDeviceNotPolled", "10m", [(notpolled, 0)]),
                *quiet("10m", but=["IpsechaDeviceNotPolled"]),
            ],
        )
    )

    stale_r1 = warn(alertname="IpsechaStaleData", device="R1", pair=P)
    stale_r2 = warn(alertname="IpsechaStaleData", device="R2", pair=P)
    out.append(
        test(
            "Stale data. The exporter's polling of R2 hangs at 0: its data age grows by a minute a minute, past\n"
            "5 minutes at 5, paged 5 minutes later. R1's series stop arriving at 20 (its scrape fails): paged at 25.",
            baseline(
                r2={"age": "1+60x90"},
                r1={k: "1x19 stale" for k in ("up", "duplex", "comms", "standby", "scheme", "age")}
                | {"my": "8x19 stale", "peer": "13x19 stale", "active": "0x19 stale", "uptime": "1814400+60x19 stale"},
            ),
            [
                *quiet("10m", but=["IpsechaStaleData"]),
                ("IpsechaStaleData", "9m", []),
                (
                    "IpsechaStaleData",
                    "10m",
                    [(stale_r2, 601, stale_texts("R2", P, "the exporter serves a poll 10m 1s old"))],
                ),
                (
                    "IpsechaStaleData",
                    "25m",
                    [
                        (stale_r1, 1, stale_texts("R1", P, "its series stopped arriving")),
                        (stale_r2, 1501, stale_texts("R2", P, "the exporter serves a poll 25m 1s old")),
                    ],
                ),
            ],
        )
    )

    out.append(
        test(
            "/probe with exporter replicas: R2 is probed by replica a until 19 and, from 10 on, also by replica b (a\n"
            "replica was added; the two jobs' target lists refresh at different times). b's poll reads the uptime a\n"
            "minute lower than a's. a lets go at 20: R2's series change instance, its boot time moves by a minute,\n"
            "no reload, no duplicate RF-active member. Then R2 really reloads at 30, seen through b: paged.",
            hub(
                "R2",
                up="1x19 stale",
                my="13x19 stale",
                peer="8x19 stale",
                duplex="1x19 stale",
                comms="1x19 stale",
                uptime="1814400+60x19 stale",
                active="1x19 stale",
                standby="0x19 stale",
                scheme="1x19 stale",
                age="1x19 stale",
                inst="a:9477",
                reason="power-on",
            )
            + hub(
                "R2",
                up="_x10 1x19 0 1x60",
                my="_x10 13x19 stale _ 13x60",
                peer="_x10 8x19 stale _ 8x60",
                duplex="_x10 1x19 stale _ 1x60",
                comms="_x10 1x19 stale _ 1x60",
                uptime="_x10 1814940+60x19 stale _ 0+60x60",
                active="_x10 1x19 stale _ 1x60",
                standby="_x10 0x19 stale _ 0x60",
                scheme="_x10 1x19 stale _ 1x60",
                age="_x10 1x80",
                inst="b:9477",
                reason="power-on",
            )
            + hub(
                "R1",
                up="1x90",
                my="8x90",
                peer="13x29 1 1 13x60",
                duplex="1x90",
                comms="1x90",
                uptime="1814400+60x90",
                active="0x90",
                standby="1x90",
                inst="a:9477",
            ),
            quiet("15m")
            + quiet("21m")
            + quiet("29m")
            + [
                (
                    "IpsechaUnexpectedReload",
                    "32m",
                    [
                        (
                            crit(alertname="IpsechaUnexpectedReload", device="R2", pair=P, reason="power-on"),
                            1,
                            reload_texts("R2", P, "power-on"),
                        )
                    ],
                )
            ],
        )
    )

    out.append(
        test(
            "A missed poll does not restart the clock: R1 hangs in STANDBY COLD as above, and R2's poll at 9\n"
            "fails (its RF series are dropped for that poll). Still paged at 15.",
            baseline(
                r2={"peer": "4x8 stale 4x80", "my": "13x8 stale 13x80", "up": "1x8 0 1x80"},
                r1={"my": "4x90", "peer": "13x90"},
            ),
            [
                ("IpsechaPeerNotStandbyHot", "14m", []),
                ("IpsechaPeerNotStandbyHot", "15m", [(not_hot, 4, peer_texts(4, "STANDBY COLD", "STANDBY COLD"))]),
            ],
        )
    )

    rf_count = crit(alertname="IpsechaPairNotOneRfActive", pair=P)
    out.append(
        test(
            "Both hubs RF ACTIVE from 0 (each went active when the IPC link failed): paged after 2 minutes.",
            baseline(r1={"my": "13x90", "peer": "1x90"}, r2={"peer": "1x90"}),
            [
                ("IpsechaPairNotOneRfActive", "1m", []),
                (
                    "IpsechaPairNotOneRfActive",
                    "2m",
                    [
                        (
                            rf_count,
                            2,
                            {
                                "summary": f"{P}: 2 hubs report RF ACTIVE (RF states: R1 ACTIVE, R2 ACTIVE)",
                                "description": rf_count_description("2 are"),
                            },
                        )
                    ],
                ),
            ],
        )
    )
    out.append(
        test(
            "No hub RF ACTIVE from 0: R2 stops answering and R1 stays STANDBY HOT (it did not take over).\n"
            "Paged after 2 minutes.",
            baseline(
                r2={k: "1x0 stale" for k in ("my", "peer", "duplex", "comms", "active", "standby", "scheme")}
                | {"up": "0x90", "uptime": "1814400 stale"}
            ),
            [
                ("IpsechaPairNotOneRfActive", "1m", []),
                (
                    "IpsechaPairNotOneRfActive",
                    "2m",
                    [
                        (
                            rf_count,
                            0,
                            {
                                "summary": f"{P}: no hub reports RF ACTIVE (RF states: R1 STANDBY HOT, R2 not polled)",
                                "description": rf_count_description("none is"),
                            },
                        )
                    ],
                ),
            ],
        )
    )

    def branch(d: str) -> str:
        return dev(d, "", d, "ipsecha-replica-1")  # in no pair, scraped through /probe

    out.append(
        test(
            'Routers in no pair (pair=""), scraped through /probe (instance = the device): branch R4 stops\n'
            "answering polls at 0, the exporter's poll of R5 hangs at 0, R6 counts receive errors from the hub\n"
            "rising from 0, and R7, a standalone hub that reports RF ACTIVE, has no SA toward its expected peer.\n"
            "Each alert reads right without a pair.",
            s("ipsecha_device_up", branch("R4"), "0x30")
            + s("ipsecha_data_age_seconds", branch("R4"), "1x30")
            + s("ipsecha_device_up", branch("R5"), "1x30")
            + s("ipsecha_data_age_seconds", branch("R5"), "1+60x30")
            + s("ipsecha_device_up", branch("R6"), "1x30")
            + s("ipsecha_data_age_seconds", branch("R6"), "1x30")
            + s("ipsecha_ipsec_send_errors_total", branch("R6") + ',peer="10.0.0.1"', "0x30")
            + s("ipsecha_ipsec_receive_errors_total", branch("R6") + ',peer="10.0.0.1"', "0+10x30")
            + s("ipsecha_device_up", branch("R7"), "1x30")
            + s("ipsecha_data_age_seconds", branch("R7"), "1x30")
            + s("ipsecha_redundancy_my_state", branch("R7"), "13x30")
            + s("ipsecha_ipsec_sa_active", branch("R7") + ',peer="172.16.0.8"', "0x30")
            + s("ipsecha_ipsec_peer_expected", branch("R7") + ',peer="172.16.0.8"', "1x30"),
            [
                *quiet("4m"),
                (
                    "IpsechaBranchSaMissing",
                    "5m",
                    [(crit(alertname="IpsechaBranchSaMissing", device="R7", pair="", peer="172.16.0.8"), 0)],
                ),
                (
                    "IpsechaDeviceNotPolled",
                    "10m",
                    [(warn(alertname="IpsechaDeviceNotPolled", device="R4", pair=""), 0)],
                ),
                (
                    "IpsechaStaleData",
                    "10m",
                    [
                        (
                            warn(alertname="IpsechaStaleData", device="R5", pair=""),
                            601,
                            stale_texts("R5", "", "the exporter serves a poll 10m 1s old"),
                        )
                    ],
                ),
                (
                    "IpsechaIpsecErrorsRising",
                    "15m",
                    [(warn(alertname="IpsechaIpsecErrorsRising", device="R6", pair="", peer="10.0.0.1"), 50)],
                ),
            ],
        )
    )

    down = warn(alertname="IpsechaExporterDown")
    out.append(
        test(
            "/metrics: the exporter's scrape fails from 0 (`up` 0, its series gone): one alert, no labels, naming\n"
            "the target, after 5 minutes.",
            s("up", 'instance="exporter:9477",job="ipsecha"', "0x30")
            + s("up", 'instance="node:9100",job="node"', "1x30"),
            [
                ("IpsechaExporterDown", "4m", []),
                (
                    "IpsechaExporterDown",
                    "5m",
                    [
                        (
                            down,
                            1,
                            {
                                "summary": "ipsec-ha-monitor scrapes failing: 1 target(s) of job ipsecha",
                                "description": exporter_description("exporter:9477 (job ipsecha)"),
                            },
                        )
                    ],
                ),
            ],
        )
    )
    probe = 'instance="{0}",job="ipsecha-replica-{1}"'
    out.append(
        test(
            "/probe: replica 0 is down from 0 (its targets R1 and R2 fail), replica 1 still delivers branch R4. One\n"
            "alert naming both failing targets.",
            s("up", probe.format("R1", 0), "0x30")
            + s("up", probe.format("R2", 0), "0x30")
            + s("up", probe.format("R4", 1), "1x30")
            + s("ipsecha_device_up", dev("R4", "", "R4", "ipsecha-replica-1"), "1x30")
            + s("ipsecha_data_age_seconds", dev("R4", "", "R4", "ipsecha-replica-1"), "1x30"),
            [
                ("IpsechaExporterDown", "4m", []),
                (
                    "IpsechaExporterDown",
                    "5m",
                    [
                        (
                            down,
                            2,
                            {
                                "summary": "ipsec-ha-monitor scrapes failing: 2 target(s) of job ipsecha-replica-0",
                                "description": exporter_description(
                                    "R1 (job ipsecha-replica-0), R2 (job ipsecha-replica-0)"
                                ),
                            },
                        )
                    ],
                ),
            ],
        )
    )
    out.append(
        test(
            "absent(): a Prometheus with no ipsecha* job at all (the job was left out of its config): one alert,\n"
            "no labels, saying there is no data at all.",
            s("up", 'instance="node:9100",job="node"', "1x30"),
            [
                ("IpsechaExporterDown", "4m", []),
                (
                    "IpsechaExporterDown",
                    "5m",
                    [
                        (
                            down,
                            1,
                            {
                                "summary": "Prometheus has no ipsec-ha-monitor data at all",
                                "description": NO_DATA_DESCRIPTION,
                            },
                        )
                    ],
                ),
            ],
        )
    )
    out.append(
        test(
            "The healthy pair with its scrape up: no exporter alert.",
            baseline() + s("up", 'instance="exporter:9477",job="ipsecha"', "1x90"),
            quiet("10m"),
        )
    )
    return "".join(out)


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "ipsecha-rules.test.yml"
    target.write_text(build())


if __name__ == "__main__":
    main()
