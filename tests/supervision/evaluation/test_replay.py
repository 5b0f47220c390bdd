"""Replaying a baseline (``supervision/evaluation/_replay.py``): research reads the
evidence the baseline recorded."""

from __future__ import annotations

import pytest

from messages import Evidence
from supervision.evaluation import RecordedEvidence
from tests.support.outputs import lead

pytestmark = pytest.mark.anyio


LEAD = lead(lead_id="L1")


async def test_research_reads_the_recorded_evidence() -> None:
    """A recorded lead gets its evidence back; another gets the fallback's, or none."""
    item = Evidence(evidence_id="e1", source="kb:arclight.com", text="Arclight runs data.")
    lead, other = LEAD, LEAD.model_copy(update={"lead_id": "L2"})
    source = RecordedEvidence({"L1": (item,)}, fallback=None)
    assert await source.gather(lead) == (item,)
    assert await source.gather(other) == ()
    assert "recorded no evidence" in source.why_empty(other)
