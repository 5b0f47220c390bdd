"""The context of one message being handled: what it is, and how to answer it."""

from __future__ import annotations

from typing import Generic, TypeVar, final

from actors.runtime._log import EventLog, null_log
from actors.runtime._telemetry import Span
from bus import Publisher
from messages import Envelope, Message, ValidationFailed, ValidationPassed

In = TypeVar("In", bound=Message, covariant=True)
Out = TypeVar("Out", bound=Message)


@final
class Context(Generic[In]):
    """One envelope in the hands of one actor.

    Everything published through it is caused by that envelope: it shares its trace,
    and names it as the cause.
    """

    __slots__ = ("_actor_log", "_log", "actor", "envelope", "publisher", "span")

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
        self.span: Span | None = None
        """The span of this handling, when telemetry is on: what is published continues
        the lead's trace from it, and a verdict is noted on it."""

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
        envelope = self._child(message, attempt, approved)
        await self.publisher.publish(envelope)
        return envelope

    def publish_nowait(
        self, message: Out, *, attempt: int = 1, approved: bool = False
    ) -> Envelope[Out]:
        """Publish ``message`` now, or raise ``WouldBlock``."""
        envelope = self._child(message, attempt, approved)
        self.publisher.publish_nowait(envelope)
        return envelope

    def _child(self, message: Out, attempt: int, approved: bool) -> Envelope[Out]:
        span = self.span
        if span is None:
            return self.envelope.child(
                message, producer=self.actor, attempt=attempt, approved=approved
            )
        if isinstance(message, ValidationPassed | ValidationFailed):
            verdict = "passed" if isinstance(message, ValidationPassed) else "failed"
            span.set("leadwright.verdict", verdict)
        return self.envelope.child(
            message,
            producer=self.actor,
            attempt=attempt,
            approved=approved,
            trace_context=span.traceparent(),
        )
