"""deploy/nats-server.conf: the server itself keeps validator-first between processes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import nats
import nats.errors
import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig

from bus import Ack, NatsBus, NatsServer
from bus._nats_wire import UNVALIDATED_STREAM
from messages import Envelope, Message
from tests.support.messages import Ping, Score
from tests.support.nats import WAIT_S, password, take

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


REFUSED_S = 1.0
"""How long a request the server drops is given before it counts as refused."""


def role_bus(
    server: NatsServer, role: str, validators: dict[type[Message], str]
) -> AbstractAsyncContextManager[NatsBus]:
    """A bus logged in as ``role`` under the deployment config."""
    return NatsBus.connect(
        server.url, validators=validators, user=role, password=password(role), name=role
    )


@asynccontextmanager
async def connected(server: NatsServer, role: str) -> AsyncIterator[tuple[Client, list[str]]]:
    """A raw client logged in as ``role``, and the errors the server sends it."""
    errors: list[str] = []

    async def note(error: Exception) -> None:
        errors.append(str(error))

    client = await nats.connect(
        server.url,
        user=role,
        password=password(role),
        inbox_prefix=f"_INBOX_{role}",
        error_cb=note,
        max_reconnect_attempts=0,
    )
    try:
        yield client, errors
    finally:
        await client.close()


async def test_a_scoring_client_cannot_read_unvalidated_research(secured: NatsServer) -> None:
    """The server refuses scoring every way to unvalidated research that validator uses."""
    validators: dict[type[Message], str] = {Score: "validator"}
    async with (
        role_bus(secured, "serve", validators),
        connected(secured, "research") as (research, _),
        connected(secured, "validator") as (validator, _),
        connected(secured, "scoring") as (scoring, refusals),
    ):
        await research.jetstream().publish("lw.unvalidated.research_result", b"raw research")
        durable = ConsumerConfig(durable_name="validator")
        await validator.jetstream().add_consumer(UNVALIDATED_STREAM, durable)
        js = scoring.jetstream(timeout=REFUSED_S)
        with pytest.raises(nats.errors.TimeoutError):
            await js.add_consumer(UNVALIDATED_STREAM, ConsumerConfig(durable_name="snoop"))
        with pytest.raises(nats.errors.TimeoutError):
            await js.consumer_info(UNVALIDATED_STREAM, "validator")
        pull = await js.pull_subscribe_bind(durable="validator", stream=UNVALIDATED_STREAM)
        with pytest.raises(nats.errors.TimeoutError):
            await pull.fetch(1, timeout=REFUSED_S)
        with pytest.raises(nats.errors.TimeoutError):
            await js.publish("lw.approved.research_result", b"forged approval")
        live = await scoring.subscribe("lw.unvalidated.>")
        await scoring.flush()
        # What scoring may do, it can: its own consumer on the approved stream.
        await js.add_consumer("LEADWRIGHT", ConsumerConfig(durable_name="scoring"))
        # The validator reads the message that scoring could not.
        own = await validator.jetstream().pull_subscribe_bind(
            durable="validator", stream=UNVALIDATED_STREAM
        )
        (msg,) = await own.fetch(1, timeout=WAIT_S)
        await msg.ack()
        await live.unsubscribe()
    assert msg.data == b"raw research"
    # nats-py reports the server's -ERR in lower case.
    assert refusals == [
        f'nats: permissions violation for {action} "{subject}"'
        for action, subject in [
            ("publish to", "$js.api.consumer.durable.create.unvalidated.snoop"),
            ("publish to", "$js.api.consumer.info.unvalidated.validator"),
            ("publish to", "$js.api.consumer.msg.next.unvalidated.validator"),
            ("publish to", "lw.approved.research_result"),
            ("subscription to", "lw.unvalidated.>"),
        ]
    ]


async def test_a_role_counts_its_own_rate_limits_and_no_other_roles(
    secured: NatsServer,
) -> None:
    """Under the deployment config, research's bus records the rate limit of a delivery it
    hands back in LW_DEFERRALS, and the server refuses it another role's keys."""
    validators: dict[type[Message], str] = {Score: "validator"}
    async with (
        role_bus(secured, "serve", validators) as serve,
        role_bus(secured, "research", validators) as research,
        connected(secured, "research") as (raw, refusals),
    ):
        pings = research.subscribe("research", Ping)
        sent = Envelope.new(Ping(n=1), producer="test")
        await serve.publish(sent)  # the first message of the stream: sequence 1
        first = await take(pings)
        research.defer(Ack(first.message_id, "research"), 0.1)
        again = await take(pings)
        await research.commit([], acks=[Ack(again.message_id, "research")])
        bucket = await raw.jetstream(timeout=REFUSED_S).key_value("LW_DEFERRALS")
        entry = await bucket.get("research.LEADWRIGHT.1")
        with pytest.raises(nats.errors.TimeoutError):
            await bucket.put("scoring.LEADWRIGHT.1", b"9")
    assert first == again == sent
    assert research.statistics().deferred == 1
    assert entry.value == b"1"
    assert refusals == [
        'nats: permissions violation for publish to "$kv.lw_deferrals.scoring.leadwright.1"'
    ]
