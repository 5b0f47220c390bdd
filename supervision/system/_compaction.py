"""``compact``: shrink a run directory's journal to the stories of its finished leads."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from actors import PENDING, LedgerStore
from bus import SqliteFile, SqliteJournal
from supervision.system._trace import describe

JOURNAL_FILE = "journal.sqlite"


@dataclass(frozen=True, slots=True)
class Compaction:
    """What ``compact_run`` did, and the journal's size before and after."""

    finished_leads: int
    """Leads whose every record has an outcome: the ones compaction may shrink."""
    compacted: int
    """Leads compacted now (the others were compacted before, or had work in flight)."""
    bytes_before: int
    bytes_after: int

    @property
    def bytes_per_finished_lead(self) -> float:
        return self.bytes_after / self.finished_leads if self.finished_leads else 0.0


def compact_run(out: Path) -> Compaction:
    """Compact every finished lead in ``out``'s journal, then give the space back.

    A lead is finished when every record that carries its id has an outcome; one still
    pending keeps all its messages, so that it resumes exactly as before.
    """
    path = out / JOURNAL_FILE
    before = _size(path)
    db = SqliteFile(path, "")
    try:
        ledger = LedgerStore(db)
        try:
            outcomes: dict[str, set[str]] = defaultdict(set)
            for row in ledger.report():
                outcomes[row.lead_id].add(row.outcome)
        finally:
            ledger.close()
        finished = sorted(lead for lead, seen in outcomes.items() if PENDING not in seen)
        journal = SqliteJournal(db)
        try:
            compacted = journal.compact(finished, describe)
        finally:
            journal.close()
        db.vacuum()
    finally:
        db.close()
    return Compaction(len(finished), compacted, before, _size(path))


def _size(path: Path) -> int:
    """The journal's bytes on disk, its write-ahead log included."""
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
