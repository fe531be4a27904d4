"""The `ipsec-ha-monitor` command and `python -m ipsec_ha_monitor`.

The entry point silences other packages' warnings before anything imports
them: a user of the command must never read a library's deprecation notice
(asyncssh, imported by the lab, warns about DSA under newer cryptography)
where a one-line error is promised. Our own warnings still show, and so
does everything when the user asks for warnings (`-W`, PYTHONWARNINGS).
Library use (`import ipsec_ha_monitor...`, the tests) keeps Python's defaults, so
the tests still see every warning where it matters.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence

OWN_MODULES = r"ipsec_ha_monitor(\..*)?$"  # warnings attributed to our own modules stay visible


def quiet_third_party_warnings() -> None:
    """Ignore warnings attributed to any module but ours, unless the user
    set warning options of their own."""
    if sys.warnoptions:
        return
    warnings.filterwarnings("ignore")
    warnings.filterwarnings("default", module=OWN_MODULES)


def main(argv: Sequence[str] | None = None) -> int:
    quiet_third_party_warnings()
    from ipsec_ha_monitor.cli import main as cli_main  # after the filter: it imports asyncssh

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
