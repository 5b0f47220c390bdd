"""Scoring: how well a lead fits the ideal customer profile."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from messages._base import Message
from messages._leads import Lead
from messages._research import ResearchResult
from messages._violation import RuleViolation


class Fit(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class LeadScore(Message):
    """An LLM's judgement of fit, beside the deterministic ICP score. Produced by an LLM."""

    probabilistic = True

    kind: Literal["lead_score"] = "lead_score"
    research: ResearchResult
    """The approved research the score was based on."""
    icp_score: int = Field(ge=0, le=100)
    """The deterministic score from the lead's firmographics; the LLM's is checked against it."""
    icp_fit: Fit
    """The fit band of ``icp_score``."""
    fit: Fit
    score: int = Field(ge=0, le=100)
    confidence: float = Field(ge=0.0, le=1.0)
    reasons: tuple[str, ...]
    raw_reply: str | None = None
    """The LLM's reply text this was parsed from, redacted and capped; ``None`` where no
    reply is kept (a copy inside a later stage's output, or a journal older than it)."""
    retry: int = Field(default=0, ge=0)
    """Which of Operations' retries of this lead produced it: 0 on the lead's first pass."""
    doubts: tuple[RuleViolation, ...] = ()
    """Why a person must decide on the score: low confidence, a disagreement with the ICP
    score, or a fit label that stayed inconsistent (the validator adds them)."""
    prompt: str | None = None
    """The version of the stage prompt that made this, ``<stage>@`` and 12 hex digits of
    its SHA-256 (``Prompts.version``); ``None`` in a journal older than it."""

    @property
    def lead(self) -> Lead:
        return self.research.lead

    @property
    def all_doubts(self) -> tuple[RuleViolation, ...]:
        """The research's doubts, then the score's."""
        return self.research.doubts + self.doubts

    @property
    def to_inbox(self) -> bool:
        """Whether a person decides on this lead: it is drafted whatever its fit, and the
        draft goes to the inbox rather than the CRM."""
        return bool(self.all_doubts)

    @property
    def disqualified(self) -> bool:
        """Whether the lead fits too poorly to draft outreach for."""
        return self.fit is Fit.LOW
