"""Syslog on the wire -> (priority, hostname, Cisco log line).

What IOS and IOS-XE send with `logging host`:

    <189>123: *Mar  1 00:05:12.123: %HSRP-5-STATECHANGE: ...        (RFC 3164, Cisco's own)
    <189>123: R1: Dec  7 2026 14:33:22.123 UTC: %SYS-5-RESTART: ... (origin-id hostname)
    <189>Dec  7 14:33:22 10.1.1.1 123: ...                          (an RFC 3164 header, as relays add)
    <189>1 2026-12-07T14:33:22.123Z R1 - - - - 123: ...              (RFC 5424)

Everything after the envelope (sequence number, `*`/`.` time stamp,
`%FACILITY-SEVERITY-MNEMONIC: text`) is read by parse.parse_log_message,
the reader of `show logging`; here only what syslog wraps around it.

Over TCP (RFC 6587), each message is either octet-counted ("123 <189>...")
or ends with a line feed; a connection picks one with its first byte. IOS
itself may end a message with nothing at all, the next message's <PRI>
following at once (syslog-ng's Cisco examples capture such a stream): a
<PRI> that opens a Cisco message also ends the one before it, and the last
one is taken once the connection falls quiet (TcpFramer.flush).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The largest message taken: RFC 5426 asks receivers for 2,048 octets at
# least; IOS's messages stay well under 1,024. Larger is no router's (and
# the log line inside must stay within the parser's MAX_LINE, 4,096).
MAX_MESSAGE_BYTES = 4096


class Dropped(Exception):
    """A message not taken: `reason` is its ipsecha_syslog_dropped_total label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Envelope:
    priority: int  # facility * 8 + severity, from <PRI>
    hostname: str | None  # as the message names its sender (RFC 5424 HOSTNAME, a relay's, or IOS's origin-id)
    line: str  # the Cisco log line: "[seq: ][*]timestamp: %FAC-SEV-MNEMONIC: text"


