"""`show crypto ikev2 sa`: real outputs (test_corpus.py checks them against
their source's expected parse), the empty and refused answers, the metrics,
and the lab's IKEv2 branches polled over real SSH (an image without IKEv2
keeps the device up)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from support.exposition import parse_samples
from support.exposition import sample as value
from support.inventories import write_inventory
from support.paths import CORPUS, FIXTURES, MANIFEST
from support.snapshots import snapshot_of

from ipsec_ha_monitor.export import ExportView, render
from ipsec_ha_monitor.health import evaluate_pair
from ipsec_ha_monitor.inventory import load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.lab.outputs import SHOW_COMMANDS
from ipsec_ha_monitor.lab.router import Clock, Faults
from ipsec_ha_monitor.lab.topology import build_pairs, drop_tunnel, lab_credentials, set_baseline
from ipsec_ha_monitor.parse import ParseError, errors, parse_output
from ipsec_ha_monitor.poll import BRANCH_COMMANDS, HUB_COMMANDS, Poller
from ipsec_ha_monitor.poll.commands import SUPPLEMENTARY, WITHOUT
from ipsec_ha_monitor.records import Ikev2Sa
from ipsec_ha_monitor.snapshot import CommandResult, Snapshot, Status

COMMAND = "show crypto ikev2 sa"
FOLDERS = {"show_crypto_ikev2_sa": COMMAND, "show_crypto_ikev2_sa_detail": "show crypto ikev2 sa detail"}
RAWS = sorted(raw for folder in FOLDERS for raw in (CORPUS / folder).glob("*.raw"))


def _records(raw: Path) -> list[Ikev2Sa]:
    records = parse_output(FOLDERS[raw.parent.name], raw.read_text(encoding="utf-8"))
    assert all(isinstance(record, Ikev2Sa) for record in records)
    return records  # type: ignore[return-value]


def test_real_outputs_come_with_their_sources() -> None:
    """Every sample here is listed in MANIFEST.tsv with its source (the corpus
    test checks the listing itself): at least the nine of genieparser's."""
    with MANIFEST.open(encoding="utf-8", newline="") as stream:
        listed = {row["file"]: row for row in csv.DictReader(stream, delimiter="\t", quoting=csv.QUOTE_NONE)}
    for raw in RAWS:
        for path in (raw, raw.with_name(raw.name.removesuffix(".raw") + ".expected.json")):
            row = listed[path.relative_to(CORPUS).as_posix()]
            assert row["source_repo"] == "CiscoTestAutomation/genieparser" and row["license"] == "Apache-2.0"
    assert len(RAWS) >= 9


def test_real_ipv6_layout_and_detail_lines() -> None:
    """IPv6 tunnels print Local/Remote on lines of their own; `detail` adds
    the identities, the initiator flag and the remote subnets."""
    first, second = _records(CORPUS / "show_crypto_ikev2_sa/genie__iosxe_golden_output2.raw")
    assert (first.address_family, first.local_address, first.remote_address) == (
        "ipv6",
        "2001:DB8:1101::131",
        "2001:DB8:1201::122",
    )
    assert second.remote_address == "2001:DB8:1202::123" and second.pqc_key_exchange == "ML-KEM-1024"
    natted, tunnel = _records(CORPUS / "show_crypto_ikev2_sa_detail/genie__iosxe_golden_output2.raw")
    assert (natted.tunnel_id, natted.ivrf, natted.initiator, natted.local_id) == (
        973,
        "121",
        True,
        "user2621@cisco.com",
    )
    assert natted.remote_subnets[0] == "10.0.0.0 255.0.0.0" and len(natted.remote_subnets) == 5
    assert (tunnel.local_port, tunnel.remote_port, tunnel.hash, tunnel.remote_subnets) == (4500, 4500, "None", [])
    (quantum,) = _records(CORPUS / "show_crypto_ikev2_sa_detail/genie__iosxe_golden_output3.raw")
    assert quantum.quantum_resistant is True and quantum.auth_verify == "PSK"


# --- answers with no SA, refused, cut -------------------------------------------------


def test_section_headers_alone_are_no_sas_and_an_empty_screen_is_no_answer() -> None:
    assert parse_output(COMMAND, (FIXTURES / "show_crypto_ikev2_sa/no_sas.raw").read_text()) == []
    # A real sample's IPv4 section with no tunnel, as IOS prints it.
    real = (CORPUS / "show_crypto_ikev2_sa/genie__iosxe_golden_output2.raw").read_text()
    assert parse_output(COMMAND, real.split("Tunnel-id")[0]) == []
    for text in ("", "\n\n", "R4#\n"):
        with pytest.raises(ParseError) as caught:
            parse_output(COMMAND, text)
        assert caught.value.kind in (errors.EMPTY, errors.NO_MATCH)


def test_old_ios_refuses_the_command() -> None:
    """IOS without IKEv2 (before 15.1(1)T) rejects the keyword."""
    text = "show crypto ikev2 sa\n                  ^\n% Invalid input detected at '^' marker.\n\nR4#"
    with pytest.raises(ParseError) as caught:
        parse_output(COMMAND, text)
    assert caught.value.kind == errors.INVALID_INPUT
    assert COMMAND in SUPPLEMENTARY  # so the poller keeps such a device up (test below)


