"""The ledger (``actors/stores/_ledger.py``): its tables in ``journal.sqlite`` (the inbox's and the
outcome ledger's), and the outcome ledger actor on the test bus, which keeps each record's
first outcome."""

from __future__ import annotations

import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest

from actors import PENDING, LedgerStore, OutcomeLedger
from bus import JOURNAL_VERSION, TestBus
from messages import LeadOutcome, Outcome

TABLES = {
    "records": "CREATE TABLE records ( record INTEGER PRIMARY KEY, lead_id TEXT NOT NULL, "
    "fingerprint TEXT NOT NULL, email TEXT, fields TEXT NOT NULL, input INTEGER NOT NULL, "
    "position INTEGER NOT NULL, UNIQUE (lead_id, fingerprint) )",
    "records_by_email": "CREATE INDEX records_by_email ON records (email) WHERE email IS NOT NULL",
    "inputs": "CREATE TABLE inputs ( input INTEGER PRIMARY KEY, source TEXT NOT NULL, "
    "at TEXT NOT NULL )",
    "input_digests": "CREATE TABLE input_digests ( digest TEXT NOT NULL, "
    "input INTEGER NOT NULL, PRIMARY KEY (digest, input) ) WITHOUT ROWID",
    "submissions": "CREATE TABLE submissions ( input INTEGER NOT NULL, "
    "position INTEGER NOT NULL, record INTEGER NOT NULL, PRIMARY KEY (input, position) ) "
    "WITHOUT ROWID",
    "outcomes": "CREATE TABLE outcomes ( record INTEGER PRIMARY KEY, lead_id TEXT NOT NULL, "
    "outcome TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL )",
    "outcome_conflicts": "CREATE TABLE outcome_conflicts ( record INTEGER NOT NULL, "
    "outcome TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL )",
}
"""The tables and index of journal version 2, as SQLite keeps them (spaces collapsed)."""


def test_a_new_ledger_makes_the_tables_of_this_journal_version(tmp_path: Path) -> None:
    """A ledger on a new file makes exactly the tables of journal version 2, in order: a
    change to any of them needs a new ``JOURNAL_VERSION``."""
    LedgerStore(tmp_path / "journal.sqlite").close()
    with closing(sqlite3.connect(tmp_path / "journal.sqlite")) as c:
        made = c.execute(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
        ).fetchall()
    assert JOURNAL_VERSION == 2
    assert [(name, " ".join(sql.split())) for name, sql in made] == list(TABLES.items())


@pytest.mark.anyio
async def test_ledger_keeps_the_first_outcome_and_logs_a_conflict(tmp_path: Path) -> None:
    """A second outcome for a record is refused, recorded as a conflict, and not reported."""
    store = LedgerStore(tmp_path / "journal.sqlite")
    input_id = await store.open_input("test")
    await store.submit(input_id, [(1, {"id": "L0001", "email": "a@b.co"})])
    heard: list[LeadOutcome] = []
    ledger = OutcomeLedger(store, lambda outcome, first: heard.append(outcome) if first else None)
    bus = TestBus()
    first = LeadOutcome(record=1, lead_id="L0001", outcome=Outcome.COMPLETED, reason="ok")
    await bus.deliver(ledger, first)
    await bus.deliver(ledger, first.model_copy(update={"outcome": Outcome.FAILED}))
    assert heard == [first]
    assert store.conflicts() == 1
    assert [(r.record, r.outcome) for r in store.report()] == [(1, "completed")]
    store.close()


@pytest.mark.anyio
async def test_ledger_counts_outcomes_and_pending_records(tmp_path: Path) -> None:
    """``counts`` is ``report`` tallied: one per record, ``pending`` for those without one."""
    store = LedgerStore(tmp_path / "journal.sqlite")
    input_id = await store.open_input("test")
    await store.submit(input_id, [(n, {"id": f"L{n}", "email": f"{n}@b.co"}) for n in range(1, 5)])
    ledger = OutcomeLedger(store, lambda outcome, first: None)
    bus = TestBus()
    for record, outcome in ((1, Outcome.COMPLETED), (2, Outcome.COMPLETED), (3, Outcome.FAILED)):
        await bus.deliver(
            ledger, LeadOutcome(record=record, lead_id=f"L{record}", outcome=outcome, reason="")
        )
    assert store.counts() == {"completed": 2, "failed": 1, PENDING: 1}
    assert Counter(row.outcome for row in store.report()) == store.counts()
    store.close()


@pytest.mark.anyio
async def test_the_ledger_tells_the_run_of_an_outcome_the_record_already_had(
    tmp_path: Path,
) -> None:
    """An outcome delivered again (or written first by another process) is still handed to
    the run, marked not first, so that the record's admission place is freed."""
    store = LedgerStore(tmp_path / "journal.sqlite")
    input_id = await store.open_input("test")
    await store.submit(input_id, [(1, {"id": "L0001", "email": "a@b.co"})])
    heard: list[tuple[int, bool]] = []
    ledger = OutcomeLedger(store, lambda outcome, first: heard.append((outcome.record, first)))
    bus = TestBus()
    outcome = LeadOutcome(record=1, lead_id="L0001", outcome=Outcome.COMPLETED, reason="ok")
    await bus.deliver(ledger, outcome)
    await bus.deliver(ledger, outcome)
    store.close()
    assert heard == [(1, True), (1, False)]
