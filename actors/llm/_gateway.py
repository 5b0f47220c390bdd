"""The LLM gateway: one interface for structured output against a JSON Schema."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from messages import Stage


@dataclass(frozen=True, slots=True)
class LlmRequest:
    """One call for structured output.

    ``prompt`` is the rendered text a real model reads; ``inputs`` is the same material
    as data, which the offline engine reads instead of parsing prose.
    """

    stage: Stage
    schema_name: str
    """A short name for the reply schema, such as ``research_reply``."""
    json_schema: Mapping[str, Any]
    """The JSON Schema the reply must satisfy."""
    system: str
    prompt: str
    inputs: Mapping[str, Any]
    trace_id: str
    """One per lead; the offline engine seeds itself with it."""
    attempt: int = 1
    retry: int = 0
    """Which of Operations' retries of the lead this call belongs to (0: its first pass).
    A retry is a new attempt: fault injection and the offline engine draw anew for it."""
    feedback: tuple[str, ...] = ()
    """What was wrong with the previous attempt, to be fixed in this one."""
    timeout: float = 30.0
    """Seconds the call may take before it counts as timed out."""
    model: str | None = None
    """A model to use instead of the gateway's default (the fallback model, say)."""


@dataclass(frozen=True, slots=True)
class LlmReply:
    """The raw reply: text that still has to be parsed and validated."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    finish_reason: str = "stop"
    extra: Mapping[str, Any] = field(default_factory=dict)
    cached_tokens: int = 0
    """Of ``prompt_tokens``, those the provider read from its prompt cache (OpenAI's
    ``usage.prompt_tokens_details.cached_tokens``), priced at the cached rate."""


class LlmGateway(Protocol):
    """Anything that answers an ``LlmRequest``: a backend (the offline engine, OpenAI, a
    local model, a function) or a wrapper around one (chaos, an evaluation's budget).

    What belongs to the backend that answers (its preflight, its provider's breaker
    policy, its model's name) is found on ``innermost(gateway)``, past every wrapper.
    """

    async def complete(self, request: LlmRequest) -> LlmReply:
        """Return the raw reply, or raise an ``LlmError`` subclass."""
        ...

    @property
    def inner(self) -> LlmGateway | None:
        """The gateway this one wraps; ``None`` for a backend, which answers by itself."""
        ...

    async def aclose(self) -> None:
        """Release what the gateway holds (an HTTP client, a loaded model), and close the
        gateway it wraps. Idempotent; a backend that holds nothing returns at once."""
        ...


def innermost(gateway: LlmGateway) -> LlmGateway:
    """The backend that answers for ``gateway``: itself, or what its wrappers wrap."""
    while (inner := gateway.inner) is not None:
        gateway = inner
    return gateway


@runtime_checkable
class NamesItsModel(Protocol):
    """A gateway that says who answers: what a trace's LLM spans name."""

    @property
    def provider_name(self) -> str:
        """The GenAI provider, as OpenTelemetry names it (``openai``, ``llama_cpp``, ...)."""
        ...

    @property
    def model_name(self) -> str:
        """The model asked when a request names none."""
        ...
