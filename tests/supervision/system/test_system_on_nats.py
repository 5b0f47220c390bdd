"""The system on a shared NATS bus, in one test process: its hooks, its stage workers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import nats
import pytest

from actors import Icp, KnowledgeBase, LlmCaller, null_log
from actors.llm import OpenAiLlm
from actors.llm.testing import FakeOpenAI, OfflineModel, Response, rate_limited
from bus import NatsServer, NatsSettings
from messages import Envelope, FailureKind, LeadAccepted, LeadSubmitted, Message
from supervision.system import Credentials, Role, WorkerParts, open_system, run_worker
from tests.support.messages import Ping
from tests.support.nats import WAIT_S
from tests.support.paths import EXAMPLES
from tests.support.pipeline import offline_config
from tests.support.serving import sample_leads

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


ICP = Icp.load(EXAMPLES / "icp.toml")
KB = KnowledgeBase.load(EXAMPLES / "companies.json")


async def test_the_system_on_nats_shows_its_hooks_what_it_publishes(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """config.hooks see what the stateful side publishes on NATS, as on the in-process bus."""
    seen: list[Envelope[Message]] = []
    accepted = anyio.Event()

    def tap(envelope: Envelope[Message]) -> None:
        seen.append(envelope)
        if isinstance(envelope.message, LeadAccepted):
            accepted.set()

    config = replace(offline_config(tmp_path / "run"), bus=nats_server.url, hooks=(tap,))
    [lead] = sample_leads(1)
    async with open_system(config) as system:
        input_id = await system.open_input("test")
        await system.submit(input_id, [(1, lead)])
        with anyio.fail_after(WAIT_S):
            await accepted.wait()
        system.stop_within(0)  # the stages are not running: stop at once
    kinds = [type(e.message) for e in seen if e.trace_id == lead["id"]]
    assert kinds[:2] == [LeadSubmitted, LeadAccepted]


RATE_LIMITED = 6
"""429s the provider answers before it answers anything else."""


def no_login(role: Role) -> Credentials:
    return Credentials(user=role.value, password=None)


async def rate_limits_counted(url: str) -> dict[str, int]:
    """The LW_DEFERRALS bucket: rate limits per consumer, stream and sequence."""
    client = await nats.connect(url)
    try:
        bucket = await client.jetstream().key_value("LW_DEFERRALS")
        counted = {}
        for key in await bucket.keys():
            entry = await bucket.get(key)
            counted[key] = int(entry.value or b"0")
        return counted
    finally:
        await client.close()


async def test_a_rate_limited_worker_hands_its_message_back_for_free(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """A worker's 429s nak the message with the advised delay, many times over a budget of
    one delivery (max_deliver=1): the lead still ends, on its first attempt at every stage,
    with no dead letter, and the bus counted each rate limit against the delivery."""
    model = OfflineModel()

    def script(body: Mapping[str, Any], number: int) -> Response:
        if number <= RATE_LIMITED:
            return rate_limited(retry_after=0.2)
        return model(body, number)

    settings = NatsSettings(ack_wait=5.0, max_deliver=1, duplicate_window=60.0)
    config = replace(offline_config(tmp_path / "run"), bus=nats_server.url, nats=settings)
    [lead] = sample_leads(1)
    with FakeOpenAI(script) as provider:
        async with OpenAiLlm(model="gpt-4o-mini", base_url=provider.url, api_key="sk-t") as llm:
            caller = LlmCaller(llm, limit=4, defer_rate_limits=True)
            parts = WorkerParts(
                caller=caller, icp=ICP, source=KB, handlers=4, log=null_log(), timeout=10.0
            )
            worker = partial(
                run_worker,
                nats_server.url,
                tuple(Role),
                parts,
                credentials=no_login,
                settings=settings,
                handle_signals=False,
            )
            async with open_system(config) as system, anyio.create_task_group() as workers:
                await workers.start(worker)
                input_id = await system.open_input("test")
                await system.submit(input_id, [(1, lead)])
                with anyio.fail_after(WAIT_S * 3):
                    await system.wait_finished()
                outcome = system.stores.ledger.outcome_of(1)
                letters = system.stores.dead.items()
                workers.cancel_scope.cancel()
        answered = [r for r in provider.requests if r.number > RATE_LIMITED]
    assert outcome in ("completed", "disqualified"), outcome
    assert letters == []
    assert caller.stats.rate_limited == RATE_LIMITED
    # One answer per stage: the rate limits spent none of the stage's attempts.
    assert len(answered) == (3 if outcome == "completed" else 2)
    # Every rate limit was counted against the research delivery (a redelivery that came
    # before the pause was over would be handed back again, and counted too).
    [(key, counted)] = (await rate_limits_counted(nats_server.url)).items()
    assert key.startswith("research.LEADWRIGHT.")
    assert counted >= RATE_LIMITED


async def test_serve_on_nats_dead_letters_what_no_process_takes(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """A message that no actor of the system takes, in any process, ends in serve's dead
    letters as unrouted, rather than waiting in its stream for ever."""
    config = replace(offline_config(tmp_path / "run"), bus=nats_server.url)
    ping = Envelope.new(Ping(n=1), producer="test")
    async with open_system(config) as system:
        await system.bus.publish(ping)
        with anyio.fail_after(WAIT_S):
            while True:  # the store has no event to wait on
                letters = system.stores.dead.items()
                if letters:
                    break
                await anyio.sleep(0.05)
    [item] = letters
    assert item.failure == FailureKind.UNROUTED.value
    assert item.reason == "No subscriber for Ping"
    assert Envelope.from_json(item.payload) == ping
