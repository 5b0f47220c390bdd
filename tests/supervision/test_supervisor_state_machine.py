"""Supervision against a model, over random crash sequences (a hypothesis state machine).

One event loop lives across the rules of a test case, in a blocking portal; each rule
makes a child exit or moves the fake clock, waits until every task is blocked, and the
invariants then compare the supervisor with a model of OTP's rules.
"""

from __future__ import annotations

from concurrent.futures import Future
from contextlib import AbstractContextManager

from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from bus import FakeClock
from messages import RestartIntensityExceeded
from supervision import (
    Backoff,
    ChildRestarted,
    Escalated,
    Restart,
    Strategy,
    Supervisor,
    SupervisorEvent,
    SupervisorState,
)
from tests.support.children import Workers, settle

PERIOD = 5.0


class SupervisionMachine(RuleBasedStateMachine):
    """Crashes, normal exits and the passing of time, checked against a model."""

    def __init__(self) -> None:
        super().__init__()
        self._portal_context: AbstractContextManager[BlockingPortal] = start_blocking_portal(
            backend="asyncio"
        )
        self.portal = self._portal_context.__enter__()
        self.clock = FakeClock()
        self.workers = Workers()
        self.events: list[SupervisorEvent] = []
        self.restart_times: list[float] = []
        self.supervisor: Supervisor | None = None
        self.future: Future[None] | None = None
        self.escalation: RestartIntensityExceeded | None = None
        # The model.
        self.names: list[str] = []
        self.restart_types: dict[str, Restart] = {}
        self.strategy = Strategy.ONE_FOR_ONE
        self.max_restarts = 0
        self.running: set[str] = set()
        self.expected_starts: list[str] = []
        self.recent: list[float] = []
        self.escalated = False

    def _record(self, event: SupervisorEvent) -> None:
        self.events.append(event)
        if isinstance(event, ChildRestarted):
            self.restart_times.append(self.clock.now())

    @initialize(
        strategy=st.sampled_from(Strategy),
        restart_types=st.lists(st.sampled_from(Restart), min_size=1, max_size=4),
        max_restarts=st.integers(min_value=0, max_value=3),
    )
    def start(self, strategy: Strategy, restart_types: list[Restart], max_restarts: int) -> None:
        self.strategy = strategy
        self.max_restarts = max_restarts
        self.names = [f"c{i}" for i in range(len(restart_types))]
        self.restart_types = dict(zip(self.names, restart_types, strict=True))
        self.running = set(self.names)
        self.expected_starts = list(self.names)
        self.future, _ = self.portal.start_task(self._run)

    async def _run(self, *, task_status: object) -> None:
        self.supervisor = Supervisor(
            "root",
            [self.workers.spec(name, restart=self.restart_types[name]) for name in self.names],
            strategy=self.strategy,
            max_restarts=self.max_restarts,
            period=PERIOD,
            backoff=Backoff(base=0.0, maximum=0.0),
            clock=self.clock,
            hooks=[self._record],
        )
        try:
            await self.supervisor.run(task_status=task_status)  # type: ignore[arg-type]
        except RestartIntensityExceeded as exc:
            self.escalation = exc

    def _alive(self) -> bool:
        return not self.escalated and bool(self.running)

    @precondition(_alive)
    @rule(pick=st.integers(min_value=0, max_value=3), crash=st.booleans())
    def exit(self, pick: int, crash: bool) -> None:
        """A running child crashes, or returns normally."""
        name = sorted(self.running)[pick % len(self.running)]
        before = len(self.workers.starts)
        self.portal.call(self._exit, name, crash)
        restarted = self._model_exit(name, crash)
        started = self.workers.starts[before:]
        assert started == restarted
        if self.strategy is Strategy.ONE_FOR_ALL and restarted:
            # Every sibling that was running comes back, in start order (temporaries aside).
            assert started == [n for n in self.names if n in self.running]

    async def _exit(self, name: str, crash: bool) -> None:
        if crash:
            self.workers.crash(name)
        else:
            self.workers.finish(name)
        await settle()

    def _model_exit(self, name: str, crash: bool) -> list[str]:
        """Apply OTP's rules to the model; return the children expected to start again."""
        was_running = set(self.running)
        self.running.discard(name)
        restart = self.restart_types[name]
        if restart is Restart.TEMPORARY or (restart is Restart.TRANSIENT and not crash):
            return []
        now = self.clock.now()
        self.recent = [t for t in [*self.recent, now] if t > now - PERIOD]
        if len(self.recent) > self.max_restarts:
            self.escalated = True
            self.running = set()
            return []
        index = self.names.index(name)
        match self.strategy:
            case Strategy.ONE_FOR_ONE:
                affected = [name]
            case Strategy.ONE_FOR_ALL:
                affected = [n for n in self.names if n == name or n in was_running]
            case Strategy.REST_FOR_ONE:
                affected = [name] + [n for n in self.names[index + 1 :] if n in was_running]
        restarted = [
            n for n in affected if n == name or self.restart_types[n] is not Restart.TEMPORARY
        ]
        self.running = (self.running - set(affected)) | set(restarted)
        self.expected_starts += restarted
        return restarted

    @rule(seconds=st.sampled_from([0.5, 1.0, 2.5, PERIOD]))
    def advance(self, seconds: float) -> None:
        """Time passes (also once every child is gone, so a rule is always available)."""
        self.portal.call(self._advance, seconds)

    async def _advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await settle()

    @invariant()
    def children_match_the_model(self) -> None:
        assert self.workers.starts == self.expected_starts
        if self.supervisor is not None and not self.escalated:
            children = self.supervisor.statistics().children
            assert [c.running for c in children] == [n in self.running for n in self.names]

    @invariant()
    def intensity_is_never_exceeded_silently(self) -> None:
        for t in self.restart_times:
            window = [u for u in self.restart_times if t - PERIOD < u <= t]
            assert len(window) <= self.max_restarts
        escalations = [e for e in self.events if isinstance(e, Escalated)]
        if self.escalated:
            assert escalations == [Escalated("root", self.max_restarts + 1, PERIOD)]
            assert self.escalation is not None
            assert self.future is not None and self.future.done()
        else:
            assert escalations == []
            assert self.escalation is None
            if self.supervisor is not None:
                assert self.supervisor.state is SupervisorState.RUNNING

    def teardown(self) -> None:
        try:
            if self.future is not None:
                if not self.future.done():
                    self.portal.call(self._stop)
                self.future.result()
        finally:
            self._portal_context.__exit__(None, None, None)

    async def _stop(self) -> None:
        assert self.supervisor is not None
        self.supervisor.stop()
        await settle()


SupervisionMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=20)
TestSupervision = SupervisionMachine.TestCase
