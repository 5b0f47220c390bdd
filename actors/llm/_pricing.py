"""What a call cost: USD per million tokens, per model.

The table holds list prices as of writing, for a few well-known models; providers change
them, and self-hosted servers (vLLM, Ollama, llama.cpp) cost nothing per token. Override
with ``prices=``. A model missing from the table has no cost (``None``), never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Price:
    """USD per one million tokens."""

    input_per_m: float
    """Per million prompt tokens."""
    output_per_m: float
    """Per million completion tokens."""


PRICES: Mapping[str, Price] = {
    # List prices as of writing; override with `prices=`.
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "o3-mini": Price(1.10, 4.40),
    "o4-mini": Price(1.10, 4.40),
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5-nano": Price(0.05, 0.40),
}
"""List prices as of writing, per model family; override with ``prices=``."""

_SNAPSHOT = re.compile(r"^(?P<family>.+?)-\d{4}-\d{2}-\d{2}$")
"""A dated snapshot such as ``gpt-4o-mini-2024-07-18`` is priced as its family."""


def price_of(model: str, prices: Mapping[str, Price] = PRICES) -> Price | None:
    """The price of ``model`` or of the family of its dated snapshot; None if unknown."""
    if model in prices:
        return prices[model]
    match = _SNAPSHOT.match(model)
    if match is not None:
        return prices.get(match["family"])
    return None


def cost_usd(
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    *,
    prices: Mapping[str, Price] = PRICES,
) -> float | None:
    """What the tokens cost in USD on ``model``, or None for a model not in ``prices``."""
    price = price_of(model, prices)
    if price is None:
        return None
    return (prompt_tokens * price.input_per_m + completion_tokens * price.output_per_m) / 1e6
