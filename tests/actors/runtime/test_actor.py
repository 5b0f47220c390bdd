"""The actor runtime: lifecycle, hooks, concurrency, graceful stop, crashes, poison."""

from __future__ import annotations

import anyio
import pytest
from anyio import WouldBlock

from actors import Actor, Context, Lifecycle
from bus import InProcessBus, Mailbox
from messages import ActorCrashed, DeadLetter, Envelope, FailureKind, Message, UsageError
from tests.support.children import settle
from tests.support.messages import Ping, Pong, Score

pytestmark = pytest.mark.anyio


class Recorder(Actor[Ping]):
    """Records every number it handles and its hooks; holds ``n`` in ``held`` until released."""

    handles = (Ping,)

    def __init__(
        self,
        *,
        held: frozenset[int] = frozenset(),
        crash_on: frozenset[int] = frozenset(),
        concurrency: int = 1,
        poison_after: int = 2,
    ) -> None:
        super().__init__(concurrency=concurrency, poison_after=poison_after)
        self.held = held
        self.crash_on = crash_on
        self.release = anyio.Event()
        self.handled: list[int] = []
        self.hooks: list[str] = []

    async def on_start(self) -> None:
        self.hooks.append("start")

    async def on_stop(self) -> None:
        self.hooks.append("stop")

    async def handle(self, ctx: Context[Ping]) -> None:
        n = ctx.message.n
        if n in self.held:
            await self.release.wait()
        if n in self.crash_on:
            raise RuntimeError(f"boom {n}")
        self.handled.append(n)


class Echo(Actor[Ping]):
    """Answers each ``Ping`` with a ``Pong``."""

    handles = (Ping,)

    async def handle(self, ctx: Context[Ping]) -> None:
        await ctx.publish(Pong(n=ctx.message.n))


async def publish_pings(bus: InProcessBus, *numbers: int) -> list[Envelope[Message]]:
    envelopes: list[Envelope[Message]] = []
    for n in numbers:
        envelope = Envelope.new(Ping(n=n), producer="test")
        await bus.publish(envelope)
        envelopes.append(envelope)
    return envelopes


async def run_until_quiet(actor: Actor[Ping], bus: InProcessBus) -> ActorCrashed | None:
    """Run ``actor`` until every task is blocked, then cancel it; return its crash, if any."""
    crashes: list[ActorCrashed] = []

    async def run() -> None:
        try:
            await actor.run(bus)
        except ActorCrashed as exc:
            crashes.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await settle()
        tg.cancel_scope.cancel()
    return crashes[0] if crashes else None


def queued_numbers(mailbox: Mailbox) -> list[int]:
    """Take everything left in ``mailbox``, and return the numbers of its pings."""
    numbers: list[int] = []
    while True:
        try:
            envelope = mailbox.take_nowait()
        except (WouldBlock, anyio.EndOfStream):
            return numbers
        assert isinstance(envelope.message, Ping)
        numbers.append(envelope.message.n)


async def test_lifecycle_runs_created_running_stopping_stopped(bus: InProcessBus) -> None:
    """An actor goes created, running, stopping, stopped, and cannot run a second time."""
    actor = Recorder()
    states = [actor.state]
    async with anyio.create_task_group() as tg:
        await tg.start(actor.run, bus)
        states.append(actor.state)
        actor.stop()
        states.append(actor.state)
    states.append(actor.state)
    assert states == [
        Lifecycle.CREATED,
        Lifecycle.RUNNING,
        Lifecycle.STOPPING,
        Lifecycle.STOPPED,
    ]
    with pytest.raises(UsageError) as caught:
        await actor.run(bus)
    assert str(caught.value) == (
        "Cannot run actor 'recorder', as it is stopped; build a new instance to run it again"
    )


async def test_hooks_are_called_once(bus: InProcessBus) -> None:
    """``on_start`` runs once before the first message, and ``on_stop`` once at the end."""
    actor = Recorder()
    actor.attach(bus)
    await publish_pings(bus, 1, 2)
    async with anyio.create_task_group() as tg:
        await tg.start(actor.run, bus)
        await settle()
        assert actor.hooks == ["start"]
        actor.stop()
        actor.stop()
    assert actor.hooks == ["start", "stop"]
    assert actor.handled == [1, 2]


async def test_on_stop_runs_after_a_crash(bus: InProcessBus) -> None:
    """A crashed actor still gets its ``on_stop``, exactly once."""
    actor = Recorder(crash_on=frozenset({1}))
    actor.attach(bus)
    await publish_pings(bus, 1)
    with pytest.raises(ActorCrashed):
        await actor.run(bus)
    assert actor.hooks == ["start", "stop"]
    assert actor.state is Lifecycle.STOPPED


async def test_a_failing_on_start_fails_run(bus: InProcessBus) -> None:
    """If ``on_start`` raises, so does ``run``; the actor is stopped without ``on_stop``."""

    class Broken(Recorder):
        async def on_start(self) -> None:
            raise OSError("no database")

    actor = Broken()
    with pytest.raises(OSError, match=r"^no database$"):
        await actor.run(bus)
    assert actor.state is Lifecycle.STOPPED
    assert actor.hooks == []


@pytest.mark.parametrize(
    ("concurrency", "while_held"), [(2, [1]), (1, [])], ids=["concurrency=2", "concurrency=1"]
)
async def test_a_held_handler_blocks_others_only_without_spare_concurrency(
    bus: InProcessBus, concurrency: int, while_held: list[int]
) -> None:
    """With concurrency 2 a blocked handler does not hold up the next message; with 1 it does."""
    actor = Recorder(held=frozenset({0}), concurrency=concurrency)
    async with anyio.create_task_group() as tg:
        await tg.start(actor.run, bus)
        await publish_pings(bus, 0, 1)
        await settle()
        assert actor.handled == while_held
        assert actor.statistics().in_flight == 1
        actor.release.set()
        await settle()
        assert sorted(actor.handled) == [0, 1]
        actor.stop()


