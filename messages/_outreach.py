"""Outreach: the personalised first email to a lead."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from messages._base import Message
from messages._leads import Lead
from messages._scoring import LeadScore
from messages._violation import RuleViolation


class OutreachDraft(Message):
    """A draft email, written from the lead and its approved research. Produced by an LLM."""

    probabilistic = True

    kind: Literal["outreach_draft"] = "outreach_draft"
    score: LeadScore
    """The approved score, which carries the approved research and the lead."""
    subject: str = Field(min_length=1)
    body: str = Field(min_length=1)
    raw_reply: str | None = None
    """The LLM's reply text this was parsed from, redacted and capped; ``None`` where no
    reply is kept (a copy inside a later stage's output, or a journal older than it)."""
    retry: int = Field(default=0, ge=0)
    """Which of Operations' retries of this lead produced it: 0 on the lead's first pass."""
    prompt: str | None = None
    """The version of the stage prompt that made this, ``<stage>@`` and 12 hex digits of
    its SHA-256 (``Prompts.version``); ``None`` in a journal older than it."""

    @property
    def lead(self) -> Lead:
        return self.score.research.lead

    @property
    def doubts(self) -> tuple[RuleViolation, ...]:
        """Why a person decides on this draft before it is sent (the research's and the
        score's doubts); empty for a draft the validator may send on by itself."""
        return self.score.all_doubts
