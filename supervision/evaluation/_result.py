"""An evaluation's result, as ``--json`` prints it and ``report.json`` keeps it: every
figure of the HTML report, and the gate's verdicts.

Lead text in here is untrusted: whoever renders it escapes it (the report's template and
the console autoescape every value).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

FORMAT = 1
"""The version of ``report.json``'s layout."""


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Side(_Part):
    """One lead as one side (the baseline, or the candidate's first draw) left it."""

    outcome: str
    reason: str = ""
    fit: str | None = None
    score: int | None = None
    rules_failed: tuple[str, ...] = ()
    subject: str | None = None
    body: str | None = None
    calls: int = 0
    tokens: int = 0
    cost_usd: float | None = None
    latency_s: float = 0.0


class Stability(_Part):
    """One lead over ``--repeat`` draws."""

    outcomes: tuple[str, ...]
    fits: tuple[str | None, ...]
    outcome_agreement: float
    """The share of draws that gave the lead's most common outcome."""
    fit_agreement: float

    @property
    def flipped(self) -> bool:
        return len(set(self.outcomes)) > 1


class Expectation(_Part):
    """What a person expects of a lead (a golden set's line)."""

    fit: str | None = None
    outcome: str | None = None
    must_mention: tuple[str, ...] = ()
    must_not_mention: tuple[str, ...] = ()
    never_say: tuple[str, ...] = ()


class Check(_Part):
    """One expectation, met or not, and how."""

    name: Literal["fit", "outcome", "must_mention", "must_not_mention", "never_say"]
    passed: bool
    detail: str


class LeadResult(_Part):
    lead_id: str
    name: str
    company: str
    baseline: Side | None
    """None in a golden evaluation: the expectation stands in for it."""
    candidate: Side | None
    """None when the candidate did not get to the lead (its budget ran out)."""
    draft_diff: tuple[tuple[Literal["equal", "delete", "insert"], str], ...] = ()
    stability: Stability | None = None
    expected: Expectation | None = None
    checks: tuple[Check, ...] = ()

    @property
    def changed(self) -> bool:
        if self.baseline is None or self.candidate is None:
            return False
        b, c = self.baseline, self.candidate
        return (b.outcome, b.fit, b.score, b.subject, b.body) != (
            c.outcome,
            c.fit,
            c.score,
            c.subject,
            c.body,
        )


class Rate(_Part):
    """How often a rule failed: ``failures`` of ``checks``, with a Wilson interval."""

    failures: int
    checks: int
    rate: float | None
    low: float
    high: float


class RuleRates(_Part):
    rule: str
    stage: str
    baseline: Rate | None
    candidate: Rate
    disabled: bool = False
    """Whether the candidate's rule set turned the rule off."""


class StageUsage(_Part):
    stage: str
    calls: int
    tokens: int
    cost_usd: float
    priced: bool
    """Whether every call's model had a price (otherwise the cost counts only those)."""
    latency_p50_s: float | None
    latency_p95_s: float | None


class Usage(_Part):
    """Tokens, cost and latency of the measured leads' LLM calls, per stage and in all."""

    recorded: bool
    """Whether the run's event log was there to read the calls from."""
    stages: tuple[StageUsage, ...]
    calls: int
    tokens: int
    cost_usd: float
    priced: bool
    cost_per_lead: float
    latency_p50_s: float | None
    latency_p95_s: float | None


class DriftResult(_Part):
    name: str
    test: str
    statistic: float
    p_value: float | None
    psi: float
    drift: bool


class GateResult(_Part):
    expression: str
    holds: bool
    detail: str
    """The values compared, such as ``completed_rate 0.61 < 0.68 (baseline 0.70 - 0.02)``."""


class Evaluation(_Part):
    """Everything one ``run.py evaluate`` measured."""

    format: int = FORMAT
    kind: Literal["baseline", "golden"]
    created_at: datetime
    baseline: str
    """The baseline run directory, or the golden set's file."""
    candidate: str
    """What the candidate changes, in a few words."""
    settings: dict[str, object]
    """The candidate's run settings."""
    leads: int
    """Leads replayed."""
    measured: int
    """Leads the candidate gave an outcome (all of them, unless a budget stopped it)."""
    halted: str | None = None
    skipped: dict[str, int] = {}
    """Records of the baseline not replayed, by why."""
    outcomes: dict[str, dict[str, int]]
    """``baseline`` and ``candidate``: leads by outcome, over the measured leads."""
    transitions: dict[str, dict[str, int]]
    """Baseline outcome, then candidate outcome: how many leads went that way."""
    rules: tuple[RuleRates, ...]
    fit_labels: tuple[str, ...]
    fit_confusion: tuple[tuple[int, ...], ...]
    """Rows: the baseline's (or expected) fit; columns: the candidate's."""
    kappa: float | None
    usage: dict[str, Usage]
    drift: tuple[DriftResult, ...] = ()
    repeat: int = 1
    flip_rate: float | None = None
    metrics: dict[str, float | None]
    """What ``--fail-if`` can name, for the candidate."""
    baseline_metrics: dict[str, float | None]
    summary: str
    """The closing line."""
    lead_results: tuple[LeadResult, ...]
    gate: tuple[GateResult, ...] = ()

    @property
    def partial(self) -> bool:
        return self.measured < self.leads

    @property
    def failed_gate(self) -> bool:
        return any(result.holds for result in self.gate)
