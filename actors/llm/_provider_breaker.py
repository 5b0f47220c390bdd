"""The provider-level circuit breaker: many leads failing in a row means the provider is down.

A provider error that belongs to one lead is that lead's to retry and, in the end, to
take to review. But when calls for different leads fail one after another, the provider
is down, and sending every lead to review for it would turn one outage into a queue of
work for people. So the breaker, shared by every call to one provider:

- counts provider errors in a row; at ``failures`` of them from at least ``leads``
  different leads, it opens;
- while open, holds every call; after a backoff (``backoff_initial`` doubling up to
  ``backoff_max``) it lets one call through as a probe. Any answer from the provider
  closes it; another provider error or a timeout opens it again for a longer backoff;
- when it has been open for ``down_limit`` seconds, every held call raises
  ``ProviderDown`` and the run stops, its unfinished leads left pending.

Calls it holds spend none of their lead's attempts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, final, runtime_checkable

import anyio

from actors.runtime import BreakerState
from bus import Clock, SystemClock
from messages import FailureKind, LlmError, UsageError

DOWN_LIMIT_S = 120.0
"""How long a provider may be down before the run stops."""


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """When a provider counts as down, how to wait for it, and for how long."""

    failures: int = 5
    """Provider errors in a row that open the breaker."""
    leads: int = 2
    """Different leads those errors must come from."""
    backoff_initial: float = 1.0
    backoff_max: float = 30.0
    down_limit: float = DOWN_LIMIT_S
    """Seconds open before every held call raises ``ProviderDown``."""

    def __post_init__(self) -> None:
        if self.failures < 1 or self.leads < 1:
            raise UsageError(
                f"failures={self.failures!r} and leads={self.leads!r} must both be >= 1"
            )
        if not 0 < self.backoff_initial <= self.backoff_max:
            raise UsageError(
                f"backoff_initial={self.backoff_initial!r} must be > 0 and <= "
                f"backoff_max={self.backoff_max!r}"
            )
        if self.down_limit <= 0:
            raise UsageError(f"down_limit={self.down_limit!r} must be > 0 seconds")


@runtime_checkable
class HasBreakerPolicy(Protocol):
    """A gateway to a remote provider, which says when that provider counts as down."""

    @property
    def breaker_policy(self) -> BreakerPolicy: ...


class ProviderDown(LlmError):
    """The provider has been down past the breaker's limit: the run must stop."""

    failure = FailureKind.PROVIDER_ERROR


@dataclass(frozen=True, slots=True)
class ProviderBreakerStatistics:
    """A provider breaker at one moment (``CircuitBreaker``'s are ``BreakerStatistics``)."""

    state: BreakerState
    in_a_row: int
    """Provider errors since the last answer."""
    openings: int
    """Times the breaker opened (not counting re-openings after a failed probe)."""
    probes: int


@final
class ProviderBreaker:
    """The breaker for one provider; ``LlmCaller`` asks it before, and tells it after, a call."""

    def __init__(self, policy: BreakerPolicy | None = None, *, clock: Clock | None = None) -> None:
        self.policy = policy if policy is not None else BreakerPolicy()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.state = BreakerState.CLOSED
        self._in_a_row = 0
        self._leads: set[str] = set()
        self._last = ""
        self._down_since = 0.0
        self._retry_at = 0.0
        self._backoff = self.policy.backoff_initial
        self._verdict = anyio.Event()
        self._openings = 0
        self._probes = 0

    async def acquire(self) -> bool:
        """Wait until a call may go; True when that call is the probe.

        Raises ``ProviderDown`` once the breaker has been open for the policy's limit.
        """
        while True:
            match self.state:
                case BreakerState.CLOSED:
                    return False
                case BreakerState.HALF_OPEN:
                    await self._verdict.wait()
                case BreakerState.OPEN:
                    now = self.clock.now()
                    give_up_at = self._down_since + self.policy.down_limit
                    if now >= give_up_at:
                        raise ProviderDown(self.down_reason())
                    wait = min(self._retry_at, give_up_at) - now
                    if wait > 0:
                        await self.clock.sleep(wait)
                        continue
                    self.state = BreakerState.HALF_OPEN
                    self._probes += 1
                    return True

    def succeeded(self) -> bool:
        """The provider answered; True when that closed the breaker."""
        self._in_a_row = 0
        self._leads.clear()
        if self.state is BreakerState.CLOSED:
            return False
        self.state = BreakerState.CLOSED
        self._backoff = self.policy.backoff_initial
        self._decide()
        return True

    def failed(self, trace_id: str, reason: str, *, probe: bool) -> bool:
        """A provider error (or the probe's timeout); True when the call should wait and
        go again rather than spend one of its lead's attempts."""
        self._last = " ".join(reason.split())
        if probe and self.state is BreakerState.HALF_OPEN:
            self._backoff = min(self._backoff * 2, self.policy.backoff_max)
            self._open_for(self._backoff)
            return True
        if self.state is not BreakerState.CLOSED:
            return True  # sent before the breaker opened
        self._in_a_row += 1
        self._leads.add(trace_id)
        if self._in_a_row >= self.policy.failures and len(self._leads) >= self.policy.leads:
            self._openings += 1
            self._down_since = self.clock.now()
            self._backoff = self.policy.backoff_initial
            self._open_for(self._backoff)
            return True
        return False

    def abandoned(self, *, probe: bool) -> None:
        """A call ended without an answer either way (it was cancelled)."""
        if probe and self.state is BreakerState.HALF_OPEN:
            self._open_for(0.0)

    def down_reason(self) -> str:
        """One line for the operator: how long, what failed, what to do."""
        return (
            f"The LLM provider has been down for {self.policy.down_limit:g} s "
            f"(last error: {self._last.rstrip('.')}). Check that the server is up and "
            "reachable."
        )

    def statistics(self) -> ProviderBreakerStatistics:
        return ProviderBreakerStatistics(
            state=self.state, in_a_row=self._in_a_row, openings=self._openings, probes=self._probes
        )

    def _open_for(self, seconds: float) -> None:
        self.state = BreakerState.OPEN
        self._retry_at = self.clock.now() + seconds
        self._decide()

    def _decide(self) -> None:
        """Wake the calls waiting on a probe's verdict."""
        self._verdict.set()
        self._verdict = anyio.Event()


BreakerStatistics = ProviderBreakerStatistics
"""The earlier name of ``ProviderBreakerStatistics``, kept importable from ``actors.llm``."""
