"""The test bus: drive one actor in isolation and look at what it publishes."""

from __future__ import annotations

from typing import TypeVar, final

from anyio import WouldBlock
from anyio.lowlevel import checkpoint

from bus._protocol import Recipient
from messages import Envelope, Message, UsageError

N = TypeVar("N", bound=Message)


@final
class TestBus:
    """A publisher that records, and a driver that hands messages straight to an actor.

    There is no routing, no mailbox and no concurrency: ``deliver`` runs the actor's
    handler to completion and returns what it published, in order. Use it to test an
    actor's behaviour one message at a time::

        bus = TestBus()
        published = await bus.deliver(Scoring(...), LeadAccepted(...))
        assert [type(e.message) for e in published] == [LeadScore]

    ``capacity`` bounds the record, so that ``publish_nowait`` can be tested too.
    """

    __test__ = False  # a library class, not a pytest test case

    def __init__(self, *, capacity: int | None = None) -> None:
        self.capacity = capacity
        self.published: list[Envelope[Message]] = []

    async def publish(self, envelope: Envelope[Message]) -> None:
        await checkpoint()
        self.published.append(envelope)

    def publish_nowait(self, envelope: Envelope[Message]) -> None:
        if self.capacity is not None and len(self.published) >= self.capacity:
            raise WouldBlock
        self.published.append(envelope)

    async def deliver(
        self,
        recipient: Recipient,
        message: Message | Envelope[Message],
        *,
        producer: str = "test",
        trace_id: str | None = None,
        attempt: int = 1,
        approved: bool = False,
    ) -> list[Envelope[Message]]:
        """Hand ``message`` to ``recipient``, wait for its handler, return what it published.

        A bare message is wrapped in a new envelope from ``producer``; pass
        ``approved=True`` to hand over a probabilistic message as its validator would.
        """
        if isinstance(message, Envelope):
            envelope: Envelope[Message] = message
        else:
            envelope = Envelope(
                message=message,
                producer=producer,
                trace_id=trace_id if trace_id is not None else "test-trace",
                attempt=attempt,
                approved=approved,
            )
        if not recipient.accepts(envelope):
            raise UsageError(
                f"Actor {recipient.name!r} does not handle {type(envelope.message).__name__}"
                f"{' (approved)' if envelope.approved else ''}; add it to its handles"
            )
        start = len(self.published)
        await recipient.dispatch(envelope, self)
        return self.published[start:]

    def messages(self, message_type: type[N]) -> list[N]:
        """Every published message of ``message_type``, in order."""
        return [e.message for e in self.published if isinstance(e.message, message_type)]

    def clear(self) -> None:
        """Forget everything published so far."""
        self.published.clear()
