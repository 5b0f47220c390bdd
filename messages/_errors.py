"""Every exception Leadwright raises, in one hierarchy.

    LeadwrightError
    ├── UsageError                    the calling code is wrong; the message says how to fix it
    │   ├── UnroutedMessage           a message was published that no one subscribes to
    │   └── ClosedResourceError       a bus, mailbox or actor was used after it stopped
    └── RuntimeFailure                the code is right, but something failed while it ran
        ├── ActorCrashed              a handler raised while handling one message
        └── RestartIntensityExceeded  a supervisor's children crashed too often; it gave up

Misuse and failure are separate on purpose: a ``UsageError`` is a bug to fix and is never
retried or restarted around, while a ``RuntimeFailure`` is what supervision exists for.
"""

from __future__ import annotations

from typing import final


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