def test_in_neg_tunnel_reads_with_no_algorithms() -> None:
    ready, negotiating = parse_output(COMMAND, (FIXTURES / "show_crypto_ikev2_sa/hub_ready_and_in_neg.raw").read_text())
    assert ready.ready and (ready.encryption, ready.keysize, ready.dh_group) == ("AES-CBC", 256, 14)
    assert not negotiating.ready and negotiating.status == "IN-NEG"
    assert (negotiating.encryption, negotiating.prf, negotiating.auth_sign, negotiating.keysize) == (
        None,
        None,
        None,
        None,
    )
    assert (negotiating.dh_group, negotiating.active_seconds) == (0, 0)


def test_a_tunnel_cut_before_its_life_line_is_truncated() -> None:
    text = (FIXTURES / "show_crypto_ikev2_sa/hub_ready_and_in_neg.raw").read_text()
    cut = text[: text.rindex("      Life/Active Time: 86400/0 sec")]
    with pytest.raises(ParseError) as caught:
        parse_output(COMMAND, cut)
    assert caught.value.kind == errors.TRUNCATED and "Life/Active Time" in str(caught.value)


def test_an_unreadable_row_or_encr_line_is_named() -> None:
    header = (
        " IPv4 Crypto IKEv2  SA \n\n"
        + (FIXTURES / "show_crypto_ikev2_sa/hub_ready_and_in_neg.raw").read_text().splitlines()[3]
        + "\n"
    )
    row = "1         10.0.0.3/500          172.16.0.4/500        none/none            READY  \n"
    for text, bad in (
        (header + "1         10.0.0.3:500          172.16.0.4:500        none/none            READY\n", 4),
        (header + row + "      Encr: AES-CBC keysize 256 PRF SHA256\n", 5),
        (header + row + "      Life/Active Time: 86400 sec\n", 5),
    ):
        with pytest.raises(ParseError) as caught:
            parse_output(COMMAND, text)
        assert (caught.value.kind, caught.value.line_number) == (errors.TEMPLATE, bad)


def test_an_unknown_informational_line_in_a_tunnel_block_is_skipped() -> None:
    """Each train adds its own lines to a tunnel block (PEER TYPE, Quantum
    Resistance, ...): a new one is no reason to lose the command."""
    text = (FIXTURES / "show_crypto_ikev2_sa/old_train_no_prf.raw").read_text()
    extended = text.replace("      Life/Active", "      Some Future Field: enabled\n      Life/Active")
    assert parse_output(COMMAND, extended) == parse_output(COMMAND, text)


# --- metrics ---------------------------------------------------------------------


def _ikev2_pair():
    """The packetlife pair with two branches, R4 on IKEv2 and R5 on IKEv1."""
    (pair,) = build_pairs(1, 2, lab_credentials(), Clock(1.0), ikev2_branches=1)
    set_baseline(pair, random.Random(1))
    return pair


def _scrape(pair, inventory, **replaced: Snapshot) -> dict:
    snapshots = {router.name: snapshot_of(router) for router in (*pair.hubs, *pair.branches)}
    snapshots.update(replaced)
    health = [evaluate_pair(p, snapshots, inventory) for p in inventory.pairs.values()]
    return parse_samples(render(ExportView(inventory, snapshots, health, now=1_000_010.0)).decode())


def test_metrics_count_ikev2_sas_by_status_and_peer(inventory) -> None:
    pair = _ikev2_pair()
    samples = _scrape(pair, inventory)
    r1, r2 = {"device": "R1", "pair": "HUB-PAIR-1"}, {"device": "R2", "pair": "HUB-PAIR-1"}
    # R4's IKE SA is IKEv2 on both hubs (the standby's synced copy too), R5's is IKEv1.
    for hub in (r1, r2):
        assert value(samples, "ipsecha_ikev2_sas", **hub, status="ready") == 1
        assert value(samples, "ipsecha_ikev2_sa_ready", **hub, peer="172.16.0.4") == 1
        assert value(samples, "ipsecha_ikev2_sa_ready", **hub, peer="172.16.0.5") is None
        assert sum(v for k, v in samples["ipsecha_isakmp_sas"].items() if dict(k)["device"] == hub["device"]) == 1
    assert value(samples, "ipsecha_ikev2_sas", device="R4", pair="", status="ready") == 1
    assert value(samples, "ipsecha_ikev2_sa_ready", device="R4", pair="", peer="10.0.0.3") == 1
    # An IKEv1-only branch answers with the section headers: 0 ready, no peer.
    assert value(samples, "ipsecha_ikev2_sas", device="R5", pair="", status="ready") == 0
    assert not [k for k in samples["ipsecha_ikev2_sa_ready"] if dict(k)["device"] == "R5"]

    # The active hub loses R4's SA and renegotiates: IN-NEG there, not ready.
    for hub in pair.hubs:
        drop_tunnel(hub.tunnels["172.16.0.4"], negotiating=hub is pair.r2)
    samples = _scrape(pair, inventory)
    assert value(samples, "ipsecha_ikev2_sas", **r2, status="in-neg") == 1
    assert value(samples, "ipsecha_ikev2_sas", **r2, status="ready") == 0
    assert value(samples, "ipsecha_ikev2_sa_ready", **r2, peer="172.16.0.4") == 0
    assert value(samples, "ipsecha_ikev2_sas", **r1, status="ready") == 0  # the standby dropped its copy


