"""Row -> record builders, one per command.

Each builder takes the TextFSM rows of one output (dicts keyed by the
template's value names) and returns typed records. A value IOS is not known
to print raises BadValue carrying the offending text, so the caller can
point at the line it came from.

Blanks are space and tab (the templates' regexes are ASCII: parse/fsm.py).
A value holding any other blank (NBSP, U+2000..U+200A, U+3000, ...) has
one where IOS prints none: the template took it for an ordinary character,
and it is refused here, never stripped as if it were a blank.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ipsec_ha_monitor import records as r
from ipsec_ha_monitor.parse import values as v
from ipsec_ha_monitor.rf_states import RF_STATE_NAMES

Row = dict[str, object]
Builder = Callable[[list[Row]], list[r.Record]]


class BadValue(ValueError):
    """A value IOS is not known to print; `tokens` all appear on its line."""

    def __init__(self, tokens: str | tuple[str, ...], message: str) -> None:
        self.tokens = (tokens,) if isinstance(tokens, str) else tokens
        super().__init__(message)


class Incomplete(ValueError):
    """A record the output stopped in the middle of."""


# A blank other than space and tab (str.isspace's, which Python's `re` on str
# calls \s): IOS prints none.
_UNPRINTED_BLANK = re.compile(r"[^\S \t]")
_BLANKS = " \t"


def _printed(key: str, text: str) -> str:
    """`text` without its leading and trailing blanks; BadValue when it holds
    a blank IOS does not print."""
    odd = _UNPRINTED_BLANK.search(text)
    if odd is not None:
        message = f"{_what(key)} {text.strip(_BLANKS)!r} holds U+{ord(odd.group()):04X}, a blank IOS does not print"
        raise BadValue(text.strip(_BLANKS), message)
    return text.strip(_BLANKS)


def _s(row: Row, key: str) -> str:
    value = row[key]
    if not isinstance(value, str):
        raise TypeError(f"template value {key} is a {type(value).__name__}, the builder expects text")
    return _printed(key, value)


def _opt(row: Row, key: str) -> str | None:
    return _s(row, key) or None


# Ranges IOS itself sets for a field (beyond them a value is no IOS output);
# any other integer is a counter or an identifier, at most v.COUNTER_MAX.
HSRP_GROUP_MAX = 4095  # standby <0-4095> (version 2; version 1 stops at 255)
HSRP_PRIORITY_MAX = 255  # standby priority <0-255>, track decrement <1-255>; an RG's priority too
RG_ID_MAX = 255  # application redundancy `group <id>`


def _int(row: Row, key: str, maximum: int = v.COUNTER_MAX) -> int | None:
    """The value `key` as an int (None when not printed), at most `maximum`."""
    text = _s(row, key)
    try:
        return v.optional_int(text, maximum, _what(key))
    except ValueError as exc:
        raise BadValue(text, str(exc)) from None


def _req_int(row: Row, key: str, maximum: int = v.COUNTER_MAX) -> int:
    """The value `key`, which every row has (a Required value or a column)."""
    text = _s(row, key)
    try:
        return v.bounded_int(text, maximum, _what(key))
    except ValueError as exc:
        raise BadValue(text, str(exc)) from None


def _what(key: str) -> str:
    return key.lower().replace("_", " ")


def _list(row: Row, key: str) -> list[str]:
    value = row[key]
    if not isinstance(value, list):
        raise TypeError(f"template value {key} is a {type(value).__name__}, the builder expects a List value")
    return [_printed(key, item) for item in value]


def _duration(convert: Callable[..., int | None], text: str, *more: str) -> int | None:
    try:
        return convert(text, *more)
    except ValueError as exc:
        raise BadValue(text, str(exc)) from None


# --- HSRP -----------------------------------------------------------------

_HSRP_STATE_WORDS = {
    "init": "init",
    "initial": "init",
    "learn": "learn",
    "listen": "listen",
    "speak": "speak",
    "standby": "standby",
    "active": "active",
    "disabled": "disabled",
}


def hsrp_state(word: str) -> str:
    state = _HSRP_STATE_WORDS.get(word.lower())
    if state is None:
        raise BadValue(word, f"unknown HSRP state {word!r}")
    return state


def _router(text: str | None) -> str | None:
    return None if text in (None, "unknown") else text


# Each optional part starts with its own blanks and a literal, so that no two
# quantifiers share a run of blanks (adjacent `\s*`s made this cubic).
_TRACK = re.compile(r"^(object|interface)\s+(\S+)(?:\s+state\s+(\w+))?(?:\s*\(unknown\))?(?:\s+decrement\s+(\d+))?\s*$")


def _tracked(text: str) -> r.TrackedObject:
    match = _TRACK.match(text)
    if not match:
        raise BadValue(text, f"unknown HSRP tracking line {text!r}")
    kind, name, state, decrement = match.groups()
    try:
        amount = v.optional_int(decrement or "", HSRP_PRIORITY_MAX, "track decrement")
    except ValueError as exc:
        raise BadValue(decrement, str(exc)) from None
    return r.TrackedObject(kind, name, state, amount)


def _tracked_objects(lines: list[str]) -> list[r.TrackedObject]:
    # An object can be listed twice: under State (its state) and under
    # Priority (with the decrement). Keep one entry, the fuller one.
    merged: dict[tuple[str, str], r.TrackedObject] = {}
    for tracked in map(_tracked, lines):
        key = (tracked.kind, tracked.name)
        known = merged.get(key)
        if known is None or (known.decrement is None and tracked.decrement is not None):
            merged[key] = tracked
    return list(merged.values())


def build_hsrp_groups(rows: list[Row]) -> list[r.Record]:
    groups: list[r.Record] = []
    for row in rows:
        priority_source = _s(row, "PRIORITY_SOURCE")
        virtual_ip = _opt(row, "VIRTUAL_IP")
        groups.append(
            r.HsrpGroup(
                interface=_s(row, "INTERFACE"),
                group=_req_int(row, "GROUP", HSRP_GROUP_MAX),
                version=_int(row, "VERSION", 2) or 1,
                state=hsrp_state(_s(row, "STATE")),
                state_detail=_opt(row, "STATE_DETAIL"),
                state_changes=_int(row, "STATE_CHANGES"),
                last_state_change_seconds=_duration(v.compact_duration_seconds, _s(row, "LAST_STATE_CHANGE")),
                virtual_ip=None if virtual_ip == "unknown" else virtual_ip,
                secondary_virtual_ips=_list(row, "SECONDARY_IPS"),
                virtual_ipv6=_list(row, "VIRTUAL_IPV6"),
                link_local_ipv6=_opt(row, "LINK_LOCAL_IPV6"),
                active_virtual_mac=_router(_opt(row, "ACTIVE_VIRTUAL_MAC")),
                local_virtual_mac=_opt(row, "LOCAL_VIRTUAL_MAC"),
                hello_time_ms=_duration(v.to_milliseconds, _s(row, "HELLO_TIME"), _s(row, "HELLO_UNIT")),
                hold_time_ms=_duration(v.to_milliseconds, _s(row, "HOLD_TIME"), _s(row, "HOLD_UNIT")),
                authentication=_opt(row, "AUTHENTICATION"),
                preempt=_s(row, "PREEMPT") == "enabled",
                preempt_delay_min_seconds=_int(row, "PREEMPT_DELAY_MIN", v.TIME_MAX),
                preempt_delay_reload_seconds=_int(row, "PREEMPT_DELAY_RELOAD", v.TIME_MAX),
                preempt_delay_sync_seconds=_int(row, "PREEMPT_DELAY_SYNC", v.TIME_MAX),
                active_router=_router(_opt(row, "ACTIVE_ROUTER")),
                active_router_priority=_int(row, "ACTIVE_ROUTER_PRIORITY", HSRP_PRIORITY_MAX),
                standby_router=_router(_opt(row, "STANDBY_ROUTER")),
                standby_router_priority=_int(row, "STANDBY_ROUTER_PRIORITY", HSRP_PRIORITY_MAX),
                priority=_req_int(row, "PRIORITY", HSRP_PRIORITY_MAX),
                configured_priority=_int(row, "CONFIGURED_PRIORITY", HSRP_PRIORITY_MAX),
                priority_is_default=priority_source == "default",
                tracked=_tracked_objects(_list(row, "TRACKS")),
                group_name=_opt(row, "GROUP_NAME"),
                group_name_configured=_s(row, "GROUP_NAME_SOURCE") == "cfgd",
                following=_opt(row, "FOLLOWING"),
            )
        )
    return groups


def build_hsrp_brief(rows: list[Row]) -> list[r.Record]:
    return [
        r.HsrpBriefEntry(
            interface=_s(row, "INTERFACE"),
            group=_req_int(row, "GROUP", HSRP_GROUP_MAX),
            priority=_req_int(row, "PRIORITY", HSRP_PRIORITY_MAX),
            preempt=_s(row, "PREEMPT") == "P",
            state=hsrp_state(_s(row, "STATE")),
            active_router=_router(_opt(row, "ACTIVE")),
            standby_router=_router(_opt(row, "STANDBY")),
            virtual_ip=_router(_opt(row, "VIRTUAL_IP")),
        )
        for row in rows
    ]


# --- Redundancy Facility ---------------------------------------------------


def rf_state(code: str, name: str) -> r.RfState | None:
    if not code:
        return None
    try:
        number = v.bounded_int(code, what="RF state code")
    except ValueError as exc:
        raise BadValue(code, str(exc)) from None
    if number not in RF_STATE_NAMES:
        raise BadValue((code, name) if name else code, f"unknown RF state code {number}")
    return r.RfState(number, v.single_spaced(name) or RF_STATE_NAMES[number])


def _bool_word(text: str | None, true: str, false: str) -> bool | None:
    if text is None:
        return None
    word = text.lower()
    if word not in (true, false):
        raise BadValue(text, f"expected {true!r} or {false!r}, got {text!r}")
    return word == true


def build_redundancy_states(rows: list[Row]) -> list[r.Record]:
    row = rows[-1]  # one record per output; EOF emits it
    my_state = rf_state(_s(row, "MY_STATE_CODE"), _s(row, "MY_STATE_NAME"))
    if my_state is None:  # MY_STATE_CODE is Required in the template
        raise Incomplete("no 'my state' line")
    mode = _opt(row, "MODE")
    communications = _opt(row, "COMMUNICATIONS")
    return [
        r.RedundancyStates(
            my_state=my_state,
            peer_state=rf_state(_s(row, "PEER_STATE_CODE"), _s(row, "PEER_STATE_NAME")),
            mode=mode,
            duplex=_bool_word(mode, "duplex", "simplex"),
            unit=_opt(row, "UNIT"),
            unit_id=_int(row, "UNIT_ID"),
            redundancy_mode_operational=_opt(row, "REDUNDANCY_MODE_OPERATIONAL"),
            redundancy_mode_configured=_opt(row, "REDUNDANCY_MODE_CONFIGURED"),
            redundancy_state=_opt(row, "REDUNDANCY_STATE"),
            redundancy_mode=_opt(row, "REDUNDANCY_MODE"),
            maintenance_mode=_opt(row, "MAINTENANCE_MODE"),
            manual_swact=_opt(row, "MANUAL_SWACT"),
            manual_swact_reason=_opt(row, "MANUAL_SWACT_REASON"),
            communications=communications,
            communications_up=_bool_word(communications, "up", "down"),
            communications_reason=_opt(row, "COMMUNICATIONS_REASON"),
            client_count=_int(row, "CLIENT_COUNT"),
            client_notification_timer_ms=_int(row, "CLIENT_NOTIFICATION_TMR_MS", v.TIME_MAX),
            keep_alive_timer_ms=_int(row, "KEEP_ALIVE_TMR_MS", v.TIME_MAX),
            keep_alive_count=_int(row, "KEEP_ALIVE_COUNT"),
            keep_alive_threshold=_int(row, "KEEP_ALIVE_THRESHOLD"),
            rf_debug_mask=_opt(row, "RF_DEBUG_MASK"),
        )
    ]


# --- IOS-XE box-to-box redundancy groups ------------------------------------

_RF_CODE_OF = {name: code for code, name in RF_STATE_NAMES.items()}
# `Active Peer:` / `Standby Peer:` of an RG protocol block, the other box.
_RG_PEER = re.compile(r"^address\s+(\S+?)\s*,\s*priority\s+(\d+)\s*,\s*intf\s+(\S+)$")


def rf_state_named(name: str | None) -> r.RfState | None:
    """An RF state printed by name alone (`RF state: STANDBY HOT`), with the
    code `show redundancy states` prints for it."""
    if name is None:
        return None
    spaced = v.single_spaced(name)
    code = _RF_CODE_OF.get(spaced.upper())
    if code is None:
        raise BadValue(name, f"unknown RF state {name!r}")
    return r.RfState(code, spaced)


def _rg_peer(row: Row, key: str) -> r.RgPeer | None:
    """`Local`, `address A, priority P, intf I`, or (any other words, as
    `Not exist`) no box in that role."""
    text = _opt(row, key)
    if text is None:
        return None
    if text.lower() == "local":
        return r.RgPeer(True, None, None, None)
    match = _RG_PEER.match(text)
    if match is not None:
        try:
            priority = v.bounded_int(match.group(2), HSRP_PRIORITY_MAX, "RG peer priority")
        except ValueError as exc:
            raise BadValue(match.group(2), str(exc)) from None
        return r.RgPeer(False, match.group(1), priority, match.group(3))
    if text.lower().startswith("address"):
        raise BadValue(text, f"{_what(key)} {text!r} is not 'address <ip>, priority <n>, intf <interface>'")
    return r.RgPeer(False, None, None, None)


# A block of `show redundancy application group all` that began (its header
# value, or the line it hangs on) has all of these lines, in every real
# output: one missing is an output cut short inside the block, never a
# group with less to say. (value that opens the block, what the block is,
# {value: its line}).
_RG_BLOCKS: tuple[tuple[str, str, dict[str, str]], ...] = (
    (
        "FAULTS_GROUP",
        "faults block",
        {
            "RUNTIME_PRIORITY": "Runtime priority",
            "FAULTS_STATE": "RG Faults RG State",
            "FAULT_SWITCHOVERS": "Total # of switchovers due to faults",
            "FAULT_DOWN_UPS": "Total # of down/up state changes due to faults",
        },
    ),
    ("RF_STATE", "group block", {"PEER_RF_STATE": "Peer RF state"}),
    (
        "PROTOCOL_GROUP",
        "RG Protocol block",
        {
            "PROTOCOL_ROLE": "Role",
            "PRIORITY": "Priority",
            "PROTOCOL_STATE": "Protocol state",
            "CTRL_STATE": "Ctrl Intf(s) state",
            "ACTIVE_PEER": "Active Peer",
            "STANDBY_PEER": "Standby Peer",
            "ROLE_TO_ACTIVE": "role change to active",
            "ROLE_TO_STANDBY": "role change to standby",
            "DISABLE_RG_DOWN": "disable events",
            "CTRL_UP_EVENTS": "ctrl intf events",
            "RELOAD_LOCAL": "reload events",
        },
    ),
    (
        "MEDIA_GROUP",
        "RG Media Context block",
        {
            "CTX_STATE": "Ctx State",
            "CONTROL_INTERFACE": "Control Interface",
            "HELLO_TIMER": "Current Hello timer",
            "HOLD_TIMER": "Configured Hello timer",
            "PEER_HOLD": "Peer Hello timer",
            "PACKETS": "Pkts",
            "AUTH_FAILURES": "Authentication Failure",
            "RELOAD_PEER_TX": "Reload Peer",
            "RESIGN_TX": "Resign",
        },
    ),
    ("MEDIA_PEER_HOLD", "media peer line", {"PEER_PACKETS": "Pkts (the peer's)"}),
)


def _check_rg_blocks(row: Row, group_id: int) -> None:
    for opener, block, lines in _RG_BLOCKS:
        if _opt(row, opener) is None:
            continue
        missing = [line for value, line in lines.items() if _opt(row, value) is None]
        if missing:
            raise Incomplete(f"redundancy group {group_id}: its {block} lacks {', '.join(repr(m) for m in missing)}")


def _yes_no(row: Row, key: str) -> bool | None:
    return _bool_word(_opt(row, key), "yes", "no")


def build_redundancy_groups(rows: list[Row]) -> list[r.Record]:
    groups: list[r.Record] = []
    for row in rows:
        group_id = _int(row, "GROUP_ID", RG_ID_MAX)
        if group_id is None:  # the template requires the Group ID line (commands.py)
            raise Incomplete("a redundancy group without its 'Group ID:' line")
        for key in ("FAULTS_GROUP", "PROTOCOL_GROUP", "MEDIA_GROUP"):
            other = _opt(row, key)
            if other is not None and int(other) != group_id:
                raise BadValue(other, f"{_what(key)} {other} inside the block of group {group_id}")
        administrative = _opt(row, "ADMIN_STATE")
        operational = _opt(row, "OPER_STATE")
        faults = _opt(row, "FAULTS_STATE")
        control = _opt(row, "CTRL_STATE")
        my_role = _opt(row, "MY_ROLE")
        if my_role is None:
            raise Incomplete(f"redundancy group {group_id} without its 'My Role:' line")
        media_peer = _opt(row, "MEDIA_PEER_STATUS")
        for packets, loss in (("PACKETS", "PACKET_LOSS"), ("PEER_PACKETS", "PEER_PACKET_LOSS")):
            if _opt(row, packets) is not None and _opt(row, loss) is None:  # wrapped, and the output ends there
                raise Incomplete(f"redundancy group {group_id}: a Pkts line without its Pkt Loss value")
        _check_rg_blocks(row, group_id)
        groups.append(
            r.RedundancyGroup(
                group_id=group_id,
                group_name=_opt(row, "GROUP_NAME"),
                runtime_priority=_int(row, "RUNTIME_PRIORITY", HSRP_PRIORITY_MAX),
                faults_state=faults,
                faults_up=None if faults is None else faults.lower() == "up",
                fault_switchovers=_int(row, "FAULT_SWITCHOVERS"),
                fault_down_ups=_int(row, "FAULT_DOWN_UPS"),
                administrative_state=administrative,
                admin_up=_bool_word(
                    None if administrative is None else v.single_spaced(administrative), "no shutdown", "shutdown"
                ),
                operational_state=operational,
                operational_up=None if operational is None else operational.lower() == "up",
                my_role=my_role.upper(),
                peer_role=(_opt(row, "PEER_ROLE") or "").upper() or None,
                peer_present=_yes_no(row, "PEER_PRESENCE"),
                peer_comm=_yes_no(row, "PEER_COMM"),
                peer_progression_started=_yes_no(row, "PEER_PROGRESSION"),
                rf_domain=_opt(row, "RF_DOMAIN"),
                rf_state=rf_state_named(_opt(row, "RF_STATE")),
                peer_rf_state=rf_state_named(_opt(row, "PEER_RF_STATE")),
                protocol_role=_opt(row, "PROTOCOL_ROLE"),
                negotiation=_opt(row, "NEGOTIATION"),
                priority=_int(row, "PRIORITY", HSRP_PRIORITY_MAX),
                protocol_state=_opt(row, "PROTOCOL_STATE"),
                control_interface_state=control,
                control_interface_up=None if control is None else control.lower() == "up",
                active_peer=_rg_peer(row, "ACTIVE_PEER"),
                standby_peer=_rg_peer(row, "STANDBY_PEER"),
                role_changes_to_active=_int(row, "ROLE_TO_ACTIVE"),
                role_changes_to_standby=_int(row, "ROLE_TO_STANDBY"),
                disable_events_rg_down=_int(row, "DISABLE_RG_DOWN"),
                disable_events_rg_shut=_int(row, "DISABLE_RG_SHUT"),
                control_interface_up_events=_int(row, "CTRL_UP_EVENTS"),
                control_interface_down_events=_int(row, "CTRL_DOWN_EVENTS"),
                control_interface_admin_down_events=_int(row, "CTRL_ADMIN_DOWN_EVENTS"),
                reload_requests_local=_int(row, "RELOAD_LOCAL"),
                reload_requests_peer=_int(row, "RELOAD_PEER"),
                context_state=_opt(row, "CTX_STATE"),
                protocol_id=_int(row, "PROTOCOL_ID"),
                media_type=_opt(row, "MEDIA_TYPE"),
                control_interface=_opt(row, "CONTROL_INTERFACE"),
                hello_timer_ms=_int(row, "HELLO_TIMER", v.TIME_MAX),
                configured_hello_timer_ms=_int(row, "CONFIGURED_HELLO", v.TIME_MAX),
                hold_timer_ms=_int(row, "HOLD_TIMER", v.TIME_MAX),
                peer_hello_timer_ms=_int(row, "PEER_HELLO", v.TIME_MAX),
                peer_hold_timer_ms=_int(row, "PEER_HOLD", v.TIME_MAX),
                packets=_int(row, "PACKETS"),
                packet_loss=_int(row, "PACKET_LOSS"),
                authentication=None if not _opt(row, "AUTHENTICATION") else v.single_spaced(_s(row, "AUTHENTICATION")),
                authentication_failures=_int(row, "AUTH_FAILURES"),
                reload_peer_sent=_int(row, "RELOAD_PEER_TX"),
                reload_peer_received=_int(row, "RELOAD_PEER_RX"),
                resigns_sent=_int(row, "RESIGN_TX"),
                resigns_received=_int(row, "RESIGN_RX"),
                media_peer_role=_opt(row, "MEDIA_PEER_ROLE"),
                media_peer_present=None if media_peer is None else v.single_spaced(media_peer).lower() == "present",
                media_peer_hold_timer_ms=_int(row, "MEDIA_PEER_HOLD", v.TIME_MAX),
                peer_packets=_int(row, "PEER_PACKETS"),
                peer_packet_loss=_int(row, "PEER_PACKET_LOSS"),
            )
        )
    return groups


def build_redundancy_group_table(rows: list[Row]) -> list[r.Record]:
    return [
        r.RedundancyGroupBrief(_req_int(row, "GROUP_ID", RG_ID_MAX), _s(row, "GROUP_NAME"), _s(row, "STATE").upper())
        for row in rows
    ]


def build_rg_interfaces(rows: list[Row]) -> list[r.Record]:
    interfaces: list[r.Record] = []
    for row in rows:
        if not _opt(row, "INTERFACE"):  # a group header with no interface under it
            continue
        shut = _opt(row, "SHUT")
        interfaces.append(
            r.RgInterface(
                group_id=_req_int(row, "GROUP_ID", RG_ID_MAX),
                interface=_s(row, "INTERFACE"),
                vmac=_opt(row, "VMAC"),
                vip=_opt(row, "VIP"),
                shut=None if shut is None else v.single_spaced(shut).lower() == "shut",
                decrement=_int(row, "DECREMENT", HSRP_PRIORITY_MAX),
            )
        )
    return interfaces


_INTERDEV_STATES = {"ACT": "active", "STDBY": "standby", "INIT": "init"}


def build_inter_device(rows: list[Row]) -> list[r.Record]:
    row = rows[-1]
    token = _s(row, "STATE")
    suffix = token.removeprefix("RF_INTERDEV_STATE_")
    peer = _opt(row, "PEER")
    return [
        r.InterDeviceRedundancy(
            state_token=token,
            state=_INTERDEV_STATES.get(suffix, token),
            scheme=_opt(row, "SCHEME"),
            group_name=_opt(row, "GROUP_NAME"),
            group_state=_opt(row, "GROUP_STATE"),
            peer_token=peer,
            # RF_INTERDEV_PEER_COMM is the one token known to mean "talking";
            # any other token (or none) is reported as not communicating.
            peer_communicating=None if peer is None else peer == "RF_INTERDEV_PEER_COMM",
            security=_opt(row, "SECURITY"),
        )
    ]


def _role(text: str | None) -> str | None:
    return text.lower() if text else None


def build_redundancy(rows: list[Row]) -> list[r.Record]:
    row = rows[-1]
    peer_role = _opt(row, "PEER_ROLE")
    if peer_role and not _opt(row, "PEER_SOFTWARE_STATE"):
        raise Incomplete("the peer processor section has no 'Current Software state' line")
    return [
        r.Redundancy(
            system_uptime_seconds=_duration(v.long_duration_seconds, _s(row, "SYSTEM_UPTIME")),
            switchovers=_int(row, "SWITCHOVERS"),
            standby_failures=_int(row, "STANDBY_FAILURES"),
            last_switchover_reason=_opt(row, "LAST_SWITCHOVER_REASON"),
            hardware_mode=_opt(row, "HARDWARE_MODE"),
            configured_mode=_opt(row, "CONFIGURED_MODE"),
            operating_mode=_opt(row, "OPERATING_MODE"),
            maintenance_mode=_opt(row, "MAINTENANCE_MODE"),
            communications=_opt(row, "COMMUNICATIONS"),
            communications_reason=_opt(row, "COMMUNICATIONS_REASON"),
            my_role=_role(_opt(row, "MY_ROLE")),
            my_location=_opt(row, "MY_LOCATION"),
            my_software_state=_opt(row, "MY_SOFTWARE_STATE"),
            my_state_uptime_seconds=_duration(v.long_duration_seconds, _s(row, "MY_STATE_UPTIME")),
            my_image_version=_opt(row, "MY_IMAGE_VERSION"),
            peer_role=_role(peer_role),
            peer_location=_opt(row, "PEER_LOCATION"),
            peer_software_state=_opt(row, "PEER_SOFTWARE_STATE"),
            peer_state_uptime_seconds=_duration(v.long_duration_seconds, _s(row, "PEER_STATE_UPTIME")),
            peer_available=peer_role is not None,
            peer_unavailable_slot=_opt(row, "PEER_UNAVAILABLE_SLOT"),
            peer_unavailable_state=_opt(row, "PEER_UNAVAILABLE_STATE"),
            peer_unavailable_reason=_opt(row, "PEER_UNAVAILABLE_REASON"),
        )
    ]


def build_redundancy_history(rows: list[Row]) -> list[r.Record]:
    events: list[r.Record] = []
    for row in rows:
        time = _s(row, "TIME")
        events.append(
            r.RedundancyHistoryEvent(
                uptime_seconds=_duration(v.compact_duration_seconds, time),
                time=time,
                my_state=rf_state(_s(row, "MY_STATE_CODE"), _s(row, "MY_STATE_NAME")),
                peer_state=rf_state(_s(row, "PEER_STATE_CODE"), _s(row, "PEER_STATE_NAME")),
                my_state_changed=_s(row, "MY_CHANGED") == "*",
                peer_state_changed=_s(row, "PEER_CHANGED") == "*",
                event=_opt(row, "EVENT"),
            )
        )
    return events


def build_switchover_history(rows: list[Row]) -> list[r.Record]:
    return [
        r.SwitchoverEvent(
            index=_req_int(row, "INDEX"),
            previous_active=_req_int(row, "PREVIOUS_ACTIVE"),
            current_active=_req_int(row, "CURRENT_ACTIVE"),
            reason=_s(row, "REASON"),
            time=_s(row, "TIME"),
        )
        for row in rows
    ]


# --- IPsec / IKE --------------------------------------------------------------


def _esp_sas(row: Row, direction: str, train_prints_status: bool) -> list[r.EspSa]:
    spis = _list(row, f"{direction}_ESP_SPI")
    statuses = _list(row, f"{direction}_ESP_STATUS")
    lifetimes = _list(row, f"{direction}_ESP_LIFETIME")
    if not train_prints_status:
        # 12.2 trains print no Status line: every SA listed is installed.
        statuses = [""] * len(spis)
    elif len(statuses) != len(spis):
        token = (spis or statuses)[-1]
        message = f"{len(spis)} {direction.lower()} ESP SA(s) but {len(statuses)} Status line(s)"
        raise BadValue(token, message)
    # A lifetime line is missing on some trains; pair them only when each SA has one.
    if len(lifetimes) != len(spis):
        lifetimes = [""] * len(spis)
    sas = []
    for spi, status, lifetime in zip(spis, statuses, lifetimes, strict=True):
        try:
            kilobytes, seconds = v.sa_lifetime(lifetime)
        except ValueError as exc:
            raise BadValue(lifetime, str(exc)) from None
        # A standby copy is never active, whatever else its Status says.
        active = status.startswith("ACTIVE") and "STANDBY" not in status if status else True
        sas.append(r.EspSa(spi, status or None, active, kilobytes, seconds))
    return sas


def _ident(row: Row, side: str) -> str | None:
    parts = [_s(row, f"{side}_IDENT_{part}") for part in ("ADDR", "MASK", "PROT", "PORT")]
    return "/".join(parts) if parts[0] else None


def _check_sa_sections(row: Row) -> None:
    # IOS prints inbound esp/ah/pcp then outbound esp/ah/pcp for every proxy:
    # a proxy without them, or whose last section is an ESP list, was cut short.
    sections = _list(row, "SECTIONS")
    if not sections or "outbound esp" not in sections:
        raise Incomplete(f"proxy toward {_s(row, 'PEER')} has no complete inbound/outbound SA sections")
    if sections[-1].endswith("esp"):
        raise Incomplete(f"proxy toward {_s(row, 'PEER')} ends inside its {sections[-1]} SA list")


def build_ipsec_sas(rows: list[Row]) -> list[r.Record]:
    for row in rows:
        _check_sa_sections(row)
    prints_status = any(row["INBOUND_ESP_STATUS"] or row["OUTBOUND_ESP_STATUS"] for row in rows)
    return [
        r.IpsecSa(
            interface=_s(row, "INTERFACE"),
            crypto_map=_opt(row, "CRYPTO_MAP_TAG"),
            local_address=_opt(row, "LOCAL_ADDR"),
            protected_vrf=_opt(row, "PROTECTED_VRF"),
            local_ident=_ident(row, "LOCAL"),
            remote_ident=_ident(row, "REMOTE"),
            peer=_s(row, "PEER"),
            peer_port=_int(row, "PEER_PORT", v.PORT_MAX),
            pkts_encaps=_int(row, "PKTS_ENCAPS"),
            pkts_encrypt=_int(row, "PKTS_ENCRYPT"),
            pkts_digest=_int(row, "PKTS_DIGEST"),
            pkts_decaps=_int(row, "PKTS_DECAPS"),
            pkts_decrypt=_int(row, "PKTS_DECRYPT"),
            pkts_verify=_int(row, "PKTS_VERIFY"),
            send_errors=_int(row, "SEND_ERRORS"),
            recv_errors=_int(row, "RECV_ERRORS"),
            local_endpoint=_opt(row, "LOCAL_ENDPOINT"),
            remote_endpoint=_opt(row, "REMOTE_ENDPOINT"),
            current_outbound_spi=_opt(row, "CURRENT_OUTBOUND_SPI"),
            inbound_esp=_esp_sas(row, "INBOUND", prints_status),
            outbound_esp=_esp_sas(row, "OUTBOUND", prints_status),
        )
        for row in rows
    ]


def build_isakmp_sas(rows: list[Row]) -> list[r.Record]:
    sas: list[r.Record] = []
    for row in rows:
        dst = _s(row, "DST")
        family = _s(row, "ADDRESS_FAMILY").lower() or ("ipv6" if ":" in dst else "ipv4")
        status = _opt(row, "STATUS")
        sas.append(
            r.IsakmpSa(
                address_family=family,
                dst=dst,
                src=_s(row, "SRC"),
                state=_s(row, "STATE"),
                conn_id=_int(row, "CONN_ID"),
                slot=_int(row, "SLOT"),
                status=v.single_spaced(status) if status else None,
                deleted=bool(status and "deleted" in status),
            )
        )
    return sas


# IANA's Diffie-Hellman transform IDs are 16-bit.
DH_GROUP_MAX = 65535
# What IOS prints for an algorithm an IN-NEG SA has not negotiated yet.
_NOT_NEGOTIATED = re.compile(r"Unknown\s+-\s+\d+")


def _algorithm(row: Row, key: str) -> str | None:
    text = _opt(row, key)
    return None if text is None or _NOT_NEGOTIATED.fullmatch(text) else text


def build_ikev2_sas(rows: list[Row]) -> list[r.Record]:
    sas: list[r.Record] = []
    for row in rows:
        local = _s(row, "LOCAL")
        initiator = _opt(row, "INITIATOR")
        sas.append(
            r.Ikev2Sa(
                # Without a section header (some detail outputs start at the
                # table), the address says the family.
                address_family=_s(row, "ADDRESS_FAMILY").lower() or ("ipv6" if ":" in local else "ipv4"),
                tunnel_id=_req_int(row, "TUNNEL_ID"),
                local_address=local,
                local_port=_req_int(row, "LOCAL_PORT", v.PORT_MAX),
                remote_address=_s(row, "REMOTE"),
                remote_port=_req_int(row, "REMOTE_PORT", v.PORT_MAX),
                fvrf=_s(row, "FVRF"),
                ivrf=_s(row, "IVRF"),
                status=_s(row, "STATUS"),
                encryption=_algorithm(row, "ENCRYPTION"),
                keysize=_int(row, "KEYSIZE", v.PORT_MAX),
                prf=_algorithm(row, "PRF"),
                hash=_algorithm(row, "HASH"),
                dh_group=_req_int(row, "DH_GROUP", DH_GROUP_MAX),
                auth_sign=_algorithm(row, "AUTH_SIGN"),
                auth_verify=_algorithm(row, "AUTH_VERIFY"),
                quantum_resistant=bool(_opt(row, "QUANTUM_RESISTANT")),
                pqc_key_exchange=_opt(row, "PQC_KEY_EXCHANGE"),
                lifetime_seconds=_req_int(row, "LIFETIME", v.TIME_MAX),
                active_seconds=_req_int(row, "ACTIVE_TIME", v.TIME_MAX),
                ce_id=_int(row, "CE_ID"),
                session_id=_int(row, "SESSION_ID"),
                local_spi=_opt(row, "LOCAL_SPI"),
                remote_spi=_opt(row, "REMOTE_SPI"),
                status_description=_opt(row, "STATUS_DESCRIPTION"),
                local_id=_opt(row, "LOCAL_ID"),
                remote_id=_opt(row, "REMOTE_ID"),
                initiator=None if initiator is None else initiator == "Yes",
                remote_subnets=[v.single_spaced(subnet) for subnet in _list(row, "REMOTE_SUBNETS")],
            )
        )
    return sas


def build_crypto_sessions(rows: list[Row]) -> list[r.Record]:
    sessions: list[r.Record] = []
    for row in rows:
        if len(_list(row, "FLOW_ACTIVE_SAS")) != len(_list(row, "FLOWS")):
            raise Incomplete(f"session with {_s(row, 'PEER')} has an IPSEC FLOW without its 'Active SAs' line")
        flows = [
            r.IpsecFlow(flow, _active_sas(active), origin or None)
            for flow, active, origin in _zip_longest(
                _list(row, "FLOWS"), _list(row, "FLOW_ACTIVE_SAS"), _list(row, "FLOW_ORIGINS")
            )
        ]
        status = _s(row, "STATUS")
        sessions.append(
            r.CryptoSession(
                interface=_s(row, "INTERFACE"),
                status=status,
                up=status.startswith("UP"),
                peer=_opt(row, "PEER"),
                peer_port=_int(row, "PEER_PORT", v.PORT_MAX),
                profile=_opt(row, "PROFILE"),
                username=_opt(row, "USERNAME"),
                group=_opt(row, "GROUP"),
                assigned_address=_opt(row, "ASSIGNED_ADDRESS"),
                session_id=_int(row, "SESSION_ID"),
                # One template line fills all four lists, so they align.
                ike_sas=[r.IkeSa(*fields) for fields in zip(*_ike_columns(row), strict=True)],
                flows=flows,
                active_sas=sum(flow.active_sas or 0 for flow in flows),
            )
        )
    return sessions


def _active_sas(text: str) -> int | None:
    try:
        return v.optional_int(text, what="active SAs")
    except ValueError as exc:
        raise BadValue(text, str(exc)) from None


def _ike_columns(row: Row) -> list[list[str]]:
    columns = [_list(row, f"IKE_{column}") for column in ("VERSION", "LOCAL", "REMOTE", "STATE")]
    if len({len(column) for column in columns}) > 1:
        # an IKE SA line wrapped onto the next line, and the output ends there
        raise Incomplete(f"session with {_s(row, 'PEER')} has an IKE SA line cut short")
    return columns


def _zip_longest(*columns: list[str]) -> list[tuple[str, ...]]:
    length = max((len(column) for column in columns), default=0)
    return [tuple(column[i] if i < len(column) else "" for column in columns) for i in range(length)]


# --- show version -------------------------------------------------------------

# "System returned to ROM by reload at 10:02:13 UTC Thu Nov 26 2026": the
# reason is what precedes the time stamp.
# Searched from the first blank of a run only: from each blank of a long run
# `\s+` would rescan the rest of it.
_REASON_TIME = re.compile(r"(?<!\s)\s+at\s+\d{1,2}:\d\d:\d\d\b.*$")


def build_version(rows: list[Row]) -> list[r.Record]:
    row = rows[0]
    uptime = _s(row, "UPTIME")
    seconds = _duration(v.long_duration_seconds, uptime)
    if seconds is None:  # UPTIME is a required line
        raise Incomplete("no '<hostname> uptime is' line")
    returned_to_rom_by = _REASON_TIME.sub("", _s(row, "RETURNED_TO_ROM_BY")) or None
    return [
        r.Version(
            hostname=_s(row, "HOSTNAME"),
            software_image=_opt(row, "SOFTWARE_IMAGE"),
            software_version=_opt(row, "VERSION"),
            uptime=uptime,
            uptime_seconds=seconds,
            reload_reason=_opt(row, "LAST_RELOAD_REASON") or returned_to_rom_by,
            returned_to_rom_by=returned_to_rom_by,
            last_reload_type=_opt(row, "LAST_RELOAD_TYPE"),
            restarted_at=_opt(row, "RESTARTED"),
        )
    ]


# --- show logging -------------------------------------------------------------


def build_log_messages(rows: list[Row]) -> list[r.Record]:
    return [
        r.LogMessage(
            sequence=_int(row, "SEQUENCE"),
            timestamp=_opt(row, "TIMESTAMP"),
            facility=_s(row, "FACILITY"),
            severity=_req_int(row, "SEVERITY", 7),
            mnemonic=_s(row, "MNEMONIC"),
            text=_s(row, "TEXT"),
            message=_s(row, "MESSAGE"),
            continuation=_list(row, "CONTINUATION"),
        )
        for row in rows
    ]
