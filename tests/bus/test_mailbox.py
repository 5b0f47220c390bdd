"""The mailbox: bounded queueing, in-flight tracking, redelivery, closing."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest
from anyio import CancelScope, EndOfStream, WouldBlock

from bus import Mailbox
from messages import ClosedResourceError, Envelope, Message, UsageError
from tests.support.children import settle
from tests.support.messages import Ping

pytestmark = pytest.mark.anyio


def ping(n: int) -> Envelope[Message]:
    return Envelope.new(Ping(n=n), producer="producer")


def n_of(envelope: Envelope[Message]) -> int:
    assert isinstance(envelope.message, Ping)
    return envelope.message.n


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A mailbox of four, closed when the test ends."""
    mailbox = Mailbox("owner", 4)
    yield mailbox
    mailbox.close()


async def test_take_returns_envelopes_in_order(mailbox: Mailbox) -> None:
    """Envelopes come out in the order they went in."""
    for n in range(3):
        await mailbox.put(ping(n))
    assert [n_of(await mailbox.take()) for _ in range(3)] == [0, 1, 2]


async def test_take_waits_for_a_put(mailbox: Mailbox) -> None:
    """A take on an empty mailbox waits until something is put."""
    taken: list[int] = []

    async def take() -> None:
        taken.append(n_of(await mailbox.take()))

    async with anyio.create_task_group() as tg:
        tg.start_soon(take)
        await settle()
        assert taken == []
        mailbox.put_nowait(ping(7))
    assert taken == [7]


async def test_concurrent_takers_each_get_one(mailbox: Mailbox) -> None:
    """Two tasks waiting to take both wake, one envelope each."""
    taken: list[int] = []

    async def take() -> None:
        taken.append(n_of(await mailbox.take()))

    async with anyio.create_task_group() as tg:
        tg.start_soon(take)
        tg.start_soon(take)
        await settle()
        mailbox.put_nowait(ping(1))
        await settle()
        mailbox.put_nowait(ping(2))
        await settle()
        assert sorted(taken) == [1, 2]
        tg.cancel_scope.cancel()


async def test_an_arrival_wakes_one_taker_the_longest_waiting(mailbox: Mailbox) -> None:
    """Of three waiting takers, one envelope wakes only the first; the others wait on."""
    woke: list[tuple[str, int]] = []

    async def take(name: str) -> None:
        woke.append((name, n_of(await mailbox.take())))

    async with anyio.create_task_group() as tg:
        for name in ("first", "second", "third"):
            tg.start_soon(take, name)
            await settle()
        mailbox.put_nowait(ping(1))
        await settle()
        assert woke == [("first", 1)]
        mailbox.put_nowait(ping(2))
        await settle()
        assert woke == [("first", 1), ("second", 2)]
        tg.cancel_scope.cancel()


async def test_a_taker_cancelled_as_it_wakes_leaves_no_envelope_stranded(
    mailbox: Mailbox,
) -> None:
    """Cancelled just as it is woken, a taker either takes the envelope or wakes the next."""
    first_scope = CancelScope()
    taken: list[tuple[str, int]] = []

    async def first() -> None:
        with first_scope:
            taken.append(("first", n_of(await mailbox.take())))

    async def second() -> None:
        taken.append(("second", n_of(await mailbox.take())))

    async with anyio.create_task_group() as tg:
        tg.start_soon(first)
        await settle()
        tg.start_soon(second)
        await settle()
        mailbox.put_nowait(ping(1))  # wakes the first taker...
        first_scope.cancel()  # ...which is cancelled before it runs again
        await settle()
        assert [n for _, n in taken] == [1]
        assert mailbox.statistics().queued == 0
        tg.cancel_scope.cancel()


async def test_wait_returns_on_an_arrival_and_takes_nothing(mailbox: Mailbox) -> None:
    """``wait`` ends when an envelope arrives and leaves it queued, for a take without waiting."""
    woken = anyio.Event()

    async def wait() -> None:
        await mailbox.wait()
        woken.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait)
        await settle()
        assert not woken.is_set()
        mailbox.put_nowait(ping(3))
        await woken.wait()
    assert mailbox.statistics().queued == 1
    assert n_of(mailbox.take_nowait()) == 3


