"""The in-process bus: backpressure, ordering, validator-first delivery, unrouted messages."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from anyio import CancelScope, WouldBlock, wait_all_tasks_blocked
from hypothesis import given, settings
from hypothesis import strategies as st

from bus import InProcessBus, Mailbox, SqliteJournal, Unrouted
from messages import (
    ClosedResourceError,
    DeadLetter,
    Envelope,
    FailureKind,
    Message,
    UnroutedMessage,
    UsageError,
)
from tests.support.children import settle
from tests.support.messages import Draft, Ping, Pong, Score

pytestmark = pytest.mark.anyio

BusFactory = Callable[..., InProcessBus]
VALIDATOR = "validator"


def ping(n: int, producer: str = "producer") -> Envelope[Message]:
    return Envelope.new(Ping(n=n), producer=producer)


def drain(mailbox: Mailbox) -> list[Envelope[Message]]:
    """Take and ack everything in ``mailbox`` now."""
    taken: list[Envelope[Message]] = []
    while True:
        try:
            envelope = mailbox.take_nowait()
        except (WouldBlock, anyio.EndOfStream):
            return taken
        mailbox.ack(envelope)
        taken.append(envelope)


def numbers(envelopes: list[Envelope[Message]]) -> list[int]:
    return [e.message.n for e in envelopes if isinstance(e.message, Ping)]


# Backpressure


async def test_a_full_mailbox_blocks_publish_and_loses_nothing(make_bus: BusFactory) -> None:
    """Publishing into a full mailbox waits until there is room, and every message arrives."""
    bus = make_bus(default_capacity=2)
    mailbox = bus.subscribe("consumer", Ping)
    await bus.publish(ping(0))
    await bus.publish(ping(1))
    published: list[int] = []

    async def publish_third() -> None:
        await bus.publish(ping(2))
        published.append(2)

    async with anyio.create_task_group() as tg:
        tg.start_soon(publish_third)
        await wait_all_tasks_blocked()
        assert published == []
        assert bus.statistics().mailboxes[0].waiting_senders == 1
        first = mailbox.take_nowait()
        await wait_all_tasks_blocked()
        assert published == [2]
    mailbox.ack(first)
    assert numbers([first, *drain(mailbox)]) == [0, 1, 2]


async def test_a_publish_blocked_on_a_full_mailbox_can_be_cancelled(make_bus: BusFactory) -> None:
    """Cancelling a publisher that waits on a full mailbox ends it, and delivers nothing."""
    bus = make_bus(default_capacity=1)
    mailbox = bus.subscribe("consumer", Ping)
    await bus.publish(ping(0))
    scope = CancelScope()
    outcome: list[bool] = []

    async def publish_blocked() -> None:
        with scope:
            await bus.publish(ping(1))
        outcome.append(scope.cancelled_caught)

    async with anyio.create_task_group() as tg:
        tg.start_soon(publish_blocked)
        await settle()
        scope.cancel()
        await settle()
        cancelled = list(outcome)
        # Make room whatever happened, so that a publisher that ignored the cancel ends.
        received = drain(mailbox)
        await settle()
        received += drain(mailbox)
    assert cancelled == [True]
    assert numbers(received) == [0]


async def test_publish_nowait_into_a_full_mailbox_raises_and_delivers_nothing(
    make_bus: BusFactory,
) -> None:
    """``publish_nowait`` raises ``WouldBlock`` on a full mailbox and queues nothing."""
    bus = make_bus(default_capacity=1)
    mailbox = bus.subscribe("consumer", Ping)
    bus.publish_nowait(ping(0))
    with pytest.raises(WouldBlock):
        bus.publish_nowait(ping(1))
    assert numbers(drain(mailbox)) == [0]
    stats = bus.statistics()
    assert (stats.published, stats.delivered) == (1, 1)


async def test_publish_nowait_is_all_or_nothing_across_subscribers(make_bus: BusFactory) -> None:
    """When one of two subscribers is full, ``publish_nowait`` delivers to neither."""
    bus = make_bus(default_capacity=4)
    large = bus.subscribe("large", Ping)
    bus.open_mailbox("small", capacity=1)
    small = bus.subscribe("small", Ping)
    bus.publish_nowait(ping(0))
    with pytest.raises(WouldBlock):
        bus.publish_nowait(ping(1))
    assert numbers(drain(small)) == [0]
    assert numbers(drain(large)) == [0]
    assert bus.statistics().delivered == 2


async def test_messages_from_one_sender_arrive_in_order(make_bus: BusFactory) -> None:
    """Two concurrent senders through a tiny mailbox: each one's messages keep their order."""
    bus = make_bus(default_capacity=2)
    mailbox = bus.subscribe("consumer", Ping)
    received: list[Envelope[Message]] = []

    async def send(producer: str) -> None:
        for n in range(50):
            await bus.publish(ping(n, producer))

    async def consume() -> None:
        for _ in range(100):
            envelope = await mailbox.take()
            mailbox.ack(envelope)
            received.append(envelope)

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        tg.start_soon(send, "left")
        tg.start_soon(send, "right")
    for producer in ("left", "right"):
        assert numbers([e for e in received if e.producer == producer]) == list(range(50))


