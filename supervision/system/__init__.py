"""The composition of this system: the live system on a run directory, the run, resume,
the directory lock, and the operator's actions."""

from supervision.system._compaction import Compaction, compact_run
from supervision.system._config import PipelineConfig
from supervision.system._csv import CsvTable, crm_table, csv_table, safe_cell
from supervision.system._housekeeping import (
    CompactionSettings,
    Housekeeping,
    HousekeepingStatistics,
)
from supervision.system._lifespan import open_system
from supervision.system._lock import DirectoryInUse, DirectoryLock, prepare
from supervision.system._operations import (
    UNOVERRIDABLE,
    Decision,
    DraftEdit,
    DraftRefused,
    approve,
    decline,
    draft_violations,
    export_csv,
    open_item,
    reject,
    replay,
    replayable,
    retry,
    retry_lead,
)
from supervision.system._resume import replay_envelope
from supervision.system._retries import RetryRunner, retryable
from supervision.system._run import SUMMARY_FILE, Progress, Run, RunSummary, run_pipeline
from supervision.system._service import Face, Gate, Service, ServiceEnd
from supervision.system._signals import DRAIN_S, Stopper
from supervision.system._stores import CRM_FILE, JOURNAL_FILE, Stores
from supervision.system._system import System
from supervision.system._trace import TraceNode, build_trace, describe, entry_detail
from supervision.system._wiring import OPERATOR, REVIEWER, VALIDATOR, routes
from supervision.system._worker import (
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
    "CRM_FILE",
    "DRAIN_S",
    "JOURNAL_FILE",
    "OPERATOR",
    "REVIEWER",
    "SUMMARY_FILE",
    "UNOVERRIDABLE",
    "VALIDATOR",
    "VALIDATORS",
    "Compaction",
    "CompactionSettings",
    "Credentials",
    "CsvTable",
    "Decision",
    "DirectoryInUse",
    "DirectoryLock",
    "DraftEdit",
    "DraftRefused",
    "Face",
    "Gate",
    "Housekeeping",
    "HousekeepingStatistics",
    "PipelineConfig",
    "Progress",
    "RetryRunner",
    "Role",
    "Run",
    "RunSummary",
    "Service",
    "ServiceEnd",
    "Stopper",
    "Stores",
    "System",
    "TraceNode",
    "WorkerParts",
    "WorkerSummary",
    "approve",
    "build_trace",
    "build_worker",
    "compact_run",
    "crm_table",
    "csv_table",
    "decline",
    "describe",
    "draft_violations",
    "entry_detail",
    "export_csv",
    "open_item",
    "open_system",
    "parse_roles",
    "prepare",
    "reject",
    "replay",
    "replay_envelope",
    "replayable",
    "retry",
    "retry_lead",
    "retryable",
    "routes",
    "run_pipeline",
    "run_worker",
    "safe_cell",
]
