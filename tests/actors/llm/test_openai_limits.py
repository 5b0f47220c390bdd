"""Rate limits against a real HTTP server: a 429 storm pauses every call; RPM and TPM hold."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any

import anyio
import pytest
import stamina

from actors.llm import DraftReply, reply_schema
from actors.llm._caller import LlmCaller
from actors.llm._gateway import LlmRequest
from actors.llm._openai import DEFAULT_OUTPUT_ESTIMATE, OpenAiLlm
from actors.llm._parse import parse_reply
from actors.llm._rate_gate import RateGate
from actors.llm.testing import FakeOpenAI, Response, completion, rate_limited
from bus import SystemClock
from messages import Stage

pytestmark = pytest.mark.anyio

SECRET = "sk-test-SECRET123"
DRAFT = {"subject": "Hello", "body": "A short note."}
CALLS = 4
ADVISED_MS = 300


@pytest.fixture(autouse=True)
def one_attempt_only() -> Iterator[None]:
    """One attempt per call and no backoff sleeps: a 429 that spent an attempt would fail."""
    with stamina.set_testing(True, attempts=1, cap=True):
        yield


def request(lead: str = "L1", *, system: str = "s", prompt: str = "p") -> LlmRequest:
    return LlmRequest(
        stage=Stage.WRITING,
        schema_name="writing_reply",
        json_schema=reply_schema(Stage.WRITING),
        system=system,
        prompt=prompt,
        inputs={},
        trace_id=lead,
        timeout=10.0,
    )


class SignallingClock:
    """The system clock, which also tells the test when a call starts waiting out a pause."""

    def __init__(self) -> None:
        self.system = SystemClock()
        self.sleeping = anyio.Event()

    def now(self) -> float:
        return self.system.now()

    async def sleep(self, seconds: float) -> None:
        self.sleeping.set()
        await self.system.sleep(seconds)


async def test_calls_started_during_an_advised_pause_wait_for_it_to_end() -> None:
    """After one call's 429, calls that start later send nothing until the pause is over."""

    def script(body: Mapping[str, Any], number: int) -> Response:
        return rate_limited(retry_after_ms=ADVISED_MS) if number == 1 else completion(DRAFT)

    with FakeOpenAI(script) as server:
        async with OpenAiLlm(model="gpt-4o-mini", base_url=server.url, api_key=SECRET) as llm:
            clock = SignallingClock()
            caller = LlmCaller(llm, gate=RateGate(clock))
            async with anyio.create_task_group() as tg:
                tg.start_soon(caller.call, request("L0"))
                await clock.sleeping.wait()  # L0 got its 429 and is waiting it out
                for i in range(1, CALLS):
                    tg.start_soon(caller.call, request(f"L{i}"))

    first, *rest = server.requests
    assert first.answered_at is not None
    assert len(rest) == CALLS
    assert all(r.received_at >= first.answered_at + ADVISED_MS / 1000 for r in rest)
    assert caller.statistics().rate_limited == 1


async def test_a_429_storm_pauses_every_call_and_spends_no_attempt() -> None:
    """Two waves of 429s: nothing reaches the server in an advised pause; every call succeeds."""
    storm = 2 * CALLS
    # Each wave is held until all its requests are in, so every request of a wave was
    # sent before any 429 of that wave was answered: the test is not a race.
    waves = [threading.Barrier(CALLS), threading.Barrier(CALLS)]

    def script(body: Mapping[str, Any], number: int) -> Response:
        if number <= storm:
            waves[(number - 1) // CALLS].wait(timeout=10)
            return rate_limited(retry_after_ms=ADVISED_MS)
        return completion(DRAFT)

    replies: list[DraftReply] = []
    with FakeOpenAI(script) as server:
        async with OpenAiLlm(model="gpt-4o-mini", base_url=server.url, api_key=SECRET) as llm:
            gate = RateGate()
            caller = LlmCaller(llm, gate=gate)

            async def call(lead: str) -> None:
                reply = await caller.call(request(lead))
                parsed = parse_reply(Stage.WRITING, reply)
                assert isinstance(parsed, DraftReply)
                replies.append(parsed)

            async with anyio.create_task_group() as tg:
                for i in range(CALLS):
                    tg.start_soon(call, f"L{i}")

    assert len(replies) == CALLS
    requests = server.requests
    assert len(requests) == storm + CALLS
    for limited in requests[:storm]:
        assert limited.answered_at is not None
        pause_ends = limited.answered_at + ADVISED_MS / 1000
        during = [r.number for r in requests if limited.answered_at < r.received_at < pause_ends]
        assert during == [], f"requests {during} arrived in the pause after #{limited.number}"
    stats = caller.statistics()
    assert (stats.rate_limited, stats.retries, stats.calls) == (storm, 0, storm + CALLS)
    assert gate.statistics().pauses == storm


async def test_rpm_holds_the_call_past_the_limit_before_it_reaches_the_server() -> None:
    """With rpm=2, two calls go out at once and a third waits in the limiter, unsent."""
    with FakeOpenAI(lambda body, number: completion(DRAFT)) as server:
        async with OpenAiLlm(
            model="gpt-4o-mini", base_url=server.url, api_key=SECRET, rpm=2
        ) as llm:
            assert llm.rpm_limiter is not None
            await llm.complete(request())
            await llm.complete(request())
            assert not llm.rpm_limiter.has_capacity()
            async with anyio.create_task_group() as tg:
                tg.start_soon(llm.complete, request())
                await anyio.wait_all_tasks_blocked()
                assert llm.statistics().waiting == 1
                assert len(server.requests) == 2
                tg.cancel_scope.cancel()
    assert llm.statistics().waiting == 0
    assert len(server.requests) == 2


async def test_tpm_is_weighted_by_the_estimated_tokens_of_each_request() -> None:
    """A call costs prompt chars / 4 plus the output cap; tpm=150 admits two 70-token calls."""
    system, prompt = "s" * 40, "p" * 40  # 80 chars: 20 tokens, plus an output cap of 50
    with FakeOpenAI(lambda body, number: completion(DRAFT)) as server:
        async with OpenAiLlm(
            model="gpt-4o-mini",
            base_url=server.url,
            api_key=SECRET,
            tpm=150,
            max_output_tokens=50,
        ) as llm:
            assert llm.estimate_tokens(request(system=system, prompt=prompt)) == 70
            await llm.complete(request(system=system, prompt=prompt))
            await llm.complete(request(system=system, prompt=prompt))
            async with anyio.create_task_group() as tg:
                tg.start_soon(llm.complete, request(system=system, prompt=prompt))
                await anyio.wait_all_tasks_blocked()
                assert llm.statistics().waiting == 1
                tg.cancel_scope.cancel()
    assert len(server.requests) == 2
    assert all(r.body["max_completion_tokens"] == 50 for r in server.requests)


async def test_a_request_larger_than_tpm_is_capped_at_the_whole_budget() -> None:
    """An estimate above tpm takes the whole minute's budget instead of waiting forever."""
    with FakeOpenAI(lambda body, number: completion(DRAFT)) as server:
        async with OpenAiLlm(
            model="gpt-4o-mini", base_url=server.url, api_key=SECRET, tpm=100
        ) as llm:
            assert llm.estimate_tokens(request()) == DEFAULT_OUTPUT_ESTIMATE
            await llm.complete(request())
            assert llm.tpm_limiter is not None
            assert not llm.tpm_limiter.has_capacity(1)
    assert len(server.requests) == 1
