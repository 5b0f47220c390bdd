"""One journaled message as ``trace`` reads it: whole, or compacted to its story."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from messages import Envelope, Message


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One journaled message, for ``trace``: its envelope's fields, and where it went.

    A compacted lead's entries keep everything but the message itself: ``message`` is
    None and ``detail`` holds the line ``describe`` gave it when it was compacted.
    """

    seq: int
    message_id: str
    causation_id: str | None
    kind: str
    producer: str
    attempt: int
    approved: bool
    created_at: datetime
    deliveries: tuple[tuple[str, bool], ...]
    """(subscriber, acked) for every delivery of the message."""
    message: Message | None = None
    detail: str | None = None

    @staticmethod
    def of(
        seq: int, envelope: Envelope[Message], deliveries: Sequence[tuple[str, bool]]
    ) -> JournalEntry:
        """The entry of a message still journaled whole."""
        return JournalEntry(
            seq=seq,
            message_id=envelope.message_id,
            causation_id=envelope.causation_id,
            kind=envelope.kind,
            producer=envelope.producer,
            attempt=envelope.attempt,
            approved=envelope.approved,
            created_at=envelope.created_at,
            deliveries=tuple(deliveries),
            message=envelope.message,
        )
