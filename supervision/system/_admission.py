"""Admission control: at most ``window`` leads in flight; an outcome frees a place."""

from __future__ import annotations

from typing import final

import anyio


@final
class Admission:
    """The places of the admission window, and which records hold them."""

    def __init__(self, window: int) -> None:
        self._places = anyio.Semaphore(window)
        self._in_flight: set[int] = set()
        self._idle = anyio.Event()
        self._idle.set()

    async def admit(self, record: int) -> None:
        """Wait for a free place, and give it to ``record``."""
        await self._places.acquire()
        self._admitted(record)

    def try_admit(self, record: int) -> bool:
        """Admit ``record`` if a place is free now, without waiting."""
        try:
            self._places.acquire_nowait()
        except anyio.WouldBlock:
            return False
        self._admitted(record)
        return True

    def holds(self, record: int) -> bool:
        return record in self._in_flight

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def _admitted(self, record: int) -> None:
        self._in_flight.add(record)
        if self._idle.is_set():
            self._idle = anyio.Event()

    def settle(self, record: int) -> bool:
        """Free ``record``'s place; ``False`` (and nothing changes) if it held none."""
        if record not in self._in_flight:
            return False
        self._in_flight.remove(record)
        self._places.release()
        if not self._in_flight:
            self._idle.set()
        return True

    async def wait_idle(self) -> None:
        """Return once no record holds a place."""
        await self._idle.wait()
