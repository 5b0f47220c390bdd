"""Clocks: the system clock, and a fake one that tests move by hand."""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass, field
from typing import Protocol, final

import anyio
from anyio.lowlevel import checkpoint

from messages import UsageError


class Clock(Protocol):
    """A source of time that code waits on, so that tests can replace it."""

    def now(self) -> float:
        """Seconds on a monotonic scale."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait for ``seconds``."""
        ...


@final
class SystemClock:
    """The real monotonic clock."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


@dataclass(order=True)
class _Sleeper:
    deadline: float
    order: int
    wake: anyio.Event = field(compare=False)


@final
class FakeClock:
    """Virtual time: sleepers wake only when a test calls ``advance``.

    ``requested`` records every duration asked for, so a test can check each delay
    without waiting for any of them.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._sleepers: list[_Sleeper] = []
        self._order = itertools.count()
        self.requested: list[float] = []

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        self.requested.append(seconds)
        if seconds <= 0:
            await checkpoint()
            return
        sleeper = _Sleeper(self._now + seconds, next(self._order), anyio.Event())
        heapq.heappush(self._sleepers, sleeper)
        try:
            await sleeper.wake.wait()
        finally:
            if not sleeper.wake.is_set():
                self._sleepers.remove(sleeper)
                heapq.heapify(self._sleepers)

    @property
    def sleeping(self) -> int:
        """How many tasks are asleep on this clock."""
        return len(self._sleepers)

    def next_deadline(self) -> float | None:
        """When the earliest sleeper wakes, or ``None`` if nobody sleeps."""
        return self._sleepers[0].deadline if self._sleepers else None

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has come."""
        if seconds < 0:
            raise UsageError(f"seconds={seconds!r} must be >= 0; time only moves forward")
        self._now += seconds
        while self._sleepers and self._sleepers[0].deadline <= self._now:
            heapq.heappop(self._sleepers).wake.set()
