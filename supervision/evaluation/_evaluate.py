"""An evaluation against a baseline run: choose the leads, replay them through the
candidate (``repeat`` times), and put the two sides side by side."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import final

from supervision.evaluation._budget import Budget
from supervision.evaluation._compare import (
    fit_agreement,
    fit_pairs,
    lead_result,
    metrics,
    outcome_counts,
    output_drift,
    rule_rates,
    stability,
    transitions,
    usage,
)
from supervision.evaluation._facts import RunFacts
from supervision.evaluation._gate import Condition
from supervision.evaluation._reader import (
    NOT_REPLAYED,
    finished_records,
    open_journal,
    read_run,
)
from supervision.evaluation._replay import ConfigFor, Replay, replay
from supervision.evaluation._result import Evaluation, GateResult, LeadResult
from supervision.evaluation._sample import stratified
from supervision.evaluation._summary import closing_line


@final
@dataclass(frozen=True, slots=True)
class Plan:
    """What to replay, through what, and within what budget."""

    scratch: Path
    """The evaluation's own directory: the replays' run directories go in it."""
    config_for: ConfigFor
    candidate: str
    """What the candidate changes, in a few words, for the report."""
    settings: dict[str, object]
    budget: Budget = field(default_factory=Budget)
    sample: int | None = None
    seed: int = 0
    """Seeds the sample."""
    repeat: int = 1
    own_source: bool = False
    """Research with the candidate's knowledge base, not the recorded evidence."""
    kb_fallback: bool = False
    disabled: frozenset[str] = frozenset()
    """Rules the candidate's rule set turns off."""


async def evaluate_run(baseline_dir: Path, plan: Plan) -> Evaluation:
    """Replay ``baseline_dir``'s finished leads through the candidate and compare."""
    with open_journal(baseline_dir, plan.scratch) as c:
        records = finished_records(c)
        skipped = Counter(o for _, _, o, _, _ in records if o in NOT_REPLAYED)
        replayable = [r for r in records if r[2] not in NOT_REPLAYED]
        outcomes = {lead: outcome for _, lead, outcome, _, _ in replayable}
        chosen = set(stratified(outcomes, plan.sample, seed=plan.seed))
        baseline = read_run(c, baseline_dir, [r for r in replayable if r[1] in chosen])
    compacted = [lead for lead, f in baseline.leads.items() if f.compacted]
    if compacted:
        skipped["compacted"] = len(compacted)
    ids = [lead for lead, f in baseline.leads.items() if not f.compacted]
    draws = await draws_of(baseline, ids, plan)
    return assemble(
        kind="baseline",
        source=str(baseline_dir),
        plan=plan,
        baseline=baseline,
        ids=ids,
        draws=draws,
        skipped=dict(skipped),
    )


async def draws_of(baseline: RunFacts, ids: Sequence[str], plan: Plan) -> list[Replay]:
    draws: list[Replay] = []
    for draw in range(plan.repeat):
        if draws and (draws[-1].halted is not None or plan.budget.spent is not None):
            break
        draws.append(
            await replay(
                baseline,
                ids,
                plan.config_for,
                scratch=plan.scratch,
                draw=draw,
                budget=plan.budget,
                own_source=plan.own_source,
                kb_fallback=plan.kb_fallback,
            )
        )
    return draws


def assemble(
    *,
    kind: str,
    source: str,
    plan: Plan,
    baseline: RunFacts,
    ids: Sequence[str],
    draws: Sequence[Replay],
    skipped: dict[str, int],
    results: Sequence[LeadResult] | None = None,
    golden: dict[str, float | None] | None = None,
) -> Evaluation:
    """The two sides compared over the leads the candidate measured."""
    first = draws[0].facts
    measured = [i for i in ids if i in first.leads and first.leads[i].outcome != "pending"]
    before = [baseline.leads[i] for i in measured]
    after = [first.leads[i] for i in measured]
    expected = kind == "golden"
    rules = rule_rates(None if expected else before, after, plan.disabled)
    # A golden line without an expected fit says nothing of the candidate's.
    pairs = fit_pairs(
        (b.fit, a.fit) for b, a in zip(before, after, strict=True) if not expected or b.fit
    )
    labels, matrix, kappa = fit_agreement(pairs)
    spent = {"candidate": usage(after, recorded=first.calls_recorded)}
    if not expected:
        spent["baseline"] = usage(before, recorded=baseline.calls_recorded)
    stable = {i: stability([draw.facts for draw in draws], i) for i in ids}
    if results is None:
        results = [
            lead_result(baseline.leads[i], first.leads[i] if i in measured else None, stable[i])
            for i in ids
        ]
    drift = output_drift(baseline, first) if not expected and after else ()
    values = metrics(after, rules, spent["candidate"], baseline=False) | {
        "changed_rate": _share(b.outcome != a.outcome for b, a in zip(before, after, strict=True)),
        "measured_rate": len(measured) / len(ids) if ids else None,
        "kappa": kappa,
        "fit_agreement": _share(b == a for b, a in pairs),
        "flip_rate": _share(s.flipped for s in stable.values() if s) if len(draws) > 1 else None,
        "drifted_outputs": float(sum(d.drift for d in drift)) if drift else None,
        **(golden or {}),
    }
    of_baseline = {} if expected else metrics(before, rules, spent["baseline"], baseline=True)
    evaluation = Evaluation(
        kind="golden" if expected else "baseline",
        created_at=datetime.now(UTC),
        baseline=source,
        candidate=plan.candidate,
        settings=plan.settings,
        leads=len(ids),
        measured=len(measured),
        halted=_halted(draws, plan),
        skipped=skipped,
        outcomes={"baseline": outcome_counts(before), "candidate": outcome_counts(after)},
        transitions=transitions(zip(before, after, strict=True)),
        rules=rules,
        fit_labels=labels,
        fit_confusion=matrix,
        kappa=kappa,
        usage=spent,
        drift=drift,
        repeat=len(draws),
        flip_rate=values["flip_rate"],
        metrics=values,
        baseline_metrics=of_baseline,
        summary="",
        lead_results=tuple(results),
    )
    return evaluation.model_copy(update={"summary": closing_line(evaluation)})


def _halted(draws: Sequence[Replay], plan: Plan) -> str | None:
    """Why the candidate stopped short: a draw that halted, or a budget spent between draws."""
    halted = next((d.halted for d in draws if d.halted is not None), None)
    if halted is None and len(draws) < plan.repeat:
        halted = plan.budget.spent
    return halted


def gate(evaluation: Evaluation, conditions: Sequence[Condition]) -> Evaluation:
    """``evaluation`` with the verdict of each ``--fail-if`` condition."""
    results = []
    for condition in conditions:
        holds, detail = condition.holds(evaluation.metrics, evaluation.baseline_metrics)
        results.append(GateResult(expression=condition.text, holds=holds, detail=detail))
    return evaluation.model_copy(update={"gate": tuple(results)})


def _share(flags: Iterable[bool]) -> float | None:
    values = list(flags)
    return sum(values) / len(values) if values else None
