"""The provider-level circuit breaker, in virtual time: when it opens, probes, closes, gives up."""

from __future__ import annotations

import anyio
import pytest
from anyio import wait_all_tasks_blocked
from anyio.lowlevel import checkpoint

from actors import BreakerState
from actors.llm import (
    BreakerPolicy,
    FunctionLlm,
    LlmCaller,
    ProviderBreaker,
    ProviderDown,
    RateGate,
    reply_schema,
)
from actors.llm._gateway import LlmRequest
from bus import FakeClock
from messages import LlmError, ProviderError, Stage, UsageError

pytestmark = pytest.mark.anyio

POLICY = BreakerPolicy(failures=3, leads=2, backoff_initial=1.0, backoff_max=4.0, down_limit=10.0)


def fail(breaker: ProviderBreaker, *leads: str) -> list[bool]:
    return [breaker.failed(lead, "HTTP 503", probe=False) for lead in leads]


def test_errors_from_one_lead_alone_never_open_it(clock: FakeClock) -> None:
    """However many times one lead fails, that is the lead's problem, not the provider's."""
    breaker = ProviderBreaker(POLICY, clock=clock)
    assert fail(breaker, "L1", "L1", "L1", "L1") == [False] * 4
    assert breaker.state is BreakerState.CLOSED


def test_errors_in_a_row_from_different_leads_open_it(clock: FakeClock) -> None:
    """The third error in a row, with two leads among them, opens it; an answer resets the run."""
    breaker = ProviderBreaker(POLICY, clock=clock)
    assert fail(breaker, "L1", "L2") == [False, False]
    breaker.succeeded()
    assert fail(breaker, "L1", "L2", "L3") == [False, False, True]
    assert breaker.state is BreakerState.OPEN
    assert breaker.failed("L4", "HTTP 503", probe=False)  # sent before it opened: waits too
    assert breaker.statistics().openings == 1


async def test_one_probe_goes_after_the_backoff_and_its_answer_closes_it(clock: FakeClock) -> None:
    """While open, calls wait; after the backoff one probe goes, the rest await its verdict."""
    breaker = ProviderBreaker(POLICY, clock=clock)
    fail(breaker, "L1", "L2", "L3")
    probes: list[bool] = []

    async def call() -> None:
        probes.append(await breaker.acquire())

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(call)
        await wait_all_tasks_blocked()
        assert probes == []
        clock.advance(1.0)
        await wait_all_tasks_blocked()
        assert probes == [True]
        assert breaker.state is BreakerState.HALF_OPEN
        assert breaker.succeeded()
    assert probes == [True, False, False]
    assert breaker.state is BreakerState.CLOSED


async def test_a_failed_probe_doubles_the_backoff_up_to_its_cap(clock: FakeClock) -> None:
    """Each failed probe waits twice as long as the last, never more than backoff_max."""
    breaker = ProviderBreaker(POLICY, clock=clock)
    fail(breaker, "L1", "L2", "L3")
    for expected in (1.0, 2.0, 4.0):
        async with anyio.create_task_group() as tg:
            tg.start_soon(breaker.acquire)
            await wait_all_tasks_blocked()
            assert clock.requested[-1] == expected
            clock.advance(expected)
        assert breaker.failed("L1", "refused", probe=True)
    assert breaker.statistics().probes == 3


async def test_down_past_the_limit_every_call_raises_provider_down(clock: FakeClock) -> None:
    """Once open for down_limit seconds, acquire raises ProviderDown naming the last error."""
    breaker = ProviderBreaker(POLICY, clock=clock)
    fail(breaker, "L1", "L2", "L3")
    clock.advance(10.0)
    with pytest.raises(ProviderDown) as caught:
        await breaker.acquire()
    assert str(caught.value) == (
        "The LLM provider has been down for 10 s (last error: HTTP 503). Check that the "
        "server is up and reachable."
    )


