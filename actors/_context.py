"""The context of one message being handled: what it is, and how to answer it."""

from __future__ import annotations

from typing import Generic, TypeVar, final

from bus import Publisher
from messages import Envelope, Message

In = TypeVar("In", bound=Message, covariant=True)
Out = TypeVar("Out", bound=Message)


@final
class Context(Generic[In]):
    """One envelope in the hands of one actor.

    Everything published through it is caused by that envelope: it shares its trace,
    and names it as the cause.
    """

    __slots__ = ("actor", "envelope", "publisher")

    def __init__(self, envelope: Envelope[In], publisher: Publisher, actor: str) -> None:
        self.envelope = envelope
        self.publisher = publisher
        self.actor = actor

    @property
    def message(self) -> In:
        """The message being handled."""
        return self.envelope.message

    async def publish(
        self, message: Out, *, attempt: int = 1, approved: bool = False
    ) -> Envelope[Out]:
        """Publish ``message`` as caused by this envelope, waiting while mailboxes are full."""
        envelope = self.envelope.child(
            message, producer=self.actor, attempt=attempt, approved=approved
        )
        await self.publisher.publish(envelope)
        return envelope

    def publish_nowait(
        self, message: Out, *, attempt: int = 1, approved: bool = False
    ) -> Envelope[Out]:
        """Publish ``message`` now, or raise ``WouldBlock``."""
        envelope = self.envelope.child(
            message, producer=self.actor, attempt=attempt, approved=approved
        )
        self.publisher.publish_nowait(envelope)
        return envelope
