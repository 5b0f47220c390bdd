"""The offline engine: deterministic, grounded, polite, and imperfect at the configured rate.

The builders and the checks come from ``tests.support.offline`` (shared with ChaosLlm's
tests). The checks are deliberately simple, independent of the validator: they pin what
the engine promises.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from actors.llm import (
    REPLY_TYPES,
    DraftReply,
    LlmRequest,
    OfflineLlm,
    OfflineStatistics,
    ResearchReply,
    ScoreReply,
    estimate_tokens,
)
from messages import Evidence, LlmTimeout, Stage, UsageError
from tests.support.offline import (
    INJECTIONS,
    Chain,
    draft_problems,
    make_evidence,
    make_lead,
    make_request,
    research_inputs,
    research_problems,
    score_problems,
    scoring_inputs,
    writing_inputs,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


# -- determinism and shape --------------------------------------------------------------------


async def test_same_inputs_give_the_same_text() -> None:
    """Two engines with one seed answer every stage of a lead with identical text."""
    chain = await Chain.build(3)
    for stage in Stage:
        first = await chain.ask(OfflineLlm(seed=7), stage)
        assert first == await chain.ask(OfflineLlm(seed=7), stage)


async def test_text_differs_across_seeds_and_leads() -> None:
    """Changing the seed or the lead changes the replies."""
    chains = [await Chain.build(number) for number in range(1, 21)]
    for stage in Stage:
        one = [await chain.ask(OfflineLlm(seed=1), stage) for chain in chains]
        two = [await chain.ask(OfflineLlm(seed=2), stage) for chain in chains]
        assert one != two
        assert len(set(one)) == len(one)


async def test_correct_outputs_parse_into_their_reply_types() -> None:
    """A flawless engine's replies parse into the stage's reply type and pass the checks."""
    llm = OfflineLlm(imperfection_rate=0.0)
    for number in range(1, 41):
        chain = await Chain.build(number)
        for stage in Stage:
            reply = await llm.complete(chain.request(stage))
            REPLY_TYPES[stage].model_validate_json(reply.text)
            assert chain.problems(stage, reply.text) == []
            assert (reply.model, reply.finish_reason, reply.extra) == ("offline-1", "stop", {})


async def test_reply_reports_tokens_and_model() -> None:
    """Tokens are a quarter of the characters, and the request's model wins over the default."""
    chain = await Chain.build(1)
    request = chain.request(Stage.SCORING)
    reply = await OfflineLlm(model="offline-2").complete(request)
    assert reply.prompt_tokens == max(1, len(request.system + request.prompt) // 4)
    assert reply.completion_tokens == max(1, len(reply.text) // 4)
    assert reply.model == "offline-2"
    override = LlmRequest(**{**_fields(request), "model": "fallback-model"})
    assert (await OfflineLlm().complete(override)).model == "fallback-model"


def _fields(request: LlmRequest) -> dict[str, Any]:
    return {name: getattr(request, name) for name in LlmRequest.__slots__}


def test_token_estimate() -> None:
    """An estimate is a quarter of the length, and at least one."""
    assert [estimate_tokens(text) for text in ("", "abc", "abcdefgh")] == [1, 1, 2]


# -- research -------------------------------------------------------------------------------

_SENTENCE = st.lists(
    st.sampled_from(("data", "team", "cloud", "grows", "in", "Europe", "hires", "3", "fast")),
    min_size=3,
    max_size=9,
).map(lambda words: " ".join(words).capitalize() + ".")


@settings(max_examples=60)
@given(
    texts=st.lists(
        st.lists(_SENTENCE, min_size=1, max_size=4).map(" ".join), min_size=1, max_size=5
    ),
    number=st.integers(1, 500),
)
@example(texts=["Data data data. In in 3."], number=1)  # one sentence only worth quoting
async def test_research_quotes_verbatim_spans_of_cited_evidence(
    texts: list[str], number: int
) -> None:
    """Each of the 2-4 claims (fewer only if fewer sentences are worth quoting) cites one
    known item and quotes a sentence of it verbatim."""
    lead = make_lead(number)
    evidence = [
        Evidence(evidence_id=f"e{i}", source="kb:x.com", text=t) for i, t in enumerate(texts)
    ]
    request = make_request(Stage.RESEARCH, research_inputs(lead, evidence), trace_id=lead.lead_id)
    reply = ResearchReply.model_validate_json(
        (await OfflineLlm(imperfection_rate=0).complete(request)).text
    )
    # A sentence is worth quoting if it has a word of three letters or more ("In in 3."
    # has none).
    quotable = sum(
        any(len(word.strip(".")) >= 3 and word.strip(".").isalpha() for word in sentence.split())
        for text in texts
        for sentence in text.split(". ")
    )
    assert min(2, quotable) <= len(reply.claims) <= 4
    assert research_problems(reply, evidence) == []
    for claim in reply.claims:
        assert len(claim.evidence_ids) == 1
        assert claim.quote[3:] in claim.text


@settings(max_examples=40)
@given(text=st.text(max_size=300))
async def test_research_quotes_are_substrings_of_any_text(text: str) -> None:
    """Whatever the evidence text, every quote is a verbatim substring of it."""
    lead = make_lead(1)
    evidence = [Evidence(evidence_id="e1", source="https://x.com", text=text)]
    request = make_request(Stage.RESEARCH, research_inputs(lead, evidence), trace_id="t")
    reply = ResearchReply.model_validate_json(
        (await OfflineLlm(imperfection_rate=0).complete(request)).text
    )
    assert all(claim.quote in text for claim in reply.claims)


async def test_research_without_evidence_knows_nothing() -> None:
    """With no evidence, the summary says nothing is known and there are no claims."""
    lead = make_lead(5)
    request = make_request(Stage.RESEARCH, research_inputs(lead, ()), trace_id=lead.lead_id)
    reply = ResearchReply.model_validate_json(
        (await OfflineLlm(imperfection_rate=0).complete(request)).text
    )
    assert reply.claims == []
    assert reply.summary.startswith(f"Nothing is known about {lead.company}")


# -- scoring --------------------------------------------------------------------------------


@settings(max_examples=60)
@given(
    icp_score=st.integers(0, 100),
    number=st.integers(1, 500),
    high=st.integers(50, 100),
    medium=st.integers(0, 49),
)
async def test_score_stays_near_the_icp_prior_and_agrees_with_its_fit(
    icp_score: int, number: int, high: int, medium: int
) -> None:
    """The score is the ICP score within 8 points, its fit follows the given thresholds,
    and each reason names a field the row gives (an empty one is unknown, not a reason)."""
    lead = make_lead(number)
    research = ResearchReply(summary="Nothing.", claims=[])
    inputs = {
        **scoring_inputs(lead, research, icp_score),
        "thresholds": {"high": high, "medium": medium},
    }
    request = make_request(Stage.SCORING, inputs, trace_id=lead.lead_id)
    reply = ScoreReply.model_validate_json(
        (await OfflineLlm(imperfection_rate=0).complete(request)).text
    )
    assert abs(reply.score - icp_score) <= 8
    assert score_problems(reply, {"high": high, "medium": medium}) == []
    assert 0.7 <= reply.confidence <= 0.95
    assert 2 <= len(reply.reasons) <= 3
    facts = [f for f in (lead.industry, lead.employees_text, lead.country, lead.title) if f]
    assert all(any(fact in reason for fact in facts) for reason in reply.reasons)


# -- writing --------------------------------------------------------------------------------


@settings(max_examples=40)
@given(
    number=st.integers(1, 500),
    first_name=st.text(st.characters(categories=["L"]), min_size=1, max_size=20),
    company=st.text(st.characters(categories=["L"]), min_size=1, max_size=60),
)
async def test_draft_greets_names_the_company_and_offers_an_opt_out(
    number: int, first_name: str, company: str
) -> None:
    """The draft greets by first name, names the company, ends with the opt-out line."""
    lead = make_lead(number).model_copy(update={"first_name": first_name, "company": company})
    evidence = make_evidence(lead)
    claims = [
        {
            "text": f"The company states: {item.text}",
            "evidence_ids": [item.evidence_id],
            "quote": item.text,
        }
        for item in evidence[1:]
    ]
    research = ResearchReply.model_validate({"summary": "Facts.", "claims": claims})
    score = ScoreReply(fit="high", score=80, confidence=0.9, reasons=["Fits."])
    request = make_request(
        Stage.WRITING, writing_inputs(lead, research, score), trace_id=lead.lead_id
    )
    reply = DraftReply.model_validate_json(
        (await OfflineLlm(imperfection_rate=0).complete(request)).text
    )
    assert draft_problems(reply, lead, research, evidence) == []
    assert reply.body.count("\n\n") >= 5


async def test_draft_quotes_one_research_claim() -> None:
    """The draft reuses exactly one claim's quote verbatim, so it states no new fact."""
    for number in range(1, 31):
        chain = await Chain.build(number)
        draft = DraftReply.model_validate_json(
            await chain.ask(OfflineLlm(imperfection_rate=0), Stage.WRITING)
        )
        quotes = [c["quote"] for c in chain.inputs[Stage.WRITING]["research"]["claims"]]
        assert sum(f'"{quote}"' in draft.body for quote in quotes) == 1


async def test_draft_skips_quotes_with_links() -> None:
    """A claim that quotes a link is never repeated, so the only link is the sender's."""
    lead = make_lead(2)
    evidence = [
        Evidence(evidence_id="e1", source="kb:x", text="See https://evil.example.com/x now.")
    ]
    claims = [{"text": "See the link.", "evidence_ids": ["e1"], "quote": evidence[0].text}]
    research = ResearchReply.model_validate({"summary": "A link.", "claims": claims})
    score = ScoreReply(fit="high", score=80, confidence=0.9, reasons=["Fits."])
    for trace_id in map(str, range(20)):
        request = make_request(
            Stage.WRITING, writing_inputs(lead, research, score), trace_id=trace_id
        )
        reply = DraftReply.model_validate_json(
            (await OfflineLlm(imperfection_rate=0).complete(request)).text
        )
        assert draft_problems(reply, lead, research, evidence) == []


@pytest.mark.parametrize("notes", INJECTIONS)
async def test_replies_never_echo_instructions_in_notes(notes: str) -> None:
    """Notes are data: no stage repeats a link or a five-word run from injection-style notes."""
    for number in range(1, 21):
        chain = await Chain.build(number, notes=notes)
        for stage in Stage:
            reply = json.loads(await chain.ask(OfflineLlm(imperfection_rate=0), stage))
            text = " ".join(str(value) for value in reply.values()).casefold()
            words = re.findall(r"\w+", notes.casefold())
            runs = {" ".join(words[i : i + 5]) for i in range(len(words) - 4)}
            assert not any(run in " ".join(re.findall(r"\w+", text)) for run in runs)
            assert not {"evil", "cheap-deals", "discount"} & set(re.findall(r"[\w-]+", text))
            if stage is Stage.WRITING:
                draft = DraftReply.model_validate(reply)
                assert chain.problems(stage, draft.model_dump_json()) == []


# -- imperfections --------------------------------------------------------------------------


async def _flawed(llm: OfflineLlm, chains: list[Chain], stage: Stage, **kwargs: Any) -> list[bool]:
    """Per chain, whether the reply has a flaw; the engine's own label must agree."""
    flawed = []
    for chain in chains:
        reply = await llm.complete(chain.request(stage, **kwargs))
        problems = chain.problems(stage, reply.text)
        assert bool(problems) == ("imperfection" in reply.extra), (problems, reply.extra)
        flawed.append(bool(problems))
    return flawed


@pytest.fixture(scope="module")
async def chains(anyio_backend: str) -> list[Chain]:
    """Correct inputs for 200 synthetic leads."""
    return [await Chain.build(number) for number in range(1, 201)]


@pytest.mark.parametrize("stage", list(Stage))
@pytest.mark.parametrize(("rate", "low", "high"), [(0.0, 0, 0), (0.06, 3, 26), (0.3, 38, 84)])
async def test_imperfection_rate_matches_the_configured_rate(
    chains: list[Chain], stage: Stage, rate: float, low: int, high: int
) -> None:
    """Over 200 leads, the flawed first attempts number within a band around rate * 200."""
    flawed = await _flawed(OfflineLlm(seed=11, imperfection_rate=rate), chains, stage)
    assert low <= sum(flawed) <= high


@pytest.mark.parametrize("stage", list(Stage))
async def test_feedback_fixes_flaws(chains: list[Chain], stage: Stage) -> None:
    """A re-ask with feedback is flawed a third as often: most flaws get fixed."""
    llm = OfflineLlm(seed=5, imperfection_rate=1.0)
    assert all(await _flawed(llm, chains, stage))
    again = await _flawed(llm, chains, stage, attempt=2, feedback=("Claim 1 is ungrounded.",))
    assert 40 <= sum(again) <= 95  # a third of 200, give or take 4 standard deviations
    retry = await _flawed(llm, chains, stage, attempt=1, feedback=("Fix it.",))
    assert 40 <= sum(retry) <= 95


async def test_every_kind_of_flaw_occurs() -> None:
    """Each stage makes each of its kinds of mistake, and statistics count them."""
    llm = OfflineLlm(imperfection_rate=1.0)
    seen: dict[Stage, set[str]] = {stage: set() for stage in Stage}
    for number in range(1, 31):
        chain = await Chain.build(number)
        for stage in Stage:
            reply = await llm.complete(chain.request(stage))
            seen[stage].add(reply.extra["imperfection"])
    assert seen == {
        Stage.RESEARCH: {"ungrounded_claim", "unknown_evidence"},
        Stage.SCORING: {"inconsistent_score"},
        Stage.WRITING: {"placeholder", "unsupported_number"},
    }
    assert llm.statistics() == OfflineStatistics(calls=90, imperfect=90)


# -- latency, misuse ------------------------------------------------------------------------


async def test_latency_beyond_the_deadline_times_out() -> None:
    """A simulated latency longer than the request's timeout raises LlmTimeout."""
    chain = await Chain.build(1)
    request = LlmRequest(**{**_fields(chain.request(Stage.SCORING)), "timeout": 0.001})
    with pytest.raises(LlmTimeout, match=r"latency of 0\.005 s exceeds the call's timeout"):
        await OfflineLlm(latency_ms=5).complete(request)


async def test_latency_is_reported() -> None:
    """The reply reports the simulated latency in seconds."""
    chain = await Chain.build(1)
    reply = await OfflineLlm(latency_ms=1).complete(chain.request(Stage.SCORING))
    assert math.isclose(reply.latency_s, 0.001)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"imperfection_rate": 1.5}, "imperfection_rate=1.5 must be between 0 and 1"),
        ({"latency_ms": -1}, "latency_ms=-1 must be a finite number >= 0"),
        ({"latency_ms": math.inf}, "latency_ms=inf must be a finite number >= 0"),
        ({"seed": "1"}, "seed='1' must be an int"),
        ({"model": ""}, "model='' is empty; name the model, such as 'offline-1'"),
    ],
)
def test_misuse_is_refused_with_a_precise_message(kwargs: dict[str, Any], message: str) -> None:
    """Bad constructor arguments raise UsageError naming the value and the fix."""
    with pytest.raises(UsageError) as caught:
        OfflineLlm(**kwargs)
    assert str(caught.value) == message


async def test_malformed_inputs_are_a_usage_error() -> None:
    """Inputs that lack what the stage reads raise UsageError naming the missing key."""
    request = make_request(
        Stage.SCORING, {"lead": make_lead(1).model_dump(mode="json")}, trace_id="t"
    )
    with pytest.raises(UsageError) as caught:
        await OfflineLlm().complete(request)
    assert str(caught.value) == (
        "inputs['icp_score'] of the scoring request: Field required; "
        "build the inputs as actors/agents/_prompts.py does"
    )
