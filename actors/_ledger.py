"""The outcome ledger: every record submitted to a run directory, and the one outcome each
ends in.

Records are keyed by their lead's identity (its id and a fingerprint of its content), not
by their position in a file. The ledger is also the durable inbox: a record is submitted
in one transaction, and from then on it is never lost; the system admits unfinished
records in the order they were first submitted.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Unpack, final

from actors._actor import Actor, ActorOptions
from actors._context import Context
from actors.intake import check_record, fingerprint, lead_id_for
from bus import SqliteFile
from messages import LeadOutcome, Outcome, RawValue

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    record INTEGER PRIMARY KEY,
    lead_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    email TEXT,
    fields TEXT NOT NULL,
    input INTEGER NOT NULL,
    position INTEGER NOT NULL,
    UNIQUE (lead_id, fingerprint)
);
CREATE INDEX IF NOT EXISTS records_by_email ON records (email) WHERE email IS NOT NULL;
CREATE TABLE IF NOT EXISTS inputs (
    input INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS input_digests (
    digest TEXT NOT NULL,
    input INTEGER NOT NULL,
    PRIMARY KEY (digest, input)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS submissions (
    input INTEGER NOT NULL,
    position INTEGER NOT NULL,
    record INTEGER NOT NULL,
    PRIMARY KEY (input, position)
) WITHOUT ROWID;
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


PENDING = "pending"
"""The outcome ``report`` and ``counts`` give a record that has none yet."""
FINISHED_EARLIER = "finished earlier"
"""How ``report --input`` marks a line whose lead an earlier input already finished."""


class Submission(StrEnum):
    """What submitting one input record did."""

    NEW = "new"
    """A lead not seen before in this directory: it will be processed."""
    KNOWN = "known"
    """The same lead with the same content was submitted before: nothing new is done."""
    CONFLICT = "conflict"
    """The lead's id was submitted before with other content: rejected."""
    DUPLICATE = "duplicate"
    """Another lead with the same email was submitted before: rejected."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """The answer to one submitted record."""

    position: int
    """Where the record was in its input (1-based)."""
    record: int
    """The record's number in the run directory."""
    lead_id: str
    submission: Submission
    outcome: str
    """Its outcome now: an ``Outcome`` value, or ``PENDING``."""
    reason: str


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as the inbox holds it, for admitting it."""

    record: int
    lead_id: str
    fields: dict[str, RawValue]


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
    """Records, inputs and outcomes, in the run directory's ``journal.sqlite``."""

    def __init__(self, path: Path | SqliteFile) -> None:
        self.db = SqliteFile.open(path, _SCHEMA)

    async def open_input(self, source: str) -> int:
        """Register one input (a file, stdin, an HTTP request); its number names it."""
        at = datetime.now(UTC).isoformat()
        return await self.db.run(
            lambda c: int(
                c.execute("INSERT INTO inputs (source, at) VALUES (?, ?)", (source, at)).lastrowid
                or 0
            )
        )

    async def submit(
        self, input_id: int, rows: Sequence[tuple[int, Mapping[str, RawValue]]]
    ) -> list[Receipt]:
        """Submit ``(position, fields)`` rows of one input, in one transaction.

        Once this returns, every row is durable: a new lead will be processed even if the
        process dies now; a known one answers with its outcome; a conflicting one is
        rejected with a reason naming the record it conflicts with.
        """
        [receipts] = await self.submit_many([(input_id, rows)])
        return receipts

    async def submit_many(
        self, batches: Sequence[tuple[int, Sequence[tuple[int, Mapping[str, RawValue]]]]]
    ) -> list[list[Receipt]]:
        """Several submissions in one transaction (a busy service's concurrent requests)."""
        return await self.db.run(
            lambda c: [[_submit(c, i, p, f) for p, f in rows] for i, rows in batches]
        )

    async def note_digest(self, input_id: int, digest: str) -> None:
        """Remember that ``input_id`` was a whole file with this content digest."""
        await self.db.run(
            lambda c: c.execute(
                "INSERT OR IGNORE INTO input_digests VALUES (?, ?)", (digest, input_id)
            )
        )

    async def repeat_input(self, input_id: int, digest: str) -> dict[str, int] | None:
        """Submit ``input_id`` as a copy of an earlier, finished input of the same content.

        The same file again submits the same lines, each known and finished, so copying
        the earlier input's submissions gives the receipts reading it would, without
        reading it. Returns the lines by outcome, or ``None`` (and does nothing) when no
        earlier input had this content or one of its records is unfinished.
        """
        return await self.db.run(lambda c: _repeat_input(c, input_id, digest))

    async def set_outcome(self, outcome: LeadOutcome) -> bool:
        """Record an outcome; ``False`` if the record had one already.

        The same outcome again is a redelivery and changes nothing; a different one is a
        conflict, kept in ``outcome_conflicts`` so that it can never pass unnoticed.
        """
        return await self.db.run(lambda c: set_outcome(c, outcome))

    def replace_outcome(self, record: int, outcome: Outcome, reason: str) -> None:
        """Change a settled outcome: a reviewer's decision, or a replay."""
        self.db.run_sync(lambda c: replace_outcome(c, record, outcome, reason))

    async def unfinished_after(self, record: int, limit: int) -> list[StoredRecord]:
        """Up to ``limit`` records without an outcome numbered above ``record``, in order."""
        rows = await self.db.run(
            lambda c: c.execute(
                "SELECT r.record, r.lead_id, r.fields FROM records r "
                "WHERE r.record > ? AND NOT EXISTS "
                "(SELECT 1 FROM outcomes o WHERE o.record = r.record) "
                "ORDER BY r.record LIMIT ?",
                (record, limit),
            ).fetchall()
        )
        return [StoredRecord(r, lead_id, json.loads(fields)) for r, lead_id, fields in rows]

    def unfinished(self) -> int:
        """How many records have no outcome yet."""
        return int(
            self.db.run_sync(
                lambda c: c.execute(
                    "SELECT COUNT(*) FROM records r WHERE NOT EXISTS "
                    "(SELECT 1 FROM outcomes o WHERE o.record = r.record)"
                ).fetchone()[0]
            )
        )

    def last_record(self) -> int:
        """The highest record number so far (0 in a new directory)."""
        return int(
            self.db.run_sync(
                lambda c: c.execute("SELECT COALESCE(MAX(record), 0) FROM records").fetchone()[0]
            )
        )

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

    def last_input(self) -> int | None:
        """The number of the latest input, if there is one."""
        row = self.db.run_sync(lambda c: c.execute("SELECT MAX(input) FROM inputs").fetchone())
        return None if row[0] is None else int(row[0])

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

    def conflicts(self) -> int:
        return int(
            self.db.run_sync(
                lambda c: c.execute("SELECT COUNT(*) FROM outcome_conflicts").fetchone()[0]
            )
        )

    def close(self) -> None:
        self.db.close()


