"""The policy table: the declared path of every failure kind, as plain data.

Actors read it to decide what to do; supervisors read it for crashes; ``run.py failures``
prints it. Changing a path means changing one row here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from messages._failures import FailureKind
from messages._outcomes import Outcome


class Queue(StrEnum):
    """Who a lead waits for once a failure outlived its automatic handling."""

    INBOX = "inbox"
    """A person decides on the draft that would be sent (approve, edit, decline)."""
    OPERATIONS = "operations"
    """A machine failure: scheduled retries, then an operator; never the inbox."""
    NONE = "none"
    """Nobody: it is retried until it succeeds, the lead is rejected, or the run stops."""


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
    queue: Queue = Queue.NONE
    """Where the lead waits once ``exhausted``: the inbox or Operations."""
    explain: str = ""
    """What happened, in the words of the person who deals with it."""
    check: str = ""
    """What that person should look at, for Operations' failures."""
    stops_run: bool = False
    """Whether the whole run stops (the lead stays pending for the next run)."""


_ROWS = (
    FailurePolicy(
        FailureKind.LLM_TIMEOUT,
        detected_by="per-call deadline",
        path=(
            "retry with exponential backoff and jitter; then Operations: scheduled retries, "
            "then an operator"
        ),
        max_attempts=3,
        reask=False,
        backoff_initial=0.5,
        backoff_max=8.0,
        counts_as_attempt=True,
        exhausted=Outcome.FAILED,
        queue=Queue.OPERATIONS,
        explain="The model did not answer in time, even after retrying.",
        check="Whether the provider is slow or down; a longer --timeout or a lower --concurrency.",
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
        path="retry with backoff (on the fallback model, if one is set); then Operations",
        max_attempts=3,
        reask=False,
        backoff_initial=0.5,
        backoff_max=8.0,
        counts_as_attempt=True,
        exhausted=Outcome.FAILED,
        queue=Queue.OPERATIONS,
        explain="The model's provider answered with an error, even after retrying.",
        check="The provider's status, the model name, and --fallback-model.",
    ),
    FailurePolicy(
        FailureKind.MALFORMED_OUTPUT,
        detected_by="JSON parser: not JSON, truncated, refusal",
        path="log the raw text, re-ask once with the parse error; then Operations",
        max_attempts=2,
        reask=True,
        backoff_initial=0.0,
        backoff_max=0.0,
        counts_as_attempt=True,
        exhausted=Outcome.FAILED,
        queue=Queue.OPERATIONS,
        explain="The model's reply was not usable JSON, even after it was asked again.",
        check="The raw reply below, and whether the model keeps to --structured output.",
    ),
    FailurePolicy(
        FailureKind.SCHEMA_MISMATCH,
        detected_by="pydantic validation against the output schema",
        path="re-ask with the validation errors; then Operations",
        max_attempts=3,
        reask=True,
        backoff_initial=0.0,
        backoff_max=0.0,
        counts_as_attempt=True,
        exhausted=Outcome.FAILED,
        queue=Queue.OPERATIONS,
        explain="The model's reply did not have the fields asked for, even after re-asks.",
        check="The raw reply below, the model, and the --structured mode.",
    ),
    FailurePolicy(
        FailureKind.RULE_VIOLATION,
        detected_by="validator rules: range, consistency, grounding, policy",
        path=(
            "re-ask with the failed rules; then a draft goes to the inbox as it is, research "
            "goes on without its ungrounded claims and a score with the fit of its band, and "
            "the lead's draft goes to the inbox"
        ),
        max_attempts=3,
        reask=True,
        backoff_initial=0.0,
        backoff_max=0.0,
        counts_as_attempt=True,
        exhausted=Outcome.NEEDS_REVIEW,
        queue=Queue.INBOX,
        explain="The draft breaks a rule of the draft policy, even after re-asks.",
    ),
    FailurePolicy(
        FailureKind.LOW_CONFIDENCE,
        detected_by="validator confidence threshold, ICP cross-check",
        path="no re-ask: the lead is drafted and the draft goes to the inbox",
        max_attempts=1,
        reask=False,
        backoff_initial=0.0,
        backoff_max=0.0,
        counts_as_attempt=True,
        exhausted=Outcome.NEEDS_REVIEW,
        queue=Queue.INBOX,
        explain="The fit score is uncertain: check it before the email goes out.",
    ),
    FailurePolicy(
        FailureKind.NO_EVIDENCE,
        detected_by="the evidence source finds nothing about the company",
        path=(
            "no retry and no LLM call for research: the draft uses only the lead's row, "
            "then the inbox"
        ),
        max_attempts=1,
        reask=False,
        backoff_initial=0.0,
        backoff_max=0.0,
        counts_as_attempt=False,
        exhausted=Outcome.NEEDS_REVIEW,
        queue=Queue.INBOX,
        explain="Nothing is known about the company: the draft uses only the lead's row.",
    ),
    FailurePolicy(
        FailureKind.SUSPECT_INPUT,
        detected_by="input rules: a personal or shared mailbox, a placeholder for a name",
        path="no re-ask: the lead is drafted and the draft goes to the inbox",
        max_attempts=1,
        reask=False,
        backoff_initial=0.0,
        backoff_max=0.0,
        counts_as_attempt=True,
        exhausted=Outcome.NEEDS_REVIEW,
        queue=Queue.INBOX,
        explain="The lead's row looks wrong: check who this email would reach.",
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
        path="restart the actor; a message that crashes it twice goes to Operations",
        max_attempts=2,
        reask=False,
        backoff_initial=0.05,
        backoff_max=5.0,
        counts_as_attempt=False,
        exhausted=Outcome.FAILED,
        queue=Queue.OPERATIONS,
        explain="A part of Leadwright crashed on this lead twice (a bug).",
        check="The error below and events.jsonl (actor_crashed); report it with the lead's trace.",
    ),
    FailurePolicy(
        FailureKind.UNROUTED,
        detected_by="bus: no subscriber",
        path="Operations (or raise, by configuration)",
        max_attempts=1,
        reask=False,
        backoff_initial=0.0,
        backoff_max=0.0,
        counts_as_attempt=False,
        exhausted=Outcome.FAILED,
        queue=Queue.OPERATIONS,
        explain="A message reached no part of Leadwright that handles it (a wiring bug).",
        check="Which process runs which stage (worker --roles), and events.jsonl.",
    ),
)

POLICIES: Mapping[FailureKind, FailurePolicy] = MappingProxyType({p.failure: p for p in _ROWS})
"""The failure taxonomy, one row per ``FailureKind``."""

STAGE_ATTEMPTS = 3
"""How many outputs a stage may produce for one lead before its failure path."""
