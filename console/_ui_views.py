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

from actors import (
    DeadLetterItem,
    Decided,
    ReviewItem,
    ReviewStatus,
    approval_effect,
    decision_words,
)
from actors.validation import NO_EVIDENCE, explain
from console._raw import raw_replies
from messages import (
    Lead,
    LeadScore,
    Message,
    OutreachDraft,
    ResearchResult,
    ReviewApproved,
    RuleViolation,
)
from supervision.system import Stores, entry_detail

_QUOTED = re.compile(r'"([^"]{2,})"')


INBOX_ROWS = 200
"""Open items the inbox shows at once, newest first: a day's work."""
PREVIEW_CHARS = 220
"""Characters of a draft's first lines an inbox row shows."""
_CLI_ADVICE = re.compile(r"; pass --kb FILE[^;]*")
"""The command line's advice in a no-evidence reason; a browser offers a form instead."""


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason an item waits for a person: the plain sentence, then the rule's id and
    its technical detail (which the page folds)."""

    plain: str
    rule: str
    detail: str


@dataclass(frozen=True, slots=True)
class InboxLine:
    """One open item as its inbox row shows it."""

    item: ReviewItem
    reasons: tuple[Reason, ...]
    preview: str
    """The draft's first lines, as one line."""

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(sorted({r.rule for r in self.reasons}))

    @property
    def no_evidence(self) -> bool:
        """Nothing was known about the company: the reviewer can add evidence."""
        return NO_EVIDENCE in self.rules

    @property
    def fit_reason(self) -> str:
        """The score's first reason, the one line the row shows beside the score."""
        draft = self.item.draft
        return draft.score.reasons[0] if draft is not None and draft.score.reasons else ""

    @property
    def effect(self) -> str:
        """What approving the draft as it is does, when it is not simply sent."""
        draft = self.item.draft
        return approval_effect(draft) if draft is not None and draft.score.disqualified else ""

    @property
    def marks(self) -> list[str]:
        """The text the item's rules object to, to highlight in the draft."""
        return spans(self.item.request.violations)


@dataclass(frozen=True, slots=True)
class Inbox:
    """Open review items, newest first, with counts by topic to filter by."""

    lines: list[InboxLine]
    total: int
    by_rule: dict[str, int]
    """Open items per rule id; the page names each by its topic."""
    decided: int
    """Items a person decided so far (the decided view)."""


def reasons_of(item: ReviewItem) -> tuple[Reason, ...]:
    """Why ``item`` waits, each sentence once: its draft's broken rules, then its doubts;
    violations said in the same plain words share one reason and join their details."""
    draft = item.draft
    found = item.request.violations + (draft.doubts if draft is not None else ())
    reasons: dict[str, Reason] = {}
    for violation in dict.fromkeys(found):
        plain = explain(violation)
        detail = _CLI_ADVICE.sub("", violation.reason)
        said = reasons.get(plain)
        reasons[plain] = (
            Reason(plain, violation.rule, detail)
            if said is None
            else Reason(plain, said.rule, f"{said.detail} {detail}")
        )
    return tuple(reasons.values())


def preview(draft: OutreachDraft | None) -> str:
    """The first lines of a draft's body, as one line of at most ``PREVIEW_CHARS``."""
    if draft is None:
        return ""
    text = " ".join(line.strip() for line in draft.body.splitlines() if line.strip())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1].rstrip() + "…"


def inbox(stores: Stores, *, rule: str = "") -> Inbox:
    """The inbox, newest first; only the items that broke ``rule`` when it is given."""
    items = stores.review.items(status=ReviewStatus.OPEN.value)
    lines = [InboxLine(i, reasons_of(i), preview(i.draft)) for i in reversed(items)]
    by_rule: Counter[str] = Counter(r for line in lines for r in line.rules)
    chosen = [line for line in lines if not rule or rule in line.rules]
    _, decided = stores.review.decisions(limit=0)
    return Inbox(chosen[:INBOX_ROWS], len(lines), dict(by_rule), decided)


