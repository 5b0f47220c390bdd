"""The rate gate: one pause, shared by every call to a provider, after a 429."""

from __future__ import annotations

from dataclasses import dataclass
from typing import final

from bus import Clock, SystemClock

MAX_PAUSE_S = 60.0
"""The longest pause a provider can impose, however long its retry-after."""
DEFAULT_PAUSE_S = 1.0
"""The pause after a 429 that advised none."""


@dataclass(frozen=True, slots=True)
class RateGateStatistics:
    pauses: int
    paused_s: float
    """Total pause time imposed, in seconds."""


@final
class RateGate:
    """Holds every call to one provider until the provider's advised pause is over.

    A 429 is about the account, not the lead: pausing only the call that got it would
    let every other call hit the same limit.
    """

    def __init__(self, clock: Clock | None = None, *, max_pause: float = MAX_PAUSE_S) -> None:
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.max_pause = max_pause
        self._resume_at = 0.0
        self._pauses = 0
        self._paused_s = 0.0

    def pause(self, retry_after: float | None) -> None:
        """Hold calls for ``retry_after`` seconds from now (capped), or the default."""
        seconds = DEFAULT_PAUSE_S if retry_after is None else retry_after
        seconds = max(0.0, min(seconds, self.max_pause))
        resume_at = self.clock.now() + seconds
        if resume_at > self._resume_at:
            self._resume_at = resume_at
        self._pauses += 1
        self._paused_s += seconds

    @property
    def paused_until(self) -> float:
        return self._resume_at

    async def wait(self) -> None:
        """Return once no pause is in force; a pause extended meanwhile is honoured."""
        while (remaining := self._resume_at - self.clock.now()) > 0:
            await self.clock.sleep(remaining)

    def statistics(self) -> RateGateStatistics:
        return RateGateStatistics(pauses=self._pauses, paused_s=self._paused_s)
