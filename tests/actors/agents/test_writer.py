"""The writer agent (``actors/agents/_writer.py``) on the test bus: which leads get a draft."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actors import Crm, LlmCaller, SqliteCrm, Writer
from bus import TestBus
from messages import Fit, OutreachDraft, RuleViolation
from tests.support.agents import ICP, replies
from tests.support.outputs import score

pytestmark = pytest.mark.anyio


async def test_writer_skips_disqualified_leads() -> None:
    """A low-fit score gets no draft and no LLM call."""
    gateway = replies()
    low = score(fit=Fit.LOW, score=20, icp_score=20, icp_fit=Fit.LOW)
    assert (
        await TestBus().deliver(
            Writer(LlmCaller(gateway), ICP), low, approved=True, producer="validator"
        )
        == []
    )
    assert gateway.requests == []


async def test_a_doubtful_low_fit_lead_is_drafted_and_not_written_to_the_crm(
    tmp_path: Path,
) -> None:
    """A low fit with doubts is drafted (a person decides on it) and the CRM leaves it."""
    doubt = RuleViolation(rule="score.confidence", reason="Confidence 0.2 is below 0.6.")
    low = score(fit=Fit.LOW, score=20, icp_score=20, icp_fit=Fit.LOW, doubts=(doubt,))
    gateway = replies(json.dumps({"subject": "Hi", "body": "Hello"}))
    [drafted] = await TestBus().deliver(
        Writer(LlmCaller(gateway), ICP), low, approved=True, producer="validator"
    )
    assert isinstance(drafted.message, OutreachDraft)
    store = SqliteCrm(tmp_path / "crm.sqlite")
    assert await TestBus().deliver(Crm(store), low, approved=True, producer="validator") == []
    assert store.rows() == []
    store.close()
