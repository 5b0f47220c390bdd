"""The ledger's tables in ``journal.sqlite``: the inbox's and the outcome ledger's."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from actors import LedgerStore
from bus import JOURNAL_VERSION

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
