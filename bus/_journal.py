"""The durable journal: every message, where it went, and which deliveries were handled.

A handler's effects (the messages it published) and the ack of its input are written in
one transaction, before any effect is delivered. After a crash, a delivery without an
ack is exactly the work that was not done, and nothing else.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, final

import anyio
from anyio import CancelScope
from anyio.lowlevel import checkpoint

from bus._compaction import (
    COMPACTED_SCHEMA,
    Describe,
    compact_trace,
    merge_story,
    traces_between,
    traces_in,
    uncompacted,
)
from bus._entry import JournalEntry
from bus._sqlite import SqliteFile
from messages import Envelope, Message, StorageFailed, redact_known, registry

JOURNAL_VERSION = 2
"""The journal's schema version, kept in the file's ``PRAGMA user_version``.

Bump it with any change to the file's tables (the ledger, review and dead-letter tables
live in it too) or to how a body is stored; a journal of another version is refused with
one line, never read by guessing its format. Version 2: records keyed by lead identity.
"""

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    trace_id TEXT NOT NULL,
    causation_id TEXT,
    kind TEXT NOT NULL,
    producer TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    approved INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_trace ON messages (trace_id, seq);
CREATE TABLE IF NOT EXISTS deliveries (
    message_id TEXT NOT NULL,
    subscriber TEXT NOT NULL,
    acked INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (message_id, subscriber)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pending_deliveries ON deliveries (acked) WHERE acked = 0;
"""
    + COMPACTED_SCHEMA
)


GATHER_TURNS = 3
"""Turns of the event loop a write waits for more commits before it starts."""


@dataclass(frozen=True, slots=True)
class Ack:
    """A subscriber has handled a message: its delivery is done for good."""

    message_id: str
    subscriber: str


Routed = tuple[Envelope[Message], tuple[str, ...]]
"""An envelope and the subscribers it is delivered to."""


class Journal(Protocol):
    """Where the bus records messages before it delivers them."""

    async def commit(self, routed: Sequence[Routed], acks: Sequence[Ack]) -> None:
        """Record ``routed`` and ``acks`` in one durable step; return once it is on disk."""
        ...

    def commit_nowait(self, routed: Sequence[Routed], acks: Sequence[Ack]) -> None:
        """Record ``routed`` and ``acks`` in one durable step now, blocking this thread.

        For ``publish_nowait``, whose caller will not wait: a short write, on the caller's
        thread, of these and whatever else is queued.
        """
        ...

    def defer_ack(self, ack: Ack) -> None:
        """Record an ack with the next write, without waiting for it.

        For a handler that published nothing: if the ack is lost in a crash, the message
        is delivered again, and handling it again changes nothing.
        """
        ...


@dataclass(eq=False, slots=True)
class _Commit:
    messages: list[tuple[object, ...]]
    deliveries: list[tuple[str, str]]
    acks: list[tuple[str, str]]
    written: bool = False
    error: BaseException | None = None


