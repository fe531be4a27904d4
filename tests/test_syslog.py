"""The syslog receiver: every message form IOS and IOS-XE send, which
device sent it, what it triggers, and every kind of bad input dropped and
counted without hurting anyone else."""

from __future__ import annotations

import itertools
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from support.exposition import parse_samples, sample
from support.waiting import wait_until

from ipsec_ha_monitor.clock import Clock
from ipsec_ha_monitor.export.metrics import SYSLOG_METRICS, render_syslog
from ipsec_ha_monitor.inventory import Inventory, InventoryError, load_inventory
from ipsec_ha_monitor.parse import ParseError, parse_log_message, parse_output
from ipsec_ha_monitor.syslog import DROP_REASONS, SyslogReceiver
from ipsec_ha_monitor.syslog.framing import MAX_MESSAGE_BYTES, Dropped, TcpFramer, read_envelope
from ipsec_ha_monitor.syslog.sources import SourceMap
from ipsec_ha_monitor.syslog.trigger import Debouncer
from ipsec_ha_monitor.syslog.watched import LABELS, OTHER, WATCHED, watched

CORPUS = Path(__file__).parent / "corpus" / "syslog" / "samples.tsv"
_MNEMONIC = re.compile(r"%([A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*?)-([0-7])-(\w+):")

# --- message forms -------------------------------------------------------------------------

# The forms the issue lists, each as IOS writes it (texts from the corpus's
# real messages); (datagram, hostname the envelope names, facility, mnemonic).
FORMS = [
    # sequence number, `*` (clock not synchronised), milliseconds
    (
        b"<189>000123: *Mar  1 00:05:12.123: %HSRP-5-STATECHANGE: FastEthernet0/0 Grp 1 state Active -> Init",
        None,
        "HSRP",
        "STATECHANGE",
    ),
    # no sequence number, `.` (clock was synchronised, lost), no milliseconds
    (
        b"<188>.Mar  1 00:05:12: %RF_INTERDEV-4-RELOAD: % RF induced self-reload. my state = ACTIVE peer state = "
        b"STANDBY HOT",
        None,
        "RF_INTERDEV",
        "RELOAD",
    ),
    # with the year, milliseconds, show-timezone
    (b"<189>42: Dec  7 2026 14:33:22.123 UTC: %SYS-5-RESTART: System restarted --", None, "SYS", "RESTART"),
    # localtime show-timezone with an offset name
    (b"<189>43: Dec  7 15:33:22.123 CET: %SYS-5-CONFIG_I: Configured from console by vty0", None, "SYS", "CONFIG_I"),
    # origin-id hostname after the sequence number
    (
        b"<189>44: R1: *Dec  7 14:33:22.123: %RF-5-RF_TERMINAL_STATE: Terminal state reached for (SSO)",
        "R1",
        "RF",
        "RF_TERMINAL_STATE",
    ),
    # origin-id ip, uptime time stamp
    (
        b"<189>45: 10.0.0.1: 1d02h: %HSRP-5-STATECHANGE: Tunnel1 Grp 5 state Speak -> Standby",
        "10.0.0.1",
        "HSRP",
        "STATECHANGE",
    ),
    # no time stamp at all (no service timestamps), no sequence number
    (
        b"<189>%SYS-5-RELOAD: Reload requested by admin on vty0 (192.168.1.100). Reload Reason: Reload Command.",
        None,
        "SYS",
        "RELOAD",
    ),
    # time stamp as uptime hh:mm:ss
    (
        b"<189>00:05:12: %CRYPTO-5-SESSION_STATUS: Crypto tunnel v2 is DOWN. Peer 10.1.1.1:500 Id: 10.1.1.1",
        None,
        "CRYPTO",
        "SESSION_STATUS",
    ),
    # an RFC 3164 header as a relay adds it, ahead of IOS's own
    (
        b"<189>Dec  7 14:33:22 hub-relay 46: *Dec  7 14:33:22.123: %RF-5-RF_RELOAD: Peer reload. Reason: Peer lost",
        "hub-relay",
        "RF",
        "RF_RELOAD",
    ),
    # RFC 5424 (IOS-XE), nil structured data
    (
        b"<189>1 2026-12-07T14:33:22.123Z R2 - - - - 47: *Dec  7 14:33:22.123: %RG_PROTOCOL-5-ROLECHANGE: RG id 1 "
        b"role change from Standby to Active",
        "R2",
        "RG_PROTOCOL",
        "ROLECHANGE",
    ),
    # RFC 5424 with structured data and a BOM before MSG
    (
        b'<190>1 2026-12-07T14:33:22.123+01:00 R2.example.net - - - [meta sequenceId="48"] \xef\xbb\xbf'
        b"%IOSXE_REDUNDANCY-6-PEER: A Redundancy Peer has been detected",
        "R2.example.net",
        "IOSXE_REDUNDANCY",
        "PEER",
    ),
    # line end and NUL padding some senders add
    (
        b"<189>49: *Dec  7 14:33:22.123: %SYS-5-CONFIG_I: Configured from console by console\r\n\x00",
        None,
        "SYS",
        "CONFIG_I",
    ),
]


