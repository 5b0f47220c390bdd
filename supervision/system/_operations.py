"""What a person does to a run directory (``Operator``): in the inbox, approve, edit and
approve, decline, or retry a lead with evidence they add; in Operations, retry; and
export. The command line, the HTTP API and the console all act through it.

Each decision is one transaction with the state it changes (the review item, the dead
letter and the outcome live in one file), so a kill at any point leaves either the old
state or the new one. A decision on an item that is no longer open is refused.

Approving never asks a model anything: the CRM takes exactly the draft the reviewer saw
(or edited), with the research and score it was built on. Retrying is a new attempt of
the step that failed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import final

from actors import (
    KNOWLEDGE_FILE,
    ReviewItem,
    ReviewStatus,
    WebSource,
    add_facts,
    clear_outcome,
    decide,
    record_action,
    replace_outcome,
)
from actors.validation import check
from messages import (
    Envelope,
    Outcome,
    OutreachDraft,
    RetryRequested,
    ReviewApproved,
    RuleViolation,
    Stage,
    UsageError,
)
from supervision.system._csv import crm_table
from supervision.system._retries import retry_letter, retryable
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


@final
class Operator:
    """What a person does to the run directory of a live system: in the inbox, approve,
    edit and approve, decline, or retry a lead with evidence they add; in Operations,
    retry. The command line (``operating``), the API and the console all act through it,
    as ``reviewer`` (kept in the audit).

    Each decision is one transaction with the state it changes, and a decision on an item
    that is no longer open is refused.
    """

    def __init__(self, system: System, *, reviewer: str = "") -> None:
        self._system = system
        self.reviewer = reviewer

    @property
    def stores(self) -> Stores:
        return self._system.stores

    def open_item(self, item_id: int) -> ReviewItem:
        """The review item, or one line saying why it cannot be decided."""
        item = self.stores.review.item(item_id)
        if item is None:
            raise UsageError(f"no review item {item_id}; see review list")
        if item.status != ReviewStatus.OPEN:
            raise UsageError(f"review item {item_id} is already {item.status}")
        return item

    def draft_violations(
        self, item: ReviewItem, edit: DraftEdit | None
    ) -> tuple[OutreachDraft | None, tuple[RuleViolation, ...]]:
        """The draft an approval would send to the CRM, and the policy rules it breaks."""
        output = item.draft
        if output is None:
            if edit is not None:
                raise UsageError(_no_draft(item))
            return None, ()
        draft = output
        if edit is not None:
            draft = output.model_copy(update={"subject": edit.subject, "body": edit.body})
        report = check(draft, self._system.config.icp.rules())
        return draft, report.reask + report.review

    async def approve(
        self, item_id: int, *, note: str = "", edit: DraftEdit | None = None, override: bool = False
    ) -> Decision:
        """Approve an inbox item: the CRM takes the draft as the reviewer saw it (or edited
        it), and the lead ends ``completed``, or ``disqualified`` where its score says so
        and the draft was not edited. No model is asked anything.

        A draft (as it is, or as edited) runs through the draft policy again: if it still
        breaks a rule, approval needs ``override`` and a note, which the audit keeps, and
        rules in ``UNOVERRIDABLE`` are never overridden.
        """
        item = self.open_item(item_id)
        draft, violations = self.draft_violations(item, edit)
        if draft is None:
            raise UsageError(_no_draft(item))
        _check_override(item_id, violations, override=override, note=note)
        action = "approved with override" if violations else "approved"
        if edit is not None:
            action = "edited and " + action
        # An edited draft is one a person chose to send; otherwise the score decides.
        send = edit is not None or not draft.score.disqualified
        reviewer = self.reviewer
        approved = ReviewApproved(item=item_id, draft=draft, send=send, reviewer=reviewer)
        envelope = Envelope.new(approved, producer=REVIEWER, trace_id=item.lead_id)

        def write(c: sqlite3.Connection) -> None:
            _still_open(c, item_id)
            decide(c, item_id, ReviewStatus.APPROVED, note, reviewer)
            if action != "approved":
                record_action(c, item_id, action, note, reviewer)
            clear_outcome(c, item.record)

        outcome = await self._system.restart(item.record, write, envelope)
        assert outcome is not None
        return Decision(item_id, item.record, outcome)

    async def decline(self, item_id: int, reason: str) -> Decision:
        """Decline an inbox item: the lead ends ``declined``, with the reason. Nothing is
        sent and nothing retries it; it is no failure, and no dead letter is written."""
        if not reason.strip():
            raise UsageError("--reason must say why the lead is declined")
        item = self.open_item(item_id)
        reviewer = self.reviewer
        by = reviewer or "a reviewer"

        def write(c: sqlite3.Connection) -> None:
            _still_open(c, item_id)
            decide(c, item_id, ReviewStatus.DECLINED, reason, reviewer)
            said = f"Declined by {by}: {reason}"[:500]
            replace_outcome(c, item.record, Outcome.DECLINED, said)

        await self._system.settle(write, Outcome.DECLINED)
        return Decision(item_id, item.record, Outcome.DECLINED.value)

    async def retry_lead(
        self, item_id: int, *, facts: Sequence[str] = (), url: str = ""
    ) -> Decision:
        """Run an inbox item's lead again from research, as its next retry, after adding
        ``facts`` about its company (from the page at ``url``) to the run directory's
        knowledge base: the way on for a lead that had no evidence. The item is settled as
        ``retried``; the lead ends as the new pass decides (the CRM, or the inbox again).

        A ``url`` without facts is read as web research reads a company's site (robots.txt,
        the address guard, ``allow_private_sources``), and what the page says becomes the
        facts; a page that cannot be read is refused, saying why, and nothing runs."""
        config = self._system.config
        item = self.open_item(item_id)
        lead = item.request.lead
        if url.strip() and not facts:
            facts = await _page_facts(url.strip(), allow_private=config.allow_private_sources)
        note = ""
        if facts:
            count = add_facts(config.out / KNOWLEDGE_FILE, lead, facts, url)
            about = lead.domain or lead.company
            note = f"added {len(facts)} fact(s) about {about} ({count} in all)"
            note += f" from {url}" if url else ""
        draft = item.draft
        again = RetryRequested(
            stage=Stage.RESEARCH, lead=lead, retry=(draft.retry if draft is not None else 0) + 1
        )
        envelope = Envelope.new(again, producer=REVIEWER, trace_id=item.lead_id)
        reviewer = self.reviewer

        def write(c: sqlite3.Connection) -> None:
            _still_open(c, item_id)
            decide(c, item_id, ReviewStatus.RETRIED, note or "ran again", reviewer)
            clear_outcome(c, item.record)

        outcome = await self._system.restart(item.record, write, envelope)
        assert outcome is not None
        return Decision(item_id, item.record, outcome)

    def retryable(self, letter_id: int | None = None, *, rejected: bool = False) -> list[int]:
        """The Operations items a retry takes: ``letter_id``, or every open one (one per
        record); ``UsageError`` saying why one cannot be retried."""
        return retryable(self.stores, letter_id, rejected=rejected)

    async def retry(self, letter_id: int, *, rejected: bool = False) -> Decision:
        """Retry an Operations item: its failed step runs again, as a new attempt."""
        record, outcome = await retry_letter(self._system, letter_id, rejected=rejected)
        assert outcome is not None
        return Decision(letter_id, record, outcome)


async def _page_facts(url: str, *, allow_private: bool) -> tuple[str, ...]:
    """What the page at ``url`` says, as facts; ``UsageError`` saying why it cannot be read."""
    async with WebSource(allow_private=allow_private) as web:
        found = await web.read_page(url)
    if isinstance(found, str):
        raise UsageError(f"the page could not be read: {found}; give the facts it states instead")
    return found


def export_csv(stores: Stores) -> str:
    """The CRM's rows as CSV, one line per finished lead (formula cells made safe)."""
    return crm_table(stores).text


def _check_override(
    item_id: int, violations: tuple[RuleViolation, ...], *, override: bool, note: str
) -> None:
    if not violations:
        return
    rules = ", ".join(sorted({v.rule for v in violations}))
    if any(v.rule in UNOVERRIDABLE for v in violations):
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


def _no_draft(item: ReviewItem) -> str:
    return (
        f"review item {item.id} has no draft (an earlier version of Leadwright filed it at "
        f"the {item.stage} stage); decline it, or run its lead again with review retry "
        f"{item.id}"
    )


def _still_open(c: sqlite3.Connection, item_id: int) -> None:
    row = c.execute("SELECT status FROM review WHERE id = ?", (item_id,)).fetchone()
    if row is None or row[0] != ReviewStatus.OPEN.value:
        status = "gone" if row is None else row[0]
        raise UsageError(f"review item {item_id} is already {status}")
