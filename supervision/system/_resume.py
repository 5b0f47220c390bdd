"""Where a stopped lead picks up again: from the journal after a crash or a halt, or from
a dead letter.

Resuming reads only what unfinished records need. At start, the unacked deliveries (the
work a crash cut short, a window's worth at most); then, as each unfinished record is
admitted, its latest approved output, a batch of records at a time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from actors import StoredRecord, lineage_of
from bus import SqliteJournal
from messages import (
    DeadLetter,
    Envelope,
    LeadAccepted,
    LeadScore,
    LeadSubmitted,
    Message,
    OutreachDraft,
    ResearchResult,
    record_of,
)
from supervision.system._wiring import OPERATOR

Delivery = tuple[Envelope[Message], str]
"""A journaled envelope and the subscriber it was never acked by."""

_KINDS = ("lead_submitted", "lead_accepted", "research_result", "lead_score", "outreach_draft")


@dataclass(frozen=True, slots=True)
class InFlight:
    """The deliveries a crash left unacked, sorted by what they concern."""

    by_record: dict[int, list[Delivery]]
    """Per record, its unacked deliveries, oldest first."""
    loose: list[Delivery]
    """Unacked deliveries about no record (counters), redelivered at start."""


def in_flight(journal: SqliteJournal) -> InFlight:
    """Every unacked delivery in the journal, by record."""
    by_record: dict[int, list[Delivery]] = defaultdict(list)
    loose: list[Delivery] = []
    for envelope, subscriber in journal.pending():
        record = _record(envelope)
        if record is None:
            loose.append((envelope, subscriber))
        else:
            by_record[record].append((envelope, subscriber))
    return InFlight(dict(by_record), loose)


def restarts(
    journal: SqliteJournal | None, records: Sequence[StoredRecord]
) -> dict[int, Envelope[Message]]:
    """For each record, the envelope that picks its lead up again.

    That is its latest approved output, so that no finished stage is paid for twice; or,
    for a record with nothing journaled (submitted, never admitted), its ``LeadSubmitted``.
    """
    latest: dict[int, Envelope[Message]] = {}
    if journal is not None and records:
        by_trace = {stored.lead_id: stored.record for stored in records}
        for envelope in journal.envelopes(kinds=_KINDS, trace_ids=list(by_trace)):
            record = by_trace.get(envelope.trace_id)
            if record is not None and _rank(envelope) >= _rank(latest.get(record)):
                latest[record] = envelope
    plans: dict[int, Envelope[Message]] = {}
    for stored in records:
        found = latest.get(stored.record)
        if found is not None and _rank(found) >= 0:
            plans[stored.record] = found.resent()
        else:
            submitted = LeadSubmitted(
                record=stored.record, lead_id=stored.lead_id, fields=stored.fields
            )
            plans[stored.record] = Envelope.new(
                submitted, producer=OPERATOR, trace_id=stored.lead_id
            )
    return plans


def _record(envelope: Envelope[Message]) -> int | None:
    message = envelope.message
    lineage = lineage_of(message) if isinstance(message, DeadLetter) else record_of(message)
    return lineage[0] if lineage is not None else None


def _rank(envelope: Envelope[Message] | None) -> int:
    """How far along the pipeline an envelope is; unapproved outputs count for nothing."""
    if envelope is None:
        return -1
    match envelope.message:
        case LeadSubmitted():
            return 0
        case LeadAccepted():
            return 1
        case ResearchResult() | LeadScore() | OutreachDraft() if not envelope.approved:
            return -1
        case ResearchResult():
            return 2
        case LeadScore():
            return 3
        case OutreachDraft():
            return 4
        case _:
            return -1


def replay_envelope(payload: str) -> Envelope[Message]:
    """A fresh copy of a dead letter's envelope: same message, producer and approval. For
    a stage's failure that is the ``RetryRequested`` of the lead's next retry."""
    return Envelope.from_json(payload).resent()
