"""YAML that costs far more to expand than to read ("billion laughs"), and a
measure of what loading a file costs a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

# A child measuring a load may use this much address space at most: a
# regression fails its test with a MemoryError, never starves the machine.
_CHILD_ADDRESS_SPACE = 2 * 1024**3


def alias_bomb(levels: int, width: int = 9) -> str:
    """A flow list of a first list of `width` strings, then `levels` anchored
    lists, each of `width` aliases of the one before: about 43 bytes a list,
    width**(levels + 1) strings once expanded (6 levels: 4.8 million, whose
    repr is 33 MB; 7 levels: 43 million)."""
    items = ["&a0 [" + ",".join(["lol"] * width) + "]"]
    items += [f"&a{level} [" + ",".join([f"*a{level - 1}"] * width) + "]" for level in range(1, levels + 1)]
    return "[" + ", ".join(items) + "]"


_MEASURE = """
import importlib, json, resource, sys, time
from pathlib import Path

resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[4]), int(sys.argv[4])))
load = getattr(importlib.import_module(sys.argv[1]), sys.argv[2])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    load(Path(sys.argv[3]))
    error = None
except BaseException as exc:
    error = f"{type(exc).__name__}: {exc}"[:5000]
seconds = time.perf_counter() - start
growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"error": error, "seconds": seconds, "peak_growth_mib": growth / 1024}))
"""


def measure_load(module: str, function: str, path: Path) -> dict[str, Any]:
    """`module.function(path)` in a fresh Python, after its imports:
    {"error": the exception's type and text (None when it loaded),
    "seconds": the call's time, "peak_growth_mib": how far the call raised
    the process's peak RSS}."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, module, function, str(path), str(_CHILD_ADDRESS_SPACE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result
