"""NatsBus against a real nats-server: the Bus protocol, acks, redelivery, dead letters."""

from __future__ import annotations

import anyio
import nats
import pytest

from actors import Actor, Context
from bus import Ack, InProcessBus, Mailbox, NatsBus, NatsServer, NatsSettings
from bus._nats_wire import STREAM, subject_of
from messages import DeadLetter, Envelope, FailureKind, Message, UnroutedMessage, UsageError
from tests.support.messages import Ping, Pong, Score
from tests.support.nats import WAIT_S, take

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


VALIDATORS: dict[type[Message], str] = {Score: "checker"}
QUICK = NatsSettings(ack_wait=1.0, max_deliver=2, duplicate_window=60.0)
"""Redelivery after one second, so that a test of it waits no longer than that."""


class Echo(Actor[Ping]):
    """Answers each ``Ping`` with a ``Pong``."""

    handles = (Ping,)

    async def handle(self, ctx: Context[Ping]) -> None:
        await ctx.publish(Pong(n=ctx.message.n))


async def test_a_message_round_trips_as_its_versioned_json(nats_server: NatsServer) -> None:
    """What one bus publishes reaches another bus's subscriber with every envelope field."""
    async with (
        NatsBus.connect(nats_server.url, validators=VALIDATORS, name="a") as a,
        NatsBus.connect(nats_server.url, validators=VALIDATORS, name="b") as b,
    ):
        mailbox = b.subscribe("pinger", Ping)
        sent = Envelope.new(Ping(n=7), producer="test")
        await a.publish(sent)
        got = await take(mailbox)
        assert got == sent
        assert got.created_at == sent.created_at


async def test_subscribers_of_one_name_share_the_work(nats_server: NatsServer) -> None:
    """Two processes' consumers of one name split the messages: each is handled once."""
    total = 40
    seen: list[int] = []
    done = anyio.Event()

    async def drain(bus: NatsBus, mailbox: Mailbox) -> None:
        while True:
            envelope = await mailbox.take()
            assert isinstance(envelope.message, Ping)
            seen.append(envelope.message.n)
            await bus.commit([], acks=[Ack(envelope.message_id, "pinger")])
            if len(seen) == total:
                done.set()

    async with (
        NatsBus.connect(nats_server.url, validators=VALIDATORS, name="a") as a,
        NatsBus.connect(nats_server.url, validators=VALIDATORS, name="b") as b,
        anyio.create_task_group() as tasks,
    ):
        tasks.start_soon(drain, a, a.subscribe("pinger", Ping))
        tasks.start_soon(drain, b, b.subscribe("pinger", Ping))
        for n in range(total):
            await a.publish(Envelope.new(Ping(n=n), producer="test"))
        with anyio.fail_after(WAIT_S):
            await done.wait()
        tasks.cancel_scope.cancel()
    assert sorted(seen) == list(range(total))


async def test_an_actor_runs_unchanged_on_the_nats_bus(nats_server: NatsServer) -> None:
    """A real actor takes from its mailbox and commits its effects through NATS."""
    async with (
        NatsBus.connect(nats_server.url, validators=VALIDATORS, name="a") as bus,
        anyio.create_task_group() as tasks,
    ):
        pongs = bus.subscribe("collector", Pong)
        echo = Echo(concurrency=4)
        await tasks.start(echo.run, bus)
        for n in range(10):
            await bus.publish(Envelope.new(Ping(n=n), producer="test"))
        got = sorted([(await take(pongs)).message.n for _ in range(10)])  # type: ignore[attr-defined]
        echo.stop()
    assert got == list(range(10))
    assert echo.statistics().handled == 10


async def test_a_handler_run_twice_publishes_its_effects_once(nats_server: NatsServer) -> None:
    """Effects of a redelivered input get the same ids, and the server drops the copies."""
    async with (
        NatsBus.connect(nats_server.url, validators=VALIDATORS, name="a") as bus,
        NatsBus.connect(nats_server.url, validators=VALIDATORS, name="b") as dead,
    ):
        pings, pongs = bus.subscribe("echo", Ping), bus.subscribe("collector", Pong)
        await bus.publish(Envelope.new(Ping(n=1), producer="test"))
        ping = await take(pings)
        ack = Ack(ping.message_id, "echo")
        first = ping.child(Pong(n=1), producer="echo")
        second = ping.child(Pong(n=1), producer="echo")  # a second run: a fresh id
        # The first run's process published its effect and died before its ack reached
        # the server: a bus that holds no delivery of the input sends no ack.
        await dead.commit([first], acks=[ack])
        await bus.commit([second], acks=[ack])
        await bus.publish(Envelope.new(Pong(n=2), producer="test"))
        got = [await take(pongs), await take(pongs)]
    assert [g.message.n for g in got] == [1, 2]  # type: ignore[attr-defined]
    assert got[0].causation_id == ping.message_id


