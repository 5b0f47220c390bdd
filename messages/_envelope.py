"""The envelope: what travels on the bus around every message."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, final

from pydantic_core import to_json

from messages._base import Message, registry
from messages._errors import UsageError

M = TypeVar("M", bound=Message, covariant=True)
N = TypeVar("N", bound=Message)


def new_id() -> str:
    """A fresh 128-bit identifier, as 32 hex digits: the time in ns, then 64 random bits.

    The bits make ids unique, not secret: they come from ``random``, which is reseeded in
    a forked child, rather than ``os.urandom``, whose system call lets a worker thread
    take the GIL from the event loop on every message.
    """
    return (time.time_ns() << 64 | random.getrandbits(64)).to_bytes(16).hex()


# A frozen, slotted dataclass rather than a pydantic model: an envelope is built on every
# hop from values that are already valid, and validation would triple the cost of a hop.
# Decoding from JSON validates everything, through the message's own model.
@final
@dataclass(frozen=True, slots=True)
class Envelope(Generic[M]):
    """A message with the facts the system needs to route, trace and replay it."""

    message: M
    """The payload."""
    producer: str
    """The name of the actor (or the operator) that published it."""
    trace_id: str
    """One per lead: every message about the same lead shares it."""
    causation_id: str | None = None
    """The message that caused this one, or ``None`` for a message from outside."""
    attempt: int = 1
    """Which attempt of the producing step this is; 1 for the first."""
    approved: bool = False
    """Whether the validator approved it; only meaningful for probabilistic messages."""
    message_id: str = field(default_factory=new_id)
    """Unique per envelope; the journal and acks key on it."""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    """When it was published, in UTC."""
    trace_context: str | None = None
    """The W3C ``traceparent`` of the span that published it, when tracing is on: the
    lead's trace continues from there, in whichever process handles it."""
    _message_json: bytes | None = field(default=None, init=False, compare=False, repr=False)
    """The message as JSON, once ``to_json`` has made it: messages are immutable, so an
    envelope around the same message (an approval, a resend) reuses it."""

    def __post_init__(self) -> None:
        if self.attempt < 1:
            raise UsageError(f"attempt={self.attempt!r} must be >= 1")

    @staticmethod
    def new(
        message: N,
        *,
        producer: str,
        trace_id: str | None = None,
        attempt: int = 1,
    ) -> Envelope[N]:
        """Wrap a message that starts a new causal chain (one with no cause)."""
        message_id = new_id()
        return Envelope(
            message=message,
            producer=producer,
            trace_id=trace_id if trace_id is not None else message_id,
            attempt=attempt,
            message_id=message_id,
        )

    def child(
        self,
        message: N,
        *,
        producer: str,
        attempt: int = 1,
        approved: bool = False,
        trace_context: str | None = None,
    ) -> Envelope[N]:
        """Wrap a message caused by this one: same trace, and this message as its cause.

        Its ``trace_context`` is the one given (the handling span's), else this one's."""
        child = Envelope(
            message=message,
            producer=producer,
            trace_id=self.trace_id,
            causation_id=self.message_id,
            attempt=attempt,
            approved=approved,
            trace_context=trace_context if trace_context is not None else self.trace_context,
        )
        return self._lend_json(child)

    def resent(self) -> Envelope[M]:
        """The same message sent again: same producer, trace, attempt and approval, new id."""
        again = Envelope(
            message=self.message,
            producer=self.producer,
            trace_id=self.trace_id,
            attempt=self.attempt,
            approved=self.approved,
            trace_context=self.trace_context,
        )
        return self._lend_json(again)

    def _lend_json(self, other: Envelope[N]) -> Envelope[N]:
        """``other``, reusing this envelope's message JSON if it holds the same message."""
        if other.message is self.message and self._message_json is not None:
            object.__setattr__(other, "_message_json", self._message_json)
        return other

    @property
    def kind(self) -> str:
        """The kind of the message inside."""
        return self.message.kind_name()

    def to_dict(self) -> dict[str, Any]:
        """The envelope as plain JSON-compatible data."""
        head = {
            "message_id": self.message_id,
            "trace_id": self.trace_id,
            "causation_id": self.causation_id,
            "attempt": self.attempt,
            "producer": self.producer,
            "created_at": self.created_at.isoformat(),
            "approved": self.approved,
            "message": self.message.model_dump(mode="json"),
        }
        if self.trace_context is not None:
            head["trace_context"] = self.trace_context
        return head

    def to_json(self) -> str:
        """The envelope as one line of JSON, for dead letters and raw payloads."""
        # The message is the bulk of it: pydantic's own serialiser is many times faster
        # than dumping it to Python objects and encoding those again.
        head = {
            "message_id": self.message_id,
            "trace_id": self.trace_id,
            "causation_id": self.causation_id,
            "attempt": self.attempt,
            "producer": self.producer,
            "created_at": self.created_at.isoformat(),
            "approved": self.approved,
        }
        if self.trace_context is not None:  # absent, not null: older readers see no change
            head["trace_context"] = self.trace_context
        envelope = to_json(head).decode("utf-8")
        return f'{envelope[:-1]},"message":{self.message_json().decode("utf-8")}}}'

    def message_json(self) -> bytes:
        """The message alone as UTF-8 JSON, as the journal stores it."""
        message = self._message_json
        if message is None:
            message = self.message.__pydantic_serializer__.to_json(self.message)
            object.__setattr__(self, "_message_json", message)  # a cache, not a change
        return message

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Envelope[Message]:
        """Rebuild an envelope from ``to_dict`` output, validating the message fully."""
        try:
            payload = data["message"]
            message_type = registry[payload["kind"]]
            message = message_type.model_validate(payload, strict=False)
            return Envelope(
                message=message,
                producer=str(data["producer"]),
                trace_id=str(data["trace_id"]),
                causation_id=data["causation_id"],
                attempt=int(data["attempt"]),
                approved=bool(data["approved"]),
                message_id=str(data["message_id"]),
                created_at=datetime.fromisoformat(data["created_at"]),
                trace_context=_traceparent(data.get("trace_context")),
            )
        except (KeyError, TypeError) as exc:
            raise UsageError(f"Not an envelope: missing or mistyped field {exc}") from None

    @staticmethod
    def from_json(data: str | bytes) -> Envelope[Message]:
        """Decode an envelope from ``to_json`` output, choosing the type by its kind."""
        decoded: dict[str, Any] = json.loads(data)
        return Envelope.from_dict(decoded)


def _traceparent(value: object) -> str | None:
    """A decoded ``trace_context``: a string, or nothing (a malformed one is dropped)."""
    return value if isinstance(value, str) and len(value) <= 256 else None
