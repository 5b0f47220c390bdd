"""What a supervisor reports: frozen events, handed to hooks for logs and metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ChildExited:
    """A child returned or raised without being asked to stop."""

    supervisor: str
    child: str
    error: str | None
    """``None`` for a normal exit, else the exception, as ``Type: message``."""


@dataclass(frozen=True, slots=True)
class ChildRestarted:
    """A child is about to start again, after ``delay`` seconds of backoff."""

    supervisor: str
    child: str
    delay: float
    consecutive: int
    """How many restarts of this child came just before this one (0 for the first)."""


@dataclass(frozen=True, slots=True)
class ChildKilled:
    """A stopping child outlived its shutdown timeout and was cancelled."""

    supervisor: str
    child: str
    timeout: float


@dataclass(frozen=True, slots=True)
class Escalated:
    """The supervisor exceeded its restart intensity, stopped its children and gave up."""

    supervisor: str
    restarts: int
    period: float


SupervisorEvent = ChildExited | ChildRestarted | ChildKilled | Escalated


class SupervisorHook(Protocol):
    """Called with every supervisor event, in order. An exception it raises propagates."""

    def __call__(self, event: SupervisorEvent, /) -> None: ...
