"""Webhook payloads: the body a receiver gets for a lead's outcome or a reviewer's decision.

The shape is Standard Webhooks' recommendation: ``type`` (``lead.completed``,
``review.decided``, ...), ``timestamp`` (when the event happened, not when it was sent)
and ``data``. Event types follow the outcomes: every ``Outcome`` but ``rejected`` (whose
submitter was answered at once) is an event ``lead.<outcome>``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from messages._base import Message
from messages._leads import Lead
from messages._outcomes import Outcome
from messages._summaries import DraftSummary, ScoreSummary
from messages._verdicts import Stage

REVIEW_DECIDED = "review.decided"
"""A person decided on a review item."""
TEST_EVENT = "webhook.test"
"""What ``webhooks test`` sends; no endpoint subscribes to it."""
UNANNOUNCED = frozenset({Outcome.REJECTED})
"""Outcomes with no event: a rejected record's submitter had the reasons in its answer."""


def outcome_event(outcome: Outcome) -> str:
    """The event type of an outcome: ``lead.completed``, ``lead.failed``, ..."""
    return f"lead.{outcome.value}"


def event_types() -> tuple[str, ...]:
    """Every event type an endpoint can subscribe to, in order."""
    return (*(outcome_event(o) for o in Outcome if o not in UNANNOUNCED), REVIEW_DECIDED)


class LeadEventData(Message):
    """A lead reached an outcome (``lead.<outcome>``)."""

    kind: Literal["lead_event"] = "lead_event"
    record: int = Field(ge=1)
    """The record's number in the run directory."""
    lead_id: str
    outcome: Outcome
    reason: str
    lead: Lead | None = None
    """The lead as intake accepted it; ``None`` only for a record intake could not read."""
    score: ScoreSummary | None = None
    draft: DraftSummary | None = None
    """The approved draft (``completed``), or the one waiting for a person."""


class ReviewEventData(Message):
    """A person decided on a review item (``review.decided``)."""

    kind: Literal["review_decision"] = "review_decision"
    item: int = Field(ge=1)
    """The review item's id."""
    record: int = Field(ge=1)
    lead_id: str
    stage: Stage
    decision: str
    """What was decided: ``approved``, ``rejected``, ``declined``, ..."""
    note: str
    reviewer: str
    lead: Lead
    score: ScoreSummary | None = None
    draft: DraftSummary | None = None
    """The draft the person saw, if the item had one."""


class TestEventData(Message):
    """A test from ``webhooks test``: it changes nothing and needs no action."""

    kind: Literal["webhook_test"] = "webhook_test"
    endpoint: int = Field(ge=1)
    message: str


class WebhookEvent(Message):
    """The body of every webhook request, signed as it is sent."""

    kind: Literal["webhook_event"] = "webhook_event"
    type: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$")
    """The event type, which says what ``data`` holds."""
    timestamp: datetime
    """When the event happened (the ``webhook-timestamp`` header is when it was sent)."""
    data: Annotated[LeadEventData | ReviewEventData | TestEventData, Field(discriminator="kind")]