def request(lead: str) -> LlmRequest:
    return LlmRequest(
        stage=Stage.WRITING,
        schema_name="writing_reply",
        json_schema=reply_schema(Stage.WRITING),
        system="",
        prompt="",
        inputs={},
        trace_id=lead,
    )


async def test_the_caller_holds_calls_through_an_outage_without_spending_attempts(
    clock: FakeClock,
) -> None:
    """Leads whose calls fail while the provider is down all get their reply once it is back."""
    down = True

    async def provider(req: LlmRequest) -> str:
        await checkpoint()
        if down:
            raise ProviderError("Could not talk to the provider (connection refused).")
        return '{"subject": "Hi", "body": "Hello."}'

    breaker = ProviderBreaker(POLICY, clock=clock)
    caller = LlmCaller(FunctionLlm(provider), gate=RateGate(clock), breaker=breaker)
    replies: list[str] = []

    async def call(lead: str) -> None:
        replies.append((await caller.call(request(lead))).text)

    async with anyio.create_task_group() as tg:
        for lead in ("L1", "L2", "L3", "L4"):
            tg.start_soon(call, lead)
        await wait_all_tasks_blocked()
        assert breaker.state is BreakerState.OPEN
        clock.advance(1.0)  # the probe fails: the backoff doubles
        await wait_all_tasks_blocked()
        down = False
        clock.advance(2.0)
    assert len(replies) == 4
    assert breaker.state is BreakerState.CLOSED


async def test_the_caller_raises_provider_down_past_the_limit(clock: FakeClock) -> None:
    """A provider that never comes back ends every held call with ProviderDown."""

    def provider(req: LlmRequest) -> str:
        raise ProviderError("The provider failed (HTTP 503).")

    breaker = ProviderBreaker(POLICY, clock=clock)
    caller = LlmCaller(FunctionLlm(provider), gate=RateGate(clock), breaker=breaker)
    errors = await every_call_failing(caller, clock, leads=3, step=1.0)
    assert all(isinstance(e, ProviderDown) for e in errors)


async def every_call_failing(
    caller: LlmCaller, clock: FakeClock, *, leads: int, step: float
) -> list[LlmError]:
    """The error each of ``leads`` concurrent calls ends with, moving the clock by ``step``
    whenever every call waits."""
    errors: list[LlmError] = []

    async def call(lead: str) -> None:
        try:
            await caller.call(request(lead))
        except LlmError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for number in range(1, leads + 1):
            tg.start_soon(call, f"L{number}")
        while len(errors) < leads:
            await wait_all_tasks_blocked()
            clock.advance(step)
    return errors


async def test_requests_the_provider_refuses_never_open_it(clock: FakeClock) -> None:
    """A 4xx is an answer: however many leads get one, the provider is up and no call waits."""

    def provider(req: LlmRequest) -> str:
        raise ProviderError("The provider rejected the request (HTTP 400).", status=400)

    breaker = ProviderBreaker(POLICY, clock=clock)
    caller = LlmCaller(FunctionLlm(provider), gate=RateGate(clock), breaker=breaker)
    errors = await every_call_failing(caller, clock, leads=5, step=10.0)  # past each backoff
    assert [type(e) for e in errors] == [ProviderError] * 5
    assert breaker.state is BreakerState.CLOSED
    assert breaker.statistics().openings == 0
    assert caller.statistics().retries > 0  # still retried, as the policy says


def test_only_a_4xx_counts_as_the_provider_answering() -> None:
    """A 5xx or no status at all (a refused connection) may be an outage; a 4xx is not."""
    assert ProviderError("refused", status=400).answered
    assert ProviderError("too large", status=413).answered
    assert not ProviderError("failed", status=503).answered
    assert not ProviderError("connection refused").answered


def test_a_nonsense_policy_is_a_usage_error() -> None:
    """A limit of zero seconds names the value."""
    with pytest.raises(UsageError) as caught:
        BreakerPolicy(down_limit=0)
    assert str(caught.value) == "down_limit=0 must be > 0 seconds"
