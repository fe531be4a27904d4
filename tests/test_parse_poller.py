"""The poller carries what the parser skipped into each command's result:
over a real SSH session to the lab, a router whose `show crypto session`
answer is the real IOS-XE IPv6 output with its informational `System IP:`
line (tests/corpus, genieparser ShowCryptoSession golden_output3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.inventories import write_inventory
from support.paths import CORPUS

from ipsec_ha_monitor.inventory import load_inventory
from ipsec_ha_monitor.lab import Lab, LabThread
from ipsec_ha_monitor.poll import DevicePoller
from ipsec_ha_monitor.poll.session import DeviceSession
from ipsec_ha_monitor.snapshot import Status

pytestmark = pytest.mark.integration  # the lab over SSH

IPV6_SESSION = (CORPUS / "show_crypto_session" / "genie__iosxe_golden_output3.raw").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with LabThread(Lab(pairs=1, branches=1, time_scale=10)) as running:
        yield running.lab


class _Ipv6SessionRouter(DeviceSession):
    """The lab router's own answer to every command, but for `show crypto
    session` the real output in its place: the echo and the prompt as the
    router printed them around it."""

    def run(self, command: str, timeout: float) -> str:
        text = super().run(command, timeout)
        if command != "show crypto session":
            return text
        lines = text.replace("\r\n", "\n").split("\n")
        return "\n".join([lines[0], *IPV6_SESSION.splitlines(), lines[-1]])


def test_skipped_informational_lines_reach_the_command_result(lab: Lab, tmp_path: Path) -> None:
    inventory = load_inventory(write_inventory(lab, tmp_path / "lab.yml"))
    poller = DevicePoller(inventory.devices["R1"], inventory.polling, session_factory=_Ipv6SessionRouter)
    try:
        snapshot = poller.poll()
    finally:
        poller.close()
    results = {result.command: result for result in snapshot.results}
    session = results["show crypto session"]
    assert session.status is Status.OK, session.error
    assert session.skipped_lines == 1
    (record,) = session.records
    assert (record.interface, record.peer, record.session_id) == ("Tunnel1", "2001:DB8:ACAD:1::2", 15)
    # Every other answer of the lab router knows all its lines.
    assert all(result.skipped_lines == 0 for command, result in results.items() if command != "show crypto session")
