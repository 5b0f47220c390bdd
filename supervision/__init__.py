"""Supervision, as in OTP: child specs, strategies, restart intensity and backoff."""

from supervision._backoff import Backoff
from supervision._event_log import EVENTS_FILE, Redact, Tally, event_log
from supervision._events import (
    ChildExited,
    ChildKilled,
    ChildRestarted,
    Escalated,
    SupervisorEvent,
    SupervisorHook,
)
from supervision._settings import RunSettings
from supervision._spec import ActorChild, Child, ChildSpec, Restart, Strategy, actor_child
from supervision._supervisor import (
    ChildStatistics,
    Supervisor,
    SupervisorState,
    SupervisorStatistics,
)
from supervision.system import (
    Compaction,
    PipelineConfig,
    Progress,
    RunSummary,
    TraceNode,
    approval_envelope,
    build_trace,
    compact_run,
    describe,
    entry_detail,
    replay_envelope,
    run_pipeline,
)

__all__ = [
    "EVENTS_FILE",
    "ActorChild",
    "Backoff",
    "Child",
    "ChildExited",
    "ChildKilled",
    "ChildRestarted",
    "ChildSpec",
    "ChildStatistics",
    "Compaction",
    "Escalated",
    "PipelineConfig",
    "Progress",
    "Redact",
    "Restart",
    "RunSettings",
    "RunSummary",
    "Strategy",
    "Supervisor",
    "SupervisorEvent",
    "SupervisorHook",
    "SupervisorState",
    "SupervisorStatistics",
    "Tally",
    "TraceNode",
    "actor_child",
    "approval_envelope",
    "build_trace",
    "compact_run",
    "describe",
    "entry_detail",
    "event_log",
    "replay_envelope",
    "run_pipeline",
]