async def test_a_waiter_cancelled_as_it_wakes_leaves_no_arrival_unseen(mailbox: Mailbox) -> None:
    """Cancelled just as an arrival wakes it, a waiter either returns or wakes the next."""
    first_scope = CancelScope()
    woken: list[str] = []

    async def first() -> None:
        with first_scope:
            await mailbox.wait()
            woken.append("first")

    async def second() -> None:
        await mailbox.wait()
        woken.append("second")

    async with anyio.create_task_group() as tg:
        tg.start_soon(first)
        await settle()
        tg.start_soon(second)
        await settle()
        mailbox.put_nowait(ping(1))  # wakes the first waiter...
        first_scope.cancel()  # ...which is cancelled before it runs again
        await settle()
        assert len(woken) == 1
        tg.cancel_scope.cancel()
    assert n_of(mailbox.take_nowait()) == 1


async def test_wait_on_a_closed_mailbox_returns_at_once(mailbox: Mailbox) -> None:
    """Once the mailbox is closed, ``wait`` returns, and the take that follows ends the stream."""
    mailbox.close()
    await mailbox.wait()
    with pytest.raises(EndOfStream):
        mailbox.take_nowait()


async def test_put_nowait_into_a_full_mailbox_raises(mailbox: Mailbox) -> None:
    """A full mailbox has no room, and ``put_nowait`` raises ``WouldBlock``."""
    for n in range(4):
        assert mailbox.has_room()
        mailbox.put_nowait(ping(n))
    assert not mailbox.has_room()
    with pytest.raises(WouldBlock):
        mailbox.put_nowait(ping(4))
    assert mailbox.statistics().queued == 4


async def test_interrupt_wakes_every_waiter_and_takes_nothing(mailbox: Mailbox) -> None:
    """``interrupt`` ends every ``wait`` with no arrival, and a later put is still queued."""
    woken: list[int] = []

    async def wait(n: int) -> None:
        await mailbox.wait()
        woken.append(n)

    async with anyio.create_task_group() as tg:
        for n in range(3):
            tg.start_soon(wait, n)
        await settle()
        mailbox.interrupt()
    assert sorted(woken) == [0, 1, 2]
    assert mailbox.statistics().queued == 0
    mailbox.put_nowait(ping(5))
    assert mailbox.ready()
    assert n_of(mailbox.take_nowait()) == 5


async def test_room_and_ready_follow_the_queue(mailbox: Mailbox) -> None:
    """``room`` counts the free places, ``ready`` says whether a take would return at once."""
    assert (mailbox.room(), mailbox.ready()) == (4, False)
    mailbox.put_nowait(ping(0))
    mailbox.put_nowait(ping(1))
    assert (mailbox.room(), mailbox.ready()) == (2, True)
    mailbox.take_nowait()
    mailbox.take_nowait()
    assert (mailbox.room(), mailbox.ready()) == (4, False)
    mailbox.close()
    assert mailbox.ready()  # the take would end the stream at once


async def test_puts_waiting_for_room_enter_in_the_order_they_came(mailbox: Mailbox) -> None:
    """Each take admits the longest-waiting put, so envelopes come out in the order sent."""
    for n in range(4):
        mailbox.put_nowait(ping(n))

    async def put(n: int) -> None:
        await mailbox.put(ping(n))

    async with anyio.create_task_group() as tg:
        for n in range(4, 7):
            tg.start_soon(put, n)
            await settle()
        assert mailbox.statistics().waiting_senders == 3
        taken = [n_of(mailbox.take_nowait()) for _ in range(7)]
    assert taken == list(range(7))
    assert mailbox.statistics().waiting_senders == 0


async def test_requeue_puts_unacked_first_in_original_order(mailbox: Mailbox) -> None:
    """Unacked envelopes go back ahead of everything queued, in the order they were taken."""
    for n in range(4):
        await mailbox.put(ping(n))
    taken = [mailbox.take_nowait() for _ in range(3)]
    mailbox.ack(taken[1])
    assert mailbox.requeue_in_flight() == 2
    assert [n_of(mailbox.take_nowait()) for _ in range(3)] == [0, 2, 3]


async def test_requeue_again_keeps_the_order(mailbox: Mailbox) -> None:
    """A redelivered envelope that is requeued again still comes before later ones."""
    for n in range(3):
        await mailbox.put(ping(n))
    mailbox.take_nowait()
    mailbox.take_nowait()
    mailbox.requeue_in_flight()
    mailbox.take_nowait()
    assert mailbox.requeue_in_flight() == 1
    assert [n_of(mailbox.take_nowait()) for _ in range(3)] == [0, 1, 2]


