"""Supervision, one test per OTP behaviour: strategies, restart types, intensity, shutdown."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence

import anyio
import pytest
from anyio import TASK_STATUS_IGNORED
from anyio.abc import TaskStatus

from actors import Actor, Context
from bus import FakeClock, InProcessBus
from messages import Envelope, RestartIntensityExceeded, UsageError
from supervision import (
    Backoff,
    ChildExited,
    ChildKilled,
    ChildRestarted,
    ChildSpec,
    Escalated,
    Restart,
    Strategy,
    Supervisor,
    SupervisorEvent,
    SupervisorState,
    actor_child,
)
from tests.support.children import Workers, settle
from tests.support.messages import Ping

pytestmark = pytest.mark.anyio

NO_DELAY = Backoff(base=0.0, maximum=0.0)


class Run:
    """Runs a supervisor as a task, and keeps the escalation it raised, if any."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor
        self.escalation: RestartIntensityExceeded | None = None
        self.ended = anyio.Event()

    async def __call__(self, *, task_status: TaskStatus[None] = TASK_STATUS_IGNORED) -> None:
        try:
            await self.supervisor.run(task_status=task_status)
        except RestartIntensityExceeded as exc:
            self.escalation = exc
        finally:
            self.ended.set()


def supervisor(
    children: Sequence[ChildSpec],
    clock: FakeClock,
    events: list[SupervisorEvent],
    *,
    name: str = "root",
    strategy: Strategy = Strategy.ONE_FOR_ONE,
    max_restarts: int = 3,
    period: float = 5.0,
    backoff: Backoff = NO_DELAY,
) -> Supervisor:
    return Supervisor(
        name,
        children,
        strategy=strategy,
        max_restarts=max_restarts,
        period=period,
        backoff=backoff,
        clock=clock,
        hooks=[events.append],
    )


def of_type(events: list[SupervisorEvent], kind: type[SupervisorEvent]) -> list[SupervisorEvent]:
    return [e for e in events if isinstance(e, kind)]


@pytest.mark.parametrize(
    ("strategy", "stopped", "restarted"),
    [
        (Strategy.ONE_FOR_ONE, [], ["b"]),
        (Strategy.ONE_FOR_ALL, ["c", "a"], ["a", "b", "c"]),
        (Strategy.REST_FOR_ONE, ["c"], ["b", "c"]),
    ],
    ids=lambda v: v.value if isinstance(v, Strategy) else None,
)
async def test_each_strategy_restarts_the_right_children_in_start_order(
    workers: Workers, clock: FakeClock, strategy: Strategy, stopped: list[str], restarted: list[str]
) -> None:
    """When b crashes, the strategy stops its siblings in reverse order and restarts in order."""
    events: list[SupervisorEvent] = []
    sup = supervisor([workers.spec(n) for n in "abc"], clock, events, strategy=strategy)
    async with anyio.create_task_group() as tg:
        await tg.start(sup.run)
        assert workers.starts == ["a", "b", "c"]
        workers.crash("b")
        await settle()
        assert workers.stops == stopped
        assert workers.starts == ["a", "b", "c", *restarted]
        sup.stop()
    assert events[:2] == [
        ChildExited("root", "b", "RuntimeError: b crashed"),
        ChildRestarted("root", "b", 0.0, 0),
    ]
    assert len(events) == 2
    assert [c.restarts for c in sup.statistics().children] == [
        int(name in restarted) for name in "abc"
    ]


async def test_rest_for_one_after_the_first_child_restarts_all(
    workers: Workers, clock: FakeClock
) -> None:
    """Under ``rest_for_one``, a crash of the first child restarts every child."""
    sup = supervisor([workers.spec(n) for n in "abc"], clock, [], strategy=Strategy.REST_FOR_ONE)
    async with anyio.create_task_group() as tg:
        await tg.start(sup.run)
        workers.crash("a")
        await settle()
        assert workers.starts == ["a", "b", "c", "a", "b", "c"]
        sup.stop()


