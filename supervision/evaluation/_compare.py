"""The comparison: the baseline's leads against the candidate's, lead by lead and in all."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from actors.drift import compare as drift_compare
from actors.validation import RULE_IDS
from messages import Outcome
from supervision.evaluation._facts import Call, LeadFacts, RunFacts
from supervision.evaluation._result import (
    DriftResult,
    LeadResult,
    Rate,
    RuleRates,
    Side,
    Stability,
    StageUsage,
    Usage,
)
from supervision.evaluation._stats import (
    DiffOp,
    Proportion,
    cohen_kappa,
    confusion,
    quantile,
    word_diff,
)

FITS = ("high", "medium", "low")
NO_FIT = "none"
"""The fit of a lead that was never scored (rejected by research, failed)."""
STAGES = ("research", "scoring", "writing")
_STAGE_OF_PREFIX = {"research": "research", "score": "scoring", "draft": "writing"}
RATE_OUTCOMES = tuple(o.value for o in Outcome if o is not Outcome.REJECTED)
"""The outcomes a metric ``<outcome>_rate`` exists for."""


def side(facts: LeadFacts) -> Side:
    calls = facts.calls
    costs = [c.cost_usd for c in calls if c.cost_usd is not None]
    return Side(
        outcome=facts.outcome,
        reason=facts.reason,
        fit=facts.fit,
        score=facts.score,
        rules_failed=facts.rules_failed,
        subject=facts.subject,
        body=facts.body,
        calls=len(calls),
        tokens=sum(c.tokens for c in calls),
        cost_usd=sum(costs) if costs else None,
        latency_s=round(sum(c.latency_s for c in calls), 4),
    )


def lead_result(
    baseline: LeadFacts, candidate: LeadFacts | None, stability: Stability | None
) -> LeadResult:
    fields = baseline.fields
    name = " ".join(str(fields.get(k) or "") for k in ("first_name", "last_name")).strip()
    diff: tuple[tuple[DiffOp, str], ...] = ()
    if candidate is not None and (baseline.body or candidate.body):
        diff = tuple(word_diff(baseline.body or "", candidate.body or ""))
    return LeadResult(
        lead_id=baseline.lead_id,
        name=name,
        company=str(fields.get("company") or ""),
        baseline=side(baseline),
        candidate=side(candidate) if candidate is not None else None,
        draft_diff=diff,
        stability=stability,
    )


def stability(draws: Sequence[RunFacts], lead_id: str) -> Stability | None:
    """How one lead fared over every draw; None unless each draw measured it."""
    seen = [draw.leads.get(lead_id) for draw in draws]
    if len(draws) < 2 or any(f is None or f.outcome == "pending" for f in seen):
        return None
    outcomes = tuple(f.outcome for f in seen if f is not None)
    fits = tuple(f.fit for f in seen if f is not None)
    return Stability(
        outcomes=outcomes,
        fits=fits,
        outcome_agreement=_agreement(outcomes),
        fit_agreement=_agreement(fits),
    )


def _agreement(values: Sequence[object]) -> float:
    return Counter(values).most_common(1)[0][1] / len(values)


def outcome_counts(facts: Iterable[LeadFacts]) -> dict[str, int]:
    counts = {o.value: 0 for o in Outcome}
    for f in facts:
        counts[f.outcome] = counts.get(f.outcome, 0) + 1
    return counts


def transitions(pairs: Iterable[tuple[LeadFacts, LeadFacts]]) -> dict[str, dict[str, int]]:
    matrix: dict[str, dict[str, int]] = {}
    for before, after in pairs:
        row = matrix.setdefault(before.outcome, {})
        row[after.outcome] = row.get(after.outcome, 0) + 1
    return matrix


def stage_of_rule(rule: str) -> str:
    return _STAGE_OF_PREFIX.get(rule.split(".", 1)[0], "other")


def rule_rates(
    baseline: Sequence[LeadFacts] | None,
    candidate: Sequence[LeadFacts],
    disabled: frozenset[str] = frozenset(),
) -> tuple[RuleRates, ...]:
    """Each rule's failure rate per output its stage checked, on both sides."""
    seen = {r for f in (*(baseline or ()), *candidate) for r in f.rules_failed}
    rules = [*RULE_IDS, *sorted(seen - set(RULE_IDS))]
    return tuple(
        RuleRates(
            rule=rule,
            stage=stage_of_rule(rule),
            baseline=_rate(baseline, rule) if baseline is not None else None,
            candidate=_rate(candidate, rule),
            disabled=rule in disabled,
        )
        for rule in rules
    )


