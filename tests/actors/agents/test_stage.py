"""What every LLM stage (``actors/agents/_stage.py``: research, scoring, writing) does with a
reply: a malformed one is asked again, a verdict sends it back with the violations, a
failure past its retries goes to Operations, and an exhausted quota halts the run."""

from __future__ import annotations

import json

import pytest

from actors import LlmCaller, Research, Scoring, Writer
from bus import TestBus
from messages import (
    DeadLetter,
    Envelope,
    FailureKind,
    LeadAccepted,
    LeadScore,
    LlmTimeout,
    ProviderError,
    QuotaExhausted,
    ResearchResult,
    RetryRequested,
    RuleViolation,
    RunHalted,
    Stage,
    ValidationFailed,
    Verdict,
)
from tests.support.agents import ICP, KB, RESEARCH_REPLY, SCORE_REPLY, replies
from tests.support.outputs import lead, research, score

pytestmark = pytest.mark.anyio


async def test_malformed_reply_is_reasked_once_then_dead_lettered() -> None:
    """Two unparseable replies give one DeadLetter with the raw text, and nothing else."""
    gateway = replies("Sure! Here is the research you asked for.", '{"summary": "cut sh')
    published = await TestBus().deliver(Research(LlmCaller(gateway), KB), LeadAccepted(lead=lead()))
    [envelope] = published
    letter = envelope.message
    assert isinstance(letter, DeadLetter)
    assert letter.failure is FailureKind.MALFORMED_OUTPUT
    assert letter.raw_output == '{"summary": "cut sh'
    again = Envelope.from_json(letter.payload).message
    assert isinstance(again, RetryRequested)
    assert (again.stage, again.start, again.retry) == (Stage.RESEARCH, None, 1)
    assert "unusable" in gateway.requests[1].feedback[0]


async def test_one_malformed_reply_then_a_good_one_is_attempt_two() -> None:
    """A re-ask after a malformed reply publishes the good output as attempt 2."""
    gateway = replies("not json", RESEARCH_REPLY)
    [envelope] = await TestBus().deliver(
        Research(LlmCaller(gateway), KB), LeadAccepted(lead=lead())
    )
    assert isinstance(envelope.message, ResearchResult) and envelope.attempt == 2


async def test_schema_mismatch_goes_to_operations_after_the_attempt_budget() -> None:
    """Three schema-violating replies end in a dead letter (schema_mismatch) whose payload
    retries scoring from the same research, never in the inbox."""
    bad = json.dumps({"fit": "excellent", "score": 80, "confidence": 0.9, "reasons": []})
    gateway = replies(bad, bad, bad)
    [envelope] = await TestBus().deliver(
        Scoring(LlmCaller(gateway), ICP), research(), approved=True, producer="validator"
    )
    letter = envelope.message
    assert isinstance(letter, DeadLetter)
    assert (letter.failure, letter.attempts, letter.actor) == (
        FailureKind.SCHEMA_MISMATCH,
        3,
        "scoring",
    )
    assert letter.raw_output == bad
    again = Envelope.from_json(letter.payload).message
    assert isinstance(again, RetryRequested) and again.start == research()
    assert any("fit" in item for item in gateway.requests[1].feedback)


async def test_a_retry_verdict_asks_again_with_the_violations() -> None:
    """ValidationFailed(retry) for scoring yields attempt n+1, and the LLM sees the rule ids."""
    gateway = replies(SCORE_REPLY)
    failed = ValidationFailed(
        stage=Stage.SCORING,
        lead_id="L0001",
        attempt=1,
        violations=(RuleViolation(rule="score.consistency", reason="fit high but score 20"),),
        verdict=Verdict.RETRY,
        rejected=score(),
    )
    [envelope] = await TestBus().deliver(Scoring(LlmCaller(gateway), ICP), failed)
    assert isinstance(envelope.message, LeadScore) and envelope.attempt == 2
    assert gateway.requests[0].feedback == ("[score.consistency] fit high but score 20",)


async def test_verdicts_for_other_stages_are_ignored() -> None:
    """A research retry verdict does nothing in the writer."""
    failed = ValidationFailed(
        stage=Stage.RESEARCH, lead_id="L0001", attempt=1,
        violations=(RuleViolation(rule="r", reason="x"),), verdict=Verdict.RETRY,
        rejected=research(),
    )  # fmt: skip
    gateway = replies()
    assert await TestBus().deliver(Writer(LlmCaller(gateway), ICP), failed) == []
    assert gateway.requests == []


async def test_timeouts_past_their_retries_go_to_operations() -> None:
    """Three timeouts in a row are a machine failure: a dead letter (llm_timeout), never
    an inbox item."""
    gateway = replies(LlmTimeout("t"), LlmTimeout("t"), LlmTimeout("t"))
    [envelope] = await TestBus().deliver(
        Writer(LlmCaller(gateway), ICP), score(), approved=True, producer="validator"
    )
    assert isinstance(envelope.message, DeadLetter)
    assert envelope.message.failure is FailureKind.LLM_TIMEOUT


async def test_provider_errors_past_their_retries_go_to_operations() -> None:
    """Three 5xx replies in a row give a dead letter (provider_error) that retries the stage
    from its input as the lead's next retry."""
    gateway = replies(ProviderError("502"), ProviderError("503"), ProviderError("500"))
    [envelope] = await TestBus().deliver(
        Scoring(LlmCaller(gateway), ICP), research(), approved=True, producer="validator"
    )
    letter = envelope.message
    assert isinstance(letter, DeadLetter)
    assert letter.failure is FailureKind.PROVIDER_ERROR
    again = Envelope.from_json(letter.payload).message
    assert isinstance(again, RetryRequested)
    assert (again.stage, again.start, again.retry) == (Stage.SCORING, research(), 1)
    assert len(gateway.requests) == 3


async def test_a_retry_is_a_new_pass_whose_calls_and_outputs_carry_its_number() -> None:
    """A RetryRequested for scoring asks again from its start, with ``retry`` on the request
    (so faults draw anew) and on the output; other stages ignore it."""
    gateway = replies(SCORE_REPLY)
    bus = TestBus()
    again = RetryRequested(stage=Stage.SCORING, lead=lead(), start=research(), retry=2)
    assert await bus.deliver(Writer(LlmCaller(replies()), ICP), again) == []
    [envelope] = await bus.deliver(Scoring(LlmCaller(gateway), ICP), again)
    assert isinstance(envelope.message, LeadScore) and envelope.message.retry == 2
    assert gateway.requests[0].retry == 2


async def test_quota_exhaustion_halts_the_run() -> None:
    """An exhausted quota publishes RunHalted and no outcome for the lead."""
    gateway = replies(QuotaExhausted("You exceeded your current quota."))
    [envelope] = await TestBus().deliver(
        Research(LlmCaller(gateway), KB), LeadAccepted(lead=lead())
    )
    assert isinstance(envelope.message, RunHalted)
    assert envelope.message.failure is FailureKind.QUOTA_EXHAUSTED
    assert len(gateway.requests) == 1
