"""How a stopped lead starts again: after a reviewer's approval, or from a dead letter."""

from __future__ import annotations

from messages import Envelope, HumanReviewRequested, LeadAccepted, Message

VALIDATOR = "validator"
REVIEWER = "reviewer"


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
    original = Envelope.from_json(payload)
    return Envelope(
        message=original.message,
        producer=original.producer,
        trace_id=original.trace_id,
        attempt=original.attempt,
        approved=original.approved,
    )
