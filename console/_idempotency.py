"""``Idempotency-Key``: the same key and body answer the same response again; the same key
with another body is refused (409).

The key is taken in the transaction that submits the leads (``KeyClaim``, a ``Claim``), so
of concurrent requests with one key exactly one submits; the others find it taken.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import final

from actors import Receipt
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


KEY_LIMIT = 255
"""Characters an ``Idempotency-Key`` may have."""


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

    def close(self) -> None:
        self.db.close()


@final
class KeyClaim:
    """An ``Idempotency-Key`` taken in the transaction that submits a request's leads.

    ``claim`` finds the key free, or keeps what it was stored with in ``stored``;
    ``settle`` stores the answer (``answer`` of the receipts) under the key.
    """

    def __init__(self, key: str, body: bytes, answer: Callable[[list[Receipt]], str]) -> None:
        self.key = key
        self.body_sha256 = digest(body)
        self.answer = answer
        self.stored: Stored | None = None

    def claim(self, c: sqlite3.Connection) -> bool:
        row = c.execute(
            "SELECT body_sha256, status, response FROM idempotency WHERE key = ?", (self.key,)
        ).fetchone()
        if row is not None:
            self.stored = Stored(str(row[0]), int(row[1]), str(row[2]))
        return row is None

    def settle(self, c: sqlite3.Connection, receipts: list[Receipt]) -> None:
        c.execute(
            "INSERT INTO idempotency VALUES (?, ?, ?, ?, ?)",
            (self.key, self.body_sha256, 202, self.answer(receipts), datetime.now(UTC).isoformat()),
        )


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