async def test_requeue_wakes_a_waiting_taker(mailbox: Mailbox) -> None:
    """Handing an envelope back wakes a task waiting to take."""
    await mailbox.put(ping(1))
    mailbox.take_nowait()
    taken: list[int] = []

    async def take() -> None:
        taken.append(n_of(await mailbox.take()))

    async with anyio.create_task_group() as tg:
        tg.start_soon(take)
        await settle()
        assert taken == []
        mailbox.requeue_in_flight()
    assert taken == [1]


async def test_cancelling_a_waiting_take_loses_nothing(mailbox: Mailbox) -> None:
    """A take cancelled while waiting leaves the next envelope for the next take."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(mailbox.take)
        await settle()
        tg.cancel_scope.cancel()
    await mailbox.put(ping(1))
    assert n_of(mailbox.take_nowait()) == 1


async def test_cancelling_a_take_as_it_wakes_loses_nothing(mailbox: Mailbox) -> None:
    """A take cancelled just as its envelope arrives either returns it or leaves it queued."""
    taken: list[Envelope[Message]] = []
    scope = CancelScope()

    async def take() -> None:
        with scope:
            taken.append(await mailbox.take())

    async with anyio.create_task_group() as tg:
        tg.start_soon(take)
        await settle()
        envelope = ping(1)
        mailbox.put_nowait(envelope)
        scope.cancel()
    try:
        left = [mailbox.take_nowait()]
    except WouldBlock:
        left = []
    assert taken + left == [envelope]
    assert mailbox.statistics().in_flight == 1


async def test_ack_and_discard_forget_an_envelope(mailbox: Mailbox) -> None:
    """An acked or discarded envelope is never redelivered, and its crash count is dropped."""
    for n in range(2):
        await mailbox.put(ping(n))
    first, second = mailbox.take_nowait(), mailbox.take_nowait()
    assert mailbox.record_crash(first) == 1
    assert mailbox.record_crash(first) == 2
    mailbox.ack(first)
    assert mailbox.record_crash(first) == 1
    mailbox.discard(second)
    assert mailbox.requeue_in_flight() == 0
    stats = mailbox.statistics()
    assert (stats.taken, stats.acked, stats.in_flight) == (2, 1, 0)


async def test_close_then_drain_then_end_of_stream(mailbox: Mailbox) -> None:
    """A closed mailbox refuses puts, hands out what it holds, then ends."""
    await mailbox.put(ping(0))
    await mailbox.put(ping(1))
    mailbox.close()
    with pytest.raises(ClosedResourceError) as caught:
        await mailbox.put(ping(2))
    assert str(caught.value) == (
        "Cannot deliver test_ping to 'owner', as its mailbox has been closed."
    )
    with pytest.raises(ClosedResourceError):
        mailbox.put_nowait(ping(2))
    assert mailbox.statistics().queued == 2
    assert [n_of(await mailbox.take()) for _ in range(2)] == [0, 1]
    with pytest.raises(EndOfStream):
        await mailbox.take()
    with pytest.raises(EndOfStream):
        mailbox.take_nowait()


async def test_a_closed_mailbox_still_redelivers(mailbox: Mailbox) -> None:
    """Envelopes handed back after closing come out before the end of the stream."""
    await mailbox.put(ping(0))
    await mailbox.put(ping(1))
    mailbox.take_nowait()
    mailbox.close()
    mailbox.requeue_in_flight()
    assert [n_of(mailbox.take_nowait()) for _ in range(2)] == [0, 1]
    with pytest.raises(EndOfStream):
        mailbox.take_nowait()


async def test_closing_wakes_a_waiting_taker(mailbox: Mailbox) -> None:
    """A take waiting on an empty mailbox ends with ``EndOfStream`` when it closes."""
    ended: list[bool] = []

    async def take() -> None:
        with pytest.raises(EndOfStream):
            await mailbox.take()
        ended.append(True)

    async with anyio.create_task_group() as tg:
        tg.start_soon(take)
        await settle()
        mailbox.close()
    assert ended == [True]


def test_capacity_must_be_positive() -> None:
    """A mailbox of no capacity is refused, naming its owner."""
    with pytest.raises(UsageError) as caught:
        Mailbox("owner", 0)
    assert str(caught.value) == "capacity=0 of mailbox 'owner' must be >= 1"
