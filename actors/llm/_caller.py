"""One LLM call under the policy table: a deadline, retries with backoff, and the rate gate."""

from __future__ import annotations

from dataclasses import replace
from typing import final

import anyio
import stamina

from actors.llm._caller_statistics import CallerCounters, CallerStatistics
from actors.llm._gateway import LlmGateway, LlmReply, LlmRequest, NamesItsModel, innermost
from actors.llm._provider_breaker import HasBreakerPolicy, ProviderBreaker
from actors.llm._rate_gate import RateGate
from actors.runtime import (
    BreakerState,
    EventLog,
    LlmCall,
    LlmReplyFacts,
    current_telemetry,
    null_log,
)
from messages import (
    POLICIES,
    FailureKind,
    LlmError,
    LlmTimeout,
    ProviderError,
    RateLimited,
)

_TIMEOUT = POLICIES[FailureKind.LLM_TIMEOUT]
_PROVIDER = POLICIES[FailureKind.PROVIDER_ERROR]


@final
class LlmCaller:
    """Calls a gateway the way the failure taxonomy says.

    - Every request gets a deadline; missing it is an ``LlmTimeout``.
    - Timeouts and provider errors are retried with exponential backoff and jitter
      (stamina), up to the policy's attempts; the last error then propagates.
    - A 429 pauses the shared rate gate for the advised time and the call is made
      again; it never spends an attempt. With ``defer_rate_limits`` (a worker on a
      shared bus), the caller does not wait: a 429, or a call while the gate is paused,
      raises ``RateLimited`` with the pause left, and the actor hands its message back
      to the bus for that long.
    - With a fallback model, provider-error retries go to that model.
    - A gateway to a remote provider (one whose backend, past any wrapper such as chaos,
      has a ``breaker_policy``) gets a provider-level circuit breaker: calls held while
      the provider is down spend no attempt, and a provider down past the policy's
      limit raises ``ProviderDown`` (the run stops).
    - The structured-output mode a model answers in is logged once, as
      ``structured_output``.
    """

    def __init__(
        self,
        gateway: LlmGateway,
        *,
        limit: int = 32,
        gate: RateGate | None = None,
        fallback_model: str | None = None,
        breaker: ProviderBreaker | None = None,
        defer_rate_limits: bool = False,
    ) -> None:
        self.gateway = gateway
        self.defer_rate_limits = defer_rate_limits
        # A global cap on calls in flight: the provider's concurrency, not the actors'.
        # A free slot is taken without a turn of the loop: the call itself is one.
        self.limiter = anyio.Semaphore(limit, fast_acquire=True)
        self.gate = gate if gate is not None else RateGate()
        self.fallback_model = fallback_model
        self.stats = CallerCounters()
        # The backend that answers, past any wrapper (chaos, a budget), says whether a
        # remote provider stands behind the calls, and which model answers them.
        backend = innermost(gateway)
        if breaker is None and isinstance(backend, HasBreakerPolicy):
            breaker = ProviderBreaker(backend.breaker_policy, clock=self.gate.clock)
        self.breaker = breaker
        self._modes_logged: set[tuple[str, str]] = set()
        named = backend if isinstance(backend, NamesItsModel) else None
        self._provider = named.provider_name if named is not None else "unknown"
        self._model = named.model_name if named is not None else "unknown"

    async def call(
        self, request: LlmRequest, *, log: EventLog | None = None, may_defer: bool = True
    ) -> LlmReply:
        """The gateway's reply to ``request``, or the error that outlasted every retry.

        Every try is logged as ``llm_call`` with its model, latency, tokens and outcome.
        ``may_defer=False`` makes a caller with ``defer_rate_limits`` wait out a rate
        limit all the same (its handler has had a call answered, which must not be lost).
        """
        defer = self.defer_rate_limits and may_defer
        log = log if log is not None else null_log()
        if request.attempt > 1:
            self.stats.reasks += 1
        try:
            return await self._call_through_rate_limits(request, log, defer)
        except (LlmTimeout, ProviderError) as error:
            failure: LlmTimeout | ProviderError = error
        current = self._after(failure, request)
        # Most calls succeed at once, and setting up stamina's retry context costs more
        # than an offline call; so it is entered only after a failure, which it is handed
        # as its first attempt's. From there it counts, logs, backs off and retries just
        # as if it had made that first call itself.
        replayed = False
        async for attempt in stamina.retry_context(
            on=(LlmTimeout, ProviderError),
            attempts=max(_TIMEOUT.max_attempts or 1, _PROVIDER.max_attempts or 1),
            timeout=None,
            wait_initial=_TIMEOUT.backoff_initial,
            wait_max=_TIMEOUT.backoff_max,
        ):
            with attempt:
                if not replayed:
                    replayed = True
                    raise failure
                self.stats.retries += 1
                try:
                    return await self._call_through_rate_limits(current, log, defer)
                except (LlmTimeout, ProviderError) as error:
                    current = self._after(error, current)
                    raise
        raise AssertionError("unreachable: stamina re-raises the last error")

    def _after(self, failure: LlmTimeout | ProviderError, request: LlmRequest) -> LlmRequest:
        """The request to retry with: on a provider error, the fallback model if any."""
        if isinstance(failure, ProviderError) and self.fallback_model is not None:
            return _with_model(request, self.fallback_model)
        return request

    async def _call_through_rate_limits(
        self, request: LlmRequest, log: EventLog, defer: bool
    ) -> LlmReply:
        breaker = self.breaker
        while True:
            if defer:
                self._raise_if_paused()
            await self.gate.wait()
            probe = await breaker.acquire() if breaker is not None else False
            try:
                reply = await self._call_once(request, log)
            except TimeoutError:
                if probe and breaker is not None:
                    breaker.failed(request.trace_id, "no reply to the probe", probe=True)
                    continue
                raise LlmTimeout(
                    f"No reply within {request.timeout:g} s ({request.stage.value})."
                ) from None
            except ProviderError as error:
                if error.answered:
                    # Refused (4xx), not down: the request's fault, retried as the
                    # policy says, but no sign of an outage.
                    self._provider_answered(log)
                elif breaker is not None:
                    was_closed = breaker.state is BreakerState.CLOSED
                    if breaker.failed(request.trace_id, str(error), probe=probe):
                        if was_closed:
                            log.warning("provider_down", reason=str(error))
                        continue
                raise
            except LlmError as error:
                # The provider answered, if only to refuse: it is up.
                self._provider_answered(log)
                if isinstance(error, RateLimited):
                    self.stats.rate_limited += 1
                    self.gate.pause(error.retry_after)
                    log.warning("rate_limited", retry_after=error.retry_after)
                    if defer:
                        # Handed back at once: checking the pause on the next turn
                        # would let a slow turn outlive a short pause and wait here.
                        raise
                    continue
                raise
            except BaseException:
                if breaker is not None:
                    breaker.abandoned(probe=probe)
                raise
            self._provider_answered(log)
            self._log_mode(reply, log)
            return reply

    async def _call_once(self, request: LlmRequest, log: EventLog) -> LlmReply:
        """One call to the gateway within the request's deadline (``TimeoutError`` if not),
        in a span of its own when telemetry is on."""
        telemetry = current_telemetry()
        if telemetry is None:
            return await self._call_limited(request, log)
        call = LlmCall(
            provider=self._provider,
            model=request.model or self._model,
            stage=request.stage.value,
            trace_id=request.trace_id,
            attempt=request.attempt,
            system=request.system,
            prompt=request.prompt,
        )
        started = anyio.current_time()
        with telemetry.llm_call(call) as span:
            try:
                reply = await self._call_limited(request, log)
            except BaseException as error:
                kind = error.failure.value if isinstance(error, LlmError) else type(error).__name__
                if isinstance(error, TimeoutError):
                    kind = "timeout"
                span.fail(error, kind)
                telemetry.llm_done(call, span, None, anyio.current_time() - started, kind)
                raise
            facts = LlmReplyFacts(
                reply.model,
                reply.prompt_tokens,
                reply.completion_tokens,
                reply.finish_reason,
                reply.text,
            )
            telemetry.llm_done(call, span, facts, anyio.current_time() - started)
            return reply

    async def _call_limited(self, request: LlmRequest, log: EventLog) -> LlmReply:
        async with self.limiter:
            self.stats.calls += 1
            self.stats.in_flight += 1
            started = anyio.current_time()
            outcome = "ok"
            reply: LlmReply | None = None
            try:
                # A bare deadline scope: ``anyio.fail_after`` wraps the same scope in a
                # generator, which costs as much again on every call.
                with anyio.CancelScope(deadline=started + request.timeout):
                    reply = await self.gateway.complete(request)
                if reply is None:  # the deadline passed: the scope swallowed its cancellation
                    raise TimeoutError
            except TimeoutError:
                outcome = FailureKind.LLM_TIMEOUT.value
                raise
            except LlmError as error:
                outcome = error.failure.value
                raise
            finally:
                self.stats.in_flight -= 1
                self._record(request, reply, anyio.current_time() - started, outcome, log)
            return reply

    def _raise_if_paused(self) -> None:
        left = self.gate.paused_until - self.gate.clock.now()
        if left > 0:
            raise RateLimited(
                f"Rate limited: calls to this provider are paused for {left:.3g} s.",
                retry_after=left,
            )

    def _provider_answered(self, log: EventLog) -> None:
        if self.breaker is not None and self.breaker.succeeded():
            log.warning("provider_back")

    def _log_mode(self, reply: LlmReply, log: EventLog) -> None:
        mode = reply.extra.get("structured_mode")
        if isinstance(mode, str) and (reply.model, mode) not in self._modes_logged:
            self._modes_logged.add((reply.model, mode))
            refused = reply.extra.get("structured_refused") or ()
            log.info("structured_output", model=reply.model, mode=mode, refused=list(refused))

    def statistics(self) -> CallerStatistics:
        return self.stats.snapshot()

    def _record(
        self,
        request: LlmRequest,
        reply: LlmReply | None,
        latency: float,
        outcome: str,
        log: EventLog,
    ) -> None:
        stage = request.stage.value
        self.stats.latency(stage, latency)
        if reply is not None:
            self.stats.count(request, reply)
        log.info(
            "llm_call",
            stage=stage,
            model=reply.model if reply is not None else request.model,
            attempt=request.attempt,
            latency_s=round(latency, 4),
            prompt_tokens=reply.prompt_tokens if reply is not None else None,
            cached_tokens=reply.cached_tokens if reply is not None else None,
            completion_tokens=reply.completion_tokens if reply is not None else None,
            finish_reason=reply.finish_reason if reply is not None else None,
            outcome=outcome,
        )


def _with_model(request: LlmRequest, model: str) -> LlmRequest:
    return replace(request, model=model)
