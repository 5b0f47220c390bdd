"""The CRM as a SQLite file: ``crm.sqlite``, one row per lead, written idempotently."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, final

from actors.stores._crm_query import CrmPage, CrmQuery, rows_of, search
from actors.stores._crm_row import CrmRow
from bus import SqliteFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
    lead_id TEXT PRIMARY KEY,
    record INTEGER NOT NULL,
    email TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    company TEXT NOT NULL,
    domain TEXT NOT NULL,
    outcome TEXT NOT NULL,
    fit TEXT NOT NULL,
    score INTEGER NOT NULL,
    icp_score INTEGER NOT NULL,
    confidence REAL NOT NULL,
    draft_subject TEXT,
    draft_body TEXT,
    updated_at TEXT NOT NULL
);
"""


@final
class SqliteCrm:
    """The CRM as ``crm.sqlite``, table ``contacts`` keyed by ``lead_id``."""

    def __init__(self, path: Path) -> None:
        self.db = SqliteFile(path, _SCHEMA)

    async def upsert(self, row: CrmRow) -> None:
        values = (
            row.lead_id,
            row.record,
            row.email,
            row.first_name,
            row.last_name,
            row.company,
            row.domain,
            row.outcome.value,
            row.fit.value,
            row.score,
            row.icp_score,
            row.confidence,
            row.draft_subject,
            row.draft_body,
            datetime.now(UTC).isoformat(),
        )
        await self.db.run(
            lambda c: c.execute(
                "INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(lead_id) DO UPDATE SET record=excluded.record, email=excluded.email, "
                "first_name=excluded.first_name, last_name=excluded.last_name, "
                "company=excluded.company, domain=excluded.domain, outcome=excluded.outcome, "
                "fit=excluded.fit, score=excluded.score, icp_score=excluded.icp_score, "
                "confidence=excluded.confidence, draft_subject=excluded.draft_subject, "
                "draft_body=excluded.draft_body, updated_at=excluded.updated_at",
                values,
            )
        )

    def rows(self) -> list[dict[str, Any]]:
        return self.db.run_sync(
            lambda c: rows_of(c.execute("SELECT * FROM contacts ORDER BY record"))
        )

    def search(self, query: CrmQuery) -> CrmPage:
        """One page of rows: filtered, searched and sorted as ``query`` says."""
        return self.db.run_sync(lambda c: search(c, query))

    def row(self, lead_id: str) -> dict[str, Any] | None:
        """One lead's row, if the CRM has it."""

        found = self.db.run_sync(
            lambda c: rows_of(c.execute("SELECT * FROM contacts WHERE lead_id = ?", (lead_id,)))
        )
        return found[0] if found else None

    def leads(self) -> dict[int, str]:
        """The lead id of every row, by record number."""
        rows = self.db.run_sync(
            lambda c: c.execute("SELECT record, lead_id FROM contacts").fetchall()
        )
        return {int(record): str(lead_id) for record, lead_id in rows}

    def remove(self, records: Collection[int]) -> None:
        """Delete the rows of ``records``, in one transaction."""
        self.db.run_sync(
            lambda c: c.executemany(
                "DELETE FROM contacts WHERE record = ?", [(record,) for record in records]
            )
        )

    def close(self) -> None:
        self.db.close()
