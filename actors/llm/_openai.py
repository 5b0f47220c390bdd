"""The OpenAI backend: Chat Completions with structured output, under client-side limits.

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
from dataclasses import dataclass, replace
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, final
from urllib.parse import urlsplit

import anyio.to_thread
from aiolimiter import AsyncLimiter

from actors.llm._gateway import LlmReply, LlmRequest
from actors.llm._openai_errors import classify, redact
from actors.llm._preflight import check_openai_server
from actors.llm._pricing import PRICES, Price, cost_usd
from actors.llm._provider_breaker import BreakerPolicy
from actors.llm._strict_schema import strict_schema
from actors.llm._structured import (
    ModeMemory,
    Rung,
    StructuredMode,
    refuses_response_format,
    response_format,
    rungs,
    schema_instruction,
    strip_fence,
    structured_mode,
)
from actors.llm._tokens import CHARS_PER_TOKEN
from actors.runtime import lazy_module, trusted_tls
from messages import ClosedResourceError, LlmError, ProviderError, UsageError

if TYPE_CHECKING:
    import openai
    from openai import Omit
    from openai.types.chat import ChatCompletionMessageParam
else:
    openai = lazy_module("openai")  # a second to import: only for runs that use it

DEFAULT_OUTPUT_ESTIMATE = 1024
"""Tokens a reply is assumed to take, for the TPM budget, when no output cap is set."""

_MISSING_KEY = "OPENAI_API_KEY is not set; export it, or run with --llm offline"
_URL_CREDENTIALS = (
    "OPENAI_BASE_URL holds a user name and password, which the HTTP client would send "
    "instead of OPENAI_API_KEY; remove them from the URL (the API key is what is sent)"
)


def _cached_tokens(usage: object) -> int:
    """``usage.prompt_tokens_details.cached_tokens``, or 0 where a server gives none."""
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None)
    return cached if isinstance(cached, int) and cached > 0 else 0


RETRY_SEED_STRIDE = 7919
"""How far an Operations retry moves the sampling seed: far enough that a retry's seed is
not another draw's (``evaluate --repeat`` moves it by one per draw)."""


def _sampling_seed(seed: int | None, retry: int) -> int | Omit:
    """The request's sampling ``seed``: none on a first pass without one; an Operations
    retry is a new attempt, so it asks for another draw with a seed moved on by it."""
    if seed is None and retry == 0:
        return openai.omit
    return (seed or 0) + RETRY_SEED_STRIDE * retry


