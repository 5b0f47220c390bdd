"""The supervisor: runs children, restarts them by strategy, escalates when overwhelmed."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import final

import anyio
from anyio import TASK_STATUS_IGNORED, CancelScope
from anyio.abc import TaskGroup, TaskStatus

from bus import Clock, SystemClock
from messages import RestartIntensityExceeded, UsageError
from supervision._backoff import Backoff
from supervision._events import (
    ChildExited,
    ChildKilled,
    ChildRestarted,
    Escalated,
    SupervisorEvent,
    SupervisorHook,
)
from supervision._spec import Child, ChildSpec, Restart, Strategy


class SupervisorState(Enum):
    CREATED = "created"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class ChildStatistics:
    name: str
    running: bool
    restarts: int


@dataclass(frozen=True, slots=True)
class SupervisorStatistics:
    """One supervisor at one moment."""

    name: str
    state: SupervisorState
    children: tuple[ChildStatistics, ...]
    restarts: int
    """Restarts over the supervisor's life."""
    recent_restarts: int
    """Restarts inside the current intensity period."""


@dataclass(eq=False)
class _Slot:
    spec: ChildSpec
    generation: int = 0
    child: Child | None = None
    scope: CancelScope | None = None
    done: anyio.Event = field(default_factory=anyio.Event)
    stopping: bool = False
    consecutive: int = 0
    last_restart: float | None = None
    restarts: int = 0

    def __post_init__(self) -> None:
        self.done.set()  # a slot that has not started is not running

    @property
    def running(self) -> bool:
        return not self.done.is_set()


@dataclass(frozen=True, slots=True)
class _Exited:
    slot: _Slot
    generation: int
    error: BaseException | None


@dataclass(frozen=True, slots=True)
class _StopRequested:
    drain: bool


