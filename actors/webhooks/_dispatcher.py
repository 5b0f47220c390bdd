"""The webhook sender: a supervised task that delivers what the outbox holds, when it is due.

It asks the store for due deliveries (enabled endpoints, breaker closed), attempts each in
a task of its own task group (at most ``concurrency`` at once), records every attempt, and
sleeps until the next delivery is due, a breaker lets a trial through, or the doorbell
rings (a new outcome in this process). A delivery is recorded only once its attempt is
over: one cut short by a crash or a stop is sent again (at least once; the receiver
deduplicates by ``webhook-id``).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, final

import anyio
from anyio import TASK_STATUS_IGNORED, WouldBlock
from anyio.abc import TaskGroup, TaskStatus

from actors.runtime import (
    BreakerState,
    CircuitBreaker,
    EventLog,
    lazy_module,
    null_log,
    trusted_tls,
)
from actors.webhooks._secrets import SecretFiles
from actors.webhooks._sender import Attempt, attempt
from actors.webhooks._store import Due, Endpoint, Result, WebhookStore
from bus import Clock, SystemClock
from messages import UsageError

if TYPE_CHECKING:
    import httpx2
else:
    httpx2 = lazy_module("httpx2")

RESCAN_S = 5.0
"""The longest the sender sleeps: the command line may add an endpoint or redeliver from
another process, which rings no doorbell here."""
CONCURRENCY = 8
"""Attempts in flight at most, over every endpoint."""


@final
class Doorbell:
    """Wakes the sender when something new may be due."""

    def __init__(self) -> None:
        self._rung = anyio.Event()

    def ring(self) -> None:
        self._rung.set()

    async def wait(self, seconds: float) -> None:
        """Return when rung (at once if rung since the last wait), or after ``seconds``."""
        with anyio.move_on_after(max(0.0, seconds)):
            await self._rung.wait()
        if self._rung.is_set():
            self._rung = anyio.Event()


@dataclass(frozen=True, slots=True)
class SenderStatistics:
    """What the senders of one ``Webhooks`` have done."""

    attempts: int
    delivered: int
    failed: int
    """Attempts that failed (a delivery may fail several times before it succeeds)."""
    in_flight: int
    held: int
    """Endpoints whose breaker holds their deliveries back."""


@final
class Webhooks:
    """A run directory's webhooks as the running system sends them: the store, the secrets,
    and what outlives one sender (its doorbell, the endpoints' breakers, the counts)."""

    def __init__(
        self,
        store: WebhookStore,
        secrets: SecretFiles,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        concurrency: int = CONCURRENCY,
    ) -> None:
        if concurrency < 1:
            raise UsageError(f"concurrency={concurrency!r} must be >= 1")
        self.store = store
        self.secrets = secrets
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.rng = rng if rng is not None else random.Random()
        self.concurrency = concurrency
        self.doorbell = Doorbell()
        self.breakers: dict[int, CircuitBreaker] = {}
        self.in_flight: set[int] = set()
        self.attempts = 0
        self.delivered = 0
        self.failed = 0
        self._recorded = anyio.Event()

    async def wait_recorded(self) -> None:
        """Return once the next attempt is recorded (what a test or a page waits on)."""
        await self._recorded.wait()

    def _note_recorded(self) -> None:
        self._recorded.set()
        self._recorded = anyio.Event()

    def ring(self) -> None:
        """Tell the sender that a delivery may be due now."""
        self.doorbell.ring()

    def sender(self, log: EventLog | None = None) -> WebhookSender:
        """A new sender over this state: a supervisor's child."""
        return WebhookSender(self, log)

    def breaker(self, endpoint: Endpoint) -> CircuitBreaker:
        found = self.breakers.get(endpoint.id)
        if found is None:
            policy = endpoint.policy
            found = self.breakers[endpoint.id] = CircuitBreaker(
                threshold=policy.breaker_threshold,
                cooldown=policy.breaker_cooldown,
                clock=self.clock,
            )
        return found

    def held(self) -> dict[int, float | None]:
        """Endpoints a breaker holds back, with when a trial may go (``None``: one is out)."""
        now = self.clock.now()
        held: dict[int, float | None] = {}
        for endpoint, breaker in self.breakers.items():
            state = breaker.statistics().state
            reopens = breaker.reopens_at
            if state is BreakerState.HALF_OPEN:
                held[endpoint] = None
            elif reopens is not None and reopens > now:
                held[endpoint] = reopens - now
        return held

    def statistics(self) -> SenderStatistics:
        return SenderStatistics(
            attempts=self.attempts,
            delivered=self.delivered,
            failed=self.failed,
            in_flight=len(self.in_flight),
            held=len(self.held()),
        )


@final
class WebhookSender:
    """Delivers due webhooks until stopped; a supervisor restarts it if it crashes."""

    def __init__(self, hooks: Webhooks, log: EventLog | None = None) -> None:
        self.hooks = hooks
        self.log = (log if log is not None else null_log()).bind(actor="webhooks")
        self._stopping = False
        self._drain = True
        self._attempts: anyio.CancelScope | None = None

    async def run(self, *, task_status: TaskStatus[None] = TASK_STATUS_IGNORED) -> None:
        hooks = self.hooks
        async with (
            httpx2.AsyncClient(
                trust_env=False, timeout=None, verify=trusted_tls(trust_env=False)
            ) as client,
            anyio.create_task_group() as attempts,
        ):
            self._attempts = attempts.cancel_scope
            task_status.started()
            while not self._stopping:
                await self._launch(attempts, client)
                await hooks.doorbell.wait(await self._sleep_for())
            # Draining: what is due now goes out (a run's last outcomes), until nothing is
            # due and nothing is in flight; the supervisor bounds how long that may take.
            while self._drain and (await self._launch(attempts, client) or hooks.in_flight):
                await hooks.doorbell.wait(RESCAN_S)
            if not self._drain:
                attempts.cancel_scope.cancel()

    def stop(self, *, drain: bool = True) -> None:
        """Start nothing new but what is due now (with ``drain``), and return when the
        attempts under way are over; without ``drain``, cut them short (they are sent again)."""
        self._stopping = True
        self._drain = drain
        if not drain and self._attempts is not None:
            self._attempts.cancel()
        self.hooks.ring()

    async def _launch(self, group: TaskGroup, client: httpx2.AsyncClient) -> int:
        """Start an attempt for each delivery due now, as far as there is room; how many."""
        hooks = self.hooks
        free = hooks.concurrency - len(hooks.in_flight)
        if free <= 0:
            return 0
        started = 0
        held = list(hooks.held())
        due = await hooks.store.due(time.time(), free, busy=sorted(hooks.in_flight), held=held)
        for delivery in due:
            breaker = hooks.breaker(delivery.endpoint)
            try:
                breaker.ready_nowait()
            except WouldBlock:
                continue  # another delivery to it is the trial
            hooks.in_flight.add(delivery.id)
            group.start_soon(self._deliver, client, delivery, breaker)
            started += 1
        return started

    async def _sleep_for(self) -> float:
        hooks = self.hooks
        if len(hooks.in_flight) >= hooks.concurrency:
            return RESCAN_S  # an attempt that ends rings the doorbell
        held = hooks.held()
        waits = [RESCAN_S, *(w for w in held.values() if w is not None)]
        next_at = await hooks.store.next_due(held=list(held))
        if next_at is not None:
            waits.append(next_at - time.time())
        return min(waits)

    async def _deliver(self, client: httpx2.AsyncClient, due: Due, breaker: CircuitBreaker) -> None:
        hooks = self.hooks
        endpoint = due.endpoint
        result: Attempt | None = None
        try:
            try:
                secret = hooks.secrets.read(endpoint.id)
            except UsageError as missing:
                result = Attempt(None, str(missing), 0.0)
            else:
                result = await attempt(
                    client, endpoint.url, endpoint.policy, secret, due.event_id, due.body
                )
        finally:
            if result is None or result.overloaded:
                breaker.failed()  # a trial cut short must not hold the endpoint for ever
            else:
                breaker.succeeded()
        next_in = None
        if not result.delivered:
            next_in = endpoint.policy.delay(due.failures + 1, hooks.rng, result.retry_after)
        try:
            await hooks.store.record(
                due,
                Result(result.status, result.error, result.duration_s, next_in, gone=result.gone),
            )
        finally:
            hooks.in_flight.discard(due.id)
            hooks.ring()
        self._count(due, result, next_in)
        hooks._note_recorded()

    def _count(self, due: Due, result: Attempt, next_in: float | None) -> None:
        hooks = self.hooks
        hooks.attempts += 1
        fields = {"endpoint": due.endpoint.id, "delivery": due.id, "event_id": due.event_id}
        if result.delivered:
            hooks.delivered += 1
            self.log.info("webhook_delivered", status=result.status, **fields)
            return
        hooks.failed += 1
        self.log.warning(
            "webhook_failed",
            status=result.status,
            error=result.error,
            failures=due.failures + 1,
            retry_in=None if next_in is None else round(next_in, 3),
            **fields,
        )
