"""What makes one output contradict itself, per template: the key two
records of one output may never share, and the words a value must be
spelled out in full to be read.

A value that one record states twice (two lines setting it) is refused
whatever the template (fsm.Restated): IOS prints each scalar line of a block
once, so a second one is a block given twice or two blocks run together.
Across records, no two records of one output may share a key (a whole
output given twice, one block given twice, or two blocks for one group that
disagree): the key is RECORD_KEYS' for the template, else the whole record;
only templates in REPEATS (logs, event histories) repeat records
legitimately. A template can also refuse a line as a sign of a repeated
output (a table's header inside its table): its Error message then starts
with INCONSISTENT_ERROR, and the parser reports it as inconsistent_output.

Keyed by template file so that both platforms' rows share one entry. (To be
folded into the command table, ipsec_ha_monitor/parse/commands.py.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable

from ipsec_ha_monitor.rf_states import RF_STATE_NAMES

Row = dict[str, object]
RecordKey = Callable[[Row], Hashable | None]  # None: this record has no key


def _text(row: Row, name: str) -> str:
    value = row.get(name)
    return value.strip() if isinstance(value, str) else ""


def _whole_row(row: Row) -> Hashable:
    """Every value: for blocks that have no identity of their own (two
    sessions with one peer and interface do occur), only an identical block
    is a repeat."""
    return tuple(sorted((name, tuple(v) if isinstance(v, list) else v) for name, v in row.items()))


def _hsrp_group(row: Row) -> Hashable:
    # An IPv4 and an IPv6 group may share interface and number.
    ipv6 = bool(row.get("VIRTUAL_IPV6") or _text(row, "LINK_LOCAL_IPV6"))
    return (_text(row, "INTERFACE"), _text(row, "GROUP"), ipv6)


def _hsrp_brief(row: Row) -> Hashable:
    return (_text(row, "INTERFACE"), _text(row, "GROUP"), ":" in _text(row, "VIRTUAL_IP"))


def _isakmp(row: Row) -> Hashable | None:
    # conn-id 0 is "none yet" (several negotiations may show it).
    conn_id = _text(row, "CONN_ID")
    if not conn_id or conn_id.strip("0") == "":
        return _whole_row(row)
    return (_text(row, "DST"), _text(row, "SRC"), conn_id)


# An Error action whose message starts with this marks a repeated output.
INCONSISTENT_ERROR = "inconsistent:"

# Templates whose records repeat legitimately: a message logged twice, an
# event that happened twice.
REPEATS = frozenset({"cisco_ios_show_logging.textfsm", "cisco_ios_show_redundancy_history.textfsm"})

RECORD_KEYS: dict[str, RecordKey] = {
    "cisco_ios_show_standby.textfsm": _hsrp_group,
    "cisco_ios_show_standby_brief.textfsm": _hsrp_brief,
    "cisco_ios_show_redundancy_switchover_history.textfsm": lambda row: _text(row, "INDEX"),
    "cisco_ios_show_crypto_isakmp_sa.textfsm": _isakmp,
}

# Values one record may state on two lines: IOS prints a "Session ID:" line
# per IKE SA of a session (genieparser's samples file it under the IKE SA).
MAY_RESTATE: dict[str, frozenset[str]] = {
    "cisco_ios_show_crypto_session.textfsm": frozenset({"SESSION_ID"}),
}

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
_RF_STATE_NAME = re.compile("|".join(re.escape(name).replace(r"\ ", r"\s+") for name in RF_STATE_NAMES.values()))
WORDS: dict[str, dict[str, re.Pattern[str]]] = {
    "cisco_ios_show_redundancy_states.textfsm": {"MY_STATE_NAME": _RF_STATE_NAME, "PEER_STATE_NAME": _RF_STATE_NAME},
    "cisco_ios_show_crypto_isakmp_sa.textfsm": {
        "STATE": re.compile("|".join(sorted(ISAKMP_STATES))),
        "STATUS": re.compile(r"(?:ACTIVE|STDBY)(?:\s+\(deleted\))?"),
    },
}


def record_key(template: str) -> RecordKey | None:
    """How to key `template`'s records (None: they repeat legitimately)."""
    if template in REPEATS:
        return None
    return RECORD_KEYS.get(template, _whole_row)


def may_restate(template: str, value: str) -> bool:
    return value in MAY_RESTATE.get(template, frozenset())


def unknown_word(template: str, row: Row) -> tuple[str, str] | None:
    """(value name, text) of the first value of `row` that is not one of
    the words it must be spelled in, or None."""
    for name, words in WORDS.get(template, {}).items():
        text = _text(row, name)
        if text and not words.fullmatch(text):
            return name, text
    return None