async def test_an_unacked_message_goes_to_another_process(
    nats_server: NatsServer,
) -> None:
    """A process that stops holding an unacked message hands it to the next one."""
    sent = Envelope.new(Ping(n=3), producer="test")
    async with NatsBus.connect(nats_server.url, validators=VALIDATORS, settings=QUICK) as dying:
        await dying.publish(sent)
        assert await take(dying.subscribe("pinger", Ping)) == sent
    async with NatsBus.connect(nats_server.url, validators=VALIDATORS, settings=QUICK) as heir:
        again = await take(heir.subscribe("pinger", Ping))
        await heir.commit([], acks=[Ack(again.message_id, "pinger")])
    assert again == sent


async def test_max_deliver_ends_in_a_dead_letter(nats_server: NatsServer) -> None:
    """The delivery after max_deliver becomes a structured dead letter, and stops."""
    sent = Envelope.new(Ping(n=4), producer="test")
    for _ in range(QUICK.max_deliver):
        async with NatsBus.connect(nats_server.url, validators=VALIDATORS, settings=QUICK) as b:
            await b.publish(sent)  # a duplicate after the first: dropped by the server
            assert await take(b.subscribe("pinger", Ping)) == sent
    async with NatsBus.connect(nats_server.url, validators=VALIDATORS, settings=QUICK) as bus:
        letters = bus.subscribe("dead", DeadLetter)
        pings = bus.subscribe("pinger", Ping)
        letter = await take(letters)
        with pytest.raises(anyio.WouldBlock):
            pings.take_nowait()  # the letter came from the consumer, and the message did not
    assert isinstance(letter.message, DeadLetter)
    assert letter.message.failure is FailureKind.ACTOR_CRASH
    assert letter.message.actor == "pinger"
    assert letter.message.attempts == QUICK.max_deliver
    assert Envelope.from_json(letter.message.payload) == sent
    assert letter.causation_id == sent.message_id
    assert letter.trace_id == sent.trace_id


