"""The run directory's stores, opened together and closed together."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from actors import (
    DeadLetterStore,
    LedgerStore,
    ReviewStore,
    SqliteCrm,
    SqliteResearchStore,
    UsageStore,
)
from actors.webhooks import WebhookStore
from bus import SqliteJournal
from messages import CrmUpdated, Outcome

JOURNAL_FILE = "journal.sqlite"
CRM_FILE = "crm.sqlite"
IN_CRM = (Outcome.COMPLETED, Outcome.DISQUALIFIED)
"""The outcomes whose leads have a CRM row."""
CRM_UPDATED = "crm_updated"


@dataclass(frozen=True, slots=True)
class Stores:
    """Every store of one run directory."""

    ledger: LedgerStore
    journal: SqliteJournal | None
    crm: SqliteCrm
    review: ReviewStore
    dead: DeadLetterStore
    webhooks: WebhookStore
    research: SqliteResearchStore
    """Validated research of companies, reused by their other leads."""
    usage: UsageStore
    """What the LLM calls made on this directory used and cost."""

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
            webhooks=WebhookStore(ledger.db),
            research=SqliteResearchStore(ledger.db),
            usage=UsageStore(ledger.db),
        )

    def settle_crm(self) -> int:
        """Remove the CRM rows of leads with no outcome that has one, and count them.

        The CRM is a file of its own, so its row is written before the outcome, not with
        it: a crash in between leaves a row for a lead still pending. Such a lead runs
        again and writes its row again when it finishes, unless the CRM had already
        announced the row (``CrmUpdated`` is in the journal): then that announcement is
        redelivered, the outcome follows, and the row stays.
        """
        rows = self.crm.leads()
        stray = {record: rows[record] for record in rows.keys() - self.ledger.records_with(IN_CRM)}
        if stray and self.journal is not None:
            announced = self.journal.envelopes(
                kinds=(CRM_UPDATED,), trace_ids=sorted(set(stray.values()))
            )
            settling = {e.message.lead_id for e in announced if isinstance(e.message, CrmUpdated)}
            stray = {record: lead for record, lead in stray.items() if lead not in settling}
        if stray:
            self.crm.remove(stray)
        return len(stray)

    def close(self) -> None:
        stores = (
            self.ledger,
            self.journal,
            self.crm,
            self.review,
            self.dead,
            self.webhooks,
            self.research,
            self.usage,
        )
        for store in stores:
            if store is not None:
                store.close()
