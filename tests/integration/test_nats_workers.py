"""``run.py worker`` processes sharing one NATS server: nothing lost, nothing twice."""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import anyio
import nats.js.errors
import pytest

from bus import Ack, Mailbox, NatsBus, NatsServer
from messages import (
    DeadLetter,
    Envelope,
    FailureKind,
    HumanReviewRequested,
    LeadAccepted,
    LeadScore,
    Message,
    OutreachDraft,
    RunHalted,
    UsageError,
)
from supervision.system import VALIDATORS, Role, parse_roles
from tests.support.nats import Workers, leads, passwords, running_workers, worker_command
from tests.support.paths import ROOT

pytestmark = pytest.mark.anyio


TERMINALS: tuple[type[Message], ...] = (
    LeadScore,
    OutreachDraft,
    HumanReviewRequested,
    DeadLetter,
    RunHalted,
)
"""What the workers produce that the stateful side takes (CRM, review, dead letters)."""
RUN_S = 120.0
"""The longest the workers may take for the whole batch; reaching it fails the test."""
LATENCY_MS = 30
"""The offline LLM's latency in the workers."""


def llm_calls(workers: Workers, index: int) -> int:
    """The LLM calls worker ``index`` logged, killed or not."""
    return sum(1 for event in workers.events(index) if event["event"] == "llm_call")


def is_terminal(envelope: Envelope[Message]) -> bool:
    """Whether ``envelope`` ends its lead's stage work (a scored lead that fits does not,
    nor one with doubts: it is drafted for a person to decide on)."""
    message = envelope.message
    return not (isinstance(message, LeadScore) and (not message.disqualified or message.to_inbox))


def test_roles_are_checked_and_put_in_pipeline_order() -> None:
    """--roles takes known names in any order, and names the unknown ones."""
    assert parse_roles("validator, research") == (Role.RESEARCH, Role.VALIDATOR)
    with pytest.raises(UsageError) as refused:
        parse_roles("research,crm")
    assert str(refused.value) == (
        "--roles 'research,crm' names no role or an unknown one (crm); "
        "use a comma-separated list of research, scoring, writer, validator"
    )


@pytest.fixture
def workers(nats_server: NatsServer, tmp_path: Path) -> Iterator[Workers]:
    """Three workers on the test's server, killed at the end if still running."""
    with running_workers(nats_server.url, 3, tmp_path / "logs", latency_ms=LATENCY_MS) as running:
        yield running


SENTINEL = "end-of-test"


async def ready(bus: NatsBus, count: int) -> None:
    """Return once ``count`` workers each have a pull request open on research's consumer."""
    with anyio.fail_after(RUN_S):
        while True:
            try:
                info = await bus.js.consumer_info("LEADWRIGHT", "research")
            except nats.js.errors.NotFoundError:
                info = None  # no worker has made it yet
            if info is not None and (info.num_waiting or 0) >= count:
                return
            await anyio.sleep(0.05)


