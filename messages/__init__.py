"""Message contracts: the envelope, the failure taxonomy, and every message type.

Messages are immutable pydantic models, validated strictly, that forbid unknown fields.
This package imports no other Leadwright package.
"""

from messages._base import Message, MessageRegistry, registry
from messages._control import RunHalted
from messages._dead_letter import DeadLetter
from messages._decisions import RetryRequested, ReviewApproved, StageStart
from messages._drift import DriftColumn, DriftDetected, ProfileFlush, ProfileSaved
from messages._envelope import Envelope, new_id
from messages._errors import (
    ActorCrashed,
    AuthFailed,
    ClosedResourceError,
    DeliveryStalled,
    LeadwrightError,
    LlmError,
    LlmTimeout,
    MalformedReply,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    RestartIntensityExceeded,
    RuntimeFailure,
    SchemaMismatch,
    StorageFailed,
    UnroutedMessage,
    UsageError,
)
from messages._failures import FailureKind
from messages._leads import OPEN_RANGE, Lead, LeadAccepted, LeadRejected, LeadSubmitted, RawValue
from messages._lineage import record_of
from messages._outcomes import CrmUpdated, HumanReviewRequested, LeadOutcome, Outcome
from messages._outreach import OutreachDraft
from messages._policy import POLICIES, STAGE_ATTEMPTS, FailurePolicy, Queue
from messages._redact import (
    REDACTED,
    Redactor,
    current_redactor,
    redact,
    redact_known,
    redacting,
    without_credentials,
)
from messages._research import Claim, Evidence, ResearchResult
from messages._scoring import Fit, LeadScore
from messages._summaries import DraftSummary, ScoreSummary
from messages._verdicts import (
    LlmOutput,
    Stage,
    ValidationFailed,
    ValidationPassed,
    Verdict,
    input_of,
    stage_of,
)
from messages._violation import RuleViolation
from messages._webhooks import (
    REVIEW_DECIDED,
    TEST_EVENT,
    UNANNOUNCED,
    LeadEventData,
    ReviewEventData,
    TestEventData,
    WebhookEvent,
    event_types,
    outcome_event,
)

__all__ = [
    "OPEN_RANGE",
    "POLICIES",
    "REDACTED",
    "REVIEW_DECIDED",
    "STAGE_ATTEMPTS",
    "TEST_EVENT",
    "UNANNOUNCED",
    "ActorCrashed",
    "AuthFailed",
    "Claim",
    "ClosedResourceError",
    "CrmUpdated",
    "DeadLetter",
    "DeliveryStalled",
    "DraftSummary",
    "DriftColumn",
    "DriftDetected",
    "Envelope",
    "Evidence",
    "FailureKind",
    "FailurePolicy",
    "Fit",
    "HumanReviewRequested",
    "Lead",
    "LeadAccepted",
    "LeadEventData",
    "LeadOutcome",
    "LeadRejected",
    "LeadScore",
    "LeadSubmitted",
    "LeadwrightError",
    "LlmError",
    "LlmOutput",
    "LlmTimeout",
    "MalformedReply",
    "Message",
    "MessageRegistry",
    "Outcome",
    "OutreachDraft",
    "ProfileFlush",
    "ProfileSaved",
    "ProviderError",
    "Queue",
    "QuotaExhausted",
    "RateLimited",
    "RawValue",
    "Redactor",
    "ResearchResult",
    "RestartIntensityExceeded",
    "RetryRequested",
    "ReviewApproved",
    "ReviewEventData",
    "RuleViolation",
    "RunHalted",
    "RuntimeFailure",
    "SchemaMismatch",
    "ScoreSummary",
    "Stage",
    "StageStart",
    "StorageFailed",
    "TestEventData",
    "UnroutedMessage",
    "UsageError",
    "ValidationFailed",
    "ValidationPassed",
    "Verdict",
    "WebhookEvent",
    "current_redactor",
    "event_types",
    "input_of",
    "new_id",
    "outcome_event",
    "record_of",
    "redact",
    "redact_known",
    "redacting",
    "registry",
    "stage_of",
    "without_credentials",
]
