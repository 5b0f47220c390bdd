"""Research once per company: reuse within the TTL, single flight, and what ends a wait."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from anyio.lowlevel import checkpoint

from actors import (
    CompanyResearch,
    Icp,
    KnowledgeBase,
    LlmReply,
    LlmRequest,
    MemoryResearchStore,
    SqliteResearchStore,
)
from actors.agents._company_research import Researching, Reused, research_key, reuse_for
from actors.intake import RawRecord
from actors.llm import FunctionLlm, OfflineLlm
from bus import SqliteJournal
from messages import Claim, Evidence, Lead, ResearchResult, Stage
from supervision.system import PipelineConfig, RunSummary, run_pipeline
from tests.support.paths import EXAMPLES

pytestmark = pytest.mark.anyio

ICP = Icp.load(EXAMPLES / "icp.toml")
DOMAIN = "ember-labs.ai"
PROMPT = "research@000000000000"
EVIDENCE = (Evidence(evidence_id="e1", source="kb:acme.com", text="Acme makes anvils."),)


def lead(number: int, domain: str = "acme.com") -> Lead:
    return Lead(
        lead_id=f"L{number:03d}",
        record=number,
        first_name="Ada",
        last_name=f"Number{number}",
        email=f"ada{number}@{domain}",
        title="CTO",
        company="Acme",
        domain=domain,
        industry="Software",
        employees=50,
        country="GB",
        notes="",
    )


def research_of(who: Lead, evidence: tuple[Evidence, ...] = EVIDENCE) -> ResearchResult:
    claim = Claim(text="Acme makes anvils.", evidence_ids=("e1",), quote="Acme makes anvils.")
    return ResearchResult(
        lead=who, evidence=evidence, summary="Anvils.", claims=(claim,), prompt=PROMPT
    )


class Clock:
    """Seconds since the epoch, moved by the test."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# The coordinator alone


async def test_concurrent_leads_of_one_company_wait_for_one_research() -> None:
    """Of 20 leads of one company asking at once, one researches and 19 reuse its research."""
    companies = CompanyResearch(MemoryResearchStore())
    key = research_key(lead(1), EVIDENCE, PROMPT)
    turns: dict[str, object] = {}

    async def ask(number: int) -> None:
        turns[lead(number).lead_id] = await companies.turn(lead(number), key)

    async with anyio.create_task_group() as tasks:
        for number in range(1, 21):
            tasks.start_soon(ask, number)
        while companies.waiting < 19:
            await checkpoint()
        assert isinstance(turns["L001"], Researching)
        await companies.approved(research_of(lead(1)))
    reused = [t for t in turns.values() if isinstance(t, Reused)]
    assert len(reused) == 19
    assert {t.research.lead.lead_id for t in reused} == {"L001"}
    assert companies.statistics().researched == 1
    assert companies.statistics().reused == 19


async def test_a_failed_research_hands_the_turn_to_the_next_lead_waiting() -> None:
    """When the lead researching fails, one waiting lead researches; the rest wait for it."""
    companies = CompanyResearch(MemoryResearchStore())
    key = research_key(lead(1), EVIDENCE, PROMPT)
    turns: dict[int, object] = {}

    async def ask(number: int) -> None:
        turns[number] = await companies.turn(lead(number), key)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(ask, 1)
        while 1 not in turns:
            await checkpoint()
        tasks.start_soon(ask, 2)
        tasks.start_soon(ask, 3)
        while companies.waiting < 2:
            await checkpoint()
        companies.failed("L001")
        while len(turns) < 2 or companies.waiting < 1:
            await checkpoint()
        [second] = [n for n, t in turns.items() if n != 1 and isinstance(t, Researching)]
        await companies.approved(research_of(lead(second)))
    assert isinstance(turns[5 - second], Reused)
    assert companies.statistics().researched == 2


async def test_research_is_reused_within_the_ttl_and_not_after_it() -> None:
    """Kept research is reused until the TTL has passed; then the company is researched again."""
    clock = Clock()
    companies = CompanyResearch(MemoryResearchStore(), ttl=3600, now=clock)
    key = research_key(lead(1), EVIDENCE, PROMPT)
    assert isinstance(await companies.turn(lead(1), key), Researching)
    await companies.approved(research_of(lead(1)))
    clock.now += 3599
    assert isinstance(await companies.turn(lead(2), key), Reused)
    clock.now += 2
    assert isinstance(await companies.turn(lead(3), key), Researching)


