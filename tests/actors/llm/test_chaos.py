"""Fault injection: ChaosLlm breaks replies at a seeded rate, in every declared way."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import pytest
from pydantic import ValidationError

from actors.llm import (
    REPLY_TYPES,
    ChaosLlm,
    ChaosStatistics,
    DraftReply,
    Fault,
    LlmGateway,
    LlmReply,
    LlmRequest,
    OfflineLlm,
    ResearchReply,
    ScoreReply,
)
from actors.llm import _chaos as chaos_module
from messages import LlmError, LlmTimeout, ProviderError, RateLimited, Stage, UsageError
from tests.support.offline import PLACEHOLDER, Chain, research_problems, score_problems

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def chains(anyio_backend: str) -> list[Chain]:
    """Correct inputs for 40 synthetic leads."""
    return [await Chain.build(number) for number in range(1, 41)]


_RAISED = {
    LlmTimeout: Fault.TIMEOUT,
    RateLimited: Fault.RATE_LIMIT,
    ProviderError: Fault.SERVER_ERROR,
}
_STAGE_ONLY = {
    Stage.RESEARCH: Fault.UNGROUNDED_CLAIM,
    Stage.SCORING: Fault.INCONSISTENT_SCORE,
    Stage.WRITING: Fault.PLACEHOLDER,
}
_ANY_STAGE = [fault for fault in Fault if fault not in _STAGE_ONLY.values()]


async def outcome(llm: LlmGateway, request: LlmRequest) -> tuple[Fault | None, LlmReply | LlmError]:
    """The fault a call shows, if any, with its reply or the exception it raised."""
    try:
        reply = await llm.complete(request)
    except LlmError as error:
        return _RAISED[type(error)], error
    chaos = reply.extra.get("chaos")
    return (None if chaos is None else Fault(chaos)), reply


def _inner() -> OfflineLlm:
    return OfflineLlm(imperfection_rate=0.0)


async def test_rate_zero_is_the_inner_gateway(chains: list[Chain]) -> None:
    """At rate 0 every reply equals the inner gateway's, and nothing is injected."""
    chaos = ChaosLlm(_inner(), rate=0.0, seed=3)
    for chain in chains:
        for stage in Stage:
            request = chain.request(stage)
            assert await chaos.complete(request) == await _inner().complete(request)
    assert chaos.statistics() == ChaosStatistics(
        calls=3 * len(chains), injected=dict.fromkeys(Fault, 0)
    )


async def test_rate_one_always_injects(chains: list[Chain]) -> None:
    """At rate 1 every call raises or returns a corrupted reply."""
    chaos = ChaosLlm(_inner(), rate=1.0)
    for chain in chains:
        for stage in Stage:
            fault, _ = await outcome(chaos, chain.request(stage))
            assert fault is not None
    stats = chaos.statistics()
    assert stats.calls == stats.injected_total == 3 * len(chains)


@pytest.mark.parametrize("fault", list(_RAISED.values()))
async def test_transport_faults_raise(chains: list[Chain], fault: Fault) -> None:
    """Timeouts, 429s and 5xx raise their LlmError, a 429 with a retry-after in range."""
    chaos = ChaosLlm(_inner(), rate=1.0, faults=[fault])
    for chain in chains[:10]:
        for stage in Stage:
            with pytest.raises(LlmError) as caught:
                await chaos.complete(chain.request(stage))
            assert _RAISED[type(caught.value)] is fault
            if isinstance(caught.value, RateLimited):
                assert caught.value.retry_after is not None
                low, high = chaos_module.ADVISED_PAUSE_S
                assert low <= caught.value.retry_after <= high


async def test_truncated_json_is_cut_in_the_middle(chains: list[Chain]) -> None:
    """A truncated reply is a proper prefix of the inner text, no JSON, finish_reason length."""
    chaos = ChaosLlm(_inner(), rate=1.0, faults=[Fault.TRUNCATED_JSON])
    for chain in chains[:10]:
        for stage in Stage:
            full = (await _inner().complete(chain.request(stage))).text
            reply = await chaos.complete(chain.request(stage))
            assert reply.finish_reason == "length"
            assert full.startswith(reply.text)
            assert len(full) // 4 <= len(reply.text) < len(full)
            with pytest.raises(json.JSONDecodeError):
                json.loads(reply.text)


