"""What an operator does to a run directory: approve, edit and approve, reject, replay,
export. The command line, the HTTP API and the console all call these, and nothing else.

Each decision is one transaction with the state it changes (the review item, the dead
letter and the outcome live in one file), so a kill at any point leaves either the old
state or the new one. A decision on an item that is no longer open is refused.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import final

from actors import (
    LetterStatus,
    ReviewItem,
    ReviewStatus,
)
from actors._dead_letters import add_letter
from actors._ledger import clear_outcome, replace_outcome
from actors._review import decide, record_action
from actors.validation import check
from messages import (
    DeadLetter,
    Envelope,
    HumanReviewRequested,
    Outcome,
    OutreachDraft,
    RuleViolation,
    UsageError,
)
from supervision.system._csv import crm_table
from supervision.system._resume import approval_envelope, replay_envelope
from supervision.system._stores import Stores
from supervision.system._system import System
from supervision.system._wiring import REVIEWER

UNOVERRIDABLE = frozenset({"draft.foreign_link", "draft.markup", "draft.injection_echo"})
"""Draft rules no override lets through: links, markup and echoed instructions must be
edited out, because they reach people outside the company."""


@final
class DraftRefused(UsageError):
    """An approved or edited draft still breaks the draft policy."""

    def __init__(self, message: str, violations: tuple[RuleViolation, ...]) -> None:
        super().__init__(message)
        self.violations = violations


@dataclass(frozen=True, slots=True)
class DraftEdit:
    """A reviewer's new subject and body for a draft."""

    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class Decision:
    """What an operator's action did."""

    item: int
    record: int
    outcome: str


def open_item(stores: Stores, item_id: int) -> ReviewItem:
    """The review item, or one line saying why it cannot be decided."""
    item = stores.review.item(item_id)
    if item is None:
        raise UsageError(f"no review item {item_id}; see review list")
    if item.status != ReviewStatus.OPEN:
        raise UsageError(f"review item {item_id} is already {item.status}")
    return item


def draft_violations(
    system: System, item: ReviewItem, edit: DraftEdit | None
) -> tuple[OutreachDraft | None, tuple[RuleViolation, ...]]:
    """The draft an approval would send to the CRM, and the policy rules it breaks."""
    request = item.request
    output = request.last_output
    if not isinstance(output, OutreachDraft):
        if edit is not None:
            raise UsageError(
                f"review item {item.id} is at the {request.stage.value} stage and has no "
                "draft to edit; approve it, or reject it"
            )
        return None, ()
    draft = output
    if edit is not None:
        draft = output.model_copy(update={"subject": edit.subject, "body": edit.body})
    report = check(draft, system.config.icp.rules())
    return draft, report.reask + report.review


async def approve(
    system: System,
    item_id: int,
    *,
    reviewer: str = "",
    note: str = "",
    edit: DraftEdit | None = None,
    override: bool = False,
) -> Decision:
    """Approve a review item: the lead resumes where it stopped.

    A draft (as it is, or as edited) runs through the draft policy again: if it still
    breaks a rule, approval needs ``override`` and a note, which the audit keeps, and
    rules in ``UNOVERRIDABLE`` are never overridden.
    """
    stores = system.stores
    item = open_item(stores, item_id)
    draft, violations = draft_violations(system, item, edit)
    if violations:
        rules = ", ".join(sorted({v.rule for v in violations}))
        blocked = [v for v in violations if v.rule in UNOVERRIDABLE]
        if blocked:
            raise DraftRefused(
                f"review item {item_id}: the draft breaks {rules}; links, markup and echoed "
                "instructions must be edited out before it can be approved",
                violations,
            )
        if not override:
            raise DraftRefused(
                f"review item {item_id}: the draft breaks {rules}; edit it, or approve "
                "with --override and a --note saying why",
                violations,
            )
        if not note.strip():
            raise UsageError("--override needs a --note saying why the draft is approved")
    action = "approved with override" if violations else "approved"
    if edit is not None:
        action = "edited and " + action

    def write(c: sqlite3.Connection) -> None:
        _still_open(c, item_id)
        decide(c, item_id, ReviewStatus.APPROVED, note, reviewer)
        if action != "approved":
            record_action(c, item_id, action, note, reviewer)
        clear_outcome(c, item.record)

    await stores.ledger.db.run(write)
    envelope = approval_envelope(item.request, draft if edit is not None else None)
    outcome = await system.resume(item.record, envelope)
    return Decision(item_id, item.record, outcome)


