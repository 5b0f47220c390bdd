"""A SQLite file used from async code: one connection, one writer, calls in a worker thread."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, final

import anyio

T = TypeVar("T")


@final
class SqliteFile:
    """One SQLite database in WAL mode, whose calls run in a worker thread one at a time.

    SQLite allows one writer; serialising here turns would-be lock errors into a
    short queue, and keeps the event loop free while the disk works. Two stores on one
    file share one ``SqliteFile`` (see ``share``): two connections would contend for the
    file's lock, and SQLite's busy handler waits by sleeping, for milliseconds at a time.
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
        # run_sync may be called on the event loop while a worker thread is inside run:
        # one transaction at a time on the shared connection.
        self._lock = threading.Lock()
        self._users = 1

    @classmethod
    def open(cls, target: Path | SqliteFile, schema: str) -> SqliteFile:
        """The store's file: ``target`` itself, shared, if it is open already, else a new one."""
        return target.share(schema) if isinstance(target, SqliteFile) else cls(target, schema)

    def share(self, schema: str) -> SqliteFile:
        """This file for one more store: its tables are created, and ``close`` waits for it."""
        with self._lock:
            self._connection.executescript(schema)
        self._users += 1
        return self

    def run_sync(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` now, in this thread, inside a transaction (for start-up and tools)."""
        with self._lock:
            return self._transaction(work)

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        connection = self._connection
        # The connection autocommits (isolation_level=None), and there ``with connection``
        # opens no transaction: every row of an executemany would be its own commit,
        # which is slow and would split a handler's effects from its ack. A deferred
        # BEGIN keeps readers off the write lock; every writer here writes first, so it
        # takes the lock under the busy timeout, as a single statement did before.
        connection.execute("BEGIN")
        try:
            result = work(connection)
        except BaseException:
            connection.rollback()
            raise
        connection.commit()
        return result

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in a worker thread, inside a transaction."""
        return await anyio.to_thread.run_sync(self.run_sync, work, limiter=self._limiter)

    def close(self) -> None:
        """Close the connection once every store that shares it has closed it."""
        self._users -= 1
        if self._users == 0:
            self._connection.close()
