"""A SQLite file used from async code: one connection, one writer, calls in a worker thread."""

from __future__ import annotations

import errno
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast, final

import anyio
from anyio import CancelScope
from anyio.lowlevel import checkpoint

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


@dataclass(eq=False, slots=True)
class _Call:
    """One ``SqliteFile.run``: its work, and what came of it."""

    work: Callable[[sqlite3.Connection], object]
    trip: anyio.Event | None = None
    """Set when the call is taken to the thread: the trip's end, which it waits for."""
    done: bool = False
    result: object = None
    error: BaseException | None = None


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
        self._queued: list[_Call] = []
        self._trip: anyio.Event | None = None
        """The end of the trip to the thread under way, if one is."""
        self.trips = 0
        """Trips to the worker thread made by ``run``."""

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
        """Run ``work`` in a worker thread, inside a transaction.

        Calls made while another is in the thread, or in the same turn of the event loop,
        go together in one trip to the thread and one transaction, each in a savepoint of
        its own: a call that raises undoes its own writes alone. Each trip costs the event
        loop far more than a short transaction. A call cancelled before its trip begins
        never runs; once begun, its transaction finishes before the cancellation goes on.
        """
        call = _Call(work)
        self._queued.append(call)
        try:
            while call.trip is None:
                if self._trip is None:
                    await self._make_trip()
                else:
                    await self._trip.wait()
            if not call.done:
                await call.trip.wait()
        except BaseException:
            if call.trip is None:
                self._queued.remove(call)
            else:
                with CancelScope(shield=True):
                    await call.trip.wait()
            raise
        if call.error is not None:
            raise call.error
        return cast(T, call.result)

    async def _make_trip(self) -> None:
        """Take every queued call to the thread, after a turn that lets others queue theirs."""
        self._trip = trip = anyio.Event()
        try:
            await checkpoint()
            calls, self._queued = self._queued, []
            for call in calls:
                call.trip = trip
            self.trips += 1
            await anyio.to_thread.run_sync(self._run_calls, calls, limiter=self._limiter)
        finally:
            self._trip = None
            trip.set()

    def _run_calls(self, calls: list[_Call]) -> None:
        with self._lock:
            if len(calls) == 1:
                [call] = calls
                try:
                    call.result = self._transaction(call.work)
                except BaseException as exc:
                    call.error = exc
            else:
                self._savepoints(calls)
        for call in calls:
            call.done = True

    def _savepoints(self, calls: list[_Call]) -> None:
        """Every call in one transaction, each in its own savepoint."""
        connection = self._connection
        connection.execute("BEGIN")
        try:
            for call in calls:
                connection.execute("SAVEPOINT call")
                try:
                    call.result = call.work(connection)
                except BaseException as exc:
                    connection.execute("ROLLBACK TO call")
                    call.error = exc
                connection.execute("RELEASE call")
            connection.commit()
        except BaseException as exc:
            connection.rollback()
            for call in calls:
                call.result = None
                call.error = call.error or exc

    def close(self) -> None:
        """Close the connection once every store that shares it has closed it."""
        self._users -= 1
        if self._users == 0:
            self._connection.close()