async def test_changed_evidence_or_prompt_is_new_research() -> None:
    """Other evidence, or another prompt version, is another key: nothing is reused."""
    companies = CompanyResearch(MemoryResearchStore())
    assert isinstance(
        await companies.turn(lead(1), research_key(lead(1), EVIDENCE, PROMPT)), Researching
    )
    await companies.approved(research_of(lead(1)))
    changed = (Evidence(evidence_id="e1", source="kb:acme.com", text="Acme makes rockets."),)
    assert isinstance(
        await companies.turn(lead(2), research_key(lead(2), changed, PROMPT)), Researching
    )
    other = research_key(lead(3), EVIDENCE, "research@111111111111")
    assert isinstance(await companies.turn(lead(3), other), Researching)


async def test_a_ttl_of_zero_researches_every_lead() -> None:
    """``ttl=0`` turns reuse off: every lead researches, none waits."""
    companies = CompanyResearch(MemoryResearchStore(), ttl=0)
    key = research_key(lead(1), EVIDENCE, PROMPT)
    for number in range(1, 4):
        assert isinstance(await companies.turn(lead(number), key), Researching)
    await companies.approved(research_of(lead(1)))
    assert isinstance(await companies.turn(lead(4), key), Researching)


async def test_a_lead_delivered_again_takes_its_own_flight_back() -> None:
    """The researching lead, delivered again after a crash, researches: it never waits on itself."""
    companies = CompanyResearch(MemoryResearchStore())
    key = research_key(lead(1), EVIDENCE, PROMPT)
    assert isinstance(await companies.turn(lead(1), key), Researching)
    with anyio.fail_after(5):
        assert isinstance(await companies.turn(lead(1), key), Researching)


async def test_release_ends_every_wait() -> None:
    """A stopping actor releases the waiting leads: each researches for itself."""
    companies = CompanyResearch(MemoryResearchStore())
    key = research_key(lead(1), EVIDENCE, PROMPT)
    turns: list[object] = []
    await companies.turn(lead(1), key)

    async def ask(number: int) -> None:
        turns.append(await companies.turn(lead(number), key))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(ask, 2)
        tasks.start_soon(ask, 3)
        while companies.waiting < 2:
            await checkpoint()
        companies.release()
    assert all(isinstance(t, Researching) for t in turns)


async def test_a_lead_that_may_not_wait_researches_at_once() -> None:
    """``may_wait=False`` (no handler to spare) researches rather than wait."""
    companies = CompanyResearch(MemoryResearchStore())
    key = research_key(lead(1), EVIDENCE, PROMPT)
    await companies.turn(lead(1), key)
    with anyio.fail_after(5):
        assert isinstance(await companies.turn(lead(2), key, may_wait=False), Researching)


async def test_reused_research_names_the_lead_it_was_made_for() -> None:
    """A reused copy is the lead's own, with the maker in ``reused_from`` and no raw reply."""
    made = research_of(lead(1)).model_copy(update={"raw_reply": "{...}"})
    reused = reuse_for(made, lead(2))
    assert reused.lead == lead(2)
    assert reused.reused_from == "L001"
    assert reused.raw_reply is None
    assert (reused.summary, reused.claims, reused.evidence) == (
        made.summary,
        made.claims,
        made.evidence,
    )


async def test_the_sqlite_store_keeps_research_across_opens(tmp_path: Path) -> None:
    """Research kept in journal.sqlite is found by a later process, until it is stale."""
    key = research_key(lead(1), EVIDENCE, PROMPT)
    store = SqliteResearchStore(tmp_path / "journal.sqlite")
    await store.keep(key, research_of(lead(1)), at=100.0, stale=0.0)
    store.close()
    store = SqliteResearchStore(tmp_path / "journal.sqlite")
    try:
        assert await store.find(key, since=100.0) == research_of(lead(1))
        assert await store.find(key, since=100.5) is None
        other = research_key(lead(2, "globex.io"), EVIDENCE, PROMPT)
        await store.keep(other, research_of(lead(2, "globex.io")), at=200.0, stale=101.0)
        assert store.count() == 1
    finally:
        store.close()


