"""The journal (``bus/_journal.py``): a commit writes its messages, their deliveries and its
acks in one step, concurrent commits share transactions, and a journal of another schema
version is refused in one line."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import anyio
import pytest

from actors import LedgerStore
from bus import JOURNAL_VERSION, Ack, SqliteJournal
from messages import Envelope, LeadOutcome, Outcome, StorageFailed


@pytest.mark.anyio
async def test_journal_commits_effects_with_the_ack(tmp_path: Path) -> None:
    """A commit writes its messages, their deliveries and its ack in one step; pending is exact."""
    journal = SqliteJournal(tmp_path / "journal.sqlite")
    first = Envelope.new(LeadOutcome(record=1, lead_id="L1", outcome=Outcome.FAILED, reason="x"),
                         producer="a", trace_id="L1")  # fmt: skip
    second = first.child(first.message, producer="b")
    await journal.commit([(first, ("ledger", "metrics"))], acks=[])
    assert {(e.message_id, s) for e, s in journal.pending()} == {
        (first.message_id, "ledger"),
        (first.message_id, "metrics"),
    }
    await journal.commit([(second, ("ledger",))], acks=[Ack(first.message_id, "ledger")])
    pending = {(e.message_id, s) for e, s in journal.pending()}
    assert pending == {(first.message_id, "metrics"), (second.message_id, "ledger")}
    [entry, _] = journal.trace("L1")
    assert (entry.message_id, entry.message, entry.created_at) == (
        first.message_id,
        first.message,
        first.created_at,
    )
    journal.close()


def test_a_new_journal_records_its_schema_version(tmp_path: Path) -> None:
    """A journal stamps PRAGMA user_version with JOURNAL_VERSION, and opens again after."""
    path = tmp_path / "journal.sqlite"
    SqliteJournal(path).close()
    with closing(sqlite3.connect(path)) as c:
        assert c.execute("PRAGMA user_version").fetchone() == (JOURNAL_VERSION,)
    SqliteJournal(path).close()


def test_a_journal_opens_while_another_process_holds_its_write_lock(tmp_path: Path) -> None:
    """A reader beside a running service (trace, report, a test) opens the journal and
    reads it while the service is inside a write transaction: opening writes nothing."""
    path = tmp_path / "journal.sqlite"
    SqliteJournal(path).close()
    with closing(sqlite3.connect(path, isolation_level=None)) as writer:
        writer.execute("PRAGMA busy_timeout=0")
        writer.execute("BEGIN IMMEDIATE")
        journal = SqliteJournal(path)
        try:
            assert journal.trace("L1") == []
        finally:
            journal.close()
        writer.execute("ROLLBACK")


@pytest.mark.parametrize("version", [0, JOURNAL_VERSION + 1])
def test_a_journal_of_another_version_is_refused_with_one_line(
    tmp_path: Path, version: int
) -> None:
    """A future version, or an unversioned journal that holds messages, is refused by name."""
    path = tmp_path / "journal.sqlite"
    journal = SqliteJournal(path)
    envelope = Envelope.new(
        LeadOutcome(record=1, lead_id="L1", outcome=Outcome.FAILED, reason="x"),
        producer="a",
        trace_id="L1",
    )
    anyio.run(journal.commit, [(envelope, ("ledger",))], [])
    journal.close()
    with closing(sqlite3.connect(path)) as c:
        c.execute(f"PRAGMA user_version = {version}")
    with pytest.raises(StorageFailed) as caught:
        SqliteJournal(path)
    assert str(caught.value) == (
        f"{path}: journal schema version {version}, but this leadwright reads version "
        f"{JOURNAL_VERSION}; use the leadwright that wrote it, or a new --out"
    )


@pytest.mark.anyio
async def test_concurrent_commits_share_transactions(tmp_path: Path) -> None:
    """Many handlers committing at once are written in fewer transactions than commits."""
    journal = SqliteJournal(tmp_path / "journal.sqlite")
    outcome = LeadOutcome(record=1, lead_id="L1", outcome=Outcome.FAILED, reason="x")
    async with anyio.create_task_group() as tg:
        for _ in range(50):
            tg.start_soon(journal.commit, [(Envelope.new(outcome, producer="p"), ("s",))], [])
    assert journal.commits == 50
    assert journal.transactions < 50
    assert len(journal.pending()) == 50
    journal.close()


def test_stores_sharing_a_file_share_one_connection_until_the_last_closes(tmp_path: Path) -> None:
    """The ledger and the journal on one file write through one connection, closed last."""
    ledger = LedgerStore(tmp_path / "journal.sqlite")
    journal = SqliteJournal(ledger.db)
    assert journal.db is ledger.db
    ledger.close()
    assert journal.pending() == []  # still open for the journal
    journal.close()
    with pytest.raises(sqlite3.ProgrammingError):
        journal.pending()
