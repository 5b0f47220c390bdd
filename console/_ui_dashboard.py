"""The dashboard's figures, and their stream: a snapshot of the live system, sent over
server-sent events whenever it changes.

A lead's outcome wakes the stream at once. LLM calls, tokens and validator verdicts come
between outcomes, from counters that tell no one, so the stream also looks at those
in-memory counters every ``TICK_S`` and sends a snapshot only when it differs from the last
one sent. The ledger's figures (outcome counts, the recent rate) cost a query over every
record, so one snapshot of them is shared by every open stream: it is read again after an
outcome (at most every ``MIN_READ_S``), and otherwise every ``LEDGER_EVERY_S``, as the
rate's window moves. A hundred dashboards cost the ledger what one does.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, final

import anyio

from messages import LeadOutcome
from supervision.system import System

RATE_WINDOW = timedelta(minutes=5)
"""The recent window over which leads per minute is measured."""
TICK_S = 1.0
"""How often a connected dashboard looks for figures that changed between outcomes."""
LEDGER_EVERY_S = 10.0
"""How often, without an outcome, the ledger's figures are read again."""
MIN_READ_S = 0.5
"""The least time between two reads of the ledger's figures, however many outcomes."""
_MIN_SPAN = timedelta(seconds=1)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RecentRate:
    """Leads finished per minute over the last ``window``, or since ``started`` when the
    server has been up for less: an average since start would hide a stall for hours."""

    started: datetime
    window: timedelta = RATE_WINDOW

    def since(self, now: datetime) -> datetime:
        """The start of the window that ends ``now``."""
        return max(now - self.window, self.started)

    def per_minute(self, finished: int, now: datetime) -> float:
        """The rate, given how many leads finished since ``self.since(now)``."""
        span = max(now - self.since(now), _MIN_SPAN)
        return round(finished / (span.total_seconds() / 60), 1)


@final
@dataclass(frozen=True, slots=True)
class DashboardStatistics:
    """The dashboard at one moment."""

    ledger_reads: int
    """Reads of the ledger's figures since start, for every stream together."""


@final
class Dashboard:
    """Reads the figures the dashboard shows, from the system's counters and its ledger."""

    def __init__(
        self,
        system: System,
        *,
        clock: Clock = utc_now,
        tick_s: float = TICK_S,
        min_read_s: float = MIN_READ_S,
    ) -> None:
        self.system = system
        self.clock = clock
        self.tick_s = tick_s
        self.min_read_s = min_read_s
        self.rate = RecentRate(started=clock())
        self._outcomes = 0
        self._shared: dict[str, Any] | None = None
        self._shared_outcomes = 0
        self._read_at = 0.0
        self._reading = anyio.Lock()
        self._reads = 0
        system.listen(self._heard)

    def _heard(self, outcome: LeadOutcome) -> None:
        self._outcomes += 1

    def statistics(self) -> DashboardStatistics:
        return DashboardStatistics(ledger_reads=self._reads)

    async def shared_ledger_figures(self) -> dict[str, Any]:
        """``ledger_figures``, read in a worker thread once for every stream: again only
        after an outcome (and ``min_read_s`` since the last read) or ``LEDGER_EVERY_S``."""
        async with self._reading:
            since = anyio.current_time() - self._read_at
            changed = self._outcomes != self._shared_outcomes and since >= self.min_read_s
            if self._shared is None or changed or since >= LEDGER_EVERY_S:
                outcomes = self._outcomes
                self._shared = await anyio.to_thread.run_sync(self.ledger_figures)
                self._shared_outcomes = outcomes
                self._read_at = anyio.current_time()
                self._reads += 1
            return self._shared

    def ledger_figures(self) -> dict[str, Any]:
        """Outcome counts and leads per minute, from the ledger. Blocks on SQLite."""
        ledger = self.system.stores.ledger
        counts = ledger.counts()
        now = self.clock()
        finished = ledger.finished_since(self.rate.since(now))
        return {
            **{f"outcome.{k}": v for k, v in counts.items()},
            "leads": sum(counts.values()),
            "per_minute": self.rate.per_minute(finished, now),
        }

    def counters(self) -> dict[str, Any]:
        """The figures this process counts in memory (LLM calls, verdicts, drift): read
        them on the event loop, where they change, never in a worker thread."""
        system = self.system.statistics()
        stats = system.caller
        spend = system.spend
        book = system.book
        retries = stats.retried
        tokens = stats.prompt_tokens + stats.completion_tokens
        per_lead = spend.per_completed_lead(tokens)
        cost = spend.cost_usd
        cost_per_lead = spend.per_completed_lead(cost) if cost is not None else None
        return {
            "settled": sum(system.settled.values()),
            "llm_calls": f"{stats.calls:,}",
            "tokens": f"{tokens:,}",
            "tokens_per_lead": f"{per_lead:,.0f}" if per_lead is not None else "-",
            "cost": f"${cost:,.4f}" if cost is not None else spend.note(),
            "cost_per_lead": f"${cost_per_lead:,.4f}" if cost_per_lead is not None else "-",
            "retry_rate": f"{retries / stats.calls:.1%}" if stats.calls else "0.0%",
            "validation_failures": book.validation_failures,
            "drift": ", ".join(system.drifted) or "none",
            "rules": sorted(book.failures_by_rule.items(), key=lambda kv: (-kv[1], kv[0])),
        }

    async def read(self) -> dict[str, Any]:
        """Every tile's value by its key, and ``rules``: ``[rule, failures]`` pairs, the
        most failed first; the ledger is read in a worker thread."""
        return await anyio.to_thread.run_sync(self.ledger_figures) | self.counters()

    async def stream(self) -> AsyncGenerator[str]:
        """``counts`` events: one now, then one whenever the snapshot changed."""
        send, receive = anyio.create_memory_object_stream[None](1)

        def heard(outcome: LeadOutcome) -> None:
            # One pending wake-up is enough: the snapshot sent next includes them all.
            try:
                send.send_nowait(None)
            except anyio.WouldBlock:
                pass
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                send.close()

        stop = self.system.listen(heard)
        last = ""
        try:
            async with receive:
                while True:
                    now = json.dumps(await self.shared_ledger_figures() | self.counters())
                    if now != last:
                        last = now
                        yield f"event: counts\ndata: {now}\n\n"
                    with anyio.move_on_after(self.tick_s):
                        await receive.receive()
        finally:
            stop()
            send.close()
