"""Writes ipsecha-rules.test.yml, the promtool unit tests of ipsecha-rules.yml.

    python dashboards/prometheus/build_rule_tests.py [OUTFILE]

Scenarios are written here as compact Python (a hub's series in one call);
the expected annotations are the rules' own templates rendered for the
expected labels, so a reworded description needs no hand edits. The test
suite checks that the committed file is what this script writes and runs
`promtool test rules` on it.
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


def render(alert: str, value: float, **labels: str) -> dict[str, str]:
    """The annotations of `alert` as Prometheus renders them. Only the
    template forms the rules use are known; any other is an error."""
    out = {}
    for key, template in ALERTS[alert]["annotations"].items():
        text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), template)
        text = text.replace("{{ $value }}", f"{value:g}").replace("{{ $value | humanize }}", f"{value:g}")
        if "{{" in text:
            raise ValueError(f"{alert}.{key}: a template form this script cannot render: {text}")
        out[key] = text
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


def dev(d, pair=P, inst="exporter:9477"):
    return f'instance="{inst}",job="ipsecha",device="{d}",pair="{pair}"'


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
    for labels, value in exp:
        ann = render(name, value, **labels)
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
                ("IpsechaUnexpectedReload", "16m", [(reload[0][0], 1)]),
                *quiet("16m", but=["IpsechaUnexpectedReload"]),
                *quiet("21m", but=["IpsechaUnexpectedReload"]),
                ("IpsechaUnexpectedReload", "75m", [(reload[0][0], 1)]),
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
                ("IpsechaPeerNotStandbyHot", "15m", [(not_hot, 4)]),
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
                ("IpsechaPairSimplex", "5m", [(simplex, 0)]),
                ("IpsechaIpcCommunicationsDown", "5m", [(ipc, 0)]),
                ("IpsechaPeerNotStandbyHot", "15m", [(not_hot, 1)]),
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
                    [(crit(alertname="IpsechaUnexpectedReload", device="R4", pair="", reason="power-on"), 1)],
                ),
                *quiet("50m", but=["IpsechaUnexpectedReload"]),
                (
                    "IpsechaUnexpectedReload",
                    "50m",
                    [(crit(alertname="IpsechaUnexpectedReload", device="R4", pair="", reason="power-on"), 1)],
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
                ("IpsechaHsrpSplitBrain", "1m", [(split, 2)]),
                ("IpsechaHsrpActiveNotRfActive", "1m", []),
                (
                    "IpsechaHsrpActiveNotRfActive",
                    "2m",
                    [(crit(alertname="IpsechaHsrpActiveNotRfActive", device="R1", pair=P), 1)],
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
            [*quiet("0m"), ("IpsechaNoHsrpActive", "1m", [(nohsrp, 0)])],
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
                ("IpsechaStaleData", "10m", [(stale_r2, 601)]),
                ("IpsechaStaleData", "25m", [(stale_r1, 1), (stale_r2, 1501)]),
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
                    [(crit(alertname="IpsechaUnexpectedReload", device="R2", pair=P, reason="power-on"), 1)],
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
            [("IpsechaPeerNotStandbyHot", "14m", []), ("IpsechaPeerNotStandbyHot", "15m", [(not_hot, 4)])],
        )
    )

    rf_count = crit(alertname="IpsechaPairNotOneRfActive", pair=P)
    out.append(
        test(
            "Both hubs RF ACTIVE from 0 (each went active when the IPC link failed): paged after 2 minutes.",
            baseline(r1={"my": "13x90", "peer": "1x90"}, r2={"peer": "1x90"}),
            [("IpsechaPairNotOneRfActive", "1m", []), ("IpsechaPairNotOneRfActive", "2m", [(rf_count, 2)])],
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
            [("IpsechaPairNotOneRfActive", "1m", []), ("IpsechaPairNotOneRfActive", "2m", [(rf_count, 0)])],
        )
    )

    down = warn(alertname="IpsechaExporterDown", instance="exporter:9477", job="ipsecha")
    out.append(
        test(
            "The exporter's scrape fails from 0 (`up` 0, its series gone): paged after 5 minutes. A second\n"
            "Prometheus that never got any ipsec-ha-monitor data at all pages the same way.",
            s("up", 'instance="exporter:9477",job="ipsecha"', "0x30")
            + s("up", 'instance="node:9100",job="node"', "1x30"),
            [
                ("IpsechaExporterDown", "4m", []),
                ("IpsechaExporterDown", "5m", [(down, 0), (warn(alertname="IpsechaExporterDown"), 1)]),
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
