"""Supervision, as in OTP: child specs, strategies, restart intensity and backoff."""

from supervision._backoff import Backoff
from supervision._events import (
    ChildExited,
    ChildKilled,
    ChildRestarted,
    Escalated,
    SupervisorEvent,
    SupervisorHook,
)
from supervision._pipeline import PipelineConfig, Progress, RunSummary, run_pipeline
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
    "PipelineConfig",
    "Progress",
    "Restart",
    "RunSummary",
    "Strategy",
    "Supervisor",
    "SupervisorEvent",
    "SupervisorHook",
    "SupervisorState",
    "SupervisorStatistics",
    "actor_child",
    "run_pipeline",
]
