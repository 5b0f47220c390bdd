"""The human review queue: leads a person must decide on, with the reason and last outputs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, final

from actors._actor import Actor
from actors._context import Context
from bus import SqliteFile
from messages import HumanReviewRequested, LeadOutcome, Outcome

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
CREATE TABLE IF NOT EXISTS review_actions (
    item_id INTEGER NOT NULL,
    action TEXT NOT NULL,
    note TEXT NOT NULL,
    at TEXT NOT NULL
);
"""


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


@final
class ReviewStore:
    """The queue, as ``review.sqlite`` in the run directory."""

    def __init__(self, path: Path) -> None:
        self.db = SqliteFile(path, _SCHEMA)

    async def add(self, request: HumanReviewRequested) -> None:
        values = (
            request.lead.record, request.lead.lead_id, request.stage.value, request.failure.value,
            request.reason, request.model_dump_json(), datetime.now(UTC).isoformat(),
        )  # fmt: skip
        await self.db.run(
            lambda c: c.execute(
                "INSERT INTO review (record, lead_id, stage, failure, reason, request, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                values,
            )
        )

    def items(self, *, status: str | None = None) -> list[ReviewItem]:
        query = "SELECT id, record, lead_id, stage, failure, reason, status, request FROM review"
        params: tuple[Any, ...] = ()
        if status is not None:
            query += " WHERE status = ?"
            params = (status,)
        rows = self.db.run_sync(lambda c: c.execute(query + " ORDER BY id", params).fetchall())
        return [
            ReviewItem(
                id=row[0],
                record=row[1],
                lead_id=row[2],
                stage=row[3],
                failure=row[4],
                reason=row[5],
                status=row[6],
                request=HumanReviewRequested.model_validate_json(row[7]),
            )
            for row in rows
        ]

    def item(self, item_id: int) -> ReviewItem | None:
        return next((item for item in self.items() if item.id == item_id), None)

    def record_action(self, item_id: int, action: str, note: str) -> None:
        """Log what an operator did to an item, whether or not it settled it."""
        at = datetime.now(UTC).isoformat()
        self.db.run_sync(
            lambda c: c.execute(
                "INSERT INTO review_actions VALUES (?, ?, ?, ?)", (item_id, action, note, at)
            )
        )

    def actions(self, item_id: int) -> list[tuple[str, str, str]]:
        """``(at, action, note)`` for every action taken on an item, oldest first."""
        rows = self.db.run_sync(
            lambda c: c.execute(
                "SELECT at, action, note FROM review_actions WHERE item_id = ? ORDER BY rowid",
                (item_id,),
            ).fetchall()
        )
        return [(str(at), str(action), str(note)) for at, action, note in rows]

    def decide(self, item_id: int, status: str, note: str) -> None:
        """Settle an item (``approved`` or ``rejected``) and log the decision."""
        at = datetime.now(UTC).isoformat()
        self.db.run_sync(
            lambda c: c.execute(
                "UPDATE review SET status = ?, decided_at = ?, note = ? WHERE id = ?",
                (status, at, note, item_id),
            )
        )
        self.record_action(item_id, status, note)

    def close(self) -> None:
        self.db.close()


@final
class ReviewQueue(Actor[HumanReviewRequested]):
    """Files every review request; the lead's outcome is ``needs_review`` until a person acts."""

    handles = (HumanReviewRequested,)

    def __init__(self, store: ReviewStore, **options: Any) -> None:
        super().__init__(**options)
        self.store = store

    async def handle(self, ctx: Context[HumanReviewRequested]) -> None:
        request = ctx.message
        await self.store.add(request)
        outcome = LeadOutcome(
            record=request.lead.record,
            lead_id=request.lead.lead_id,
            outcome=Outcome.NEEDS_REVIEW,
            reason=f"{request.stage.value}: {request.failure.value}: {request.reason}"[:500],
        )
        await ctx.publish(outcome)
