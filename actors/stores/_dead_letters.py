"""Operations: the dead letters, machine failures kept with everything needed to retry
them, and each failed lead's automatic retry schedule (``_ops_schedule``)."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, final

from actors.stores._ops_schedule import (
    SCHEDULE_SCHEMA,
    Due,
    RetrySchedule,
    schedule_next,
    utc_now,
)
from bus import SqliteFile
from messages import (
    POLICIES,
    DeadLetter,
    Envelope,
    FailureKind,
    UsageError,
    record_of,
)

_SCHEMA = (
    """
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
    + SCHEDULE_SCHEMA
)


class LetterStatus(StrEnum):
    """Where a dead letter is. A record has at most one ``open`` letter at any time."""

    OPEN = "open"
    REPLAYED = "replayed"
    """Retried (by hand or on the schedule): a new letter comes if the retry fails too."""
    REJECTED = "rejected"
    """A person rejected the lead, in versions before ``declined``: replayed only when
    asked for explicitly."""
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
    created_at: str = ""
    retries: int = 0
    """Automatic retries its lead has had."""
    due_at: str | None = None
    """When its next automatic retry is due (UTC, ISO 8601), for an open letter whose
    schedule is not spent; ``None`` otherwise."""

    @property
    def explain(self) -> str:
        """What broke, in an operator's words."""
        return _policy_words(self.failure)[0] or self.reason

    @property
    def check(self) -> str:
        """What an operator should look at."""
        return _policy_words(self.failure)[1]

    @property
    def state(self) -> str:
        """Its status as an operator reads it (``retried`` for ``replayed``)."""
        return "retried" if self.status == LetterStatus.REPLAYED.value else self.status

    def next_retry(self, allowed: int) -> str:
        """When it is retried next by itself, or why it is not, given the ``allowed``
        automatic retries of the run (``--ops-retry``)."""
        if self.status != LetterStatus.OPEN.value:
            return f"none: {self.state} ({self.retries} of {allowed} automatic retries made)"
        if self.due_at is not None:
            when = datetime.fromisoformat(self.due_at).strftime("%Y-%m-%d %H:%M:%S UTC")
            return f"next at {when} ({self.retries + 1} of {allowed})"
        if allowed == 0:
            return "none scheduled (--ops-retry 0): an operator retries it"
        if self.retries >= allowed:
            return f"schedule spent ({self.retries} of {allowed} made): an operator retries it"
        return "none scheduled (an earlier version wrote it): an operator retries it"


def _policy_words(failure: str) -> tuple[str, str]:
    """The taxonomy's words for a failure: what broke, and what to check."""
    try:
        policy = POLICIES[FailureKind(failure)]
    except ValueError:
        return "", ""
    return policy.explain, policy.check


@final
class DeadLetterStore:
    """The dead letters, as a table in the run directory's ``journal.sqlite``."""

    def __init__(self, path: Path | SqliteFile) -> None:
        self.db = SqliteFile.open(path, _SCHEMA)

    def add_sync(self, letter: DeadLetter, lineage: tuple[int, str] | None) -> None:
        """Keep a dead letter now, from a command rather than from the running system."""
        self.db.run_sync(lambda c: add_letter(c, letter, lineage))

    async def add(
        self,
        letter: DeadLetter,
        lineage: tuple[int, str] | None,
        *,
        schedule: RetrySchedule | None = None,
        now: datetime | None = None,
        rng: random.Random | None = None,
    ) -> Due | None:
        """Keep a dead letter; an open letter of the same record is superseded by it. With
        a ``schedule``, its lead's next automatic retry is scheduled in the same
        transaction, and returned."""

        def write(c: sqlite3.Connection) -> Due | None:
            add_letter(c, letter, lineage)
            if schedule is None or lineage is None:
                return None
            when = now if now is not None else utc_now()
            return schedule_next(c, lineage[0], schedule, when, rng or random.Random())

        return await self.db.run(write)

    def due(self, now: datetime) -> list[int]:
        """The open letters whose automatic retry is due at ``now``, oldest first."""
        rows = self.db.run_sync(
            lambda c: c.execute(
                "SELECT d.id FROM dead_letters d JOIN ops_schedule s ON s.record = d.record "
                "WHERE d.status = 'open' AND s.due_at IS NOT NULL AND s.due_at <= ? "
                "ORDER BY s.due_at, d.id",
                (now.astimezone(UTC).isoformat(),),
            ).fetchall()
        )
        return [int(letter_id) for (letter_id,) in rows]

    def next_due(self) -> datetime | None:
        """When the earliest automatic retry of an open letter is due, if any is."""
        row = self.db.run_sync(
            lambda c: c.execute(
                "SELECT MIN(s.due_at) FROM dead_letters d JOIN ops_schedule s "
                "ON s.record = d.record WHERE d.status = 'open' AND s.due_at IS NOT NULL"
            ).fetchone()
        )
        return None if row is None or row[0] is None else datetime.fromisoformat(row[0])

    def items(self, *, status: str | None = None) -> list[DeadLetterItem]:
        query = _SELECT
        params: tuple[Any, ...] = ()
        if status is not None:
            query += " WHERE d.status = ?"
            params = (status,)
        rows = self.db.run_sync(lambda c: c.execute(query + " ORDER BY d.id", params).fetchall())
        return [DeadLetterItem(*row) for row in rows]

    def item(self, item_id: int) -> DeadLetterItem | None:
        rows = self.db.run_sync(
            lambda c: c.execute(f"{_SELECT} WHERE d.id = ?", (item_id,)).fetchall()
        )
        return DeadLetterItem(*rows[0]) if rows else None

    def close(self) -> None:
        self.db.close()


_SELECT = (
    "SELECT d.id, d.record, d.lead_id, d.failure, d.reason, d.actor, d.attempts, d.payload, "
    "d.raw_output, d.status, d.created_at, COALESCE(s.retries, 0), "
    "CASE WHEN d.status = 'open' THEN s.due_at END "
    "FROM dead_letters d LEFT JOIN ops_schedule s ON s.record = d.record"
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
