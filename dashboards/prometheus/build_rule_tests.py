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
# Uptimes start at 3 weeks (boot label 1969-12-11T00:00Z); a reload starts a
# new ipsecha_reload_info series, its boot label the minute it came back.
# Expected annotations are the rules' templates rendered for the labels, or
# the texts Prometheus renders where they query it.

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


# When the hubs' baseline boot began: their uptime at time 0 is 1814400 s (3 weeks).
BOOT0 = "1969-12-11T00:00Z"


def boot_at(minute: int) -> str:
    """ipsecha_reload_info's boot label for a boot that began `minute` minutes into a test."""
    return f"1970-01-01T{minute // 60:02d}:{minute % 60:02d}Z"


def reload_info(labels: str, values: str, reason="reload", cause="operator", boot=BOOT0, rom="reload") -> str:
    """One boot's ipsecha_reload_info series (a reload starts a new one: a new boot label)."""
    extra = f',reason="{reason}",returned_to_rom_by="{rom}",cause="{cause}",boot="{boot}"'
    return s("ipsecha_reload_info", labels + extra, values)


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
    cause="operator",
    boots=None,
    active,
    standby,
    scheme=None,
    age=None,
    pair=P,
    inst="exporter:9477",
    job="ipsecha",
    preempt=None,
    ipsec=None,
) -> str:
    """The series of one hub; `scheme` also paces reload_info (both come with a poll that answered).
    `boots`: (values, reason, cause, boot) of each boot's reload_info series, in place of one for the
    whole case; `ipsec`: the values of ipsecha_command_success for show crypto ipsec sa (none if not given)."""
    L = dev(d, pair, inst, job)
    out = s("ipsecha_device_up", L, up)
    out += s("ipsecha_data_age_seconds", L, age or "1x90")
    out += s("ipsecha_redundancy_my_state", L, my)
    out += s("ipsecha_redundancy_peer_state", L, peer)
    out += s("ipsecha_redundancy_duplex", L, duplex)
    out += s("ipsecha_redundancy_communications_up", L, comms)
    out += s("ipsecha_uptime_seconds", L, uptime)
    for values, why, how, boot in boots or [(scheme or "1x90", reason, cause, BOOT0)]:
        out += reload_info(L, values, why, how, boot)
    out += s("ipsecha_redundancy_stateful_group_info", L + ',group_name="BRANCH-5-TUNNEL"', scheme or "1x90")
    out += s("ipsecha_hsrp_state", L + "," + GN + ',state="active"', active)
    out += s("ipsecha_hsrp_state", L + "," + GN + ',state="standby"', standby)
    out += s("ipsecha_hsrp_preempt", L + "," + G, preempt or "0x90")
    if ipsec:
        out += s("ipsecha_command_success", L + ',command="show crypto ipsec sa"', ipsec)
    return out


def syslog_series(device, mnemonic, values, mnemonic_label=None, pair=P):
    """ipsecha_syslog_messages_total of one device and mnemonic label (serve --syslog.listen-address)."""
    return s("ipsecha_syslog_messages_total", dev(device, pair) + f',mnemonic="{mnemonic_label or mnemonic}"', values)


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


def test(comment: str, series: str, alerts: list[tuple], interval: str = "1m", exprs: list[tuple] | None = None) -> str:
    """One test case: `comment` above it, the input series, the alert checks, and `exprs`: checks of
    recording rules, (selector, time, [(labels, value), ...]) (no samples: an empty list)."""
    text = "".join(f"  # {line}\n" for line in comment.split("\n"))
    text += f"  - interval: {interval}\n    input_series:\n" + series + "    alert_rule_test:\n"
    for check in alerts:
        text += alert(*check)
    if exprs:
        text += "    promql_expr_test:\n"
        for expr, at, samples in exprs:
            text += f"      - expr: {json.dumps(expr)}\n        eval_time: {at}\n"
            if not samples:
                text += "        exp_samples: []\n"
                continue
            text += "        exp_samples:\n"
            name = expr.split("{")[0]  # the exprs are plain selectors of one recorded series
            for labels, value in samples:
                series = name + "{" + ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items())) + "}"
                text += f"          - labels: {json.dumps(series)}\n            value: {value:g}\n"
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


# R2 (RF ACTIVE) answers its poll at 0, none from 1 on: its series stop, device_up reads 0.
R2_GONE_AT_1 = {
    "up": "1 0x89",
    "my": "13 stale",
    "peer": "8 stale",
    "duplex": "1 stale",
    "comms": "1 stale",
    "uptime": "1814400 stale",
    "active": "1 stale",
    "standby": "0 stale",
    "scheme": "1 stale",
}


MINUTES = range(91)  # a case's minutes: 0 to 90


def values(minutes: list) -> str:
    """promtool's notation for one value per minute: runs of a constant (3 or more) and arithmetic series
    (4 or more) become `axn` / `a+bxn`; None is no sample (`stale` right after a value, `_` otherwise)."""
    parts, i = [], 0
    while i < len(minutes):
        v = minutes[i]
        if v is None:
            if i and minutes[i - 1] is not None:
                parts.append("stale")
                i += 1
                continue
            j = i
            while j < len(minutes) and minutes[j] is None:
                j += 1
            parts.append("_" if j - i == 1 else f"_x{j - i}")
            i = j
            continue
        j = i + 1
        step = minutes[j] - v if j < len(minutes) and minutes[j] is not None else 0
        while j < len(minutes) and minutes[j] is not None and minutes[j] - minutes[j - 1] == step:
            j += 1
        n = j - i - 1
        if n >= (2 if step == 0 else 3):
            parts.append(f"{v}x{n}" if step == 0 else f"{v}{step:+d}x{n}")
            i = j
        else:
            parts.append(f"{v}")
            i += 1
    return " ".join(parts)


def back_since(minute: int, downs: list[tuple[int, int]]) -> int | None:
    """Minutes since the router came back from the last of `downs` before `minute` (None: no reload yet)."""
    backs = [last + 1 for _, last in downs if last + 1 <= minute]
    return minute - backs[-1] if backs else None


def walked(back: int | None, walk: bool) -> int:
    """A reloaded standby's RF state `back` minutes after its return: INITIALIZATION, NEGOTIATION, STANDBY
    COLD, STANDBY COLD-BULK, then STANDBY HOT (or HOT at once)."""
    steps = (2, 3, 4, 4, 7, 7)
    return steps[back] if walk and back is not None and back < len(steps) else 8


R1_LABELS, R2_LABELS = {"device": "R1", "pair": P}, {"device": "R2", "pair": P}


