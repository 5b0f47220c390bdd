"""The records: every record submitted to a run directory, the inputs that brought it,
and what submitting each did.

Records are keyed by their lead's identity (its id and a fingerprint of its content), not
by their position in a file. A record is submitted in one transaction, and from then on it
is never lost; the system admits unfinished records in the order they were first
submitted. A record is unfinished until the outcome ledger (``_ledger``) holds its
outcome; a rejected one gets its outcome here, in the transaction that submits it.

These functions run inside a caller's transaction; ``LedgerStore`` is the store over them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from actors.intake import CheckedRecord
from messages import Outcome, RawValue

RECORDS_SCHEMA = """
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
"""
"""The records' tables, in ``journal.sqlite`` beside the outcome ledger's."""

PENDING = "pending"
"""The outcome ``report`` and ``counts`` give a record that has none yet."""


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


Row = tuple[int, Mapping[str, RawValue] | CheckedRecord]
"""A record to submit: its position in its input, and its fields as read (checked as they
are submitted), or a record already checked at the door."""


class SubmissionClaim(Protocol):
    """What a submission settles in the transaction that submits its rows, such as an HTTP
    ``Idempotency-Key``: taken there, two requests with one key cannot both submit."""

    def claim(self, c: sqlite3.Connection) -> bool:
        """Whether to submit the rows (``False``: the claim was taken before)."""
        ...

    def settle(self, c: sqlite3.Connection, receipts: list[Receipt]) -> None:
        """Record what submitting the rows did, in the same transaction."""
        ...


Claim = SubmissionClaim
"""The earlier name of ``SubmissionClaim``, kept importable; a research claim is
``messages.Claim``."""


def submit_claimed(
    c: sqlite3.Connection, input_id: int, rows: Sequence[Row], claim: SubmissionClaim | None
) -> list[Receipt]:
    """Submit rows of one input, under ``claim`` if given: no receipts when it was taken."""
    if claim is not None and not claim.claim(c):
        return []
    receipts = [submit(c, input_id, position, fields) for position, fields in rows]
    if claim is not None:
        claim.settle(c, receipts)
    return receipts


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as the records' table holds it, for admitting it."""

    record: int
    lead_id: str
    fields: dict[str, RawValue]


def open_input(c: sqlite3.Connection, source: str) -> int:
    """``LedgerStore.open_input`` inside a caller's transaction."""
    at = datetime.now(UTC).isoformat()
    return int(
        c.execute("INSERT INTO inputs (source, at) VALUES (?, ?)", (source, at)).lastrowid or 0
    )


def submit(
    c: sqlite3.Connection,
    input_id: int,
    position: int,
    record: Mapping[str, RawValue] | CheckedRecord,
) -> Receipt:
    """Submit one row of an input inside a caller's transaction (``LedgerStore.submit``)."""
    checked = record if isinstance(record, CheckedRecord) else CheckedRecord.of(record)
    number, submission, reason = _resolve(c, checked, input_id, position)
    lead_id = checked.lead_id
    c.execute("INSERT OR IGNORE INTO submissions VALUES (?, ?, ?)", (input_id, position, number))
    row = c.execute("SELECT outcome, reason FROM outcomes WHERE record = ?", (number,)).fetchone()
    outcome, stored_reason = (PENDING, reason) if row is None else (str(row[0]), str(row[1]))
    return Receipt(position, number, lead_id, submission, outcome, stored_reason)


def note_digest(c: sqlite3.Connection, input_id: int, digest: str) -> None:
    """``LedgerStore.note_digest`` inside a caller's transaction."""
    c.execute("INSERT OR IGNORE INTO input_digests VALUES (?, ?)", (digest, input_id))


def repeat_input(c: sqlite3.Connection, input_id: int, digest: str) -> dict[str, int] | None:
    """``LedgerStore.repeat_input`` inside a caller's transaction."""
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


def unfinished_after(c: sqlite3.Connection, record: int, limit: int) -> list[StoredRecord]:
    """``LedgerStore.unfinished_after`` inside a caller's transaction."""
    rows = c.execute(
        "SELECT r.record, r.lead_id, r.fields FROM records r "
        "WHERE r.record > ? AND NOT EXISTS "
        "(SELECT 1 FROM outcomes o WHERE o.record = r.record) "
        "ORDER BY r.record LIMIT ?",
        (record, limit),
    ).fetchall()
    return [StoredRecord(r, lead_id, json.loads(fields)) for r, lead_id, fields in rows]


def unfinished(c: sqlite3.Connection) -> int:
    """``LedgerStore.unfinished`` inside a caller's transaction."""
    return int(
        c.execute(
            "SELECT COUNT(*) FROM records r WHERE NOT EXISTS "
            "(SELECT 1 FROM outcomes o WHERE o.record = r.record)"
        ).fetchone()[0]
    )


def last_record(c: sqlite3.Connection) -> int:
    """``LedgerStore.last_record`` inside a caller's transaction."""
    return int(c.execute("SELECT COALESCE(MAX(record), 0) FROM records").fetchone()[0])


def last_input(c: sqlite3.Connection) -> int | None:
    """``LedgerStore.last_input`` inside a caller's transaction."""
    row = c.execute("SELECT MAX(input) FROM inputs").fetchone()
    return None if row[0] is None else int(row[0])


def _resolve(
    c: sqlite3.Connection, checked: CheckedRecord, input_id: int, position: int
) -> tuple[int, Submission, str]:
    """The record a row belongs to, inserted if it is new, and what submitting it did."""
    lead_id, content = checked.lead_id, checked.fingerprint
    same = c.execute(
        "SELECT record FROM records WHERE lead_id = ? AND fingerprint = ?", (lead_id, content)
    ).fetchone()
    if same is not None:
        return int(same[0]), Submission.KNOWN, ""
    owner = c.execute(
        "SELECT record FROM records WHERE lead_id = ? ORDER BY record LIMIT 1", (lead_id,)
    ).fetchone()
    # Only a valid record claims its email: a corrected copy of an invalid one is no
    # duplicate of it.
    email = checked.email if owner is None else None
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
                json.dumps(dict(checked.fields), ensure_ascii=False),
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
    """Settle a record refused at the door: it is never admitted, so its outcome is written
    with it, in the same transaction."""
    at = datetime.now(UTC).isoformat()
    c.execute(
        "INSERT INTO outcomes VALUES (?, ?, ?, ?, ?)",
        (record, lead_id, Outcome.REJECTED.value, reason, at),
    )
