"""The scoring agent (``actors/agents/_scoring.py``) on the test bus: the ICP's deterministic score
beside the model's, and what it does with fields it does not know."""

from __future__ import annotations

import json

import pytest

from actors import LlmCaller, Scoring
from bus import TestBus
from messages import LeadScore
from tests.support.agents import ICP, SCORE_REPLY, replies
from tests.support.outputs import lead, research

pytestmark = pytest.mark.anyio


async def test_scoring_attaches_the_deterministic_icp_score() -> None:
    """The LeadScore carries the ICP score of the lead beside the LLM's score."""
    [envelope] = await TestBus().deliver(
        Scoring(LlmCaller(replies(SCORE_REPLY)), ICP),
        research(),
        approved=True,
        producer="validator",
    )
    output = envelope.message
    assert isinstance(output, LeadScore)
    assert output.icp_score == ICP.score(lead()) and output.score == 80


async def test_scoring_names_unknown_fields_and_lowers_its_confidence() -> None:
    """A lead whose row lacks fields gets a reason naming them, and the model's confidence
    scaled by half plus half the share of the profile that was known."""
    partial = lead().model_copy(update={"employees": None, "country": ""})
    basis = research().model_copy(update={"lead": partial})
    [envelope] = await TestBus().deliver(
        Scoring(LlmCaller(replies(SCORE_REPLY)), ICP), basis, approved=True, producer="validator"
    )
    output = envelope.message
    assessed = ICP.assess(partial)

    assert isinstance(output, LeadScore)
    assert assessed.unknown == ("employees", "country")
    assert output.reasons[-1] == assessed.reason
    assert "employees, country" in output.reasons[-1]
    reply = json.loads(SCORE_REPLY)
    assert output.confidence == round(reply["confidence"] * (0.5 + 0.5 * assessed.confidence), 2)
    assert output.icp_score == assessed.score