@pytest.mark.parametrize(("datagram", "hostname", "facility", "mnemonic"), FORMS)
def test_every_form_ios_sends_reads_as_its_message(
    datagram: bytes, hostname: str | None, facility: str, mnemonic: str
) -> None:
    envelope = read_envelope(datagram)
    assert envelope.hostname == hostname
    message = parse_log_message(envelope.line)
    assert (message.facility, message.mnemonic) == (facility, mnemonic)
    assert message.message.startswith(f"%{facility}-")


def test_a_log_line_reads_as_show_logging_reads_it() -> None:
    """One place knows Cisco log lines: the receiver's parse of a line is the
    show logging row's parse of the same line."""
    for datagram, *_ in FORMS:
        line = read_envelope(datagram).line
        assert [parse_log_message(line)] == parse_output("show logging", line)


def _real_samples() -> list[tuple[str, str, bytes]]:
    if not CORPUS.exists():
        return []
    rows = []
    for row in CORPUS.read_text(encoding="utf-8").splitlines()[1:]:
        if not row.strip():
            continue
        fields = row.split("\t")
        raw = fields[-1].replace("\\t", "\t").replace("\\\\", "\\")
        rows.append((fields[0], fields[4], raw.encode("utf-8")))
    return rows


REAL = _real_samples()


def test_the_real_corpus_is_there() -> None:
    assert len(REAL) >= 20, f"{CORPUS}: the real syslog samples"


@pytest.mark.parametrize(("name", "form", "datagram"), REAL, ids=[row[0] for row in REAL])
def test_real_messages_read_as_their_source_printed_them(name: str, form: str, datagram: bytes) -> None:
    """Real messages from public fixtures (tests/corpus/syslog/README.md):
    the facility, severity and mnemonic read are the ones in the text."""
    expected = _MNEMONIC.search(datagram.decode())
    assert expected is not None, "every sample carries a %FAC-SEV-MNEMONIC: message"
    envelope = read_envelope(datagram)
    message = parse_log_message(envelope.line)
    assert (message.facility, str(message.severity), message.mnemonic) == expected.groups()
    assert envelope.priority % 8 <= 7


@pytest.mark.parametrize(
    ("datagram", "reason"),
    [
        (b"<189>" + b"x" * MAX_MESSAGE_BYTES, "oversize"),
        (b"%SYS-5-CONFIG_I: no priority", "malformed"),
        (b"<192>%SYS-5-CONFIG_I: priority beyond 191", "malformed"),
        (b"<189>\x00\x01\x02\x03binary\xff", "malformed"),
        (b"<189>%SYS-5-CONFIG_I: \xff\xfe not UTF-8", "malformed"),
        (b"<189>%SYS-5-CONFIG_I: a \x1b[31m terminal control", "malformed"),
        (b"<189>1 2026-12-07T14:33:22Z R1 - - - [broken %SYS-5-CONFIG_I: x", "malformed"),
    ],
)
def test_bad_datagrams_are_dropped_by_reason(datagram: bytes, reason: str) -> None:
    with pytest.raises(Dropped) as raised:
        read_envelope(datagram)
    assert raised.value.reason == reason
    assert raised.value.reason in DROP_REASONS


@pytest.mark.parametrize(
    "line",
    ["Configured from console", "% Invalid input", "%SYS-9-X: severity 9", "", "Syslog logging: enabled"],
)
def test_a_line_with_no_cisco_message_is_a_parse_error(line: str) -> None:
    with pytest.raises(ParseError):
        parse_log_message(line)


# --- TCP framing ---------------------------------------------------------------------------


def test_octet_counted_frames_across_reads() -> None:
    one, two = b"<189>%SYS-5-CONFIG_I: one", b"<189>%SYS-5-CONFIG_I: two, a little longer"
    stream = b"%d %s%d %s" % (len(one), one, len(two), two)
    framer = TcpFramer()
    frames = [frame for index in range(len(stream)) for frame in framer.feed(stream[index : index + 1])]
    assert frames == [one, two]


