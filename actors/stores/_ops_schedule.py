"""Operations' retry schedule: when a machine failure is retried by itself, kept in
``journal.sqlite`` beside the dead letters, so that it survives restarts and ``kill -9``.

A lead's schedule counts its automatic retries and holds when the next one is due; the
next failure of the lead schedules the one after, later each time, until the schedule is
spent. Whichever process owns the run directory runs the retries that are due.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import final

from messages import UsageError

SCHEDULE_SCHEMA = """
CREATE TABLE IF NOT EXISTS ops_schedule (
    record INTEGER PRIMARY KEY,
    retries INTEGER NOT NULL DEFAULT 0,
    due_at TEXT
);
"""
"""One row per lead that ever failed: automatic retries made, and when the next is due
(UTC, ISO 8601; NULL when none is scheduled)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@final
@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """How often, and how long after a failure, Operations retries a lead by itself.

    The first retry waits about ``first_s``, each next one ``factor`` times longer, up to
    ``max_s``; each delay is spread by up to ``jitter`` either way, so that leads that
    failed together (a provider outage) are not retried all at once.
    """

    retries: int = 4
    """Automatic retries at most (``--ops-retry``); 0 for none."""
    first_s: float = 60.0
    factor: float = 5.0
    max_s: float = 6 * 3600.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise UsageError(f"retries={self.retries!r} must be >= 0; 0 retries nothing")
        if self.first_s < 0 or self.max_s < self.first_s or self.factor < 1:
            raise UsageError(
                f"first_s={self.first_s!r}, factor={self.factor!r} and max_s={self.max_s!r} "
                "must satisfy 0 <= first_s <= max_s and factor >= 1"
            )
        if not 0 <= self.jitter < 1:
            raise UsageError(f"jitter={self.jitter!r} must be within 0 (none) and 1")

    def delay(self, retry: int, rng: random.Random) -> float:
        """Seconds from a failure to automatic retry number ``retry`` (1 for the first)."""
        base = min(self.first_s * self.factor ** (retry - 1), self.max_s)
        return base * (1 + rng.uniform(-self.jitter, self.jitter))


@final
@dataclass(frozen=True, slots=True)
class Due:
    """A lead's schedule after a failure."""

    retries: int
    """Automatic retries it has had."""
    of: int
    """Automatic retries it may have in all."""
    at: datetime | None
    """When the next is due; ``None`` once the schedule is spent."""


def schedule_next(
    c: sqlite3.Connection,
    record: int,
    schedule: RetrySchedule,
    now: datetime,
    rng: random.Random,
) -> Due:
    """Schedule the next automatic retry of a lead that just failed, in a caller's
    transaction, and say when it is due (or that its schedule is spent)."""
    row = c.execute("SELECT retries FROM ops_schedule WHERE record = ?", (record,)).fetchone()
    done = 0 if row is None else int(row[0])
    at = None
    if done < schedule.retries:
        at = now + timedelta(seconds=schedule.delay(done + 1, rng))
    c.execute(
        "INSERT INTO ops_schedule (record, retries, due_at) VALUES (?, ?, ?) "
        "ON CONFLICT(record) DO UPDATE SET due_at = excluded.due_at",
        (record, done, None if at is None else at.isoformat()),
    )
    return Due(retries=done, of=schedule.retries, at=at)


def unschedule(c: sqlite3.Connection, record: int, *, automatic: bool) -> None:
    """A retry of the lead starts: nothing more is due until it fails again; an automatic
    one counts against its schedule, in a caller's transaction."""
    c.execute(
        "UPDATE ops_schedule SET due_at = NULL, retries = retries + ? WHERE record = ?",
        (int(automatic), record),
    )
