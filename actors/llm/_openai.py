"""The OpenAI backend: Chat Completions with strict structured output, under client-side limits.

It speaks to any OpenAI-compatible server (OpenAI, Azure OpenAI, vLLM, Ollama, a
llama.cpp server). The SDK's own retries are off: ``LlmCaller`` and the policy table
decide what is tried again. aiolimiter holds calls to ``rpm`` requests and ``tpm``
estimated tokens a minute; it runs on the asyncio backend only.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, final

from aiolimiter import AsyncLimiter

from actors._lazy import lazy_module
from actors.llm._gateway import LlmReply, LlmRequest
from actors.llm._openai_errors import classify, redact
from actors.llm._pricing import PRICES, Price, cost_usd
from actors.llm._strict_schema import strict_schema
from actors.llm._tokens import CHARS_PER_TOKEN
from messages import ClosedResourceError, LlmError, ProviderError, UsageError

if TYPE_CHECKING:
    import openai
    from openai.types.chat import ChatCompletionMessageParam
else:
    openai = lazy_module("openai")  # a second to import: only for runs that use it

DEFAULT_OUTPUT_ESTIMATE = 1024
"""Tokens a reply is assumed to take, for the TPM budget, when no output cap is set."""

_MISSING_KEY = "OPENAI_API_KEY is not set; export it, or run with --llm offline"


@dataclass(frozen=True, slots=True)
class OpenAiStatistics:
    """One OpenAI gateway at one moment."""

    requests: int
    """HTTP requests sent: one per call, as the SDK's retries are off."""
    failures: int
    """Requests that ended in an error."""
    waiting: int
    """Calls held by the RPM or TPM limiter right now."""
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    """The cost of the priced replies."""
    unpriced: int
    """Replies from a model with no price, left out of ``cost_usd``."""


