"""The LLM caller follows the policy table: deadlines, retries, the rate gate, fallback."""

from __future__ import annotations

import anyio
import pytest

from actors.llm._caller import LlmCaller
from actors.llm._function import FunctionLlm
from actors.llm._gateway import LlmRequest
from actors.llm._rate_gate import RateGate
from bus import FakeClock
from messages import LlmTimeout, ProviderError, RateLimited, Stage

pytestmark = pytest.mark.anyio


def request(*, attempt: int = 1, timeout: float = 30.0) -> LlmRequest:
    return LlmRequest(
        stage=Stage.SCORING,
        schema_name="scoring_reply",
        json_schema={},
        system="s",
        prompt="p",
        inputs={},
        trace_id="L1",
        attempt=attempt,
        timeout=timeout,
    )


async def test_provider_errors_are_retried_then_raised() -> None:
    """A provider that always fails is tried the policy's 3 times; then its error propagates."""

    def script(r: LlmRequest) -> str:
        raise ProviderError("503")

    gateway = FunctionLlm(script)
    caller = LlmCaller(gateway)
    with pytest.raises(ProviderError):
        await caller.call(request())
    assert len(gateway.requests) == 3
    assert caller.statistics().retries == 2


async def test_a_transient_error_then_success_returns_the_reply() -> None:
    """One provider error followed by a good reply yields the reply and counts one retry."""
    answers: list[str | Exception] = [ProviderError("502"), "{}"]

    def script(r: LlmRequest) -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    caller = LlmCaller(FunctionLlm(script))
    reply = await caller.call(request())
    assert reply.text == "{}"
    assert caller.statistics().retries == 1


async def test_missing_the_deadline_is_a_timeout() -> None:
    """A call that outlives its per-call deadline raises LlmTimeout after the retries."""
    never = anyio.Event()

    async def hang(r: LlmRequest) -> str:
        await never.wait()
        return "{}"

    gateway = FunctionLlm(hang)
    caller = LlmCaller(gateway)
    with pytest.raises(LlmTimeout, match=r"No reply within 0.001 s \(scoring\)"):
        await caller.call(request(timeout=0.001))
    assert len(gateway.requests) == 3


async def test_fallback_model_takes_over_after_a_provider_error() -> None:
    """After a provider error, the retry goes to the fallback model."""
    models: list[str | None] = []

    def script(r: LlmRequest) -> str:
        models.append(r.model)
        if len(models) == 1:
            raise ProviderError("500")
        return "{}"

    caller = LlmCaller(FunctionLlm(script), fallback_model="backup")
    await caller.call(request())
    assert models == [None, "backup"]


async def test_a_429_pauses_every_call_and_spends_no_attempt(clock: FakeClock) -> None:
    """A 429 with retry-after holds all calls on the gate until the clock passes the pause."""
    calls: list[float] = []

    def script(r: LlmRequest) -> str:
        calls.append(clock.now())
        if len(calls) == 1:
            raise RateLimited("slow down", retry_after=2.0)
        return "{}"

    caller = LlmCaller(FunctionLlm(script), gate=RateGate(clock))
    replies: list[str] = []

    async def call() -> None:
        replies.append((await caller.call(request())).text)

    async with anyio.create_task_group() as tg:
        tg.start_soon(call)
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(call)
        await anyio.wait_all_tasks_blocked()
        assert calls == [0.0]  # nothing reaches the provider during the pause
        clock.advance(1.9)
        await anyio.wait_all_tasks_blocked()
        assert calls == [0.0]
        clock.advance(0.1)
    assert calls == [0.0, 2.0, 2.0]
    assert replies == ["{}", "{}"]
    stats = caller.statistics()
    assert (stats.rate_limited, stats.retries) == (1, 0)


async def test_rate_gate_caps_an_absurd_retry_after(clock: FakeClock) -> None:
    """A retry-after beyond the cap pauses for the cap only."""
    gate = RateGate(clock, max_pause=60.0)
    gate.pause(3600.0)
    assert gate.paused_until == 60.0


async def test_calls_in_flight_never_exceed_the_limit() -> None:
    """With limit=2, a third concurrent call waits until one of the first two returns."""
    release = anyio.Event()
    peak = 0
    current = 0

    async def slow(r: LlmRequest) -> str:
        nonlocal peak, current
        current += 1
        peak = max(peak, current)
        await release.wait()
        current -= 1
        return "{}"

    caller = LlmCaller(FunctionLlm(slow), limit=2)
    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(caller.call, request())
        await anyio.wait_all_tasks_blocked()
        assert caller.statistics().in_flight == 2
        release.set()
    assert peak == 2


async def test_reasks_are_counted() -> None:
    """A request for attempt 2 counts as a re-ask; tokens are counted per stage."""
    caller = LlmCaller(FunctionLlm(lambda r: "{}"))
    await caller.call(request(attempt=2))
    stats = caller.statistics()
    assert stats.reasks == 1
    assert stats.tokens_by_stage["scoring"] == stats.prompt_tokens + stats.completion_tokens > 0


async def test_calls_made_again_count_retries_and_reasks_together() -> None:
    """``retried`` (what the summary, the dashboard and /metrics show) is retries plus
    re-asks, in the snapshot as in the live counters."""
    failures = iter([ProviderError("The provider failed (HTTP 503).")])

    def flaky(r: LlmRequest) -> str:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return "{}"

    caller = LlmCaller(FunctionLlm(flaky))
    await caller.call(request())
    await caller.call(request(attempt=2))
    stats = caller.statistics()
    assert (stats.retries, stats.reasks, stats.retried) == (1, 1, 2)
    assert caller.stats.retried == 2
