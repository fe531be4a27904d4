"""What makes one output contradict itself: the keys two records of one
output may never share, and the words a value must be spelled out in full
to be read. Which command uses which is said in the command table
(ipsec_ha_monitor/parse/commands.py: `record_key`, `may_restate`, `words`).

A value that one record states twice (two lines setting it) is refused
whatever the command (fsm.Restated): IOS prints each scalar line of a block
once, so a second one is a block given twice or two blocks run together.
Across records, no two records of one output may share a key (a whole
output given twice, one block given twice, or two blocks for one group that
disagree): the command's record key, by default the whole record; commands
whose records repeat legitimately (logs, event histories) have none. A
template can also refuse a line as a sign of a repeated output (a table's
header inside its table): its Error message then starts with
INCONSISTENT_ERROR, and the parser reports it as inconsistent_output.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping

from ipsec_ha_monitor.rf_states import RF_STATE_NAMES

Row = dict[str, object]
RecordKey = Callable[[Row], Hashable | None]  # None: this record has no key


def _text(row: Row, name: str) -> str:
    value = row.get(name)
    return value.strip() if isinstance(value, str) else ""


def whole_row(row: Row) -> Hashable:
    """Every value: for blocks that have no identity of their own (two
    sessions with one peer and interface do occur), only an identical block
    is a repeat."""
    return tuple(sorted((name, tuple(v) if isinstance(v, list) else v) for name, v in row.items()))


def hsrp_group(row: Row) -> Hashable:
    # An IPv4 and an IPv6 group may share interface and number.
    ipv6 = bool(row.get("VIRTUAL_IPV6") or _text(row, "LINK_LOCAL_IPV6"))
    return (_text(row, "INTERFACE"), _text(row, "GROUP"), ipv6)


def hsrp_brief(row: Row) -> Hashable:
    return (_text(row, "INTERFACE"), _text(row, "GROUP"), ":" in _text(row, "VIRTUAL_IP"))


def isakmp_sa(row: Row) -> Hashable | None:
    # conn-id 0 is "none yet" (several negotiations may show it).
    conn_id = _text(row, "CONN_ID")
    if not conn_id or conn_id.strip("0") == "":
        return whole_row(row)
    return (_text(row, "DST"), _text(row, "SRC"), conn_id)


def switchover_index(row: Row) -> Hashable:
    return _text(row, "INDEX")


def redundancy_group(row: Row) -> Hashable:
    return _text(row, "GROUP_ID")


def rg_interface(row: Row) -> Hashable:
    return (_text(row, "GROUP_ID"), _text(row, "INTERFACE"))


# An Error action whose message starts with this marks a repeated output.
INCONSISTENT_ERROR = "inconsistent:"


# Words a value takes only in full: a line cut inside one ("ACTIV") must be
# refused, never read as a status IOS does not print. Only where the set is
# closed and documented: ISAKMP (IKEv1) states (Cisco's table for the
# command, plus the mode-config/XAuth states), the stateful-failover status
# column, and RF state names (the code is checked by the builder; a name cut
# short, "ACTIV", would otherwise be reported as printed). HSRP state words
# are checked by the builder.
ISAKMP_STATES = frozenset(
    {
        "MM_NO_STATE",
        "MM_SA_SETUP",
        "MM_KEY_EXCH",
        "MM_KEY_AUTH",
        "AG_NO_STATE",
        "AG_INIT_EXCH",
        "AG_AUTH",
        "QM_IDLE",
        "CONF_XAUTH",
        "CONF_ADDR",
    }
)
RF_STATE_NAME = re.compile("|".join(re.escape(name).replace(r"\ ", r"\s+") for name in RF_STATE_NAMES.values()))
ISAKMP_STATE = re.compile("|".join(sorted(ISAKMP_STATES)))
ISAKMP_STATUS = re.compile(r"(?:ACTIVE|STDBY)(?:\s+\(deleted\))?")


def unknown_word(words: Mapping[str, re.Pattern[str]], row: Row) -> tuple[str, str] | None:
    """(value name, text) of the first value of `row` that is not one of
    the words `words` says it must be spelled in, or None."""
    for name, pattern in words.items():
        text = _text(row, name)
        if text and not pattern.fullmatch(text):
            return name, text
    return None