async def test_prose_is_not_json(chains: list[Chain]) -> None:
    """A prose reply is an English sentence that no JSON parser accepts."""
    chaos = ChaosLlm(_inner(), rate=1.0, faults=[Fault.PROSE])
    for chain in chains[:10]:
        for stage in Stage:
            reply = await chaos.complete(chain.request(stage))
            assert reply.text[0].isupper()
            assert reply.text.endswith(".")
            with pytest.raises(json.JSONDecodeError):
                json.loads(reply.text)


async def test_schema_violation_is_json_that_fails_the_schema(chains: list[Chain]) -> None:
    """A schema violation parses as a JSON object but fails the stage's reply type."""
    chaos = ChaosLlm(_inner(), rate=1.0, faults=[Fault.SCHEMA_VIOLATION])
    for chain in chains:
        for stage in Stage:
            reply = await chaos.complete(chain.request(stage))
            assert isinstance(json.loads(reply.text), dict)
            with pytest.raises(ValidationError):
                REPLY_TYPES[stage].model_validate_json(reply.text)


async def test_semantic_faults_corrupt_the_meaning(chains: list[Chain]) -> None:
    """Ungrounded claims, placeholders and inconsistent scores keep the schema but fail checks."""
    chaos = ChaosLlm(_inner(), rate=1.0, faults=list(_STAGE_ONLY.values()))
    for chain in chains:
        research = ResearchReply.model_validate_json(await chain.ask(chaos, Stage.RESEARCH))
        assert research_problems(research, chain.evidence) != []
        assert score_problems(ScoreReply.model_validate_json(await chain.ask(chaos, Stage.SCORING)))
        draft = DraftReply.model_validate_json(await chain.ask(chaos, Stage.WRITING))
        assert PLACEHOLDER.search(f"{draft.subject}\n{draft.body}")
    assert chaos.statistics().injected == dict.fromkeys(_STAGE_ONLY.values(), len(chains))


async def test_faults_for_other_stages_are_never_drawn(chains: list[Chain]) -> None:
    """A stage-specific fault leaves the other stages' replies untouched."""
    chaos = ChaosLlm(_inner(), rate=1.0, faults=[Fault.PLACEHOLDER])
    for chain in chains[:10]:
        for stage in (Stage.RESEARCH, Stage.SCORING):
            request = chain.request(stage)
            assert await chaos.complete(request) == await _inner().complete(request)
    assert chaos.statistics().injected_total == 0


async def test_the_mix_covers_every_applicable_fault(chains: list[Chain]) -> None:
    """Over many calls, each stage sees exactly its applicable faults, every one of them."""
    chaos = ChaosLlm(_inner(), rate=0.5, seed=9)
    seen: dict[Stage, set[Fault | None]] = {stage: set() for stage in Stage}
    for chain in chains:
        for stage in Stage:
            for attempt in (1, 2):
                fault, _ = await outcome(chaos, chain.request(stage, attempt=attempt))
                seen[stage].add(fault)
    for stage in Stage:
        assert seen[stage] == {None, *_ANY_STAGE, _STAGE_ONLY[stage]}
    stats = chaos.statistics()
    assert stats.calls == 6 * len(chains)
    assert 0.35 < stats.injected_total / stats.calls < 0.65
    assert all(count > 0 for count in stats.injected.values())


async def _outcomes(chaos: ChaosLlm, chains: list[Chain]) -> list[str]:
    """What each call in a fixed sequence did, as comparable text."""
    seen = []
    for chain in chains[:15]:
        for stage in Stage:
            for _ in range(2):  # the same request twice, as a retry would send it
                fault, result = await outcome(chaos, chain.request(stage))
                seen.append(f"{fault} {result}")
    return seen


async def test_outcomes_are_deterministic_per_seed(chains: list[Chain]) -> None:
    """Two wrappers with one seed do the same to the same calls; another seed does not."""
    one = await _outcomes(ChaosLlm(_inner(), rate=0.4, seed=1), chains)
    assert one == await _outcomes(ChaosLlm(_inner(), rate=0.4, seed=1), chains)
    assert one != await _outcomes(ChaosLlm(_inner(), rate=0.4, seed=2), chains)


async def test_a_retried_call_gets_a_fresh_draw(chains: list[Chain]) -> None:
    """Sending the same request again draws again, so a retry can succeed."""
    chaos = ChaosLlm(_inner(), rate=0.5, seed=4)
    request = chains[0].request(Stage.SCORING)
    faults = [(await outcome(chaos, request))[0] for _ in range(30)]
    assert None in faults
    assert len(set(faults)) > 2


