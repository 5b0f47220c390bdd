"""Clocks: virtual time that tests move by hand, and the real monotonic clock."""

from __future__ import annotations

import anyio
import pytest

from bus import Clock, FakeClock, SystemClock
from messages import UsageError
from tests.support.children import settle

pytestmark = pytest.mark.anyio


async def test_sleepers_wake_only_when_time_reaches_them(clock: FakeClock) -> None:
    """A sleeper on the fake clock wakes when ``advance`` reaches its deadline, not before."""
    woke: list[float] = []

    async def sleep(seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(seconds)

    async with anyio.create_task_group() as tg:
        for seconds in (3.0, 1.0, 2.0):
            tg.start_soon(sleep, seconds)
        await settle()
        assert (clock.sleeping, clock.next_deadline()) == (3, 1.0)
        clock.advance(0.5)
        await settle()
        assert woke == []
        clock.advance(1.5)
        await settle()
        assert woke == [1.0, 2.0]
        assert clock.next_deadline() == 3.0
        clock.advance(1.0)
    assert woke == [1.0, 2.0, 3.0]
    assert clock.now() == 3.0
    assert clock.next_deadline() is None
    assert sorted(clock.requested) == [1.0, 2.0, 3.0]


async def test_sleeping_for_nothing_returns_at_once(clock: FakeClock) -> None:
    """A sleep of zero or less returns without ``advance``, and is still recorded."""
    await clock.sleep(0.0)
    await clock.sleep(-1.0)
    assert clock.requested == [0.0, -1.0]
    assert clock.sleeping == 0


async def test_a_cancelled_sleeper_is_forgotten(clock: FakeClock) -> None:
    """Cancelling a sleep removes it, so it neither counts nor wakes later."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(clock.sleep, 5.0)
        tg.start_soon(clock.sleep, 7.0)
        await settle()
        assert clock.sleeping == 2
        tg.cancel_scope.cancel()
    assert clock.sleeping == 0
    assert clock.next_deadline() is None
    clock.advance(10.0)


def test_time_starts_where_asked_and_only_moves_forward() -> None:
    """The fake clock starts at ``start``, and moving it backwards is refused."""
    clock = FakeClock(start=100.0)
    assert clock.now() == 100.0
    with pytest.raises(UsageError) as caught:
        clock.advance(-1.0)
    assert str(caught.value) == "seconds=-1.0 must be >= 0; time only moves forward"
    assert clock.now() == 100.0


async def test_the_system_clock_is_monotonic() -> None:
    """The real clock never goes back, and a zero sleep returns."""
    clock: Clock = SystemClock()
    first = clock.now()
    await clock.sleep(0)
    assert clock.now() >= first


def test_both_clocks_implement_the_protocol() -> None:
    """The fake clock is a real implementation of the same ``Clock`` protocol."""
    clocks: list[Clock] = [FakeClock(), SystemClock()]
    assert all(isinstance(c.now(), float) for c in clocks)
