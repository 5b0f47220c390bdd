"""The CRM's actor: where finished leads land, one row per lead, written idempotently."""

from __future__ import annotations

from typing import Unpack, final

import stamina

from actors.runtime import Actor, ActorOptions, CircuitBreaker, Context
from actors.stores import CrmRow, CrmStore, CrmUnavailable
from messages import (
    POLICIES,
    CrmUpdated,
    DraftSummary,
    FailureKind,
    LeadOutcome,
    LeadScore,
    OutreachDraft,
    ReviewApproved,
    ScoreSummary,
)

_DOWNSTREAM = POLICIES[FailureKind.DOWNSTREAM_UNAVAILABLE]


@final
class Crm(Actor[LeadScore | OutreachDraft | ReviewApproved]):
    """Writes approved drafts (``completed``), low-fit scores (``disqualified``), and what
    a person approved in the inbox (either, as its ``send`` says).

    A low-fit score with doubts is not written: its lead is drafted, and a person decides.
    A failed write is retried with backoff until it succeeds: the lead is never
    dropped, and the upsert makes a repeated write harmless.
    """

    handles = (LeadScore, OutreachDraft, ReviewApproved)

    def __init__(
        self,
        store: CrmStore,
        *,
        breaker: CircuitBreaker | None = None,
        **options: Unpack[ActorOptions],
    ) -> None:
        super().__init__(**options)
        self.store = store
        # Shared by every handler and every incarnation: it describes the CRM, not us.
        self.breaker = breaker if breaker is not None else CircuitBreaker()

    async def _write(self, row: CrmRow) -> None:
        await self.breaker.ready()
        try:
            await self.store.upsert(row)
        except CrmUnavailable:
            self.breaker.failed()
            raise
        self.breaker.succeeded()

    async def handle(self, ctx: Context[LeadScore | OutreachDraft | ReviewApproved]) -> None:
        draft: OutreachDraft | None = None
        match ctx.message:
            case LeadScore() as score:
                if not score.disqualified or score.to_inbox:
                    return
            case OutreachDraft() as written:
                score, draft = written.score, written
            case ReviewApproved(draft=approved, send=send):
                score, draft = approved.score, (approved if send else None)
        row = CrmRow.of(score, draft)
        # Stamina's retry context only once a write has failed: a write that succeeds at
        # once, nearly all of them, pays nothing for the retries it did not need.
        try:
            await self._write(row)
        except CrmUnavailable:
            async for attempt in stamina.retry_context(
                on=CrmUnavailable,
                attempts=None,
                timeout=None,
                wait_initial=_DOWNSTREAM.backoff_initial,
                wait_max=_DOWNSTREAM.backoff_max,
            ):
                with attempt:
                    await self._write(row)
        await ctx.publish(
            CrmUpdated(lead_id=row.lead_id, outcome=row.outcome, fit=row.fit, score=row.score)
        )
        reason = f"fit {row.fit.value}, score {row.score}"
        await ctx.publish(
            LeadOutcome(
                record=row.record,
                lead_id=row.lead_id,
                outcome=row.outcome,
                reason=reason,
                score=ScoreSummary.of(score),
                draft=None if draft is None else DraftSummary.of(draft, approved=True),
            )
        )
