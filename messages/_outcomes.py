"""Where leads end: review requests, CRM updates, and the one outcome per record."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from messages._base import Message
from messages._failures import FailureKind
from messages._leads import Lead
from messages._scoring import Fit
from messages._summaries import DraftSummary, ScoreSummary
from messages._verdicts import LlmOutput, Stage
from messages._violation import RuleViolation


class Outcome(StrEnum):
    """How an input record ended. Every record ends in exactly one."""

    COMPLETED = "completed"
    """A CRM row with a score and an approved draft."""
    DISQUALIFIED = "disqualified"
    """A CRM row with a score and no draft: the fit was too low."""
    NEEDS_REVIEW = "needs_review"
    """In the inbox: a person decides on the draft that would be sent, told why."""
    DECLINED = "declined"
    """A person declined the lead; nothing retries it."""
    FAILED = "failed"
    """In Operations (the dead letters), with a structured error and the raw payload,
    while its retries are scheduled and after they are spent."""
    REJECTED = "rejected"
    """Invalid or duplicate input."""


class HumanReviewRequested(Message):
    """A lead needs a person: its draft broke a rule after every re-ask, or the lead carries
    doubts (no evidence, a low-confidence score). ``last_output`` is the draft that would
    be sent. Items filed by older versions may hold another stage's output, or none."""

    kind: Literal["human_review_requested"] = "human_review_requested"
    lead: Lead
    stage: Stage
    failure: FailureKind
    reason: str
    attempts: int = Field(ge=1)
    violations: tuple[RuleViolation, ...] = ()
    last_output: LlmOutput | None = None
    """The last output the stage produced, if it produced one."""
    stage_input: LlmOutput | None = None
    """The approved output the stage started from; ``None`` for research, which starts
    from the lead. Approving a review without an output runs the stage again from it."""


class CrmUpdated(Message):
    """The CRM holds the lead's row."""

    kind: Literal["crm_updated"] = "crm_updated"
    lead_id: str
    outcome: Outcome
    """``completed`` or ``disqualified``."""
    fit: Fit
    score: int = Field(ge=0, le=100)


class LeadOutcome(Message):
    """The final outcome of one input record."""

    kind: Literal["lead_outcome"] = "lead_outcome"
    record: int = Field(ge=1)
    lead_id: str
    outcome: Outcome
    reason: str
    score: ScoreSummary | None = None
    """The approved score, when the outcome has one (the CRM's outcomes)."""
    draft: DraftSummary | None = None
    """The approved draft, when the outcome has one (``completed``)."""
