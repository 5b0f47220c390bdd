"""A SQLite file used from async code: one connection, one writer, calls in a worker thread."""

from __future__ import annotations

import errno
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar, final

import anyio

from messages import StorageFailed

T = TypeVar("T")

_FULL = (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR)
"""Primary result codes of a write the disk refused (full, over a size limit, failing)."""
_CORRUPT = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
"""Primary result codes of a file that is not a sound SQLite database."""
_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def storage_failure(exc: BaseException, where: Path | str) -> StorageFailed | None:
    """One sentence for a full disk or a corrupt database anywhere in ``exc``, or None.

    ``exc`` may be an exception group, or have the real cause in its chain (a crashed
    actor); ``where`` names the file or the run directory for the operator.
    """
    for found in _causes(exc):
        if isinstance(found, StorageFailed):
            return found
        code = getattr(found, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        if isinstance(found, sqlite3.Error) and primary in _FULL:
            return _full(where, str(found))
        if isinstance(found, OSError) and found.errno in _FULL_ERRNOS:
            return _full(where, found.strerror or str(found))
        if isinstance(found, sqlite3.Error) and primary in _CORRUPT:
            return StorageFailed(
                f"{where}: the database is corrupt ({found}); restore the run directory from "
                "a backup, or start again with a new --out"
            )
    return None


def _full(where: Path | str, detail: str) -> StorageFailed:
    return StorageFailed(
        f"{where}: cannot write ({detail}); free disk space and run the same command "
        "again: what was not finished resumes"
    )


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, the members of every exception group in it, and their causes, depth first."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        found = stack.pop()
        if id(found) in seen:
            continue
        seen.add(id(found))
        yield found
        if isinstance(found, BaseExceptionGroup):
            stack.extend(reversed(found.exceptions))
        for linked in (found.__cause__, found.__context__):
            if linked is not None:
                stack.append(linked)


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
        try:
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=NORMAL")
            # Two stores may share a file (the ledger and the journal): wait for the lock.
            self._connection.execute("PRAGMA busy_timeout=10000")
            self._connection.executescript(schema)
        except sqlite3.Error as exc:
            self._connection.close()
            failure = storage_failure(exc, path)
            if failure is None:
                raise
            raise failure from None
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

    def vacuum(self) -> None:
        """Give the pages of deleted rows back to the file system, and empty the WAL."""
        with self._lock:
            self._connection.execute("VACUUM")
            self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in a worker thread, inside a transaction."""
        return await anyio.to_thread.run_sync(self.run_sync, work, limiter=self._limiter)

    def close(self) -> None:
        """Close the connection once every store that shares it has closed it."""
        self._users -= 1
        if self._users == 0:
            self._connection.close()