def test_line_feed_frames_across_reads_and_blank_lines() -> None:
    framer = TcpFramer()
    assert framer.feed(b"<189>%SYS-5-CONFIG_I: one\r\n\n<189>%SYS-5-CON") == [b"<189>%SYS-5-CONFIG_I: one\r"]
    assert framer.feed(b"FIG_I: two\n") == [b"<189>%SYS-5-CONFIG_I: two"]


def test_ios_unframed_stream_splits_at_each_message_and_flushes_the_last() -> None:
    """IOS over TCP may send message after message with no delimiter: the
    <PRI> opening a Cisco message ends the one before; the last is taken
    when the connection falls quiet. A "<189>" inside a message's text is
    no boundary."""
    one = b"<189>101: *Dec  7 14:33:22.123: %SYS-5-CONFIG_I: Configured from console by <189> vty0"
    two = b"<189>102: R1: *Dec  7 14:33:23.456: %HSRP-5-STATECHANGE: Tunnel1 Grp 5 state Speak -> Standby"
    three = b"<190>%SYS-6-LOGGINGHOST_STARTSTOP: Logging to host 192.0.2.10 port 5514 started - CLI initiated"
    framer = TcpFramer()
    assert framer.feed(one + two) == [one]
    assert framer.pending
    assert framer.feed(three[:20]) == [two]
    assert framer.feed(three[20:]) == []
    assert framer.flush() == [three]
    assert not framer.pending and framer.flush() == []
    counted = TcpFramer()
    counted.feed(b"%d %s" % (len(one), one[:30]))
    assert not counted.pending and counted.flush() == []  # an octet-counted frame is never cut short


@pytest.mark.parametrize(
    "stream",
    [
        b"12x <189>%SYS-5-CONFIG_I: x",  # a count that is no number
        b"0 <189>",  # a zero count
        b"99999 ",  # beyond the largest message
        b"1234567",  # no space within 6 bytes
        b"<189>" + b"x" * (MAX_MESSAGE_BYTES + 10),  # no line feed within the largest message
    ],
)
def test_broken_framing_is_refused(stream: bytes) -> None:
    with pytest.raises(Dropped) as raised:
        TcpFramer().feed(stream)
    assert raised.value.reason == "framing"


# --- sources --------------------------------------------------------------------------------


def _inventory(
    tmp_path: Path, devices: list[dict[str, object]], pairs: list[dict[str, object]] | None = None
) -> Inventory:
    data: dict[str, object] = {
        "lab": True,
        "defaults": {"credentials": {"username": "u", "password": "p4ssw0rd-lab", "enable_secret": "s3cret-lab"}},
        "devices": devices,
    }
    if pairs:
        data["pairs"] = pairs
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    path.chmod(0o600)
    return load_inventory(path)


def _hubs(tmp_path: Path) -> Inventory:
    """R1, R2 a pair; R4 a branch; all three reached over SSH on 127.0.0.1
    (one address: ambiguous) and sending syslog from their own loopbacks."""
    return _inventory(
        tmp_path,
        [
            {"name": "R1", "host": "127.0.0.1", "port": 2201, "role": "hub", "syslog_sources": ["127.0.1.1"]},
            {"name": "R2", "host": "127.0.0.1", "port": 2202, "role": "hub", "syslog_sources": ["127.0.1.2"]},
            {"name": "R4", "host": "127.0.0.1", "port": 2204, "role": "branch", "syslog_sources": ["127.0.1.4"]},
        ],
        [{"name": "HUB-PAIR-1", "members": ["R1", "R2"]}],
    )


def test_sources_map_addresses_then_hostnames(tmp_path: Path) -> None:
    sources = SourceMap(_hubs(tmp_path))
    assert sources.device("127.0.1.1", None) == "R1"
    assert sources.device("127.0.1.2", "R1") == "R2"  # an address of one device decides, not the name it claims
    assert sources.device("::ffff:127.0.1.4", None) == "R4"  # a dual-stack socket's view of IPv4
    assert sources.device("127.0.0.1", "r2") == "R2"  # a shared address: the hostname decides
    assert sources.device("127.0.0.1", "R4.example.net") == "R4"
    for address, hostname, reason in [
        ("127.0.0.1", None, "ambiguous_source"),
        ("127.0.0.1", "R9", "ambiguous_source"),
        ("127.0.0.99", "R1", "unknown_source"),
        ("10.0.0.1", None, "unknown_source"),
    ]:
        with pytest.raises(Dropped) as raised:
            sources.device(address, hostname)
        assert raised.value.reason == reason


def test_syslog_sources_must_be_addresses(tmp_path: Path) -> None:
    with pytest.raises(InventoryError) as raised:
        _inventory(tmp_path, [{"name": "R1", "host": "127.0.0.1", "role": "hub", "syslog_sources": ["lo0"]}])
    assert "devices[0].syslog_sources[0]" in str(raised.value)
    assert "expected an IP address" in str(raised.value)


