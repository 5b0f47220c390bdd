"""Message contracts: the envelope, the failure taxonomy, and every message type.

Messages are immutable pydantic models, validated strictly, that forbid unknown fields.
This package imports no other Leadwright package.
"""

from messages._base import Message, MessageRegistry, registry
from messages._dead_letter import DeadLetter
from messages._envelope import Envelope, new_id
from messages._errors import (
    ActorCrashed,
    ClosedResourceError,
    LeadwrightError,
    RestartIntensityExceeded,
    RuntimeFailure,
    UnroutedMessage,
    UsageError,
)
from messages._failures import FailureKind

__all__ = [
    "ActorCrashed",
    "ClosedResourceError",
    "DeadLetter",
    "Envelope",
    "FailureKind",
    "LeadwrightError",
    "Message",
    "MessageRegistry",
    "RestartIntensityExceeded",
    "RuntimeFailure",
    "UnroutedMessage",
    "UsageError",
    "new_id",
    "registry",
]
