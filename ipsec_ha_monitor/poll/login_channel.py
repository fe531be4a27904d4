"""The channel netmiko reads the login through (the banner, the first
prompt, the terminal setup, enable), capped at polling.max_banner_bytes.

netmiko reads "all that is available" in a loop and searches everything
read so far on every pass: a device whose banner never ends kept it
reading (and rescanning) without bound. Its SSH channel is swapped for
this one, which counts what each read takes and raises OutputTooLarge
past the cap, ending the login. The commands themselves are read by
DeviceSession from the SSH channel directly (channel_reader.py), not
through here.
"""

from __future__ import annotations

import paramiko
from netmiko.channel import SSHChannel
from netmiko.exceptions import ReadException

from ipsec_ha_monitor.poll.channel_reader import OutputTooLarge

_MAX_READ = 65535  # netmiko's own read size


class LoginChannel(SSHChannel):
    """netmiko's SSH channel, counting what it reads."""

    def __init__(self, conn: paramiko.Channel, encoding: str, cap: int) -> None:
        super().__init__(conn, encoding)
        self.cap = cap
        self.read = 0  # bytes read since the login began (or since reset())

    def reset(self) -> None:
        """Logged in: later reads (netmiko's logout) get a cap of their own."""
        self.read = 0

    def read_buffer(self) -> str:
        """One read of what is available, within the cap."""
        if self.remote_conn is None:
            raise ReadException("Attempt to read, but there is no active channel.")
        if not self.remote_conn.recv_ready():
            return ""
        # One byte past the cap at most: enough to know it was crossed.
        data = self.remote_conn.recv(max(1, min(_MAX_READ, self.cap - self.read + 1)))
        if not data:
            raise ReadException("Channel stream closed by remote device.")
        self.read += len(data)
        if self.read > self.cap:
            raise OutputTooLarge(self.read, self.cap)
        return str(data.decode(self.encoding, "ignore"))
