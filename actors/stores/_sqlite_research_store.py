"""Validated research of companies, kept in the run directory's ``journal.sqlite``.

One row per company, evidence digest and prompt version: the research as zlib-compressed
JSON (without the reply it was parsed from), the lead it was made for, and when. Rows
older than the reuse TTL are never read; they are removed as newer research is kept.
"""

from __future__ import annotations

import sqlite3
import zlib
from pathlib import Path
from typing import final

from actors.stores._research_store import ResearchKey
from bus import SqliteFile
from messages import ResearchResult

_SCHEMA = """
CREATE TABLE IF NOT EXISTS company_research (
    domain TEXT NOT NULL,
    digest TEXT NOT NULL,
    prompt TEXT NOT NULL,
    lead_id TEXT NOT NULL,
    research BLOB NOT NULL,
    researched_at REAL NOT NULL,
    UNIQUE (domain, digest, prompt)
);
CREATE INDEX IF NOT EXISTS company_research_by_age ON company_research (researched_at);
"""


@final
class SqliteResearchStore:
    """A ``ResearchStore`` in ``journal.sqlite``, shared with the journal's connection."""

    def __init__(self, path: Path | SqliteFile) -> None:
        self.db = SqliteFile.open(path, _SCHEMA)

    async def find(self, key: ResearchKey, *, since: float) -> ResearchResult | None:
        row = await self.db.run(lambda c: _find(c, key, since))
        return ResearchResult.model_validate_json(zlib.decompress(row)) if row is not None else None

    async def keep(
        self, key: ResearchKey, research: ResearchResult, *, at: float, stale: float
    ) -> None:
        # The reply it was parsed from stays in the journal of the lead that made it.
        body = zlib.compress(
            research.model_copy(update={"raw_reply": None}).model_dump_json().encode()
        )
        lead_id = research.lead.lead_id
        await self.db.run(lambda c: _keep(c, key, lead_id, body, at, stale))

    def count(self) -> int:
        """Rows kept (fresh or not): for tests and tools."""
        return int(self.db.run_sync(lambda c: c.execute(_COUNT).fetchone()[0]))

    def close(self) -> None:
        self.db.close()


_COUNT = "SELECT COUNT(*) FROM company_research"
_FORGET = "DELETE FROM company_research WHERE researched_at < ?"


def _find(c: sqlite3.Connection, key: ResearchKey, since: float) -> bytes | None:
    row = c.execute(
        "SELECT research FROM company_research WHERE domain = ? AND digest = ? AND prompt = ? "
        "AND researched_at >= ?",
        (key.domain, key.digest, key.prompt, since),
    ).fetchone()
    return bytes(row[0]) if row is not None else None


def _keep(
    c: sqlite3.Connection, key: ResearchKey, lead_id: str, body: bytes, at: float, stale: float
) -> None:
    c.execute(_FORGET, (stale,))
    c.execute(
        "INSERT OR REPLACE INTO company_research "
        "(domain, digest, prompt, lead_id, research, researched_at) VALUES (?, ?, ?, ?, ?, ?)",
        (key.domain, key.digest, key.prompt, lead_id, body, at),
    )
