"""Prompts laid out for provider prompt caching, and cached tokens read, counted and priced."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from actors import Icp, LlmCaller
from actors.agents import research_request, scoring_request, writing_request
from actors.llm import OpenAiLlm
from actors.llm._pricing import PRICES, cost_usd
from actors.llm.testing import FakeOpenAI, OfflineModel, completion
from messages import Claim, Evidence, Fit, Lead, LeadScore, ResearchResult
from tests.support.paths import EXAMPLES

pytestmark = pytest.mark.anyio

ICP = Icp.load(EXAMPLES / "icp.toml")


def lead(number: int, domain: str) -> Lead:
    return Lead(
        lead_id=f"L{number}",
        record=number,
        first_name=f"Name{number}",
        last_name="Smith",
        email=f"name{number}@{domain}",
        title="CTO",
        company=domain.split(".")[0].title(),
        domain=domain,
        industry="Software",
        employees=100 * number,
        country="GB",
        notes=f"Met at event {number}.",
    )


def research(who: Lead) -> ResearchResult:
    evidence = (
        Evidence(evidence_id="e1", source=f"kb:{who.domain}", text=f"{who.company} ships."),
    )
    claim = Claim(text=f"{who.company} ships.", evidence_ids=("e1",), quote=f"{who.company} ships.")
    return ResearchResult(lead=who, evidence=evidence, summary="Ships.", claims=(claim,))


def score(who: Lead) -> LeadScore:
    return LeadScore(
        research=research(who),
        fit=Fit.HIGH,
        score=80,
        icp_score=78,
        icp_fit=Fit.HIGH,
        confidence=0.9,
        reasons=(f"Size: {who.employees}.",),
    )


def rendered(system: str, prompt: str) -> str:
    """What reaches the provider, in order: the system message, then the user message."""
    return f"{system}\n{prompt}"


def compact(value: object) -> str:
    """``value`` as the prompts write their data: compact JSON."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def shared(a: str, b: str) -> str:
    """The longest prefix ``a`` and ``b`` have in common, character by character."""
    length = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    return a[:length]


def test_two_leads_share_the_writing_prompt_up_to_their_own_data() -> None:
    """The writing prompts of two leads at two companies share, byte for byte, the
    instructions and the sender; each lead's own data comes after."""
    one, two = lead(1, "acme.com"), lead(2, "globex.io")
    a = writing_request(score(one), ICP, attempt=1, feedback=(), timeout=30)
    b = writing_request(score(two), ICP, attempt=1, feedback=(), timeout=30)
    prefix = shared(rendered(a.system, a.prompt), rendered(b.system, b.prompt))
    sender = compact(a.inputs["sender"])
    assert prefix.startswith(a.system + "\n<data>\n")
    assert sender in prefix
    for private in (one.first_name, one.email, one.notes, one.company):
        assert private not in prefix
    assert a.prompt.index('"lead"') > a.prompt.index('"research"') > a.prompt.index(sender)


def test_two_leads_share_the_scoring_prompt_up_to_their_own_data() -> None:
    """The scoring prompts of two leads share the instructions and the ICP's thresholds."""
    one, two = lead(1, "acme.com"), lead(2, "globex.io")
    a = scoring_request(research(one), ICP, attempt=1, feedback=(), timeout=30)
    b = scoring_request(research(two), ICP, attempt=1, feedback=(), timeout=30)
    prefix = shared(rendered(a.system, a.prompt), rendered(b.system, b.prompt))
    thresholds = compact({"thresholds": a.inputs["thresholds"]})[:-1]
    assert prefix.startswith(a.system + "\n<data>\n" + thresholds)
    assert one.email not in prefix and one.company not in prefix
    assert list(a.inputs)[-1] == "lead"


def test_leads_of_one_company_share_the_company_part_of_the_prompt() -> None:
    """Two contacts at one company share the scoring prompt through the research too."""
    one, two = lead(1, "acme.com"), lead(2, "acme.com")
    a = scoring_request(research(one), ICP, attempt=1, feedback=(), timeout=30)
    b = scoring_request(research(two), ICP, attempt=1, feedback=(), timeout=30)
    prefix = shared(rendered(a.system, a.prompt), rendered(b.system, b.prompt))
    assert compact(a.inputs["research"]) in prefix
    assert one.email not in prefix


