"""Retrying what is in Operations: an operator's retry, and the runner of the automatic
retries that come due. A retry runs the failed step again as a new attempt: the dead
letter's payload, which for a stage's failure is a ``RetryRequested`` with the lead's next
retry number, so that injected faults are drawn anew."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Protocol, final

import anyio
from anyio.abc import TaskStatus

from actors import DeadLetterItem, EventLog, LetterStatus, clear_outcome, unschedule, utc_now
from messages import (
    Envelope,
    LeadAccepted,
    LeadScore,
    Message,
    ResearchResult,
    RetryRequested,
    Stage,
    UsageError,
    ValidationFailed,
    input_of,
)
from supervision.system._resume import replay_envelope
from supervision.system._stores import Stores
from supervision.system._wiring import OPERATOR

LONGEST_WAIT_S = 3600.0
"""The runner looks at the schedule again at least this often (a clock that jumped)."""
STAGE_OF_ACTOR = {"research": Stage.RESEARCH, "scoring": Stage.SCORING, "writer": Stage.WRITING}
"""The stage each LLM stage actor runs, by the actor's name in a dead letter."""


class Restarts(Protocol):
    """What a retry needs of the system: its stores, and a way to restart one record."""

    @property
    def stores(self) -> Stores: ...

    def holds(self, record: int) -> bool:
        """Whether ``record`` is in flight (its outcome has not come yet)."""
        ...

    async def restart(
        self,
        record: int,
        write: Callable[[sqlite3.Connection], None],
        envelope: Envelope[Message],
        *,
        wait: bool = True,
    ) -> str | None: ...


def retryable(stores: Stores, letter_id: int | None, *, rejected: bool = False) -> list[int]:
    """The letters a retry takes: one, or every open one (one per record)."""
    if letter_id is None:
        return [i.id for i in stores.dead.items(status="open") if i.record is not None]
    item = stores.dead.item(letter_id)
    if item is None:
        raise UsageError(f"no Operations item {letter_id}; see ops list")
    allowed = {LetterStatus.OPEN.value} | ({LetterStatus.REJECTED.value} if rejected else set())
    if item.status not in allowed:
        hint = (
            " (a person rejected it: pass --rejected to replay it)"
            if item.status == LetterStatus.REJECTED
            else ""
        )
        raise UsageError(f"Operations item {letter_id} is already {_said(item.status)}{hint}")
    if item.record is None:
        raise UsageError(f"Operations item {letter_id} concerns no lead; nothing to retry")
    return [letter_id]


async def retry_letter(
    system: Restarts,
    letter_id: int,
    *,
    automatic: bool = False,
    rejected: bool = False,
    wait: bool = True,
) -> tuple[int, str | None]:
    """Run a letter's failed step again: the letter is retried, its lead's outcome cleared
    and its schedule paused (an automatic retry counts against it), in one transaction;
    then the payload goes out. Returns the record and, with ``wait``, its new outcome."""
    [letter_id] = retryable(system.stores, letter_id, rejected=rejected)
    item = system.stores.dead.item(letter_id)
    assert item is not None and item.record is not None
    record = item.record
    letters = system.stores.ledger.db.run_sync(
        lambda c: c.execute(
            "SELECT COUNT(*) FROM dead_letters WHERE record = ?", (record,)
        ).fetchone()[0]
    )
    envelope = retry_envelope(item, nth=int(letters))

    def write(c: sqlite3.Connection) -> None:
        (status,) = c.execute(
            "SELECT status FROM dead_letters WHERE id = ?", (letter_id,)
        ).fetchone()
        if status not in (LetterStatus.OPEN.value, LetterStatus.REJECTED.value):
            raise UsageError(f"Operations item {letter_id} is already {_said(status)}")
        c.execute(
            "UPDATE dead_letters SET status = ? WHERE id = ?",
            (LetterStatus.REPLAYED.value, letter_id),
        )
        unschedule(c, record, automatic=automatic)
        clear_outcome(c, record)

    outcome = await system.restart(record, write, envelope, wait=wait)
    return record, outcome