_REPORT = (
    f"SELECT r.record, r.lead_id, COALESCE(o.outcome, '{PENDING}'), COALESCE(o.reason, '') "
    "FROM records r LEFT JOIN outcomes o ON o.record = r.record"
)


def _submit(
    c: sqlite3.Connection, input_id: int, position: int, fields: Mapping[str, RawValue]
) -> Receipt:
    lead_id = lead_id_for(fields)
    content = fingerprint(fields)
    record, submission, reason = _resolve(c, lead_id, content, fields, input_id, position)
    c.execute("INSERT OR IGNORE INTO submissions VALUES (?, ?, ?)", (input_id, position, record))
    row = c.execute("SELECT outcome, reason FROM outcomes WHERE record = ?", (record,)).fetchone()
    outcome, stored_reason = (PENDING, reason) if row is None else (str(row[0]), str(row[1]))
    return Receipt(position, record, lead_id, submission, outcome, stored_reason)


def _repeat_input(c: sqlite3.Connection, input_id: int, digest: str) -> dict[str, int] | None:
    earlier = c.execute(
        "SELECT d.input FROM input_digests d WHERE d.digest = ? AND NOT EXISTS (SELECT 1 FROM "
        "submissions s WHERE s.input = d.input AND NOT EXISTS (SELECT 1 FROM outcomes o "
        "WHERE o.record = s.record)) ORDER BY d.input DESC LIMIT 1",
        (digest,),
    ).fetchone()
    if earlier is None:
        return None
    c.execute(
        "INSERT INTO submissions SELECT ?, position, record FROM submissions WHERE input = ?",
        (input_id, earlier[0]),
    )
    c.execute("INSERT INTO input_digests VALUES (?, ?)", (digest, input_id))
    rows = c.execute(
        "SELECT o.outcome, COUNT(*) FROM submissions s JOIN outcomes o ON o.record = s.record "
        "WHERE s.input = ? GROUP BY 1",
        (input_id,),
    ).fetchall()
    return {str(outcome): int(count) for outcome, count in rows}