# --- the watched table ----------------------------------------------------------------------


def test_the_watched_table_names_each_ha_message() -> None:
    expect = {
        "%HSRP-5-STATECHANGE: Fa0/0 Grp 1 state Speak -> Standby": "HSRP-5-STATECHANGE",
        "%RF_INTERDEV-4-RELOAD: % RF induced self-reload. my state = ACTIVE peer state = STANDBY HOT": (
            "RF_INTERDEV-4-RELOAD"
        ),
        "%RF-5-RF_TERMINAL_STATE: Terminal state reached for (SSO)": "RF-5-RF_TERMINAL_STATE",
        "%RF-5-RF_RELOAD: Peer reload. Reason: Peer lost": "RF-5-RF_RELOAD",
        "%RF-3-NOTIF_TID: something new": "RF-*",
        "%SYS-5-RELOAD: Reload requested by admin on vty0": "SYS-5-RELOAD",
        "%SYS-5-RESTART: System restarted --": "SYS-5-RESTART",
        "%RG_PROTOCOL-5-ROLECHANGE: RG id 1 role change from Standby to Active": "RG_*-*",
        "%CRYPTO_HA_IKE-4-SOMETHING: x": "CRYPTO_HA*-*",
        "%REDUNDANCY-3-STANDBY_LOST: Standby processor fault (PEER_NOT_PRESENT)": "REDUNDANCY-*",
    }
    for text, label in expect.items():
        row = watched(parse_log_message(text))
        assert row is not None and row.label == label, text
    for text in ("%SYS-5-CONFIG_I: Configured from console", "%LINK-3-UPDOWN: x", "%SYSTEM-5-RELOAD: not SYS"):
        assert watched(parse_log_message(text)) is None, text


def test_labels_are_bounded_whatever_a_device_sends() -> None:
    assert len(set(LABELS)) == len(LABELS) == len(WATCHED) + 1 and LABELS[-1] == OTHER
    seen = set()
    for index in range(500):
        message = parse_log_message(f"%RG_X{index}-5-M{index}: spoofed")
        row = watched(message)
        seen.add(row.label if row else OTHER)
    assert seen <= set(LABELS)


# --- debouncing ------------------------------------------------------------------------------


def test_a_burst_polls_at_once_and_once_after_it_settles() -> None:
    debouncer = Debouncer(min_gap=2.0, settle=1.0)
    assert debouncer.note("P", 100.0) is True  # the first message: at once
    for at in (100.1, 100.3, 100.6, 101.0):  # the rest of the burst: nothing now
        assert debouncer.note("P", at) is False
    assert debouncer.due(101.9) == []
    assert debouncer.next_due() == 102.0  # one second after the last, two after the first poll
    assert debouncer.due(102.0) == ["P"]
    assert debouncer.due(200.0) == []  # once
    assert debouncer.note("P", 200.0) is True  # quiet since: at once again


def test_a_lone_message_polls_once_and_polls_are_at_least_min_gap_apart() -> None:
    debouncer = Debouncer(min_gap=2.0, settle=0.5)
    assert debouncer.note("P", 10.0) is True
    assert debouncer.next_due() is None  # nothing owed
    fired = [10.0]
    now = 10.0
    while now < 30.0:  # a message every 0.1 s for 20 s: a flapping pair
        now = round(now + 0.1, 1)
        if debouncer.note("P", now):
            fired.append(now)
        fired += [now for _ in debouncer.due(now)]
    assert all(b - a >= 2.0 - 1e-9 for a, b in itertools.pairwise(fired))
    assert debouncer.note("Q", 30.0) is True  # other pairs are their own


# --- the receiver over real sockets -----------------------------------------------------------


class Receiving:
    def __init__(self, inventory: Inventory, rate_limit: float = 100.0) -> None:
        self.requests: list[tuple[str, ...]] = []
        self._lock = threading.Lock()
        self.receiver = SyslogReceiver(("127.0.0.1", 0), inventory, self._request, Clock(), rate_limit=rate_limit)
        self.inventory = inventory
        self.port = self.receiver.address[1]

    def _request(self, devices: tuple[str, ...]) -> tuple[str, ...]:
        with self._lock:
            self.requests.append(devices)
        return devices

    def send(self, source: str, *datagrams: bytes) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((source, 0))
            for datagram in datagrams:
                sock.sendto(datagram, ("127.0.0.1", self.port))

    def count(self, name: str, **labels: str) -> float | None:
        """The series of `name` that carry these labels (among others), summed;
        None when there is none."""
        series = parse_samples(render_syslog(self.receiver.stats.read(), self.inventory).decode()).get(name, {})
        wanted = set(labels.items())
        values = [value for key, value in series.items() if wanted <= set(key)]
        return sum(values) if values else None

    def wait_count(self, value: float, name: str, **labels: str) -> None:
        wait_until(
            lambda: self.count(name, **labels) == value,
            10,
            f"{name}{labels} == {value}",
            describe=lambda: self.count(name, **labels),
        )


