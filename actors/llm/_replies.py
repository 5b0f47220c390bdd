"""What the LLM must reply, per stage: the schemas behind structured output."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from messages import Stage


class _Reply(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ClaimReply(_Reply):
    text: str = Field(min_length=1)
    evidence_ids: list[str] = Field(min_length=1)
    quote: str = Field(min_length=1)


class ResearchReply(_Reply):
    """Research: a summary and claims, each citing evidence with a verbatim quote."""

    summary: str
    claims: list[ClaimReply]


class ScoreReply(_Reply):
    """Scoring: a fit band, a 0-100 score, a confidence and the reasons."""

    fit: Literal["high", "medium", "low"]
    score: int = Field(ge=0, le=100)
    confidence: float = Field(ge=0.0, le=1.0)
    reasons: list[str]


class DraftReply(_Reply):
    """Writing: the subject and body of the first email."""

    subject: str = Field(min_length=1)
    body: str = Field(min_length=1)


REPLY_TYPES: dict[Stage, type[_Reply]] = {
    Stage.RESEARCH: ResearchReply,
    Stage.SCORING: ScoreReply,
    Stage.WRITING: DraftReply,
}


def reply_schema(stage: Stage) -> Mapping[str, Any]:
    """The JSON Schema of a stage's reply (read-only, built once per stage)."""
    return _SCHEMAS[stage]


# Building a schema takes pydantic about a millisecond: far too much to pay per request.
_SCHEMAS: dict[Stage, Mapping[str, Any]] = {
    stage: MappingProxyType(reply.model_json_schema()) for stage, reply in REPLY_TYPES.items()
}