# Validator-first delivery


async def test_an_unvalidated_message_goes_to_its_validator_alone(make_bus: BusFactory) -> None:
    """A probabilistic message reaches its validator and not its consumers."""
    bus = make_bus(validators={Score: VALIDATOR})
    validator = bus.subscribe(VALIDATOR, Score, unvalidated=True)
    consumer = bus.subscribe("consumer", Score)
    envelope = Envelope.new(Score(value=70), producer="scorer")
    await bus.publish(envelope)
    assert drain(validator) == [envelope]
    assert drain(consumer) == []


async def test_an_approved_message_goes_to_its_consumers(make_bus: BusFactory) -> None:
    """Once the validator publishes it approved, consumers receive it and the validator not."""
    bus = make_bus(validators={Score: VALIDATOR})
    validator = bus.subscribe(VALIDATOR, Score, unvalidated=True)
    consumer = bus.subscribe("consumer", Score)
    other = bus.subscribe("other", Score)
    original = Envelope.new(Score(value=70), producer="scorer")
    approved = original.child(original.message, producer=VALIDATOR, approved=True)
    await bus.publish(approved)
    assert drain(consumer) == [approved]
    assert drain(other) == [approved]
    assert drain(validator) == []


async def test_only_the_validator_may_subscribe_unvalidated(make_bus: BusFactory) -> None:
    """Any other actor asking for the unvalidated form is refused, and told what to do."""
    bus = make_bus(validators={Score: VALIDATOR})
    with pytest.raises(UsageError) as caught:
        bus.subscribe("consumer", Score, unvalidated=True)
    assert str(caught.value) == (
        "Only the validator of Score ('validator') may receive it unvalidated; "
        "subscribe 'consumer' without unvalidated=True to get approved Score"
    )


async def test_unvalidated_needs_a_probabilistic_type(make_bus: BusFactory) -> None:
    """Asking for the unvalidated form of a deterministic type is refused."""
    bus = make_bus()
    with pytest.raises(UsageError) as caught:
        bus.subscribe("consumer", Ping, unvalidated=True)
    assert str(caught.value) == (
        "Ping is not probabilistic, so it is never unvalidated; "
        "subscribe 'consumer' to it without unvalidated=True"
    )


async def test_only_the_validator_may_publish_approved(make_bus: BusFactory) -> None:
    """Another actor publishing the approved form is refused, and nothing is delivered."""
    bus = make_bus(validators={Score: VALIDATOR})
    consumer = bus.subscribe("consumer", Score)
    forged = Envelope(message=Score(value=99), producer="scorer", trace_id="t", approved=True)
    with pytest.raises(UsageError) as caught:
        await bus.publish(forged)
    assert str(caught.value) == (
        "Only the validator of Score ('validator') may publish it approved, not 'scorer'"
    )
    with pytest.raises(UsageError):
        bus.publish_nowait(forged)
    assert drain(consumer) == []


async def test_a_probabilistic_type_without_validator_raises(make_bus: BusFactory) -> None:
    """Publishing a probabilistic type on a bus with no validator for it is refused."""
    bus = make_bus()
    with pytest.raises(UsageError) as caught:
        await bus.publish(Envelope.new(Score(value=1), producer="scorer"))
    assert str(caught.value) == (
        "Score is probabilistic, but the bus has no validator for it; "
        "pass validators={Score: <validator actor name>} to the bus"
    )