def reject(stores: Stores, item_id: int, reason: str, *, reviewer: str = "") -> Decision:
    """Reject a review item: the lead ends as ``failed``, with the reason."""
    if not reason.strip():
        raise UsageError("--reason must say why the lead is rejected")
    item = open_item(stores, item_id)
    request: HumanReviewRequested = item.request
    letter = DeadLetter(
        failure=request.failure,
        reason=f"rejected by reviewer: {reason}",
        actor=REVIEWER,
        payload=Envelope.new(request, producer=REVIEWER, trace_id=item.lead_id).to_json(),
        attempts=request.attempts,
    )

    def write(c: sqlite3.Connection) -> None:
        _still_open(c, item_id)
        decide(c, item_id, ReviewStatus.REJECTED, reason, reviewer)
        add_letter(c, letter, (item.record, item.lead_id), LetterStatus.REJECTED)
        replace_outcome(c, item.record, Outcome.FAILED, letter.reason)

    stores.ledger.db.run_sync(write)
    return Decision(item_id, item.record, Outcome.FAILED.value)


def replayable(stores: Stores, letter_id: int | None, *, rejected: bool = False) -> list[int]:
    """The dead letters a replay takes: one, or every open one (one per record)."""
    if letter_id is not None:
        item = stores.dead.item(letter_id)
        if item is None:
            raise UsageError(f"no dead letter {letter_id}; see dead-letters list")
        allowed = {LetterStatus.OPEN.value} | ({LetterStatus.REJECTED.value} if rejected else set())
        if item.status not in allowed:
            hint = (
                " (a person rejected it: pass --rejected to replay it)"
                if (item.status == LetterStatus.REJECTED)
                else ""
            )
            raise UsageError(f"dead letter {letter_id} is {item.status}{hint}")
        if item.record is None:
            raise UsageError(f"dead letter {letter_id} concerns no lead; nothing to replay")
        return [letter_id]
    return [i.id for i in stores.dead.items(status="open") if i.record is not None]


async def replay(system: System, letter_id: int, *, rejected: bool = False) -> Decision:
    """Run a dead-lettered lead again from the message that failed."""
    stores = system.stores
    [letter_id] = replayable(stores, letter_id, rejected=rejected)
    item = stores.dead.item(letter_id)
    assert item is not None and item.record is not None
    try:
        envelope = replay_envelope(item.payload)
    except (UsageError, ValueError):
        raise UsageError(f"dead letter {letter_id}: its payload cannot be replayed") from None
    record = item.record

    def write(c: sqlite3.Connection) -> None:
        (status,) = c.execute(
            "SELECT status FROM dead_letters WHERE id = ?", (letter_id,)
        ).fetchone()
        if status not in (LetterStatus.OPEN.value, LetterStatus.REJECTED.value):
            raise UsageError(f"dead letter {letter_id} is already {status}")
        c.execute(
            "UPDATE dead_letters SET status = ? WHERE id = ?",
            (LetterStatus.REPLAYED.value, letter_id),
        )
        clear_outcome(c, record)

    await stores.ledger.db.run(write)
    outcome = await system.resume(record, envelope)
    return Decision(letter_id, record, outcome)


def export_csv(stores: Stores) -> str:
    """The CRM's rows as CSV, one line per finished lead (formula cells made safe)."""
    return crm_table(stores).text


def _still_open(c: sqlite3.Connection, item_id: int) -> None:
    row = c.execute("SELECT status FROM review WHERE id = ?", (item_id,)).fetchone()
    if row is None or row[0] != ReviewStatus.OPEN.value:
        status = "gone" if row is None else row[0]
        raise UsageError(f"review item {item_id} is already {status}")