@pytest.fixture
def receiving(tmp_path: Path) -> Iterator[Receiving]:
    running = Receiving(_hubs(tmp_path))
    running.receiver.start()
    try:
        yield running
    finally:
        running.receiver.stop()


HSRP = b"<189>000101: *Dec  7 14:33:22.123: %HSRP-5-STATECHANGE: FastEthernet0/0 Grp 1 state Standby -> Active"
CONFIG = b"<189>000102: *Dec  7 14:33:23.000: %SYS-5-CONFIG_I: Configured from console by vty0 (10.0.0.9)"


@pytest.mark.integration
def test_a_watched_message_polls_its_pair_and_is_counted(receiving: Receiving) -> None:
    receiving.send("127.0.1.1", HSRP)
    receiving.wait_count(1, "ipsecha_syslog_messages_total", device="R1", mnemonic="HSRP-5-STATECHANGE")
    assert receiving.requests == [("R1", "R2")]  # the pair, at once
    assert receiving.count("ipsecha_syslog_triggered_polls_total", device="R2") == 1
    stamp = receiving.count("ipsecha_syslog_last_watched_message_timestamp_seconds", device="R1")
    assert stamp is not None and abs(stamp - time.time()) < 60
    # Every pair member has every label from 0; the branch none until it sends.
    assert receiving.count("ipsecha_syslog_messages_total", device="R2", mnemonic="SYS-5-RELOAD") == 0
    assert receiving.count("ipsecha_syslog_messages_total", device="R4", mnemonic=OTHER) is None
    receiving.send("127.0.1.4", CONFIG)  # a branch, a message that polls nothing
    receiving.wait_count(1, "ipsecha_syslog_messages_total", device="R4", mnemonic=OTHER)
    assert receiving.requests == [("R1", "R2")]


@pytest.mark.integration
def test_tcp_carries_both_framings(receiving: Receiving) -> None:
    with socket.create_connection(("127.0.0.1", receiving.port), timeout=5, source_address=("127.0.1.2", 0)) as sock:
        sock.sendall(b"%d %s" % (len(HSRP), HSRP) + b"%d %s" % (len(CONFIG), CONFIG))
        receiving.wait_count(1, "ipsecha_syslog_messages_total", device="R2", mnemonic="HSRP-5-STATECHANGE")
        receiving.wait_count(1, "ipsecha_syslog_messages_total", device="R2", mnemonic=OTHER)
    with socket.create_connection(("127.0.0.1", receiving.port), timeout=5, source_address=("127.0.1.1", 0)) as sock:
        sock.sendall(HSRP + b"\n" + CONFIG + b"\n")
        receiving.wait_count(1, "ipsecha_syslog_messages_total", device="R1", mnemonic=OTHER)


@pytest.mark.integration
def test_tcp_without_delimiters_as_ios_sends_it(receiving: Receiving) -> None:
    with socket.create_connection(("127.0.0.1", receiving.port), timeout=5, source_address=("127.0.1.2", 0)) as sock:
        sock.sendall(HSRP + CONFIG)  # no line feed, no count: the last one waits for the stream to fall quiet
        receiving.wait_count(1, "ipsecha_syslog_messages_total", device="R2", mnemonic="HSRP-5-STATECHANGE")
        receiving.wait_count(1, "ipsecha_syslog_messages_total", device="R2", mnemonic=OTHER)


@pytest.mark.integration
def test_broken_tcp_framing_closes_that_connection_only(receiving: Receiving) -> None:
    with socket.create_connection(("127.0.0.1", receiving.port), timeout=5, source_address=("127.0.1.1", 0)) as bad:
        bad.sendall(b"12x garbage")
        receiving.wait_count(1, "ipsecha_syslog_dropped_total", reason="framing")
        assert bad.recv(10) == b""  # closed by the receiver
    receiving.send("127.0.1.2", HSRP)
    receiving.wait_count(1, "ipsecha_syslog_messages_total", device="R2", mnemonic="HSRP-5-STATECHANGE")