_PRI = re.compile(rb"<(\d{1,3})>")
# RFC 5424: VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP
_RFC5424 = re.compile(r"1 (\S+) (\S+) (\S+) (\S+) (\S+) ")
# Structured data: "-" or one or more [id param="value" ...] (\" \] \\ escaped).
_STRUCTURED = re.compile(r'-|(?:\[[^\]"\s]+(?: [^=\s\]"]+="(?:[^"\\]|\\.)*")*\])+')
# RFC 3164 header as a relay writes it: "Mmm dd hh:mm:ss HOST " (IOS's own
# time stamp has ".mmm:" or ":" after the seconds, or a year, never a space
# then a name that does not end in ":").
_RFC3164_HEADER = re.compile(r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d ([^\s:](?:\S*[^\s:])?) ")
# IOS with `logging origin-id hostname|ip|string`: "123: R1: *Mar ..." or
# "R1: %SYS-...", and a line card's messages on an ASR ("3408: CLC 6/0: Dec
# ..."): a name (of one or two words) then ": " ahead of the time stamp or
# the message. Not an uptime stamp ("1d02h: "), nor a sequence number.
_ORIGIN = re.compile(
    r"(?P<seq>\d+:\s+)?(?!(?:\d+[ywdh])+:|\d+:)"
    r"(?P<host>[A-Za-z0-9][\w./:-]*?(?: [\w./-]+)?|\"[^\"]*\"):\s+"
    r"(?=[*.]?[A-Z][a-z]{2}\s|[*.]?\d+:\d\d|(?:\d+[ywdh])+:|%)"
)


# `logging message-counter syslog`: a counter ahead of the sequence number
# ("269614: 000104: ..."), or nothing ahead of its colon (": Mar 12 ...").
_COUNTER = re.compile(r"(?:\d+:\s+(?=\d+:\s)|:\s+)")


def read_envelope(data: bytes) -> Envelope:
    """One message as received (a datagram, or a TCP frame). Dropped for
    one that is too large, binary, or no syslog."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise Dropped("oversize", f"{len(data)} bytes, at most {MAX_MESSAGE_BYTES}")
    data = data.rstrip(b"\r\n\x00")
    pri = _PRI.match(data)
    if pri is None or int(pri.group(1)) > 191:
        raise Dropped("malformed", "no <PRI> (0-191) at the start")
    try:
        text = data[pri.end() :].decode("utf-8")
    except UnicodeDecodeError:
        raise Dropped("malformed", "not UTF-8 text") from None
    if any(ord(char) < 32 and char != "\t" for char in text) or "\x7f" in text:
        raise Dropped("malformed", "control characters in the message (binary?)")
    hostname: str | None = None
    header = _RFC5424.match(text)
    if header is not None:
        hostname = None if header.group(2) == "-" else header.group(2)
        structured = _STRUCTURED.match(text, header.end())
        if structured is None:
            raise Dropped("malformed", "RFC 5424 structured data that does not read")
        text = text[structured.end() :].removeprefix(" ").removeprefix("\ufeff")  # MSG may open with a BOM
    else:
        relayed = _RFC3164_HEADER.match(text)
        if relayed is not None:
            hostname = relayed.group(1)
            text = text[relayed.end() :]
    counter = _COUNTER.match(text)
    if counter is not None:
        text = text[counter.end() :]
    origin = _ORIGIN.match(text)
    if origin is not None:
        hostname = origin.group("host").strip('"')
        text = (origin.group("seq") or "") + text[origin.end() :]
    return Envelope(int(pri.group(1)), hostname, text.strip())


# A <PRI> that opens a Cisco message (its counter, a time stamp, the %
# message): ends the message before it in a stream without delimiters.
_NEXT_MESSAGE = re.compile(rb"<\d{1,3}>(?=\d+: |: |[*.]?[A-Z][a-z]{2} |%[A-Z])")


class TcpFramer:
    """RFC 6587 framing of one TCP connection: octet counting ("LEN SP
    MSG", what RFC 5425 asks for) or messages ending in a line feed (what
    IOS and most relays send), chosen by the first byte. feed() returns
    the complete frames; Dropped("framing") for a stream that breaks its
    framing (the connection is then closed)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._counted: bool | None = None

    def feed(self, data: bytes) -> list[bytes]:
        buffer = self._buffer
        buffer += data
        frames: list[bytes] = []
        while buffer:
            if self._counted is None:
                self._counted = buffer[:1].isdigit()
            if self._counted:
                space = buffer.find(b" ", 0, 6)
                if space < 0:
                    if len(buffer) >= 6 or not buffer.isdigit():
                        raise Dropped("framing", "an octet count that is no number of at most 5 digits")
                    break
                length_text = bytes(buffer[:space])
                if not length_text.isdigit() or length_text.startswith(b"0"):
                    raise Dropped("framing", f"octet count {length_text[:8]!r} is no number")
                length = int(length_text)
                if length > MAX_MESSAGE_BYTES:
                    raise Dropped("framing", f"a frame of {length} bytes announced, at most {MAX_MESSAGE_BYTES}")
                if len(buffer) < space + 1 + length:
                    break
                frames.append(bytes(buffer[space + 1 : space + 1 + length]))
                del buffer[: space + 1 + length]
            else:
                end = buffer.find(b"\n")
                next_message = _NEXT_MESSAGE.search(buffer, 1, end if end >= 0 else len(buffer))
                if next_message is not None:  # IOS's own: no delimiter, the next <PRI> at once
                    end, skip = next_message.start(), 0
                else:
                    skip = 1
                if end < 0:
                    if len(buffer) > MAX_MESSAGE_BYTES:
                        raise Dropped("framing", f"no line feed within {MAX_MESSAGE_BYTES} bytes")
                    break
                frame = bytes(buffer[:end])
                del buffer[: end + skip]
                if frame.strip(b"\r\x00 "):
                    frames.append(frame)
        return frames

    def flush(self) -> list[bytes]:
        """What is left once the connection falls quiet or closes: a last
        message without its line feed (IOS's unframed stream)."""
        if not self.pending:
            return []  # nothing, or an octet-counted frame still coming
        frame = bytes(self._buffer).strip(b"\r\n\x00 ")
        self._buffer.clear()
        return [frame] if frame else []

    @property
    def pending(self) -> bool:
        """A message without its line feed is waiting (never an octet-counted one)."""
        return self._counted is False and bool(self._buffer)
