"""What an evaluation knows of one run: each lead's outcome, score, draft, failed rules,
the evidence it was researched with and the LLM calls it cost."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import final

from actors.drift import Profile
from messages import Evidence, RawValue


@final
@dataclass(frozen=True, slots=True)
class Call:
    """One LLM call, as the run's event log recorded it."""

    stage: str
    model: str
    latency_s: float
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    """None for a model the price table does not know (the offline engine, a local one)."""

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@final
@dataclass(frozen=True, slots=True)
class LeadFacts:
    """One lead, as one run left it."""

    lead_id: str
    record: int
    fields: Mapping[str, RawValue]
    """The record as submitted: what a replay submits again."""
    outcome: str
    """The pipeline's own outcome: the first one, before any person acted on the lead."""
    reason: str
    fit: str | None = None
    score: int | None = None
    icp_fit: str | None = None
    score_approved: bool = False
    """Whether the validator approved the score (if not, it waits for a person)."""
    subject: str | None = None
    body: str | None = None
    """The approved draft, or the one waiting for a person."""
    rules_failed: tuple[str, ...] = ()
    """The rule ids of every failed verdict, once per verdict that named it."""
    checks: Mapping[str, int] = field(default_factory=dict)
    """Verdicts per stage: how many outputs each stage's rules checked."""
    evidence: tuple[Evidence, ...] | None = None
    """The evidence research was given; None when no research was recorded."""
    calls: tuple[Call, ...] = ()
    compacted: bool = False
    """Whether the journal kept only the lead's story (``compact``): it cannot be replayed."""


@final
@dataclass(frozen=True, slots=True)
class RunFacts:
    """The leads of one run (or of one replay), with the profile of their outputs."""

    leads: Mapping[str, LeadFacts]
    """By lead id."""
    profile: Profile
    """Inputs and outputs of these leads, as the drift monitor profiles them."""
    calls_recorded: bool = True
    """Whether the run's event log was there to read LLM calls from."""
    skipped: Mapping[str, int] = field(default_factory=dict)
    """Records left out, by why: rejected at intake, pending, compacted."""
