"""The composition of this system: the live system on a run directory, the run, the
service and the stage worker, resume, the directory lock, the operator's actions, and what
the commands share around them: the run's settings, the event log, the workspace and the
sample leads (``samples``)."""

from supervision.system._compaction import Compaction, compact_run
from supervision.system._config import PipelineConfig
from supervision.system._configure import (
    PROMPTS_DIR,
    WEB_CACHE,
    close_backends,
    configure,
    evidence_source,
    gateway_of,
    icp_of,
    prompts_of,
    with_baseline,
)
from supervision.system._csv import CsvTable, crm_table, csv_table, safe_cell
from supervision.system._event_log import EVENTS_FILE, Redact, Tally, event_log
from supervision.system._housekeeping import (
    CompactionSettings,
    Housekeeping,
    HousekeepingStatistics,
)
from supervision.system._library_logs import command_log, library_logs
from supervision.system._lifespan import open_system
from supervision.system._lock import DirectoryInUse, DirectoryLock, prepare
from supervision.system._operating import operating
from supervision.system._operations import (
    UNOVERRIDABLE,
    Decision,
    DraftEdit,
    DraftRefused,
    Operator,
    export_csv,
)
from supervision.system._resume import replay_envelope
from supervision.system._retries import RetryRunner
from supervision.system._run import SUMMARY_FILE, Progress, Run, RunSummary, run_pipeline
from supervision.system._service import Face, Gate, Service, ServiceEnd
from supervision.system._settings import (
    SETTINGS_FILE,
    EvidenceSettings,
    LlmSettings,
    RunFiles,
    RunLimits,
    RunSettings,
    Sources,
)
from supervision.system._signals import DRAIN_S, Stopper
from supervision.system._statistics import BookStatistics, SystemStatistics
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
from supervision.system._workspace import MARKER, Workspace, find_workspace, init_workspace

__all__ = [
    "CRM_FILE",
    "DRAIN_S",
    "EVENTS_FILE",
    "JOURNAL_FILE",
    "MARKER",
    "OPERATOR",
    "PROMPTS_DIR",
    "REVIEWER",
    "SETTINGS_FILE",
    "SUMMARY_FILE",
    "UNOVERRIDABLE",
    "VALIDATOR",
    "VALIDATORS",
    "WEB_CACHE",
    "BookStatistics",
    "Compaction",
    "CompactionSettings",
    "Credentials",
    "CsvTable",
    "Decision",
    "DirectoryInUse",
    "DirectoryLock",
    "DraftEdit",
    "DraftRefused",
    "EvidenceSettings",
    "Face",
    "Gate",
    "Housekeeping",
    "HousekeepingStatistics",
    "LlmSettings",
    "Operator",
    "PipelineConfig",
    "Progress",
    "Redact",
    "RetryRunner",
    "Role",
    "Run",
    "RunFiles",
    "RunLimits",
    "RunSettings",
    "RunSummary",
    "Service",
    "ServiceEnd",
    "Sources",
    "Stopper",
    "Stores",
    "System",
    "SystemStatistics",
    "Tally",
    "TraceNode",
    "WorkerParts",
    "WorkerSummary",
    "Workspace",
    "build_trace",
    "build_worker",
    "close_backends",
    "command_log",
    "compact_run",
    "configure",
    "crm_table",
    "csv_table",
    "describe",
    "entry_detail",
    "event_log",
    "evidence_source",
    "export_csv",
    "find_workspace",
    "gateway_of",
    "icp_of",
    "init_workspace",
    "library_logs",
    "open_system",
    "operating",
    "parse_roles",
    "prepare",
    "prompts_of",
    "replay_envelope",
    "routes",
    "run_pipeline",
    "run_worker",
    "safe_cell",
    "with_baseline",
]
