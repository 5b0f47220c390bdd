"""Supervisor children that a test drives by hand, and ``settle`` to wait for quiet."""

from __future__ import annotations

from typing import final

import anyio
from anyio import TASK_STATUS_IGNORED, wait_all_tasks_blocked
from anyio.abc import TaskStatus
from anyio.lowlevel import checkpoint

from supervision import ChildSpec, Restart

SPIN = 64
"""Checkpoints to yield before asking anyio whether every task is blocked."""


async def settle() -> None:
    """Return once every other task is blocked.

    ``wait_all_tasks_blocked`` polls every 0.1 s while some task can still run; yielding
    a few times first lets most chains of wake-ups finish, so it usually returns at once.
    """
    for _ in range(SPIN):
        await checkpoint()
    await wait_all_tasks_blocked()


@final
class Workers:
    """Builds child specs, and records every start and stop request, in order.

    ``current[name]`` is the incarnation that runs now (or ran last) under that name.
    """

    def __init__(self) -> None:
        self.starts: list[str] = []
        self.stops: list[str] = []
        self.current: dict[str, Worker] = {}

    def spec(
        self,
        name: str,
        *,
        restart: Restart = Restart.PERMANENT,
        shutdown_timeout: float = 5.0,
        stubborn: bool = False,
    ) -> ChildSpec:
        """A child named ``name``; a ``stubborn`` one ignores ``stop()``."""

        def start() -> Worker:
            worker = Worker(name, self, stubborn=stubborn)
            self.current[name] = worker
            return worker

        return ChildSpec(name, start, restart=restart, shutdown_timeout=shutdown_timeout)

    def crash(self, name: str) -> None:
        """Make the running incarnation of ``name`` raise."""
        self.current[name].exit(RuntimeError(f"{name} crashed"))

    def finish(self, name: str) -> None:
        """Make the running incarnation of ``name`` return normally."""
        self.current[name].exit(None)


@final
class Worker:
    """One incarnation of a child: it runs until told to exit, or until stopped."""

    def __init__(self, name: str, workers: Workers, *, stubborn: bool) -> None:
        self.name = name
        self._workers = workers
        self._stubborn = stubborn
        self._exited = anyio.Event()
        self._error: BaseException | None = None

    async def run(self, *, task_status: TaskStatus[None] = TASK_STATUS_IGNORED) -> None:
        self._workers.starts.append(self.name)
        task_status.started()
        await self._exited.wait()
        if self._error is not None:
            raise self._error

    def stop(self, *, drain: bool = True) -> None:
        self._workers.stops.append(self.name)
        if not self._stubborn:
            self._exited.set()

    def exit(self, error: BaseException | None) -> None:
        self._error = error
        self._exited.set()