@final
class SqliteJournal:
    """The journal as tables in ``journal.sqlite`` (WAL mode), written by group commit.

    Concurrent commits queue up; whoever finds no write in progress writes the whole
    queue in one transaction, in a worker thread, while the rest wait for it. So a
    busy system pays one disk sync for many handlers, and an idle one pays no delay.
    """

    def __init__(self, path: Path | SqliteFile) -> None:
        self.db = SqliteFile.open(path, "")
        try:
            self.db.run_sync(self._prepare)
        except BaseException:
            self.db.close()
            raise
        self._queue: list[_Commit] = []
        self._writing: anyio.Event | None = None
        self.commits = 0
        self.transactions = 0

    async def commit(self, routed: Sequence[Routed], acks: Sequence[Ack]) -> None:
        item = _item(routed, acks)
        self._queue.append(item)
        while not item.written:
            if self._writing is None:
                self._writing = writing = anyio.Event()
                try:
                    # A few turns of the loop first, so that the tasks the last write woke
                    # queue their commits too: each hand-off to the thread costs the loop
                    # far more than the rows it carries (two fifths fewer transactions, and
                    # a fifth more leads a second, on the peer workload).
                    # One shielded scope for all the turns: entering a cancel scope costs
                    # more than the turn itself.
                    with CancelScope(shield=True):
                        for _ in range(GATHER_TURNS):
                            await checkpoint()
                    batch, self._queue = self._queue, []
                    # Not cancellable: a transaction the thread has begun is finished, so
                    # every caller learns the truth about its own commit.
                    await anyio.to_thread.run_sync(self._write, batch)
                finally:
                    self._writing = None
                    writing.set()
            else:
                await self._writing.wait()
        if item.error is not None:
            raise item.error

    def commit_nowait(self, routed: Sequence[Routed], acks: Sequence[Ack]) -> None:
        item = _item(routed, acks)
        # What is queued goes first, in order; a write in progress in the worker thread
        # holds the file's lock, so this one waits for it rather than overtaking it.
        batch, self._queue = [*self._queue, item], []
        self._write(batch)
        if item.error is not None:
            raise item.error

    def defer_ack(self, ack: Ack) -> None:
        self._queue.append(_Commit([], [], [(ack.message_id, ack.subscriber)]))

    def _write(self, batch: list[_Commit]) -> None:
        messages: list[tuple[object, ...]] = []
        deliveries: list[tuple[str, str]] = []
        acks: list[tuple[str, str]] = []
        for item in batch:
            messages.extend(item.messages)
            deliveries.extend(item.deliveries)
            acks.extend(item.acks)
        try:
            self.db.run_sync(lambda c: _insert(c, messages, deliveries, acks))
        except sqlite3.Error as exc:
            for item in batch:
                item.error = exc
        else:
            self.commits += len(batch)
            self.transactions += 1
        for item in batch:
            item.written = True

    def _prepare(self, c: sqlite3.Connection) -> None:
        """Create the tables of a new journal, or check that this one is of our version."""
        version = c.execute("PRAGMA user_version").fetchone()[0]
        if version == JOURNAL_VERSION:
            # Ready: a reader (trace, report) beside a running service takes no write lock.
            return
        written = c.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages'"
        ).fetchone()
        if version == 0 and written is not None:
            used = c.execute("SELECT 1 FROM messages LIMIT 1").fetchone() is not None
        else:
            used = False
        if version not in (0, JOURNAL_VERSION) or used:
            raise StorageFailed(
                f"{self.db.path}: journal schema version {version}, but this leadwright reads "
                f"version {JOURNAL_VERSION}; use the leadwright that wrote it, or a new --out"
            )
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                c.execute(statement)
        c.execute(f"PRAGMA user_version = {JOURNAL_VERSION}")

    def pending(self) -> list[tuple[Envelope[Message], str]]:
        """Every delivery not acked, oldest first: the work a crash interrupted."""
        rows = self.db.run_sync(
            lambda c: c.execute(
                f"SELECT {_ENVELOPE_COLUMNS}, d.subscriber FROM deliveries d "
                "JOIN messages m ON m.message_id = d.message_id WHERE d.acked = 0 ORDER BY m.seq"
            ).fetchall()
        )
        return [(_envelope(row[:-1]), str(row[-1])) for row in rows]

    def trace(self, trace_id: str) -> list[JournalEntry]:
        """Every message of one trace (one lead), in the order it was journaled."""
        return self.db.run_sync(lambda c: _read_trace(c, trace_id))

    def compact(self, trace_ids: Sequence[str], describe: Describe) -> int:
        """Keep only the story of these finished traces (see ``bus._compaction``).

        Returns how many traces were compacted; one with work in flight is left as it is.
        """
        candidates = self.db.run_sync(lambda c: traces_in(c, trace_ids))
        compacted = 0
        for start in range(0, len(candidates), _TRACES_PER_TRANSACTION):
            chunk = candidates[start : start + _TRACES_PER_TRANSACTION]

            def work(c: sqlite3.Connection, chunk: list[str] = chunk) -> int:
                done = [compact_trace(c, t, _read_trace(c, t), describe) for t in chunk]
                return sum(1 for removed in done if removed)

            compacted += self.db.run_sync(work)
        return compacted

    def uncompacted(self, trace_ids: Sequence[str]) -> list[str]:
        """Those of ``trace_ids`` with messages that compaction would still remove."""
        return self.db.run_sync(lambda c: uncompacted(c, trace_ids))

    def traces_between(self, after: int, upto: int) -> list[str]:
        """The traces of the messages journaled after sequence ``after`` up to ``upto``
        that compaction would remove: a slice of the journal, read by its key."""
        return self.db.run_sync(lambda c: traces_between(c, after, upto))

    def last_seq(self) -> int:
        """The sequence number of the last message journaled (0 when none)."""
        row = self.db.run_sync(lambda c: c.execute("SELECT MAX(seq) FROM messages").fetchone())
        return int(row[0] or 0)

    def envelopes(
        self, *, kinds: Sequence[str], trace_ids: Sequence[str] | None = None
    ) -> list[Envelope[Message]]:
        """Every journaled envelope of the given kinds (of the given traces), oldest first."""
        marks = ", ".join("?" for _ in kinds)
        query = f"SELECT {_ENVELOPE_COLUMNS} FROM messages m WHERE m.kind IN ({marks})"
        params: list[str] = list(kinds)
        if trace_ids is not None:
            query += f" AND m.trace_id IN ({', '.join('?' for _ in trace_ids)})"
            params += trace_ids
        rows = self.db.run_sync(lambda c: c.execute(query + " ORDER BY m.seq", params).fetchall())
        return [_envelope(row) for row in rows]

    def close(self) -> None:
        """Write what is still queued (deferred acks), then close the file."""
        if self._queue:
            batch, self._queue = self._queue, []
            self._write(batch)
        self.db.close()