@final
class OpenAiLlm:
    """An ``LlmGateway`` over ``AsyncOpenAI`` Chat Completions with strict JSON Schema output.

    ``api_key`` and ``base_url`` default to ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``.
    ``client`` replaces the client built from them (an ``AsyncAzureOpenAI``, say); it is
    used with its retries off and is not closed by ``aclose``. ``max_output_tokens``, when
    set, is sent as ``max_completion_tokens``. ``prices`` overrides the price table.
    """

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
        client: openai.AsyncOpenAI | None = None,
        max_output_tokens: int | None = None,
        prices: Mapping[str, Price] | None = None,
    ) -> None:
        if not model:
            raise UsageError("model='' must name a model, such as --model gpt-4o-mini.")
        for name, value in (("rpm", rpm), ("tpm", tpm), ("max_output_tokens", max_output_tokens)):
            if value is not None and value < 1:
                raise UsageError(f"{name}={value!r} must be >= 1, or None for no limit.")
        if client is None:
            key = api_key or os.environ.get("OPENAI_API_KEY")
            if not key:
                raise UsageError(_MISSING_KEY)
            url = base_url or os.environ.get("OPENAI_BASE_URL") or None
            self.client = openai.AsyncOpenAI(api_key=key, base_url=url, max_retries=0)
            self._owns_client = True
        else:
            self.client = client.with_options(max_retries=0)
            self._owns_client = False
        self.model = model
        self.max_output_tokens = max_output_tokens
        self.prices = PRICES if prices is None else prices
        self.rpm_limiter = AsyncLimiter(rpm, 60) if rpm is not None else None
        self.tpm_limiter = AsyncLimiter(tpm, 60) if tpm is not None else None
        self._secrets = (self.client.api_key,) if self.client.api_key else ()
        self._closed = False
        self._requests = 0
        self._failures = 0
        self._waiting = 0
        self._prompt_tokens = 0
        self._completion_tokens = 0
        self._cost_usd = 0.0
        self._unpriced = 0

    def __repr__(self) -> str:
        return f"OpenAiLlm(model={self.model!r}, base_url={str(self.client.base_url)!r})"

    async def complete(self, request: LlmRequest) -> LlmReply:
        """The model's reply to ``request``, or the taxonomy's error for what went wrong."""
        if self._closed:
            raise ClosedResourceError("Cannot complete a request, as the OpenAiLlm is closed.")
        model = request.model or self.model
        schema = strict_schema(request.json_schema)
        await self._acquire(request)
        messages: list[ChatCompletionMessageParam] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": request.prompt})
        self._requests += 1
        started = time.perf_counter()
        try:
            completion = await self.client.chat.completions.create(
                model=model,
                messages=messages,
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": request.schema_name, "schema": schema, "strict": True},
                },
                max_completion_tokens=(
                    self.max_output_tokens if self.max_output_tokens is not None else openai.omit
                ),
                timeout=request.timeout,
            )
        except (openai.OpenAIError, json.JSONDecodeError) as exc:
            error: LlmError = classify(exc, secrets=self._secrets, timeout=request.timeout)
        else:
            try:
                return self._reply(completion, model, time.perf_counter() - started)
            except ProviderError:
                self._failures += 1
                raise
        # Raised outside the except clause on purpose: the SDK's exception holds the
        # request, headers and key included, and must not ride along as __context__.
        self._failures += 1
        raise error

    def estimate_tokens(self, request: LlmRequest) -> int:
        """The tokens ``request`` is charged against the TPM limit: prompt plus reply cap."""
        output = self.max_output_tokens or DEFAULT_OUTPUT_ESTIMATE
        return len(request.system + request.prompt) // CHARS_PER_TOKEN + output

    async def _acquire(self, request: LlmRequest) -> None:
        self._waiting += 1
        try:
            if self.rpm_limiter is not None:
                await self.rpm_limiter.acquire()
            if self.tpm_limiter is not None:
                tokens = min(self.estimate_tokens(request), self.tpm_limiter.max_rate)
                await self.tpm_limiter.acquire(tokens)
        finally:
            self._waiting -= 1

    def _reply(self, completion: object, model: str, latency_s: float) -> LlmReply:
        if not isinstance(completion, openai.types.chat.ChatCompletion):
            # The SDK hands back the text of a body whose content type is not JSON.
            shown = redact(str(completion)[:80], self._secrets)
            raise ProviderError(f"The provider's HTTP body is not a chat completion: {shown!r}.")
        try:
            choice = completion.choices[0]
            message = choice.message
            refusal, content = message.refusal, message.content
            finish_reason: str = choice.finish_reason or "stop"
            usage = completion.usage
            reply_model: str = completion.model or model
        except (AttributeError, IndexError, TypeError):
            raise ProviderError(
                "The provider's response is not a chat completion with a choice."
            ) from None
        if refusal:
            text, finish_reason = refusal, "refusal"
        else:
            text = content if isinstance(content, str) else ""
        prompt_tokens = usage.prompt_tokens if usage is not None else 0
        completion_tokens = usage.completion_tokens if usage is not None else 0
        cost = cost_usd(reply_model, prompt_tokens, completion_tokens, prices=self.prices)
        if cost is None:
            cost = cost_usd(model, prompt_tokens, completion_tokens, prices=self.prices)
        self._prompt_tokens += prompt_tokens
        self._completion_tokens += completion_tokens
        if cost is None:
            self._unpriced += 1
        else:
            self._cost_usd += cost
        extra: dict[str, Any] = {"cost_usd": cost}
        return LlmReply(
            text=text,
            model=reply_model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_s=latency_s,
            finish_reason=finish_reason,
            extra=extra,
        )

    def statistics(self) -> OpenAiStatistics:
        return OpenAiStatistics(
            requests=self._requests,
            failures=self._failures,
            waiting=self._waiting,
            prompt_tokens=self._prompt_tokens,
            completion_tokens=self._completion_tokens,
            cost_usd=self._cost_usd,
            unpriced=self._unpriced,
        )

    async def aclose(self) -> None:
        """Close the HTTP client, if this gateway built it. Idempotent."""
        if not self._closed:
            self._closed = True
            if self._owns_client:
                await self.client.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
