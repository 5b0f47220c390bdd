"""The research agent (``actors/agents/_research.py``) on the test bus: it cites the evidence it
found, and a lead without evidence is researched with no LLM call."""

from __future__ import annotations

import pytest

from actors import LlmCaller, Research, Validator
from bus import TestBus
from messages import LeadAccepted, ResearchResult
from tests.support.agents import KB, RESEARCH_REPLY, replies
from tests.support.outputs import CTX, EVIDENCE, lead

pytestmark = pytest.mark.anyio


async def test_research_cites_the_knowledge_base() -> None:
    """LeadAccepted becomes one unapproved ResearchResult carrying the KB's evidence."""
    bus = TestBus()
    published = await bus.deliver(
        Research(LlmCaller(replies(RESEARCH_REPLY)), KB), LeadAccepted(lead=lead())
    )
    [envelope] = published
    assert isinstance(envelope.message, ResearchResult)
    assert not envelope.approved and envelope.attempt == 1
    assert envelope.message.evidence == EVIDENCE
    assert envelope.message.claims[0].quote == "Raised a €12M Series A"


async def test_a_lead_without_evidence_is_researched_with_no_llm_call() -> None:
    """No evidence: no call, no retry; the result has no claims and the no_evidence doubt,
    and the validator passes it on."""
    gateway = replies()
    nobody = lead(domain="unknown.example")
    [envelope] = await TestBus().deliver(
        Research(LlmCaller(gateway), KB), LeadAccepted(lead=nobody)
    )
    result = envelope.message
    assert isinstance(result, ResearchResult) and gateway.requests == []
    assert result.claims == () and [d.rule for d in result.doubts] == ["research.no_evidence"]
    _, approved = await TestBus().deliver(Validator(CTX), result)
    assert approved.approved and approved.message == result
