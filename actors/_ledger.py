"""The outcome ledger: every input record, and the one outcome each ends in."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, final

from actors._actor import Actor
from actors._context import Context
from bus import SqliteFile
from messages import LeadOutcome, Outcome, RawValue

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    record INTEGER PRIMARY KEY,
    lead_id TEXT NOT NULL,
    fields TEXT NOT NULL
);
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


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One input record, as ``report`` shows it."""

    record: int
    lead_id: str
    outcome: str
    """An ``Outcome`` value, or ``PENDING`` for a record not finished yet."""
    reason: str


@final
class LedgerStore:
    """Records and outcomes, in the run directory's ``journal.sqlite``."""

    def __init__(self, path: Path | SqliteFile) -> None:
        self.db = SqliteFile.open(path, _SCHEMA)

    async def save_records(self, rows: list[tuple[int, str, dict[str, RawValue]]]) -> None:
        """Remember input records, in one transaction (idempotent: a resumed run adds them
        again)."""
        await self.db.run(lambda c: _insert_records(c, rows))

    async def set_outcome(self, outcome: LeadOutcome) -> bool:
        """Record an outcome; ``False`` if the record had one already.

        The same outcome again is a redelivery and changes nothing; a different one is a
        conflict, kept in ``outcome_conflicts`` so that it can never pass unnoticed.
        """
        at = datetime.now(UTC).isoformat()

        def write(c: Any) -> bool:
            cursor = c.execute(
                "INSERT OR IGNORE INTO outcomes VALUES (?, ?, ?, ?, ?)",
                (outcome.record, outcome.lead_id, outcome.outcome.value, outcome.reason, at),
            )
            if cursor.rowcount == 1:
                return True
            (settled,) = c.execute(
                "SELECT outcome FROM outcomes WHERE record = ?", (outcome.record,)
            ).fetchone()
            if settled == outcome.outcome.value:
                return False
            c.execute(
                "INSERT INTO outcome_conflicts VALUES (?, ?, ?, ?)",
                (outcome.record, outcome.outcome.value, outcome.reason, at),
            )
            return False

        return await self.db.run(write)

    def replace_outcome(self, record: int, outcome: Outcome, reason: str) -> None:
        """Change a settled outcome: a reviewer's decision, or a replay."""
        at = datetime.now(UTC).isoformat()
        self.db.run_sync(
            lambda c: c.execute(
                "UPDATE outcomes SET outcome = ?, reason = ?, at = ? WHERE record = ?",
                (outcome.value, reason, at, record),
            )
        )

    def clear_outcome(self, record: int) -> None:
        """Forget a record's outcome, so that it runs again."""
        self.db.run_sync(lambda c: c.execute("DELETE FROM outcomes WHERE record = ?", (record,)))

    def done_records(self) -> set[int]:
        return {
            r
            for (r,) in self.db.run_sync(
                lambda c: c.execute("SELECT record FROM outcomes").fetchall()
            )
        }

    def seen_keys(self) -> dict[str, int]:
        """Lead ids and emails of finished, accepted records, for duplicate checks on resume."""
        rows = self.db.run_sync(
            lambda c: c.execute(
                "SELECT r.record, r.lead_id, r.fields FROM records r JOIN outcomes o "
                "ON o.record = r.record WHERE o.outcome != 'rejected' ORDER BY r.record"
            ).fetchall()
        )
        seen: dict[str, int] = {}
        for record, lead_id, fields in rows:
            seen.setdefault(lead_id, record)
            email = json.loads(fields).get("email")
            if isinstance(email, str) and email.strip():
                seen.setdefault(email.strip().lower(), record)
        return seen

    def report(self) -> list[ReportRow]:
        """Every known record in input order, with its outcome or ``pending``."""
        rows = self.db.run_sync(
            lambda c: c.execute(
                f"SELECT r.record, r.lead_id, COALESCE(o.outcome, '{PENDING}'), "
                "COALESCE(o.reason, '') "
                "FROM records r LEFT JOIN outcomes o ON o.record = r.record ORDER BY r.record"
            ).fetchall()
        )
        return [ReportRow(*row) for row in rows]

    def counts(self) -> dict[str, int]:
        """How many known records have each outcome, or ``pending``, counted in SQL."""
        rows = self.db.run_sync(
            lambda c: c.execute(
                f"SELECT COALESCE(o.outcome, '{PENDING}'), COUNT(*) FROM records r "
                "LEFT JOIN outcomes o ON o.record = r.record GROUP BY 1"
            ).fetchall()
        )
        return {str(outcome): int(count) for outcome, count in rows}

    def conflicts(self) -> int:
        return int(
            self.db.run_sync(
                lambda c: c.execute("SELECT COUNT(*) FROM outcome_conflicts").fetchone()[0]
            )
        )

    def close(self) -> None:
        self.db.close()


def _insert_records(c: Any, rows: list[tuple[int, str, dict[str, RawValue]]]) -> None:
    c.executemany(
        "INSERT OR IGNORE INTO records VALUES (?, ?, ?)",
        [
            (record, lead_id, json.dumps(fields, ensure_ascii=False))
            for record, lead_id, fields in rows
        ],
    )


@final
class OutcomeLedger(Actor[LeadOutcome]):
    """Writes each record's outcome once, then tells the run (to free an admission slot)."""

    handles = (LeadOutcome,)

    def __init__(
        self, store: LedgerStore, on_outcome: Callable[[LeadOutcome], None], **options: Any
    ) -> None:
        super().__init__(**options)
        self.store = store
        self.on_outcome = on_outcome

    async def handle(self, ctx: Context[LeadOutcome]) -> None:
        outcome = ctx.message
        if await self.store.set_outcome(outcome):
            ctx.log.info(
                "lead_outcome",
                record=outcome.record,
                lead_id=outcome.lead_id,
                outcome=outcome.outcome.value,
                reason=outcome.reason,
            )
            self.on_outcome(outcome)
