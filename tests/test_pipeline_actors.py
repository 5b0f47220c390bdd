"""Each pipeline agent alone on the TestBus, with a scripted LLM."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from _validation_fixtures import CTX, EVIDENCE, draft, lead, research, score

import messages
from actors import (
    PENDING,
    Crm,
    CrmRow,
    CrmUnavailable,
    DeadLetters,
    DeadLetterStore,
    Icp,
    KnowledgeBase,
    LedgerStore,
    LlmCaller,
    OutcomeLedger,
    Research,
    ReviewQueue,
    ReviewStore,
    Scoring,
    SqliteCrm,
    Validator,
    Writer,
)
from actors.llm._function import FunctionLlm
from actors.llm._gateway import LlmRequest
from bus import TestBus
from messages import (
    CrmUpdated,
    DeadLetter,
    Envelope,
    FailureKind,
    Fit,
    HumanReviewRequested,
    LeadAccepted,
    LeadOutcome,
    LeadScore,
    LlmTimeout,
    Outcome,
    OutreachDraft,
    ProviderError,
    QuotaExhausted,
    ResearchResult,
    RetryRequested,
    ReviewApproved,
    RuleViolation,
    RunHalted,
    Stage,
    ValidationFailed,
    ValidationPassed,
    Verdict,
)

pytestmark = pytest.mark.anyio

ICP = Icp.load(Path(__file__).resolve().parent.parent / "examples" / "icp.toml")
KB = KnowledgeBase(
    {
        "arclight-academy.com": {
            "name": "Arclight Academy",
            "description": EVIDENCE[0].text,
            "facts": [e.text for e in EVIDENCE[1:]],
        }
    }
)

RESEARCH_REPLY = json.dumps(
    {
        "summary": "An LMS for universities.",
        "claims": [
            {"text": "Raised money.", "evidence_ids": ["e2"], "quote": "Raised a €12M Series A"}
        ],
    }
)
SCORE_REPLY = json.dumps({"fit": "high", "score": 80, "confidence": 0.9, "reasons": ["fits"]})


def replies(*answers: str | Exception) -> FunctionLlm:
    """A gateway that gives ``answers`` in order, raising the exceptions among them."""
    queue = list(answers)

    def script(request: LlmRequest) -> str:
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return FunctionLlm(script)


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


async def test_an_approval_writes_exactly_the_draft_the_reviewer_saw(tmp_path: Path) -> None:
    """ReviewApproved puts its draft in the CRM (completed), or records the lead as
    disqualified when it is not to be sent."""
    store = SqliteCrm(tmp_path / "crm.sqlite")
    bus = TestBus()
    await bus.deliver(Crm(store), ReviewApproved(item=1, draft=draft(), send=True))
    other = lead(lead_id="L0002", record=2, email="b@arclight-academy.com")
    low = draft(score=score(research=research(lead=other), fit=Fit.LOW, score=20))
    await bus.deliver(Crm(store), ReviewApproved(item=2, draft=low, send=False))
    rows = store.rows()
    store.close()
    assert [(r["outcome"], r["draft_body"]) for r in rows] == [
        ("completed", draft().body),
        ("disqualified", None),
    ]


async def test_crm_writes_completed_and_disqualified_rows(tmp_path: Path) -> None:
    """An approved draft and a disqualified score each become one CRM row and one outcome."""
    store = SqliteCrm(tmp_path / "crm.sqlite")
    bus = TestBus()
    crm = Crm(store)
    await bus.deliver(crm, draft(), approved=True, producer="validator")
    other = lead(lead_id="L0002", record=2, email="b@arclight-academy.com")
    low = score(research=research(lead=other), fit=Fit.LOW, score=20, icp_score=20, icp_fit=Fit.LOW)
    await bus.deliver(crm, low, approved=True, producer="validator")
    await bus.deliver(crm, score(), approved=True, producer="validator")  # drafted later, not here
    rows = store.rows()
    store.close()
    assert [(r["lead_id"], r["outcome"]) for r in rows] == [
        ("L0001", "completed"),
        ("L0002", "disqualified"),
    ]
    assert rows[0]["draft_body"] == draft().body and rows[1]["draft_body"] is None
    outcomes = bus.messages(LeadOutcome)
    assert [(o.record, o.outcome) for o in outcomes] == [
        (1, Outcome.COMPLETED),
        (2, Outcome.DISQUALIFIED),
    ]
    assert len(bus.messages(CrmUpdated)) == 2


async def test_crm_retries_an_unavailable_store_until_it_succeeds() -> None:
    """Writes that fail are retried until the store takes them; the lead is not dropped."""

    class Flaky:
        def __init__(self) -> None:
            self.failures_left = 3
            self.rows: list[CrmRow] = []

        async def upsert(self, row: CrmRow) -> None:
            if self.failures_left:
                self.failures_left -= 1
                raise CrmUnavailable("down")
            self.rows.append(row)

    store = Flaky()
    bus = TestBus()
    await bus.deliver(Crm(store), draft(), approved=True, producer="validator")
    assert [r.lead_id for r in store.rows] == ["L0001"]
    assert [o.outcome for o in bus.messages(LeadOutcome)] == [Outcome.COMPLETED]


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


async def test_ledger_keeps_the_first_outcome_and_logs_a_conflict(tmp_path: Path) -> None:
    """A second outcome for a record is refused, recorded as a conflict, and not reported."""
    store = LedgerStore(tmp_path / "journal.sqlite")
    input_id = await store.open_input("test")
    await store.submit(input_id, [(1, {"id": "L0001", "email": "a@b.co"})])
    heard: list[LeadOutcome] = []
    ledger = OutcomeLedger(store, lambda outcome, first: heard.append(outcome) if first else None)
    bus = TestBus()
    first = LeadOutcome(record=1, lead_id="L0001", outcome=Outcome.COMPLETED, reason="ok")
    await bus.deliver(ledger, first)
    await bus.deliver(ledger, first.model_copy(update={"outcome": Outcome.FAILED}))
    assert heard == [first]
    assert store.conflicts() == 1
    assert [(r.record, r.outcome) for r in store.report()] == [(1, "completed")]
    store.close()


async def test_ledger_counts_outcomes_and_pending_records(tmp_path: Path) -> None:
    """``counts`` is ``report`` tallied: one per record, ``pending`` for those without one."""
    store = LedgerStore(tmp_path / "journal.sqlite")
    input_id = await store.open_input("test")
    await store.submit(input_id, [(n, {"id": f"L{n}", "email": f"{n}@b.co"}) for n in range(1, 5)])
    ledger = OutcomeLedger(store, lambda outcome, first: None)
    bus = TestBus()
    for record, outcome in ((1, Outcome.COMPLETED), (2, Outcome.COMPLETED), (3, Outcome.FAILED)):
        await bus.deliver(
            ledger, LeadOutcome(record=record, lead_id=f"L{record}", outcome=outcome, reason="")
        )
    assert store.counts() == {"completed": 2, "failed": 1, PENDING: 1}
    assert Counter(row.outcome for row in store.report()) == store.counts()
    store.close()


async def test_the_ledger_tells_the_run_of_an_outcome_the_record_already_had(
    tmp_path: Path,
) -> None:
    """An outcome delivered again (or written first by another process) is still handed to
    the run, marked not first, so that the record's admission place is freed."""
    store = LedgerStore(tmp_path / "journal.sqlite")
    input_id = await store.open_input("test")
    await store.submit(input_id, [(1, {"id": "L0001", "email": "a@b.co"})])
    heard: list[tuple[int, bool]] = []
    ledger = OutcomeLedger(store, lambda outcome, first: heard.append((outcome.record, first)))
    bus = TestBus()
    outcome = LeadOutcome(record=1, lead_id="L0001", outcome=Outcome.COMPLETED, reason="ok")
    await bus.deliver(ledger, outcome)
    await bus.deliver(ledger, outcome)
    store.close()
    assert heard == [(1, True), (1, False)]


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


def test_the_validator_is_registered_for_every_probabilistic_output() -> None:
    """The bus's table of validators comes from what the validator validates: every
    message an LLM produces, and nothing else."""
    table = Validator.bus_validators("validator")
    # Tests register message types of their own; the contracts are the package's.
    contracts = [t for t in messages.registry if t.__module__.split(".")[0] == "messages"]
    probabilistic = {t for t in contracts if t.probabilistic}
    assert set(table) == probabilistic == {ResearchResult, LeadScore, OutreachDraft}
    assert set(table.values()) == {"validator"}
