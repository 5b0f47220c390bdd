"""The failure taxonomy: every way a lead's processing can fail, by name."""

from __future__ import annotations

from enum import StrEnum


class FailureKind(StrEnum):
    """One row of the failure taxonomy (see DESIGN.md, Failure taxonomy)."""

    LLM_TIMEOUT = "llm_timeout"
    RATE_LIMITED = "rate_limited"
    QUOTA_EXHAUSTED = "quota_exhausted"
    AUTH_ERROR = "auth_error"
    PROVIDER_ERROR = "provider_error"
    MALFORMED_OUTPUT = "malformed_output"
    SCHEMA_MISMATCH = "schema_mismatch"
    RULE_VIOLATION = "rule_violation"
    LOW_CONFIDENCE = "low_confidence"
    NO_EVIDENCE = "no_evidence"
    SUSPECT_INPUT = "suspect_input"
    BAD_INPUT = "bad_input"
    DOWNSTREAM_UNAVAILABLE = "downstream_unavailable"
    ACTOR_CRASH = "actor_crash"
    UNROUTED = "unrouted"
