"""The command table: the one place that says, for each platform and show
command the monitor understands, which template parses it, which record it
becomes, what a complete answer must contain and what would make an answer
contradict itself.

The CliTable `index` in textfsm_templates/ is generated from this table
(`python -m ipsec_ha_monitor.parse.write_index`); a test keeps the committed file in
step.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from ipsec_ha_monitor import records
from ipsec_ha_monitor.parse import builders, consistency
from ipsec_ha_monitor.parse.device_errors import PROMPT
from ipsec_ha_monitor.parse.templates import DEFAULT_PLATFORM, OUR_TEMPLATES


@dataclass(frozen=True)
class CommandSpec:
    command: str  # canonical form, as pollers send it
    template: str  # file name in the template folder
    index_command: str  # CliTable Command column (`[[...]]` completion syntax)
    record: type[records.Record]
    build: builders.Builder
    # Lines every complete record has, each with the template values it sets
    # (any one of them proves the line came): a record missing one means
    # truncated output or an IOS variant the template does not know. Every
    # value the template marks Required is listed here too: the parser runs
    # the template without its Required options, so that a record lacking
    # one is reported with the missing line's name instead of vanishing.
    required: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Text that proves the device answered even when there are no records
    # (no SAs yet is a valid answer, an empty screen is not): searched in the
    # whole output, only when no record came out.
    empty_answer: re.Pattern[str] | None = None
    platform: str = DEFAULT_PLATFORM  # the netmiko device type (index Platform column)
    # What no two records of one output may share (see consistency.py); None
    # for records that repeat legitimately (a message logged twice).
    record_key: consistency.RecordKey | None = consistency.whole_row
    # Values one record may state on two lines (any other is refused twice).
    may_restate: frozenset[str] = frozenset()
    # Values IOS prints only from a closed list, each with its words: one cut
    # short ("ACTIV") is a bad_value, never a status IOS does not print.
    words: dict[str, re.Pattern[str]] = field(default_factory=dict)

    @functools.cached_property  # a Path join costs more than parsing a short output's lines
    def template_path(self) -> Path:
        return OUR_TEMPLATES / self.template


def _t(command: str) -> str:
    return f"cisco_ios_{command.replace(' ', '_')}.textfsm"


# Order matters for the CliTable index: more specific commands first, and
# every Command pattern is anchored with "$" so that `show redundancy` does
# not swallow `show redundancy states` (CliTable matches prefixes).
COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "show standby brief",
        _t("show standby brief"),
        "sh[[ow]] stan[[dby]] b[[rief]]",
        records.HsrpBriefEntry,
        builders.build_hsrp_brief,
        required={
            "<interface> <group> <priority> row": ("GROUP", "INTERFACE"),
            "the state column": ("STATE",),
            "the virtual IP column": ("VIRTUAL_IP",),
        },
        empty_answer=re.compile(r"^Interface[ \t]+Grp[ \t]+Pri", re.M),
        record_key=consistency.hsrp_brief,
    ),
    CommandSpec(
        "show standby",
        _t("show standby"),
        "sh[[ow]] stan[[dby]]( all)?",
        records.HsrpGroup,
        builders.build_hsrp_groups,
        required={
            "<interface> - Group <n>": ("INTERFACE", "GROUP"),
            "State is ...": ("STATE",),
            "Preemption ...": ("PREEMPT",),
            "Active router is ...": ("ACTIVE_ROUTER",),
            "Standby router is ...": ("STANDBY_ROUTER",),
            "Priority ...": ("PRIORITY",),
        },
        record_key=consistency.hsrp_group,
    ),
    CommandSpec(
        "show redundancy states",
        _t("show redundancy states"),
        "sh[[ow]] red[[undancy]] sta[[tes]]",
        records.RedundancyStates,
        builders.build_redundancy_states,
        # What every real sample prints, the article's four-line quotes too.
        required={
            "my state = ...": ("MY_STATE_CODE",),
            "peer state = ...": ("PEER_STATE_CODE",),
            "Mode = ...": ("MODE",),
            "Unit ID = ...": ("UNIT_ID",),
        },
        words={"MY_STATE_NAME": consistency.RF_STATE_NAME, "PEER_STATE_NAME": consistency.RF_STATE_NAME},
    ),
    CommandSpec(
        "show redundancy inter-device",
        _t("show redundancy inter-device"),
        "sh[[ow]] red[[undancy]] i[[nter-device]]",
        records.InterDeviceRedundancy,
        builders.build_inter_device,
        # The lines of the one real sample (packetlife); "Peer present:" is
        # read when present, never required: no real output has it.
        required={
            "Redundancy inter-device state: ...": ("STATE",),
            "Scheme: ...": ("SCHEME",),
            "Groupname: ... Group State: ...": ("GROUP_NAME",),
            "Security: ...": ("SECURITY",),
        },
    ),
    CommandSpec(
        "show redundancy switchover history",
        _t("show redundancy switchover history"),
        "sh[[ow]] red[[undancy]] sw[[itchover]] h[[istory]]",
        records.SwitchoverEvent,
        builders.build_switchover_history,
        required={"<index> <previous> <current> <reason> <time> row": ("INDEX",)},
        empty_answer=re.compile(r"^[ \t]*Index[ \t]+Previous", re.M),
        record_key=consistency.switchover_index,
    ),
    CommandSpec(
        "show redundancy history",
        _t("show redundancy history"),
        "sh[[ow]] red[[undancy]] h[[istory]]",
        records.RedundancyHistoryEvent,
        builders.build_redundancy_history,
        required={"<time> <event> line": ("TIME",)},
        empty_answer=re.compile(r"^[ \t]*Redundancy[ \t]+Facility[ \t]+Event[ \t]+Log", re.M),
        record_key=None,  # an event that happened twice
    ),
    CommandSpec(
        "show redundancy",
        _t("show redundancy"),
        "sh[[ow]] red[[undancy]]",
        records.Redundancy,
        builders.build_redundancy,
        required={
            "Current Software state = ...": ("MY_SOFTWARE_STATE",),
            # the peer's section, or the sentence saying why there is none
            "Peer Processor Information / Peer (slot: ...) information is not available": (
                "PEER_ROLE",
                "PEER_UNAVAILABLE_SLOT",
            ),
        },
    ),
    CommandSpec(
        "show crypto ipsec sa",
        _t("show crypto ipsec sa"),
        "sh[[ow]] cry[[pto]] ips[[ec]] sa",
        records.IpsecSa,
        builders.build_ipsec_sas,
        required={
            "current_peer ...": ("PEER",),
            "#send errors ...": ("SEND_ERRORS",),
            "current outbound spi: ...": ("CURRENT_OUTBOUND_SPI",),
        },
        empty_answer=re.compile(r"^[ \t]*No[ \t]+SAs[ \t]+found", re.M),
    ),
    CommandSpec(
        "show crypto isakmp sa",
        _t("show crypto isakmp sa"),
        "sh[[ow]] cry[[pto]] isa[[kmp]] sa",
        records.IsakmpSa,
        builders.build_isakmp_sas,
        required={"the dst column / dst: line": ("DST",), "the state column / state: line": ("STATE",)},
        empty_answer=re.compile(r"^[ \t]*(?:dst[ \t]+src[ \t]+state|IPv[46][ \t]+Crypto[ \t]+ISAKMP[ \t]+SA)", re.M),
        record_key=consistency.isakmp_sa,
        words={"STATE": consistency.ISAKMP_STATE, "STATUS": consistency.ISAKMP_STATUS},
    ),
    CommandSpec(
        "show crypto ikev2 sa",
        _t("show crypto ikev2 sa"),
        # The detail form prints the same tunnels with more lines: one template.
        "sh[[ow]] cry[[pto]] ikev2 sa( d[[etail]])?",
        records.Ikev2Sa,
        builders.build_ikev2_sas,
        required={
            "<tunnel-id> ... <status> row": ("TUNNEL_ID",),
            "the status column": ("STATUS",),
            "the local address (row, or Local line)": ("LOCAL",),
            "the remote address (row, or Remote line)": ("REMOTE",),
            "Encr: ... DH Grp ... line": ("DH_GROUP",),
            "Life/Active Time: ... line": ("LIFETIME",),
        },
        # No IKEv2 SA: IOS prints the section headers alone (real samples:
        # genieparser's IPv4 section with no tunnel).
        empty_answer=re.compile(r"^[ \t]*IPv[46][ \t]+Crypto[ \t]+IKEv2[ \t]+SA[ \t]*$", re.M),
    ),
    CommandSpec(
        "show crypto session",
        _t("show crypto session"),
        "sh[[ow]] cry[[pto]] ses[[sion]]",
        records.CryptoSession,
        builders.build_crypto_sessions,
        required={
            "Interface: ...": ("INTERFACE",),
            "Session status: ...": ("STATUS",),
            "Peer: ...": ("PEER",),
            "IPSEC FLOW: ...": ("FLOWS",),
        },
        empty_answer=re.compile(r"^[ \t]*Crypto[ \t]+session[ \t]+current[ \t]+status", re.M),
        # IOS prints a "Session ID:" line per IKE SA of a session
        # (genieparser's samples file it under the IKE SA).
        may_restate=frozenset({"SESSION_ID"}),
    ),
    CommandSpec(
        "show logging",
        _t("show logging"),
        "sh[[ow]] log[[ging]]",
        records.LogMessage,
        builders.build_log_messages,
        required={"%FACILITY-SEVERITY-MNEMONIC: ... message": ("MNEMONIC",)},
        # The header block with no buffer, or "Log Buffer (N bytes):" with
        # nothing (but a prompt) after it. The scan from a header stops at the
        # next header (the search resumes there, with the same answer): from
        # every header to the end would be quadratic.
        empty_answer=re.compile(
            r"^Syslog[ \t]+logging:(?:(?!^Log[ \t]+Buffer\b|^Syslog[ \t]+logging:).)*?"
            rf"(?:^Log[ \t]+Buffer[ \t]+\(\d+[ \t]+bytes\):?[ \t]*(?:\n[ \t]*|\n{PROMPT}[^\n]*)*)?\Z",
            re.M | re.S,
        ),
        record_key=None,  # a message logged twice
    ),
    CommandSpec(
        "show version",
        _t("show version"),
        "sh[[ow]] ver[[sion]]",
        records.Version,
        builders.build_version,
        required={
            "<hostname> uptime is ...": ("UPTIME", "HOSTNAME"),
            "System returned to ROM by ... / Last reload reason: ...": ("RETURNED_TO_ROM_BY", "LAST_RELOAD_REASON"),
        },
    ),
)

# IOS-XE prints these commands as classic IOS does (the corpus's IOS-XE
# samples parse with the IOS templates), so its rows reuse them. An IOS-XE
# variant is one template `cisco_xe_<command>.textfsm`, its fixtures under
# tests/fixtures/cisco_xe/<command>/, and its row here in place of the copy.
XE_COMMANDS: tuple[CommandSpec, ...] = tuple(dataclasses.replace(spec, platform="cisco_xe") for spec in COMMANDS)


def _xe(command: str) -> str:
    return f"cisco_xe_{command.replace(' ', '_')}.textfsm"


# IOS-XE box-to-box redundancy groups (`application redundancy`): commands
# classic IOS does not have.
XE_B2B_COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "show redundancy application group all",
        _xe("show redundancy application group all"),
        # `group <id>` prints the same blocks for one group
        "sh[[ow]] red[[undancy]] app[[lication]] g[[roup]] (all|\\d+)",
        records.RedundancyGroup,
        builders.build_redundancy_groups,
        # What every real sample prints, the short `group <id>` form too.
        required={
            "Group ID:...": ("GROUP_ID",),
            "My Role: ...": ("MY_ROLE",),
            "Peer Role: ...": ("PEER_ROLE",),
            "RF state: ...": ("RF_STATE",),
        },
        platform="cisco_xe",
        record_key=consistency.redundancy_group,
        words={"RF_STATE": consistency.RF_STATE_NAME, "PEER_RF_STATE": consistency.RF_STATE_NAME},
    ),
    CommandSpec(
        "show redundancy application group",
        _xe("show redundancy application group"),
        "sh[[ow]] red[[undancy]] app[[lication]] g[[roup]]",
        records.RedundancyGroupBrief,
        builders.build_redundancy_group_table,
        required={"<id> <name> <state> row": ("GROUP_ID",)},
        empty_answer=re.compile(r"^[ \t]*Group[ \t]+ID[ \t]+Group[ \t]+Name", re.M),
        platform="cisco_xe",
        record_key=consistency.redundancy_group,
    ),
    CommandSpec(
        "show redundancy application if-mgr group",
        _xe("show redundancy application if-mgr group"),
        "sh[[ow]] red[[undancy]] app[[lication]] if[[-mgr]] g[[roup]]( \\d+)?",
        records.RgInterface,
        builders.build_rg_interfaces,
        required={"interface ...": ("INTERFACE",), "Shut ...": ("SHUT",), "VIP ...": ("VIP",)},
        # A group without a `redundancy group N ip` interface: its header alone.
        empty_answer=re.compile(r"^[ \t]*RG[ \t]+ID[ \t]*:", re.M),
        platform="cisco_xe",
        record_key=consistency.rg_interface,
    ),
)

# Every (platform, command) row: what the index lists and resolve() finds.
TABLE: tuple[CommandSpec, ...] = COMMANDS + XE_B2B_COMMANDS + XE_COMMANDS
BY_TEMPLATE: dict[tuple[str, str], CommandSpec] = {(spec.platform, spec.template): spec for spec in TABLE}


def render_index() -> str:
    """The CliTable index for our templates, in ntc-templates' format."""
    lines = [
        "# Generated from ipsec_ha_monitor/parse/commands.py: edit the table there, then",
        "# run: python -m ipsec_ha_monitor.parse.write_index",
        "#",
        "# First match wins and Command is matched as a prefix, so specific",
        "# commands come first and every pattern is anchored with $.",
        "",
        "Template, Hostname, Platform, Command",
        "",
    ]
    lines += [f"{spec.template}, .*, {spec.platform}, {spec.index_command}$" for spec in TABLE]
    return "\n".join(lines) + "\n"
