"""The dead letter: a structured error for a message that could not be handled."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from messages._base import Message
from messages._failures import FailureKind


class DeadLetter(Message):
    """A machine failure in Operations, kept with everything needed to retry it."""

    kind: Literal["dead_letter"] = "dead_letter"
    failure: FailureKind
    """Which row of the failure taxonomy this is."""
    reason: str
    """A one-line, human-readable account of what went wrong."""
    actor: str
    """The actor that was handling the message, or ``bus`` when it could not be routed."""
    payload: str
    """The envelope a retry publishes, as raw JSON: for a stage's failure, the
    ``RetryRequested`` that runs the step again as the lead's next retry; otherwise (a
    crash, an unrouted message) the failed envelope itself."""
    attempts: int = Field(ge=1)
    """How many times the message was tried before it was given up."""
    raw_output: str | None = None
    """The LLM's raw reply, when the failure was in it (malformed output)."""
