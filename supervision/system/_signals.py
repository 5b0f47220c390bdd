"""SIGINT and SIGTERM for a run or a service: the first asks for a drain with a deadline,
a second stops at once. The system, not the HTTP server, owns them."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import final

import anyio
from anyio import CancelScope

from supervision.system._config import PipelineConfig
from supervision.system._lifespan import open_system, sole_error
from supervision.system._system import System

DRAIN_S = 10.0
"""How long in-flight leads may take to finish after SIGINT or SIGTERM, stopping included."""


@final
class Stopper:
    """Hears the signals, and tells the owner through ``requested`` and ``signal``."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self.requested = anyio.Event()
        self.system: System | None = None
        """The system to stop admitting and to stop by the deadline, once it exists."""

    async def watch(self, outer: CancelScope) -> None:
        """Listen until cancelled; a second signal cancels ``outer``: everything, now."""
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                if self.signal is not None:
                    # What is unfinished stays pending; the next start picks it up.
                    if self.system is not None:
                        self.system.log.warning("stopping_at_once", signal=signum)
                    outer.cancel()
                    return
                self.signal = signum
                self.requested.set()
                if self.system is not None:
                    self.system.log.warning("stop_requested", signal=signum, drain_s=DRAIN_S)
                    self.system.stop_within(DRAIN_S)

    @asynccontextmanager
    async def guarding(self, config: PipelineConfig) -> AsyncIterator[System]:
        """The live system on ``config.out``, with this stopper listening while it lives.

        An error that ends it alone is raised as itself, as ``open_system`` raises it, not
        inside this task group's exception group: an operator error stays one line."""
        with sole_error():
            async with anyio.create_task_group() as outer:
                if config.handle_signals:
                    outer.start_soon(self.watch, outer.cancel_scope)
                try:
                    async with open_system(config) as system:
                        self.system = system
                        yield system
                finally:
                    outer.cancel_scope.cancel()

    async def until_stopped(
        self, system: System, work: Callable[[], Awaitable[object]] | None = None
    ) -> None:
        """Run ``work`` (or nothing) until it is done, the system halts, or a signal comes."""
        async with anyio.create_task_group() as until:
            until.start_soon(cancel_after, system.wait_halted, until.cancel_scope)
            until.start_soon(cancel_after, self.requested.wait, until.cancel_scope)
            if work is not None:
                await work()
                until.cancel_scope.cancel()

    async def drain(self, system: System) -> None:
        """After a signal, give leads in flight what is left of ``DRAIN_S`` to finish."""
        if self.signal is None:
            return
        deadline = system.stop_by if system.stop_by is not None else anyio.current_time()
        # The actors' stop needs a moment of the deadline too.
        with anyio.move_on_after(max(0.0, deadline - anyio.current_time() - 1.0)):
            await system.wait_settled()


async def cancel_after(wait: Callable[[], Awaitable[object]], scope: CancelScope) -> None:
    """Cancel ``scope`` once ``wait()`` returns."""
    await wait()
    scope.cancel()
