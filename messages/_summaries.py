"""A lead's score and draft in brief: what an outcome tells the world beyond the pipeline."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from messages._base import Message
from messages._outreach import OutreachDraft
from messages._scoring import Fit, LeadScore


class ScoreSummary(Message):
    """A lead's fit, as the validator approved it (or as a reviewer saw it)."""

    kind: Literal["score_summary"] = "score_summary"
    fit: Fit
    score: int = Field(ge=0, le=100)
    """The LLM's score, 0 to 100."""
    icp_score: int = Field(ge=0, le=100)
    """The deterministic score from the lead's firmographics."""
    confidence: float = Field(ge=0.0, le=1.0)
    reasons: tuple[str, ...] = ()

    @staticmethod
    def of(score: LeadScore) -> ScoreSummary:
        return ScoreSummary(
            fit=score.fit,
            score=score.score,
            icp_score=score.icp_score,
            confidence=score.confidence,
            reasons=score.reasons,
        )


class DraftSummary(Message):
    """An outreach email: the one the CRM got, or the one a person is asked about."""

    kind: Literal["draft_summary"] = "draft_summary"
    subject: str
    body: str
    approved: bool
    """Whether it was approved (by the validator or a person) and went to the CRM."""

    @staticmethod
    def of(draft: OutreachDraft, *, approved: bool) -> DraftSummary:
        return DraftSummary(subject=draft.subject, body=draft.body, approved=approved)