def _rate(facts: Sequence[LeadFacts], rule: str) -> Rate:
    stage = stage_of_rule(rule)
    checks = sum(f.checks.get(stage, 0) for f in facts)
    failures = sum(f.rules_failed.count(rule) for f in facts)
    p = Proportion.of(min(failures, checks), checks)
    return Rate(failures=failures, checks=checks, rate=p.rate, low=p.low, high=p.high)


def fit_pairs(pairs: Iterable[tuple[str | None, str | None]]) -> list[tuple[str, str]]:
    return [(a or NO_FIT, b or NO_FIT) for a, b in pairs if a is not None or b is not None]


def fit_agreement(
    pairs: Sequence[tuple[str, str]],
) -> tuple[tuple[str, ...], tuple[tuple[int, ...], ...], float | None]:
    """The labels, the confusion matrix and Cohen's kappa of paired fit bands."""
    labels = FITS + ((NO_FIT,) if any(NO_FIT in pair for pair in pairs) else ())
    matrix = confusion(pairs, labels)
    rows = tuple(tuple(int(v) for v in row) for row in matrix)
    return labels, rows, cohen_kappa(pairs, labels)


def usage(facts: Sequence[LeadFacts], *, recorded: bool) -> Usage:
    calls = [c for f in facts for c in f.calls]
    stages = tuple(_stage_usage(stage, [c for c in calls if c.stage == stage]) for stage in STAGES)
    cost = sum(c.cost_usd for c in calls if c.cost_usd is not None)
    latencies = [c.latency_s for c in calls]
    return Usage(
        recorded=recorded,
        stages=stages,
        calls=len(calls),
        tokens=sum(c.tokens for c in calls),
        cost_usd=cost,
        priced=all(c.cost_usd is not None for c in calls),
        cost_per_lead=cost / len(facts) if facts else 0.0,
        latency_p50_s=quantile(latencies, 0.5),
        latency_p95_s=quantile(latencies, 0.95),
    )


def _stage_usage(stage: str, calls: Sequence[Call]) -> StageUsage:
    latencies = [c.latency_s for c in calls]
    return StageUsage(
        stage=stage,
        calls=len(calls),
        tokens=sum(c.tokens for c in calls),
        cost_usd=sum(c.cost_usd for c in calls if c.cost_usd is not None),
        priced=all(c.cost_usd is not None for c in calls),
        latency_p50_s=quantile(latencies, 0.5),
        latency_p95_s=quantile(latencies, 0.95),
    )


TIMED = frozenset({"latency_s"})
"""Output columns of time taken: two runs of one model differ there by the machine's load,
so the usage table compares latency instead."""


def output_drift(baseline: RunFacts, candidate: RunFacts) -> tuple[DriftResult, ...]:
    """The drift statistics of the candidate's outputs against the baseline's."""
    report = drift_compare(baseline.profile, candidate.profile)
    return tuple(
        DriftResult(
            name=c.name,
            test=c.test,
            statistic=c.statistic,
            p_value=c.p_value,
            psi=c.psi,
            drift=c.drift,
        )
        for c in report.columns
        if c.role == "output" and c.name not in TIMED
    )


def metrics(
    facts: Sequence[LeadFacts], rules: Sequence[RuleRates], spent: Usage | None, *, baseline: bool
) -> dict[str, float | None]:
    """The figures of one side that ``--fail-if`` can name."""
    n = len(facts)
    counts = outcome_counts(facts)
    values: dict[str, float | None] = {
        f"{outcome}_rate": (counts.get(outcome, 0) / n if n else None) for outcome in RATE_OUTCOMES
    }
    values["leads"] = float(n)
    for rates in rules:
        rate = rates.baseline if baseline else rates.candidate
        values[f"rule:{rates.rule}"] = rate.rate if rate is not None else None
    if spent is not None and spent.recorded:
        values |= {
            "cost": spent.cost_usd,
            "cost_per_lead": spent.cost_per_lead,
            "tokens_per_lead": spent.tokens / n if n else None,
            "calls_per_lead": spent.calls / n if n else None,
            "latency_p50": spent.latency_p50_s,
            "latency_p95": spent.latency_p95_s,
        }
    return values


def as_mapping(facts: Sequence[LeadFacts]) -> Mapping[str, LeadFacts]:
    return {f.lead_id: f for f in facts}
