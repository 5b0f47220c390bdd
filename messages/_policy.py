"""The policy table: the declared path of every failure kind, as plain data.

Actors read it to decide what to do; supervisors read it for crashes; ``run.py failures``
prints it. Changing a path means changing one row here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from messages._failures import FailureKind
from messages._outcomes import Outcome


@dataclass(frozen=True, slots=True)
class FailurePolicy:
    """One row of the failure taxonomy."""

    failure: FailureKind
    detected_by: str
    path: str
    max_attempts: int | None
    """Tries in all, the first included; ``None`` means until it succeeds."""
    reask: bool
    """Whether a retry asks the LLM again with the failure as feedback."""
    backoff_initial: float
    """Seconds before the first retry; 0 when retries do not wait."""
    backoff_max: float
    counts_as_attempt: bool
    """Whether it spends the stage's attempt budget."""
    exhausted: Outcome | None
    """The lead's outcome once retries run out; ``None`` when the lead is not failed by it."""
    stops_run: bool = False
    """Whether the whole run stops (the lead stays pending for the next run)."""


_ROWS = (
    FailurePolicy(
        FailureKind.LLM_TIMEOUT,
        detected_by="per-call deadline",
        path="retry with exponential backoff and jitter, then human review",
        max_attempts=3,
        reask=False,
        backoff_initial=0.5,
        backoff_max=8.0,
        counts_as_attempt=True,
        exhausted=Outcome.NEEDS_REVIEW,
    ),
    FailurePolicy(
        FailureKind.RATE_LIMITED,
        detected_by="HTTP 429 rate_limit_exceeded; retry-after, retry-after-ms",
        path="pause every call to the provider for the advised time, then resume",
        max_attempts=None,
        reask=False,
        backoff_initial=1.0,
        backoff_max=60.0,
        counts_as_attempt=False,
        exhausted=None,
    ),
    FailurePolicy(
        FailureKind.QUOTA_EXHAUSTED,
        detected_by="HTTP 429 insufficient_quota",
        path="never retried: the run stops with exit 1; unfinished leads stay pending",
        max_attempts=1,
        reask=False,
        backoff_initial=0.0,
        backoff_max=0.0,
        counts_as_attempt=False,
        exhausted=None,
        stops_run=True,
    ),
    FailurePolicy(
        FailureKind.AUTH_ERROR,
        detected_by="HTTP 401 or 403",
        path="never retried: the run stops with exit 1; unfinished leads stay pending",
        max_attempts=1,
        reask=False,
        backoff_initial=0.0,
        backoff_max=0.0,
        counts_as_attempt=False,
        exhausted=None,
        stops_run=True,
    ),
    FailurePolicy(
        FailureKind.PROVIDER_ERROR,
        detected_by="HTTP 5xx, connection errors",
        path="retry with backoff (on the fallback model, if one is set), then human review",
        max_attempts=3,
        reask=False,
        backoff_initial=0.5,
        backoff_max=8.0,
        counts_as_attempt=True,
        exhausted=Outcome.NEEDS_REVIEW,
    ),
    FailurePolicy(
        FailureKind.MALFORMED_OUTPUT,
        detected_by="JSON parser: not JSON, truncated, refusal",
        path="log the raw text, re-ask once with the parse error, then dead letter",
        max_attempts=2,
        reask=True,
        backoff_initial=0.0,
        backoff_max=0.0,
        counts_as_attempt=True,
        exhausted=Outcome.FAILED,
    ),
    FailurePolicy(
        FailureKind.SCHEMA_MISMATCH,
        detected_by="pydantic validation against the output schema",
        path="re-ask with the validation errors, then human review",
        max_attempts=3,
        reask=True,
        backoff_initial=0.0,
        backoff_max=0.0,
        counts_as_attempt=True,
        exhausted=Outcome.NEEDS_REVIEW,
    ),
    FailurePolicy(
        FailureKind.RULE_VIOLATION,
        detected_by="validator rules: range, consistency, grounding, policy",
        path="re-ask with the failed rules, then human review",
        max_attempts=3,
        reask=True,
        backoff_initial=0.0,
        backoff_max=0.0,
        counts_as_attempt=True,
        exhausted=Outcome.NEEDS_REVIEW,
    ),
    FailurePolicy(
        FailureKind.LOW_CONFIDENCE,
        detected_by="validator confidence threshold, ICP cross-check",
        path="human review, with no re-ask",
        max_attempts=1,
        reask=False,
        backoff_initial=0.0,
        backoff_max=0.0,
        counts_as_attempt=True,
        exhausted=Outcome.NEEDS_REVIEW,
    ),
    FailurePolicy(
        FailureKind.BAD_INPUT,
        detected_by="intake checks",
        path="reject the lead with every reason found",
        max_attempts=1,
        reask=False,
        backoff_initial=0.0,
        backoff_max=0.0,
        counts_as_attempt=False,
        exhausted=Outcome.REJECTED,
    ),
    FailurePolicy(
        FailureKind.DOWNSTREAM_UNAVAILABLE,
        detected_by="CRM write raises; circuit breaker",
        path="retry from the durable outbox until it succeeds; the lead is never dropped",
        max_attempts=None,
        reask=False,
        backoff_initial=0.1,
        backoff_max=5.0,
        counts_as_attempt=False,
        exhausted=None,
    ),
    FailurePolicy(
        FailureKind.ACTOR_CRASH,
        detected_by="supervisor",
        path="restart the actor; a message that crashes it twice goes to the dead letters",
        max_attempts=2,
        reask=False,
        backoff_initial=0.05,
        backoff_max=5.0,
        counts_as_attempt=False,
        exhausted=Outcome.FAILED,
    ),
    FailurePolicy(
        FailureKind.UNROUTED,
        detected_by="bus: no subscriber",
        path="dead letter (or raise, by configuration)",
        max_attempts=1,
        reask=False,
        backoff_initial=0.0,
        backoff_max=0.0,
        counts_as_attempt=False,
        exhausted=Outcome.FAILED,
    ),
)

POLICIES: Mapping[FailureKind, FailurePolicy] = MappingProxyType({p.failure: p for p in _ROWS})
"""The failure taxonomy, one row per ``FailureKind``."""

STAGE_ATTEMPTS = 3
"""How many outputs a stage may produce for one lead before it goes to review."""