async def test_validators_must_be_probabilistic() -> None:
    """Registering a validator for a deterministic type is refused."""
    with pytest.raises(UsageError) as caught:
        InProcessBus(validators={Ping: VALIDATOR})
    assert str(caught.value) == (
        "Ping is not probabilistic, so it needs no validator; "
        "set probabilistic = True on it or drop it from validators"
    )


@dataclass(frozen=True)
class Subscribe:
    subscriber: str
    message_type: type[Message]
    unvalidated: bool


@dataclass(frozen=True)
class Publish:
    producer: str
    message_type: type[Message]
    approved: bool
    nowait: bool


ACTORS = (VALIDATOR, "alpha", "beta")
TYPES: tuple[type[Message], ...] = (Ping, Score, Draft)
OPERATIONS = st.lists(
    st.one_of(
        st.builds(Subscribe, st.sampled_from(ACTORS), st.sampled_from(TYPES), st.booleans()),
        st.builds(
            Publish,
            st.sampled_from((*ACTORS, "outsider")),
            st.sampled_from(TYPES),
            st.booleans(),
            st.booleans(),
        ),
    ),
    max_size=30,
)


def sample(message_type: type[Message], n: int) -> Message:
    if message_type is Score:
        return Score(value=n % 101)
    if message_type is Draft:
        return Draft(text=f"draft {n}")
    return Ping(n=n)


@settings(max_examples=150)
@given(operations=OPERATIONS, unrouted=st.sampled_from(Unrouted))
async def test_validator_first_holds_over_any_sequence(
    operations: list[Subscribe | Publish], unrouted: Unrouted
) -> None:
    """Whatever is subscribed and published, no consumer ever holds an unapproved
    probabilistic message, and every routable message reaches exactly its subscribers."""
    # Mailboxes roomier than any sequence can fill, so that a wrong route shows up as a
    # wrong delivery rather than as a publish that blocks for ever.
    bus = InProcessBus(
        validators={Score: VALIDATOR, Draft: VALIDATOR}, unrouted=unrouted, default_capacity=64
    )
    mailboxes: dict[str, Mailbox] = {}
    if unrouted is Unrouted.DEAD_LETTER:
        mailboxes["dead"] = bus.subscribe("dead", DeadLetter)
    routes: dict[type[Message], list[str]] = {t: [] for t in TYPES}
    unvalidated: dict[type[Message], str] = {}
    try:
        for n, operation in enumerate(operations):
            match operation:
                case Subscribe(subscriber, message_type, True) if (
                    not message_type.probabilistic or subscriber != VALIDATOR
                ):
                    with pytest.raises(UsageError):
                        bus.subscribe(subscriber, message_type, unvalidated=True)
                case Subscribe(subscriber, message_type, wants_unvalidated):
                    mailboxes[subscriber] = bus.subscribe(
                        subscriber, message_type, unvalidated=wants_unvalidated
                    )
                    if wants_unvalidated:
                        unvalidated[message_type] = subscriber
                    elif subscriber not in routes[message_type]:
                        routes[message_type].append(subscriber)
                case Publish(producer, message_type, approved, nowait):
                    envelope = Envelope(
                        message=sample(message_type, n),
                        producer=producer,
                        trace_id="trace",
                        approved=approved,
                    )
                    await _check_publish(bus, mailboxes, routes, unvalidated, envelope, nowait)
    finally:
        await bus.aclose()