@pytest.mark.integration
def test_unknown_and_ambiguous_sources_are_dropped_never_trusted(receiving: Receiving) -> None:
    receiving.send("127.0.0.99", HSRP)  # spoofed, or a router the inventory does not hold
    receiving.wait_count(1, "ipsecha_syslog_dropped_total", reason="unknown_source")
    receiving.send("127.0.0.1", HSRP)  # the three devices' shared address, no hostname in it
    receiving.wait_count(1, "ipsecha_syslog_dropped_total", reason="ambiguous_source")
    named = b"<189>000103: R2: *Dec  7 14:33:22.123: %SYS-5-RESTART: System restarted --"
    receiving.send("127.0.0.1", named)  # the same address, the hostname decides
    receiving.wait_count(1, "ipsecha_syslog_messages_total", device="R2", mnemonic="SYS-5-RESTART")
    # A TCP connection from an unknown address is closed before a byte is read.
    with socket.create_connection(("127.0.0.1", receiving.port), timeout=5, source_address=("127.0.0.98", 0)) as sock:
        assert sock.recv(10) == b""
    receiving.wait_count(2, "ipsecha_syslog_dropped_total", reason="unknown_source")
    assert receiving.requests == [("R1", "R2")]  # the named message alone polled


@pytest.mark.integration
def test_bad_input_is_dropped_and_counted(receiving: Receiving) -> None:
    receiving.send(
        "127.0.1.1",
        b"<189>" + b"x" * MAX_MESSAGE_BYTES,  # oversize
        b"\x00\x01\x02 binary",  # malformed
        b"<189>000104: *Dec  7 14:33:22.123: Configured from console",  # syslog, but no Cisco message
        b"<189>Syslog logging: enabled",  # a show logging header: no message either
    )
    receiving.wait_count(1, "ipsecha_syslog_dropped_total", reason="oversize")
    receiving.wait_count(1, "ipsecha_syslog_dropped_total", reason="malformed")
    receiving.wait_count(2, "ipsecha_syslog_dropped_total", reason="not_cisco")
    receiving.send("127.0.1.2", HSRP)  # the receiver goes on at once
    receiving.wait_count(1, "ipsecha_syslog_messages_total", device="R2", mnemonic="HSRP-5-STATECHANGE")
    assert receiving.requests == [("R1", "R2")]


@pytest.mark.integration
def test_a_flood_from_one_source_is_rate_limited_and_others_still_get_through(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger="ipsec_ha_monitor.syslog")
    running = Receiving(_hubs(tmp_path), rate_limit=20.0)  # bursts of 100
    running.receiver.start()
    try:
        stop = threading.Event()

        def flood() -> None:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.bind(("127.0.1.4", 0))
                while not stop.is_set():  # about 20,000 a second
                    for _ in range(20):
                        sock.sendto(CONFIG, ("127.0.0.1", running.port))
                    time.sleep(0.001)

        flooder = threading.Thread(target=flood, daemon=True)
        flooder.start()
        try:
            wait_until(
                lambda: (running.count("ipsecha_syslog_dropped_total", reason="rate_limited") or 0) > 1000,
                20,
                "the flood rate-limited",
            )
            running.send("127.0.1.1", HSRP)  # another source, during the flood: taken, within its own rate
            running.wait_count(1, "ipsecha_syslog_messages_total", device="R1", mnemonic="HSRP-5-STATECHANGE")
        finally:
            stop.set()
            flooder.join(5)
        # Who floods is said, once a minute at most.
        (warning,) = [r.getMessage() for r in caplog.records if "rate_limited" in r.getMessage()]
        assert warning.startswith("syslog: 127.0.1.4 (R4) sends more than 20 messages a second"), warning
        taken = running.count("ipsecha_syslog_messages_total", device="R4", mnemonic=OTHER) or 0
        elapsed_bound = 100 + 20 * 60  # the burst plus the rate over the test's longest run
        assert 100 <= taken <= elapsed_bound
    finally:
        running.receiver.stop()


@pytest.mark.integration
def test_a_reloaded_inventory_maps_the_new_sources(tmp_path: Path, receiving: Receiving) -> None:
    receiving.send("127.0.1.2", CONFIG)
    receiving.wait_count(1, "ipsecha_syslog_messages_total", device="R2", mnemonic=OTHER)
    moved = _inventory(
        tmp_path,
        [{"name": "R1", "host": "127.0.0.1", "port": 2201, "role": "hub", "syslog_sources": ["127.0.1.9"]}],
    )
    receiving.receiver.refresh(moved)
    receiving.inventory = moved

    def counted_from_new_source() -> bool:
        receiving.send("127.0.1.9", HSRP)
        time.sleep(0.05)
        return bool(receiving.count("ipsecha_syslog_messages_total", device="R1", mnemonic="HSRP-5-STATECHANGE"))

    wait_until(counted_from_new_source, 10, "a message from R1's new source")
    dropped = receiving.count("ipsecha_syslog_dropped_total", reason="unknown_source") or 0
    receiving.send("127.0.1.1", HSRP)  # R1's old source: no longer trusted
    receiving.wait_count(dropped + 1, "ipsecha_syslog_dropped_total", reason="unknown_source")
    assert [key for key in receiving.receiver.stats.read().messages if key[0] == "R2"] == []  # R2 left, its counts too