@pytest.mark.slow
async def test_every_lead_ends_once_though_a_worker_is_killed(
    nats_server: NatsServer, workers: Workers
) -> None:
    """kill -9 of one worker, then another: each lead still ends exactly once.

    Every worker did some of the work, the two killed ones included.
    """
    batch = leads(120)
    counts: Counter[str] = Counter()
    fifth, half, everyone = anyio.Event(), anyio.Event(), anyio.Event()

    async def collect(bus: NatsBus, mailbox: Mailbox) -> None:
        """Count terminal messages per lead, acking each, until the sentinel comes."""
        while True:
            envelope = await mailbox.take()
            await bus.commit([], acks=[Ack(envelope.message_id, "collector")])
            if envelope.trace_id == SENTINEL:
                return
            if is_terminal(envelope):
                counts[envelope.trace_id] += 1
            if len(counts) >= len(batch) // 5:
                fifth.set()
            if len(counts) >= len(batch) // 2:
                half.set()
            if len(counts) == len(batch):
                everyone.set()

    async with (
        NatsBus.connect(nats_server.url, validators=VALIDATORS, name="serve") as bus,
        anyio.create_task_group() as tasks,
    ):
        mailbox = bus.open_mailbox("collector", capacity=256)
        for message_type in TERMINALS:
            bus.subscribe("collector", message_type)
        tasks.start_soon(collect, bus, mailbox)
        await ready(bus, len(workers.processes))
        for lead in batch:
            accepted = LeadAccepted(lead=lead)
            await bus.publish(Envelope.new(accepted, producer="intake", trace_id=lead.lead_id))
        with anyio.fail_after(RUN_S):
            await fifth.wait()
        workers.kill(0)
        with anyio.fail_after(RUN_S):
            await half.wait()
        workers.kill(1)
        with anyio.fail_after(RUN_S):
            await everyone.wait()
        summaries = await anyio.to_thread.run_sync(workers.stop)
        # Whatever the workers published before they stopped is ahead of this in the stream.
        end = RunHalted(failure=FailureKind.ACTOR_CRASH, reason="the test is over")
        await bus.publish(Envelope.new(end, producer="test", trace_id=SENTINEL))
    assert set(counts) == {lead.lead_id for lead in batch}
    assert [trace for trace, n in counts.items() if n != 1] == []
    assert summaries[:2] == [None, None]
    survivor = summaries[2]
    assert survivor is not None
    assert survivor["llm_calls"] == llm_calls(workers, 2)
    assert all(llm_calls(workers, n) > 0 for n in range(3))


@pytest.mark.slow
async def test_a_worker_runs_every_role_under_the_deployment_permissions(
    secured: NatsServer, tmp_path: Path
) -> None:
    """With deploy/nats-server.conf, each role's own user can do all its stage needs."""
    batch = leads(12)
    ended: set[str] = set()
    serve = passwords()["LEADWRIGHT_NATS_SERVE_PASSWORD"]
    async with NatsBus.connect(
        secured.url, validators=VALIDATORS, name="serve", user="serve", password=serve
    ) as bus:
        mailbox = bus.open_mailbox("collector")
        for message_type in TERMINALS:
            bus.subscribe("collector", message_type)
        for lead in batch:
            accepted = LeadAccepted(lead=lead)
            await bus.publish(Envelope.new(accepted, producer="intake", trace_id=lead.lead_id))
        logs = tmp_path / "logs"
        with running_workers(
            secured.url, 1, logs, latency_ms=LATENCY_MS, env=passwords()
        ) as worker:
            with anyio.fail_after(RUN_S):
                while len(ended) < len(batch):
                    envelope = await mailbox.take()
                    await bus.commit([], acks=[Ack(envelope.message_id, "collector")])
                    if is_terminal(envelope):
                        ended.add(envelope.trace_id)
            (summary,) = await anyio.to_thread.run_sync(worker.stop)
    assert ended == {lead.lead_id for lead in batch}
    assert summary is not None
    assert summary["roles"] == ["research", "scoring", "writer", "validator"]


@pytest.mark.slow
def test_a_worker_refused_by_the_server_says_so_in_one_line(secured: NatsServer) -> None:
    """A wrong password is one line on stderr and exit code 1, not a traceback or a hang."""
    env = {**os.environ, **passwords(), "LEADWRIGHT_NATS_VALIDATOR_PASSWORD": "wrong"}
    command = worker_command(secured.url, "--roles", "validator")
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=60)
    assert done.returncode == 1
    # The server answers a bad password with an authorization violation or by resetting
    # the connection, depending on timing; either way, one line that names the fix.
    [line] = done.stderr.decode().splitlines()
    assert line.startswith(f"error: Cannot connect to NATS at {secured.url} (")
    assert line.endswith("); start nats-server there, or fix --bus and the credentials")
