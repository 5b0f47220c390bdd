"""What a call cost: USD per million tokens, per model, cached prompt tokens apart.

The table holds OpenAI's list prices for its common models as of writing; providers
change them, and self-hosted servers (vLLM, Ollama, llama.cpp) cost nothing per token.
``--prices FILE`` (``load_prices``) adds models or replaces their prices. A model missing
from the table has no cost (``None``), never a guess.

A prices file maps each model to its prices, in TOML::

    ["gpt-4o-mini"]
    input = 0.15          # USD per million prompt tokens
    cached_input = 0.075  # per million prompt tokens read from the provider's cache
    output = 0.60         # per million completion tokens

or in JSON: ``{"gpt-4o-mini": {"input": 0.15, "cached_input": 0.075, "output": 0.6}}``.
``cached_input`` may be left out: cached tokens then cost what other prompt tokens do.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from messages import UsageError


@dataclass(frozen=True, slots=True)
class Price:
    """USD per one million tokens."""

    input_per_m: float
    """Per million prompt tokens."""
    output_per_m: float
    """Per million completion tokens."""
    cached_input_per_m: float | None = None
    """Per million prompt tokens the provider read from its prompt cache; the input price
    when ``None`` (a provider with no discount for them)."""

    @property
    def cached_per_m(self) -> float:
        return self.input_per_m if self.cached_input_per_m is None else self.cached_input_per_m


PRICES: Mapping[str, Price] = {
    # OpenAI's list prices as of writing (input, output, cached input); --prices FILE
    # overrides them.
    "gpt-5": Price(1.25, 10.00, 0.125),
    "gpt-5-mini": Price(0.25, 2.00, 0.025),
    "gpt-5-nano": Price(0.05, 0.40, 0.005),
    "gpt-4.1": Price(2.00, 8.00, 0.50),
    "gpt-4.1-mini": Price(0.40, 1.60, 0.10),
    "gpt-4.1-nano": Price(0.10, 0.40, 0.025),
    "gpt-4o": Price(2.50, 10.00, 1.25),
    "gpt-4o-2024-05-13": Price(5.00, 15.00),
    "gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "o4-mini": Price(1.10, 4.40, 0.275),
    "o3": Price(2.00, 8.00, 0.50),
    "o3-mini": Price(1.10, 4.40, 0.55),
    "o1": Price(15.00, 60.00, 7.50),
    "gpt-4-turbo": Price(10.00, 30.00),
    "gpt-3.5-turbo": Price(0.50, 1.50),
}
"""List prices as of writing, per model family; override with ``--prices FILE``."""

_SNAPSHOT = re.compile(r"^(?P<family>.+?)-\d{4}-\d{2}-\d{2}$")
"""A dated snapshot such as ``gpt-4o-mini-2024-07-18`` is priced as its family."""
_FIELDS = {"input": "input_per_m", "output": "output_per_m", "cached_input": "cached_input_per_m"}


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
    cached_tokens: int = 0,
    prices: Mapping[str, Price] = PRICES,
) -> float | None:
    """What the tokens cost in USD on ``model``, or None for a model not in ``prices``.

    ``cached_tokens`` are the part of ``prompt_tokens`` read from the provider's cache,
    priced at the cached rate.
    """
    price = price_of(model, prices)
    if price is None:
        return None
    cached = max(0, min(cached_tokens, prompt_tokens))
    fresh = prompt_tokens - cached
    return (
        fresh * price.input_per_m
        + cached * price.cached_per_m
        + completion_tokens * price.output_per_m
    ) / 1e6


def load_prices(path: Path, base: Mapping[str, Price] = PRICES) -> dict[str, Price]:
    """``base`` with the models of the prices file at ``path`` (TOML, or JSON by its
    ``.json`` suffix) added or replaced; ``UsageError`` in one line for a bad file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UsageError(f"{path}: cannot read the prices file ({reason})") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise UsageError(
            f"{path}: not a {kind} prices file ({exc}); see docs/cost.md for the format"
        ) from None
    if not isinstance(data, dict) or not data:
        raise UsageError(f"{path}: no models; map each model to its input and output price")
    prices = dict(base)
    for model, entry in data.items():
        prices[model] = _price(path, model, entry)
    return prices


def _price(path: Path, model: str, entry: object) -> Price:
    where = f"{path}: model {model!r}"
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: expected a table of input, cached_input and output prices")
    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r}; use input, cached_input and output")
    for needed in ("input", "output"):
        if needed not in entry:
            raise UsageError(f"{where}: no {needed} price; give USD per million tokens")
    values: dict[str, float] = {}
    for key, value in entry.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UsageError(f"{where}: {key} = {value!r} is not a number of USD per million")
        if not math.isfinite(value) or value < 0:
            raise UsageError(f"{where}: {key} = {value!r} must be a finite number >= 0")
        values[_FIELDS[key]] = float(value)
    return Price(**values)