async def test_exceeding_the_intensity_escalates_exactly_once(
    workers: Workers, clock: FakeClock
) -> None:
    """One restart too many within the period stops every child and raises, with one event."""
    events: list[SupervisorEvent] = []
    sup = supervisor([workers.spec("a"), workers.spec("b")], clock, events, max_restarts=2)
    run = Run(sup)
    async with anyio.create_task_group() as tg:
        await tg.start(run)
        for _ in range(3):
            workers.crash("a")
            await settle()
    assert of_type(events, Escalated) == [Escalated("root", 3, 5.0)]
    assert events[-1] == Escalated("root", 3, 5.0)
    assert len(of_type(events, ChildRestarted)) == 2
    assert run.escalation is not None
    assert str(run.escalation) == (
        "Supervisor 'root' exceeded its restart intensity: 3 restarts within 5 s."
    )
    assert isinstance(run.escalation.__cause__, RuntimeError)
    assert workers.stops == ["b"]
    assert workers.starts == ["a", "b", "a", "a"]
    assert sup.state is SupervisorState.STOPPED


async def test_staying_at_the_intensity_limit_does_not_escalate(
    workers: Workers, clock: FakeClock
) -> None:
    """Exactly ``max_restarts`` restarts within the period are allowed, with no escalation."""
    events: list[SupervisorEvent] = []
    sup = supervisor([workers.spec("a")], clock, events, max_restarts=2)
    run = Run(sup)
    async with anyio.create_task_group() as tg:
        await tg.start(run)
        for _ in range(2):
            workers.crash("a")
            await settle()
        assert sup.state is SupervisorState.RUNNING
        assert sup.statistics().recent_restarts == 2
        sup.stop()
    assert of_type(events, Escalated) == []
    assert run.escalation is None
    assert workers.starts == ["a"] * 3


async def test_a_zero_intensity_escalates_on_the_first_restart(
    workers: Workers, clock: FakeClock
) -> None:
    """With ``max_restarts=0``, the first crash escalates."""
    events: list[SupervisorEvent] = []
    run = Run(supervisor([workers.spec("a")], clock, events, max_restarts=0))
    async with anyio.create_task_group() as tg:
        await tg.start(run)
        workers.crash("a")
    assert of_type(events, Escalated) == [Escalated("root", 1, 5.0)]
    assert run.escalation is not None


async def test_the_intensity_counter_resets_after_the_period(
    workers: Workers, clock: FakeClock
) -> None:
    """Restarts older than the period no longer count towards the intensity."""
    events: list[SupervisorEvent] = []
    sup = supervisor([workers.spec("a")], clock, events, max_restarts=2, period=5.0)
    run = Run(sup)
    async with anyio.create_task_group() as tg:
        await tg.start(run)
        for _ in range(2):
            workers.crash("a")
            await settle()
        clock.advance(5.0)
        assert sup.statistics().recent_restarts == 0
        for _ in range(2):
            workers.crash("a")
            await settle()
        assert sup.statistics().recent_restarts == 2
        assert sup.statistics().restarts == 4
        sup.stop()
    assert of_type(events, Escalated) == []
    assert run.escalation is None


@pytest.mark.parametrize(
    ("restart", "crash", "restarted"),
    [
        (Restart.PERMANENT, False, True),
        (Restart.PERMANENT, True, True),
        (Restart.TRANSIENT, False, False),
        (Restart.TRANSIENT, True, True),
        (Restart.TEMPORARY, False, False),
        (Restart.TEMPORARY, True, False),
    ],
    ids=lambda v: v.value if isinstance(v, Restart) else ("crash" if v else "normal"),
)
async def test_restart_types(
    workers: Workers, clock: FakeClock, restart: Restart, crash: bool, restarted: bool
) -> None:
    """Permanent children always restart, transient ones only after a crash, temporary never."""
    events: list[SupervisorEvent] = []
    sup = supervisor([workers.spec("a", restart=restart), workers.spec("b")], clock, events)
    async with anyio.create_task_group() as tg:
        await tg.start(sup.run)
        if crash:
            workers.crash("a")
        else:
            workers.finish("a")
        await settle()
        assert workers.starts == ["a", "b", *(["a"] if restarted else [])]
        assert [c.running for c in sup.statistics().children] == [restarted, True]
        sup.stop()
    assert events[0] == ChildExited("root", "a", "RuntimeError: a crashed" if crash else None)
    assert len(of_type(events, ChildRestarted)) == int(restarted)


