"""The review queue (``actors/agents/_review_queue.py``) on the test bus: a request for a
person is filed."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors import ReviewQueue, ReviewStore
from bus import TestBus
from messages import FailureKind, HumanReviewRequested, LeadOutcome, Outcome, Stage
from tests.support.outputs import lead, score

pytestmark = pytest.mark.anyio


async def test_review_queue_files_the_request(tmp_path: Path) -> None:
    """A review request is stored with its reason and the lead's outcome is needs_review."""
    store = ReviewStore(tmp_path / "review.sqlite")
    request = HumanReviewRequested(
        lead=lead(),
        stage=Stage.SCORING,
        failure=FailureKind.LOW_CONFIDENCE,
        reason="unsure",
        attempts=1,
        last_output=score(),
    )
    bus = TestBus()
    await bus.deliver(ReviewQueue(store), request)
    [item] = store.items()
    store.close()
    assert (item.lead_id, item.status, item.request) == ("L0001", "open", request)
    [outcome] = bus.messages(LeadOutcome)
    assert outcome.outcome is Outcome.NEEDS_REVIEW and outcome.record == 1