# The system


class CountingLlm:
    """The offline engine with no flaws, recording every request."""

    def __init__(self) -> None:
        self.engine = OfflineLlm(seed=1, imperfection_rate=0.0)
        self.llm = FunctionLlm(self.answer)

    async def answer(self, request: LlmRequest) -> LlmReply:
        return await self.engine.complete(request)

    def calls(self, stage: Stage) -> int:
        return sum(1 for request in self.llm.requests if request.stage is stage)


def records(first: int, count: int, domain: str = DOMAIN) -> list[RawRecord]:
    return [
        RawRecord(
            number,
            {
                "id": f"L{number:03d}",
                "first_name": "Ada",
                "last_name": f"Number{number}",
                "email": f"ada{number}@{domain}",
                "title": "VP of Engineering",
                "company": "Ember Labs",
                "industry": "Software",
                "employees": 700,
                "country": "GB",
            },
        )
        for number in range(first, first + count)
    ]


async def run(
    out: Path,
    rows: list[RawRecord],
    llm: CountingLlm,
    *,
    clock: Clock,
    kb: KnowledgeBase | None = None,
    ttl: float = 7 * 24 * 3600,
) -> RunSummary:
    config = PipelineConfig(
        out=out,
        gateway=llm.llm,
        icp=ICP,
        source=kb or KnowledgeBase.load(EXAMPLES / "companies.json"),
        concurrency=8,
        research_ttl=ttl,
        research_clock=clock,
    )
    with anyio.fail_after(60):
        return await run_pipeline(config, rows)


def research_in_trace(out: Path, lead_id: str) -> ResearchResult:
    journal = SqliteJournal(out / "journal.sqlite")
    try:
        entries = journal.trace(lead_id)
    finally:
        journal.close()
    found = [
        e.message
        for e in entries
        if isinstance(e.message, ResearchResult) and e.producer == "research"
    ]
    assert len(found) == 1, found
    return found[0]


async def test_twenty_leads_at_one_company_make_one_research_call(tmp_path: Path) -> None:
    """20 leads of one company: research is called once, and every other lead's trace
    names the lead whose research it reused."""
    llm = CountingLlm()
    summary = await run(tmp_path, records(1, 20), llm, clock=Clock())
    assert summary.outcomes["completed"] + summary.outcomes["disqualified"] == 20
    assert llm.calls(Stage.RESEARCH) == 1
    made = [
        lead
        for lead in (f"L{n:03d}" for n in range(1, 21))
        if research_in_trace(tmp_path, lead).reused_from is None
    ]
    assert len(made) == 1
    for number in range(1, 21):
        lead_id = f"L{number:03d}"
        if lead_id != made[0]:
            assert research_in_trace(tmp_path, lead_id).reused_from == made[0]


async def test_research_is_reused_across_restarts_until_the_ttl(tmp_path: Path) -> None:
    """A later run into the same directory reuses the research kept in journal.sqlite;
    once the TTL has passed, the company is researched again."""
    clock = Clock()
    await run(tmp_path, records(1, 2), CountingLlm(), clock=clock, ttl=3600)
    again = CountingLlm()
    clock.now += 3000
    await run(tmp_path, records(3, 2), again, clock=clock, ttl=3600)
    assert again.calls(Stage.RESEARCH) == 0
    assert research_in_trace(tmp_path, "L003").reused_from in {"L001", "L002"}
    later = CountingLlm()
    clock.now += 700
    await run(tmp_path, records(5, 2), later, clock=clock, ttl=3600)
    assert later.calls(Stage.RESEARCH) == 1


async def test_changed_evidence_means_new_research(tmp_path: Path) -> None:
    """The same company with other evidence (an edited knowledge base) is researched again."""
    clock = Clock()
    await run(tmp_path, records(1, 2), CountingLlm(), clock=clock)
    companies = json.loads((EXAMPLES / "companies.json").read_text())
    companies[DOMAIN]["facts"] = [*companies[DOMAIN]["facts"], "It opened an office in Leeds."]
    edited = CountingLlm()
    await run(tmp_path, records(3, 2), edited, clock=clock, kb=KnowledgeBase(companies))
    assert edited.calls(Stage.RESEARCH) == 1
    assert research_in_trace(tmp_path, "L003").reused_from in {None, "L004"}
