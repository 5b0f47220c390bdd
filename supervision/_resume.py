"""Where a stopped lead picks up again: from the journal after a crash or a halt, after a
reviewer's approval, or from a dead letter."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from actors import lineage_of
from bus import SqliteJournal
from messages import (
    DeadLetter,
    Envelope,
    HumanReviewRequested,
    LeadAccepted,
    LeadScore,
    LeadSubmitted,
    Message,
    OutreachDraft,
    ResearchResult,
    record_of,
)
from supervision._system import VALIDATOR

REVIEWER = "reviewer"


@dataclass(frozen=True, slots=True)
class Resumption:
    """What a run must do first for the records an earlier run left unfinished."""

    redeliveries: dict[int, list[tuple[Envelope[Message], str]]]
    """Per unfinished record, the journaled deliveries that were never acked, oldest first."""
    loose: list[tuple[Envelope[Message], str]]
    """Unacked deliveries about no unfinished record (counters, finished leads)."""
    restarts: dict[int, Envelope[Message]]
    """Per record with nothing in flight, the envelope that picks its lead up again."""
    seen: dict[str, int]
    """Lead ids and emails of every lead accepted so far, for duplicate checks."""

    @property
    def records(self) -> set[int]:
        return set(self.redeliveries) | set(self.restarts)


def plan_resumption(journal: SqliteJournal, done: set[int]) -> Resumption:
    """Read the journal and decide how each unfinished record carries on.

    A record with unacked deliveries gets exactly those again: the work a crash cut
    short. A record that was submitted but has nothing in flight (its run was halted)
    restarts from its latest approved output, so no finished stage is paid for twice.
    """
    redeliveries: dict[int, list[tuple[Envelope[Message], str]]] = defaultdict(list)
    loose: list[tuple[Envelope[Message], str]] = []
    for envelope, subscriber in journal.pending():
        record = _record(envelope)
        if record is not None and record not in done:
            redeliveries[record].append((envelope, subscriber))
        else:
            loose.append((envelope, subscriber))

    latest: dict[int, Envelope[Message]] = {}
    seen: dict[str, int] = {}
    kinds = ["lead_submitted", "lead_accepted", "research_result", "lead_score", "outreach_draft"]
    for envelope in journal.envelopes(kinds=kinds):
        message = envelope.message
        if isinstance(message, LeadAccepted):
            seen.setdefault(message.lead.lead_id, message.lead.record)
            seen.setdefault(message.lead.email, message.lead.record)
        record = _record(envelope)
        if record is None or record in done or record in redeliveries:
            continue
        if _rank(envelope) >= _rank(latest.get(record)):
            latest[record] = envelope
    restarts = {record: envelope.resent() for record, envelope in latest.items()}
    return Resumption(dict(redeliveries), loose, restarts, seen)


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


def approval_envelope(request: HumanReviewRequested) -> Envelope[Message]:
    """The envelope that resumes a reviewed lead where it stopped.

    The reviewer stands in for the validator: an output they approve is published as
    approved, so it goes on exactly as if it had passed (a draft to the CRM, a score to
    drafting, research to scoring). With no output to approve, the stage runs again from
    its approved input, or from the lead itself for research.
    """
    trace_id = request.lead.lead_id
    if request.last_output is not None:
        return Envelope(
            message=request.last_output, producer=VALIDATOR, trace_id=trace_id, approved=True
        )
    if request.stage_input is not None:
        return Envelope(
            message=request.stage_input, producer=VALIDATOR, trace_id=trace_id, approved=True
        )
    return Envelope(message=LeadAccepted(lead=request.lead), producer=REVIEWER, trace_id=trace_id)


def replay_envelope(payload: str) -> Envelope[Message]:
    """A fresh copy of a dead letter's envelope: same message, producer and approval."""
    return Envelope.from_json(payload).resent()
