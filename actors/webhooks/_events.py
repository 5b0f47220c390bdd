"""Events into the outbox, inside the transaction that writes what they announce.

The outcome ledger and the review queue call these with their own connection, in their
own transaction: the outcome (or the decision) and its deliveries are committed together,
so a crash can lose neither one without the other. An event goes to the endpoints
subscribed to its type at that moment; with none, nothing is written.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime

from actors.intake import check_record
from actors.webhooks._schema import DeliveryStatus, EndpointState
from messages import (
    REVIEW_DECIDED,
    UNANNOUNCED,
    DraftSummary,
    Envelope,
    HumanReviewRequested,
    Lead,
    LeadEventData,
    LeadScore,
    Message,
    Outcome,
    OutreachDraft,
    ReviewEventData,
    ScoreSummary,
    Stage,
    UsageError,
    WebhookEvent,
    new_id,
    outcome_event,
)

Outputs = tuple[ScoreSummary | None, DraftSummary | None]


def announce_outcome(
    c: sqlite3.Connection,
    record: int,
    outcome: Outcome,
    reason: str,
    *,
    score: ScoreSummary | None = None,
    draft: DraftSummary | None = None,
) -> str | None:
    """Queue ``lead.<outcome>`` for its subscribers; the event's id, or ``None`` if none.

    ``score`` and ``draft`` are the outcome's own (the CRM's); without them, the lead's
    review item or dead letter says what it had.
    """
    if outcome in UNANNOUNCED:
        return None
    kind = outcome_event(outcome)
    endpoints = _subscribers(c, kind)
    if not endpoints:
        return None
    lead_id, lead = _lead(c, record)
    if score is None and draft is None:
        score, draft = _review_outputs(c, record) or _letter_outputs(c, record)
    data = LeadEventData(
        record=record,
        lead_id=lead_id,
        outcome=outcome,
        reason=reason,
        lead=lead,
        score=score,
        draft=draft,
    )
    return _queue(c, WebhookEvent(type=kind, timestamp=datetime.now(UTC), data=data), endpoints)


def announce_decision(
    c: sqlite3.Connection, item_id: int, decision: str, note: str, reviewer: str
) -> str | None:
    """Queue ``review.decided`` for a review item; the event's id, or ``None``."""
    endpoints = _subscribers(c, REVIEW_DECIDED)
    if not endpoints:
        return None
    row = c.execute(
        "SELECT record, lead_id, request FROM review WHERE id = ?", (item_id,)
    ).fetchone()
    if row is None:
        return None
    record, lead_id, request_json = row
    request = HumanReviewRequested.model_validate_json(request_json)
    score, draft = _outputs_of(request.last_output, approved=decision == "approved")
    data = ReviewEventData(
        item=item_id,
        record=int(record),
        lead_id=str(lead_id),
        stage=Stage(request.stage),
        decision=decision,
        note=note,
        reviewer=reviewer,
        lead=request.lead,
        score=score,
        draft=draft,
    )
    event = WebhookEvent(type=REVIEW_DECIDED, timestamp=datetime.now(UTC), data=data)
    return _queue(c, event, endpoints)


def _subscribers(c: sqlite3.Connection, kind: str) -> list[int]:
    """The enabled endpoints that take ``kind``."""
    try:
        rows = c.execute(
            "SELECT id, events FROM webhook_endpoints WHERE state = ?",
            (EndpointState.ENABLED.value,),
        ).fetchall()
    except sqlite3.OperationalError as exc:
        # A journal opened without the webhook store (a tool, a test): no endpoint can exist.
        if "no such table" in str(exc):
            return []
        raise
    return [int(i) for i, events in rows if kind in json.loads(events)]


def _queue(c: sqlite3.Connection, event: WebhookEvent, endpoints: list[int]) -> str:
    """Write the event's body once and one pending delivery per endpoint, due now."""
    event_id = f"msg_{new_id()}"
    data = event.data
    record = getattr(data, "record", None)
    lead_id = getattr(data, "lead_id", None)
    c.execute(
        "INSERT INTO webhook_events (id, type, record, lead_id, body, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            event_id,
            event.type,
            record,
            lead_id,
            event.model_dump_json(),
            event.timestamp.isoformat(),
        ),
    )
    now = time.time()
    c.executemany(
        "INSERT INTO webhook_deliveries (event_id, endpoint, status, next_at) VALUES (?, ?, ?, ?)",
        [(event_id, endpoint, DeliveryStatus.PENDING.value, now) for endpoint in endpoints],
    )
    return event_id


def _lead(c: sqlite3.Connection, record: int) -> tuple[str, Lead | None]:
    """The record's lead id, and its lead as intake accepts it (``None`` if it cannot)."""
    row = c.execute("SELECT lead_id, fields FROM records WHERE record = ?", (record,)).fetchone()
    if row is None:
        return "", None
    lead_id, fields = str(row[0]), json.loads(row[1])
    checked = check_record(fields)
    if isinstance(checked, list):
        return lead_id, None
    return lead_id, Lead(lead_id=lead_id, record=record, **checked)


def _review_outputs(c: sqlite3.Connection, record: int) -> Outputs | None:
    """What the record's latest review item holds: the score and draft a person saw."""
    row = c.execute(
        "SELECT request FROM review WHERE record = ? ORDER BY id DESC LIMIT 1", (record,)
    ).fetchone()
    if row is None:
        return None
    request = HumanReviewRequested.model_validate_json(row[0])
    return _outputs_of(request.last_output, approved=False)


def _letter_outputs(c: sqlite3.Connection, record: int) -> Outputs:
    """What the record's latest dead letter's message held, if it was a score or a draft."""
    row = c.execute(
        "SELECT payload FROM dead_letters WHERE record = ? ORDER BY id DESC LIMIT 1", (record,)
    ).fetchone()
    if row is None:
        return None, None
    try:
        message: Message = Envelope.from_json(row[0]).message
    except (UsageError, ValueError):
        return None, None
    if isinstance(message, HumanReviewRequested):
        return _outputs_of(message.last_output, approved=False)
    return _outputs_of(message, approved=False)


def _outputs_of(output: Message | None, *, approved: bool) -> Outputs:
    match output:
        case OutreachDraft():
            return ScoreSummary.of(output.score), DraftSummary.of(output, approved=approved)
        case LeadScore():
            return ScoreSummary.of(output), None
        case _:
            return None, None
