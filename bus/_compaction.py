"""Compaction: a finished lead's messages, kept as its story instead of whole.

A finished lead needs its messages no more: its outcome is in the ledger, its review
item and dead letter keep their own copies, and its drift figures are in the profile.
What is still read is its story, for ``trace``: who sent what, when, why, to whom. So
compaction replaces a trace's rows with one row of ``compacted``: every entry's envelope
fields, its deliveries and one line describing its message, as zlib-compressed JSON (a
few hundred bytes a message instead of a few kB). Messages of ``KEEP_KINDS`` stay whole
(resume reads accepted leads to spot duplicates); every delivery row goes.

A trace with a delivery not yet acked is never compacted: it is work in flight. A trace
compacted before and then resumed (a reviewer approved it) is compacted again with its
earlier story merged in.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from bus._entry import JournalEntry
from messages import Message

COMPACTED_SCHEMA = """
CREATE TABLE IF NOT EXISTS compacted (
    trace_id TEXT PRIMARY KEY,
    story BLOB NOT NULL
) WITHOUT ROWID
"""
KEEP_KINDS = ("lead_accepted",)
"""Messages a compacted trace keeps whole: resume reads them to spot duplicate leads."""

Describe = Callable[[Message], str]


def compact_trace(
    c: sqlite3.Connection, trace_id: str, entries: list[JournalEntry], describe: Describe
) -> int:
    """Replace ``trace_id``'s rows with its story; the number of message rows removed.

    ``entries`` is the trace as ``SqliteJournal.trace`` reads it (story merged in).
    Returns 0, and changes nothing, when a delivery of the trace is not acked.
    """
    if any(not acked for entry in entries for _, acked in entry.deliveries):
        return 0
    live = [entry for entry in entries if entry.message is not None]
    if not live:
        return 0  # compacted already, and nothing new since
    story = [_to_json(entry, describe) for entry in entries]
    packed = zlib.compress(json.dumps(story, separators=(",", ":")).encode(), 9)
    c.execute(
        "INSERT OR REPLACE INTO compacted (trace_id, story) VALUES (?, ?)", (trace_id, packed)
    )
    ids = [entry.message_id for entry in live]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        c.execute(f"DELETE FROM deliveries WHERE message_id IN ({marks})", chunk)
    kept = ", ".join("?" * len(KEEP_KINDS))
    removed = c.execute(
        f"DELETE FROM messages WHERE trace_id = ? AND kind NOT IN ({kept})",
        (trace_id, *KEEP_KINDS),
    ).rowcount
    return int(removed)


def merge_story(
    c: sqlite3.Connection, trace_id: str, live: list[JournalEntry]
) -> list[JournalEntry]:
    """``live`` entries and the trace's compacted story, as one list in journal order."""
    row = c.execute("SELECT story FROM compacted WHERE trace_id = ?", (trace_id,)).fetchone()
    if row is None:
        return live
    told = [_from_json(item) for item in json.loads(zlib.decompress(row[0]))]
    known = {entry.message_id for entry in told}
    return sorted([*told, *(e for e in live if e.message_id not in known)], key=lambda e: e.seq)


def _to_json(entry: JournalEntry, describe: Describe) -> dict[str, Any]:
    detail = describe(entry.message) if entry.message is not None else entry.detail
    return {
        "seq": entry.seq,
        "id": entry.message_id,
        "cause": entry.causation_id,
        "kind": entry.kind,
        "producer": entry.producer,
        "attempt": entry.attempt,
        "approved": entry.approved,
        "at": entry.created_at.isoformat(),
        "detail": detail or "",
        "to": [[subscriber, acked] for subscriber, acked in entry.deliveries],
    }


def _from_json(item: dict[str, Any]) -> JournalEntry:
    return JournalEntry(
        seq=item["seq"],
        message_id=item["id"],
        causation_id=item["cause"],
        kind=item["kind"],
        producer=item["producer"],
        attempt=item["attempt"],
        approved=item["approved"],
        created_at=datetime.fromisoformat(item["at"]),
        deliveries=tuple((str(s), bool(a)) for s, a in item["to"]),
        detail=item["detail"],
    )


def traces_in(c: sqlite3.Connection, trace_ids: Sequence[str]) -> list[str]:
    """Those of ``trace_ids`` that have message rows not yet compacted."""
    found: list[str] = []
    for start in range(0, len(trace_ids), 500):
        chunk = list(trace_ids[start : start + 500])
        marks = ", ".join("?" * len(chunk))
        found += [
            str(t)
            for (t,) in c.execute(
                f"SELECT DISTINCT trace_id FROM messages WHERE trace_id IN ({marks})", chunk
            )
        ]
    return found


def uncompacted(c: sqlite3.Connection, trace_ids: Sequence[str]) -> list[str]:
    """Those of ``trace_ids`` with message rows compaction would remove."""
    kept = ", ".join("?" * len(KEEP_KINDS))
    found: list[str] = []
    for start in range(0, len(trace_ids), 500):
        chunk = list(trace_ids[start : start + 500])
        marks = ", ".join("?" * len(chunk))
        found += [
            str(t)
            for (t,) in c.execute(
                f"SELECT DISTINCT trace_id FROM messages WHERE trace_id IN ({marks}) "
                f"AND kind NOT IN ({kept})",
                [*chunk, *KEEP_KINDS],
            )
        ]
    return found


def traces_between(c: sqlite3.Connection, after: int, upto: int) -> list[str]:
    """The traces of messages ``after < seq <= upto`` that compaction would remove."""
    kept = ", ".join("?" * len(KEEP_KINDS))
    rows = c.execute(
        "SELECT DISTINCT trace_id FROM messages WHERE seq > ? AND seq <= ? "
        f"AND kind NOT IN ({kept})",
        (after, upto, *KEEP_KINDS),
    )
    return [str(t) for (t,) in rows]
