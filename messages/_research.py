"""Research: evidence about a company, and the claims an LLM drew from it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from messages._base import Message
from messages._leads import Lead
from messages._violation import RuleViolation


class Evidence(Message):
    """One item an evidence source returned: the only material research may use."""

    kind: Literal["evidence"] = "evidence"
    evidence_id: str = Field(min_length=1)
    source: str
    """Where it came from: a URL, or ``kb:<domain>`` for the knowledge base."""
    text: str


class Claim(Message):
    """One statement about the lead's company, grounded in evidence."""

    kind: Literal["claim"] = "claim"
    text: str = Field(min_length=1)
    evidence_ids: tuple[str, ...] = Field(min_length=1)
    """The evidence items the claim rests on."""
    quote: str = Field(min_length=1)
    """A span, copied verbatim from one of the cited items, that supports the claim."""


class ResearchResult(Message):
    """What research found about a lead's company. Produced by an LLM."""

    probabilistic = True

    kind: Literal["research_result"] = "research_result"
    lead: Lead
    evidence: tuple[Evidence, ...]
    """Everything the LLM was shown; grounding is checked against it."""
    summary: str
    claims: tuple[Claim, ...]
    raw_reply: str | None = None
    """The LLM's reply text this was parsed from, redacted and capped; ``None`` where no
    reply is kept (a copy inside a later stage's output, or a journal older than it)."""
    retry: int = Field(default=0, ge=0)
    """Which of Operations' retries of this lead produced it: 0 on the lead's first pass.
    Every retry is a new attempt, so injected faults are drawn anew for it."""
    doubts: tuple[RuleViolation, ...] = ()
    """Why a person must decide on this lead although the pipeline went on: no evidence,
    or claims left out because they stayed ungrounded after every re-ask. A lead with
    doubts is drafted and goes to the inbox with its draft, never straight to the CRM."""
    prompt: str | None = None
    """The version of the stage prompt that made this, ``<stage>@`` and 12 hex digits of
    its SHA-256 (``Prompts.version``); ``None`` in a journal older than it."""
    reused_from: str | None = None
    """The lead this research was made for, when it is reused for another lead of the same
    company (same evidence, same prompt, within the reuse TTL); ``None`` when it was made
    for this lead."""
