"""The dead letters NatsBus makes itself, with ids that make a second copy a duplicate.

A letter may be published twice: by a handler run again after a crash before its input
was acked, or for a delivery whose ``term`` was lost with the connection. Its id comes
from what it stands for, so the server's duplicate window stores it once.
"""

from __future__ import annotations

from dataclasses import replace

from nats.aio.msg import Msg

from bus._nats_wire import derived_id
from bus._unrouted import BUS_PRODUCER, unrouted_letter
from messages import DeadLetter, Envelope, FailureKind, Message

REASON_CHARS = 1000
"""The longest reason a letter keeps."""


def unrouted_stand_in(envelope: Envelope[Message], problem: str) -> Envelope[Message]:
    """The dead letter published instead of ``envelope``, which no process takes."""
    letter = unrouted_letter(envelope, problem)
    return replace(letter, message_id=derived_id(envelope.message_id, "unrouted"))


def delivery_letter(
    subscriber: str,
    msg: Msg,
    failure: FailureKind,
    reason: str,
    envelope: Envelope[Message] | None = None,
    *,
    attempts: int = 1,
) -> Envelope[DeadLetter]:
    """The dead letter of one delivery to ``subscriber``: its raw text, and why.

    ``envelope`` is the delivery decoded, if it could be: the letter then joins its trace.
    """
    letter = DeadLetter(
        failure=failure,
        reason=reason[:REASON_CHARS],
        actor=subscriber,
        payload=msg.data.decode("utf-8", errors="replace"),
        attempts=max(1, attempts),
    )
    message_id = derived_id(msg.metadata.stream, msg.metadata.sequence.stream, subscriber)
    return Envelope(
        message=letter,
        producer=BUS_PRODUCER,
        trace_id=envelope.trace_id if envelope is not None else message_id,
        causation_id=envelope.message_id if envelope is not None else None,
        message_id=message_id,
    )
