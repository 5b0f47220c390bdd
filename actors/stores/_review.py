"""The review queue's store: leads a person decides on (the inbox), each with the draft
that would be sent and why, in plain words."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, final

from actors.validation import explain_all
from actors.webhooks import announce_decision
from bus import SqliteFile
from messages import POLICIES, HumanReviewRequested, OutreachDraft

_SCHEMA = """
CREATE TABLE IF NOT EXISTS review (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    record INTEGER NOT NULL,
    lead_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    failure TEXT NOT NULL,
    reason TEXT NOT NULL,
    request TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    created_at TEXT NOT NULL,
    decided_at TEXT,
    note TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS one_open_review ON review (record) WHERE status = 'open';
CREATE TABLE IF NOT EXISTS review_actions (
    item_id INTEGER NOT NULL,
    action TEXT NOT NULL,
    note TEXT NOT NULL,
    at TEXT NOT NULL,
    reviewer TEXT NOT NULL DEFAULT ''
);
"""


class ReviewStatus(StrEnum):
    """Where a review item is. A record has at most one ``open`` item at any time."""

    OPEN = "open"
    APPROVED = "approved"
    DECLINED = "declined"
    """A person declined the lead."""
    REJECTED = "rejected"
    """A person rejected the lead, in versions before ``declined``: it failed."""
    RETRIED = "retried"
    """A person ran the lead again (with evidence they added)."""
    SUPERSEDED = "superseded"
    """A newer request for the same record replaced it (the lead was resumed meanwhile)."""


@dataclass(frozen=True, slots=True)
class ReviewItem:
    id: int
    record: int
    lead_id: str
    stage: str
    failure: str
    reason: str
    status: str
    request: HumanReviewRequested

    @property
    def draft(self) -> OutreachDraft | None:
        """The draft that would be sent; ``None`` for an item filed by an older version."""
        output = self.request.last_output
        return output if isinstance(output, OutreachDraft) else None

    @property
    def why(self) -> str:
        """Why it is in the inbox, in plain words."""
        return why(self.request)


def why(request: HumanReviewRequested) -> str:
    """Why a lead waits for a person, in a sales person's words: each rule its draft broke
    and each doubt it carries, one sentence each."""
    output = request.last_output
    if not isinstance(output, OutreachDraft):
        # Its reasons were written before drafts were attached: said as they were.
        said = " ".join(dict.fromkeys(_first_clause(v.reason) for v in request.violations))
        said = said or POLICIES[request.failure].explain
        return (
            f"Filed by an earlier version at the {request.stage.value} stage, with no draft: "
            f"{said or request.reason}"
        )
    sentences = explain_all(request.violations + output.doubts)
    if sentences:
        return " ".join(sentences)
    return POLICIES[request.failure].explain or request.reason


def approval_effect(draft: OutreachDraft) -> str:
    """What approving ``draft`` as it is does to its lead, in a reviewer's words."""
    if draft.score.disqualified:
        return (
            f"The lead is recorded as disqualified (fit {draft.score.fit.value}, score "
            f"{draft.score.score}); this draft is not sent. Edit and approve to send it."
        )
    return "The lead is completed: this draft goes to the CRM as it is."


_VERSIONS = {
    "approved": " the draft as the model wrote it (version 1)",
    "edited and approved": " an edited draft (version 2)",
    "edited and approved with override": " an edited draft (version 2), with an override",
    "approved with override": " the draft as the model wrote it (version 1), with an override",
}


def decision_words(action: str, reviewer: str) -> str:
    """An audited action on an item as a person reads it, saying which version of the
    draft an approval sent and who decided: "approved an edited draft (version 2) by ana"."""
    by = f" by {reviewer}" if reviewer else ""
    if action.startswith(("approved", "edited")):
        return f"approved{_VERSIONS.get(action, '')}{by}"
    return f"{action}{by}"


def _first_clause(reason: str) -> str:
    return reason.split(";", 1)[0].strip().rstrip(".") + "."


def _item(row: tuple[Any, ...]) -> ReviewItem:
    return ReviewItem(
        id=row[0],
        record=row[1],
        lead_id=row[2],
        stage=row[3],
        failure=row[4],
        reason=row[5],
        status=row[6],
        request=HumanReviewRequested.model_validate_json(row[7]),
    )


@final
class ReviewStore:
    """The queue, as tables in the run directory's ``journal.sqlite``."""

    def __init__(self, path: Path | SqliteFile) -> None:
        self.db = SqliteFile.open(path, _SCHEMA)

    async def add(self, request: HumanReviewRequested) -> None:
        """File a request; an open item of the same record is superseded by it."""
        await self.db.run(lambda c: _add(c, request))

    def items(self, *, status: str | None = None, lead_id: str | None = None) -> list[ReviewItem]:
        """Items, oldest first; only those with ``status`` and of ``lead_id``, when given."""
        query = "SELECT id, record, lead_id, stage, failure, reason, status, request FROM review"
        wanted = {"status": status, "lead_id": lead_id}
        where = {column: value for column, value in wanted.items() if value is not None}
        if where:
            query += " WHERE " + " AND ".join(f"{column} = ?" for column in where)
        params = tuple(where.values())
        rows = self.db.run_sync(lambda c: c.execute(query + " ORDER BY id", params).fetchall())
        return [_item(row) for row in rows]

    def item(self, item_id: int) -> ReviewItem | None:
        rows = self.db.run_sync(
            lambda c: c.execute(
                "SELECT id, record, lead_id, stage, failure, reason, status, request FROM review "
                "WHERE id = ?",
                (item_id,),
            ).fetchall()
        )
        return _item(rows[0]) if rows else None

    def actions(self, item_id: int) -> list[tuple[str, str, str]]:
        """``(at, action, note)`` for every action taken on an item, oldest first."""
        return [(at, action, note) for at, action, note, _ in self.audit(item_id)]

    def audit(self, item_id: int) -> list[tuple[str, str, str, str]]:
        """``(at, action, note, reviewer)`` for every action on an item, oldest first."""
        rows = self.db.run_sync(
            lambda c: c.execute(
                "SELECT at, action, note, reviewer FROM review_actions WHERE item_id = ? "
                "ORDER BY rowid",
                (item_id,),
            ).fetchall()
        )
        return [(str(a), str(b), str(n), str(r)) for a, b, n, r in rows]

    def decisions(self, *, limit: int, offset: int = 0) -> tuple[list[Decided], int]:
        """The items a person decided, the latest decision first (``limit`` of them from
        ``offset``), each with its last audited action; and how many there are in all."""

        def read(c: sqlite3.Connection) -> tuple[list[Decided], int]:
            (total,) = c.execute(f"SELECT COUNT(*) FROM review WHERE {_DECIDED}").fetchone()
            rows = c.execute(
                "SELECT r.id, r.record, r.lead_id, r.stage, r.failure, r.reason, r.status, "
                "r.request, COALESCE(a.at, r.decided_at, ''), COALESCE(a.action, r.status), "
                "COALESCE(a.note, r.note, ''), COALESCE(a.reviewer, '') FROM review r "
                "LEFT JOIN review_actions a ON a.rowid = "
                "(SELECT MAX(rowid) FROM review_actions WHERE item_id = r.id) "
                f"WHERE {_DECIDED} ORDER BY r.decided_at DESC, r.id DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
            return [Decided(_item(row[:8]), *row[8:]) for row in rows], int(total)

        return self.db.run_sync(read)

    def close(self) -> None:
        self.db.close()


_DECIDED = "status NOT IN ('open', 'superseded')"
"""Items a person settled: approved, declined, retried, or rejected by an older version."""


@dataclass(frozen=True, slots=True)
class Decided:
    """A decided item and its last audited action."""

    item: ReviewItem
    at: str
    action: str
    note: str
    reviewer: str

    @property
    def words(self) -> str:
        """The decision as a person reads it (``decision_words``)."""
        return decision_words(self.action, self.reviewer)


def _add(c: sqlite3.Connection, request: HumanReviewRequested) -> None:
    at = datetime.now(UTC).isoformat()
    record = request.lead.record
    for (old,) in c.execute(
        "SELECT id FROM review WHERE record = ? AND status = 'open'", (record,)
    ).fetchall():
        decide(c, old, ReviewStatus.SUPERSEDED, "a newer request replaced it", "system")
    c.execute(
        "INSERT INTO review (record, lead_id, stage, failure, reason, request, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            record,
            request.lead.lead_id,
            request.stage.value,
            request.failure.value,
            request.reason,
            request.model_dump_json(),
            at,
        ),
    )


def decide(
    c: sqlite3.Connection, item_id: int, status: ReviewStatus, note: str, reviewer: str
) -> None:
    """Settle an item and log the decision, inside a caller's transaction."""
    at = datetime.now(UTC).isoformat()
    c.execute(
        "UPDATE review SET status = ?, decided_at = ?, note = ? WHERE id = ?",
        (status.value, at, note, item_id),
    )
    record_action(c, item_id, status.value, note, reviewer)
    if status is not ReviewStatus.SUPERSEDED:  # a newer request, not a person's decision
        announce_decision(c, item_id, status.value, note, reviewer)


def record_action(
    c: sqlite3.Connection, item_id: int, action: str, note: str, reviewer: str
) -> None:
    """Log an action on an item, inside a caller's transaction."""
    at = datetime.now(UTC).isoformat()
    c.execute(
        "INSERT INTO review_actions (item_id, action, note, at, reviewer) VALUES (?, ?, ?, ?, ?)",
        (item_id, action, note, at, reviewer),
    )
