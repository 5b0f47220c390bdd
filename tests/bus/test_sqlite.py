"""SqliteFile.run: concurrent calls share a trip to the thread, each in its own savepoint."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest
from anyio import CancelScope

from bus import SqliteFile

pytestmark = pytest.mark.anyio

SCHEMA = "CREATE TABLE IF NOT EXISTS rows (n INTEGER PRIMARY KEY);"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqliteFile]:
    """A fresh file with one table, closed when the test ends."""
    file = SqliteFile(tmp_path / "file.sqlite", SCHEMA)
    yield file
    file.close()


def insert(n: int) -> Callable[[sqlite3.Connection], int]:
    def work(c: sqlite3.Connection) -> int:
        c.execute("INSERT INTO rows VALUES (?)", (n,))
        return n

    return work


def stored(db: SqliteFile) -> list[int]:
    return [
        n for (n,) in db.run_sync(lambda c: c.execute("SELECT n FROM rows ORDER BY n").fetchall())
    ]


async def test_concurrent_calls_share_one_trip_and_each_gets_its_result(db: SqliteFile) -> None:
    """Three calls made in the same turn go to the thread together, each with its result."""
    results: dict[int, int] = {}

    async def call(n: int) -> None:
        results[n] = await db.run(insert(n))

    async with anyio.create_task_group() as tg:
        for n in range(3):
            tg.start_soon(call, n)
    assert results == {0: 0, 1: 1, 2: 2}
    assert db.trips == 1
    assert stored(db) == [0, 1, 2]


async def test_a_call_that_raises_undoes_its_own_writes_alone(db: SqliteFile) -> None:
    """In a shared trip, a call that raises after writing leaves no row; the others commit."""

    def fails(c: sqlite3.Connection) -> None:
        c.execute("INSERT INTO rows VALUES (99)")
        raise ValueError("no")

    errors: list[BaseException] = []

    async def failing() -> None:
        try:
            await db.run(fails)
        except ValueError as exc:
            errors.append(exc)

    async def call(n: int) -> None:
        await db.run(insert(n))

    async with anyio.create_task_group() as tg:
        tg.start_soon(call, 1)
        tg.start_soon(failing)
        tg.start_soon(call, 2)
    assert db.trips == 1
    assert [str(e) for e in errors] == ["no"]
    assert stored(db) == [1, 2]


async def test_a_call_cancelled_before_its_trip_never_runs(db: SqliteFile) -> None:
    """Cancelled before it reaches the thread, a call writes nothing, and the next one runs."""
    with CancelScope() as scope:
        scope.cancel()
        await db.run(insert(1))
    assert scope.cancelled_caught
    assert await db.run(insert(2)) == 2
    assert stored(db) == [2]
