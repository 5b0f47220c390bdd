"""Fixtures every folder shares: the asyncio backend, no real backoff waits nor long chaos
pauses, buses that close themselves, a fake clock, a live system on a temporary run
directory, a real NATS server, an OTLP collector and a webhook receiver.

A folder's own fixtures live in its ``conftest.py``; plain helpers that several folders
share (real servers to start with arguments, message types, builders) live in
``tests/support``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path

import pytest
import stamina
from hypothesis import settings

from actors.llm import _chaos as chaos_module
from bus import FakeClock, InProcessBus, NatsServer, Unrouted
from messages import Message
from supervision.system import System, open_system
from tests.support.nats import CONFIG, passwords
from tests.support.otlp import Collector, collecting
from tests.support.pipeline import offline_config
from tests.support.receiver import Receiver, receiving

# Tests pin behaviour, not speed: a slow machine must not fail an example on time.
settings.register_profile("leadwright", deadline=None)
# CI (.ci/run) draws the same examples on every run, so that a build never fails on a
# case no one can reproduce; a developer's run draws new ones, and finds new cases.
settings.register_profile("ci", deadline=None, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "leadwright"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session", autouse=True)
def no_backoff_waits() -> Iterator[None]:
    """Keep every retry the policy table allows, without stamina's real backoff sleeps:
    for the whole session, so that module fixtures (a chaotic run) do not sleep either."""
    with stamina.set_testing(True, attempts=10, cap=True):
        yield


@pytest.fixture(scope="session", autouse=True)
def short_chaos_pauses() -> Iterator[None]:
    """Chaos's injected rate limits advise pauses of milliseconds, not tenths of seconds:
    the rate gate still honours each one, but a chaotic run in a fixture does not spend
    seconds of real time waiting them out."""
    advised = chaos_module.ADVISED_PAUSE_S
    chaos_module.ADVISED_PAUSE_S = (0.001, 0.005)
    yield
    chaos_module.ADVISED_PAUSE_S = advised


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
    config = offline_config(tmp_path, seed=0, imperfection_rate=0.0)
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


@pytest.fixture
def collector() -> Iterator[Collector]:
    """An OTLP/HTTP receiver on 127.0.0.1 that keeps the spans and metrics sent to it."""
    with collecting() as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 that answers every request 204 and keeps it."""
    with receiving() as running:
        yield running