async def test_a_temporary_sibling_is_not_restarted_with_the_others(
    workers: Workers, clock: FakeClock
) -> None:
    """Under ``one_for_all``, a temporary sibling is stopped with the others but not restarted."""
    sup = supervisor(
        [workers.spec("a"), workers.spec("t", restart=Restart.TEMPORARY), workers.spec("b")],
        clock,
        [],
        strategy=Strategy.ONE_FOR_ALL,
    )
    async with anyio.create_task_group() as tg:
        await tg.start(sup.run)
        workers.crash("a")
        await settle()
        assert workers.stops == ["b", "t"]
        assert workers.starts == ["a", "t", "b", "a", "b"]
        sup.stop()


async def test_the_shutdown_timeout_cancels_a_child_that_ignores_stop(
    workers: Workers, clock: FakeClock
) -> None:
    """A child still running when its shutdown timeout passes is cancelled, with an event."""
    events: list[SupervisorEvent] = []
    sup = supervisor(
        [workers.spec("polite"), workers.spec("stubborn", shutdown_timeout=2.0, stubborn=True)],
        clock,
        events,
    )
    run = Run(sup)
    async with anyio.create_task_group() as tg:
        await tg.start(run)
        sup.stop()
        await settle()
        assert workers.stops == ["stubborn"]
        assert clock.next_deadline() == 2.0
        clock.advance(1.5)
        await settle()
        assert events == []
        assert not run.ended.is_set()
        clock.advance(0.5)
        await settle()
        assert run.ended.is_set()
    assert events == [ChildKilled("root", "stubborn", 2.0)]
    assert workers.stops == ["stubborn", "polite"]
    assert sup.state is SupervisorState.STOPPED
    assert clock.sleeping == 0


async def test_each_backoff_delay_is_within_its_ceiling(workers: Workers, clock: FakeClock) -> None:
    """The n-th consecutive restart waits, on the clock, a delay in [0, min(max, base·2^n)]."""
    events: list[SupervisorEvent] = []
    backoff = Backoff(base=0.5, maximum=3.0, reset_after=60.0, rng=random.Random(1))
    sup = supervisor([workers.spec("a")], clock, events, backoff=backoff, max_restarts=100)
    async with anyio.create_task_group() as tg:
        await tg.start(sup.run)
        for n in range(8):
            workers.crash("a")
            await settle()
            restarted = of_type(events, ChildRestarted)[-1]
            assert isinstance(restarted, ChildRestarted)
            assert restarted.consecutive == n
            assert 0.0 <= restarted.delay <= min(3.0, 0.5 * 2**n)
            assert clock.requested[-1] == restarted.delay
            assert len(workers.starts) == n + 1
            assert not sup.statistics().children[0].running
            clock.advance(restarted.delay)
            await settle()
            assert len(workers.starts) == n + 2
        clock.advance(60.5)
        workers.crash("a")
        await settle()
        restarted = of_type(events, ChildRestarted)[-1]
        assert isinstance(restarted, ChildRestarted)
        assert restarted.consecutive == 0
        assert restarted.delay <= 0.5
        sup.stop()
    delays = [e.delay for e in events if isinstance(e, ChildRestarted)]
    assert len(set(delays)) == len(delays)


async def test_stop_during_backoff_restarts_nothing(workers: Workers, clock: FakeClock) -> None:
    """Stopping a supervisor while a restart waits out its backoff cancels the restart."""
    sup = supervisor([workers.spec("a")], clock, [], backoff=Backoff(base=10.0, maximum=10.0))
    run = Run(sup)
    async with anyio.create_task_group() as tg:
        await tg.start(run)
        workers.crash("a")
        await settle()
        assert clock.sleeping == 1
        sup.stop()
    assert workers.starts == ["a"]
    assert run.escalation is None
    assert clock.sleeping == 0


class Flaky(Actor[Ping]):
    """Notes each number it handles in ``seen``; crashes once on each number in ``crash_once``."""

    handles = (Ping,)

    def __init__(self, seen: list[int], crash_once: set[int]) -> None:
        super().__init__(poison_after=5)
        self.seen = seen
        self.crash_once = crash_once

    async def handle(self, ctx: Context[Ping]) -> None:
        n = ctx.message.n
        if n in self.crash_once:
            self.crash_once.discard(n)
            raise RuntimeError(f"flaked on {n}")
        self.seen.append(n)