async def _check_publish(
    bus: InProcessBus,
    mailboxes: dict[str, Mailbox],
    routes: dict[type[Message], list[str]],
    unvalidated: dict[type[Message], str],
    envelope: Envelope[Message],
    nowait: bool,
) -> None:
    message_type = type(envelope.message)
    forged = message_type.probabilistic and envelope.approved and envelope.producer != VALIDATOR
    if forged:
        expected: set[str] = set()
    elif not message_type.probabilistic or envelope.approved:
        expected = set(routes[message_type])
    else:
        expected = {unvalidated[message_type]} if message_type in unvalidated else set()
    unroutable = not forged and not expected
    if forged or (unroutable and bus.unrouted is Unrouted.RAISE):
        error = UsageError if forged else UnroutedMessage
        with pytest.raises(error) as caught:
            await _publish(bus, envelope, nowait)
        assert type(caught.value) is error
    else:
        await _publish(bus, envelope, nowait)

    delivered: dict[str, list[Envelope[Message]]] = {
        owner: drain(mailbox) for owner, mailbox in mailboxes.items()
    }
    for owner, envelopes in delivered.items():
        for received in envelopes:
            unapproved = received.message.probabilistic and not received.approved
            assert not (unapproved and owner != VALIDATOR), (owner, received)
    dead = delivered.pop("dead", [])
    assert {owner for owner, got in delivered.items() if got == [envelope]} == expected
    assert all(got in ([], [envelope]) for got in delivered.values())
    if unroutable and bus.unrouted is Unrouted.DEAD_LETTER:
        assert len(dead) == 1
        assert isinstance(dead[0].message, DeadLetter)
        assert dead[0].message.payload == envelope.to_json()
    else:
        assert dead == []


async def _publish(bus: InProcessBus, envelope: Envelope[Message], nowait: bool) -> None:
    if nowait:
        bus.publish_nowait(envelope)
    else:
        await bus.publish(envelope)


# Unrouted messages


async def test_an_unrouted_message_raises_by_default(bus: InProcessBus) -> None:
    """With ``Unrouted.RAISE``, a message nobody subscribes to raises, in both publishes."""
    expected = (
        "No subscriber for Ping from 'producer'; subscribe an actor to it, or build the bus "
        "with unrouted=Unrouted.DEAD_LETTER and a dead-letter actor"
    )
    with pytest.raises(UnroutedMessage) as caught:
        await bus.publish(ping(1))
    assert str(caught.value) == expected
    with pytest.raises(UnroutedMessage) as caught:
        bus.publish_nowait(ping(2))
    assert str(caught.value) == expected
    stats = bus.statistics()
    assert (stats.published, stats.delivered, stats.unrouted) == (0, 0, 2)


@pytest.mark.parametrize("nowait", [False, True], ids=["publish", "publish_nowait"])
async def test_an_unrouted_message_becomes_a_dead_letter(
    make_bus: BusFactory, nowait: bool
) -> None:
    """With ``Unrouted.DEAD_LETTER``, the bus publishes a dead letter holding the raw payload."""
    bus = make_bus(unrouted=Unrouted.DEAD_LETTER)
    dead = bus.subscribe("dead", DeadLetter)
    original = Envelope.new(Ping(n=1), producer="producer", attempt=3)
    await _publish(bus, original, nowait)
    [letter] = drain(dead)
    assert letter.message == DeadLetter(
        failure=FailureKind.UNROUTED,
        reason="No subscriber for Ping",
        actor="bus",
        payload=original.to_json(),
        attempts=3,
    )
    assert letter.producer == "bus"
    assert letter.causation_id == original.message_id
    assert letter.trace_id == original.trace_id
    assert Envelope.from_json(letter.message.payload) == original
    stats = bus.statistics()
    assert (stats.published, stats.delivered, stats.unrouted) == (2, 1, 1)


async def test_an_unvalidated_message_without_validator_subscription_is_dead_lettered(
    make_bus: BusFactory,
) -> None:
    """A probabilistic message whose validator has not subscribed is a dead letter, and says so."""
    bus = make_bus(validators={Score: VALIDATOR}, unrouted=Unrouted.DEAD_LETTER)
    dead = bus.subscribe("dead", DeadLetter)
    consumer = bus.subscribe("consumer", Score)
    await bus.publish(Envelope.new(Score(value=5), producer="scorer"))
    [letter] = drain(dead)
    assert isinstance(letter.message, DeadLetter)
    assert letter.message.reason == "No subscriber for unvalidated Score"
    assert drain(consumer) == []


async def test_dead_letters_without_a_subscriber_raise(make_bus: BusFactory) -> None:
    """With ``Unrouted.DEAD_LETTER`` but no dead-letter subscriber, publishing raises."""
    bus = make_bus(unrouted=Unrouted.DEAD_LETTER)
    with pytest.raises(UnroutedMessage) as caught:
        await bus.publish(ping(1))
    assert str(caught.value) == (
        "No subscriber for DeadLetter from 'bus'; subscribe an actor to it, or build the bus "
        "with unrouted=Unrouted.DEAD_LETTER and a dead-letter actor"
    )
    with pytest.raises(UnroutedMessage):
        bus.publish_nowait(ping(2))
    assert bus.statistics().published == 0