def peer_series(device, peer, sa, expected=True, encrypted=None, errors=None, receive=None, copies=None):
    """A hub's series toward one branch peer; `copies`: its standby SA copies (none if not given)."""
    L = dev(device) + f',peer="{peer}"'
    out = s("ipsecha_ipsec_sa_active", L, sa)
    if copies:
        out += s("ipsecha_ipsec_sa_standby", L, copies)
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
    " Check `show logging` (the reload message before `%SYS-5-RESTART`; it survives the reload only with `logging"
    " persistent` or a syslog server) and `show redundancy history` for what triggered it, that the router came back"
    " as STANDBY HOT, and `show crypto session` for branches that did not come back."
)
PEER_TAIL = (
    " (1 DISABLED: peer gone or reloading; 2-3 INITIALIZATION/NEGOTIATION: booting; 4-7 STANDBY COLD: bulk sync not"
    " finished.) A failover now drops every tunnel of the pair. Check on the peer hub: `show redundancy states` and"
    " `show redundancy history` (is it stuck, or reloading in a loop?), `show redundancy inter-device`, and that both"
    " hubs run the same IOS image and redundancy config."
)
RF_COUNT_TAIL = (
    " Two: both claim the IPsec state (the IPC link is down and each went active). None: no hub that answers holds"
    " the IPsec state, and a hub that does not answer is not reported ACTIVE by its peer: it may be down while the"
    " other did not take over. Check `show redundancy states`, `show redundancy inter-device` and `show standby` on"
    " each hub that answers, and the console of a hub that does not."
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
    return (
        f"{P} should have exactly one RF ACTIVE hub; of the hubs that report their RF state (or, for a hub that"
        f" answers no poll, whose peer reports it ACTIVE with communications Up), {how_many}." + RF_COUNT_TAIL
    )


def exporter_description(targets: str) -> str:
    return (
        f"Prometheus cannot scrape {targets}, so the devices behind these targets are not judged and their alerts go"
        " quiet." + EXPORTER_TAIL
    )


def reload_texts(device: str, pair: str, boot: str, cause: str, reason: str = "", switched: bool = False) -> dict:
    """IpsechaUnexpectedReload for a reload with `cause` (ipsecha_reload_info's) and `show version`'s
    `reason`; `switched`: the pair also handed the RF-active role over within the hour before."""
    said = f' ("{reason}")' if reason else " (no reason given)"
    what, why = {
        "operator": (
            "an operator's reload, but the pair switched over within the hour before",
            f" Its log or `show version` tells an operator's reload, but the RF-active role of {pair} changed hands"
            " within the hour before it, so it is taken for part of a failover.",
        ),
        "rf_self_reload": (
            "an RF induced self-reload",
            " Its log shows an RF induced self-reload (%RF_INTERDEV-4-RELOAD): the redundancy facility reloaded it"
            " because it lost the active role or could not negotiate with its peer. An RF self-reload is never"
            " expected, switchover or not.",
        ),
        "crash": (
            "a crash" + said,
            " It crashed" + (f' (`show version`: "{reason}")' if reason else "") + "; look for a crashinfo file and"
            " the traceback.",
        ),
        "power": ("a power loss" + said, " It lost power" + (f' (`show version`: "{reason}")' if reason else "") + "."),
        "rg_reload": (
            "its redundancy group reloaded it",
            " Its box-to-box redundancy group asked for it (`reload events: local request` rose on it, or `peer"
            " request` on its peer, in `show redundancy application group all`): IOS-XE reloads a member that loses"
            " the ACTIVE role unless the group runs in protected mode. A reload by the group is never expected.",
        ),
        "unknown": (
            "cause unknown" + said,
            " Neither its log nor `show version` (" + (f'reason "{reason}"' if reason else "no reason given") + ")"
            " tells an operator's reload, so it counts as unexpected.",
        ),
    }[cause]
    also = f" {pair} also switched over within the hour before." if switched and cause != "operator" else ""
    return {
        "summary": f"{device}{f' ({pair})' if pair else ''} reloaded unexpectedly: {what}",
        "description": f"{device}{f' of {pair}' if pair else ''} restarted (boot {boot})." + why + also + RELOAD_CHECK,
    }


def copies_texts(device: str, active: str, peers: list[str], more: int = 0) -> dict[str, str]:
    """IpsechaStandbyMissingSaCopies: STANDBY HOT `device` lacks copies for `peers` held active on `active`."""
    count = len(peers) + more
    return {
        "summary": f"{P}: STANDBY HOT {device} holds no SA copies for {count} branch"
        f" {'peer' if count == 1 else 'peers'} with active SAs on RF-active {active}",
        "description": f"{device} is STANDBY HOT but has held no standby copy of the IPsec SAs toward"
        f" {', '.join(peers[:5])}{f' (the first 5 of {count})' if count > 5 else ''} for 5 minutes, although the"
        " RF-active hub holds active SAs toward them: a failover now drops those tunnels, and the branches"
        f" renegotiate from scratch. Check on {device} `show crypto ipsec sa standby` (or the STANDBY SAs in `show"
        " crypto ipsec sa`) and the STDBY rows of `show crypto isakmp sa`; on both hubs `show redundancy"
        " inter-device`, that the crypto map is applied with `redundancy <group> stateful`, and `show logging` for"
        " IPsec HA / RF sync errors.",
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

    def failover(reason: str, cause: str) -> str:
        """R2 (RF ACTIVE, HSRP active) loses its outside link at 10: R1 takes over at once, R2 reloads (no
        answer 10-15), is back at 16 (reload_info: `reason`, `cause`, a new boot) and walks INITIALIZATION ->
        NEGOTIATION -> STANDBY COLD -> COLD-BULK -> STANDBY HOT at 22, with its SA copies from 21 on."""
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
            boots=[("1x9 stale", "reload", "operator", BOOT0), ("_x16 1x65", reason, cause, boot_at(16))],
            ipsec="1x9 stale _x5 1x65",
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
            ipsec="1x81",
        )
        series += s("ipsecha_ipsec_peer_expected", dev("R1") + ',peer="172.16.0.4"', "1x81")
        series += s("ipsecha_ipsec_peer_expected", dev("R2") + ',peer="172.16.0.4"', "1x81")
        series += s("ipsecha_ipsec_sa_active", dev("R2") + ',peer="172.16.0.4"', "2x9 stale _x5 0x65")
        series += s("ipsecha_ipsec_sa_active", dev("R1") + ',peer="172.16.0.4"', "0x9 2x72")
        series += s("ipsecha_ipsec_sa_standby", dev("R2") + ',peer="172.16.0.4"', "0x9 stale _x5 0x4 2x60")
        series += s("ipsecha_ipsec_sa_standby", dev("R1") + ',peer="172.16.0.4"', "2x9 0x72")
        series += s("ipsecha_ipsec_receive_errors_total", dev("R1") + ',peer="172.16.0.4"', "0x81")
        series += s("ipsecha_ipsec_send_errors_total", dev("R1") + ',peer="172.16.0.4"', "0x81")
        return series

    reload = crit(alertname="IpsechaUnexpectedReload", device="R2", pair=P, boot=boot_at(16))
    self_reload = reload_texts("R2", P, boot_at(16), "rf_self_reload", "reload", switched=True)
    out.append(
        test(
            "A normal failover: R2 self-reloads (its log says RF induced self-reload; `show version` reads\n"
            '"reload", as for an operator). Unexpected, at once, and kept firing for an hour. R1\'s peer was not\n'
            "STANDBY HOT for 12 minutes, Simplex with both up for 1, R2 STANDBY HOT with its copies: a normal\n"
            "failover pages only the reload. One hand-over of the RF-active role: no flapping.",
            failover("reload", "rf_self_reload"),
            [
                *quiet("12m"),
                ("IpsechaUnexpectedReload", "15m", []),
                ("IpsechaUnexpectedReload", "16m", [(reload, 1, self_reload)]),
                *quiet("16m", but=["IpsechaUnexpectedReload"]),
                *quiet("21m", but=["IpsechaUnexpectedReload"]),
                ("IpsechaUnexpectedReload", "80m", [(reload, 1, self_reload)]),
                *quiet("30m", but=["IpsechaUnexpectedReload"]),
                *quiet("81m"),
            ],
        )
    )
    out.append(
        test(
            "The same failover after an operator's `reload` of the RF-active R2 (its log says so): an operator's\n"
            "reload, but the pair switched over, so it is taken for part of a failover: unexpected.",
            failover("Reload Command", "operator"),
            [
                ("IpsechaUnexpectedReload", "16m", [(reload, 1, reload_texts("R2", P, boot_at(16), "operator"))]),
                *quiet("16m", but=["IpsechaUnexpectedReload"]),
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
            'Operator reloads: R1 (the standby) reloaded at 10 with `reload` (its log: "Reload requested by", cause\n'
            "operator) and no switchover: expected, no alert; nor when the operator switches the pair over to R1 at\n"
            "47, after it was judged. Branch R4 (in no pair) came back at 21 after a power failure: paged at once.",
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
                boots=[
                    ("1x9 stale", "reload", "operator", BOOT0),
                    ("_x16 1x75", "Reload Command", "operator", boot_at(16)),
                ],
                active="0x46 1x44",
                standby="1x9 stale _x5 1x30 0x44",
                scheme="1x9 stale _x5 1x75",
            )
            + s("ipsecha_device_up", dev("R4", ""), "1x90")
            + s("ipsecha_data_age_seconds", dev("R4", ""), "1x90")
            + s("ipsecha_uptime_seconds", dev("R4", ""), "900000+60x18 stale _ 0+60x70")
            + reload_info(dev("R4", ""), "1x18 stale", "power-on", "power", "1969-12-21T14:00Z", "power-on")
            + reload_info(dev("R4", ""), "_x21 1x70", "power-on", "power", boot_at(21), "power-on"),
            [
                *quiet("20m"),
                (
                    "IpsechaUnexpectedReload",
                    "21m",
                    [
                        (
                            crit(alertname="IpsechaUnexpectedReload", device="R4", pair="", boot=boot_at(21)),
                            1,
                            reload_texts("R4", "", boot_at(21), "power", "power-on"),
                        )
                    ],
                ),
                *quiet("50m", but=["IpsechaUnexpectedReload"]),
                (
                    "IpsechaUnexpectedReload",
                    "50m",
                    [
                        (
                            crit(alertname="IpsechaUnexpectedReload", device="R4", pair="", boot=boot_at(21)),
                            1,
                            reload_texts("R4", "", boot_at(21), "power", "power-on"),
                        )
                    ],
                ),
            ],
        )
    )

    def r1_reloads(downs: list[tuple[int, int]], walk: bool) -> dict[str, str]:
        """R1's series when it answers no poll over each of `downs`' (first, last) minutes and is back the
        minute after, STANDBY HOT at once or (`walk`) through INITIALIZATION ... STANDBY COLD-BULK first."""
        since = [back_since(m, downs) for m in MINUTES]
        down = [any(first <= m <= last for first, last in downs) for m in MINUTES]

        def when_up(value: object) -> str:
            return values([None if gone else value for gone in down])

        return {
            "up": values([0 if gone else 1 for gone in down]),
            "my": values([None if gone else walked(back, walk) for gone, back in zip(down, since, strict=True)]),
            "peer": when_up(13),
            "duplex": when_up(1),
            "comms": when_up(1),
            "uptime": values(
                [
                    None if gone else (1814400 + 60 * m if back is None else 60 * back)
                    for m, gone, back in zip(MINUTES, down, since, strict=True)
                ]
            ),
            "active": "0x90",
            "standby": when_up(1),
            "scheme": when_up(1),
        }

    def r2_seeing(downs: list[tuple[int, int]], walk: bool) -> dict[str, str]:
        """The RF-active R2's view of R1 meanwhile: its peer DISABLED and Simplex while R1 is down, Simplex
        still at R1's first poll back, the peer state walking as R1's own."""
        since = [back_since(m, downs) for m in MINUTES]
        down = [any(first <= m <= last for first, last in downs) for m in MINUTES]
        simplex = [gone or back == 0 for gone, back in zip(down, since, strict=True)]
        return {
            "peer": values([1 if gone else walked(back, walk) for gone, back in zip(down, since, strict=True)]),
            "duplex": values([0 if s else 1 for s in simplex]),
            "comms": values([0 if s else 1 for s in simplex]),
        }

    twice = [(10, 15), (40, 45)]
    first_back = crit(alertname="IpsechaUnexpectedReload", device="R1", pair=P, boot=boot_at(16))
    second_back = crit(alertname="IpsechaUnexpectedReload", device="R1", pair=P, boot=boot_at(46))
    out.append(
        test(
            "The standby R1 self-reloads at 10 with no switchover (its log: RF induced self-reload; `show version`\n"
            'says "reload"), back at 16, STANDBY HOT at 22; and again at 40, back at 46. Never expected: paged at\n'
            "16, and the second reload is a second alert (a new boot) at 46 while the first is still firing. Two\n"
            "reloads within the hour are no loop.",
            hub("R2", **(steady(13, 8, True) | r2_seeing(twice, walk=True)))
            + hub(
                "R1",
                **r1_reloads(twice, walk=True),
                boots=[
                    ("1x9 stale", "reload", "operator", BOOT0),
                    ("_x16 1x23 stale", "reload", "rf_self_reload", boot_at(16)),
                    ("_x46 1x44", "reload", "rf_self_reload", boot_at(46)),
                ],
            ),
            [
                *quiet("15m"),
                (
                    "IpsechaUnexpectedReload",
                    "16m",
                    [(first_back, 1, reload_texts("R1", P, boot_at(16), "rf_self_reload"))],
                ),
                *quiet("16m", but=["IpsechaUnexpectedReload"]),
                (
                    "IpsechaUnexpectedReload",
                    "45m",
                    [(first_back, 1, reload_texts("R1", P, boot_at(16), "rf_self_reload"))],
                ),
                (
                    "IpsechaUnexpectedReload",
                    "46m",
                    [
                        (first_back, 1, reload_texts("R1", P, boot_at(16), "rf_self_reload")),
                        (second_back, 1, reload_texts("R1", P, boot_at(46), "rf_self_reload")),
                    ],
                ),
                *quiet("60m", but=["IpsechaUnexpectedReload"]),
                (
                    "IpsechaUnexpectedReload",
                    "81m",
                    [(second_back, 1, reload_texts("R1", P, boot_at(46), "rf_self_reload"))],
                ),
            ],
        )
    )

    thrice = [(10, 11), (25, 26), (40, 41)]
    loop = crit(alertname="IpsechaReloadLoop", device="R1", pair=P)
    out.append(
        test(
            "An operator reloads the standby R1 three times (at 10, 25 and 40; its log: Reload requested by, each\n"
            "time), with no switchover; it rejoins STANDBY HOT each time. Each reload is expected, but three within\n"
            "the hour are a loop: paged when R1 is back from the third, at 42, not after the second. It clears when\n"
            "the first leaves the hour.",
            hub("R2", **(steady(13, 8, True) | r2_seeing(thrice, walk=False)))
            + hub(
                "R1",
                **r1_reloads(thrice, walk=False),
                boots=[
                    ("1x9 stale", "reload", "operator", BOOT0),
                    ("_x12 1x12 stale", "Reload Command", "operator", boot_at(12)),
                    ("_x27 1x12 stale", "Reload Command", "operator", boot_at(27)),
                    ("_x42 1x48", "Reload Command", "operator", boot_at(42)),
                ],
            ),
            [
                *quiet("30m"),
                *quiet("41m"),
                ("IpsechaReloadLoop", "42m", [(loop, 3)]),
                *quiet("42m", but=["IpsechaReloadLoop"]),
                ("IpsechaReloadLoop", "71m", [(loop, 3)]),
                ("IpsechaReloadLoop", "72m", []),
            ],
        )
    )

    quick = [(10, 10), (12, 12), (14, 14)]
    out.append(
        test(
            "The same three operator reloads, each boot lasting under a minute (back at 11, 13 and 15): `show\n"
            "version`'s uptime reads 0 minutes each time, so only the first reload shows in the uptime; the\n"
            "exporter counts all three (ipsecha_reloads_total, from 0: it reads the device's log too). Paged at 15.\n"
            "The exporter restarts at 40 (its counters start again at 0): no reload; the loop clears with the hour.\n"
            "R2 runs Simplex from 10 to 15, so its Simplex and IPC alerts fire with the loop (Alertmanager mutes\n"
            "them under it).",
            hub("R2", **(steady(13, 8, True) | r2_seeing(quick, walk=False)))
            + hub(
                "R1",
                **r1_reloads(quick, walk=False),
                boots=[
                    ("1x9 stale", "reload", "operator", BOOT0),
                    ("_x11 1 stale", "Reload Command", "operator", boot_at(11)),
                    ("_x13 1 stale", "Reload Command", "operator", boot_at(13)),
                    ("_x15 1x75", "Reload Command", "operator", boot_at(15)),
                ],
            )
            + s("ipsecha_reloads_total", dev("R1") + ',expected="true"', "0x10 1 1 2 2 3x24 stale _ 0x48")
            + s("ipsecha_reloads_total", dev("R1") + ',expected="false"', "0x39 stale _ 0x48"),
            [
                *quiet("14m"),
                ("IpsechaReloadLoop", "15m", [(loop, 3)]),
                *quiet("15m", but=["IpsechaReloadLoop", "IpsechaPairSimplex", "IpsechaIpcCommunicationsDown"]),
                ("IpsechaReloadLoop", "50m", [(loop, 3)]),
                *quiet("50m", but=["IpsechaReloadLoop"]),
                *quiet("80m"),
            ],
            exprs=[
                ('device:ipsecha_reloads_per_series:1h{device="R1"}', "15m", [(R1_LABELS, 1)]),
                ('device:ipsecha_reloads_counted:1h{device="R1"}', "15m", [(R1_LABELS, 3)]),
                ('device:ipsecha_reloads_counted:1h{device="R1"}', "50m", [(R1_LABELS, 3)]),
            ],
        )
    )

    slow = [(10, 15), (17, 22), (24, 29)]
    self_reloads = [
        (crit(alertname="IpsechaUnexpectedReload", device="R1", pair=P, boot=boot_at(back)), back)
        for back in (16, 23, 30)
    ]
    out.append(
        test(
            "The standby R1 self-reloads three times (back at 16, 23 and 30), each boot ending within its first\n"
            "minute: the uptime reads 0 minutes each time, a step down only at the first. The exporter counts each\n"
            "one (from 0): three reload alerts, one per boot, and the loop.",
            hub("R2", **(steady(13, 8, True) | r2_seeing(slow, walk=False)))
            + hub(
                "R1",
                **r1_reloads(slow, walk=False),
                boots=[
                    ("1x9 stale", "reload", "operator", BOOT0),
                    ("_x16 1 stale", "reload", "rf_self_reload", boot_at(16)),
                    ("_x23 1 stale", "reload", "rf_self_reload", boot_at(23)),
                    ("_x30 1x60", "reload", "rf_self_reload", boot_at(30)),
                ],
            )
            + s("ipsecha_reloads_total", dev("R1") + ',expected="true"', "0x90")
            + s("ipsecha_reloads_total", dev("R1") + ',expected="false"', "0x15 1x6 2x6 3x60"),
            [
                *quiet("15m"),
                ("IpsechaReloadLoop", "29m", []),
                ("IpsechaReloadLoop", "30m", [(loop, 3)]),
                (
                    "IpsechaUnexpectedReload",
                    "30m",
                    [
                        (labels, 1, reload_texts("R1", P, boot_at(back), "rf_self_reload"))
                        for labels, back in self_reloads
                    ],
                ),
            ],
            exprs=[
                ('device:ipsecha_reloads_per_series:1h{device="R1"}', "30m", [(R1_LABELS, 1)]),
                ('device:ipsecha_reloads_counted:1h{device="R1"}', "30m", [(R1_LABELS, 3)]),
            ],
        )
    )

    flapping = crit(alertname="IpsechaRfFlapping", pair=P)
    out.append(
        test(
            "R1 and R2 swap the RF-active role (and HSRP) at 10, 20 and 30: manual switchovers (the reloads that\n"
            "go with them are left out here). Two hand-overs within the hour are no flapping; the third is, until\n"
            "the first leaves the hour.",
            hub(
                "R2",
                **(
                    steady(13, 8, True)
                    | {"my": "13x9 8x9 13x9 8x60", "peer": "8x9 13x9 8x9 13x60"}
                    | {"active": "1x9 0x9 1x9 0x60", "standby": "0x9 1x9 0x9 1x60"}
                ),
            )
            + hub(
                "R1",
                **(
                    steady(8, 13, False)
                    | {"my": "8x9 13x9 8x9 13x60", "peer": "13x9 8x9 13x9 8x60"}
                    | {"active": "0x9 1x9 0x9 1x60", "standby": "1x9 0x9 1x9 0x60"}
                ),
            ),
            [
                *quiet("29m"),
                (
                    "IpsechaRfFlapping",
                    "30m",
                    [
                        (
                            flapping,
                            3,
                        )
                    ],
                ),
                *quiet("30m", but=["IpsechaRfFlapping"]),
                ("IpsechaRfFlapping", "69m", [(flapping, 3)]),
                *quiet("70m"),
            ],
            exprs=[
                ("pair:ipsecha_rf_handovers:1h", f"{minute}m", [({"pair": P}, count)])
                for minute, count in ((9, 0), (10, 1), (19, 1), (20, 2), (30, 3))
            ],
        )
    )

    hsrp_flapping = warn(alertname="IpsechaHsrpFlapping", device="R1", pair=P)
    out.append(
        test(
            "Syslog (serve --syslog.listen-address): R1's HSRP group changes state once a minute from 11 to 18,\n"
            "eight changes that the polls, all reading R1 Standby, never see; R2 logs the four of a failover's walk\n"
            "(11-14). Six or more within 10 minutes is flapping: R1 only, until its changes leave the 10 minutes.",
            baseline()
            + syslog_series("R1", "HSRP-5-STATECHANGE", "0x10 1+1x7 8x72")
            + syslog_series("R2", "HSRP-5-STATECHANGE", "0x10 1+1x3 4x76"),
            [
                *quiet("10m"),
                ("IpsechaHsrpFlapping", "15m", []),
                ("IpsechaHsrpFlapping", "20m", [(hsrp_flapping, 8)]),
                *quiet("20m", but=["IpsechaHsrpFlapping"]),
                *quiet("30m"),
            ],
            exprs=[
                (
                    'device_mnemonic:ipsecha_syslog_messages:10m{device="R2"}',
                    "20m",
                    [({**R2_LABELS, "mnemonic": "HSRP-5-STATECHANGE"}, 4)],
                ),
            ],
        )
    )

    rf_between = warn(alertname="IpsechaRfEventsBetweenPolls", pair=P)
    out.append(
        test(
            "Syslog: at 21 R2 (RF ACTIVE) logs its peer lost (%RF-5-RF_RELOAD), at 22 R1 logs the end of its RF\n"
            "progression (%RF-5-RF_TERMINAL_STATE): R1 fell back and walked up to STANDBY HOT again between two\n"
            "polls, which read the baseline throughout and saw no reload and no hand-over. Two RF events, until they\n"
            "leave the 10 minutes.",
            baseline()
            + syslog_series("R2", "RF-5-RF_RELOAD", "0x20 1x70")
            + syslog_series("R1", "RF-5-RF_TERMINAL_STATE", "0x21 1x69")
            + syslog_series("R1", "SYS-5-CONFIG_I", "0x90", mnemonic_label="other"),
            [
                *quiet("20m"),
                ("IpsechaRfEventsBetweenPolls", "25m", [(rf_between, 2)]),
                *quiet("25m", but=["IpsechaRfEventsBetweenPolls"]),
                *quiet("35m"),
            ],
        )
    )
    out.append(
        test(
            "Syslog: the same RF messages, but the polls saw R1 reload at 20 (its uptime restarted): the reload\n"
            "explains them (IpsechaUnexpectedReload pages it), so no IpsechaRfEventsBetweenPolls.",
            baseline(r1={"uptime": "1814400+60x19 60+60x70"})
            + syslog_series("R2", "RF-5-RF_RELOAD", "0x20 1x70")
            + syslog_series("R1", "RF-5-RF_TERMINAL_STATE", "0x21 1x69"),
            [
                ("IpsechaRfEventsBetweenPolls", "20m", []),
                ("IpsechaRfEventsBetweenPolls", "25m", []),
            ],
            exprs=[('device:ipsecha_reloads:1h{device="R1"}', "25m", [(R1_LABELS, 1)])],
        )
    )

    split = crit(alertname="IpsechaHsrpSplitBrain", pair=P)
    not_rf_active = crit(alertname="IpsechaHsrpActiveNotRfActive", device="R1", pair=P)
    not_rf_active_texts = {
        "summary": f"{P}: R1 is HSRP active but R2 is the RF-active hub",
        "description": "R1 owns the virtual IP (HSRP active on the stateful group) but R2 is RF ACTIVE and holds the"
        " IPsec state, so branch traffic reaches a hub without working SAs. RF states: R1 STANDBY HOT, R2 ACTIVE."
        " Check `show standby` and `show redundancy states` on both hubs; `standby ... preempt` or a tracked object"
        " that moved HSRP without RF following is the usual cause.",
    }
    out.append(
        test(
            "Split brain: HSRP hellos stop crossing at 0 and R1 goes active too on the stateful group. A LAN group\n"
            "(INSIDE, not named by `scheme standby`) is active on both all along and never counts. A minute for\n"
            "the split brain. R1 is HSRP active without being RF active, the same fault seen twice: the rule\n"
            "leaves it out while the split brain fires (no alert, so nothing to list when the split brain resolves).",
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
                *quiet("1m", but=["IpsechaHsrpSplitBrain"]),
                *quiet("2m", but=["IpsechaHsrpSplitBrain"]),
                *quiet("30m", but=["IpsechaHsrpSplitBrain"]),
            ],
        )
    )
    out.append(
        test(
            "HSRP moves to R1 at 0 (a tracked object) and RF does not follow: R2 stays RF ACTIVE and R1 STANDBY HOT.\n"
            "No split brain (R2 is HSRP standby): R1 HSRP active without being RF active pages after 2 minutes.",
            baseline(r1={"active": "1x90", "standby": "0x90"}, r2={"active": "0x90", "standby": "1x90"}),
            [
                *quiet("1m"),
                ("IpsechaHsrpActiveNotRfActive", "2m", [(not_rf_active, 1, not_rf_active_texts)]),
                *quiet("2m", but=["IpsechaHsrpActiveNotRfActive"]),
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

    def inconsistent(device: str, group_name: str) -> dict[str, str]:
        return warn(alertname="IpsechaStatefulGroupInconsistent", device=device, pair=P, group_name=group_name)

    def standby_ok(device: str, labels: str | None = None) -> str:
        labels = labels or dev(device)
        return s("ipsecha_command_status", labels + ',command="show standby",status="ok"', "1x90")

    def own_scheme(labels: str, group_name: str, values: str = "1x90") -> str:
        return s("ipsecha_redundancy_scheme_info", labels + f',group_name="{group_name}"', values)

    out.append(
        test(
            "The inventory names stateful group BRANCH-5-TUNNEL; R1's own `scheme standby` names OTHER from 0 on\n"
            "(R2's agrees): R1 pages after 10 minutes, naming the group it configures. Both answer show standby\n"
            "with the named group: nothing else.",
            baseline()
            + own_scheme(dev("R1"), "OTHER")
            + own_scheme(dev("R2"), "BRANCH-5-TUNNEL")
            + standby_ok("R1")
            + standby_ok("R2"),
            [
                ("IpsechaStatefulGroupInconsistent", "9m", []),
                ("IpsechaStatefulGroupInconsistent", "10m", [(inconsistent("R1", "OTHER"), 1)]),
            ],
        )
    )
    out.append(
        test(
            "As above, and R1's HSRP group carries its own scheme's name OTHER (so it also lacks\n"
            "BRANCH-5-TUNNEL): still one alert for R1, naming the group its scheme names.",
            baseline(r1={"active": "_x90", "standby": "_x90"})
            + s("ipsecha_hsrp_state", dev("R1") + "," + G + ',group_name="OTHER",state="standby"', "1x90")
            + own_scheme(dev("R1"), "OTHER")
            + own_scheme(dev("R2"), "BRANCH-5-TUNNEL")
            + standby_ok("R1")
            + standby_ok("R2"),
            [("IpsechaStatefulGroupInconsistent", "10m", [(inconsistent("R1", "OTHER"), 1)])],
        )
    )
    r1_probe, r2_probe = dev("R1", inst="R1", job="ipsecha-replica-1"), dev("R2", inst="R2", job="ipsecha-replica-2")
    out.append(
        test(
            "Over /probe (one target per device, two replicas), no stateful_group in the inventory: R1's scheme\n"
            "names BRANCH-5-TUNNEL, R2's OTHER from 20 on, and R2 has no HSRP group of that name. Consistent\n"
            "before: quiet at 29; both members page at 30 (each with the group it names).",
            hub("R2", **steady(13, 8, True), scheme="1x19 stale", inst="R2", job="ipsecha-replica-2")
            + hub("R1", **steady(8, 13, False), inst="R1", job="ipsecha-replica-1")
            + s("ipsecha_redundancy_stateful_group_info", r2_probe + ',group_name="OTHER"', "_x20 1x70")
            + own_scheme(r1_probe, "BRANCH-5-TUNNEL")
            + own_scheme(r2_probe, "BRANCH-5-TUNNEL", "1x19 stale")
            + own_scheme(r2_probe, "OTHER", "_x20 1x70")
            + standby_ok("R1", r1_probe)
            + standby_ok("R2", r2_probe),
            [
                ("IpsechaStatefulGroupInconsistent", "19m", []),
                ("IpsechaStatefulGroupInconsistent", "29m", []),
                (
                    "IpsechaStatefulGroupInconsistent",
                    "30m",
                    [(inconsistent("R1", "BRANCH-5-TUNNEL"), 1), (inconsistent("R2", "OTHER"), 1)],
                ),
            ],
        )
    )
    out.append(
        test(
            "R1 answers show standby but has no group named BRANCH-5-TUNNEL (only the LAN group INSIDE): it pages\n"
            "after 10 minutes. R2, whose show standby fails from 0 on (no HSRP series, status timeout), is not\n"
            "judged: a failed command is not a missing group.",
            baseline(r1={"active": "_x90", "standby": "_x90"}, r2={"active": "_x90", "standby": "_x90"})
            + lan_active("R1")
            + standby_ok("R1")
            + s("ipsecha_command_status", dev("R2") + ',command="show standby",status="timeout"', "1x90"),
            [
                ("IpsechaStatefulGroupInconsistent", "9m", []),
                ("IpsechaStatefulGroupInconsistent", "10m", [(inconsistent("R1", "BRANCH-5-TUNNEL"), 1)]),
            ],
        )
    )

    sa_missing = crit(alertname="IpsechaBranchSaMissing", device="R2", pair=P, peer="172.16.0.5")
    out.append(
        test(
            "SAs on the RF-active hub R2. .5 loses its SA at 0 for good: paged after 5 minutes. .4 rekeys every 10\n"
            "minutes (4 SAs while old and new overlap, counters restart with the new SA). .6 is idle (SA up, no\n"
            "traffic). .7 is down for 3 minutes while DPD and IKE set up a new SA. .9 is not expected (a stale\n"
            "crypto map entry). The standby R1 has 0 active SAs toward everyone, and standby copies of R2's (they\n"
            "follow .7's new SA). Only .5 pages; no error alert from the rekeys' counter resets.",
            baseline(r1={"ipsec": "1x90"})
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
            + peer_series("R1", "172.16.0.4", "0x90", copies="2x90")
            + peer_series("R1", "172.16.0.5", "0x90", copies="0x90")
            + peer_series("R1", "172.16.0.6", "0x90", copies="2x90")
            + peer_series("R1", "172.16.0.7", "0x90", copies="2x9 0x2 2x77"),
            [
                *quiet("4m"),
                ("IpsechaBranchSaMissing", "5m", [(sa_missing, 0)]),
                ("IpsechaBranchSaMissing", "60m", [(sa_missing, 0)]),
                *quiet("60m", but=["IpsechaBranchSaMissing"]),
            ],
        )
    )

    copies = crit(alertname="IpsechaStandbyMissingSaCopies", device="R1", pair=P)
    lost = [f"172.16.0.{n}" for n in range(4, 10)]
    out.append(
        test(
            "The SA sync stops at 10: the RF-active R2 keeps active SAs toward six branches, and the STANDBY HOT R1\n"
            "holds no copy of them from then on: 0 for the expected peers .4 and .5, no series at all for the\n"
            "others (the exporter writes a 0 only for expected peers). Paged after 5 minutes, one alert for R1.",
            baseline(r1={"ipsec": "1x90"}, r2={"ipsec": "1x90"})
            + "".join(
                peer_series("R2", peer, "2x90", expected=peer in lost[:2], copies="0x90")
                + (
                    peer_series("R1", peer, "0x90", expected=True, copies="2x9 0x80")
                    if peer in lost[:2]
                    else peer_series("R1", peer, "0x9 stale", expected=False, copies="2x9 stale")
                )
                for peer in lost
            ),
            [
                *quiet("14m"),
                (
                    "IpsechaStandbyMissingSaCopies",
                    "15m",
                    [(copies, 6, copies_texts("R1", "R2", lost[:5], more=1))],
                ),
                *quiet("15m", but=["IpsechaStandbyMissingSaCopies"]),
            ],
        )
    )
    out.append(
        test(
            "The same three branches, each missing its copies once, never for 5 minutes: .4's copies arrive at 8,\n"
            "3 minutes after R1 reached STANDBY HOT (bulk sync; not judged while STANDBY COLD-BULK); .5's copies\n"
            "lag a rekey for 4 minutes at 20; R2's .6 has no SA from 30 (not judged), and R1's `show crypto ipsec\n"
            "sa` fails from 40 (its copies unknown: not judged, DeviceNotPolled at 50). One STANDBY HOT peer with\n"
            "all its copies is never paged.",
            baseline(
                r1={"my": "7x4 8x85", "ipsec": "1x39 0x50", "up": "1x39 0x50"},
                r2={"peer": "7x4 8x85", "ipsec": "1x90"},
            )
            + peer_series("R2", "172.16.0.4", "2x90")
            + peer_series("R2", "172.16.0.5", "2x19 4 2x69")
            + peer_series("R2", "172.16.0.6", "2x29 0x60")
            + peer_series("R1", "172.16.0.4", "0x39 stale", copies="0x7 2x31 stale")
            + peer_series("R1", "172.16.0.5", "0x39 stale", copies="2x19 0x3 2x15 stale")
            + peer_series("R1", "172.16.0.6", "0x39 stale", copies="2x29 0x9 stale"),
            [
                *quiet("7m"),
                *quiet("24m"),
                *quiet("35m", but=["IpsechaBranchSaMissing"]),
                *quiet("49m", but=["IpsechaBranchSaMissing"]),
                ("IpsechaStandbyMissingSaCopies", "60m", []),
            ],
        )
    )

    out.append(
        test(
            "An image that prints its synchronised copies as `Status: ACTIVE` on the standby: STANDBY HOT R1 shows\n"
            "active SAs and no STANDBY ones toward both branches. Those are its copies (the `check` rule counts any\n"
            "SA the standby holds): never paged. Once they are gone too, at 30, it is.",
            baseline(r1={"ipsec": "1x90"}, r2={"ipsec": "1x90"})
            + "".join(
                peer_series("R2", peer, "2x90") + peer_series("R1", peer, "2x29 0x60", copies="0x90")
                for peer in ("172.16.0.4", "172.16.0.5")
            ),
            [
                *quiet("34m", but=["IpsechaBranchSaMissing"]),
                ("IpsechaStandbyMissingSaCopies", "29m", []),
                (
                    "IpsechaStandbyMissingSaCopies",
                    "35m",
                    [(copies, 2, copies_texts("R1", "R2", ["172.16.0.4", "172.16.0.5"]))],
                ),
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
            "replica was added; the two jobs' target lists refresh at different times). b's latest poll reads the\n"
            "uptime two minutes lower than a's (an older poll, and IOS's minute resolution). a lets go at 20: R2's\n"
            "series change instance and the uptime steps back by a minute: no reload, no duplicate RF-active member.\n"
            "Then R2 really reloads at 30, seen through b: paged, and counted once.",
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
                boots=[("1x19 stale", "power-on", "power", BOOT0)],
            )
            + hub(
                "R2",
                up="_x10 1x19 0 1x60",
                my="_x10 13x19 stale _ 13x60",
                peer="_x10 8x19 stale _ 8x60",
                duplex="_x10 1x19 stale _ 1x60",
                comms="_x10 1x19 stale _ 1x60",
                uptime="_x10 1814880+60x19 stale _ 0+60x60",
                active="_x10 1x19 stale _ 1x60",
                standby="_x10 0x19 stale _ 0x60",
                scheme="_x10 1x19 stale _ 1x60",
                age="_x10 1x80",
                inst="b:9477",
                # b's boot label for the same boot is a minute later: it read the uptime a minute lower.
                boots=[
                    ("_x10 1x19 stale", "power-on", "power", "1969-12-11T00:01Z"),
                    ("_x32 1x60", "power-on", "power", boot_at(32)),
                ],
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
                            crit(alertname="IpsechaUnexpectedReload", device="R2", pair=P, boot=boot_at(32)),
                            1,
                            reload_texts("R2", P, boot_at(32), "power", "power-on"),
                        )
                    ],
                ),
                *quiet("32m", but=["IpsechaUnexpectedReload"]),
            ],
            exprs=[
                ('device:ipsecha_reloads:1h{device="R2"}', "29m", [(R2_LABELS, 0)]),
                ('device:ipsecha_reloaded:5m{device="R2"}', "21m", [(R2_LABELS, 0)]),
                ('device:ipsecha_reloads:1h{device="R2"}', "33m", [(R2_LABELS, 1)]),
                ("pair:ipsecha_rf_active_members_as_reported:sum", "25m", [({"pair": P}, 1)]),
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
    dual = {"duplex": "1x9 0x29 1x50", "comms": "1x9 0x29 1x50"}
    out.append(
        test(
            "The IPC link fails at 10 and both hubs go RF ACTIVE until 40: each runs Simplex with IPC down and its\n"
            "peer DISABLED, and R1 has no SA toward expected branch .4. All of it follows from the two actives: only\n"
            "IpsechaPairNotOneRfActive fires (the rules leave the rest out while it fires, so that its resolution\n"
            "names nothing that never paged), and nothing once the pair is whole again.",
            baseline(
                r1={"my": "8x9 13x29 8x50", "peer": "13x9 1x29 13x50"} | dual,
                r2={"peer": "8x9 1x29 8x50"} | dual,
            )
            + peer_series("R1", "172.16.0.4", "0x90")
            + peer_series("R2", "172.16.0.4", "2x90"),
            [
                *quiet("11m"),
                (
                    "IpsechaPairNotOneRfActive",
                    "30m",
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
                *quiet("12m", but=["IpsechaPairNotOneRfActive"]),
                *quiet("30m", but=["IpsechaPairNotOneRfActive"]),
                *quiet("39m", but=["IpsechaPairNotOneRfActive"]),
                *quiet("45m"),
            ],
        )
    )
    out.append(
        test(
            "No hub RF ACTIVE from 1: R2 stops answering, R1 stays STANDBY HOT (it did not take over) and reports\n"
            "its peer DISABLED with communications Down. Paged after 2 minutes.",
            baseline(r2=R2_GONE_AT_1, r1={"peer": "13 1x89", "duplex": "1 0x89", "comms": "1 0x89"}),
            [
                ("IpsechaPairNotOneRfActive", "2m", []),
                (
                    "IpsechaPairNotOneRfActive",
                    "3m",
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
    unreachable = hub("R2", **(steady(13, 8, True) | R2_GONE_AT_1))
    out.append(
        test(
            "The RF-active hub R2 answers no poll from 1 (SSH refused: its management access is cut), while R1\n"
            "stays STANDBY HOT and reports its peer ACTIVE with communications Up: R2 counts as the RF-active hub.\n"
            "No pair alert; only IpsechaDeviceNotPolled, after 10 minutes. R2's series stop, its device_up stays.",
            unreachable + hub("R1", **steady(8, 13, False)),
            [
                *quiet("3m"),
                *quiet("10m", but=["IpsechaDeviceNotPolled"]),
                ("IpsechaDeviceNotPolled", "10m", []),
                ("IpsechaDeviceNotPolled", "11m", [(warn(alertname="IpsechaDeviceNotPolled", device="R2", pair=P), 0)]),
                *quiet("60m", but=["IpsechaDeviceNotPolled"]),
            ],
            exprs=[
                ("pair:ipsecha_rf_active_members:sum", "5m", [({"pair": P}, 0)]),
                ("device:ipsecha_rf_active_by_peer:bool", "5m", [(R2_LABELS, 1)]),
                ("pair:ipsecha_rf_active_members_as_reported:sum", "5m", [({"pair": P}, 1)]),
            ],
        )
    )

    def branch(d: str) -> str:
        return dev(d, "", d, "ipsecha-replica-1")  # in no pair, scraped through /probe

    out.append(
        test(
            'Routers in no pair (pair=""), scraped through /probe (instance = the device): branch R4 stops\n'
            "answering polls at 0, the exporter's poll of R5 hangs at 0, R6 counts receive errors from the hub\n"
            "rising from 0, R7, a standalone hub that reports RF ACTIVE, has no SA toward its expected peer, and\n"
            "branch R8 loses power three times (back at 6, 13 and 20): three reload alerts and a reload loop.\n"
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
            + s("ipsecha_ipsec_peer_expected", branch("R7") + ',peer="172.16.0.8"', "1x30")
            + s("ipsecha_device_up", branch("R8"), "1x3 0 0 1x4 0 0 1x4 0 0 1x10")
            + s("ipsecha_data_age_seconds", branch("R8"), "1x30")
            + s("ipsecha_uptime_seconds", branch("R8"), "500000+60x3 stale _ 0+60x4 stale _ 0+60x4 stale _ 0+60x10")
            + reload_info(branch("R8"), "1x3 stale", "power-on", "power", "1969-12-26T05:06Z", "power-on")
            + reload_info(branch("R8"), "_x6 1x4 stale", "power-on", "power", boot_at(6), "power-on")
            + reload_info(branch("R8"), "_x13 1x4 stale", "power-on", "power", boot_at(13), "power-on")
            + reload_info(branch("R8"), "_x20 1x10", "power-on", "power", boot_at(20), "power-on"),
            [
                *quiet("4m"),
                ("IpsechaReloadLoop", "19m", []),
                (
                    "IpsechaReloadLoop",
                    "20m",
                    [(crit(alertname="IpsechaReloadLoop", device="R8", pair=""), 3)],
                ),
                (
                    "IpsechaUnexpectedReload",
                    "20m",
                    [
                        (
                            crit(alertname="IpsechaUnexpectedReload", device="R8", pair="", boot=boot_at(back)),
                            1,
                            reload_texts("R8", "", boot_at(back), "power", "power-on"),
                        )
                        for back in (6, 13, 20)
                    ],
                ),
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

    def branch_reload(d: str, reason: str, cause: str) -> str:
        """Branch router `d` (in no pair, from /metrics) back from a reload at 6 with `reason` and `cause`."""
        labels = dev(d, "")
        return (
            s("ipsecha_device_up", labels, "1x3 0 0 1x24")
            + s("ipsecha_data_age_seconds", labels, "1x30")
            + s("ipsecha_uptime_seconds", labels, "500000+60x3 stale _ 0+60x24")
            + reload_info(labels, "1x3 stale", "power-on", "power", "1969-12-26T05:06Z", "power-on")
            + reload_info(labels, "_x6 1x24", reason, cause, boot_at(6), reason)
        )

    causes = [
        ("R9", "bus error at PC 0x6082F7C0, address 0x0", "crash"),
        ("R10", "", "unknown"),
        ("R11", "s/w reset", "unknown"),
    ]
    out.append(
        test(
            "Branch routers back at 6 from a crash (`show version`'s bus error), from a reload `show version`\n"
            "gives no reason for, and from one it gives a reason no rule knows: each paged, naming what it knows.",
            "".join(branch_reload(d, reason, cause) for d, reason, cause in causes),
            [
                *quiet("5m"),
                (
                    "IpsechaUnexpectedReload",
                    "6m",
                    [
                        (
                            crit(alertname="IpsechaUnexpectedReload", device=d, pair="", boot=boot_at(6)),
                            1,
                            reload_texts(d, "", boot_at(6), cause, reason),
                        )
                        for d, reason, cause in causes
                    ],
                ),
                *quiet("6m", but=["IpsechaUnexpectedReload"]),
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

    # Exporter outages: the scrape of the exporter's target fails from 20 to 34 (`up` 0, every series it
    # delivers gone), and it is back at 35 with the same data.
    def gap(value: object) -> str:
        """A series the exporter serves every minute but during the outage; `value`: a constant or f(minute)."""
        return values([None if 20 <= m <= 34 else (value(m) if callable(value) else value) for m in MINUTES])

    def served(my: int, peer: int, hsrp_active: bool, **more: object) -> dict[str, str]:
        """A steady hub's series with the outage's gap; `more`: other series (preempt, ipsec) as constants."""
        series = {
            "up": gap(1),
            "my": gap(my),
            "peer": gap(peer),
            "duplex": gap(1),
            "comms": gap(1),
            "uptime": gap(lambda m: 1814400 + 60 * m),
            "active": gap(int(hsrp_active)),
            "standby": gap(int(not hsrp_active)),
            "scheme": gap(1),
            "age": gap(1),
        }
        return series | {key: gap(value) for key, value in more.items()}

    outage_up = values([0 if 20 <= m <= 34 else 1 for m in MINUTES])
    sa_copies = crit(alertname="IpsechaStandbyMissingSaCopies", device="R1", pair=P)
    branch_5 = crit(alertname="IpsechaBranchSaMissing", device="R2", pair=P, peer="172.16.0.5")
    branch_6 = crit(alertname="IpsechaBranchSaMissing", device="R2", pair=P, peer="172.16.0.6")
    preempt_r1 = warn(
        alertname="IpsechaHsrpPreemptOnStatefulGroup", device="R1", pair=P, interface="FastEthernet0/0", group="1"
    )
    held_copies = {
        "summary": f"{P}: STANDBY HOT R1 holds no SA copies for 1 branch peer with active SAs on RF-active hub (no"
        " data from the exporter now)",
        "description": copies_texts("R1", "R2", ["172.16.0.4"])["description"].replace(
            "toward 172.16.0.4 for", "toward 1 branch peer (not listed: no data from the exporter now) for"
        ),
    }
    standing = ["IpsechaStandbyMissingSaCopies", "IpsechaBranchSaMissing", "IpsechaHsrpPreemptOnStatefulGroup"]
    out.append(
        test(
            "/metrics, an exporter outage during a standing incident. From 0: the STANDBY HOT R1 holds no copy of\n"
            "R2's SAs toward .4, R2 has no SA toward expected branches .5 and .6, and R1 preempts on the stateful\n"
            "group: all three fire at 5. The exporter's scrape fails from 20 to 34: the alerts that fired stay\n"
            "firing with their values (the texts say what is not known now), and go on firing when the same data\n"
            "returns at 35: no resolution, no new `for:`. .6 got its SA back during the outage: resolved 5 minutes\n"
            "after the data is back (the hold's price), not at once.",
            hub("R2", **served(13, 8, True, ipsec=1))
            + hub("R1", **served(8, 13, False, ipsec=1, preempt=1))
            + s("ipsecha_ipsec_sa_active", dev("R2") + ',peer="172.16.0.4"', gap(2))
            + s("ipsecha_ipsec_sa_active", dev("R1") + ',peer="172.16.0.4"', gap(0))
            + s("ipsecha_ipsec_sa_standby", dev("R1") + ',peer="172.16.0.4"', gap(0))
            + s("ipsecha_ipsec_sa_active", dev("R2") + ',peer="172.16.0.5"', gap(0))
            + s("ipsecha_ipsec_peer_expected", dev("R2") + ',peer="172.16.0.5"', gap(1))
            + s("ipsecha_ipsec_sa_active", dev("R2") + ',peer="172.16.0.6"', gap(lambda m: 0 if m < 20 else 2))
            + s("ipsecha_ipsec_peer_expected", dev("R2") + ',peer="172.16.0.6"', gap(1))
            + s("ipsecha_ipsec_sa_standby", dev("R1") + ',peer="172.16.0.6"', gap(lambda m: 0 if m < 20 else 2))
            + s("up", 'instance="exporter:9477",job="ipsecha"', outage_up),
            [
                ("IpsechaStandbyMissingSaCopies", "5m", [(sa_copies, 1, copies_texts("R1", "R2", ["172.16.0.4"]))]),
                ("IpsechaBranchSaMissing", "5m", [(branch_5, 0), (branch_6, 0)]),
                ("IpsechaHsrpPreemptOnStatefulGroup", "5m", [(preempt_r1, 1)]),
                *quiet("19m", but=standing),
                ("IpsechaStandbyMissingSaCopies", "30m", [(sa_copies, 1, held_copies)]),
                ("IpsechaBranchSaMissing", "30m", [(branch_5, 0), (branch_6, 0)]),
                ("IpsechaHsrpPreemptOnStatefulGroup", "34m", [(preempt_r1, 1)]),
                # The outage is IpsechaExporterDown's page alone: no device's data is called stale.
                *quiet("34m", but=[*standing, "IpsechaExporterDown"]),
                *quiet("38m", but=standing),
                ("IpsechaStandbyMissingSaCopies", "35m", [(sa_copies, 1, copies_texts("R1", "R2", ["172.16.0.4"]))]),
                ("IpsechaBranchSaMissing", "39m", [(branch_5, 0), (branch_6, 0)]),
                ("IpsechaBranchSaMissing", "40m", [(branch_5, 0)]),
                *quiet("40m", but=standing),
                ("IpsechaStandbyMissingSaCopies", "60m", [(sa_copies, 1, copies_texts("R1", "R2", ["172.16.0.4"]))]),
                ("IpsechaHsrpPreemptOnStatefulGroup", "60m", [(preempt_r1, 1)]),
            ],
            exprs=[
                ("device:ipsecha_scrape_failed:5m", "19m", []),
                ("device:ipsecha_scrape_failed:5m", "30m", [(R1_LABELS, 1), (R2_LABELS, 1)]),
                ("device:ipsecha_scrape_failed:5m", "39m", [(R1_LABELS, 1), (R2_LABELS, 1)]),
                ("device:ipsecha_scrape_failed:5m", "40m", []),
            ],
        )
    )

    replica = {"inst": "R1", "job": "ipsecha-replica-0"}
    out.append(
        test(
            "/probe, the same outage of replica 0, which probes both hubs (instance = the device): a split brain\n"
            "since 0 (paged at 1) is held through it with its value, and goes on when the data returns. R1 hangs in\n"
            "STANDBY COLD from 10 on: its peer alert was only pending when the outage began, so it starts again\n"
            "when the data is back (15 minutes from 35), not paged on data nobody saw.",
            hub(
                "R2",
                **(served(13, 4, True) | {"my": gap(lambda m: 13), "peer": gap(lambda m: 8 if m < 10 else 4)}),
                inst="R2",
                job="ipsecha-replica-0",
            )
            + hub("R1", **(served(8, 13, True) | {"my": gap(lambda m: 8 if m < 10 else 4)}), **replica)
            + s("up", 'instance="R1",job="ipsecha-replica-0"', outage_up)
            + s("up", 'instance="R2",job="ipsecha-replica-0"', outage_up),
            [
                ("IpsechaHsrpSplitBrain", "1m", [(split, 2, {"summary": SPLIT_SUMMARY})]),
                (
                    "IpsechaHsrpSplitBrain",
                    "30m",
                    [
                        (
                            split,
                            2,
                            {
                                "summary": f"{P}: split brain, 2 hubs are HSRP active on the stateful group (HSRP"
                                " states: not known, no data from the exporter now)"
                            },
                        )
                    ],
                ),
                ("IpsechaHsrpSplitBrain", "36m", [(split, 2, {"summary": SPLIT_SUMMARY})]),
                *quiet("24m", but=["IpsechaHsrpSplitBrain", "IpsechaExporterDown"]),
                *quiet("49m", but=["IpsechaHsrpSplitBrain"]),
                (
                    "IpsechaPeerNotStandbyHot",
                    "50m",
                    [(not_hot, 4, peer_texts(4, "STANDBY COLD", "STANDBY COLD"))],
                ),
            ],
            exprs=[
                ("pair:ipsecha_scrape_failed:5m", "30m", [({"pair": P}, 1)]),
                ("pair:ipsecha_scrape_failed:5m", "45m", []),
            ],
        )
    )
    out += xe_cases()
    return "".join(out)


# --- IOS-XE box-to-box pairs ---------------------------------------------------

XP = "XE-PAIR-1"
RG_ALERTS = [name for name in ALERTS if name.startswith("IpsechaRg")]


def xe(
    d,
    *,
    role,
    peer_rf,
    group="1",
    up="1x90",
    peer_role=None,
    present="1x90",
    comm="1x90",
    ctrl="1x90",
    admin="1x90",
    oper="1x90",
    faults="1x90",
    runtime="150x90",
    priority="150x90",
    to_active="10x90",
    switchovers="8x90",
    lost="0x90",
    peer_lost="0x90",
    auth="0x90",
    vip=None,
    uptime=None,
    boots=None,
) -> str:
    """One member of XE-PAIR-1 and one redundancy group: `role` is a promtool value string per role
    ("active", "standby", "init"), given as {role: values}; `vip`: the values of ipsecha_rg_vip_owned for
    10.0.0.3 on GigabitEthernet0/0/3 (none if not given); `uptime`/`boots` as hub()'s."""
    L = dev(d, XP)
    G = L + f',group="{group}"'
    out = s("ipsecha_device_up", L, up) + s("ipsecha_data_age_seconds", L, "1x90")
    if uptime:
        out += s("ipsecha_uptime_seconds", L, uptime)
        for values_, why, how, boot in boots or [("1x90", "reload", "operator", BOOT0)]:
            out += reload_info(L, values_, why, how, boot)
    for name, values_ in role.items():
        out += s("ipsecha_rg_role", G + f',role="{name}"', values_)
    for name, values_ in (peer_role or {}).items():
        out += s("ipsecha_rg_peer_role", G + f',role="{name}"', values_)
    for metric, values_ in (
        ("ipsecha_rg_peer_rf_state", peer_rf),
        ("ipsecha_rg_peer_present", present),
        ("ipsecha_rg_peer_comm", comm),
        ("ipsecha_rg_control_interface_up", ctrl),
        ("ipsecha_rg_admin_up", admin),
        ("ipsecha_rg_oper_up", oper),
        ("ipsecha_rg_faults_up", faults),
        ("ipsecha_rg_runtime_priority", runtime),
        ("ipsecha_rg_priority", priority),
        ("ipsecha_rg_fault_switchovers_total", switchovers),
        ("ipsecha_rg_authentication_failures_total", auth),
    ):
        out += s(metric, G, values_)
    out += s("ipsecha_rg_role_changes_total", G + ',to="active"', to_active)
    out += s("ipsecha_rg_hello_packets_lost_total", G + ',side="local"', lost)
    out += s("ipsecha_rg_hello_packets_lost_total", G + ',side="peer"', peer_lost)
    if vip:
        out += s("ipsecha_rg_vip_owned", G + ',interface="GigabitEthernet0/0/3",vip="10.0.0.3"', vip)
    return out


ACTIVE_ROLE = {"active": "1x90", "standby": "0x90", "init": "0x90"}
STANDBY_ROLE = {"active": "0x90", "standby": "1x90", "init": "0x90"}


def xe_baseline(xe1: dict | None = None, xe2: dict | None = None) -> str:
    """A healthy XE pair: XE1 ACTIVE in group 1 (priority 200, its peer STANDBY HOT) owning the VIP, XE2
    STANDBY (150); the inventory's failover threshold 140."""
    one = dict(role=ACTIVE_ROLE, peer_rf="8x90", runtime="200x90", priority="200x90", vip="1x90") | (xe1 or {})
    two = dict(role=STANDBY_ROLE, peer_rf="13x90", vip="0x90") | (xe2 or {})
    return (
        xe("XE1", **one)
        + xe("XE2", **two)
        + s("ipsecha_rg_failover_threshold", f'instance="exporter:9477",job="ipsecha",pair="{XP}",group="1"', "140x90")
    )


def rg(**labels: str) -> dict[str, str]:
    return {"pair": XP, "group": "1", **labels}


def xe_cases() -> list[str]:
    out = []
    x1, x2 = {"device": "XE1"}, {"device": "XE2"}
    out.append(
        test(
            "IOS-XE box-to-box pair XE-PAIR-1 (XE1 ACTIVE in redundancy group 1, XE2 STANDBY HOT, the VIP on XE1),\n"
            "healthy for 90 minutes: no alert at all.",
            xe_baseline(xe1={"uptime": "1814400+60x90"}, xe2={"uptime": "1814400+60x90"}),
            [*quiet("5m"), *quiet("45m"), *quiet("90m")],
        )
    )
    split = crit(alertname="IpsechaRgSplitBrain", **rg())
    vip_both = crit(alertname="IpsechaRgVipOnBoth", **rg(vip="10.0.0.3"))
    lost1 = crit(alertname="IpsechaRgPeerLost", **rg(**x1))
    lost2 = crit(alertname="IpsechaRgPeerLost", **rg(**x2))
    out.append(
        test(
            "The control link is cut at 10: both members go ACTIVE with Peer Comm No and the control interface\n"
            "down, and both hold the VIP `no shut`. Split brain, VIP on both and peer lost on both from 11; the\n"
            "ACTIVE member's peer not STANDBY HOT is the split brain's alone. Mended at 40.",
            xe_baseline(
                xe1={"peer_rf": "8x9 1x29 8x50", "comm": "1x9 0x29 1x50", "ctrl": "1x9 0x29 1x50"},
                xe2={
                    "role": {"active": "0x9 1x29 0x50", "standby": "1x9 0x29 1x50", "init": "0x90"},
                    "peer_rf": "13x9 1x29 13x50",
                    "comm": "1x9 0x29 1x50",
                    "ctrl": "1x9 0x29 1x50",
                    "vip": "0x9 1x29 0x50",
                },
            ),
            [
                *quiet("9m", *RG_ALERTS),
                *quiet("10m", *RG_ALERTS),
                ("IpsechaRgSplitBrain", "11m", [(split, 2)]),
                ("IpsechaRgVipOnBoth", "11m", [(vip_both, 2)]),
                ("IpsechaRgPeerLost", "11m", [(lost1, 0), (lost2, 0)]),
                *quiet("13m", "IpsechaRgPeerNotStandbyHot", "IpsechaRgNoActive"),
                ("IpsechaRgSplitBrain", "30m", [(split, 2)]),
                *quiet("45m", *RG_ALERTS),
            ],
        )
    )
    no_active = crit(alertname="IpsechaRgNoActive", **rg())
    out.append(
        test(
            "XE1 drops to INIT at 10 while XE2 stays STANDBY: both answer, none ACTIVE, paged at 11. XE1 answers\n"
            "no poll from 30 (its series gone): a member that is not polled is not one that is not ACTIVE.",
            xe_baseline(
                xe1={
                    "up": "1x29 0x60",
                    "role": {"active": "1x9 0x19 stale", "standby": "0x29 stale", "init": "0x9 1x19 stale"},
                    "peer_rf": "8x29 stale",
                    "present": "1x29 stale",
                    "comm": "1x29 stale",
                    "ctrl": "1x29 stale",
                    "admin": "1x29 stale",
                    "oper": "1x29 stale",
                    "faults": "1x29 stale",
                    "runtime": "200x29 stale",
                    "priority": "200x29 stale",
                    "to_active": "10x29 stale",
                    "switchovers": "8x29 stale",
                    "lost": "0x29 stale",
                    "peer_lost": "0x29 stale",
                    "auth": "0x29 stale",
                    "vip": "1x9 0x19 stale",
                },
                xe2={"peer_rf": "13x9 2x80"},
            ),
            [
                *quiet("10m", "IpsechaRgNoActive"),
                ("IpsechaRgNoActive", "11m", [(no_active, 0)]),
                ("IpsechaRgNoActive", "29m", [(no_active, 0)]),
                *quiet("35m", "IpsechaRgNoActive", "IpsechaRgSplitBrain", "IpsechaRgPeerNotStandbyHot"),
                *quiet("80m", "IpsechaRgNoActive"),
            ],
        )
    )
    not_hot = crit(alertname="IpsechaRgPeerNotStandbyHot", **rg(**x1))
    xe2_back = "1x9 stale _x9 1x70"
    out.append(
        test(
            "XE2 (STANDBY) reloads at 10: it answers no poll 10-19 while XE1 reports it DISABLED (not judged: not\n"
            "polled), comes back at 20 in INIT and walks STANDBY COLD to STANDBY HOT at 22 (within the reload\n"
            "timer: never paged). From 40 XE1 reports it STANDBY COLD (4) again: paged at 42, for: 2m.",
            xe_baseline(
                xe1={"peer_rf": "8x9 1x9 2 4 8x17 4x50", "present": "1x9 0x9 1x70"},
                xe2={
                    "up": "1x9 0x9 1x70",
                    "role": {
                        "active": "0x9 stale _x9 0x70",
                        "standby": "1x9 stale _x9 0 0 1x68",
                        "init": "0x9 stale _x9 1 1 0x68",
                    },
                    "peer_rf": "13x9 stale _x9 13x70",
                    "present": xe2_back,
                    "comm": xe2_back,
                    "ctrl": xe2_back,
                    "admin": xe2_back,
                    "oper": xe2_back,
                    "faults": xe2_back,
                    "runtime": "150x9 stale _x9 150x70",
                    "priority": "150x9 stale _x9 150x70",
                    "to_active": "10x9 stale _x9 10x70",
                    "switchovers": "8x9 stale _x9 8x70",
                    "lost": "0x9 stale _x9 0x70",
                    "peer_lost": "0x9 stale _x9 0x70",
                    "auth": "0x9 stale _x9 0x70",
                    "vip": "0x9 stale _x9 0x70",
                },
            ),
            [
                *quiet("15m", "IpsechaRgPeerNotStandbyHot", "IpsechaRgNoActive", "IpsechaRgSplitBrain"),
                *quiet("19m", "IpsechaRgPeerNotStandbyHot"),
                *quiet("22m", "IpsechaRgPeerNotStandbyHot", "IpsechaRgNoActive", "IpsechaRgSplitBrain"),
                *quiet("41m", "IpsechaRgPeerNotStandbyHot"),
                ("IpsechaRgPeerNotStandbyHot", "42m", [(not_hot, 4)]),
                ("IpsechaRgPeerNotStandbyHot", "80m", [(not_hot, 4)]),
            ],
        )
    )
    down = crit(alertname="IpsechaRgDown", **rg(**x2))
    out.append(
        test(
            "XE2's group faults at 10 (RG Faults state Down) until 20, then is shut (Administrative State\n"
            "Shutdown) 40-50: each paged after a minute, resolved once Up again.",
            xe_baseline(xe2={"faults": "1x9 0x9 1x70", "admin": "1x39 0x9 1x40"}),
            [
                *quiet("10m", "IpsechaRgDown"),
                ("IpsechaRgDown", "11m", [(down, 0)]),
                *quiet("25m", "IpsechaRgDown"),
                ("IpsechaRgDown", "45m", [(down, 0)]),
                *quiet("60m", "IpsechaRgDown"),
            ],
        )
    )
    decremented = warn(alertname="IpsechaRgPriorityDecremented", **rg(**x1))
    at_threshold = crit(alertname="IpsechaRgPriorityAtThreshold", **rg(**x1))
    out.append(
        test(
            "A tracked object of XE1 falls at 10 (runtime priority 190 under the configured 200; paged at 12, a\n"
            "warning), a second one at 30 (140: the inventory's failover threshold 140 reached, paged at 31).\n"
            "Group 2 has no threshold in the inventory: its priority 50 is never judged against one.",
            xe_baseline(xe1={"runtime": "200x9 190x19 140x60"})
            + xe("XE1", group="2", role=ACTIVE_ROLE, peer_rf="8x90", runtime="50x90", priority="50x90"),
            [
                *quiet("11m", "IpsechaRgPriorityDecremented", "IpsechaRgPriorityAtThreshold"),
                ("IpsechaRgPriorityDecremented", "12m", [(decremented, 190)]),
                *quiet("30m", "IpsechaRgPriorityAtThreshold"),
                ("IpsechaRgPriorityAtThreshold", "31m", [(at_threshold, 140)]),
                ("IpsechaRgPriorityDecremented", "31m", [(decremented, 140)]),
            ],
        )
    )
    flapping = crit(alertname="IpsechaRgFlapping", **rg())
    out.append(
        test(
            "Role changes to ACTIVE on XE1 at 10 and on XE2 at 20, a fault switchover on XE1 at 30: 3 within the\n"
            "hour, paged at 30 until the first leaves the hour (at 70).",
            xe_baseline(xe1={"to_active": "10x9 11x81", "switchovers": "8x29 9x61"}, xe2={"to_active": "10x19 11x71"}),
            [
                *quiet("25m", "IpsechaRgFlapping"),
                ("IpsechaRgFlapping", "30m", [(flapping, 3)]),
                ("IpsechaRgFlapping", "65m", [(flapping, 3)]),
                *quiet("75m", "IpsechaRgFlapping"),
            ],
        )
    )
    link1 = warn(alertname="IpsechaRgControlLinkErrors", **rg(**x1))
    link2 = warn(alertname="IpsechaRgControlLinkErrors", **rg(**x2))
    out.append(
        test(
            "XE1 loses 5 hellos at 20 (its own Pkt Loss), XE2 counts an authentication failure at 50: each paged at\n"
            "once for the 10 minutes after.",
            xe_baseline(xe1={"lost": "0x19 5x71"}, xe2={"auth": "0x49 1x41"}),
            [
                *quiet("19m", "IpsechaRgControlLinkErrors"),
                ("IpsechaRgControlLinkErrors", "20m", [(link1, 5)]),
                ("IpsechaRgControlLinkErrors", "29m", [(link1, 5)]),
                *quiet("31m", "IpsechaRgControlLinkErrors"),
                ("IpsechaRgControlLinkErrors", "50m", [(link2, 1)]),
                *quiet("61m", "IpsechaRgControlLinkErrors"),
            ],
        )
    )
    preempted = warn(alertname="IpsechaRgPreempted", **rg())
    pair_labels = f'instance="exporter:9477",job="ipsecha",pair="{XP}"'
    out.append(
        test(
            "The exporter counts a takeover by preempt in group 1 at 20: a warning for the hour after. A takeover\n"
            "after a fault in group 2 at 40 is no preempt.",
            xe_baseline()
            + s("ipsecha_rg_takeovers_total", pair_labels + ',group="1",cause="preempt"', "0x19 1x71")
            + s("ipsecha_rg_takeovers_total", pair_labels + ',group="1",cause="fault"', "0x90")
            + s("ipsecha_rg_takeovers_total", pair_labels + ',group="2",cause="preempt"', "0x90")
            + s("ipsecha_rg_takeovers_total", pair_labels + ',group="2",cause="fault"', "0x39 1x51"),
            [
                *quiet("15m", "IpsechaRgPreempted"),
                ("IpsechaRgPreempted", "20m", [(preempted, 1)]),
                ("IpsechaRgPreempted", "45m", [(preempted, 1)]),
                *quiet("85m", "IpsechaRgPreempted"),
            ],
        )
    )
    reload = crit(alertname="IpsechaUnexpectedReload", device="XE1", pair=XP, boot=boot_at(16))
    out.append(
        test(
            "XE1 (ACTIVE) faults at 10 and its group reloads it: XE2 takes over, XE1 answers no poll 10-15 and is\n"
            "back at 16 as STANDBY; its log counters' local reload request rose (cause rg_reload): paged as an\n"
            "unexpected reload at once, with the cause.",
            xe(
                "XE1",
                up="1x9 0x5 1x74",
                role={"active": "1x9 stale _x5 0x74", "standby": "0x9 stale _x5 1x74", "init": "0x9 stale _x5 0x74"},
                peer_rf="8x9 stale _x5 13x74",
                uptime="1814400+60x9 stale _x5 0+60x74",
                boots=[("1x9 stale", "reload", "operator", BOOT0), ("_x16 1x74", "reload", "rg_reload", boot_at(16))],
            )
            + xe(
                "XE2",
                role={"active": "0x9 1x81", "standby": "1x9 0x81", "init": "0x90"},
                peer_rf="13x9 1x5 8x74",
                present="1x9 0x5 1x74",
                to_active="10x9 11x81",
                uptime="1814400+60x90",
            ),
            [
                *quiet("15m", "IpsechaUnexpectedReload"),
                (
                    "IpsechaUnexpectedReload",
                    "16m",
                    [(reload, 1, reload_texts("XE1", XP, boot_at(16), "rg_reload", "reload"))],
                ),
                *quiet(
                    "20m", "IpsechaRgSplitBrain", "IpsechaRgNoActive", "IpsechaRgPeerNotStandbyHot", "IpsechaRgFlapping"
                ),
            ],
        )
    )
    return out


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "ipsecha-rules.test.yml"
    target.write_text(build())


if __name__ == "__main__":
    main()
