"""Actors: the base class and its runtime, and every agent of the SDR pipeline.

Actors know the bus and the messages, and nothing above them.
"""

from actors._actor import Actor, ActorOptions, ActorStatistics, Lifecycle
from actors._breaker import BreakerState, BreakerStatistics, CircuitBreaker
from actors._company_research import (
    DEFAULT_RESEARCH_TTL,
    CompanyResearch,
    CompanyResearchStatistics,
    MemoryResearchStore,
    ResearchKey,
    ResearchStore,
    evidence_digest,
)
from actors._context import Context
from actors._crm import Crm, CrmRow, CrmStore, CrmUnavailable, FlakyCrm, SqliteCrm
from actors._crm_query import CrmPage, CrmQuery, CrmSort
from actors._dead_letters import (
    DeadLetterItem,
    DeadLetters,
    DeadLetterStore,
    LetterStatus,
    lineage_of,
)
from actors._evidence import EvidenceSource, FirstFound, KnowledgeBase
from actors._icp import Icp, IcpScore, Sender
from actors._inbox import PENDING, Claim, Receipt, StoredRecord, Submission
from actors._ledger import (
    FINISHED_EARLIER,
    LedgerStore,
    OutcomeLedger,
    ReportRow,
    clear_outcome,
    replace_outcome,
)
from actors._log import EventLog, null_log
from actors._metrics import Metrics, MetricsBook
from actors._ops_schedule import Due, RetrySchedule, unschedule, utc_now
from actors._prompts import DEFAULT_PROMPTS, INSTRUCTIONS, PROMPT_FILES, Prompts, prompt_version
from actors._research import Research
from actors._research_store import SqliteResearchStore
from actors._review import (
    Decided,
    ReviewItem,
    ReviewQueue,
    ReviewStatus,
    ReviewStore,
    approval_effect,
    decide,
    decision_words,
    record_action,
    why,
)
from actors._run_control import RunControl, RunNotice
from actors._run_knowledge import KNOWLEDGE_FILE, RunKnowledge, add_facts
from actors._scoring import Scoring
from actors._stage import LlmStage, StageOptions
from actors._telemetry import (
    LlmCall,
    LlmReplyFacts,
    Span,
    Telemetry,
    current_telemetry,
    otel_telemetry,
    reporting,
    wants_otel,
)
from actors._usage_store import UsageStore
from actors._validator import Validator
from actors._web_guard import METADATA, Resolver, StaticResolver, SystemResolver
from actors._web_source import DEFAULT_TTL, WebSource, WebSourceStatistics
from actors._writer import Writer
from actors.llm._caller import CallerStatistics, LlmCaller
from actors.llm._gateway import LlmGateway, LlmReply, LlmRequest
from actors.llm._rate_gate import RateGate
from actors.validation import RuleContext

__all__ = [
    "DEFAULT_PROMPTS",
    "DEFAULT_RESEARCH_TTL",
    "DEFAULT_TTL",
    "FINISHED_EARLIER",
    "INSTRUCTIONS",
    "KNOWLEDGE_FILE",
    "METADATA",
    "PENDING",
    "PROMPT_FILES",
    "Actor",
    "ActorOptions",
    "ActorStatistics",
    "BreakerState",
    "BreakerStatistics",
    "CallerStatistics",
    "CircuitBreaker",
    "Claim",
    "CompanyResearch",
    "CompanyResearchStatistics",
    "Context",
    "Crm",
    "CrmPage",
    "CrmQuery",
    "CrmRow",
    "CrmSort",
    "CrmStore",
    "CrmUnavailable",
    "DeadLetterItem",
    "DeadLetterStore",
    "DeadLetters",
    "Decided",
    "Due",
    "EventLog",
    "EvidenceSource",
    "FirstFound",
    "FlakyCrm",
    "Icp",
    "IcpScore",
    "KnowledgeBase",
    "LedgerStore",
    "LetterStatus",
    "Lifecycle",
    "LlmCall",
    "LlmCaller",
    "LlmGateway",
    "LlmReply",
    "LlmReplyFacts",
    "LlmRequest",
    "LlmStage",
    "MemoryResearchStore",
    "Metrics",
    "MetricsBook",
    "OutcomeLedger",
    "Prompts",
    "RateGate",
    "Receipt",
    "ReportRow",
    "Research",
    "ResearchKey",
    "ResearchStore",
    "Resolver",
    "RetrySchedule",
    "ReviewItem",
    "ReviewQueue",
    "ReviewStatus",
    "ReviewStore",
    "RuleContext",
    "RunControl",
    "RunKnowledge",
    "RunNotice",
    "Scoring",
    "Sender",
    "Span",
    "SqliteCrm",
    "SqliteResearchStore",
    "StageOptions",
    "StaticResolver",
    "StoredRecord",
    "Submission",
    "SystemResolver",
    "Telemetry",
    "UsageStore",
    "Validator",
    "WebSource",
    "WebSourceStatistics",
    "Writer",
    "add_facts",
    "approval_effect",
    "clear_outcome",
    "current_telemetry",
    "decide",
    "decision_words",
    "evidence_digest",
    "lineage_of",
    "null_log",
    "otel_telemetry",
    "prompt_version",
    "record_action",
    "replace_outcome",
    "reporting",
    "unschedule",
    "utc_now",
    "wants_otel",
    "why",
]
