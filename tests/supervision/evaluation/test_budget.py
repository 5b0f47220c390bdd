"""The budget of an evaluation (``supervision/evaluation/_budget.py``): a spent budget
refuses the next call, and the gateway it wraps stays itself."""

from __future__ import annotations

import pytest

from actors.agents import research_request
from actors.llm import LlmRequest, OfflineLlm
from messages import QuotaExhausted, UsageError
from supervision.evaluation import Budget, BudgetedLlm
from tests.support.outputs import lead

pytestmark = pytest.mark.anyio


LEAD = lead(lead_id="L1")


def request() -> LlmRequest:
    return research_request(LEAD, (), attempt=1, feedback=(), timeout=5.0)


async def test_a_spent_budget_refuses_the_next_call() -> None:
    """Two calls allowed: the third raises QuotaExhausted, which halts a run."""
    budget = Budget(max_calls=2)
    llm = BudgetedLlm(OfflineLlm(seed=0), budget)
    await llm.complete(request())
    await llm.complete(request())
    with pytest.raises(QuotaExhausted) as caught:
        await llm.complete(request())
    assert "budget of 2 calls is spent (--max-calls)" in str(caught.value)
    assert budget.calls == 2


def test_a_budget_must_allow_something() -> None:
    """Zero calls or no dollars is a UsageError naming the option."""
    with pytest.raises(UsageError, match=r"--max-calls 0 must be >= 1"):
        Budget(max_calls=0)
    with pytest.raises(UsageError, match=r"--max-cost 0 must be > 0"):
        Budget(max_cost=0)


def test_the_budgeted_gateway_names_what_it_wraps_and_nothing_more() -> None:
    """It names the offline model, and has no breaker policy, as the offline engine has none."""
    llm = BudgetedLlm(OfflineLlm(seed=0, model="offline-9"), Budget())
    assert llm.model_name == "offline-9"
    assert not hasattr(llm, "breaker_policy")
