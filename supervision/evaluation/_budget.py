"""An evaluation's budget: calls and dollars the candidate may spend, across every repeat.

``BudgetedLlm`` wraps the candidate's gateway. Once the budget is spent it refuses to
start another call with ``QuotaExhausted``, which the stages already treat as the end
of a run (``RunHalted``): the replay stops admitting, what was finished is measured, and
what was not stays pending, reported as such. Calls already in flight when the budget
runs out still finish, so spending can pass ``max_cost`` by what they cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import final

from actors.llm import LlmGateway, LlmReply, LlmRequest, NamesItsModel, cost_usd
from messages import QuotaExhausted, UsageError


@final
@dataclass(slots=True)
class Budget:
    """What may be spent (None: no limit), and what has been."""

    max_calls: int | None = None
    max_cost: float | None = None
    calls: int = 0
    cost_usd: float = 0.0

    def __post_init__(self) -> None:
        if self.max_calls is not None and self.max_calls < 1:
            raise UsageError(f"--max-calls {self.max_calls} must be >= 1")
        if self.max_cost is not None and not self.max_cost > 0:
            raise UsageError(f"--max-cost {self.max_cost} must be > 0 (US dollars)")

    @property
    def spent(self) -> str | None:
        """Why no further call may start, or None while some budget is left."""
        if self.max_calls is not None and self.calls >= self.max_calls:
            return f"the evaluation's budget of {self.max_calls} calls is spent (--max-calls)"
        if self.max_cost is not None and self.cost_usd >= self.max_cost:
            return (
                f"the evaluation's budget of ${self.max_cost:g} is spent "
                f"(${self.cost_usd:.4f}, --max-cost)"
            )
        return None


@final
class BudgetedLlm:
    """``inner``, refusing new calls once ``budget`` is spent."""

    def __init__(self, inner: LlmGateway, budget: Budget) -> None:
        self.inner = inner
        self.budget = budget

    async def complete(self, request: LlmRequest) -> LlmReply:
        spent = self.budget.spent
        if spent is not None:
            raise QuotaExhausted(f"Stopped: {spent}.")
        self.budget.calls += 1
        reply = await self.inner.complete(request)
        cost = reply.extra.get("cost_usd")
        if not isinstance(cost, int | float):
            cost = cost_usd(reply.model, reply.prompt_tokens, reply.completion_tokens)
        self.budget.cost_usd += cost or 0.0
        return reply

    async def aclose(self) -> None:
        """Close the candidate's gateway."""
        await self.inner.aclose()

    # The model's name, as ``inner`` gives it; a property that raises AttributeError
    # reads as absent to the runtime-checked protocol.

    @property
    def provider_name(self) -> str:
        if isinstance(self.inner, NamesItsModel):
            return self.inner.provider_name
        raise AttributeError("provider_name")

    @property
    def model_name(self) -> str:
        if isinstance(self.inner, NamesItsModel):
            return self.inner.model_name
        raise AttributeError("model_name")