async def test_a_hook_that_refuses_a_poison_letter_leaves_the_delivery_for_redelivery(
    nats_server: NatsServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A hook that raises on the bus's own dead letter fails that delivery, not the bus: the
    message comes back, spends one more delivery, and its letter is stored once."""
    sent = Envelope.new(Ping(n=8), producer="test")
    for _ in range(QUICK.max_deliver):
        async with NatsBus.connect(nats_server.url, validators=VALIDATORS, settings=QUICK) as b:
            await b.publish(sent)
            assert await take(b.subscribe("pinger", Ping)) == sent
    refused: list[Envelope[Message]] = []

    def refuse_first_letter(envelope: Envelope[Message]) -> None:
        if isinstance(envelope.message, DeadLetter) and not refused:
            refused.append(envelope)
            raise RuntimeError("injected fault")

    dead_subject = subject_of(DeadLetter, approved=True)
    hooks = (refuse_first_letter,)
    async with (
        NatsBus.connect(nats_server.url, validators=VALIDATORS, settings=QUICK, hooks=hooks) as bus,
        NatsBus.connect(nats_server.url, validators=VALIDATORS, name="other") as other,
    ):
        letters = other.subscribe("dead", DeadLetter)
        pings = bus.subscribe("pinger", Ping)
        letter = await take(letters)
        with anyio.fail_after(WAIT_S):  # the term follows the letter's publish
            while True:
                if not (await bus.js.consumer_info(STREAM, "pinger")).num_ack_pending:
                    break
                await anyio.sleep(0.05)
        stored = await bus.js.stream_info(STREAM, subjects_filter=dead_subject)
        after = Envelope.new(Ping(n=9), producer="test")
        await bus.publish(after)
        assert await take(pings) == after
    assert len(refused) == 1
    assert isinstance(letter.message, DeadLetter)
    assert letter.message.attempts == QUICK.max_deliver + 1
    assert stored.state.subjects == {dead_subject: 1}
    logged = [record.getMessage() for record in caplog.records if record.name.startswith("bus")]
    assert len(logged) == 1
    assert "injected fault" in logged[0]
    assert "\n" not in logged[0]


async def test_a_message_that_does_not_parse_is_a_dead_letter(nats_server: NatsServer) -> None:
    """Garbage on a subject is a dead letter with its raw text, and the next message flows."""
    async with NatsBus.connect(nats_server.url, validators=VALIDATORS) as bus:
        letters, pings = bus.subscribe("dead", DeadLetter), bus.subscribe("pinger", Ping)
        client = await nats.connect(nats_server.url)
        try:
            await client.jetstream().publish("lw.msg.test_ping", b"{not json")
        finally:
            await client.close()
        good = Envelope.new(Ping(n=5), producer="test")
        await bus.publish(good)
        letter = await take(letters)
        assert await take(pings) == good
    assert isinstance(letter.message, DeadLetter)
    assert letter.message.failure is FailureKind.SCHEMA_MISMATCH
    assert letter.message.payload == "{not json"
    assert letter.message.reason.startswith("Undecodable message on lw.msg.test_ping: ")


async def test_a_message_on_the_wrong_subject_is_a_dead_letter(nats_server: NatsServer) -> None:
    """A valid envelope that is not the type its subject declares is not delivered."""
    async with NatsBus.connect(nats_server.url, validators=VALIDATORS) as bus:
        letters, pings = bus.subscribe("dead", DeadLetter), bus.subscribe("pinger", Ping)
        pong = Envelope.new(Pong(n=6), producer="test")
        await bus.js.publish("lw.msg.test_ping", pong.to_json().encode())
        letter = await take(letters)
        with pytest.raises(anyio.WouldBlock):
            pings.take_nowait()
    assert isinstance(letter.message, DeadLetter)
    assert "arrived on 'lw.msg.test_ping', not on 'lw.msg.test_pong'" in letter.message.reason


async def test_only_the_validator_subscribes_unvalidated_or_publishes_approved(
    nats_server: NatsServer,
) -> None:
    """The bus refuses the validator-first breaches in-process, as the server does across."""
    async with NatsBus.connect(nats_server.url, validators=VALIDATORS) as bus:
        with pytest.raises(UsageError, match="Only the validator of Score"):
            bus.subscribe("writer", Score, unvalidated=True)
        forged = Envelope(message=Score(value=5), producer="writer", trace_id="t", approved=True)
        with pytest.raises(UsageError, match=r"may publish it approved, not 'writer'"):
            await bus.publish(forged)
        unvalidated = bus.subscribe("checker", Score, unvalidated=True)
        approved = bus.subscribe("consumer", Score)
        raw = Envelope.new(Score(value=9), producer="scorer")
        await bus.publish(raw)
        assert await take(unvalidated) == raw
        ok = raw.child(raw.message, producer="checker", approved=True)
        await bus.publish(ok)
        assert await take(approved) == ok
        with pytest.raises(anyio.WouldBlock):
            approved.take_nowait()


async def test_a_server_restarted_on_its_store_loses_nothing(nats_server: NatsServer) -> None:
    """Messages stored before a restart, and published after it, all arrive, each once."""
    async with NatsBus.connect(nats_server.url, validators=VALIDATORS) as bus:
        pings = bus.subscribe("pinger", Ping)
        for n in range(10):
            await bus.publish(Envelope.new(Ping(n=n), producer="test"))
        seen = []
        for _ in range(5):
            envelope = await take(pings)
            seen.append(envelope)
            await bus.commit([], acks=[Ack(envelope.message_id, "pinger")])
        nats_server.stop()
        nats_server.start()
        after = Envelope.new(Ping(n=10), producer="test")
        with anyio.fail_after(WAIT_S):
            while True:
                try:
                    await bus.publish(after)  # the same id each time: stored once
                    break
                except (nats.errors.Error, TimeoutError):
                    await anyio.sleep(0.1)  # still reconnecting
        while len(seen) < 11:
            envelope = await take(pings)
            seen.append(envelope)
            await bus.commit([], acks=[Ack(envelope.message_id, "pinger")])
        with pytest.raises(anyio.WouldBlock):
            pings.take_nowait()
    numbers = [e.message.n for e in seen]  # type: ignore[attr-defined]
    assert sorted(numbers) == list(range(11))


async def test_a_message_held_past_ack_wait_stays_with_its_process(
    nats_server: NatsServer,
) -> None:
    """in_progress() keeps a long handler's message from going to another process."""
    async with (
        NatsBus.connect(nats_server.url, validators=VALIDATORS, settings=QUICK, name="a") as a,
        NatsBus.connect(nats_server.url, validators=VALIDATORS, settings=QUICK, name="b") as b,
    ):
        held = Envelope.new(Ping(n=0), producer="test")
        await a.publish(held)
        assert await take(a.subscribe("pinger", Ping)) == held
        others = b.subscribe("pinger", Ping)
        # a tells the server three times per ack_wait that it still holds the message:
        # nine notices span three ack_waits, in which b asks for the consumer's messages.
        with anyio.fail_after(WAIT_S + 3 * QUICK.ack_wait):
            while True:
                if a.statistics().kept_alive >= 9:
                    break
                await anyio.sleep(0.05)
        with pytest.raises(anyio.WouldBlock):
            others.take_nowait()
        info = await a.js.consumer_info("LEADWRIGHT", "pinger")
        await a.commit([], acks=[Ack(held.message_id, "pinger")])
    assert info.num_redelivered == 0
    assert info.num_ack_pending == 1


async def test_hooks_see_what_the_process_publishes_and_can_stop_it(
    nats_server: NatsServer,
) -> None:
    """Publish hooks see each envelope before the server does; one that raises sends nothing."""
    seen: list[Envelope[Message]] = []
    refuse = {"n": -1}

    def tap(envelope: Envelope[Message]) -> None:
        seen.append(envelope)

    def fault(envelope: Envelope[Message]) -> None:
        if isinstance(envelope.message, Ping) and envelope.message.n == refuse["n"]:
            raise RuntimeError("injected fault")

    async with NatsBus.connect(nats_server.url, validators=VALIDATORS, hooks=(tap, fault)) as bus:
        pings = bus.subscribe("pinger", Ping)
        refuse["n"] = 1
        with pytest.raises(RuntimeError, match="injected fault"):
            await bus.publish(Envelope.new(Ping(n=1), producer="test"))
        sent = Envelope.new(Ping(n=2), producer="test")
        await bus.publish(sent)
        assert await take(pings) == sent
        with pytest.raises(anyio.WouldBlock):
            pings.take_nowait()  # the refused one never reached the server
    assert [e.message.n for e in seen] == [1, 2]  # type: ignore[attr-defined]
    assert bus.statistics().published == 1


def test_the_in_process_bus_refuses_to_defer() -> None:
    """In one process a rate limit waits in the caller: the in-process bus says so."""
    bus = InProcessBus(validators=VALIDATORS)
    with pytest.raises(UsageError) as refused:
        bus.defer(Ack("m1", "pinger"), 2.0)
    assert str(refused.value) == (
        "The in-process bus cannot defer m1 for 2 s; build the LlmCaller without "
        "defer_rate_limits, so that a rate limit waits in the caller"
    )


async def test_a_message_no_process_takes_is_a_dead_letter(nats_server: NatsServer) -> None:
    """With a routing table, a type that no process takes is published as an unrouted dead
    letter, as on the in-process bus; a type another process takes goes to its stream."""
    async with (
        NatsBus.connect(nats_server.url, validators=VALIDATORS, routes={Pong}) as bus,
        NatsBus.connect(nats_server.url, validators=VALIDATORS, name="other") as other,
    ):
        letters = other.subscribe("dead", DeadLetter)
        with pytest.raises(UnroutedMessage, match="No subscriber for Ping from 'test'"):
            await bus.publish(Envelope.new(Ping(n=0), producer="test"))  # nor dead letters
        bus.subscribe("graveyard", DeadLetter)  # this process takes dead letters now
        pongs = other.subscribe("collector", Pong)
        ping = Envelope.new(Ping(n=1), producer="test")
        await bus.publish(ping)
        pong = Envelope.new(Pong(n=2), producer="test")
        await bus.publish(pong)  # in the routes: taken by another process
        letter = await take(letters)
        assert await take(pongs) == pong
    assert isinstance(letter.message, DeadLetter)
    assert letter.message.failure is FailureKind.UNROUTED
    assert letter.message.reason == "No subscriber for Ping"
    assert Envelope.from_json(letter.message.payload) == ping
    assert letter.causation_id == ping.message_id
    assert bus.statistics().unrouted == 2