def _has_credentials(url: str) -> bool:
    """Whether ``url`` holds ``user:password@`` (or a user alone)."""
    parts = urlsplit(url)
    return parts.username is not None or parts.password is not None


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
    """An ``LlmGateway`` over ``AsyncOpenAI`` Chat Completions with structured output.

    ``api_key`` and ``base_url`` default to ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``.
    ``client`` replaces the client built from them (an ``AsyncAzureOpenAI``, say); it is
    used with its retries off and is not closed by ``aclose``. ``max_output_tokens``, when
    set, is sent as ``max_completion_tokens``. ``prices`` overrides the price table.
    ``structured`` picks the structured-output rungs (see ``_structured``); ``memory``
    keeps the rung that worked for the next run. ``breaker_policy`` tells the caller when
    this provider counts as down.
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
        structured: StructuredMode | str = StructuredMode.AUTO,
        memory: ModeMemory | None = None,
        breaker_policy: BreakerPolicy | None = None,
        seed: int | None = None,
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
            if url is not None and _has_credentials(url):
                raise UsageError(_URL_CREDENTIALS)
            http = openai.DefaultAsyncHttpxClient(verify=trusted_tls())
            self.client = openai.AsyncOpenAI(
                api_key=key, base_url=url, max_retries=0, http_client=http
            )
            self._owns_client = True
        else:
            self.client = client.with_options(max_retries=0)
            self._owns_client = False
        self.model = model
        self.seed = seed
        """Sent as every request's sampling ``seed`` when set: another seed, another draw."""
        self.structured = structured_mode(structured)
        self.memory = memory
        self.breaker_policy = breaker_policy if breaker_policy is not None else BreakerPolicy()
        self._rungs = rungs(self.structured)
        self._levels: dict[str, int] = {}
        self._remembered: dict[str, Rung] = {}
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

    inner = None
    """A backend: it wraps no gateway."""

    @property
    def provider_name(self) -> str:
        return "openai"

    @property
    def model_name(self) -> str:
        return self.model

    def __repr__(self) -> str:
        return f"OpenAiLlm(model={self.model!r}, base_url={str(self.client.base_url)!r})"

    async def complete(self, request: LlmRequest) -> LlmReply:
        """The model's reply to ``request``, or the taxonomy's error for what went wrong.

        A server that refuses the structured-output rung in use gets the same request on
        the next rung down, within this call (``--structured auto``); the rung that
        answered is in ``reply.extra["structured_mode"]``, and the rungs above it, which
        the server refused, in ``reply.extra["structured_refused"]``.
        """
        if self._closed:
            raise ClosedResourceError("Cannot complete a request, as the OpenAiLlm is closed.")
        model = request.model or self.model
        schema = strict_schema(request.json_schema)
        await self._acquire(request)
        while True:
            level = await self._level_of(model)
            rung = self._rungs[level]
            fmt = response_format(rung, request.schema_name, schema)
            self._requests += 1
            started = time.perf_counter()
            try:
                completion = await self.client.chat.completions.create(
                    model=model,
                    messages=self._messages(request, rung),
                    seed=_sampling_seed(self.seed, request.retry),
                    response_format=fmt if fmt is not None else openai.omit,  # type: ignore[arg-type]
                    max_completion_tokens=(
                        self.max_output_tokens
                        if self.max_output_tokens is not None
                        else openai.omit
                    ),
                    # Servers below the top rung are seldom OpenAI's own, and many of them
                    # (llama.cpp's) know only the older max_tokens.
                    extra_body=(
                        {"max_tokens": self.max_output_tokens}
                        if self.max_output_tokens is not None and rung is not Rung.JSON_SCHEMA
                        else None
                    ),
                    timeout=request.timeout,
                )
            except openai.APIStatusError as exc:
                if refuses_response_format(exc) and level + 1 < len(self._rungs):
                    self._failures += 1
                    self._levels[model] = max(self._levels[model], level + 1)
                    continue
                error: LlmError = classify(exc, secrets=self._secrets, timeout=request.timeout)
                if refuses_response_format(exc):
                    error = ProviderError(
                        f"{str(error).rstrip('.')}; the server refuses structured mode "
                        f"{rung.value}: run with --structured auto.",
                        status=exc.status_code,
                    )
            except (openai.OpenAIError, json.JSONDecodeError) as exc:
                error = classify(exc, secrets=self._secrets, timeout=request.timeout)
            else:
                try:
                    reply = self._reply(completion, model, time.perf_counter() - started)
                except ProviderError:
                    self._failures += 1
                    raise
                await self._remember(model, rung)
                text = strip_fence(reply.text) if rung is Rung.PROMPT else reply.text
                extra = {
                    **reply.extra,
                    "structured_mode": rung.value,
                    # Every rung above this one: refused here, by a call that ran beside
                    # this one, or in an earlier run. Only this call's own refusals would
                    # depend on which of the calls in flight answered first.
                    "structured_refused": tuple(r.value for r in self._rungs[:level]),
                }
                return replace(reply, text=text, extra=extra)
            # Raised outside the except clause on purpose: the SDK's exception holds the
            # request, headers and key included, and must not ride along as __context__.
            self._failures += 1
            raise error

    async def preflight(self) -> None:
        """Raise ``PreflightFailed`` (one line) if the server or the model cannot be used."""
        await check_openai_server(self.client, self.model, secrets=self._secrets)

    @property
    def base_url(self) -> str:
        return str(self.client.base_url)

    def structured_rung(self, model: str | None = None) -> Rung | None:
        """The rung calls for ``model`` (the default model) start on; None before any call."""
        level = self._levels.get(model or self.model)
        return self._rungs[level] if level is not None else None

    def _messages(self, request: LlmRequest, rung: Rung) -> list[ChatCompletionMessageParam]:
        system = request.system
        if rung is not Rung.JSON_SCHEMA:
            # Only strict json_schema makes the server hold the reply to the schema on its
            # own; every other rung needs the model to read it.
            instruction = schema_instruction(request.json_schema)
            system = f"{system}\n\n{instruction}" if system else instruction
        messages: list[ChatCompletionMessageParam] = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": request.prompt})
        return messages

    async def _level_of(self, model: str) -> int:
        """The rung index calls for ``model`` use: the remembered one, or the top."""
        level = self._levels.get(model)
        if level is not None:
            return level
        recalled = None
        if self.memory is not None:
            recalled = await anyio.to_thread.run_sync(self.memory.recall, self.base_url, model)
        start = self._rungs.index(recalled) if recalled in self._rungs else 0
        if recalled is not None and recalled in self._rungs:
            self._remembered[model] = recalled
        return self._levels.setdefault(model, start)

    async def _remember(self, model: str, rung: Rung) -> None:
        if self._remembered.get(model) is rung:
            return
        self._remembered[model] = rung
        if self.memory is not None:
            await anyio.to_thread.run_sync(self.memory.remember, self.base_url, model, rung)

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
        cached = _cached_tokens(usage)
        cost = cost_usd(
            reply_model, prompt_tokens, completion_tokens, cached_tokens=cached, prices=self.prices
        )
        if cost is None:
            cost = cost_usd(
                model, prompt_tokens, completion_tokens, cached_tokens=cached, prices=self.prices
            )
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
            cached_tokens=cached,
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
