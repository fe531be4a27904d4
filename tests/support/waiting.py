"""The one wait loop: tests wait on a condition, never on a guess of timing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    timeout: float = 30.0,
    what: str = "the condition",
    interval: float = 0.05,
    describe: Callable[[], object] | None = None,
) -> T:
    """Call `condition()` until it returns something true, and return that;
    fail after `timeout` seconds, naming `what` (and `describe()`, if given,
    for the state that was waited on)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            detail = f"; {describe()}" if describe is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{detail}")
        time.sleep(interval)
