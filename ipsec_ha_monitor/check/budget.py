"""check -t/--timeout: the time budget of one check, as Nagios plugins
have it (Nagios kills a check at its service_check_timeout, 60 s by
default, and reports a bare "(Service Check Timed Out)").

The budget is measured on the monotonic clock from the moment the command
line is read, in product seconds like every duration (--time.scale), and
shared out so that the verdict is written before it ends:

    |--- device polls (their poll_timeout capped) ---|- slack -|- reserve -|
    start                                         cap     poll deadline   end

- each device's poll timeout is capped (`cap`), so a slow or stalled
  device's poll ends by itself with the commands it did answer;
- at the poll deadline whatever has still not answered (a poll past its
  timeout: netmiko's own timeouts are not exact, a queued device) is
  reported as timed out, and the devices that answered are judged;
- the reserve is for judging, saving the state and writing the result;
- at the end a watchdog (check.main with hard_exit) writes whatever the
  main path could not and ends the process: a hung file system, a logout
  that never returns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ipsec_ha_monitor.clock import Clock
from ipsec_ha_monitor.inventory import Device, Inventory
from ipsec_ha_monitor.poll.device import GRACE_SECONDS
from ipsec_ha_monitor.snapshot import Snapshot, Status

# Under Nagios' default service_check_timeout (60 s), with 10 s for what the
# budget cannot see: the interpreter starting before the command line is read
# and the plugin's output reaching Nagios, on a loaded monitoring host.
DEFAULT_NAGIOS_TIMEOUT = 50.0


@dataclass(frozen=True)
class Budget:
    """`seconds` (product seconds, as given) from `started`
    (Clock.real_monotonic()); every reading below is in real seconds."""

    seconds: float
    started: float
    clock: Clock

    @property
    def real(self) -> float:
        return self.clock.real(self.seconds)

    @property
    def ends(self) -> float:
        """When the process must have answered (real monotonic)."""
        return self.started + self.real

    @property
    def reserve(self) -> float:
        """For judging, saving the state and writing: at most 2 s."""
        return min(2.0, 0.1 * self.real)

    @property
    def poll_deadline(self) -> float:
        """When the devices that have not answered are reported as timed out."""
        return self.ends - self.reserve

    @property
    def cap(self) -> float:
        """The longest poll timeout a device keeps: it ends its own poll a
        little before the poll deadline (netmiko overshoots its timeouts by
        up to GRACE_SECONDS)."""
        window = self.real - self.reserve
        return max(0.5, window - min(GRACE_SECONDS, 0.15 * window))

    def restarted(self) -> Budget:
        """The same budget from now (check --watch: one per round)."""
        return dataclasses.replace(self, started=self.clock.real_monotonic())

    def left(self) -> float:
        return self.ends - self.clock.real_monotonic()

    def capped(self, inventory: Inventory) -> Inventory:
        """`inventory` with every poll timeout (the polling section's and
        each device's own) at most `cap`."""
        cap = self.cap
        polling = dataclasses.replace(inventory.polling, poll_timeout=min(inventory.polling.poll_timeout, cap))
        devices = {name: _capped(device, cap) for name, device in inventory.devices.items()}
        return dataclasses.replace(inventory, polling=polling, devices=devices)


def _capped(device: Device, cap: float) -> Device:
    if not any(name == "poll_timeout" for name, _ in device.timeouts):
        return device
    timeouts = tuple((name, min(value, cap) if name == "poll_timeout" else value) for name, value in device.timeouts)
    return dataclasses.replace(device, timeouts=timeouts)


def not_answered(
    original: Inventory, snapshots: Mapping[str, Snapshot], abandoned: Sequence[str], budget: Budget
) -> tuple[str, ...]:
    """The devices that did not answer within the budget: those abandoned at
    the poll deadline, and those whose poll ran under a timeout the budget
    capped (their own, in `original`, was longer) and failed for want of an
    answer: a timeout, or a connection that failed only after a while (a
    refused one fails at once: it would have failed without the budget)."""
    late = []
    for name, snapshot in snapshots.items():
        device = original.devices.get(name)
        own = device.settings(original.polling).poll_timeout if device is not None else budget.cap
        statuses = {result.status for result in snapshot.failures}
        waited = Status.TIMEOUT in statuses or (
            Status.CONNECT in statuses and snapshot.duration_seconds >= budget.cap / 2
        )
        if name in abandoned or (budget.cap < own and waited):
            late.append(name)
    return tuple(late)
