"""What the HTTP API answers, as pydantic models (they are its OpenAPI schema)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class SubmittedLead(BaseModel):
    """One lead of a ``POST /v1/leads``: where it stands now."""

    id: str
    record: int
    """Its number in the run directory."""
    status: str
    """``pending``, or its outcome when it had one already."""
    submission: Literal["new", "known", "conflict", "duplicate"]
    reason: str
    location: str


class Accepted(BaseModel):
    leads: list[SubmittedLead]


class TraceStep(BaseModel):
    """One journaled message of a lead, in order."""

    kind: str
    producer: str
    attempt: int
    approved: bool
    at: str
    detail: str


class RawReplies(BaseModel):
    """The latest raw LLM reply of each stage, the text the model sent: secrets redacted,
    cut at 8,000 characters. Untrusted text, to be shown as text, never as markup.

    A stage is null when the lead keeps no reply of it: the stage has not replied yet, its
    reply did not parse (the dead letter holds it), or the lead finished and ``run.py
    compact`` dropped it (a review item keeps its own)."""

    research: str | None = Field(description="The research stage's reply, or null.")
    scoring: str | None = Field(description="The scoring stage's reply, or null.")
    writing: str | None = Field(description="The writing stage's reply, or null.")


class LeadStatus(BaseModel):
    id: str
    record: int
    status: str
    reason: str
    crm: dict[str, Any] | None
    trace: list[TraceStep]
    raw_replies: RawReplies


class LeadLine(BaseModel):
    id: str
    record: int
    status: str
    reason: str


class LeadPage(BaseModel):
    leads: list[LeadLine]
    next_cursor: int | None = Field(description="Pass as ``cursor`` for the next page.")


class Violation(BaseModel):
    rule: str
    reason: str
    then: Literal["reask", "review"]


class ValidationVerdict(BaseModel):
    passed: bool
    violations: list[Violation] = Field(description="The first 100 violations at most.")
    more: int = Field(0, description="Violations found beyond those listed.")


class Problem(BaseModel):
    """Every error answer: what is wrong, and for bad leads, each one's reasons."""

    detail: str
    errors: list[dict[str, Any]] = []


class LiveDrift(BaseModel):
    """Drift of the live system: each window of ``window`` accepted leads is compared with
    the baseline once it is full."""

    baseline: str | None
    window: int
    leads_in_window: int
    windows_judged: int
    drift: bool | None
    """The last full window's dataset-level verdict; ``None`` before one is judged."""
    columns: list[dict[str, Any]]