async def test_an_operations_retry_draws_anew_in_a_new_process(chains: list[Chain]) -> None:
    """A fresh wrapper (another process) draws the same for a lead's first pass, but
    differently for each Operations retry of it, so that a retry by hand can succeed."""
    requests = [chain.request(Stage.SCORING) for chain in chains]

    async def first_calls(retry: int) -> list[Fault | None]:
        chaos = ChaosLlm(_inner(), rate=0.5, seed=4)
        return [(await outcome(chaos, dataclasses.replace(r, retry=retry)))[0] for r in requests]

    first = await first_calls(0)
    assert first == await first_calls(0)
    assert first != await first_calls(1) != await first_calls(2)
    assert await first_calls(1) == await first_calls(1)


class _Down:
    """A gateway whose provider is down."""

    inner = None

    async def complete(self, request: LlmRequest) -> LlmReply:
        raise ProviderError("The provider is down.")

    async def aclose(self) -> None:
        """Nothing to release."""


async def test_inner_failures_propagate_uncounted(chains: list[Chain]) -> None:
    """An error of the inner gateway reaches the caller, and no fault is counted for it."""
    chaos = ChaosLlm(_Down(), rate=1.0, faults=[Fault.TRUNCATED_JSON])
    with pytest.raises(ProviderError, match=r"The provider is down\."):
        await chaos.complete(chains[0].request(Stage.RESEARCH))
    assert chaos.statistics() == ChaosStatistics(calls=1, injected={Fault.TRUNCATED_JSON: 0})


async def test_unparseable_inner_text_is_passed_through(chains: list[Chain]) -> None:
    """A semantic fault cannot corrupt prose, so the inner reply passes unchanged."""
    prose = ChaosLlm(_inner(), rate=1.0, faults=[Fault.PROSE])
    chaos = ChaosLlm(prose, rate=1.0, faults=[Fault.SCHEMA_VIOLATION])
    reply = await chaos.complete(chains[0].request(Stage.WRITING))
    assert reply.extra == {"chaos": "prose"}
    assert chaos.statistics().injected_total == 0


async def test_statistics_are_a_frozen_snapshot(chains: list[Chain]) -> None:
    """A snapshot neither changes with later calls nor can be changed."""
    chaos = ChaosLlm(_inner(), rate=1.0, faults=[Fault.PROSE])
    before = chaos.statistics()
    await chaos.complete(chains[0].request(Stage.SCORING))
    assert (before.calls, before.injected_total) == (0, 0)
    assert chaos.statistics().injected == {Fault.PROSE: 1}
    with pytest.raises(dataclasses.FrozenInstanceError):
        before.calls = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        before.injected[Fault.PROSE] = 3  # type: ignore[index]


def test_faults_may_be_named_by_value() -> None:
    """Fault values as strings are accepted and de-duplicated."""
    chaos = ChaosLlm(_inner(), rate=0.5, faults=["prose", Fault.PROSE, "timeout"])  # type: ignore[list-item]
    assert chaos.statistics().injected == {Fault.PROSE: 0, Fault.TIMEOUT: 0}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": 1.5}, "rate=1.5 must be between 0 and 1"),
        ({"rate": -0.1}, "rate=-0.1 must be between 0 and 1"),
        ({"rate": math.nan}, "rate=nan must be between 0 and 1"),
        ({"rate": "0.5"}, "rate='0.5' must be a number between 0 and 1"),
        ({"rate": True}, "rate=True must be a number between 0 and 1"),
        ({"rate": 0.5, "seed": 1.0}, "seed=1.0 must be an int"),
        (
            {"rate": 0.5, "faults": []},
            "faults=[] is empty; pass None for every fault, or name at least one",
        ),
        (
            {"rate": 0.5, "faults": "timeout"},
            "faults='timeout' must be a sequence of Fault, not a string; pass [Fault('timeout')]",
        ),
        (
            {"rate": 0.5, "faults": ["slow"]},
            "faults contains 'slow', which is no Fault; use: timeout, rate_limit, server_error, "
            "truncated_json, prose, schema_violation, ungrounded_claim, placeholder, "
            "inconsistent_score",
        ),
    ],
)
def test_misuse_is_refused_with_a_precise_message(kwargs: dict[str, Any], message: str) -> None:
    """Bad arguments raise UsageError naming the value and the fix."""
    with pytest.raises(UsageError) as caught:
        ChaosLlm(_inner(), **kwargs)
    assert str(caught.value) == message


def test_inner_must_be_a_gateway() -> None:
    """Wrapping something without complete() is refused."""
    with pytest.raises(
        UsageError, match=r"inner=None is not an LlmGateway; pass one with complete\(\)"
    ):
        ChaosLlm(None, rate=0.1)  # type: ignore[arg-type]
