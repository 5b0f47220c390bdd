"""``Idempotency-Key``: the same key and body answer the same response again; the same key
with another body is refused."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import final

from bus import SqliteFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    body_sha256 TEXT NOT NULL,
    status INTEGER NOT NULL,
    response TEXT NOT NULL,
    at TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Stored:
    body_sha256: str
    status: int
    response: str


@final
class IdempotencyStore:
    """Answers by key, in the run directory's journal file."""

    def __init__(self, db: SqliteFile) -> None:
        self.db = db.share(_SCHEMA)

    async def get(self, key: str) -> Stored | None:
        row = await self.db.run(
            lambda c: c.execute(
                "SELECT body_sha256, status, response FROM idempotency WHERE key = ?", (key,)
            ).fetchone()
        )
        return None if row is None else Stored(str(row[0]), int(row[1]), str(row[2]))

    async def put(self, key: str, body: bytes, status: int, response: str) -> None:
        at = datetime.now(UTC).isoformat()

        def write(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT OR IGNORE INTO idempotency VALUES (?, ?, ?, ?, ?)",
                (key, digest(body), status, response, at),
            )

        await self.db.run(write)

    def close(self) -> None:
        self.db.close()


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
