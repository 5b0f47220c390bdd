"""A circuit breaker: after repeated failures, stop calling a service for a while."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import final

import anyio
from anyio import WouldBlock

from bus import Clock, SystemClock
from messages import UsageError

COOLDOWN_S = 2.0
"""How long an open breaker makes its callers wait before a trial call, by default."""


class BreakerState(Enum):
    CLOSED = "closed"
    """Calls go through."""
    OPEN = "open"
    """Calls wait until the cool-down is over."""
    HALF_OPEN = "half_open"
    """One trial call (a probe) goes through; the others wait for its result."""


@dataclass(frozen=True, slots=True)
class BreakerStatistics:
    state: BreakerState
    failures: int
    """Consecutive failures."""
    opened: int
    """Times the breaker has opened."""


@final
class CircuitBreaker:
    """Guards a flaky service so that its callers wait instead of hammering it.

    After ``threshold`` consecutive failures the breaker opens: ``ready`` makes callers
    wait out ``cooldown`` seconds. Then one trial call goes through (half-open); its
    success closes the breaker, its failure opens it again.
    """

    def __init__(
        self, *, threshold: int = 5, cooldown: float = COOLDOWN_S, clock: Clock | None = None
    ) -> None:
        if threshold < 1:
            raise UsageError(f"threshold={threshold!r} must be >= 1")
        if cooldown < 0:
            raise UsageError(f"cooldown={cooldown!r} must be >= 0")
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened = 0
        self._reopen_at = 0.0
        self._trial: anyio.Event | None = None

    async def ready(self) -> None:
        """Return when a call may be made; while open, wait out the cool-down."""
        while True:
            match self._state:
                case BreakerState.CLOSED:
                    return
                case BreakerState.OPEN:
                    remaining = self._reopen_at - self.clock.now()
                    if remaining > 0:
                        await self.clock.sleep(remaining)
                        continue
                    self._state = BreakerState.HALF_OPEN
                case BreakerState.HALF_OPEN:
                    if self._trial is None:
                        self._trial = anyio.Event()
                        return
                    await self._trial.wait()

    def ready_nowait(self) -> None:
        """``ready`` without waiting: return if a call may be made now, else raise
        ``WouldBlock``. A call it lets through while half-open is the trial."""
        if self._state is BreakerState.OPEN:
            if self._reopen_at > self.clock.now():
                raise WouldBlock
            self._state = BreakerState.HALF_OPEN
        if self._state is BreakerState.HALF_OPEN:
            if self._trial is not None:
                raise WouldBlock
            self._trial = anyio.Event()

    @property
    def reopens_at(self) -> float | None:
        """When an open breaker lets a trial call through (on its clock); ``None`` unless open."""
        return self._reopen_at if self._state is BreakerState.OPEN else None

    def succeeded(self) -> None:
        self._failures = 0
        self._state = BreakerState.CLOSED
        self._end_trial()

    def failed(self) -> None:
        self._failures += 1
        if self._state is BreakerState.HALF_OPEN or self._failures >= self.threshold:
            if self._state is not BreakerState.OPEN:
                self._opened += 1
            self._state = BreakerState.OPEN
            self._reopen_at = self.clock.now() + self.cooldown
        self._end_trial()

    def _end_trial(self) -> None:
        if self._trial is not None:
            self._trial.set()
            self._trial = None

    def statistics(self) -> BreakerStatistics:
        return BreakerStatistics(state=self._state, failures=self._failures, opened=self._opened)
