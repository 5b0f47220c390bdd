"""The validator's verdicts: every check of an LLM output ends in one of these."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from messages._base import Message
from messages._outreach import OutreachDraft
from messages._research import ResearchResult
from messages._scoring import LeadScore
from messages._violation import RuleViolation


class Stage(StrEnum):
    """A step of the pipeline whose output an LLM produces."""

    RESEARCH = "research"
    SCORING = "scoring"
    WRITING = "writing"


LlmOutput = Annotated[ResearchResult | LeadScore | OutreachDraft, Field(discriminator="kind")]
"""Any probabilistic output, tagged by its kind."""


def stage_of(output: ResearchResult | LeadScore | OutreachDraft) -> Stage:
    """The stage that produces ``output``."""
    match output:
        case ResearchResult():
            return Stage.RESEARCH
        case LeadScore():
            return Stage.SCORING
        case OutreachDraft():
            return Stage.WRITING


def input_of(
    output: ResearchResult | LeadScore | OutreachDraft,
) -> ResearchResult | LeadScore | None:
    """The approved output that ``output`` was produced from (``None`` for research)."""
    match output:
        case ResearchResult():
            return None
        case LeadScore():
            return output.research
        case OutreachDraft():
            return output.score


class Verdict(StrEnum):
    """What happens to an output that failed validation."""

    RETRY = "retry"
    """The producer asks again, with the violations as feedback."""
    REVIEW = "review"
    """A human decides."""


class ValidationPassed(Message):
    """An output passed every rule of its stage, and was published approved."""

    kind: Literal["validation_passed"] = "validation_passed"
    stage: Stage
    lead_id: str
    attempt: int = Field(ge=1)
    output_id: str
    """The message id of the approved output."""


class ValidationFailed(Message):
    """An output broke at least one rule; ``verdict`` says what happens next."""

    kind: Literal["validation_failed"] = "validation_failed"
    stage: Stage
    lead_id: str
    attempt: int = Field(ge=1)
    violations: tuple[RuleViolation, ...] = Field(min_length=1)
    verdict: Verdict
    rejected: LlmOutput
    """The output that failed, which also carries every input its producer needs to retry."""
