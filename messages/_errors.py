"""Every exception Leadwright raises, in one hierarchy.

    LeadwrightError
    ├── UsageError                    the calling code is wrong; the message says how to fix it
    │   ├── UnroutedMessage           a message was published that no one subscribes to
    │   └── ClosedResourceError       a bus, mailbox or actor was used after it stopped
    └── RuntimeFailure                the code is right, but something failed while it ran
        ├── ActorCrashed              a handler raised while handling one message
        ├── RestartIntensityExceeded  a supervisor's children crashed too often; it gave up
        ├── DeliveryStalled           a journaled message found no room in a mailbox in time
        ├── StorageFailed             a run-directory file is corrupt, of another version,
        │                             or cannot be written (a full disk)
        └── LlmError                  an LLM call failed; ``failure`` names its taxonomy row
            ├── LlmTimeout            no reply within the per-call deadline
            ├── RateLimited           HTTP 429 rate_limit_exceeded; ``retry_after`` advises a pause
            ├── QuotaExhausted        HTTP 429 insufficient_quota: stop the run
            ├── AuthFailed            HTTP 401 or 403: stop the run
            ├── ProviderError         HTTP 5xx, or the connection failed
            ├── MalformedReply        a reply that is no usable JSON: truncated, refused, prose
            └── SchemaMismatch        JSON that does not fit the reply schema

Misuse and failure are separate on purpose: a ``UsageError`` is a bug to fix and is never
retried or restarted around, while a ``RuntimeFailure`` is what supervision exists for.
"""

from __future__ import annotations

from typing import ClassVar, final

from messages._failures import FailureKind


class LeadwrightError(Exception):
    """The root of every exception Leadwright raises."""


class UsageError(LeadwrightError):
    """The API was misused; the message names the value and the fix."""


@final
class UnroutedMessage(UsageError):
    """A message was published with no subscriber, and the bus is set to raise."""


@final
class ClosedResourceError(UsageError):
    """A bus, mailbox or actor was used after it was closed or stopped."""


class RuntimeFailure(LeadwrightError):
    """Something failed while correct code ran: the territory of supervision."""


@final
class ActorCrashed(RuntimeFailure):
    """An actor's handler raised while handling one message.

    ``message_id`` names the message whose handler raised, so the runtime can count
    crashes per message and dead-letter a poison message.
    """

    def __init__(self, actor: str, message_id: str, kind: str) -> None:
        super().__init__(f"Actor {actor!r} crashed while handling {kind} {message_id}.")
        self.actor = actor
        self.message_id = message_id
        self.kind = kind


@final
class RestartIntensityExceeded(RuntimeFailure):
    """A supervisor saw more restarts than its intensity allows, and escalated."""

    def __init__(self, supervisor: str, restarts: int, period: float) -> None:
        super().__init__(
            f"Supervisor {supervisor!r} exceeded its restart intensity: "
            f"{restarts} restarts within {period:g} s."
        )
        self.supervisor = supervisor
        self.restarts = restarts
        self.period = period


@final
class DeliveryStalled(RuntimeFailure):
    """A consumer stopped taking messages; what was journaled waits for the next run."""


@final
class StorageFailed(RuntimeFailure):
    """A file of the run directory cannot be used; the message says which, and what to do."""


class LlmError(RuntimeFailure):
    """An LLM call failed. ``failure`` is the row of the taxonomy that handles it."""

    failure: ClassVar[FailureKind]


@final
class LlmTimeout(LlmError):
    """The call did not finish within its deadline."""

    failure = FailureKind.LLM_TIMEOUT


@final
class RateLimited(LlmError):
    """The provider asked us to slow down; it is not the lead's fault."""

    failure = FailureKind.RATE_LIMITED

    def __init__(self, message: str, *, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@final
class QuotaExhausted(LlmError):
    """The account has no quota left: no retry can succeed."""

    failure = FailureKind.QUOTA_EXHAUSTED


@final
class AuthFailed(LlmError):
    """The provider refused our credentials: no retry can succeed."""

    failure = FailureKind.AUTH_ERROR


@final
class ProviderError(LlmError):
    """The provider failed (5xx), could not be reached, or refused the request (4xx).

    ``status`` is the HTTP status of an answer, if there was one. A 4xx is the request's
    fault, not an outage: the provider is up, so it never counts towards the provider's
    circuit breaker (``answered``).
    """

    failure = FailureKind.PROVIDER_ERROR

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def answered(self) -> bool:
        """Whether the provider answered (a 4xx): it is up, whatever it thought of the call."""
        return self.status is not None and 400 <= self.status < 500


@final
class MalformedReply(LlmError):
    """The reply cannot be used as JSON: cut short, refused, or prose. ``raw`` keeps it."""

    failure = FailureKind.MALFORMED_OUTPUT

    def __init__(self, message: str, *, raw: str) -> None:
        super().__init__(message)
        self.raw = raw


@final
class SchemaMismatch(LlmError):
    """The reply is JSON but does not fit the stage's schema. ``errors`` say where."""

    failure = FailureKind.SCHEMA_MISMATCH

    def __init__(self, message: str, *, raw: str, errors: tuple[str, ...]) -> None:
        super().__init__(message)
        self.raw = raw
        self.errors = errors