@final
class Supervisor:
    """Owns a task group of children, and restarts them as OTP supervisors do.

    At most ``max_restarts`` restarts may happen within ``period`` seconds. One more,
    and the supervisor stops every child, then raises ``RestartIntensityExceeded``
    from ``run``: its own parent sees that as this child crashing.
    """

    def __init__(
        self,
        name: str,
        children: Sequence[ChildSpec],
        *,
        strategy: Strategy = Strategy.ONE_FOR_ONE,
        max_restarts: int = 3,
        period: float = 5.0,
        backoff: Backoff | None = None,
        clock: Clock | None = None,
        hooks: Sequence[SupervisorHook] = (),
    ) -> None:
        if max_restarts < 0:
            raise UsageError(f"max_restarts={max_restarts!r} must be >= 0")
        if period <= 0:
            raise UsageError(f"period={period!r} must be > 0")
        names = [spec.name for spec in children]
        if len(set(names)) != len(names):
            raise UsageError(f"Child names of supervisor {name!r} must be unique: {names}")
        self.name = name
        self.strategy = strategy
        self.max_restarts = max_restarts
        self.period = period
        self.backoff = backoff if backoff is not None else Backoff()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.hooks = tuple(hooks)
        self._slots = [_Slot(spec) for spec in children]
        self._state = SupervisorState.CREATED
        self._recent: deque[float] = deque()
        self._restarts = 0
        self._inbox_send, self._inbox = anyio.create_memory_object_stream[_Exited | _StopRequested](
            math.inf
        )
        self._task_group: TaskGroup | None = None
        self._backoff_scope: CancelScope | None = None

    @property
    def state(self) -> SupervisorState:
        return self._state

    async def run(self, *, task_status: TaskStatus[None] = TASK_STATUS_IGNORED) -> None:
        """Start every child in order, then supervise them until stopped or escalated."""
        if self._state is not SupervisorState.CREATED:
            raise UsageError(
                f"Cannot run supervisor {self.name!r}, as it is {self._state.value}; "
                "build a new one to run it again"
            )
        self._state = SupervisorState.RUNNING
        escalation: RestartIntensityExceeded | None = None
        try:
            async with anyio.create_task_group() as task_group:
                self._task_group = task_group
                for slot in self._slots:
                    await self._start(slot)
                task_status.started()
                escalation = await self._supervise()
        finally:
            self._state = SupervisorState.STOPPED
            self._inbox_send.close()
            self._inbox.close()
        if escalation is not None:
            raise escalation

    def stop(self, *, drain: bool = True) -> None:
        """Stop every child in reverse start order, each within its shutdown timeout."""
        if self._state is SupervisorState.STOPPED:
            return
        if self._backoff_scope is not None:
            self._backoff_scope.cancel()
        self._inbox_send.send_nowait(_StopRequested(drain))

    def statistics(self) -> SupervisorStatistics:
        return SupervisorStatistics(
            name=self.name,
            state=self._state,
            children=tuple(
                ChildStatistics(slot.spec.name, slot.running, slot.restarts) for slot in self._slots
            ),
            restarts=self._restarts,
            recent_restarts=sum(1 for t in self._recent if t > self.clock.now() - self.period),
        )

    async def _supervise(self) -> RestartIntensityExceeded | None:
        async for event in self._inbox:
            match event:
                case _StopRequested(drain=drain):
                    self._state = SupervisorState.STOPPING
                    await self._stop_all(drain=drain)
                    return None
                case _Exited(slot=slot, generation=generation, error=error):
                    if generation != slot.generation or self._state is not SupervisorState.RUNNING:
                        continue  # an exit that a restart or a stop already dealt with
                    escalation = await self._on_exit(slot, error)
                    if escalation is not None:
                        return escalation
        return None

    async def _on_exit(
        self, slot: _Slot, error: BaseException | None
    ) -> RestartIntensityExceeded | None:
        self._emit(ChildExited(self.name, slot.spec.name, _describe(error)))
        if not _should_restart(slot.spec.restart, error):
            return None
        now = self.clock.now()
        self._recent.append(now)
        while self._recent and self._recent[0] <= now - self.period:
            self._recent.popleft()
        if len(self._recent) > self.max_restarts:
            self._state = SupervisorState.STOPPING
            await self._stop_all(drain=False)
            self._emit(Escalated(self.name, len(self._recent), self.period))
            exceeded = RestartIntensityExceeded(self.name, len(self._recent), self.period)
            exceeded.__cause__ = error
            return exceeded
        affected = self._affected_by(slot)
        for sibling in reversed(affected):
            if sibling is not slot:
                await self._stop_child(sibling, drain=False)
        delay = self._next_delay(slot, now)
        self._restarts += 1
        with CancelScope() as backoff:
            self._backoff_scope = backoff
            await self.clock.sleep(delay)
        self._backoff_scope = None
        if backoff.cancel_called:
            return None  # stop() cut the backoff short: start nothing, only to stop it
        for child in affected:
            if child is slot or child.spec.restart is not Restart.TEMPORARY:
                child.restarts += 1
                await self._start(child)
        return None

    def _affected_by(self, slot: _Slot) -> list[_Slot]:
        match self.strategy:
            case Strategy.ONE_FOR_ONE:
                return [slot]
            case Strategy.ONE_FOR_ALL:
                return [s for s in self._slots if s is slot or s.running]
            case Strategy.REST_FOR_ONE:
                index = self._slots.index(slot)
                return [slot] + [s for s in self._slots[index + 1 :] if s.running]

    def _next_delay(self, slot: _Slot, now: float) -> float:
        quiet = slot.last_restart is None or now - slot.last_restart > self.backoff.reset_after
        if quiet:
            slot.consecutive = 0
        delay = self.backoff.delay(slot.consecutive)
        self._emit(ChildRestarted(self.name, slot.spec.name, delay, slot.consecutive))
        slot.consecutive += 1
        slot.last_restart = now
        return delay

    async def _start(self, slot: _Slot) -> None:
        assert self._task_group is not None
        slot.generation += 1
        slot.done = anyio.Event()
        slot.stopping = False
        await self._task_group.start(self._run_child, slot, slot.generation)

    async def _run_child(
        self, slot: _Slot, generation: int, *, task_status: TaskStatus[None]
    ) -> None:
        ready = _Readiness(task_status)
        error: BaseException | None = None
        try:
            with CancelScope() as slot.scope:
                try:
                    slot.child = slot.spec.start()
                    await slot.child.run(task_status=ready)
                except Exception as exc:
                    error = exc
        finally:
            # A child that failed before it was ready still counts as started, so that
            # its failure is supervised like any other instead of aborting the start.
            ready.started()
            slot.done.set()
        if not slot.stopping:
            self._inbox_send.send_nowait(_Exited(slot, generation, error))

    async def _stop_all(self, *, drain: bool) -> None:
        for slot in reversed(self._slots):
            await self._stop_child(slot, drain=drain)

    async def _stop_child(self, slot: _Slot, *, drain: bool) -> None:
        if not slot.running:
            return
        slot.stopping = True
        if slot.child is not None:
            slot.child.stop(drain=drain)
        async with anyio.create_task_group() as timer:
            timer.start_soon(self._kill_after, slot)
            await slot.done.wait()
            timer.cancel_scope.cancel()

    async def _kill_after(self, slot: _Slot) -> None:
        await self.clock.sleep(slot.spec.shutdown_timeout)
        if slot.scope is not None and slot.running:
            self._emit(ChildKilled(self.name, slot.spec.name, slot.spec.shutdown_timeout))
            slot.scope.cancel()

    def _emit(self, event: SupervisorEvent) -> None:
        for hook in self.hooks:
            hook(event)


@final
class _Readiness:
    """Passes ``started()`` on to the task group exactly once."""

    def __init__(self, status: TaskStatus[None]) -> None:
        self._status = status
        self._started = False

    def started(self, value: None = None) -> None:
        if not self._started:
            self._started = True
            self._status.started()


def _should_restart(restart: Restart, error: BaseException | None) -> bool:
    match restart:
        case Restart.PERMANENT:
            return True
        case Restart.TRANSIENT:
            return error is not None
        case Restart.TEMPORARY:
            return False


def _describe(error: BaseException | None) -> str | None:
    return None if error is None else f"{type(error).__name__}: {error}"
