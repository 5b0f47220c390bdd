"""What a person or Operations decides about a lead: approve its draft, or run a failed
step again."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from messages._base import Message
from messages._leads import Lead
from messages._outreach import OutreachDraft
from messages._research import ResearchResult
from messages._scoring import LeadScore
from messages._verdicts import Stage

StageStart = Annotated[ResearchResult | LeadScore, Field(discriminator="kind")]
"""The approved output a stage starts from: research for scoring, a score for writing."""


class ReviewApproved(Message):
    """A person approved an inbox item: the CRM takes exactly the draft they saw (or edited),
    with the research and score it was built on. Nothing is asked of a model again."""

    kind: Literal["review_approved"] = "review_approved"
    item: int = Field(ge=1)
    """The review item decided on."""
    draft: OutreachDraft
    """The draft as the reviewer saw it, or as they edited it."""
    send: bool
    """Whether the draft is sent (``completed``); ``False`` records the lead as
    ``disqualified``, which is what its score says."""
    reviewer: str = ""

    @property
    def lead(self) -> Lead:
        return self.draft.lead


class RetryRequested(Message):
    """Run a lead's failed step again, as a new attempt with its own budget.

    A dead letter of a machine failure keeps one as its payload: Operations publishes it
    to retry, automatically on its schedule or when an operator asks.
    """

    kind: Literal["retry_requested"] = "retry_requested"
    stage: Stage
    lead: Lead
    start: StageStart | None = None
    """The approved output the stage starts from; ``None`` for research, which starts from
    the lead (and gathers its evidence again)."""
    retry: int = Field(ge=1)
    """Which retry of this lead it is: injected faults are drawn anew for each."""
