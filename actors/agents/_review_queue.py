"""The review queue's actor: files every review request in the inbox."""

from __future__ import annotations

from typing import Unpack, final

from actors.runtime import Actor, ActorOptions, Context
from actors.stores import ReviewStore, why
from messages import HumanReviewRequested, LeadOutcome, Outcome


@final
class ReviewQueue(Actor[HumanReviewRequested]):
    """Files every review request; the lead's outcome is ``needs_review`` until a person acts."""

    handles = (HumanReviewRequested,)

    def __init__(self, store: ReviewStore, **options: Unpack[ActorOptions]) -> None:
        super().__init__(**options)
        self.store = store

    async def handle(self, ctx: Context[HumanReviewRequested]) -> None:
        request = ctx.message
        await self.store.add(request)
        outcome = LeadOutcome(
            record=request.lead.record,
            lead_id=request.lead.lead_id,
            outcome=Outcome.NEEDS_REVIEW,
            reason=why(request)[:500],
        )
        await ctx.publish(outcome)
