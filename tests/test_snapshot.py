"""A snapshot tells a command that failed from one that found nothing, and
its typed accessors are keyed by the command table's record types."""

from __future__ import annotations

from ipsec_ha_monitor.parse import COMMANDS, parse_output
from ipsec_ha_monitor.poll.commands import HUB_COMMANDS
from ipsec_ha_monitor.records import IpsecSa, IsakmpSa, Version
from ipsec_ha_monitor.snapshot import CommandResult, Snapshot, Status

NO_ISAKMP_SAS = "IPv4 Crypto ISAKMP SA\ndst             src             state          conn-id status\n"


def _snapshot(*results: CommandResult) -> Snapshot:
    return Snapshot("R1", "HUB-PAIR-1", "hub", 1_000.0, 0.5, results)


def test_failed_is_none_and_empty_is_empty() -> None:
    snapshot = _snapshot(
        CommandResult("show crypto isakmp sa", Status.OK, tuple(parse_output("show crypto isakmp sa", NO_ISAKMP_SAS))),
        CommandResult("show crypto ipsec sa", Status.TIMEOUT, error="stalled"),
    )
    assert snapshot.isakmp_sas == () and snapshot.records_of(IsakmpSa) == ()  # ran: no SAs
    assert snapshot.ipsec_sas is None and snapshot.active_sas_by_peer() is None  # failed: unknown
    assert snapshot.records_of(Version) is None and snapshot.version is None  # not polled
    assert snapshot.records("show crypto isakmp sa") == () and snapshot.records("show crypto ipsec sa") is None


def test_typed_accessors_follow_the_command_table() -> None:
    """records_of(kind) finds the command whose table row yields `kind`."""
    polled = [spec for spec in COMMANDS if spec.command in HUB_COMMANDS]
    # A distinct marker per command stands for its records.
    snapshot = _snapshot(*(CommandResult(spec.command, Status.OK, (spec.command,)) for spec in polled))
    for spec in polled:
        assert snapshot.records_of(spec.record) == (spec.command,)
    assert snapshot.records_of(IpsecSa) == ("show crypto ipsec sa",)


def test_ikev2_sas_by_status_tells_no_sa_from_no_answer() -> None:
    no_sas = tuple(parse_output("show crypto ikev2 sa", " IPv4 Crypto IKEv2  SA \n\n IPv6 Crypto IKEv2  SA \n"))
    assert _snapshot(CommandResult("show crypto ikev2 sa", Status.OK, no_sas)).ikev2_sas_by_status() == {}
    refused = CommandResult("show crypto ikev2 sa", Status.NOT_SUPPORTED, error="no IKEv2")
    assert _snapshot(refused).ikev2_sas is None and _snapshot(refused).ikev2_sas_by_status() is None
    assert _snapshot(refused).up  # not_supported is no failure