def test_research_asks_about_the_company_never_the_contact() -> None:
    """A research prompt holds the evidence and the company, nothing of the person: so
    two contacts of one company get the same research prompt, byte for byte."""
    one, two = lead(1, "acme.com"), lead(2, "acme.com")
    evidence = research(one).evidence
    a = research_request(one, evidence, attempt=1, feedback=(), timeout=30)
    b = research_request(two, evidence, attempt=1, feedback=(), timeout=30)
    assert (a.system, a.prompt) == (b.system, b.prompt)
    assert one.first_name not in a.prompt and one.email not in a.prompt


def test_feedback_comes_after_the_data() -> None:
    """A re-ask keeps the first attempt's prompt as its prefix: the feedback goes last."""
    who = lead(1, "acme.com")
    first = scoring_request(research(who), ICP, attempt=1, feedback=(), timeout=30)
    again = scoring_request(research(who), ICP, attempt=2, feedback=("[x] fix it",), timeout=30)
    assert again.prompt.startswith(first.prompt)


async def test_fake_openai_reports_a_repeated_prefix_as_cached() -> None:
    """The fake server counts a repeated prompt prefix as cached tokens, and the caller
    records them and prices them at the model's cached rate."""
    system = "You are a careful assistant. " * 40
    with FakeOpenAI(lambda body, number: completion({"ok": True})) as server:
        llm = OpenAiLlm(model="gpt-4o-mini", base_url=server.url, api_key="sk-test")
        caller = LlmCaller(llm)
        one = writing_request(score(lead(1, "acme.com")), ICP, attempt=1, feedback=(), timeout=30)
        two = writing_request(score(lead(2, "globex.io")), ICP, attempt=1, feedback=(), timeout=30)
        first = await caller.call(replace(one, system=system))
        second = await caller.call(replace(two, system=system))
        await llm.aclose()
    assert first.cached_tokens == 0
    assert second.cached_tokens >= len(system) // 4 - 16
    assert second.cached_tokens < second.prompt_tokens
    stats = caller.statistics()
    assert stats.cached_tokens == second.cached_tokens == server.cached_tokens
    expected = cost_usd(
        "gpt-4o-mini",
        second.prompt_tokens,
        second.completion_tokens,
        cached_tokens=second.cached_tokens,
    )
    assert second.extra["cost_usd"] == pytest.approx(expected)
    price = PRICES["gpt-4o-mini"]
    full = cost_usd("gpt-4o-mini", second.prompt_tokens, second.completion_tokens)
    assert full is not None and expected is not None
    saved = second.cached_tokens * (price.input_per_m - price.cached_per_m) / 1e6
    assert full - expected == pytest.approx(saved)


async def test_the_offline_model_behind_fake_openai_sees_caching_across_leads() -> None:
    """Two leads' writing prompts through FakeOpenAI: the second reads the shared prefix
    (instructions and sender) from the cache."""
    with FakeOpenAI(OfflineModel()) as server:
        llm = OpenAiLlm(model="gpt-4o-mini", base_url=server.url, api_key="sk-test")
        caller = LlmCaller(llm)
        for number, domain in ((1, "acme.com"), (2, "globex.io")):
            request = writing_request(
                score(lead(number, domain)), ICP, attempt=1, feedback=(), timeout=30
            )
            reply = await caller.call(request)
        await llm.aclose()
    assert reply.cached_tokens * 4 >= len(request.system)


def test_each_stage_is_sent_only_the_fields_it_works_from() -> None:
    """Scoring and writing get no email, no record number and no empty field; writing
    never sees the notes; both get the research as its claims' quotes alone."""
    who = lead(1, "acme.com").model_copy(update={"country": "", "employees": None})
    scoring = scoring_request(research(who), ICP, attempt=1, feedback=(), timeout=30)
    writing = writing_request(score(who), ICP, attempt=1, feedback=(), timeout=30)
    assert scoring.inputs["lead"] == {
        "lead_id": "L1", "first_name": "Name1", "title": "CTO", "company": "Acme",
        "industry": "Software", "notes": "Met at event 1.",
    }  # fmt: skip
    assert writing.inputs["lead"] == {
        "lead_id": "L1", "first_name": "Name1", "last_name": "Smith", "title": "CTO",
        "company": "Acme", "domain": "acme.com", "industry": "Software",
    }  # fmt: skip
    assert scoring.inputs["research"] == writing.inputs["research"] == {"facts": ["Acme ships."]}
    for request in (scoring, writing):
        assert who.email not in request.prompt and '""' not in request.prompt
