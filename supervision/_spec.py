"""What a supervisor supervises: child specs, restart types and strategies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol, final

from anyio import TASK_STATUS_IGNORED
from anyio.abc import TaskStatus

from actors import Actor
from bus import Bus
from messages import UsageError


class Strategy(Enum):
    """Which children restart when one of them exits and must be restarted."""

    ONE_FOR_ONE = "one_for_one"
    """Only the child that exited."""
    ONE_FOR_ALL = "one_for_all"
    """Every child: the others are stopped, then all start again in order."""
    REST_FOR_ONE = "rest_for_one"
    """The child that exited and every child started after it."""


class Restart(Enum):
    """When a child that exited is restarted."""

    PERMANENT = "permanent"
    """Always."""
    TRANSIENT = "transient"
    """Only after an abnormal exit (it raised)."""
    TEMPORARY = "temporary"
    """Never."""


class Child(Protocol):
    """Anything a supervisor can run: an actor on a bus, or another supervisor."""

    async def run(self, *, task_status: TaskStatus[None] = TASK_STATUS_IGNORED) -> None:
        """Run until done; call ``task_status.started()`` once ready for work."""
        ...

    def stop(self, *, drain: bool = True) -> None:
        """Ask it to finish and return from ``run``; it may take its time."""
        ...


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """How to start one child, and when to restart it."""

    name: str
    start: Callable[[], Child]
    """Builds a fresh child; called again on every restart."""
    restart: Restart = Restart.PERMANENT
    shutdown_timeout: float = 5.0
    """How long a stopping child may take before it is cancelled."""

    def __post_init__(self) -> None:
        if self.shutdown_timeout < 0:
            raise UsageError(
                f"shutdown_timeout={self.shutdown_timeout!r} of child {self.name!r} must be >= 0"
            )


@final
class ActorChild:
    """An actor bound to the bus it serves, as a supervisor's child."""

    def __init__(self, actor: Actor[Any], bus: Bus) -> None:
        self.actor = actor
        self.bus = bus

    async def run(self, *, task_status: TaskStatus[None] = TASK_STATUS_IGNORED) -> None:
        await self.actor.run(self.bus, task_status=task_status)

    def stop(self, *, drain: bool = True) -> None:
        self.actor.stop(drain=drain)


def actor_child(
    bus: Bus,
    factory: Callable[[], Actor[Any]],
    *,
    restart: Restart = Restart.PERMANENT,
    shutdown_timeout: float = 5.0,
) -> ChildSpec:
    """A child spec for an actor, subscribed on ``bus`` at once.

    Subscribing now, rather than when the actor first runs, means that nothing
    published before it starts is unrouted: it waits in the actor's mailbox.
    """
    first = factory()
    first.attach(bus)
    pending = [first]

    def start() -> Child:
        actor = pending.pop() if pending else factory()
        return ActorChild(actor, bus)

    return ChildSpec(first.name, start, restart=restart, shutdown_timeout=shutdown_timeout)
