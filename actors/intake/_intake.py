"""The intake actor: every submitted record becomes an accepted lead or a rejection."""

from __future__ import annotations

from typing import final

from actors.intake._checks import check_record
from actors.runtime import Actor, Context, EventLog
from messages import Lead, LeadAccepted, LeadOutcome, LeadRejected, LeadSubmitted, Outcome


@final
class Intake(Actor[LeadSubmitted]):
    """Checks each ``LeadSubmitted``: publishes ``LeadAccepted``, or ``LeadRejected`` and
    the record's final ``LeadOutcome`` (``rejected``) with every reason found.

    A record with the id or the email of a lead accepted earlier in the run is rejected
    as ``duplicate of record N``, N being the record first accepted. ``seen`` maps each
    lead id and each ``Lead.email`` accepted so far to its record, and the actor adds to
    it in place: the composer hands the same mapping to every incarnation, so a restart
    forgets nothing, and rebuilds it from the ledger when a run resumes. Only accepted
    leads count: a rejected record does not claim its id or email, so a corrected copy
    of it later in the file is accepted.

    A run directory's system passes ``check_duplicates=False``: its ledger refuses
    duplicates when records are submitted, across every input, so intake need not
    remember every lead it has seen.

    Records are handled one at a time, in the order they arrive (input order), so the
    first of two duplicates is the one accepted. A record delivered twice is not a
    duplicate of itself: it is accepted again, with the same lead.
    """

    handles = (LeadSubmitted,)

    def __init__(
        self,
        *,
        seen: dict[str, int] | None = None,
        check_duplicates: bool = True,
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
        self._seen: dict[str, int] = seen if seen is not None else {}
        self._check_duplicates = check_duplicates

    async def handle(self, ctx: Context[LeadSubmitted]) -> None:
        submitted = ctx.message
        checked = check_record(submitted.fields)
        if isinstance(checked, list):
            duplicate = (
                self._duplicate(submitted.record, submitted.lead_id)
                if self._check_duplicates
                else []
            )
            await _reject(ctx, [*checked, *duplicate])
            return
        if self._check_duplicates:
            keys = (submitted.lead_id, checked["email"])
            duplicate = self._duplicate(submitted.record, *keys)
            if duplicate:
                await _reject(ctx, duplicate)
                return
            for key in keys:
                self._seen[key] = submitted.record
        lead = Lead(lead_id=submitted.lead_id, record=submitted.record, **checked)
        await ctx.publish(LeadAccepted(lead=lead))

    def _duplicate(self, record: int, *keys: str) -> list[str]:
        """The duplicate reason, if one of ``keys`` belongs to another record."""
        for key in keys:
            first = self._seen.get(key, record)
            if first != record:
                return [f"duplicate of record {first}"]
        return []


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