# Closing


async def test_a_closed_bus_refuses_everything(make_bus: BusFactory) -> None:
    """After ``aclose``, publishing, subscribing and opening mailboxes raise precise errors."""
    bus = make_bus()
    bus.subscribe("consumer", Ping)
    await bus.aclose()
    with pytest.raises(ClosedResourceError) as caught:
        await bus.publish(ping(1))
    assert str(caught.value) == "Cannot publish Ping, as the bus has been closed."
    with pytest.raises(ClosedResourceError) as caught:
        bus.publish_nowait(ping(1))
    assert str(caught.value) == "Cannot publish Ping, as the bus has been closed."
    with pytest.raises(ClosedResourceError) as caught:
        bus.subscribe("late", Ping)
    assert str(caught.value) == "Cannot subscribe 'late', as the bus has been closed."
    with pytest.raises(ClosedResourceError) as caught:
        bus.open_mailbox("late")
    assert str(caught.value) == "Cannot open a mailbox for 'late', as the bus has been closed."
    assert bus.statistics().open is False


async def test_closing_keeps_what_is_queued(make_bus: BusFactory) -> None:
    """Messages queued before the bus closed can still be taken, then the mailbox ends."""
    bus = make_bus()
    mailbox = bus.subscribe("consumer", Ping)
    await bus.publish(ping(0))
    await bus.publish(ping(1))
    await bus.aclose()
    assert numbers(drain(mailbox)) == [0, 1]
    with pytest.raises(anyio.EndOfStream):
        await mailbox.take()


async def test_closing_fails_a_publisher_blocked_on_a_full_mailbox(
    make_bus: BusFactory,
) -> None:
    """A publisher blocked when the bus closes is told, not dropped; queued messages stay."""
    bus = make_bus(default_capacity=1)
    mailbox = bus.subscribe("consumer", Ping)
    await bus.publish(ping(0))
    errors: list[ClosedResourceError] = []

    async def publish_blocked() -> None:
        try:
            await bus.publish(ping(1))
        except ClosedResourceError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(publish_blocked)
        await wait_all_tasks_blocked()
        await bus.aclose()
    assert [str(e) for e in errors] == [
        "Cannot deliver test_ping to 'consumer', as its mailbox has been closed."
    ]
    assert numbers(drain(mailbox)) == [0]


# Mailboxes and statistics


async def test_a_mailbox_is_opened_once(bus: InProcessBus) -> None:
    """Opening a mailbox again returns the same one; asking for another capacity is refused."""
    first = bus.open_mailbox("consumer", capacity=2)
    assert bus.open_mailbox("consumer") is first
    assert bus.subscribe("consumer", Ping) is first
    with pytest.raises(UsageError) as caught:
        bus.open_mailbox("consumer", capacity=3)
    assert str(caught.value) == (
        "Mailbox 'consumer' already has capacity=2, not 3; open it once, with one capacity"
    )


async def test_capacities_must_be_positive(bus: InProcessBus) -> None:
    """A mailbox of zero capacity is refused, not silently given the default."""
    with pytest.raises(UsageError) as caught:
        bus.open_mailbox("consumer", capacity=0)
    assert str(caught.value) == "capacity=0 of mailbox 'consumer' must be >= 1"
    with pytest.raises(UsageError) as caught:
        InProcessBus(default_capacity=0)
    assert str(caught.value) == "default_capacity=0 must be >= 1"


async def test_subscribing_twice_delivers_once(bus: InProcessBus) -> None:
    """A repeated subscription does not duplicate deliveries."""
    mailbox = bus.subscribe("consumer", Ping)
    bus.subscribe("consumer", Ping)
    await bus.publish(ping(1))
    assert numbers(drain(mailbox)) == [1]


