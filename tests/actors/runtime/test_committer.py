"""The committer: finished handlers' effects, committed with their acks in batches."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from actors.runtime._committer import Committer
from bus import InProcessBus, SqliteJournal
from messages import Envelope, Message
from tests.support.messages import Ping, Pong

pytestmark = pytest.mark.anyio


def ping(n: int) -> Envelope[Message]:
    return Envelope.new(Ping(n=n), producer="producer")


def pong_for(envelope: Envelope[Message]) -> Envelope[Message]:
    assert isinstance(envelope.message, Ping)
    return envelope.child(Pong(n=envelope.message.n), producer="worker")


async def test_handed_over_effects_share_one_transaction_and_keep_their_order(
    tmp_path: Path,
) -> None:
    """Three handlers' effects queued before a commit go to disk together, then in order."""
    journal = SqliteJournal(tmp_path / "journal.sqlite")
    bus = InProcessBus(journal=journal)
    bus.subscribe("worker", Ping)
    inbox = bus.subscribe("sink", Pong)
    durable: list[Envelope[Message]] = []
    committer = Committer(bus, subscriber="worker", on_durable=durable.append, limit=8)
    inputs = [ping(n) for n in range(3)]
    for envelope in inputs:
        await committer.hand_over(envelope, [pong_for(envelope)])
    committer.close()
    await committer.run()

    assert journal.transactions == 1
    assert durable == inputs
    assert [inbox.take_nowait().message for _ in range(3)] == [Pong(n=n) for n in range(3)]
    assert [(e.message, subscriber) for e, subscriber in journal.pending()] == [
        (Pong(n=n), "sink") for n in range(3)
    ]
    await bus.aclose()
    journal.close()


async def test_a_full_queue_makes_the_handler_wait_for_the_next_commit(tmp_path: Path) -> None:
    """With ``limit`` handlers' effects queued, the next hand-over waits until a commit."""
    bus = InProcessBus()
    bus.subscribe("sink", Pong)
    committer = Committer(bus, subscriber="worker", on_durable=lambda _: None, limit=2)
    handed: list[int] = []

    async def hand_over(n: int) -> None:
        envelope = ping(n)
        await committer.hand_over(envelope, [pong_for(envelope)])
        handed.append(n)

    async with anyio.create_task_group() as tg:
        for n in range(3):
            tg.start_soon(hand_over, n)
        await anyio.wait_all_tasks_blocked()
        assert handed == [0, 1]
        tg.start_soon(committer.run)
        await anyio.wait_all_tasks_blocked()
        assert handed == [0, 1, 2]
        committer.close()
    await bus.aclose()


async def test_with_no_journal_a_hand_over_is_delivered_at_once() -> None:
    """With no journal and room everywhere, a running committer's hand-over is delivered
    (and the input acked) before ``hand_over`` returns, without a commit of its own."""
    bus = InProcessBus()
    inbox = bus.subscribe("sink", Pong)
    durable: list[Envelope[Message]] = []
    committer = Committer(bus, subscriber="worker", on_durable=durable.append, limit=4)
    envelope = ping(1)
    async with anyio.create_task_group() as tg:
        tg.start_soon(committer.run)
        await anyio.wait_all_tasks_blocked()
        await committer.hand_over(envelope, [pong_for(envelope)])
        assert durable == [envelope]
        assert inbox.take_nowait().message == Pong(n=1)
        committer.close()
    await bus.aclose()


async def test_deliver_now_does_nothing_unless_all_can_go_at_once(tmp_path: Path) -> None:
    """``deliver_now`` refuses, delivering nothing, with a journal, a mailbox short of room
    or an effect with no subscriber; otherwise it delivers every effect."""
    journal = SqliteJournal(tmp_path / "journal.sqlite")
    journaled = InProcessBus(journal=journal)
    journaled.subscribe("sink", Pong)
    assert not journaled.deliver_now([pong_for(ping(0))])
    assert journaled.statistics().delivered == 0

    bus = InProcessBus(default_capacity=2)
    inbox = bus.subscribe("sink", Pong)
    three = [pong_for(ping(n)) for n in range(3)]
    assert not bus.deliver_now(three)  # two places for three
    assert not bus.deliver_now([ping(9)])  # no one takes a Ping
    assert inbox.statistics().queued == 0
    assert bus.deliver_now(three[:2])
    assert [inbox.take_nowait().message for _ in range(2)] == [Pong(n=0), Pong(n=1)]
    await bus.aclose()
    await journaled.aclose()
    journal.close()
