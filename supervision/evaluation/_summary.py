"""The closing line: what changed, in the words a person reads first.

candidate: 14 more leads completed, 3 fewer in review; draft.placeholder 2.1% → 0.4%;
kappa 0.81; cost −38%
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from supervision.evaluation._result import Evaluation, RuleRates, Usage

_PHRASES = (
    ("completed", "completed"),
    ("needs_review", "in review"),
    ("disqualified", "disqualified"),
    ("failed", "failed"),
)
"""Outcome, and how a change in it reads."""


def closing_line(result: Evaluation) -> str:
    """One line: the outcome shift, the rule that moved most, kappa, cost, stability."""
    compacted = result.skipped.get("compacted", 0)
    if result.leads == 0:
        if compacted:
            return f"nothing to compare: {_not_replayed(compacted)}"
        return "nothing to compare: no finished lead to replay"
    if result.measured == 0:
        return f"nothing measured: the candidate finished none of {result.leads} leads"
    if result.kind == "golden":
        return _golden_line(result)
    parts = [_outcomes(result.outcomes["baseline"], result.outcomes["candidate"], result)]
    moved = _rule_moved_most(result.rules)
    if moved:
        parts.append(moved)
    if result.kappa is not None:
        parts.append(f"kappa {result.kappa:.2f}")
    spent = _spending(result.usage.get("baseline"), result.usage.get("candidate"))
    if spent:
        parts.append(spent)
    if result.flip_rate is not None:
        parts.append(f"outcome flips on {result.flip_rate:.0%} of leads over {result.repeat} draws")
    line = "candidate: " + "; ".join(parts)
    if result.partial:
        line = f"partial ({result.measured} of {result.leads} leads measured) {line}"
    if compacted:
        line += f"; {_not_replayed(compacted)}"
    return line


def _not_replayed(compacted: int) -> str:
    """Leads a compaction left without their evidence, which a short closing line must
    not hide: "no differences" on a tenth of a run reads as all of it."""
    leads = "lead" if compacted == 1 else "leads"
    return (
        f"{compacted} compacted {leads} not replayed (a run compacts as leads finish: "
        "run the baseline with --compact-every 0 --compact-minutes 0 to keep them whole)"
    )


def _outcomes(before: Mapping[str, int], after: Mapping[str, int], result: Evaluation) -> str:
    words: list[str] = []
    for outcome, what in _PHRASES:
        delta = after.get(outcome, 0) - before.get(outcome, 0)
        if delta:
            # The first says what is counted: "14 more leads completed, 3 fewer in review".
            leads = "" if words else (" lead" if abs(delta) == 1 else " leads")
            words.append(f"{abs(delta)} {'more' if delta > 0 else 'fewer'}{leads} {what}")
    if words:
        return ", ".join(words)
    moved = sum(n for b, row in result.transitions.items() for c, n in row.items() if b != c)
    if moved:
        return f"{moved} leads changed outcome, the counts unchanged"
    changed = sum(lead.changed for lead in result.lead_results)
    if changed:
        return (
            f"the same outcomes; {changed} of {result.measured} leads scored or drafted otherwise"
        )
    return f"no differences on {result.measured} leads"


def _rule_moved_most(rules: Sequence[RuleRates]) -> str:
    best: tuple[float, str] | None = None
    for rates in rules:
        if rates.baseline is None or rates.baseline.rate is None or rates.candidate.rate is None:
            continue
        change = abs(rates.candidate.rate - rates.baseline.rate)
        if change > 0 and (best is None or change > best[0]):
            best = (
                change,
                f"{rates.rule} {rates.baseline.rate:.1%} → {rates.candidate.rate:.1%}",
            )
    return best[1] if best is not None else ""


def _spending(before: Usage | None, after: Usage | None) -> str:
    if before is None or after is None or not (before.recorded and after.recorded):
        return ""
    if before.cost_usd > 0 and after.priced and before.priced:
        return f"cost {_percent(after.cost_per_lead, before.cost_per_lead)}"
    if before.tokens > 0:
        return f"tokens {_percent(after.tokens, before.tokens)}"
    return ""


def _percent(after: float, before: float) -> str:
    change = (after - before) / before
    if abs(change) < 0.005:
        return "±0%"
    return f"{'+' if change > 0 else '−'}{abs(change):.0%}"


def _golden_line(result: Evaluation) -> str:
    leads = [lead for lead in result.lead_results if lead.candidate is not None]
    met = sum(all(c.passed for c in lead.checks) for lead in leads)
    parts = [f"{met} of {len(leads)} leads as expected"]
    for name in ("fit", "outcome", "must_mention", "must_not_mention", "never_say"):
        checks = [c for lead in leads for c in lead.checks if c.name == name]
        if checks:
            parts.append(f"{name.replace('_', ' ')} {sum(c.passed for c in checks)}/{len(checks)}")
    if result.kappa is not None:
        parts.append(f"kappa {result.kappa:.2f}")
    line = "golden: " + "; ".join(parts)
    if result.partial:
        line = f"partial ({result.measured} of {result.leads} leads measured) {line}"
    return line