def retry_envelope(item: DeadLetterItem, *, nth: int) -> Envelope[Message]:
    """What retrying a letter publishes: its payload, which for a stage's failure is the
    ``RetryRequested`` of the lead's next retry. A letter an older version wrote for a
    stage holds the message the stage failed on instead: it becomes that retry too (the
    ``nth`` of its lead), so that its faults are drawn anew as well."""
    try:
        envelope = replay_envelope(item.payload)
    except (UsageError, ValueError):
        raise UsageError(f"Operations item {item.id}: its payload cannot be replayed") from None
    stage = STAGE_OF_ACTOR.get(item.actor)
    again = None if stage is None else _as_retry(envelope.message, stage, nth)
    if again is None:
        return envelope
    return Envelope.new(again, producer=OPERATOR, trace_id=envelope.trace_id)


def _as_retry(message: Message, stage: Stage, nth: int) -> RetryRequested | None:
    """The retry of ``stage`` that ``message`` (what the stage was handling) stands for."""
    match message:
        case RetryRequested():
            return None  # already one, with its number
        case LeadAccepted(lead=lead) if stage is Stage.RESEARCH:
            return RetryRequested(stage=stage, lead=lead, retry=nth)
        case ResearchResult() if stage is Stage.SCORING:
            return RetryRequested(stage=stage, lead=message.lead, start=message, retry=nth)
        case LeadScore() if stage is Stage.WRITING:
            return RetryRequested(stage=stage, lead=message.lead, start=message, retry=nth)
        case ValidationFailed(rejected=rejected) if message.stage is stage:
            start = input_of(rejected)
            return RetryRequested(stage=stage, lead=rejected.lead, start=start, retry=nth)
        case _:
            return None


def _said(status: str) -> str:
    return "retried" if status == LetterStatus.REPLAYED.value else status


@final
class RetryRunner:
    """Runs Operations' automatic retries as they come due, in the process that owns the
    run directory: at start, those due already, then each when its time comes."""

    def __init__(
        self, system: Restarts, log: EventLog, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.system = system
        self.log = log
        self.clock = clock
        self.started = 0
        """Automatic retries started so far."""
        self._changed = anyio.Event()
        self._waiting_on_flight = False
        self._scope = anyio.CancelScope()
        self._first_pass = anyio.Event()
        self._first_pass.set()  # until it runs, there is nothing to wait for

    def wake(self) -> None:
        """Look at the schedule again: a lead failed (its retry is scheduled), or one that
        was in flight ended."""
        self._changed.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start the retries that are due, then wait for the next, until ``stop``."""
        self._first_pass = anyio.Event()
        task_status.started()
        with self._scope:
            while True:
                self._changed = anyio.Event()
                await self.run_due()
                self._first_pass.set()
                with anyio.move_on_after(self._wait_s()):
                    await self._changed.wait()
        self._first_pass.set()

    async def run_due(self) -> int:
        """Start every retry due now, without waiting for their outcomes; count them."""
        started = 0
        self._waiting_on_flight = False
        for letter_id in self.system.stores.dead.due(self.clock()):
            item = self.system.stores.dead.item(letter_id)
            if item is not None and item.record is not None and self.system.holds(item.record):
                # Its outcome is on its way (the letter was just written): once it comes,
                # the runner is woken and retries it.
                self._waiting_on_flight = True
                continue
            try:
                record, _ = await retry_letter(self.system, letter_id, automatic=True, wait=False)
            except UsageError as exc:
                self._give_up(letter_id, str(exc))
                continue
            started += 1
            self.log.info("ops_retry_started", letter=letter_id, record=record)
        self.started += started
        return started

    async def stop(self) -> None:
        """Start no more retries, once those due at start have started."""
        await self._first_pass.wait()
        self._scope.cancel()

    def cancel(self) -> None:
        """Start no more retries, now."""
        self._scope.cancel()

    def _wait_s(self) -> float:
        due = self.system.stores.dead.next_due()
        if due is None or self._waiting_on_flight:
            return LONGEST_WAIT_S
        return min(LONGEST_WAIT_S, max(0.0, (due - self.clock()).total_seconds()))

    def _give_up(self, letter_id: int, reason: str) -> None:
        """A letter that cannot be retried is taken off the schedule, or it would be due
        for ever; it stays open for an operator."""
        item = self.system.stores.dead.item(letter_id)
        if item is not None and item.record is not None:
            record = item.record
            self.system.stores.ledger.db.run_sync(lambda c: unschedule(c, record, automatic=False))
        self.log.warning("ops_retry_refused", letter=letter_id, reason=reason)
