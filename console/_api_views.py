"""What the API's reads answer, from the run directory's stores.

These functions block on SQLite; the routes call them in a worker thread.
"""

from __future__ import annotations

from console._models import LeadLine, LeadPage, LeadStatus, RawReplies, TraceStep
from console._raw import raw_replies
from supervision.system import Stores, entry_detail


def lead_status(stores: Stores, lead_id: str) -> LeadStatus | None:
    """A lead's status, CRM row, trace and raw replies, or ``None`` for an unknown lead."""
    row = stores.ledger.find(lead_id)
    if row is None:
        return None
    entries = stores.journal.trace(lead_id) if stores.journal is not None else []
    raw = raw_replies(stores.review.items(lead_id=lead_id), entries)
    return LeadStatus(
        id=row.lead_id,
        record=row.record,
        status=row.outcome,
        reason=row.reason,
        crm=stores.crm.row(lead_id),
        trace=[
            TraceStep(
                kind=e.kind,
                producer=e.producer,
                attempt=e.attempt,
                approved=e.approved,
                at=e.created_at.isoformat(),
                detail=entry_detail(e),
            )
            for e in entries
        ],
        raw_replies=RawReplies(
            research=raw.get("research"), scoring=raw.get("scoring"), writing=raw.get("writing")
        ),
    )


def lead_page(stores: Stores, *, after: int, limit: int, outcome: str | None) -> LeadPage:
    """Up to ``limit`` leads submitted after record ``after``, with ``outcome`` if given."""
    rows = stores.ledger.page(after=after, limit=limit, outcome=outcome)
    return LeadPage(
        leads=[
            LeadLine(id=r.lead_id, record=r.record, status=r.outcome, reason=r.reason) for r in rows
        ],
        next_cursor=rows[-1].record if len(rows) == limit else None,
    )
