"""The dead letters' actor: keeps every machine failure for Operations, and fails its lead
until a retry (by itself, on the schedule, or by an operator) settles it."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Unpack, final

from actors.runtime import Actor, ActorOptions, Context
from actors.stores import DeadLetterStore, Due, RetrySchedule, lineage_of, utc_now
from messages import POLICIES, DeadLetter, LeadOutcome, Outcome


@final
class DeadLetters(Actor[DeadLetter]):
    """Keeps every dead letter and schedules its lead's next automatic retry; a lead's
    dead letter makes its outcome ``failed``, whose reason says it is in Operations and
    when it is retried next (or that its schedule is spent)."""

    handles = (DeadLetter,)

    def __init__(
        self,
        store: DeadLetterStore,
        *,
        schedule: RetrySchedule | None = None,
        clock: Callable[[], datetime] = utc_now,
        **options: Unpack[ActorOptions],
    ) -> None:
        super().__init__(**options)
        self.store = store
        self.schedule = schedule if schedule is not None else RetrySchedule()
        self.clock = clock
        self._rng = random.Random()

    async def handle(self, ctx: Context[DeadLetter]) -> None:
        letter = ctx.message
        lineage = lineage_of(letter)
        due = await self.store.add(
            letter, lineage, schedule=self.schedule, now=self.clock(), rng=self._rng
        )
        if lineage is None:
            return
        record, lead_id = lineage
        reason = in_operations(letter, due)[:500]
        await ctx.publish(
            LeadOutcome(record=record, lead_id=lead_id, outcome=Outcome.FAILED, reason=reason)
        )


def in_operations(letter: DeadLetter, due: Due | None) -> str:
    """A failed lead's outcome reason: what broke, and when it is retried next."""
    what = POLICIES[letter.failure].explain or letter.reason
    if due is None:
        return f"In Operations: {what} ({letter.reason})"
    if due.at is not None:
        when = due.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        nth = f"{due.retries + 1} of {due.of}"
        return f"In Operations: {what} Next automatic retry at {when} ({nth}). ({letter.reason})"
    spent = f"all {due.of} automatic retries spent" if due.of else "no automatic retries"
    return f"In Operations: {what} Waits for an operator ({spent}). ({letter.reason})"
