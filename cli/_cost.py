"""How the command line shows what LLM calls used and cost (a ``Spend`` as JSON)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def cost_lines(cost: Mapping[str, Any]) -> list[str]:
    """Two lines: tokens by stage and per completed lead, then the cost or why none."""
    if not cost or not cost.get("calls"):
        return []
    stages = cost["by_stage"]
    by_stage = ", ".join(f"{stage} {used['tokens']:,}" for stage, used in stages.items())
    tokens = f"tokens: {cost['tokens']:,} ({by_stage})"
    if cost["cached_tokens"]:
        tokens += f", {cost['cached_tokens']:,} of them cached"
    if cost["tokens_per_completed_lead"] is not None:
        tokens += f"; {cost['tokens_per_completed_lead']:,.0f} per completed lead"
    line = f"cost: {cost['note']}"
    if cost["cost_usd"] is not None:
        priced = ", ".join(f"{stage} ${used['cost_usd']:,.4f}" for stage, used in stages.items())
        line = f"cost: {cost['note']}; by stage: {priced}"
    return [tokens, line]
