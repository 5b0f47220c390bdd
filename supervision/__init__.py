"""Supervision, as in OTP: child specs, strategies, restart intensity and backoff.

This package is the core alone; what composes this system from it (the run directory,
the run, the service, the operator's actions, settings, the event log, the workspace and
the samples) is ``supervision.system``, and the evaluation of a candidate configuration
is ``supervision.evaluation``.
"""

from supervision._backoff import Backoff
from supervision._events import (
    ChildExited,
    ChildKilled,
    ChildRestarted,
    Escalated,
    SupervisorEvent,
    SupervisorHook,
)
from supervision._spec import ActorChild, Child, ChildSpec, Restart, Strategy, actor_child
from supervision._supervisor import (
    ChildStatistics,
    Supervisor,
    SupervisorState,
    SupervisorStatistics,
)

__all__ = [
    "ActorChild",
    "Backoff",
    "Child",
    "ChildExited",
    "ChildKilled",
    "ChildRestarted",
    "ChildSpec",
    "ChildStatistics",
    "Escalated",
    "Restart",
    "Strategy",
    "Supervisor",
    "SupervisorEvent",
    "SupervisorHook",
    "SupervisorState",
    "SupervisorStatistics",
    "actor_child",
]
