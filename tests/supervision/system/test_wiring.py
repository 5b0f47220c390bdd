"""The wiring of the pipeline (``supervision/system/_wiring.py``): which actors run under
the supervisor and in what order, the bus they share, and the routing table that
processes on a shared bus agree on."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from actors import (
    DEFAULT_PROMPTS,
    CircuitBreaker,
    Icp,
    KnowledgeBase,
    LlmCaller,
    MetricsBook,
    RetrySchedule,
    null_log,
)
from actors.drift import ProfileBuilder
from actors.llm import OfflineLlm
from actors.webhooks import SecretFiles, Webhooks
from bus import InProcessBus, Unrouted
from messages import DeadLetter, Envelope, FailureKind, ProfileFlush, registry
from supervision.system import OPERATOR, VALIDATOR, Stores, open_system, routes
from supervision.system._wiring import SystemParts, build_bus, build_supervisor
from tests.support.paths import EXAMPLES
from tests.support.pipeline import offline_config

pytestmark = pytest.mark.anyio

STATEFUL = ["runcontrol", "outcomeledger", "metrics", "driftmonitor", "deadletters"]
STATEFUL += ["reviewqueue", "crm"]
STAGES = ["validator", "writer", "scoring", "research"]


@pytest.fixture
def parts(tmp_path: Path, stores: Stores) -> SystemParts:
    """What the actors of a run directory on ``tmp_path`` are built from, no webhooks."""
    return SystemParts(
        out=tmp_path,
        caller=LlmCaller(OfflineLlm(seed=0)),
        icp=Icp.load(EXAMPLES / "icp.toml"),
        source=KnowledgeBase.load(EXAMPLES / "companies.json"),
        prompts=DEFAULT_PROMPTS,
        crm=stores.crm,
        ledger=stores.ledger,
        review=stores.review,
        dead=stores.dead,
        book=MetricsBook(),
        profile=ProfileBuilder(),
        baseline=None,
        baseline_name="",
        on_outcome=lambda outcome, first: None,
        on_notice=lambda notice: None,
        on_window=lambda report: None,
        breaker=CircuitBreaker(),
        handlers=4,
        log=null_log(),
        timeout=30.0,
        ops_retry=RetrySchedule(),
    )


async def children(parts: SystemParts, *, stages: bool = True) -> list[str]:
    """The supervisor's children, in start order, once they all run."""
    bus = build_bus(8, (), None)
    supervisor = build_supervisor(bus, parts, stages=stages)
    try:
        async with anyio.create_task_group() as group:
            await group.start(supervisor.run)
            running = supervisor.statistics().children
            supervisor.stop()
    finally:
        await bus.aclose()
    assert all(child.running for child in running)
    return [child.name for child in running]


async def test_consumers_start_first_so_that_a_stop_drains_intake_first(parts: SystemParts) -> None:
    """The stateful actors, then the validator and the stages, then intake: a supervisor
    stops its children in reverse, so intake stops taking leads before anyone else."""
    assert await children(parts) == [*STATEFUL, *STAGES, "intake"]


async def test_without_stages_the_validator_and_the_llm_stages_are_left_to_workers(
    parts: SystemParts,
) -> None:
    """``stages=False`` (``serve --bus``) runs no validator, research, scoring or writer."""
    assert await children(parts, stages=False) == [*STATEFUL, "intake"]


async def test_webhook_delivery_starts_first_so_that_it_stops_last(
    parts: SystemParts, stores: Stores, tmp_path: Path
) -> None:
    """The webhook sender delivers what the other actors' last outcomes queued."""
    webhooks = Webhooks(stores.webhooks, SecretFiles(tmp_path))
    assert await children(replace(parts, webhooks=webhooks)) == [
        "webhooks",
        *STATEFUL,
        *STAGES,
        "intake",
    ]


async def test_the_bus_sends_every_probabilistic_output_to_the_validator_first() -> None:
    """Each message type the contracts mark probabilistic is judged by the validator, and
    a message no one takes becomes a dead letter rather than an error."""
    bus = build_bus(8, (), None)
    try:
        probabilistic = {
            kind
            for kind in registry
            if kind.probabilistic and kind.__module__.startswith("messages")
        }
        assert bus.validators == dict.fromkeys(probabilistic, VALIDATOR)
        assert bus.unrouted is Unrouted.DEAD_LETTER
        dead = bus.subscribe("dead", DeadLetter)
        await bus.publish(Envelope.new(ProfileFlush(), producer=OPERATOR))
        letter = dead.take_nowait().message
        assert isinstance(letter, DeadLetter)
        assert (letter.failure, letter.actor) == (FailureKind.UNROUTED, "bus")
        assert '"profile_flush"' in letter.payload
    finally:
        await bus.aclose()


async def test_the_routing_table_is_what_the_one_process_system_subscribes(
    tmp_path: Path,
) -> None:
    """routes() names exactly the types the actors of the in-process system take."""
    async with open_system(offline_config(tmp_path / "run"), admit=False) as system:
        local = system.bus
        assert isinstance(local, InProcessBus)
        taken = set(local._routes)
    assert taken == routes()