def _resolve(
    c: sqlite3.Connection,
    lead_id: str,
    content: str,
    fields: Mapping[str, RawValue],
    input_id: int,
    position: int,
) -> tuple[int, Submission, str]:
    """The record a row belongs to, inserted if it is new, and what submitting it did."""
    same = c.execute(
        "SELECT record FROM records WHERE lead_id = ? AND fingerprint = ?", (lead_id, content)
    ).fetchone()
    if same is not None:
        return int(same[0]), Submission.KNOWN, ""
    owner = c.execute(
        "SELECT record FROM records WHERE lead_id = ? ORDER BY record LIMIT 1", (lead_id,)
    ).fetchone()
    checked = check_record(fields)
    email = None if isinstance(checked, list) or owner is not None else checked["email"]
    first = None
    if email is not None:
        first = c.execute("SELECT record FROM records WHERE email = ? LIMIT 1", (email,)).fetchone()
    record = int(
        c.execute(
            "INSERT INTO records (lead_id, fingerprint, email, fields, input, position) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                lead_id,
                content,
                email if first is None else None,
                json.dumps(dict(fields), ensure_ascii=False),
                input_id,
                position,
            ),
        ).lastrowid
        or 0
    )
    if owner is not None:
        reason = (
            f"conflicting duplicate: lead {lead_id} was submitted as record {owner[0]} "
            "with other content"
        )
        _reject(c, record, lead_id, reason)
        return record, Submission.CONFLICT, reason
    if first is not None:
        reason = f"duplicate of record {first[0]} (same email)"
        _reject(c, record, lead_id, reason)
        return record, Submission.DUPLICATE, reason
    return record, Submission.NEW, ""


def _reject(c: sqlite3.Connection, record: int, lead_id: str, reason: str) -> None:
    at = datetime.now(UTC).isoformat()
    c.execute(
        "INSERT INTO outcomes VALUES (?, ?, ?, ?, ?)",
        (record, lead_id, Outcome.REJECTED.value, reason, at),
    )


def set_outcome(c: sqlite3.Connection, outcome: LeadOutcome) -> bool:
    """``LedgerStore.set_outcome`` inside a caller's transaction."""
    at = datetime.now(UTC).isoformat()
    cursor = c.execute(
        "INSERT OR IGNORE INTO outcomes VALUES (?, ?, ?, ?, ?)",
        (outcome.record, outcome.lead_id, outcome.outcome.value, outcome.reason, at),
    )
    if cursor.rowcount == 1:
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


def clear_outcome(c: sqlite3.Connection, record: int) -> None:
    """``LedgerStore.clear_outcome`` inside a caller's transaction."""
    c.execute("DELETE FROM outcomes WHERE record = ?", (record,))


OUTCOME_WRITERS = 8
"""Outcomes the ledger actor writes at once, unless told otherwise."""


@final
class OutcomeLedger(Actor[LeadOutcome]):
    """Writes each record's outcome once, then tells the run.

    The run hears about every outcome, including one the record already had (a
    redelivery after a crash): ``first`` says which, and either way the record's
    admission place is freed, so that no place can leak.
    """

    handles = (LeadOutcome,)

    def __init__(
        self,
        store: LedgerStore,
        on_outcome: Callable[[LeadOutcome, bool], None],
        **options: Unpack[ActorOptions],
    ) -> None:
        # Several outcomes at once: their writes share one trip to the database's thread.
        merged: ActorOptions = {"concurrency": OUTCOME_WRITERS, **options}
        super().__init__(**merged)
        self.store = store
        self.on_outcome = on_outcome

    async def handle(self, ctx: Context[LeadOutcome]) -> None:
        outcome = ctx.message
        first = await self.store.set_outcome(outcome)
        if first:
            ctx.log.info(
                "lead_outcome",
                record=outcome.record,
                lead_id=outcome.lead_id,
                outcome=outcome.outcome.value,
                reason=outcome.reason,
            )
        self.on_outcome(outcome, first)
