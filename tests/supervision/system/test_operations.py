"""The operator's verbs on a run directory: one open review item and one open dead letter
per record, always; a decision on a stale item is refused; each verb is one transaction;
approving asks no model anything; declining is no failure; retrying is a new attempt."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import anyio
import pytest

from actors import KNOWLEDGE_FILE, Icp, KnowledgeBase, RetrySchedule, ReviewStatus
from actors.intake import RawRecord, read_records
from actors.llm import ChaosLlm, Fault, OfflineLlm
from messages import (
    DeadLetter,
    Envelope,
    FailureKind,
    Lead,
    LeadAccepted,
    LeadOutcome,
    Outcome,
    ResearchResult,
    RetryRequested,
    UsageError,
)
from supervision.system import (
    DraftEdit,
    DraftRefused,
    Operator,
    PipelineConfig,
    Stores,
    open_system,
    run_pipeline,
)
from tests.support.paths import EXAMPLES

LEADS = EXAMPLES / "leads.csv"
COMPANIES = EXAMPLES / "companies.json"


def config(
    out: Path,
    *faults: Fault,
    rate: float = 1.0,
    kb: KnowledgeBase | None = None,
    schedule: RetrySchedule | None = None,
) -> PipelineConfig:
    gateway = OfflineLlm(seed=1)
    return PipelineConfig(
        out=out,
        gateway=ChaosLlm(gateway, rate=rate, seed=1, faults=list(faults)) if faults else gateway,
        icp=Icp.load(EXAMPLES / "icp.toml"),
        source=kb if kb is not None else KnowledgeBase.load(COMPANIES),
        ops_retry=schedule if schedule is not None else RetrySchedule(),
    )


def first_records(count: int) -> list[RawRecord]:
    records = read_records(LEADS)
    return [next(records) for _ in range(count)]


@pytest.fixture
def reviewed(tmp_path: Path) -> Path:
    """A run directory whose leads all wait for review with a draft that broke a rule."""
    out = tmp_path / "run"
    anyio.run(run_pipeline, config(out, Fault.PLACEHOLDER), first_records(4))
    return out


@pytest.fixture
def unknown(tmp_path: Path) -> Path:
    """A run directory of leads whose companies nothing is known about."""
    out = tmp_path / "run"
    anyio.run(run_pipeline, config(out, kb=KnowledgeBase({})), first_records(6))
    return out


def open_items(out: Path) -> list[int]:
    stores = Stores.open(out)
    try:
        return [item.id for item in stores.review.items(status=ReviewStatus.OPEN.value)]
    finally:
        stores.close()


def test_a_new_request_supersedes_the_open_item_of_its_record(reviewed: Path) -> None:
    """Filing a second request for a record leaves one open item: the newer one."""
    stores = Stores.open(reviewed)
    try:
        item = stores.review.items(status="open")[0]
        anyio.run(stores.review.add, item.request)
        mine = [i for i in stores.review.items() if i.record == item.record]
    finally:
        stores.close()
    assert [i.status for i in mine] == ["superseded", "open"]


def test_a_decision_on_a_stale_item_is_refused(reviewed: Path) -> None:
    """A superseded item cannot be approved or declined: one line says what it is."""

    async def scenario() -> None:
        async with open_system(config(reviewed), admit=False) as system:
            stores = system.stores
            item = stores.review.items(status="open")[0]
            await stores.review.add(item.request)
            with pytest.raises(UsageError, match=f"review item {item.id} is already superseded"):
                await Operator(system).decline(item.id, "too late")

    anyio.run(scenario)


def test_decline_ends_the_lead_declined_with_no_dead_letter(reviewed: Path) -> None:
    """After a decline, the item is declined and the record declined, in one transaction;
    no dead letter is written, so nothing can replay it; the audit names the reviewer."""

    async def scenario() -> None:
        async with open_system(config(reviewed), admit=False) as system:
            stores, operator = system.stores, Operator(system, reviewer="ana")
            item = stores.review.items(status="open")[0]
            decision = await operator.decline(item.id, "wrong company")
            assert decision.outcome == Outcome.DECLINED.value
            assert stores.review.item(item.id).status == "declined"  # type: ignore[union-attr]
            assert stores.ledger.outcome_of(item.record) == "declined"
            assert stores.dead.items() == [] and operator.retryable() == []
            assert stores.review.audit(item.id)[-1][1:] == ("declined", "wrong company", "ana")
            assert stores.ledger.counts()["declined"] == 1
            with pytest.raises(UsageError, match="--reason must say why"):
                await operator.decline(stores.review.items(status="open")[0].id, " ")

    anyio.run(scenario)


def test_every_inbox_item_carries_the_draft_that_would_be_sent(tmp_path: Path) -> None:
    """Leads with no evidence reach the inbox as no_evidence, each with a draft that
    claims nothing, and no research call is made or retried for them."""
    out = tmp_path / "run"
    summary = anyio.run(run_pipeline, config(out, kb=KnowledgeBase({})), first_records(6))
    assert summary.tokens_by_stage.get("research", 0) == 0
    stores = Stores.open(out)
    try:
        items = stores.review.items(status="open")
        counts = stores.ledger.counts()
    finally:
        stores.close()
    assert counts.get("needs_review") == len(items) == summary.leads - counts.get("rejected", 0)
    for item in items:
        assert item.failure == FailureKind.NO_EVIDENCE
        assert item.draft is not None and item.draft.score.research.claims == ()
        assert item.why.startswith(f"No evidence about {item.request.lead.domain}:")
        assert "reading about" not in item.draft.body


def test_approval_sends_the_draft_seen_and_asks_no_model(unknown: Path) -> None:
    """Approving every no-evidence item ends each lead completed or disqualified, as its
    score says, with the very draft the item showed, and makes no LLM call at all."""

    async def scenario() -> tuple[int, list[tuple[str, str, str]]]:
        async with open_system(config(unknown), admit=False) as system:
            results = []
            for item_id in open_items(unknown):
                item = system.stores.review.item(item_id)
                assert item is not None and item.draft is not None
                decision = await Operator(system, reviewer="ana").approve(item_id)
                row = system.stores.crm.row(item.lead_id)
                assert row is not None
                sent = item.draft.body if not item.draft.score.disqualified else None
                results.append((decision.outcome, str(sent), str(row["draft_body"])))
            return system.caller.statistics().calls, results

    calls, results = anyio.run(scenario)
    assert calls == 0
    assert {outcome for outcome, _, _ in results} <= {"completed", "disqualified"}
    assert all(sent == body for _, sent, body in results)
    assert open_items(unknown) == []


def test_an_edited_draft_is_checked_again_and_reaches_the_crm(reviewed: Path) -> None:
    """An edit that still breaks a rule is refused with the rules; a fixed edit is approved,
    and the CRM holds the edited text."""

    async def scenario() -> tuple[str, str]:
        async with open_system(config(reviewed), admit=False) as system:
            item = system.stores.review.items(status="open")[0]
            draft = item.draft
            assert draft is not None
            still_bad = DraftEdit(subject="Hello", body=draft.body)
            with pytest.raises(DraftRefused) as refused:
                await Operator(system).approve(item.id, edit=still_bad)
            assert "draft.placeholder" in {v.rule for v in refused.value.violations}
            fixed_body = draft.body.replace("{{", "").replace("}}", "")
            fixed_body = fixed_body.replace("[Name]", "").replace("<company>", "")
            fixed = DraftEdit(subject="Hello", body=fixed_body)
            decision = await Operator(system).approve(item.id, edit=fixed)
            row = system.stores.crm.row(item.lead_id)
            assert row is not None
            return decision.outcome, str(row["draft_body"])

    outcome, body = anyio.run(scenario)
    assert outcome == "completed"
    assert "{{" not in body


def test_a_draft_that_breaks_a_rule_needs_an_override_with_a_note(reviewed: Path) -> None:
    """Approving a draft that still breaks a rule is refused; with an override it needs a
    note; with both, it is approved and the audit says so."""

    async def scenario() -> list[tuple[str, str, str, str]]:
        async with open_system(config(reviewed), admit=False) as system:
            item = system.stores.review.items(status="open")[0]
            operator = Operator(system, reviewer="ana")
            with pytest.raises(DraftRefused, match="approve with --override"):
                await operator.approve(item.id)
            with pytest.raises(UsageError, match="--override needs a --note"):
                await operator.approve(item.id, override=True)
            await operator.approve(item.id, override=True, note="sent by hand")
            return system.stores.review.audit(item.id)

    audit = anyio.run(scenario)
    assert [action for _, action, _, _ in audit] == ["approved", "approved with override"]


def test_retry_of_a_dead_letter_runs_it_once_and_marks_it(tmp_path: Path) -> None:
    """Retrying a lead's open letter clears and re-earns its outcome, and the letter is
    retried; retrying it again is refused."""
    out = tmp_path / "run"
    anyio.run(run_pipeline, config(out), first_records(2))
    stores = Stores.open(out)
    try:
        row = stores.ledger.report()[0]
        assert stores.journal is not None
        accepted = stores.journal.envelopes(kinds=["lead_accepted"], trace_ids=[row.lead_id])
        letter = DeadLetter(
            failure=FailureKind.ACTOR_CRASH,
            reason="boom",
            actor="research",
            payload=accepted[0].to_json(),
            attempts=2,
        )
        stores.dead.add_sync(letter, (row.record, row.lead_id))
        stores.ledger.replace_outcome(row.record, Outcome.FAILED, "boom")
        [letter_id] = [letter.id for letter in stores.dead.items(status="open")]
    finally:
        stores.close()

    async def scenario() -> str:
        async with open_system(config(out), admit=False) as system:
            decision = await Operator(system).retry(letter_id)
            with pytest.raises(UsageError, match="is already retried"):
                await Operator(system).retry(letter_id)
            return decision.outcome

    assert anyio.run(scenario) in {"completed", "disqualified", "needs_review"}


def test_a_retry_draws_its_faults_anew(tmp_path: Path) -> None:
    """Leads whose calls timed out go to Operations (never the inbox); retrying each with
    the same seed is a new attempt, so most finish, and none comes back as the same
    retry."""
    out = tmp_path / "run"
    chaos = config(out, Fault.TIMEOUT, rate=0.45)
    anyio.run(run_pipeline, chaos, first_records(24))
    stores = Stores.open(out)
    try:
        letters = [letter.id for letter in stores.dead.items(status="open")]
        assert letters and stores.review.items() == []
    finally:
        stores.close()

    async def scenario() -> tuple[list[str], list[int]]:
        async with open_system(config(out, Fault.TIMEOUT, rate=0.45), admit=False) as system:
            outcomes = [(await Operator(system).retry(letter)).outcome for letter in letters]
            again = [
                Envelope.from_json(item.payload).message
                for item in system.stores.dead.items(status="open")
            ]
            return outcomes, [getattr(message, "retry", 0) for message in again]

    outcomes, retries = anyio.run(scenario)
    assert sum(o in {"completed", "disqualified"} for o in outcomes) > len(outcomes) // 2
    assert all(number == 2 for number in retries)


def test_adding_evidence_retries_the_lead_with_it(unknown: Path) -> None:
    """A reviewer's facts about a company go to the run's knowledge base, and the lead runs
    again from research: it is grounded in them, and its item is settled as retried."""
    fact = "Arclight Academy partners with 42 universities across Europe."

    async def scenario() -> tuple[str, int]:
        async with open_system(config(unknown, kb=KnowledgeBase({})), admit=False) as system:
            item_id = open_items(unknown)[0]
            decision = await Operator(system, reviewer="ana").retry_lead(
                item_id, facts=[fact], url="https://example.org/about"
            )
            settled = system.stores.review.item(item_id)
            assert settled is not None and settled.status == "retried"
            return decision.outcome, item_id

    outcome, item_id = anyio.run(scenario)
    assert outcome in {"completed", "disqualified", "needs_review"}
    known = json.loads((unknown / KNOWLEDGE_FILE).read_text())
    assert any(fact in entry["facts"] for entry in known.values())
    stores = Stores.open(unknown)
    try:
        item = stores.review.item(item_id)
        assert item is not None and stores.journal is not None
        envelopes = stores.journal.envelopes(kinds=["research_result"], trace_ids=[item.lead_id])
    finally:
        stores.close()
    results = [e.message for e in envelopes if isinstance(e.message, ResearchResult)]
    assert any(r.evidence and r.retry == 1 for r in results)


def test_a_failure_schedules_its_automatic_retry(tmp_path: Path) -> None:
    """A machine failure's letter is due about ``first_s`` later; its outcome reason says
    when; the runner starts it once due, and a schedule of 0 leaves it to an operator."""
    out = tmp_path / "run"
    schedule = RetrySchedule(retries=1, first_s=60.0, jitter=0.0)
    anyio.run(run_pipeline, config(out, Fault.TIMEOUT, schedule=schedule), first_records(1))

    async def scenario() -> tuple[str, int, str]:
        async with open_system(config(out, schedule=schedule), admit=False) as system:
            [letter] = system.stores.dead.items(status="open")
            assert letter.due_at is not None and letter.retries == 0
            reason = system.stores.ledger.report()[0].reason
            due = system.stores.dead.next_due()
            assert due is not None
            runner = system.retries
            runner.clock = lambda: due - timedelta(seconds=1)
            assert await runner.run_due() == 0
            runner.clock = lambda: due
            assert await runner.run_due() == 1
            await system.wait_finished()
            retried = system.stores.dead.item(letter.id)
            assert retried is not None
            return reason, retried.retries, system.stores.ledger.outcome_of(1)

    reason, retries, outcome = anyio.run(scenario)
    assert reason.startswith("In Operations: The model did not answer in time")
    assert "Next automatic retry at" in reason and "(1 of 1)" in reason
    assert retries == 1 and outcome in {"completed", "disqualified", "needs_review"}


def test_with_no_scheduled_retries_a_failure_waits_for_an_operator(tmp_path: Path) -> None:
    """``--ops-retry 0``: the letter is never due, and its reason says an operator retries."""
    out = tmp_path / "run"
    schedule = RetrySchedule(retries=0)
    anyio.run(run_pipeline, config(out, Fault.TIMEOUT, schedule=schedule), first_records(1))
    stores = Stores.open(out)
    try:
        [letter] = stores.dead.items(status="open")
        assert letter.due_at is None and stores.dead.next_due() is None
        assert "Waits for an operator (no automatic retries)" in stores.ledger.report()[0].reason
    finally:
        stores.close()


def test_only_one_open_letter_per_record(tmp_path: Path) -> None:
    """A second letter for a record supersedes the first."""
    stores = Stores.open(tmp_path)
    try:
        payload = Envelope.new(
            LeadAccepted.model_validate(
                {
                    "lead": {
                        "lead_id": "L1", "record": 1, "first_name": "A", "last_name": "",
                        "email": "a@b.co", "title": "", "company": "B", "domain": "b.co",
                        "industry": "", "employees": 5, "country": "GB", "notes": "",
                    }
                }
            ),
            producer="intake",
        ).to_json()  # fmt: skip
        letter = DeadLetter(
            failure=FailureKind.ACTOR_CRASH, reason="x", actor="a", payload=payload, attempts=1
        )
        stores.dead.add_sync(letter, (1, "L1"))
        stores.dead.add_sync(letter, (1, "L1"))
        assert [i.status for i in stores.dead.items()] == ["superseded", "open"]
    finally:
        stores.close()


def test_a_service_retries_by_itself_until_the_schedule_is_spent(tmp_path: Path) -> None:
    """The owner of the run directory (serve) retries a machine failure when it is due,
    with no one asking; once the schedule is spent the lead waits for an operator."""
    out = tmp_path / "run"
    schedule = RetrySchedule(retries=1, first_s=0.0, jitter=0.0)
    config_ = config(out, Fault.TIMEOUT, schedule=schedule)

    async def scenario() -> list[str]:
        heard: list[str] = []
        twice = anyio.Event()

        def listen(outcome: LeadOutcome) -> None:
            heard.append(outcome.reason)
            if len(heard) == 2:
                twice.set()

        async with open_system(config_) as system:
            system.listen(listen)
            rows = [(1, dict(record.fields)) for record in first_records(1)]
            await system.submit(await system.open_input("test"), rows)
            await twice.wait()
            [letter] = system.stores.dead.items(status="open")
            assert (letter.retries, letter.due_at) == (1, None)
        return heard

    first, second = anyio.run(scenario)
    assert "Next automatic retry at" in first and "(1 of 1)" in first
    assert "Waits for an operator (all 1 automatic retries spent)" in second


def test_a_decline_in_a_running_system_is_counted_for_metrics(unknown: Path) -> None:
    """Declining through the live system counts the lead as declined among the outcomes
    it heard (what /metrics and the dashboard's live figures read)."""

    async def scenario() -> dict[str, int]:
        async with open_system(config(unknown), admit=False) as system:
            await Operator(system, reviewer="ana").decline(open_items(unknown)[0], "not a fit")
            return dict(system.statistics().settled)

    assert anyio.run(scenario) == {"declined": 1}


def test_a_letter_from_an_earlier_version_is_retried_as_a_new_attempt(tmp_path: Path) -> None:
    """A stage's letter that holds the message it failed on (as older versions wrote them)
    is retried as that stage's RetryRequested, numbered by the lead's letters, so its
    faults are drawn anew; another actor's letter is sent again as it is."""
    from actors import DeadLetterItem
    from supervision.system._retries import retry_envelope

    lead = first_lead(tmp_path)
    accepted = Envelope.new(LeadAccepted(lead=lead), producer="intake", trace_id=lead.lead_id)

    def letter(actor: str) -> DeadLetterItem:
        return DeadLetterItem(
            1, lead.record, lead.lead_id, "malformed_output", "x", actor, 2,
            accepted.to_json(), None, "open",
        )  # fmt: skip

    again = retry_envelope(letter("research"), nth=3).message
    assert isinstance(again, RetryRequested)
    assert (again.stage, again.lead, again.start, again.retry) == ("research", lead, None, 3)
    assert isinstance(retry_envelope(letter("crm"), nth=3).message, LeadAccepted)


def first_lead(tmp_path: Path) -> Lead:
    """The first sample lead, as intake accepts it."""
    out = tmp_path / "lead"
    anyio.run(run_pipeline, config(out), first_records(1))
    stores = Stores.open(out)
    try:
        assert stores.journal is not None
        [envelope] = stores.journal.envelopes(kinds=["lead_accepted"])
    finally:
        stores.close()
    assert isinstance(envelope.message, LeadAccepted)
    return envelope.message.lead
