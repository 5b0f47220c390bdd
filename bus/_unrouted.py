"""What stands in for a message no subscriber takes, on any bus."""

from __future__ import annotations

from messages import DeadLetter, Envelope, FailureKind, Message

BUS_PRODUCER = "bus"
"""The producer of what the bus itself publishes."""


def unrouted_letter(envelope: Envelope[Message], problem: str) -> Envelope[Message]:
    """The dead letter of ``envelope``, which no subscriber takes, saying ``problem``."""
    letter = DeadLetter(
        failure=FailureKind.UNROUTED,
        reason=problem,
        actor=BUS_PRODUCER,
        payload=envelope.to_json(),
        attempts=envelope.attempt,
    )
    return envelope.child(letter, producer=BUS_PRODUCER)
