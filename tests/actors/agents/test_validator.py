"""The validator (``actors/agents/_validator.py``) on the test bus: it approves a clean output,
sends violations back while attempts remain, and the last attempt or a doubt to review."""

from __future__ import annotations

import pytest

import messages
from actors import Validator
from bus import TestBus
from messages import (
    FailureKind,
    HumanReviewRequested,
    LeadScore,
    OutreachDraft,
    ResearchResult,
    RuleViolation,
    ValidationFailed,
    ValidationPassed,
    Verdict,
)
from tests.support.outputs import CTX, draft, lead, research, score

pytestmark = pytest.mark.anyio


async def test_validator_approves_a_clean_output() -> None:
    """A draft that passes every rule yields ValidationPassed, then the draft approved."""
    bus = TestBus()
    passed, approved = await bus.deliver(Validator(CTX), draft(), producer="writer")
    assert isinstance(passed.message, ValidationPassed)
    assert isinstance(approved.message, OutreachDraft) and approved.approved
    assert approved.producer == "validator"


async def test_validator_sends_rule_violations_back_while_attempts_remain() -> None:
    """A draft with a placeholder on attempt 1 gets a retry verdict, and no review."""
    bad = draft(body=draft().body.replace("Hi Zoë,", "Hi [First Name],"))
    [verdict] = await TestBus().deliver(Validator(CTX), bad, attempt=1)
    assert isinstance(verdict.message, ValidationFailed)
    assert verdict.message.verdict is Verdict.RETRY


async def test_validator_sends_the_last_attempt_to_review() -> None:
    """The same violation on attempt 3 goes to review as a rule violation, with the output."""
    bad = draft(body=draft().body.replace("Hi Zoë,", "Hi [First Name],"))
    verdict, review = await TestBus().deliver(Validator(CTX), bad, attempt=3)
    assert (
        isinstance(verdict.message, ValidationFailed) and verdict.message.verdict is Verdict.REVIEW
    )
    assert isinstance(review.message, HumanReviewRequested)
    assert review.message.failure is FailureKind.RULE_VIOLATION
    assert review.message.last_output == bad


async def test_low_confidence_goes_on_with_a_doubt_without_a_reask() -> None:
    """A score below the confidence threshold is not re-asked: it is approved with the
    doubt, so that the lead is drafted and a person decides on the draft."""
    doubtful = score(confidence=0.2)
    verdict, passed, approved = await TestBus().deliver(Validator(CTX), doubtful, attempt=1)
    assert (
        isinstance(verdict.message, ValidationFailed) and verdict.message.verdict is Verdict.REVIEW
    )
    assert isinstance(passed.message, ValidationPassed)
    assert isinstance(approved.message, LeadScore) and approved.approved
    assert [d.rule for d in approved.message.doubts] == ["score.confidence"]


async def test_a_draft_of_a_doubtful_lead_goes_to_the_inbox_with_the_draft() -> None:
    """A draft that passes every rule but whose score carries a doubt is not approved: it
    goes to the inbox as the draft that would be sent, as low_confidence."""
    doubt = RuleViolation(rule="score.confidence", reason="Confidence 0.2 is below 0.6.")
    doubtful = draft(score=score(confidence=0.2, doubts=(doubt,)))
    [review] = await TestBus().deliver(Validator(CTX), doubtful, attempt=1)
    request = review.message
    assert isinstance(request, HumanReviewRequested)
    assert request.failure is FailureKind.LOW_CONFIDENCE
    assert request.last_output == doubtful and request.violations == ()


async def test_a_lead_whose_row_looks_wrong_is_drafted_and_its_draft_goes_to_the_inbox() -> None:
    """A shared mailbox is no fault of the model's: the score is approved with the doubt,
    not re-asked, and the lead's draft goes to the inbox as suspect_input."""
    at_info = research(lead=lead(email="info@arclight-academy.com"))
    verdict, passed, approved = await TestBus().deliver(
        Validator(CTX), score(research=at_info), attempt=1
    )
    assert isinstance(verdict.message, ValidationFailed)
    assert verdict.message.verdict is Verdict.REVIEW
    assert isinstance(passed.message, ValidationPassed)
    assert isinstance(approved.message, LeadScore) and approved.approved
    assert [d.rule for d in approved.message.doubts] == ["input.shared_mailbox"]
    [review] = await TestBus().deliver(Validator(CTX), draft(score=approved.message), attempt=1)
    assert isinstance(review.message, HumanReviewRequested)
    assert review.message.failure is FailureKind.SUSPECT_INPUT


async def test_research_that_stays_ungrounded_goes_on_without_the_bad_claims() -> None:
    """At the last attempt, research keeps its grounded claims only, with the grounding
    violations as doubts, and is approved: scoring and drafting still run."""
    good = research().claims[0]
    bad = good.model_copy(update={"quote": "Doubled its revenue."})
    shaky = research(claims=(good, bad))
    *_, approved = await TestBus().deliver(Validator(CTX), shaky, attempt=3)
    assert isinstance(approved.message, ResearchResult) and approved.approved
    assert approved.message.claims == (good,)
    assert [d.rule for d in approved.message.doubts] == ["research.grounding.quote_not_found"]


def test_the_validator_is_registered_for_every_probabilistic_output() -> None:
    """The bus's table of validators comes from what the validator validates: every
    message an LLM produces, and nothing else."""
    table = Validator.bus_validators("validator")
    # Tests register message types of their own; the contracts are the package's.
    contracts = [t for t in messages.registry if t.__module__.split(".")[0] == "messages"]
    probabilistic = {t for t in contracts if t.probabilistic}
    assert set(table) == probabilistic == {ResearchResult, LeadScore, OutreachDraft}
    assert set(table.values()) == {"validator"}
