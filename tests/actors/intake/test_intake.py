"""The intake actor on the test bus: accepted leads and rejections (duplicates are the
inbox's, see test_inbox_door.py)."""

from __future__ import annotations

from typing import Any

import pytest

from actors.intake import Intake, lead_id_for
from bus import TestBus
from messages import (
    Lead,
    LeadAccepted,
    LeadOutcome,
    LeadRejected,
    LeadSubmitted,
    Message,
    Outcome,
    RawValue,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def submitted(record: int, **changes: RawValue) -> LeadSubmitted:
    fields: dict[str, RawValue] = {
        "first_name": "Zoë",
        "last_name": "Ørsted",
        "email": "zoe@acme.io",
        "title": "CTO",
        "company": "Acme",
        "domain": "acme.io",
        "industry": "Software",
        "employees": "120",
        "country": "dk",
        "notes": "",
        **changes,
    }
    return LeadSubmitted(record=record, lead_id=lead_id_for(fields), fields=fields)


async def deliver(intake: Intake, message: LeadSubmitted) -> list[Message]:
    return [envelope.message for envelope in await TestBus().deliver(intake, message)]


def rejection(message: LeadSubmitted, *reasons: str) -> list[Any]:
    return [
        LeadRejected(record=message.record, lead_id=message.lead_id, reasons=reasons),
        LeadOutcome(
            record=message.record,
            lead_id=message.lead_id,
            outcome=Outcome.REJECTED,
            reason="; ".join(reasons),
        ),
    ]


async def test_a_valid_record_is_accepted_as_one_lead() -> None:
    """A valid record gives exactly one ``LeadAccepted`` with the cleaned lead."""
    message = submitted(4, id=" L4 ")

    assert await deliver(Intake(), message) == [
        LeadAccepted(
            lead=Lead(
                lead_id="L4",
                record=4,
                first_name="Zoë",
                last_name="Ørsted",
                email="zoe@acme.io",
                title="CTO",
                company="Acme",
                domain="acme.io",
                industry="Software",
                employees=120,
                country="DK",
                notes="",
            )
        )
    ]


async def test_an_invalid_record_is_rejected_with_every_reason_and_its_outcome() -> None:
    """An invalid record gives ``LeadRejected`` then a ``rejected`` ``LeadOutcome``."""
    message = submitted(2, email="bob@", employees="many")

    assert await deliver(Intake(), message) == rejection(
        message,
        "email 'bob@' is not a valid address",
        "employees 'many' is not a number or a range such as 51-200",
    )


async def test_an_unreadable_record_is_rejected_with_the_readers_reason() -> None:
    """A record the reader marked with ``_error`` is rejected for that reason."""
    message = LeadSubmitted(
        record=7, lead_id="record-7", fields={"_error": "line 9: not a JSON object"}
    )

    assert await deliver(Intake(), message) == rejection(message, "line 9: not a JSON object")


async def test_a_redelivered_record_is_accepted_again_as_the_same_lead() -> None:
    """The same record delivered twice is accepted twice, as the same lead."""
    intake = Intake()
    message = submitted(3)

    assert await deliver(intake, message) == await deliver(intake, message)


def test_intake_handles_submitted_leads_one_at_a_time() -> None:
    """Intake subscribes to ``LeadSubmitted`` and handles one record at a time, in order."""
    intake = Intake(name="intake-1")

    assert (Intake.handles, intake.name, intake.concurrency) == ((LeadSubmitted,), "intake-1", 1)
