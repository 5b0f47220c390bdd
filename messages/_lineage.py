"""Which input record a message is about, whatever its type."""

from __future__ import annotations

from messages._base import Message
from messages._decisions import RetryRequested, ReviewApproved
from messages._leads import LeadAccepted, LeadRejected, LeadSubmitted
from messages._outcomes import HumanReviewRequested, LeadOutcome
from messages._outreach import OutreachDraft
from messages._research import ResearchResult
from messages._scoring import LeadScore
from messages._verdicts import ValidationFailed


def record_of(message: Message) -> tuple[int, str] | None:
    """The ``(record, lead_id)`` a message concerns, or ``None`` if it concerns none."""
    match message:
        case LeadSubmitted() | LeadRejected() | LeadOutcome():
            return message.record, message.lead_id
        case LeadAccepted() | HumanReviewRequested() | RetryRequested() | ReviewApproved():
            return message.lead.record, message.lead.lead_id
        case ResearchResult():
            return message.lead.record, message.lead.lead_id
        case LeadScore() | OutreachDraft():
            return message.lead.record, message.lead.lead_id
        case ValidationFailed():
            return record_of(message.rejected)
        case _:
            return None
