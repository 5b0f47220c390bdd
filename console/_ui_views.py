"""What the console's pages show, read from the run directory's stores.

Reads only: every change goes through ``supervision.system``'s operations. These functions
block on SQLite; the routes call them in a worker thread.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from actors import DeadLetterItem, ReviewItem, ReviewStatus
from console._raw import raw_replies
from messages import (
    LeadScore,
    Message,
    OutreachDraft,
    ResearchResult,
    RuleViolation,
)
from supervision.system import Stores, entry_detail

_QUOTED = re.compile(r'"([^"]{2,})"')


@dataclass(frozen=True, slots=True)
class InboxLine:
    item: ReviewItem
    rules: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Inbox:
    """Open review items, newest first, with counts to filter by."""

    lines: list[InboxLine]
    total: int
    by_stage: dict[str, int]
    by_failure: dict[str, int]
    by_rule: dict[str, int]


def inbox(stores: Stores, *, stage: str = "", failure: str = "", rule: str = "") -> Inbox:
    """The inbox, filtered by stage, failure kind and rule (empty: any)."""
    items = stores.review.items(status=ReviewStatus.OPEN.value)
    lines = [InboxLine(i, tuple(sorted({v.rule for v in i.request.violations}))) for i in items]
    by_rule: Counter[str] = Counter(r for line in lines for r in line.rules)
    chosen = [
        line
        for line in reversed(lines)
        if (not stage or line.item.stage == stage)
        and (not failure or line.item.failure == failure)
        and (not rule or rule in line.rules)
    ]
    return Inbox(
        lines=chosen,
        total=len(lines),
        by_stage=dict(Counter(line.item.stage for line in lines)),
        by_failure=dict(Counter(line.item.failure for line in lines)),
        by_rule=dict(by_rule),
    )


@dataclass(frozen=True, slots=True)
class Step:
    """One message of a lead's trace."""

    at: str
    kind: str
    producer: str
    attempt: int
    approved: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Audit:
    at: str
    action: str
    note: str
    reviewer: str


@dataclass(slots=True)
class LeadView:
    """Everything the lead page shows."""

    lead_id: str
    record: int
    outcome: str
    reason: str
    fields: dict[str, Any] = field(default_factory=dict)
    items: list[ReviewItem] = field(default_factory=list)
    audits: dict[int, list[Audit]] = field(default_factory=dict)
    letters: list[DeadLetterItem] = field(default_factory=list)
    trace: list[Step] = field(default_factory=list)
    research: ResearchResult | None = None
    score: LeadScore | None = None
    draft: OutreachDraft | None = None
    crm: dict[str, Any] | None = None
    raw: dict[str, str] = field(default_factory=dict)
    """The latest raw LLM reply of each stage that kept one, by stage, in pipeline order."""

    @property
    def open_item(self) -> ReviewItem | None:
        return next((i for i in self.items if i.status == ReviewStatus.OPEN), None)


def lead_view(stores: Stores, lead_id: str) -> LeadView | None:
    """The lead page's content, or ``None`` for an unknown lead."""
    row = stores.ledger.find(lead_id)
    if row is None:
        return None
    view = LeadView(lead_id, row.record, row.outcome, row.reason)
    items = stores.review.items(lead_id=lead_id)
    view.items = list(reversed(items))
    for item in view.items:
        view.audits[item.id] = [Audit(*a) for a in stores.review.audit(item.id)]
        _take(view, item.request.lead.model_dump(exclude={"kind"}))
        if item.request.last_output is not None:
            _stage_output(view, item.request.last_output)
    view.letters = [d for d in stores.dead.items() if d.lead_id == lead_id]
    entries = stores.journal.trace(lead_id) if stores.journal is not None else []
    view.raw = raw_replies(items, entries)
    for entry in entries:
        view.trace.append(
            Step(
                at=entry.created_at.isoformat(timespec="milliseconds"),
                kind=entry.kind,
                producer=entry.producer,
                attempt=entry.attempt,
                approved=entry.approved,
                detail=entry_detail(entry),
            )
        )
        # A compacted lead keeps no messages, only their lines.
        if entry.message is not None:
            _stage_output(view, entry.message)
    view.crm = stores.crm.row(lead_id)
    return view


def _take(view: LeadView, fields: dict[str, Any]) -> None:
    if not view.fields:
        view.fields = fields


def _stage_output(view: LeadView, message: Message) -> None:
    """Keep the latest output of each stage (and the lead inside it)."""
    match message:
        case ResearchResult():
            view.research = message
            _take(view, message.lead.model_dump(exclude={"kind"}))
        case LeadScore():
            view.score = message
            view.research = view.research or message.research
        case OutreachDraft():
            view.draft = message
            view.score = view.score or message.score
        case _:
            pass


def spans(violations: tuple[RuleViolation, ...] | list[RuleViolation]) -> list[str]:
    """The quoted text each violation's reason names (rules quote what they object to)."""
    found: list[str] = []
    for violation in violations:
        for quoted in _QUOTED.findall(violation.reason):
            text = quoted.rstrip("…")
            if text and text not in found:
                found.append(text)
    return found


def highlight(text: str, marks: list[str]) -> Markup:
    """``text`` escaped, with each occurrence of a span in ``marks`` inside ``<mark>``."""
    wanted = [m for m in marks if m and m in text]
    if not wanted:
        return Markup(escape(text))
    pattern = re.compile("|".join(re.escape(m) for m in sorted(wanted, key=len, reverse=True)))
    out: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        out.append(str(escape(text[last : match.start()])))
        out.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


@dataclass(frozen=True, slots=True)
class Letters:
    lines: list[DeadLetterItem]
    by_status: dict[str, int]


def letters(stores: Stores, *, status: str = "") -> Letters:
    """Dead letters, newest first, with counts by status."""
    every = stores.dead.items()
    return Letters(
        lines=[d for d in reversed(every) if not status or d.status == status],
        by_status=dict(Counter(d.status for d in every)),
    )
