"""Syslog: the second input beside poll/, a trigger and never the truth.

framing.py   bytes on the wire -> the Cisco log line (RFC 3164 with Cisco's
             variants, RFC 5424; TCP framing of RFC 6587)
sources.py   source address (then hostname) -> inventory device
watched.py   the table of watched messages and their metric labels
trigger.py   debouncing: a burst of messages -> one poll now, one after
receiver.py  the UDP/TCP receiver of `serve --syslog.listen-address`, its
             limits and its counters

The Cisco log line itself is read by parse.parse_log_message, the reader of
`show logging`. Router-side set-up: docs/syslog.md.
"""

from ipsec_ha_monitor.syslog.receiver import DEFAULT_RATE_LIMIT, DROP_REASONS, SyslogReceiver, SyslogStats

__all__ = ["DEFAULT_RATE_LIMIT", "DROP_REASONS", "SyslogReceiver", "SyslogStats"]
