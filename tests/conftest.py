"""Fixtures every folder shares: the asyncio backend, no real backoff waits, buses that close
themselves, a fake clock, a live system on a temporary run directory, and a real NATS
server. A folder's own fixtures live in its ``conftest.py``; plain helpers that several
folders share live in ``tests/support``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path

import pytest
import stamina
from hypothesis import settings

from actors import Icp, KnowledgeBase
from actors.llm import OfflineLlm
from bus import FakeClock, InProcessBus, NatsServer, Unrouted
from messages import Message
from supervision.system import PipelineConfig, System, open_system
from tests.support.nats import CONFIG, passwords
from tests.support.paths import EXAMPLES

# Tests pin behaviour, not speed: a slow machine must not fail an example on time.
settings.register_profile("leadwright", deadline=None)
# CI (.ci/run) draws the same examples on every run, so that a build never fails on a
# case no one can reproduce; a developer's run draws new ones, and finds new cases.
settings.register_profile("ci", deadline=None, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "leadwright"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def no_backoff_waits() -> Iterator[None]:
    """Keep every retry the policy table allows, without stamina's real backoff sleeps."""
    with stamina.set_testing(True, attempts=10, cap=True):
        yield


BusFactory = Callable[..., InProcessBus]


@pytest.fixture
async def make_bus() -> AsyncIterator[BusFactory]:
    """Build buses for one test, and close them all when it ends."""
    buses: list[InProcessBus] = []

    def make(
        *,
        validators: Mapping[type[Message], str] | None = None,
        unrouted: Unrouted = Unrouted.RAISE,
        default_capacity: int = 8,
    ) -> InProcessBus:
        bus = InProcessBus(
            validators=validators, unrouted=unrouted, default_capacity=default_capacity
        )
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        await bus.aclose()


@pytest.fixture
async def bus(make_bus: BusFactory) -> InProcessBus:
    """A bus that raises on unrouted messages, with mailboxes of 8."""
    return make_bus()


@pytest.fixture
def clock() -> FakeClock:
    """Virtual time, moved only by the test."""
    return FakeClock()


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[System]:
    """The live system on ``tmp_path``: the offline engine with no imperfections, the
    sample ICP and knowledge base."""
    config = PipelineConfig(
        out=tmp_path,
        gateway=OfflineLlm(seed=0, imperfection_rate=0.0),
        icp=Icp.load(EXAMPLES / "icp.toml"),
        source=KnowledgeBase.load(EXAMPLES / "companies.json"),
    )
    async with open_system(config) as running:
        yield running


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """``nats-server -js`` on a free port of 127.0.0.1, with a store of its own."""
    server = NatsServer(tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[NatsServer]:
    """nats-server with the deployment config (deploy/nats-server.conf), every role set."""
    server = NatsServer(tmp_path / "nats", config=CONFIG, env=passwords()).start()
    try:
        yield server
    finally:
        server.stop()
