"""The outcome ledger: the one outcome each record submitted to a run directory ends in,
the conflicting outcomes that came after it, and the reports over both.

``LedgerStore`` is the one store of ``journal.sqlite``'s records and outcomes: it holds
the submitted records (``_records``: records, inputs, submissions) and the outcomes, which share
one file and are read together (a record is unfinished until it has an outcome).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, final

from actors.stores import _records
from actors.stores._records import (
    PENDING,
    RECORDS_SCHEMA,
    Receipt,
    StoredRecord,
    SubmissionClaim,
)
from actors.webhooks import announce_outcome
from bus import SqliteFile
from messages import LeadOutcome, Outcome

_OUTCOME_SCHEMA = """
CREATE TABLE IF NOT EXISTS outcomes (
    record INTEGER PRIMARY KEY,
    lead_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outcome_conflicts (
    record INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);
"""
"""The outcome ledger's tables, in ``journal.sqlite`` after the records'."""

FINISHED_EARLIER = "finished earlier"
"""How ``report --input`` marks a line whose lead an earlier input already finished."""


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One record, as ``report`` shows it."""

    record: int
    """The record's number in the run directory, or its position in ``report --input``."""
    lead_id: str
    outcome: str
    """An ``Outcome`` value, or ``PENDING`` for a record not finished yet."""
    reason: str


@final
class LedgerStore:
    """Records, inputs and outcomes, in the run directory's ``journal.sqlite``.

    One store over two concepts: the submitted records (``_records``) and the outcome ledger.
    They share one file and one transaction, and most reads join a record to its outcome.
    """

    def __init__(self, path: Path | SqliteFile) -> None:
        self.db = SqliteFile.open(path, RECORDS_SCHEMA + _OUTCOME_SCHEMA)

    # The records

    async def open_input(self, source: str) -> int:
        """Register one input (a file, stdin, an HTTP request); its number names it."""
        return await self.db.run(lambda c: _records.open_input(c, source))

    async def submit(self, input_id: int, rows: Sequence[_records.Row]) -> list[Receipt]:
        """Submit ``(position, fields)`` rows of one input, in one transaction (``fields``
        as read, or a ``CheckedRecord``).

        Once this returns, every row is durable: a new lead will be processed even if the
        process dies now; a known one answers with its outcome; a conflicting one is
        rejected with a reason naming the record it conflicts with.
        """
        [receipts] = await self.submit_many([(input_id, rows)])
        return receipts

    async def submit_many(
        self,
        batches: Sequence[tuple[int, Sequence[_records.Row]]],
        claims: Sequence[SubmissionClaim | None] = (),
    ) -> list[list[Receipt]]:
        """Several submissions in one transaction (a busy service's concurrent requests),
        each under its claim in ``claims`` (by position; none when missing)."""
        chosen = [*claims, *[None] * (len(batches) - len(claims))]
        return await self.db.run(
            lambda c: [
                _records.submit_claimed(c, i, rows, claim)
                for (i, rows), claim in zip(batches, chosen, strict=True)
            ]
        )

    async def note_digest(self, input_id: int, digest: str) -> None:
        """Remember that ``input_id`` was a whole file with this content digest."""
        await self.db.run(lambda c: _records.note_digest(c, input_id, digest))

    async def repeat_input(self, input_id: int, digest: str) -> dict[str, int] | None:
        """Submit ``input_id`` as a copy of an earlier, finished input of the same content.

        The same file again submits the same lines, each known and finished, so copying
        the earlier input's submissions gives the receipts reading it would, without
        reading it. Returns the lines by outcome, or ``None`` (and does nothing) when no
        earlier input had this content or one of its records is unfinished.
        """
        return await self.db.run(lambda c: _records.repeat_input(c, input_id, digest))

    async def unfinished_after(self, record: int, limit: int) -> list[StoredRecord]:
        """Up to ``limit`` records without an outcome numbered above ``record``, in order."""
        return await self.db.run(lambda c: _records.unfinished_after(c, record, limit))

    def unfinished(self) -> int:
        """How many records have no outcome yet."""
        return self.db.run_sync(_records.unfinished)

    def last_record(self) -> int:
        """The highest record number so far (0 in a new directory)."""
        return self.db.run_sync(_records.last_record)

    def last_input(self) -> int | None:
        """The number of the latest input, if there is one."""
        return self.db.run_sync(_records.last_input)

    # The outcomes

    async def set_outcome(self, outcome: LeadOutcome) -> bool:
        """Record an outcome; ``False`` if the record had one already.

        The same outcome again is a redelivery and changes nothing; a different one is a
        conflict, kept in ``outcome_conflicts`` so that it can never pass unnoticed.
        """
        return await self.db.run(lambda c: set_outcome(c, outcome))

    def replace_outcome(self, record: int, outcome: Outcome, reason: str) -> None:
        """Change a settled outcome: a reviewer's decision, or a replay."""
        self.db.run_sync(lambda c: replace_outcome(c, record, outcome, reason))

    def outcome_of(self, record: int) -> str:
        """A record's outcome, or ``PENDING``."""
        row = self.db.run_sync(
            lambda c: c.execute(
                "SELECT outcome FROM outcomes WHERE record = ?", (record,)
            ).fetchone()
        )
        return PENDING if row is None else str(row[0])

    def records_with(self, outcomes: Sequence[Outcome]) -> set[int]:
        """The records whose outcome is one of ``outcomes``."""
        marks = ", ".join("?" * len(outcomes))
        rows = self.db.run_sync(
            lambda c: c.execute(
                f"SELECT record FROM outcomes WHERE outcome IN ({marks})",
                tuple(outcome.value for outcome in outcomes),
            ).fetchall()
        )
        return {int(record) for (record,) in rows}

    def finished_since(self, since: datetime) -> int:
        """How many records got their outcome at ``since`` or later; a decision or a
        replay that changed an outcome counts at its own time."""
        at = since.astimezone(UTC).isoformat()
        return int(
            self.db.run_sync(
                lambda c: c.execute(
                    "SELECT COUNT(*) FROM outcomes WHERE at >= ?", (at,)
                ).fetchone()[0]
            )
        )

    def unfinished_among(self, lead_ids: Sequence[str]) -> set[str]:
        """Those of ``lead_ids`` with a record that has no outcome yet."""
        return self.db.run_sync(lambda c: _unfinished_among(c, lead_ids))

    def conflicts(self) -> int:
        """How many outcomes came for a record that had another one already."""
        return int(
            self.db.run_sync(
                lambda c: c.execute("SELECT COUNT(*) FROM outcome_conflicts").fetchone()[0]
            )
        )

    # Reports

    def find(self, lead_id: str) -> ReportRow | None:
        """The first record of a lead id, with its outcome."""
        rows = self.db.run_sync(
            lambda c: c.execute(
                f"{_REPORT} WHERE r.lead_id = ? ORDER BY r.record LIMIT 1", (lead_id,)
            ).fetchall()
        )
        return ReportRow(*rows[0]) if rows else None

    def report(self, *, input_id: int | None = None) -> list[ReportRow]:
        """Every record in the order first submitted, with its outcome or ``PENDING``.

        With ``input_id``, one row per line of that input instead, in its order, the record
        being the line's position; a line whose lead an earlier input finished says so.
        """
        if input_id is None:
            rows = self.db.run_sync(lambda c: c.execute(f"{_REPORT} ORDER BY r.record").fetchall())
            return [ReportRow(*row) for row in rows]
        rows = self.db.run_sync(
            lambda c: c.execute(
                "SELECT s.position, r.lead_id, COALESCE(o.outcome, ?), COALESCE(o.reason, ''), "
                "r.input != s.input AND o.outcome IS NOT NULL "
                "FROM submissions s JOIN records r ON r.record = s.record "
                "LEFT JOIN outcomes o ON o.record = r.record "
                "WHERE s.input = ? ORDER BY s.position",
                (PENDING, input_id),
            ).fetchall()
        )
        return [
            ReportRow(p, lead, outcome, f"{FINISHED_EARLIER}: {reason}" if earlier else reason)
            for p, lead, outcome, reason, earlier in rows
        ]

    def page(self, *, after: int, limit: int, outcome: str | None = None) -> list[ReportRow]:
        """Up to ``limit`` records numbered above ``after``, with one outcome if given."""
        query = f"{_REPORT} WHERE r.record > ?"
        params: tuple[Any, ...] = (after,)
        if outcome is not None:
            query += f" AND COALESCE(o.outcome, '{PENDING}') = ?"
            params += (outcome,)
        rows = self.db.run_sync(
            lambda c: c.execute(query + " ORDER BY r.record LIMIT ?", (*params, limit)).fetchall()
        )
        return [ReportRow(*row) for row in rows]

    def counts(self, *, input_id: int | None = None) -> dict[str, int]:
        """How many records (or lines of one input) have each outcome, or ``pending``."""
        if input_id is None:
            query = (
                "SELECT COALESCE(o.outcome, ?), COUNT(*) FROM records r "
                "LEFT JOIN outcomes o ON o.record = r.record GROUP BY 1"
            )
            params: tuple[Any, ...] = (PENDING,)
        else:
            query = (
                "SELECT COALESCE(o.outcome, ?), COUNT(*) FROM submissions s "
                "LEFT JOIN outcomes o ON o.record = s.record WHERE s.input = ? GROUP BY 1"
            )
            params = (PENDING, input_id)
        rows = self.db.run_sync(lambda c: c.execute(query, params).fetchall())
        return {str(outcome): int(count) for outcome, count in rows}

    def close(self) -> None:
        self.db.close()


_REPORT = (
    f"SELECT r.record, r.lead_id, COALESCE(o.outcome, '{PENDING}'), COALESCE(o.reason, '') "
    "FROM records r LEFT JOIN outcomes o ON o.record = r.record"
)


def _unfinished_among(c: sqlite3.Connection, lead_ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(lead_ids), 500):
        chunk = list(lead_ids[start : start + 500])
        marks = ", ".join("?" * len(chunk))
        found.update(
            str(lead)
            for (lead,) in c.execute(
                f"SELECT DISTINCT r.lead_id FROM records r LEFT JOIN outcomes o USING (record) "
                f"WHERE r.lead_id IN ({marks}) AND o.record IS NULL",
                chunk,
            )
        )
    return found


def set_outcome(c: sqlite3.Connection, outcome: LeadOutcome) -> bool:
    """``LedgerStore.set_outcome`` inside a caller's transaction."""
    at = datetime.now(UTC).isoformat()
    cursor = c.execute(
        "INSERT OR IGNORE INTO outcomes VALUES (?, ?, ?, ?, ?)",
        (outcome.record, outcome.lead_id, outcome.outcome.value, outcome.reason, at),
    )
    if cursor.rowcount == 1:
        # Its webhooks are written with it: a crash keeps both, or neither.
        announce_outcome(
            c,
            outcome.record,
            outcome.outcome,
            outcome.reason,
            score=outcome.score,
            draft=outcome.draft,
        )
        return True
    (settled,) = c.execute(
        "SELECT outcome FROM outcomes WHERE record = ?", (outcome.record,)
    ).fetchone()
    if settled != outcome.outcome.value:
        c.execute(
            "INSERT INTO outcome_conflicts VALUES (?, ?, ?, ?)",
            (outcome.record, outcome.outcome.value, outcome.reason, at),
        )
    return False


def replace_outcome(c: sqlite3.Connection, record: int, outcome: Outcome, reason: str) -> None:
    """``LedgerStore.replace_outcome`` inside a caller's transaction."""
    at = datetime.now(UTC).isoformat()
    c.execute(
        "UPDATE outcomes SET outcome = ?, reason = ?, at = ? WHERE record = ?",
        (outcome.value, reason, at, record),
    )
    announce_outcome(c, record, outcome, reason)


def clear_outcome(c: sqlite3.Connection, record: int) -> None:
    """Undo a record's outcome inside a caller's transaction (an approval, a replay), so
    that the record is unfinished again until its new one comes."""
    c.execute("DELETE FROM outcomes WHERE record = ?", (record,))
