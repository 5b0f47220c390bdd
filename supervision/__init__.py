"""Supervision, as in OTP: child specs, strategies, restart intensity and backoff."""

from supervision._backoff import Backoff
from supervision._event_log import EVENTS_FILE, Redact, event_log
from supervision._events import (
    ChildExited,
    ChildKilled,
    ChildRestarted,
    Escalated,
    SupervisorEvent,
    SupervisorHook,
)
from supervision._pipeline import (
    Injection,
    PipelineConfig,
    Progress,
    RunSummary,
    run_pipeline,
)
from supervision._resume import approval_envelope, replay_envelope
from supervision._settings import RunSettings
from supervision._spec import ActorChild, Child, ChildSpec, Restart, Strategy, actor_child
from supervision._supervisor import (
    ChildStatistics,
    Supervisor,
    SupervisorState,
    SupervisorStatistics,
)
from supervision._trace import TraceNode, build_trace, describe
from supervision._worker import (
    VALIDATORS,
    Credentials,
    Role,
    WorkerParts,
    WorkerSummary,
    build_worker,
    parse_roles,
    run_worker,
)

__all__ = [
    "EVENTS_FILE",
    "VALIDATORS",
    "ActorChild",
    "Backoff",
    "Child",
    "ChildExited",
    "ChildKilled",
    "ChildRestarted",
    "ChildSpec",
    "ChildStatistics",
    "Credentials",
    "Escalated",
    "Injection",
    "PipelineConfig",
    "Progress",
    "Redact",
    "Restart",
    "Role",
    "RunSettings",
    "RunSummary",
    "Strategy",
    "Supervisor",
    "SupervisorEvent",
    "SupervisorHook",
    "SupervisorState",
    "SupervisorStatistics",
    "TraceNode",
    "WorkerParts",
    "WorkerSummary",
    "actor_child",
    "approval_envelope",
    "build_trace",
    "build_worker",
    "describe",
    "event_log",
    "parse_roles",
    "replay_envelope",
    "run_pipeline",
    "run_worker",
]
