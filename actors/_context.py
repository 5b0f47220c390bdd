"""The context of one message being handled: what it is, and how to answer it."""

from __future__ import annotations

from typing import Generic, TypeVar, final

from actors._log import EventLog, null_log
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

    __slots__ = ("_actor_log", "_log", "actor", "envelope", "publisher")

    def __init__(
        self,
        envelope: Envelope[In],
        publisher: Publisher,
        actor: str,
        log: EventLog | None = None,
    ) -> None:
        self.envelope = envelope
        self.publisher = publisher
        self.actor = actor
        self._actor_log = log
        self._log: EventLog | None = None

    @property
    def log(self) -> EventLog:
        """The event log, bound to this actor, this lead's trace and this message."""
        # Bound on first use: most messages are handled without logging anything.
        if self._log is None:
            base = self._actor_log if self._actor_log is not None else null_log()
            self._log = base.bind(
                actor=self.actor,
                trace_id=self.envelope.trace_id,
                message_id=self.envelope.message_id,
            )
        return self._log

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