_TRACES_PER_TRANSACTION = 200
"""Traces compacted per transaction: short enough never to hold the file for long."""


def _read_trace(c: sqlite3.Connection, trace_id: str) -> list[JournalEntry]:
    # The deliveries of the whole trace in one query, not one per message: compaction
    # reads a trace while the journal waits for the file.
    delivered: dict[str, list[tuple[str, bool]]] = {}
    for message_id, subscriber, acked in c.execute(
        "SELECT d.message_id, d.subscriber, d.acked FROM deliveries d "
        "JOIN messages m ON m.message_id = d.message_id WHERE m.trace_id = ?",
        (trace_id,),
    ):
        delivered.setdefault(str(message_id), []).append((str(subscriber), bool(acked)))
    entries = []
    for seq, *row in c.execute(
        f"SELECT m.seq, {_ENVELOPE_COLUMNS} FROM messages m WHERE m.trace_id = ? ORDER BY m.seq",
        (trace_id,),
    ).fetchall():
        envelope = _envelope(tuple(row))
        pairs = sorted(delivered.get(envelope.message_id, []))
        entries.append(JournalEntry.of(seq, envelope, pairs))
    return merge_story(c, trace_id, entries)


def _item(routed: Sequence[Routed], acks: Sequence[Ack]) -> _Commit:
    # Rows are encoded here, on the event loop: the worker thread then only runs SQL,
    # which releases the GIL, instead of competing with the loop for it.
    return _Commit(
        [_row(envelope) for envelope, _ in routed],
        [(envelope.message_id, target) for envelope, targets in routed for target in targets],
        [(ack.message_id, ack.subscriber) for ack in acks],
    )


_ROWS_PER_STATEMENT = 256
"""Rows bound to one statement; 9 columns each stays far below SQLite's variable limit."""


def _insert(
    c: sqlite3.Connection,
    messages: list[tuple[object, ...]],
    deliveries: list[tuple[str, str]],
    acks: list[tuple[str, str]],
) -> None:
    # One multi-row statement per table rather than executemany: the sqlite3 module
    # releases the GIL for every row it steps, and while the event loop is busy each
    # re-acquisition can wait a whole switch interval (5 ms), which made a 1 ms batch
    # take hundreds of milliseconds.
    _execute_rows(
        c,
        "INSERT OR IGNORE INTO messages (message_id, trace_id, causation_id, kind, producer, "
        "attempt, approved, created_at, body) VALUES {}",
        messages,
    )
    _execute_rows(
        c, "INSERT OR IGNORE INTO deliveries (message_id, subscriber) VALUES {}", deliveries
    )
    _execute_rows(
        c,
        "UPDATE deliveries SET acked = 1 FROM (VALUES {}) AS a "
        "WHERE deliveries.message_id = a.column1 AND deliveries.subscriber = a.column2",
        acks,
    )


def _execute_rows(c: sqlite3.Connection, template: str, rows: Sequence[tuple[object, ...]]) -> None:
    """Run ``template`` with its ``{}`` standing for as many ``(?, ...)`` rows as needed."""
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start : start + _ROWS_PER_STATEMENT]
        row = f"({', '.join('?' * len(chunk[0]))})"
        c.execute(
            template.format(", ".join([row] * len(chunk))),
            [value for values in chunk for value in values],
        )


def _row(envelope: Envelope[Message]) -> tuple[object, ...]:
    # The body is the message alone, as pydantic serialises it; the envelope's other
    # fields are columns. Stored as plain JSON: bodies are a few kB, and compressing one
    # cost more (~50 µs, with the GIL released and re-taken) than all the rest of
    # journaling it.
    return (
        envelope.message_id,
        envelope.trace_id,
        envelope.causation_id,
        envelope.kind,
        envelope.producer,
        envelope.attempt,
        int(envelope.approved),
        envelope.created_at.isoformat(),
        # Untrusted text (an LLM reply, a server's error) may echo a secret.
        redact_known(envelope.message_json()),
    )


_ENVELOPE_COLUMNS = (
    "m.message_id, m.trace_id, m.causation_id, m.producer, m.attempt, m.approved, "
    "m.created_at, m.kind, m.body"
)
"""What ``_envelope`` rebuilds an envelope from, in its order."""


def _envelope(row: tuple[Any, ...]) -> Envelope[Message]:
    message_id, trace_id, causation_id, producer, attempt, approved, created_at, kind, body = row
    message_type = registry[str(kind)]
    # Parsed and validated in one pass (pydantic's JSON mode), without a dict between:
    # resume, trace and compaction read many.
    message = message_type.model_validate_json(body, strict=False)
    return Envelope(
        message=message,
        producer=str(producer),
        trace_id=str(trace_id),
        causation_id=causation_id,
        attempt=int(attempt),
        approved=bool(approved),
        message_id=str(message_id),
        created_at=datetime.fromisoformat(created_at),
    )
