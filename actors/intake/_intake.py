"""The intake actor: every submitted record becomes an accepted lead or a rejection."""

from __future__ import annotations

from typing import final

from actors.intake._checks import check_record
from actors.runtime import Actor, Context, EventLog
from messages import Lead, LeadAccepted, LeadOutcome, LeadRejected, LeadSubmitted, Outcome


@final
class Intake(Actor[LeadSubmitted]):
    """Makes the lead of each ``LeadSubmitted``: publishes ``LeadAccepted`` with the clean
    lead, or ``LeadRejected`` and the record's final ``LeadOutcome`` (``rejected``) with
    every reason ``check_record`` found.

    Duplicates never reach it: the run directory's inbox refuses them as records are
    submitted, across every input. Records are handled one at a time, in the order they
    are admitted; a record delivered twice is accepted twice, as the same lead.
    """

    handles = (LeadSubmitted,)

    def __init__(
        self,
        *,
        name: str | None = None,
        mailbox_capacity: int | None = None,
        poison_after: int = 2,
        log: EventLog | None = None,
    ) -> None:
        super().__init__(
            name=name,
            concurrency=1,
            mailbox_capacity=mailbox_capacity,
            poison_after=poison_after,
            log=log,
        )

    async def handle(self, ctx: Context[LeadSubmitted]) -> None:
        submitted = ctx.message
        checked = check_record(submitted.fields)
        if isinstance(checked, list):
            await _reject(ctx, checked)
            return
        lead = Lead(lead_id=submitted.lead_id, record=submitted.record, **checked)
        await ctx.publish(LeadAccepted(lead=lead))


async def _reject(ctx: Context[LeadSubmitted], reasons: list[str]) -> None:
    submitted = ctx.message
    await ctx.publish(
        LeadRejected(record=submitted.record, lead_id=submitted.lead_id, reasons=tuple(reasons))
    )
    await ctx.publish(
        LeadOutcome(
            record=submitted.record,
            lead_id=submitted.lead_id,
            outcome=Outcome.REJECTED,
            reason="; ".join(reasons),
        )
    )
