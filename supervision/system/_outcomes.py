"""What the live system knows of its records' outcomes: how many are unfinished, how many
of each it settled, who waits for one record's outcome, and who listens to them all."""

from __future__ import annotations

from collections.abc import Callable
from typing import final

import anyio

from messages import LeadOutcome

OutcomeListener = Callable[[LeadOutcome], None]


@final
class Outcomes:
    """The outcomes of one system, counted as they come (each record's first only)."""

    def __init__(self, unfinished: int) -> None:
        self.unfinished = unfinished
        """Records submitted (or taken on again) without an outcome yet."""
        self.settled: dict[str, int] = {}
        """Outcomes this process has settled, by outcome."""
        self._listeners: list[OutcomeListener] = []
        self._waiters: dict[int, anyio.Event] = {}
        self._finished = anyio.Event()
        self._room = anyio.Event()
        self._check_finished()

    def opened(self, records: int) -> None:
        """``records`` more are unfinished: submitted, or taken on again."""
        if records:
            self.unfinished += records
            if self._finished.is_set():
                self._finished = anyio.Event()

    def waiter(self, record: int) -> anyio.Event:
        """Set once ``record`` has its outcome."""
        return self._waiters.setdefault(record, anyio.Event())

    def count(self, outcome: str) -> None:
        """An outcome settled without the actors (a person's decline)."""
        self.settled[outcome] = self.settled.get(outcome, 0) + 1

    def heard(self, outcome: LeadOutcome) -> None:
        """A record's first outcome: counted, and told to whoever waits or listens."""
        self.unfinished -= 1
        self.count(outcome.outcome.value)
        self._room.set()
        waiter = self._waiters.pop(outcome.record, None)
        if waiter is not None:
            waiter.set()
        for listener in list(self._listeners):
            listener(outcome)
        self._check_finished()

    def listen(self, listener: OutcomeListener) -> Callable[[], None]:
        """Call ``listener`` with every outcome from now on; returns how to stop."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def wait_finished(self) -> None:
        """Return once every record has an outcome."""
        await self._finished.wait()

    async def wait_for_outcome(self) -> None:
        """Return once another record has its outcome (and so, maybe, freed a place)."""
        if self._room.is_set():
            self._room = anyio.Event()
        await self._room.wait()

    def _check_finished(self) -> None:
        if self.unfinished <= 0:
            self._finished.set()
