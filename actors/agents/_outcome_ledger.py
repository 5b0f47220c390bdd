"""The outcome ledger's actor: writes each record's one outcome, then tells the run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Unpack, final

from actors.runtime import Actor, ActorOptions, Context
from actors.stores import LedgerStore
from messages import LeadOutcome

OUTCOME_WRITERS = 8
"""Outcomes the ledger actor writes at once, unless told otherwise."""


@final
class OutcomeLedger(Actor[LeadOutcome]):
    """Writes each record's outcome once, then tells the run.

    The run hears about every outcome, including one the record already had (a
    redelivery after a crash): ``first`` says which, and either way the record's
    admission place is freed, so that no place can leak.
    """

    handles = (LeadOutcome,)

    def __init__(
        self,
        store: LedgerStore,
        on_outcome: Callable[[LeadOutcome, bool], None],
        **options: Unpack[ActorOptions],
    ) -> None:
        # Several outcomes at once: their writes share one trip to the database's thread.
        merged: ActorOptions = {"concurrency": OUTCOME_WRITERS, **options}
        super().__init__(**merged)
        self.store = store
        self.on_outcome = on_outcome

    async def handle(self, ctx: Context[LeadOutcome]) -> None:
        outcome = ctx.message
        first = await self.store.set_outcome(outcome)
        if first:
            ctx.log.info(
                "lead_outcome",
                record=outcome.record,
                lead_id=outcome.lead_id,
                outcome=outcome.outcome.value,
                reason=outcome.reason,
            )
        self.on_outcome(outcome, first)
