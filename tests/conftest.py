"""Shared fixtures: the asyncio backend, buses that close themselves, a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping

import pytest
import stamina
from hypothesis import settings

from bus import FakeClock, InProcessBus, Unrouted
from messages import Message

# Tests pin behaviour, not speed: a slow machine must not fail an example on time.
settings.register_profile("leadwright", deadline=None)
settings.load_profile("leadwright")


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
