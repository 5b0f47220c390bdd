"""A SQLite file used from async code: one connection, one writer, calls in a worker thread."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, final

import anyio

T = TypeVar("T")


@final
class SqliteFile:
    """One SQLite database in WAL mode, whose calls run in a worker thread one at a time.

    SQLite allows one writer; serialising here turns would-be lock errors into a
    short queue, and keeps the event loop free while the disk works.
    """

    def __init__(self, path: Path, schema: str) -> None:
        self.path = path
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        # Two stores may share a file (the ledger and the journal): wait for the lock.
        self._connection.execute("PRAGMA busy_timeout=10000")
        self._connection.executescript(schema)
        self._limiter = anyio.CapacityLimiter(1)

    def run_sync(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` now, in this thread, inside a transaction (for start-up and tools)."""
        with self._connection:
            return work(self._connection)

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in a worker thread, inside a transaction."""
        return await anyio.to_thread.run_sync(self.run_sync, work, limiter=self._limiter)

    def close(self) -> None:
        self._connection.close()
