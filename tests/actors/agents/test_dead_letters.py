"""The dead letters (``actors/agents/_dead_letters.py``) on the test bus: a machine failure fails
its lead, in Operations."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors import DeadLetters, DeadLetterStore
from bus import TestBus
from messages import DeadLetter, Envelope, FailureKind, LeadAccepted, LeadOutcome, Outcome
from tests.support.outputs import lead

pytestmark = pytest.mark.anyio


async def test_dead_letters_fail_the_lead_they_concern(tmp_path: Path) -> None:
    """A dead letter about a lead is kept, and fails that lead's record."""
    store = DeadLetterStore(tmp_path / "dead.sqlite")
    payload = Envelope.new(LeadAccepted(lead=lead(record=7)), producer="intake").to_json()
    letter = DeadLetter(
        failure=FailureKind.ACTOR_CRASH,
        reason="boom",
        actor="research",
        payload=payload,
        attempts=2,
    )
    bus = TestBus()
    await bus.deliver(DeadLetters(store), letter)
    await bus.deliver(DeadLetters(store), letter.model_copy(update={"payload": "not json"}))
    items = store.items()
    store.close()
    assert [(i.record, i.failure) for i in items] == [(7, "actor_crash"), (None, "actor_crash")]
    assert [(o.record, o.outcome) for o in bus.messages(LeadOutcome)] == [(7, Outcome.FAILED)]
