"""The test bus: drive one actor in isolation and assert on what it publishes."""

from __future__ import annotations

import pytest
from anyio import WouldBlock

from actors import Actor, Context
from bus import TestBus
from messages import Envelope, UsageError
from tests.support.messages import Ping, Pong, Score

pytestmark = pytest.mark.anyio


class Echo(Actor[Ping]):
    """Answers each ``Ping`` with two ``Pong``s: its number, then the next."""

    handles = (Ping,)

    async def handle(self, ctx: Context[Ping]) -> None:
        await ctx.publish(Pong(n=ctx.message.n))
        await ctx.publish(Pong(n=ctx.message.n + 1))


class Hasty(Actor[Ping]):
    """Answers without waiting, through ``publish_nowait``."""

    handles = (Ping,)

    async def handle(self, ctx: Context[Ping]) -> None:
        ctx.publish_nowait(Pong(n=ctx.message.n))


class Failing(Actor[Ping]):
    """Raises on every message."""

    handles = (Ping,)

    async def handle(self, ctx: Context[Ping]) -> None:
        raise RuntimeError(f"cannot handle {ctx.message.n}")


class Consumer(Actor[Score]):
    """Handles approved scores by echoing their value."""

    handles = (Score,)

    async def handle(self, ctx: Context[Score]) -> None:
        await ctx.publish(Pong(n=ctx.message.value))


class Validator(Actor[Score]):
    """Receives unvalidated scores and approves them."""

    validates = (Score,)

    async def handle(self, ctx: Context[Score]) -> None:
        await ctx.publish(ctx.message, approved=True)


async def test_deliver_returns_what_the_actor_published_in_order() -> None:
    """``deliver`` runs the handler and returns its publications, each caused by the input."""
    bus = TestBus()
    published = await bus.deliver(Echo(), Ping(n=1), producer="intake", trace_id="lead-1")
    assert [e.message for e in published] == [Pong(n=1), Pong(n=2)]
    assert {e.producer for e in published} == {"echo"}
    assert {e.trace_id for e in published} == {"lead-1"}
    causes = {e.causation_id for e in published}
    assert len(causes) == 1
    assert None not in causes


async def test_deliver_returns_only_this_delivery() -> None:
    """Each ``deliver`` returns its own publications, while ``published`` keeps them all."""
    bus = TestBus()
    actor = Echo()
    await bus.deliver(actor, Ping(n=1))
    second = await bus.deliver(actor, Ping(n=10))
    assert [e.message for e in second] == [Pong(n=10), Pong(n=11)]
    assert bus.messages(Pong) == [Pong(n=1), Pong(n=2), Pong(n=10), Pong(n=11)]
    assert bus.messages(Ping) == []
    bus.clear()
    assert bus.published == []


async def test_deliver_an_envelope_as_is() -> None:
    """An envelope passed in is delivered unchanged, so publications name it as cause."""
    bus = TestBus()
    envelope = Envelope.new(Ping(n=3), producer="intake", trace_id="lead-3")
    published = await bus.deliver(Echo(), envelope)
    assert [e.causation_id for e in published] == [envelope.message_id] * 2
    assert [e.trace_id for e in published] == ["lead-3"] * 2


async def test_delivering_an_undeclared_type_raises() -> None:
    """An actor is never handed a type it does not declare; the error says how to fix it."""
    bus = TestBus()
    with pytest.raises(UsageError) as caught:
        await bus.deliver(Echo(), Pong(n=1))
    assert str(caught.value) == "Actor 'echo' does not handle Pong; add it to its handles"
    with pytest.raises(UsageError) as caught:
        await bus.deliver(Echo(), Score(value=1), approved=True)
    assert str(caught.value) == (
        "Actor 'echo' does not handle Score (approved); add it to its handles"
    )
    assert bus.published == []


async def test_a_consumer_gets_only_approved_probabilistic_messages() -> None:
    """A consumer of a probabilistic type accepts it approved, and refuses it unvalidated."""
    bus = TestBus()
    with pytest.raises(UsageError) as caught:
        await bus.deliver(Consumer(), Score(value=40))
    assert str(caught.value) == "Actor 'consumer' does not handle Score; add it to its handles"
    published = await bus.deliver(Consumer(), Score(value=40), approved=True)
    assert [e.message for e in published] == [Pong(n=40)]


async def test_a_validator_gets_unvalidated_messages_and_approves_them() -> None:
    """A validator accepts the unvalidated form, and what it publishes approved is marked so."""
    bus = TestBus()
    published = await bus.deliver(Validator(), Score(value=40), producer="scorer")
    assert [(e.message, e.approved, e.producer) for e in published] == [
        (Score(value=40), True, "validator")
    ]


async def test_handler_errors_propagate() -> None:
    """A handler's exception reaches the test; the test bus swallows nothing."""
    bus = TestBus()
    with pytest.raises(RuntimeError, match=r"^cannot handle 5$"):
        await bus.deliver(Failing(), Ping(n=5))


async def test_publish_nowait_respects_capacity() -> None:
    """With a capacity, a full test bus makes ``publish_nowait`` raise ``WouldBlock``."""
    bus = TestBus(capacity=1)
    published = await bus.deliver(Hasty(), Ping(n=1))
    assert [e.message for e in published] == [Pong(n=1)]
    with pytest.raises(WouldBlock):
        await bus.deliver(Hasty(), Ping(n=2))
    assert bus.messages(Pong) == [Pong(n=1)]
