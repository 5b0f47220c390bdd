"""The service: the same live system as a run, fed by a face (HTTP) instead of a file,
that does not stop until a signal (or a halt) says so."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, final

import anyio
from anyio.abc import TaskStatus

from supervision.system._config import PipelineConfig
from supervision.system._signals import Stopper
from supervision.system._system import System


@final
class Gate:
    """Whether the face may take new leads: closed while the service drains."""

    def __init__(self) -> None:
        self.open = True
        self.closed = anyio.Event()

    def close(self) -> None:
        self.open = False
        self.closed.set()


class Face(Protocol):
    """What feeds the service: started once the system runs, cancelled when it stops."""

    async def __call__(
        self, system: System, gate: Gate, *, task_status: TaskStatus[None]
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class ServiceEnd:
    """How the service ended."""

    signal: int | None
    halted: str | None
    pending: int


@final
class Service:
    """The live system on ``config.out`` with ``face`` feeding it, until SIGINT or SIGTERM.

    A signal closes the gate (the face refuses new leads), gives leads in flight what is
    left of the drain deadline, then stops everything; a second signal stops at once.
    """

    def __init__(self, config: PipelineConfig, face: Face) -> None:
        self.config = config
        self.face = face
        self.gate = Gate()
        self.stopper = Stopper()
        self.system: System | None = None

    async def __call__(self) -> ServiceEnd:
        pending = 0
        async with self.stopper.guarding(self.config) as system:
            self.system = system
            await self._serve(system)
            pending = system.unfinished
        ran = self.system
        halted = ran.halted.reason if ran is not None and ran.halted is not None else None
        return ServiceEnd(self.stopper.signal, halted, pending)

    async def _serve(self, system: System) -> None:
        async with anyio.create_task_group() as face:
            await face.start(self.face, system, self.gate)
            await self.stopper.until_stopped(system)
            self.gate.close()
            system.stop_admitting()
            await self.stopper.drain(system)
            face.cancel_scope.cancel()