# --- the lab speaks syslog: a failover seen as it happens -----------------------------------------


@pytest.mark.integration
def test_a_failover_reaches_metrics_at_once_with_syslog_and_at_the_next_poll_without(tmp_path: Path) -> None:
    """Two exporters over one lab, polling every 600 product seconds: the one
    that hears the routers' syslog shows R1 taking over and R2's whole walk
    back to STANDBY HOT (shorter than one poll) as it happens, and counts
    its messages; the other still shows the state before the failover."""
    from support.inventories import write_inventory

    from ipsec_ha_monitor.demo import free_syslog_port
    from ipsec_ha_monitor.export.exporter import Exporter
    from ipsec_ha_monitor.lab import Lab, LabThread

    scale = 3.0
    port = free_syslog_port("127.0.0.1")
    lab = Lab(pairs=1, branches=1, time_scale=scale, syslog_to=("127.0.0.1", port))
    with LabThread(lab) as running:
        inventory = load_inventory(write_inventory(lab, tmp_path / "lab.yml"))
        assert inventory.devices["R1"].syslog_sources == ("127.0.1.1",)  # from its own loopback
        listening, polling = Exporter(inventory, clock=Clock(scale)), Exporter(inventory, clock=Clock(scale))
        try:
            listening.listen_syslog(("127.0.0.1", port))
            for exporter in (listening, polling):
                exporter.start(600.0)
            for exporter in (listening, polling):
                wait_until(exporter.monitor.polled_every_device, 30, "every device polled once")

            def my_state(exporter: Exporter, device: str) -> float | None:
                samples = parse_samples(exporter.metrics_page(max_age=0.0).decode())
                return sample(samples, "ipsecha_redundancy_my_state", device=device, pair="HUB-PAIR-1")

            assert my_state(listening, "R1") == my_state(polling, "R1") == 8  # STANDBY HOT
            running.trigger("failover")
            wait_until(lambda: my_state(listening, "R1") == 13, 15, "R1 ACTIVE, from syslog's poll")
            assert my_state(polling, "R1") == 8  # its next poll is minutes away
            seen: list[float | None] = []

            def walked() -> bool:
                state = my_state(listening, "R2")
                if not seen or seen[-1] != state:
                    seen.append(state)
                return state == 8

            wait_until(walked, 40 / scale + 20, "R2 back to STANDBY HOT", interval=0.02, describe=lambda: seen)
            assert my_state(polling, "R2") == 13  # still the state before R2 reloaded
            assert 3 in seen or 4 in seen or 7 in seen, f"no step of the walk seen: {seen}"
            assert listening.syslog is not None
            counted = parse_samples(render_syslog(listening.syslog.stats.read(), inventory).decode())
            counts = {
                dict(key)["mnemonic"]: value
                for key, value in counted["ipsecha_syslog_messages_total"].items()
                if dict(key)["device"] == "R2" and value
            }
            # Init before the reload, then Listen, Speak, Standby; the reload; the restart; STANDBY HOT.
            assert counts["HSRP-5-STATECHANGE"] >= 4
            assert counts["RF_INTERDEV-4-RELOAD"] == counts["SYS-5-RESTART"] == counts["RF-5-RF_TERMINAL_STATE"] == 1
        finally:
            listening.stop()
            polling.stop()


def test_the_syslog_families_follow_the_writing_exporters_guide(tmp_path: Path) -> None:
    from ipsec_ha_monitor.syslog import SyslogStats

    page = render_syslog(SyslogStats().read(), _hubs(tmp_path)).decode()
    for name, spec in SYSLOG_METRICS.items():
        assert name.startswith("ipsecha_syslog_") and name.endswith("_total") == (spec.kind == "counter"), name
        assert f"# HELP {name} {spec.help}\n# TYPE {name} {spec.kind}\n" in page
    samples = parse_samples(page)
    assert {dict(key)["reason"] for key in samples["ipsecha_syslog_dropped_total"]} == set(DROP_REASONS)
    # Pair members from 0 for every label; the branch none until it sends.
    members = {(dict(key)["device"], dict(key)["mnemonic"]) for key in samples["ipsecha_syslog_messages_total"]}
    assert members == {(device, label) for device in ("R1", "R2") for label in LABELS}


