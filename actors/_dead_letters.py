"""The dead letters: messages that failed for good, kept with everything needed to replay them."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Unpack, final

from actors._actor import Actor, ActorOptions
from actors._context import Context
from bus import SqliteFile
from messages import DeadLetter, Envelope, LeadOutcome, Outcome, UsageError, record_of

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    record INTEGER,
    lead_id TEXT,
    failure TEXT NOT NULL,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    payload TEXT NOT NULL,
    raw_output TEXT,
    status TEXT NOT NULL DEFAULT 'open',
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS one_open_letter ON dead_letters (record)
    WHERE status = 'open' AND record IS NOT NULL;
"""


class LetterStatus(StrEnum):
    """Where a dead letter is. A record has at most one ``open`` letter at any time."""

    OPEN = "open"
    REPLAYED = "replayed"
    REJECTED = "rejected"
    """A person rejected the lead: replayed only when asked for explicitly."""
    SUPERSEDED = "superseded"
    """A newer letter for the same record replaced it."""


@dataclass(frozen=True, slots=True)
class DeadLetterItem:
    id: int
    record: int | None
    lead_id: str | None
    failure: str
    reason: str
    actor: str
    attempts: int
    payload: str
    raw_output: str | None
    status: str


@final
class DeadLetterStore:
    """The dead letters, as a table in the run directory's ``journal.sqlite``."""

    def __init__(self, path: Path | SqliteFile) -> None:
        self.db = SqliteFile.open(path, _SCHEMA)

    def add_sync(self, letter: DeadLetter, lineage: tuple[int, str] | None) -> None:
        """Keep a dead letter now, from a command rather than from the running system."""
        self.db.run_sync(lambda c: add_letter(c, letter, lineage))

    async def add(self, letter: DeadLetter, lineage: tuple[int, str] | None) -> None:
        """Keep a dead letter; an open letter of the same record is superseded by it."""
        await self.db.run(lambda c: add_letter(c, letter, lineage))

    def items(self, *, status: str | None = None) -> list[DeadLetterItem]:
        query = _SELECT
        params: tuple[Any, ...] = ()
        if status is not None:
            query += " WHERE status = ?"
            params = (status,)
        rows = self.db.run_sync(lambda c: c.execute(query + " ORDER BY id", params).fetchall())
        return [DeadLetterItem(*row) for row in rows]

    def item(self, item_id: int) -> DeadLetterItem | None:
        rows = self.db.run_sync(
            lambda c: c.execute(f"{_SELECT} WHERE id = ?", (item_id,)).fetchall()
        )
        return DeadLetterItem(*rows[0]) if rows else None

    def close(self) -> None:
        self.db.close()


_SELECT = (
    "SELECT id, record, lead_id, failure, reason, actor, attempts, payload, raw_output, "
    "status FROM dead_letters"
)


def add_letter(
    c: sqlite3.Connection,
    letter: DeadLetter,
    lineage: tuple[int, str] | None,
    status: LetterStatus = LetterStatus.OPEN,
) -> int:
    """Insert a dead letter inside a caller's transaction; returns its id."""
    record, lead_id = lineage if lineage is not None else (None, None)
    if record is not None:
        c.execute(
            "UPDATE dead_letters SET status = ? WHERE record = ? AND status = 'open'",
            (LetterStatus.SUPERSEDED.value, record),
        )
    cursor = c.execute(
        "INSERT INTO dead_letters (record, lead_id, failure, reason, actor, attempts, "
        "payload, raw_output, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record,
            lead_id,
            letter.failure.value,
            letter.reason,
            letter.actor,
            letter.attempts,
            letter.payload,
            letter.raw_output,
            status.value,
            datetime.now(UTC).isoformat(),
        ),
    )
    return int(cursor.lastrowid or 0)


def lineage_of(letter: DeadLetter) -> tuple[int, str] | None:
    """The record and lead a dead letter's payload concerns, if it can be read."""
    try:
        return record_of(Envelope.from_json(letter.payload).message)
    except (UsageError, ValueError):
        return None


@final
class DeadLetters(Actor[DeadLetter]):
    """Keeps every dead letter; a lead's dead letter makes its outcome ``failed``."""

    handles = (DeadLetter,)

    def __init__(self, store: DeadLetterStore, **options: Unpack[ActorOptions]) -> None:
        super().__init__(**options)
        self.store = store

    async def handle(self, ctx: Context[DeadLetter]) -> None:
        letter = ctx.message
        lineage = lineage_of(letter)
        await self.store.add(letter, lineage)
        if lineage is None:
            return
        record, lead_id = lineage
        reason = f"{letter.failure.value}: {letter.reason}"[:500]
        await ctx.publish(
            LeadOutcome(record=record, lead_id=lead_id, outcome=Outcome.FAILED, reason=reason)
        )
