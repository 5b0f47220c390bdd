"""How the system's messages are laid out on NATS JetStream: streams, subjects, ids.

Two streams. ``LEADWRIGHT`` holds every message a consumer may see: deterministic ones on
``lw.msg.<kind>``, and probabilistic ones the validator approved on ``lw.approved.<kind>``.
``UNVALIDATED`` holds LLM outputs before validation, on ``lw.unvalidated.<kind>``. Giving
the unvalidated outputs a stream of their own makes validator-first a few lines of server
config: only the validator user may use that stream's consumer API, and only it may
publish under ``lw.approved.>``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace

from bus._journal import Ack
from messages import Envelope, Message, UsageError

STREAM = "LEADWRIGHT"
UNVALIDATED_STREAM = "UNVALIDATED"
PREFIX = "lw"
MESSAGES = f"{PREFIX}.msg"
APPROVED = f"{PREFIX}.approved"
UNVALIDATED = f"{PREFIX}.unvalidated"
STREAM_SUBJECTS: dict[str, tuple[str, ...]] = {
    STREAM: (f"{MESSAGES}.>", f"{APPROVED}.>"),
    UNVALIDATED_STREAM: (f"{UNVALIDATED}.>",),
}
MSG_ID = "Nats-Msg-Id"
DEFERRALS = "LW_DEFERRALS"
"""The key-value bucket that counts, per delivery, the rate limits it met."""


def subject_of(message_type: type[Message], *, approved: bool) -> str:
    """The subject a message of ``message_type`` travels on, approved or not."""
    kind = message_type.kind_name()
    if not message_type.probabilistic:
        return f"{MESSAGES}.{kind}"
    return f"{APPROVED if approved else UNVALIDATED}.{kind}"


def stream_of(subject: str) -> str:
    """The stream that stores ``subject``."""
    return UNVALIDATED_STREAM if subject.startswith(f"{UNVALIDATED}.") else STREAM


def envelope_subject(envelope: Envelope[Message]) -> str:
    """The subject ``envelope`` is published on."""
    message_type = type(envelope.message)
    return subject_of(message_type, approved=message_type.probabilistic and envelope.approved)


def deferral_key(subscriber: str, stream: str, sequence: int) -> str:
    """The key of one message's rate limits at one consumer: its name comes first, so
    that a role's server permissions can hold it to its own keys."""
    return f"{subscriber}.{stream}.{sequence}"


def derived_id(*parts: str | int) -> str:
    """A message id that is the same every time it is derived from the same parts."""
    text = "/".join(str(part) for part in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def stamp(effects: Sequence[Envelope[Message]], acks: Sequence[Ack]) -> list[Envelope[Message]]:
    """The effects with ids derived from their cause, the handler, and their position.

    A handler that runs again on the same input, after a crash before its input was
    acked, publishes effects with the same ids; the server's duplicate window then
    drops the copies. An effect whose cause is not among ``acks`` keeps its own id.
    """
    handlers = {ack.message_id: ack.subscriber for ack in acks}
    positions: dict[str, int] = {}
    stamped: list[Envelope[Message]] = []
    for effect in effects:
        cause = effect.causation_id
        if cause is None or cause not in handlers:
            stamped.append(effect)
            continue
        position = positions.get(cause, 0)
        positions[cause] = position + 1
        message_id = derived_id(cause, handlers[cause], position)
        stamped.append(replace(effect, message_id=message_id))
    return stamped


def check_subject(envelope: Envelope[Message], subject: str) -> None:
    """Raise ``UsageError`` unless ``envelope`` is what ``subject`` declares."""
    expected = envelope_subject(envelope)
    if expected != subject:
        raise UsageError(
            f"A {envelope.kind} envelope (approved={envelope.approved}) arrived on {subject!r}, "
            f"not on {expected!r}; publish it through NatsBus"
        )
