"""The process's own limits, fitted to the fleet at start-up.

Every device keeps one SSH session (one socket) open between polls, so the
open-files limit caps the fleet: under the usual soft limit of 1,024 a
fleet of about a thousand devices fails with "Too many open files" on
every cycle. At start the soft limit is raised to the hard one (allowed
without privilege), and one line warns when even that cannot hold the
fleet. The systemd unit (docs/examples/ipsec-ha-monitor.service) sets
LimitNOFILE and TasksMax (a session is also a thread: Paramiko's
transport) for the documented maximum.
"""

from __future__ import annotations

import logging

try:
    import resource
except ImportError:  # not on every platform: nothing to raise there
    resource = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

# File descriptors per device: its SSH session's socket (the same one the
# dialer opened, handed over).
FDS_PER_DEVICE = 1
# Everything else the process holds open: the listening sockets, the HTTP
# clients' connections (serve's --web.max-connections), syslog's TCP
# connections, log files, Python's own.
BASE_FDS = 256


def open_files_needed(devices: int, connections: int = 0) -> int:
    """File descriptors a fleet of `devices` needs, with `connections`
    HTTP clients at once."""
    return devices * FDS_PER_DEVICE + connections + BASE_FDS


def fit_open_files(needed: int) -> str | None:
    """Raise the soft RLIMIT_NOFILE to the hard limit; returns the warning
    (also logged, one line) when the hard limit is below `needed`, None when
    the fleet fits."""
    if resource is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            log.info("open files: soft limit raised from %d to %d", soft, target)
            soft = target
        except (ValueError, OSError) as exc:
            log.debug("open files: the soft limit stays at %d (%s)", soft, exc)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return None
    warning = (
        f"open files: the limit is {soft} and the fleet needs about {needed}: devices past it will fail with "
        '"Too many open files"; raise the hard limit (LimitNOFILE= in the systemd unit, ulimit -Hn)'
    )
    log.warning("%s", warning)
    return warning