DECIDED_ROWS = 50
"""Decisions the decided view shows on a page."""


@dataclass(frozen=True, slots=True)
class DecidedPage:
    """A page of the decided view: the latest decisions first."""

    decisions: list[Decided]
    total: int
    page: int
    pages: int


def decided(stores: Stores, page: int) -> DecidedPage:
    """Page ``page`` (from 1) of the items people decided."""
    found, total = stores.review.decisions(limit=DECIDED_ROWS, offset=(page - 1) * DECIDED_ROWS)
    return DecidedPage(found, total, page, max(1, -(-total // DECIDED_ROWS)))


def next_open(stores: Stores, after: int) -> ReviewItem | None:
    """The open item that follows item ``after`` in the inbox (newest first), or the
    first open item when none follows it; ``None`` when the inbox is empty."""
    items = list(reversed(stores.review.items(status=ReviewStatus.OPEN.value)))
    following = [i for i in items if i.id < after]
    return following[0] if following else (items[0] if items else None)


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

    @property
    def words(self) -> str:
        """The action as a person reads it: which draft version, and who."""
        return decision_words(self.action, self.reviewer)


@dataclass(slots=True)
class LeadView:
    """Everything the lead page shows."""

    lead_id: str
    record: int
    outcome: str
    reason: str
    lead: Lead | None = None
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

    @property
    def reasons(self) -> tuple[Reason, ...]:
        """Why the open item waits, if there is one."""
        item = self.open_item
        return reasons_of(item) if item is not None else ()

    @property
    def no_evidence(self) -> bool:
        """The open item's company had no evidence: the page offers to add some."""
        return any(r.rule == NO_EVIDENCE for r in self.reasons)

    @property
    def effect(self) -> str:
        """What approving the open item's draft as it is does to the lead."""
        item = self.open_item
        draft = item.draft if item is not None else None
        return approval_effect(draft) if draft is not None else ""

    @property
    def approval(self) -> Audit | None:
        """The latest approval of the lead's draft, if a person approved one."""
        for item in self.items:  # newest first
            for audit in reversed(self.audits.get(item.id, [])):
                if audit.action.startswith(("approved", "edited")):
                    return audit
        return None

    @property
    def facts(self) -> list[tuple[str, str, str]]:
        """The lead's fields a person reads, ``(field, label, value)``, the empty ones
        left out; the head count as a range where the row gave one."""
        shown: list[tuple[str, str, str]] = []
        for name, label in LEAD_FIELDS.items():
            value = self.fields.get(name)
            if name == "employees" and self.lead is not None:
                value = self.lead.employees_text
            if value not in (None, ""):
                shown.append((name, label, str(value)))
        return shown

    @property
    def name(self) -> str:
        """The contact's name, or the lead's id when the row gave none."""
        first, last = self.fields.get("first_name", ""), self.fields.get("last_name", "")
        return " ".join(str(p) for p in (first, last) if p) or self.lead_id


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
        _take(view, item.request.lead)
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


LEAD_FIELDS = {
    "first_name": "First name",
    "last_name": "Last name",
    "title": "Title",
    "email": "Email",
    "company": "Company",
    "domain": "Domain",
    "website": "Website",
    "industry": "Industry",
    "employees": "Employees",
    "country": "Country",
    "notes": "Notes (from the lead's row, never followed)",
    "lead_id": "Lead id",
    "record": "Record",
}
"""The lead's fields as its page lists them, in this order."""


def _take(view: LeadView, lead: Lead) -> None:
    if view.lead is None:
        view.lead = lead
        view.fields = lead.model_dump(exclude={"kind"})


def _stage_output(view: LeadView, message: Message) -> None:
    """Keep the latest output of each stage (and the lead inside it)."""
    match message:
        case ResearchResult():
            view.research = message
            _take(view, message.lead)
        case LeadScore():
            view.score = message
            view.research = view.research or message.research
        case OutreachDraft():
            view.draft = message
            view.score = view.score or message.score
        case ReviewApproved(draft=draft):
            view.draft = draft  # what the reviewer approved: the model's, or an edit
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