@pytest.mark.integration
def test_a_requested_poll_moves_the_schedule_within_the_same_workers(tmp_path: Path) -> None:
    """Exporter.request_polls (what a watched message calls): the devices
    named are polled now, the others keep their schedule, a device polled
    while the request came is polled once more after, and no more polls run
    at once than polling.workers allows."""
    from support.inventories import write_inventory

    from ipsec_ha_monitor.export.exporter import Exporter
    from ipsec_ha_monitor.lab import Lab, LabThread

    lab = Lab(pairs=1, branches=3)
    with LabThread(lab):
        inventory = load_inventory(write_inventory(lab, tmp_path / "lab.yml", polling={"workers": 2}))
        exporter = Exporter(inventory, clock=Clock())
        ends: dict[str, int] = {}
        lock = threading.Lock()

        def count(recorded: object) -> None:
            with lock:
                for name in recorded.snapshots:  # type: ignore[attr-defined]
                    ends[name] = ends.get(name, 0) + 1

        exporter.monitor.subscribe(on_record=count)
        try:
            exporter.start(600.0)
            wait_until(exporter.monitor.polled_every_device, 30, "every device polled once")
            before = dict(ends)
            assert exporter.request_polls(("R1", "R2")) == ("R1", "R2")
            wait_until(lambda: ends["R1"] > before["R1"] and ends["R2"] > before["R2"], 15, "R1 and R2 polled again")
            assert {name: ends[name] for name in ("R4", "R5", "R6")} == {n: before[n] for n in ("R4", "R5", "R6")}
            # Everything at once, asked twice: every device polled again, never more than two at a time.
            before = dict(ends)
            most = 0
            exporter.request_polls(tuple(inventory.devices))
            exporter.request_polls(tuple(inventory.devices))

            def all_twice() -> bool:
                nonlocal most
                most = max(most, exporter._scheduler.stats().running)  # type: ignore[union-attr]
                return all(ends[name] >= before[name] + 1 for name in inventory.devices)

            wait_until(all_twice, 30, "every device polled again", interval=0.01)
            assert 1 <= most <= 2
            # A device whose poll runs when asked: polled once more after it, once however often asked.
            wait_until(lambda: exporter._scheduler.stats().running == 0, 30, "no poll running")  # type: ignore[union-attr]
            lab.router("R4").faults.slow_seconds = 0.3  # each command: its poll runs for seconds
            before = dict(ends)
            assert exporter.request_polls(("R4",)) == ("R4",)  # moved to now
            wait_until(lambda: exporter._scheduler.stats().running == 1, 10, "R4's poll running")  # type: ignore[union-attr]
            assert exporter.request_polls(("R4",)) == ("R4",)  # again once it ends
            assert exporter.request_polls(("R4",)) == ()  # already asked for
            wait_until(lambda: ends["R4"] >= before["R4"] + 2, 60, "R4 polled twice")
            time.sleep(1.0)
            assert ends["R4"] == before["R4"] + 2  # not a third time
            assert exporter._scheduler.stats().running == 0  # type: ignore[union-attr]
        finally:
            exporter.stop()


@pytest.mark.integration
def test_serve_refuses_a_bad_or_taken_syslog_address(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ipsec_ha_monitor import serve

    config = str(_hubs(tmp_path).path)
    assert serve.serve(config, "127.0.0.1:0", 30.0, syslog_listen="5514") == 2
    assert "expected HOST:PORT" in capsys.readouterr().err
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        assert serve.serve(config, "127.0.0.1:0", 30.0, syslog_listen=f"127.0.0.1:{port}") == 1
    assert f"cannot listen for syslog on 127.0.0.1:{port}: Address already in use" in capsys.readouterr().err


def test_every_interface_falls_back_to_ipv4_where_ipv6_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """A host booted with IPv6 disabled refuses AF_INET6 sockets: ":PORT" then
    binds 0.0.0.0, and nothing opened on the way is left open."""
    from ipsec_ha_monitor.syslog import receiver

    real = socket.socket
    made: list[socket.socket] = []

    def no_ipv6(family: int = socket.AF_INET, *args: object, **kwargs: object) -> socket.socket:
        if family == socket.AF_INET6:
            raise OSError(97, "Address family not supported by protocol")
        made.append(real(family, *args, **kwargs))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(receiver.socket, "socket", no_ipv6)
    udp, tcp = receiver._bind(("", 0))
    try:
        assert udp.family == tcp.family == socket.AF_INET
        assert udp.getsockname()[0] == "0.0.0.0" and udp.getsockname()[1] == tcp.getsockname()[1]
    finally:
        udp.close()
        tcp.close()
    assert all(sock.fileno() == -1 for sock in made)