async def test_statistics_are_frozen_snapshots(make_bus: BusFactory) -> None:
    """Statistics count publishes and deliveries per bus and mailbox, and never change later."""
    bus = make_bus(default_capacity=4)
    one = bus.subscribe("one", Ping)
    bus.subscribe("one", Pong)
    bus.subscribe("two", Ping)
    await bus.publish(ping(0))
    bus.publish_nowait(Envelope.new(Pong(n=0), producer="p"))
    before = bus.statistics()
    assert (before.open, before.published, before.delivered, before.unrouted) == (True, 2, 3, 0)
    assert [(m.owner, m.capacity, m.queued) for m in before.mailboxes] == [
        ("one", 4, 2),
        ("two", 4, 1),
    ]
    envelope = one.take_nowait()
    after = bus.statistics().mailboxes[0]
    assert (after.queued, after.in_flight, after.taken, after.acked) == (1, 1, 1, 0)
    one.ack(envelope)
    assert bus.statistics().mailboxes[0].acked == 1
    assert before.mailboxes[0].queued == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        before.published = 0  # type: ignore[misc]


# One delivery primitive: publish, publish_nowait and commit journal, hook and count alike


async def test_publish_nowait_journals_before_it_delivers(tmp_path: Path) -> None:
    """With a journal, ``publish_nowait`` records the message and its delivery first."""
    journal = SqliteJournal(tmp_path / "journal.sqlite")
    bus = InProcessBus(journal=journal)
    mailbox = bus.subscribe("consumer", Ping)
    envelope = ping(0)
    bus.publish_nowait(envelope)
    assert [(e.message_id, subscriber) for e, subscriber in journal.pending()] == [
        (envelope.message_id, "consumer")
    ]
    assert numbers(drain(mailbox)) == [0]
    await bus.aclose()
    journal.close()


async def test_every_way_to_publish_journals_hooks_and_counts_alike(tmp_path: Path) -> None:
    """``publish``, ``publish_nowait`` and ``commit`` each journal, show hooks and count once."""
    journal = SqliteJournal(tmp_path / "journal.sqlite")
    seen: list[int] = []
    bus = InProcessBus(
        journal=journal,
        hooks=[lambda e: seen.append(e.message.n if isinstance(e.message, Ping) else -1)],
    )
    mailbox = bus.subscribe("consumer", Ping)
    await bus.publish(ping(0))
    bus.publish_nowait(ping(1))
    await bus.commit([ping(2)])
    stats = bus.statistics()
    assert seen == [0, 1, 2]
    assert (stats.published, stats.delivered) == (3, 3)
    assert numbers([e for e, _ in journal.pending()]) == [0, 1, 2]
    assert numbers(drain(mailbox)) == [0, 1, 2]
    await bus.aclose()
    journal.close()


async def test_publish_nowait_journals_the_dead_letter_of_an_unroutable_message(
    tmp_path: Path,
) -> None:
    """An unroutable message published without waiting becomes a journaled dead letter."""
    journal = SqliteJournal(tmp_path / "journal.sqlite")
    bus = InProcessBus(journal=journal, unrouted=Unrouted.DEAD_LETTER)
    letters = bus.subscribe("dead_letters", DeadLetter)
    bus.publish_nowait(ping(0))
    assert [(e.kind, subscriber) for e, subscriber in journal.pending()] == [
        ("dead_letter", "dead_letters")
    ]
    assert [e.kind for e in drain(letters)] == ["dead_letter"]
    await bus.aclose()
    journal.close()


async def test_a_journaled_publish_delivers_even_when_cancelled_while_waiting(
    tmp_path: Path,
) -> None:
    """Once journaled, a publish waiting on a full mailbox ignores a cancel and delivers."""
    journal = SqliteJournal(tmp_path / "journal.sqlite")
    bus = InProcessBus(journal=journal, default_capacity=1)
    mailbox = bus.subscribe("consumer", Ping)
    await bus.publish(ping(0))
    scope = CancelScope()

    async def publish_blocked() -> None:
        with scope:
            await bus.publish(ping(1))

    async with anyio.create_task_group() as tg:
        tg.start_soon(publish_blocked)
        await wait_all_tasks_blocked()
        scope.cancel()
        await wait_all_tasks_blocked()
        received = drain(mailbox)
        await wait_all_tasks_blocked()
        received += drain(mailbox)
    assert numbers(received) == [0, 1]
    await bus.aclose()
    journal.close()
