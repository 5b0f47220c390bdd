"""What an LLM caller counts: calls, retries, tokens, cost and latency, by stage and model,
and the frozen snapshot of them that ``LlmCaller.statistics()`` returns."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields, replace
from typing import final

from actors.llm._gateway import LlmReply, LlmRequest


@dataclass(frozen=True, slots=True)
class CallerStatistics:
    """One caller at one moment."""

    calls: int
    """Requests sent to the gateway, retries included."""
    in_flight: int
    retries: int
    """Calls made again after a timeout or provider error."""
    reasks: int
    """Requests that asked again with feedback (attempt > 1)."""
    rate_limited: int
    prompt_tokens: int
    completion_tokens: int
    tokens_by_stage: dict[str, int]
    cost_by_stage: dict[str, float]
    """US dollars, for backends that price their calls."""
    latency_p50_by_stage: dict[str, float]
    latency_p95_by_stage: dict[str, float]
    cached_tokens: int = 0
    """Of ``prompt_tokens``, those the provider read from its prompt cache."""
    calls_by_stage: dict[str, int] = field(default_factory=dict)
    """Calls answered, by stage."""
    usage: dict[tuple[str, str], Usage] = field(default_factory=dict)
    """What the answered calls used, by stage and model."""

    @property
    def retried(self) -> int:
        """Calls made again: after a timeout or provider error, or with feedback (re-asks)."""
        return self.retries + self.reasks


@dataclass(slots=True)
class Usage:
    """What the calls of one stage to one model used, and cost."""

    calls: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    """The cost of the priced calls among them."""
    unpriced: int = 0
    """Calls to a model with no price (``--prices FILE`` gives it one)."""
    free: int = 0
    """Calls that cost nothing by nature: the offline engine's."""

    def add(self, other: Usage) -> None:
        """Count ``other``'s calls in with these, field by field."""
        for name in _USAGE_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def minus(self, other: Usage) -> Usage:
        """What these calls used beyond ``other``'s, field by field."""
        return Usage(*(getattr(self, name) - getattr(other, name) for name in _USAGE_FIELDS))


_USAGE_FIELDS = tuple(f.name for f in fields(Usage))
"""Every count of a ``Usage``, in its order: each adds up across calls."""


@dataclass(slots=True)
class CallerCounters:
    """What a caller counts as it goes; ``snapshot`` is its ``statistics()``."""

    calls: int = 0
    """Requests sent to the gateway, retries included."""
    in_flight: int = 0
    retries: int = 0
    reasks: int = 0
    rate_limited: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    tokens_by_stage: dict[str, int] = field(default_factory=dict)
    cost_by_stage: dict[str, float] = field(default_factory=dict)
    latencies: dict[str, LatencySample] = field(default_factory=dict)
    usage: dict[tuple[str, str], Usage] = field(default_factory=dict)

    @property
    def retried(self) -> int:
        """``CallerStatistics.retried``, read without taking a snapshot."""
        return self.retries + self.reasks

    def latency(self, stage: str, seconds: float) -> None:
        """One call of ``stage`` took ``seconds``, answered or not."""
        sample = self.latencies.get(stage)
        if sample is None:
            sample = self.latencies[stage] = LatencySample()
        sample.add(seconds)

    def count(self, request: LlmRequest, reply: LlmReply) -> None:
        """What an answered call used, and cost."""
        self.prompt_tokens += reply.prompt_tokens
        self.completion_tokens += reply.completion_tokens
        self.cached_tokens += reply.cached_tokens
        stage = request.stage.value
        tokens = reply.prompt_tokens + reply.completion_tokens
        self.tokens_by_stage[stage] = self.tokens_by_stage.get(stage, 0) + tokens
        usage = self.usage.get((stage, reply.model))
        if usage is None:
            usage = self.usage[stage, reply.model] = Usage()
        usage.calls += 1
        usage.prompt_tokens += reply.prompt_tokens
        usage.cached_tokens += reply.cached_tokens
        usage.completion_tokens += reply.completion_tokens
        # A gateway that prices its calls says what each cost (None: no price known);
        # one that says nothing costs nothing (the offline engine).
        if "cost_usd" not in reply.extra:
            usage.free += 1
            return
        cost = reply.extra["cost_usd"]
        if isinstance(cost, int | float):
            usage.cost_usd += cost
            self.cost_by_stage[stage] = self.cost_by_stage.get(stage, 0.0) + cost
        else:
            usage.unpriced += 1

    def snapshot(self) -> CallerStatistics:
        """The counters now, as a frozen ``CallerStatistics`` (the latencies sorted)."""
        return CallerStatistics(
            calls=self.calls,
            in_flight=self.in_flight,
            retries=self.retries,
            reasks=self.reasks,
            rate_limited=self.rate_limited,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            tokens_by_stage=dict(self.tokens_by_stage),
            cost_by_stage=dict(self.cost_by_stage),
            latency_p50_by_stage={k: v.quantile(0.5) for k, v in self.latencies.items()},
            latency_p95_by_stage={k: v.quantile(0.95) for k, v in self.latencies.items()},
            cached_tokens=self.cached_tokens,
            calls_by_stage=calls_by_stage(self.usage),
            usage={key: replace(usage) for key, usage in self.usage.items()},
        )


@final
class LatencySample:
    """A bounded, uniform sample of a stream of numbers (reservoir sampling)."""

    def __init__(self, size: int = 5000, seed: int = 0) -> None:
        self.size = size
        self.seen = 0
        self.values: list[float] = []
        self._rng = random.Random(seed)

    def add(self, value: float) -> None:
        self.seen += 1
        if len(self.values) < self.size:
            self.values.append(value)
        elif (slot := self._rng.randrange(self.seen)) < self.size:
            self.values[slot] = value

    def quantile(self, q: float) -> float:
        ordered = sorted(self.values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def calls_by_stage(usage: dict[tuple[str, str], Usage]) -> dict[str, int]:
    """Calls answered, by stage, from usage by stage and model."""
    calls: dict[str, int] = {}
    for (stage, _), used in usage.items():
        calls[stage] = calls.get(stage, 0) + used.calls
    return calls