async def test_graceful_stop_drains_the_mailbox(bus: InProcessBus) -> None:
    """``stop(drain=True)`` handles everything already queued before ``run`` returns."""
    actor = Recorder(held=frozenset({0}))
    mailbox = actor.attach(bus)
    await publish_pings(bus, 0, 1, 2)
    async with anyio.create_task_group() as tg:
        await tg.start(actor.run, bus)
        await settle()
        actor.stop(drain=True)
        actor.release.set()
    assert actor.handled == [0, 1, 2]
    assert queued_numbers(mailbox) == []


async def test_stop_without_drain_leaves_the_queue_in_the_mailbox(bus: InProcessBus) -> None:
    """``stop(drain=False)`` finishes the handler in progress and leaves the rest queued."""
    actor = Recorder(held=frozenset({0}))
    mailbox = actor.attach(bus)
    await publish_pings(bus, 0, 1, 2)
    async with anyio.create_task_group() as tg:
        await tg.start(actor.run, bus)
        await settle()
        actor.stop(drain=False)
        actor.release.set()
    assert actor.handled == [0]
    assert mailbox.statistics().in_flight == 0
    assert queued_numbers(mailbox) == [1, 2]


async def test_a_crash_raises_and_requeues_what_was_in_flight(bus: InProcessBus) -> None:
    """A raising handler ends ``run`` with ``ActorCrashed``; what was in flight goes back first."""
    actor = Recorder(held=frozenset({0}), crash_on=frozenset({1}), concurrency=2)
    mailbox = actor.attach(bus)
    envelopes = await publish_pings(bus, 0, 1, 2)
    crash = await run_until_quiet(actor, bus)
    assert crash is not None
    assert str(crash) == (
        f"Actor 'recorder' crashed while handling test_ping {envelopes[1].message_id}."
    )
    assert crash.message_id == envelopes[1].message_id
    assert isinstance(crash.__cause__, RuntimeError)
    assert str(crash.__cause__) == "boom 1"
    assert actor.state is Lifecycle.STOPPED
    assert actor.statistics().crashed == 1
    assert actor.handled == []
    assert queued_numbers(mailbox) == [0, 1, 2]


async def test_a_poison_message_is_dead_lettered_once(bus: InProcessBus) -> None:
    """A message that crashes the actor twice goes to the dead letters once, and the next
    incarnation handles the messages after it."""
    dead = bus.subscribe("dead", DeadLetter)
    Recorder(poison_after=2).attach(bus)
    poison, _ = await publish_pings(bus, 0, 1)

    for _incarnation in range(2):
        crash = await run_until_quiet(Recorder(crash_on=frozenset({0}), poison_after=2), bus)
        assert crash is not None
        assert crash.message_id == poison.message_id
    survivor = Recorder(crash_on=frozenset({0}), poison_after=2)
    assert await run_until_quiet(survivor, bus) is None
    assert survivor.handled == [1]

    letters = [dead.take_nowait()]
    with pytest.raises(WouldBlock):
        dead.take_nowait()
    [letter] = letters
    assert letter.message == DeadLetter(
        failure=FailureKind.ACTOR_CRASH,
        reason="RuntimeError: boom 0",
        actor="recorder",
        payload=poison.to_json(),
        attempts=2,
    )
    assert letter.causation_id == poison.message_id
    assert letter.trace_id == poison.trace_id


async def test_published_messages_are_caused_by_the_handled_one(bus: InProcessBus) -> None:
    """What a handler publishes shares the trace of its input and names it as the cause."""
    sink = bus.subscribe("sink", Pong)
    actor = Echo()
    async with anyio.create_task_group() as tg:
        await tg.start(actor.run, bus)
        [sent] = await publish_pings(bus, 4)
        await settle()
        actor.stop()
    reply = sink.take_nowait()
    assert reply.message == Pong(n=4)
    assert (reply.trace_id, reply.causation_id, reply.producer) == (
        sent.trace_id,
        sent.message_id,
        "echo",
    )
    assert actor.statistics().handled == 1


async def test_closing_the_bus_ends_the_actor(bus: InProcessBus) -> None:
    """When its mailbox closes, the actor handles what is left and returns normally."""
    actor = Recorder(held=frozenset({1}))
    async with anyio.create_task_group() as tg:
        await tg.start(actor.run, bus)
        await publish_pings(bus, 1, 2)
        await settle()
        await bus.aclose()
        actor.release.set()
    assert actor.handled == [1, 2]
    assert actor.state is Lifecycle.STOPPED
    assert actor.hooks == ["start", "stop"]


async def test_only_the_validator_may_declare_validates(bus: InProcessBus) -> None:
    """An actor that declares ``validates`` for a type it is not the validator of cannot run."""

    class Impostor(Actor[Score]):
        validates = (Score,)

        async def handle(self, ctx: Context[Score]) -> None:
            raise AssertionError("never called")

    bus_with_validator = InProcessBus(validators={Score: "validator"})
    try:
        with pytest.raises(UsageError, match=r"^Only the validator of Score"):
            await Impostor().run(bus_with_validator)
    finally:
        await bus_with_validator.aclose()


def test_settings_are_checked() -> None:
    """Concurrency and the poison threshold must be positive, and the error says which."""
    with pytest.raises(UsageError) as caught:
        Recorder(concurrency=0)
    assert str(caught.value) == "concurrency=0 must be >= 1"
    with pytest.raises(UsageError) as caught:
        Recorder(poison_after=0)
    assert str(caught.value) == "poison_after=0 must be >= 1"