def test_no_ikev2_series_when_the_command_failed_or_is_not_supported(inventory) -> None:
    pair = _ikev2_pair()
    healthy = snapshot_of(pair.r2)

    def replaced(status: Status) -> Snapshot:
        results = tuple(
            CommandResult(COMMAND, status, error="x") if result.command == COMMAND else result
            for result in healthy.results
        )
        return Snapshot("R2", "HUB-PAIR-1", "hub", healthy.started_at, 0.2, results)

    for status, up in ((Status.NOT_SUPPORTED, 1), (Status.PARSE, 0)):
        samples = _scrape(pair, inventory, R2=replaced(status))
        assert not [k for k in samples["ipsecha_ikev2_sas"] if dict(k)["device"] == "R2"], status
        assert not [k for k in samples["ipsecha_ikev2_sa_ready"] if dict(k)["device"] == "R2"], status
        assert value(samples, "ipsecha_device_up", device="R2", pair="HUB-PAIR-1") == up


# --- the lab over real SSH ----------------------------------------------------------


@pytest.mark.integration
def test_lab_ikev2_branch_polled_over_ssh_and_old_ios_stays_up(tmp_path: Path) -> None:
    lab = Lab(branches=2, time_scale=10, ikev2_branches=1)
    with LabThread(lab):
        inventory = load_inventory(write_inventory(lab, tmp_path / "lab.yml"))
        poller = Poller(inventory)
        try:
            snapshots = poller.poll_all()
            assert all(snapshot.up for snapshot in snapshots.values()), [s.failures for s in snapshots.values()]
            r2, r4, r5 = snapshots["R2"], snapshots["R4"], snapshots["R5"]
            assert COMMAND in HUB_COMMANDS and COMMAND in BRANCH_COMMANDS
            assert [(sa.remote_address, sa.status) for sa in r2.ikev2_sas] == [("172.16.0.4", "READY")]
            assert [(sa.local_address, sa.remote_address) for sa in r4.ikev2_sas] == [("172.16.0.4", "10.0.0.3")]
            assert r4.isakmp_sas == () and r5.ikev2_sas == () and len(r5.isakmp_sas) == 1
            assert r2.ikev2_sas_by_status() == {"READY": 1}
            health = [evaluate_pair(p, snapshots, inventory) for p in inventory.pairs.values()]
            samples = parse_samples(render(ExportView(inventory, snapshots, health)).decode())
            assert value(samples, "ipsecha_ikev2_sas", device="R4", pair="", status="ready") == 1
            assert value(samples, "ipsecha_ikev2_sa_ready", device="R2", pair="HUB-PAIR-1", peer="172.16.0.4") == 1

            # An image without IKEv2: `% Invalid input`, the device stays up.
            lab.router("R5").faults = Faults(missing_commands=frozenset({COMMAND}))
            r5 = poller.poll_all()["R5"]
            result = r5.result(COMMAND)
            assert result is not None and result.status is Status.NOT_SUPPORTED, result
            # The error says what is left out (ipsec_ha_monitor/poll/commands.py WITHOUT).
            assert "refused (invalid_input)" in result.error and WITHOUT[COMMAND] in result.error, result.error
            assert r5.up and r5.ikev2_sas is None and len(r5.isakmp_sas) == 1
            samples = parse_samples(render(ExportView(inventory, {"R5": r5})).decode())
            assert value(samples, "ipsecha_device_up", device="R5", pair="") == 1
            assert value(samples, "ipsecha_ikev2_sas", device="R5", pair="", status="ready") is None
        finally:
            poller.close()


def test_lab_renders_the_real_layout() -> None:
    """The lab's header and rows in the real samples' columns (tests/corpus)."""
    text = SHOW_COMMANDS[("show", "crypto", "ikev2", "sa")](_ikev2_pair().r2).splitlines()
    real = (CORPUS / "show_crypto_ikev2_sa/genie__iosxe_golden_output.raw").read_text().splitlines()
    assert text[2] == real[2]  # "Tunnel-id Local ... Status " (with IOS's trailing blank)
    assert _starts(text[3]) == _starts(real[3]) and len(text[3]) == len(real[3])
    assert text[4].startswith("      Encr: AES-CBC, keysize: ") and text[5].startswith("      Life/Active Time: 86400/")
    assert [line.split() for line in (text[0], text[-1])] == [
        ["IPv4", "Crypto", "IKEv2", "SA"],
        ["IPv6", "Crypto", "IKEv2", "SA"],
    ]


def _starts(row: str) -> list[int]:
    """Where each field of a row starts."""
    return [index for index, char in enumerate(row) if char != " " and (index == 0 or row[index - 1] == " ")]
