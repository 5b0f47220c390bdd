"""The gateway protocol: every backend is closed through it, and what belongs to the
backend that answers (its preflight, its provider's breaker) is found past any wrapper."""

from __future__ import annotations

import pytest

from actors.llm import (
    BreakerPolicy,
    ChaosLlm,
    FunctionLlm,
    GatewaySpec,
    LlmCaller,
    LlmGateway,
    LlmReply,
    LlmRequest,
    OfflineLlm,
    OpenAiLlm,
    PreflightFailed,
    build_gateway,
    innermost,
    preflight,
)
from messages import ProviderError
from supervision.evaluation import Budget, BudgetedLlm

pytestmark = pytest.mark.anyio

POLICY = BreakerPolicy(failures=3, leads=2, down_limit=7.0)


class Remote:
    """A backend to a remote provider that is down: it has a preflight and a breaker
    policy, and counts how often it was closed."""

    inner = None
    breaker_policy = POLICY

    def __init__(self) -> None:
        self.closed = 0

    async def complete(self, request: LlmRequest) -> LlmReply:
        raise ProviderError("The provider failed (HTTP 503).")

    async def preflight(self) -> None:
        raise PreflightFailed("cannot reach the LLM server at remote:1 (connection refused)")

    async def aclose(self) -> None:
        self.closed += 1


async def test_closing_a_wrapper_closes_the_backend_it_wraps() -> None:
    """Chaos and an evaluation's budget close what they wrap, through the protocol."""
    remote = Remote()
    wrapped: LlmGateway = BudgetedLlm(ChaosLlm(remote, rate=0.5), Budget())
    await wrapped.aclose()
    assert remote.closed == 1


async def test_every_backend_can_be_closed_through_the_protocol() -> None:
    """The offline engine and a function hold nothing: closing them returns at once."""
    backends: list[LlmGateway] = [OfflineLlm(), FunctionLlm(lambda request: "{}")]
    for backend in backends:
        await backend.aclose()
        assert backend.inner is None


def test_innermost_is_the_backend_past_every_wrapper() -> None:
    """Through a budget and two layers of chaos, the backend that answers is found."""
    remote = Remote()
    wrapped = BudgetedLlm(ChaosLlm(ChaosLlm(remote, rate=0.1), rate=0.1), Budget())
    assert innermost(wrapped) is remote
    assert innermost(remote) is remote


async def test_the_preflight_of_a_wrapped_backend_runs() -> None:
    """A backend's preflight is run through chaos, and its failure names the fix."""
    with pytest.raises(PreflightFailed, match=r"connection refused"):
        await preflight(ChaosLlm(Remote(), rate=0.5))


async def test_a_backend_with_nothing_to_check_passes_the_preflight() -> None:
    """The offline engine, wrapped or not, has no preflight: it passes at once."""
    await preflight(ChaosLlm(OfflineLlm(), rate=0.5))


def test_a_remote_backend_under_chaos_has_the_provider_breaker() -> None:
    """Chaos over a remote provider keeps the provider's breaker, with its policy."""
    caller = LlmCaller(ChaosLlm(Remote(), rate=0.5))
    assert caller.breaker is not None
    assert caller.breaker.policy == POLICY


def test_a_local_backend_under_chaos_has_no_provider_breaker() -> None:
    """The offline engine has no provider to go down, wrapped in chaos or not."""
    assert LlmCaller(ChaosLlm(OfflineLlm(), rate=0.5)).breaker is None


async def test_an_openai_gateway_under_chaos_has_the_provider_breaker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--llm openai --chaos``: the gateway built for it gets the breaker and its limit."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9")
    spec = GatewaySpec(llm="openai", model="gpt-4o-mini", chaos=0.2, provider_down_limit=7.0)
    gateway = build_gateway(spec)
    try:
        assert isinstance(gateway, ChaosLlm) and isinstance(innermost(gateway), OpenAiLlm)
        breaker = LlmCaller(gateway).breaker
        assert breaker is not None
        assert breaker.policy.down_limit == 7.0
    finally:
        await gateway.aclose()
    openai = innermost(gateway)
    assert isinstance(openai, OpenAiLlm)
    assert openai.client.is_closed()