async def test_the_mailbox_survives_a_restart(clock: FakeClock, bus: InProcessBus) -> None:
    """Messages published while an actor is down wait in its mailbox and arrive in order."""
    seen: list[int] = []
    crash_once = {1}
    events: list[SupervisorEvent] = []
    backoff = Backoff(base=1.0, maximum=1.0, rng=random.Random(3))
    spec = actor_child(bus, lambda: Flaky(seen, crash_once))
    sup = supervisor([spec], clock, events, backoff=backoff)

    async def publish(*numbers: int) -> None:
        for n in numbers:
            await bus.publish(Envelope.new(Ping(n=n), producer="test"))

    async with anyio.create_task_group() as tg:
        await tg.start(sup.run)
        await publish(0, 1)
        await settle()
        assert seen == [0]
        assert not sup.statistics().children[0].running
        await publish(2, 3, 4)
        await settle()
        assert seen == [0]
        restarted = of_type(events, ChildRestarted)[-1]
        assert isinstance(restarted, ChildRestarted)
        assert restarted.delay > 0
        clock.advance(restarted.delay)
        await settle()
        assert seen == [0, 1, 2, 3, 4]
        sup.stop()


@pytest.mark.parametrize("parent_restarts", [0, 1], ids=["parent-escalates", "parent-restarts"])
async def test_escalation_reaches_the_parent(
    workers: Workers, clock: FakeClock, parent_restarts: int
) -> None:
    """An inner supervisor that exceeds its intensity fails as a child of its parent."""
    events: list[SupervisorEvent] = []

    def inner() -> Supervisor:
        return supervisor([workers.spec("w")], clock, events, name="inner", max_restarts=0)

    parent = supervisor([ChildSpec("inner", inner)], clock, events, max_restarts=parent_restarts)
    run = Run(parent)
    async with anyio.create_task_group() as tg:
        await tg.start(run)
        workers.crash("w")
        await settle()
        if parent_restarts:
            assert workers.starts == ["w", "w"]
            parent.stop()
    inner_error = (
        "RestartIntensityExceeded: Supervisor 'inner' exceeded its restart intensity: "
        "1 restarts within 5 s."
    )
    assert events[:3] == [
        ChildExited("inner", "w", "RuntimeError: w crashed"),
        Escalated("inner", 1, 5.0),
        ChildExited("root", "inner", inner_error),
    ]
    if parent_restarts:
        assert events[3:] == [ChildRestarted("root", "inner", 0.0, 0)]
        assert run.escalation is None
    else:
        assert events[3:] == [Escalated("root", 1, 5.0)]
        assert run.escalation is not None
        assert isinstance(run.escalation.__cause__, RestartIntensityExceeded)
        assert run.escalation.__cause__.supervisor == "inner"


async def test_a_supervisor_runs_once(workers: Workers, clock: FakeClock) -> None:
    """Running a stopped supervisor again is refused with a precise sentence."""
    sup = supervisor([workers.spec("a")], clock, [])
    async with anyio.create_task_group() as tg:
        await tg.start(sup.run)
        sup.stop()
    with pytest.raises(UsageError) as caught:
        await sup.run()
    assert str(caught.value) == (
        "Cannot run supervisor 'root', as it is stopped; build a new one to run it again"
    )
    sup.stop()


def test_supervisor_settings_are_checked(workers: Workers) -> None:
    """Negative intensity, an empty period and duplicate child names are refused by value."""
    with pytest.raises(UsageError) as caught:
        Supervisor("root", [], max_restarts=-1)
    assert str(caught.value) == "max_restarts=-1 must be >= 0"
    with pytest.raises(UsageError) as caught:
        Supervisor("root", [], period=0)
    assert str(caught.value) == "period=0 must be > 0"
    with pytest.raises(UsageError) as caught:
        Supervisor("root", [workers.spec("a"), workers.spec("a")])
    assert str(caught.value) == "Child names of supervisor 'root' must be unique: ['a', 'a']"
    with pytest.raises(UsageError) as caught:
        workers.spec("a", shutdown_timeout=-1.0)
    assert str(caught.value) == "shutdown_timeout=-1.0 of child 'a' must be >= 0"


def test_events_are_frozen() -> None:
    """Supervisor events are values: they cannot be changed after the fact."""
    event = ChildRestarted("root", "a", 0.5, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.delay = 0.0  # type: ignore[misc]
