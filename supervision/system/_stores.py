"""The run directory's stores, opened together and closed together."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from actors import DeadLetterStore, LedgerStore, ReviewStore, SqliteCrm
from bus import SqliteJournal

JOURNAL_FILE = "journal.sqlite"
CRM_FILE = "crm.sqlite"


@dataclass(frozen=True, slots=True)
class Stores:
    """Every store of one run directory."""

    ledger: LedgerStore
    journal: SqliteJournal | None
    crm: SqliteCrm
    review: ReviewStore
    dead: DeadLetterStore

    @staticmethod
    def open(out: Path, *, journal: bool = True) -> Stores:
        # The journal first: it checks the file's schema version before any table is
        # touched. One file and one connection for all but the CRM: their writes never
        # contend for its lock, and an operator's action changes the review queue, the
        # dead letters and the outcome in one transaction.
        journaled = SqliteJournal(out / JOURNAL_FILE) if journal else None
        ledger = LedgerStore(journaled.db if journaled is not None else out / JOURNAL_FILE)
        return Stores(
            ledger=ledger,
            journal=journaled,
            crm=SqliteCrm(out / CRM_FILE),
            review=ReviewStore(ledger.db),
            dead=DeadLetterStore(ledger.db),
        )

    def close(self) -> None:
        for store in (self.ledger, self.journal, self.crm, self.review, self.dead):
            if store is not None:
                store.close()
