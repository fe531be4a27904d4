"""--nagios: one plugin result (status line, perfdata, long text) and the
plugin exit codes, as the Nagios plugin guidelines have them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ipsec_ha_monitor.check.table import active_note, failure_lines, not_judged, unreachable
from ipsec_ha_monitor.health import DEGRADED, HEALTHY, RECOVERING, UNHEALTHY, UNKNOWN, PairHealth
from ipsec_ha_monitor.logs import one_line
from ipsec_ha_monitor.words import count

if TYPE_CHECKING:
    from ipsec_ha_monitor.check.result import CheckResult

NAGIOS_OK, NAGIOS_WARNING, NAGIOS_CRITICAL, NAGIOS_UNKNOWN = 0, 1, 2, 3
NAGIOS_STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
NAGIOS_SERVICE = "IPSECHA"


def render_nagios(result: CheckResult, problems: Sequence[str] = ()) -> tuple[int, str]:
    """The plugin result: the exit code and the text, as the Nagios plugin
    guidelines have it: `IPSECHA <STATE> - <summary> | <perfdata>` on the
    first line, then one line per pair, failed poll and event (long text).
    `problems`: what else went wrong (the state not saved): UNKNOWN at
    least, and named in the summary."""
    code = result.nagios_code
    if (problems or result.timeout_note) and code == NAGIOS_OK:
        code = NAGIOS_UNKNOWN
    by_verdict = {verdict: [pair for pair in result.pairs if pair.verdict == verdict] for verdict in _VERDICT_ORDER}
    down = [snapshot for snapshot in result.snapshots.values() if not snapshot.up]
    # The budget running out comes first: it is why the rest is incomplete.
    parts: list[str] = [result.timeout_note] if result.timeout_note else []
    for verdict in (UNHEALTHY, RECOVERING, DEGRADED, UNKNOWN):
        pairs = by_verdict[verdict]
        if not pairs:
            continue
        named = ", ".join(f"{pair.pair} ({_rule_names(pair, verdict, result)})" for pair in pairs[:5])
        more = f" and {len(pairs) - 5} more" if len(pairs) > 5 else ""
        parts.append(f"{_of(len(pairs), len(result.pairs), 'pair')} {verdict}: {named}{more}")
    if down:
        named = ", ".join(f"{s.device} ({s.failures[0].status if s.failures else 'no result'})" for s in down[:5])
        more = f" and {len(down) - 5} more" if len(down) > 5 else ""
        parts.append(f"{_of(len(down), len(result.snapshots), 'device')} not polled: {named}{more}")
    parts += [one_line(problem) for problem in problems]
    healthy = len(by_verdict[HEALTHY])
    if not parts:
        polled = f"{count(len(result.snapshots), 'device')} polled"
        parts.append(f"{count(healthy, 'pair')} healthy, {polled}" if result.pairs else f"no pair judged, {polled}")
    elif healthy:
        parts.append(f"{count(healthy, 'pair')} healthy")
    if result.partial_pairs:
        parts.append(f"not judged (one member selected): {', '.join(pair.name for pair in result.partial_pairs)}")
    total_pairs, total_devices = len(result.pairs), len(result.snapshots)
    perfdata = " ".join(
        (
            f"pairs_healthy={healthy};;;0;{total_pairs}",
            f"pairs_degraded={len(by_verdict[DEGRADED])};0;;0;{total_pairs}",
            f"pairs_recovering={len(by_verdict[RECOVERING])};;0;0;{total_pairs}",
            f"pairs_unhealthy={len(by_verdict[UNHEALTHY])};;0;0;{total_pairs}",
            f"pairs_unknown={len(by_verdict[UNKNOWN])};;;0;{total_pairs}",
            f"devices_up={total_devices - len(down)};;;0;{total_devices}",
            f"devices_failed={len(down)};;;0;{total_devices}",
            f"poll_duration={result.duration_seconds:.3f}s;;;0",
        )
    )
    status = f"{NAGIOS_SERVICE} {NAGIOS_STATES[code]} - {'; '.join(parts)}"
    details: list[str] = []
    for pair in result.pairs:
        details.append(f"{pair.pair}: {pair.verdict.upper()}{active_note(pair)}")
        details += [f"  FAILED {rule.rule}: {rule.message}" for rule in pair.failed]
        unanswered = unreachable(pair, result.snapshots)
        if unanswered is not None:
            details.append(f"  UNKNOWN {count(len(pair.unknown), 'rule')}: {unanswered}")
        else:
            details += [f"  UNKNOWN {rule.rule}: {rule.message}" for rule in pair.unknown]
    for partial in result.partial_pairs:
        selected = [name for name in partial.members if name in result.inventory.devices]
        details.append(f"{partial.name}: NOT JUDGED ({not_judged(partial, selected)})")
    for snapshot in down:
        details += [line.strip() for line in failure_lines(snapshot)] if snapshot.failures else []
    details += [f"switchover in {s.pair}: {s.active} took over from {s.previous_active}" for s in result.switchovers]
    for reload in result.reloads:
        kind = "expected" if reload.expected else "UNEXPECTED"
        details.append(f"{kind} reload of {reload.device}: {reload.cause} ({reload.why})")
    # `|` starts the perfdata: never inside a summary or a detail.
    lines = [f"{status.replace('|', '/')} | {perfdata}", *(line.replace("|", "/") for line in details)]
    return code, "\n".join(lines) + "\n"


_VERDICT_ORDER = (HEALTHY, DEGRADED, RECOVERING, UNHEALTHY, UNKNOWN)


def _rule_names(pair: PairHealth, verdict: str, result: CheckResult) -> str:
    if verdict == UNKNOWN and unreachable(pair, result.snapshots) is not None:
        return "no member answered"
    rules = pair.unknown if verdict == UNKNOWN else pair.failed
    return ", ".join(rule.rule for rule in rules) or "not polled"


def _of(part: int, whole: int, noun: str) -> str:
    return f"{part} of {count(whole, noun)}" if whole > 1 else count(part, noun)


def nagios_line(code: int, message: str) -> str:
    """A plugin result of one line (a refusal, an error)."""
    return f"{NAGIOS_SERVICE} {NAGIOS_STATES[code]} - {one_line(message).replace('|', '/')}\n"
