"""Housekeeping of a long-lived system: finished leads compacted in the background, and
the LLM usage saved, so that a service's storage stays bounded while it runs.

A finished lead's journal is about 30 KB until compaction keeps only its story (see
``bus._compaction``). The housekeeper compacts the leads finished since its last pass
once ``every_leads`` have finished or ``every_minutes`` have passed, whichever is first,
a few traces per transaction in a worker thread: the journal's writes go on between
them. At start it also compacts what an earlier process left finished but whole. It is a
child of the system's supervisor: a crash restarts it, and what it had still to compact
is kept (``Housekeeping``). A kill -9 mid-pass loses nothing: each transaction is whole.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import final

import anyio
from anyio import TASK_STATUS_IGNORED
from anyio.abc import TaskStatus

from actors import EventLog, LedgerStore, null_log
from bus import SqliteJournal
from messages import UsageError
from supervision.system._trace import describe

TRACES_PER_PASS = 10
"""Traces compacted per transaction: a few milliseconds of the file's lock at a time, so
that the journal's writes (and the HTTP intake behind them) hardly wait."""
SCAN_ROWS = 20_000
"""Journal rows read per step of the start-up scan for leads left whole."""
RETRIES = 10
"""Passes a finished lead is tried in, while a delivery of it is still unacked."""


@final
@dataclass(frozen=True, slots=True)
class CompactionSettings:
    """When a running system compacts its finished leads (0 turns a trigger off)."""

    every_leads: int = 100
    """Compact once this many leads have finished since the last pass (or were found
    finished but whole at start)."""
    every_minutes: float = 10.0
    """Compact at least this often while leads finish."""
    usage_every_s: float = 5.0
    """Save the LLM usage this often (and when the system stops)."""

    def __post_init__(self) -> None:
        if self.every_leads < 0:
            raise UsageError(f"every_leads={self.every_leads!r} must be >= 0 (0: not by count)")
        if self.every_minutes < 0:
            raise UsageError(f"every_minutes={self.every_minutes!r} must be >= 0 (0: not by time)")
        if self.usage_every_s <= 0:
            raise UsageError(f"usage_every_s={self.usage_every_s!r} must be > 0")

    @property
    def compacts(self) -> bool:
        return self.every_leads > 0 or self.every_minutes > 0


@final
@dataclass(frozen=True, slots=True)
class HousekeepingStatistics:
    """Housekeeping at one moment."""

    passes: int
    """Compaction passes done."""
    compacted: int
    """Leads compacted."""
    waiting: int
    """Finished leads not compacted yet."""
    scanned: bool
    """Whether the start-up scan for leads left whole is done."""


@final
class Housekeeping:
    """What the housekeeper must still do, kept across its restarts."""

    def __init__(
        self,
        journal: SqliteJournal | None,
        ledger: LedgerStore,
        save_usage: Callable[[], Awaitable[None]],
        settings: CompactionSettings,
        *,
        log: EventLog | None = None,
    ) -> None:
        self.journal = journal
        self.ledger = ledger
        self.save_usage = save_usage
        self.settings = settings
        self.log = (log if log is not None else null_log()).bind(actor="housekeeping")
        self.finished: dict[str, int] = {}
        """Finished lead ids to compact, and the passes each has been tried in."""
        self.fresh = 0
        """Leads finished since the last pass."""
        self.scanned_upto = 0
        """The journal's last sequence number when the start-up scan began (0: not yet)."""
        self.scanned = journal is None
        self.doorbell = anyio.Event()
        self.passes = 0
        self.compacted = 0
        self._passed = anyio.Event()

    def note_finished(self, lead_id: str) -> None:
        """A lead's record has an outcome: its lead can be compacted (if all its records do)."""
        if self.journal is None or not self.settings.compacts:
            return
        self.finished.setdefault(lead_id, 0)
        self.fresh += 1
        if 0 < self.settings.every_leads <= self.fresh:
            self.doorbell.set()

    async def next_pass(self) -> None:
        """Return once the next compaction pass is over."""
        await self._passed.wait()

    def child(self) -> Housekeeper:
        """A new housekeeper over this state: a supervisor's child."""
        return Housekeeper(self)

    def statistics(self) -> HousekeepingStatistics:
        return HousekeepingStatistics(
            passes=self.passes,
            compacted=self.compacted,
            waiting=len(self.finished),
            scanned=self.scanned,
        )

    async def compact(self) -> int:
        """One pass: compact the finished leads noted (a few at a time); how many."""
        journal = self.journal
        if journal is None or not self.finished:
            return 0
        self.fresh = 0
        self.log.info("journal_compacting", leads=len(self.finished))
        # Acks deferred to the journal's next write would hold their leads back: written now.
        await journal.commit([], [])
        candidates = list(self.finished)
        unfinished = await anyio.to_thread.run_sync(self.ledger.unfinished_among, candidates)
        done = 0
        for start in range(0, len(candidates), TRACES_PER_PASS):
            chunk = candidates[start : start + TRACES_PER_PASS]
            ready = [lead for lead in chunk if lead not in unfinished]
            done += await anyio.to_thread.run_sync(journal.compact, ready, describe)
            left = set(await anyio.to_thread.run_sync(journal.uncompacted, ready))
            for lead in chunk:
                tries = self.finished.pop(lead, 0) + 1
                # Unacked deliveries a moment ago; a lead resumed since is noted again.
                if lead in left and lead not in unfinished and tries < RETRIES:
                    self.finished[lead] = tries
        self.passes += 1
        self.compacted += done
        self._passed.set()
        self._passed = anyio.Event()
        self.log.info("journal_compacted", leads=done, waiting=len(self.finished))
        return done

    async def scan(self) -> None:
        """Note every finished lead an earlier process left whole, reading the journal a
        slice at a time; what this process journals after the scan began is noted anyway."""
        journal = self.journal
        if journal is None or self.scanned or not self.settings.compacts:
            self.scanned = True
            return
        if self.scanned_upto == 0:
            self.scanned_upto = await anyio.to_thread.run_sync(journal.last_seq)
        after = 0
        found: set[str] = set()
        while after < self.scanned_upto:
            upto = min(after + SCAN_ROWS, self.scanned_upto)
            found.update(await anyio.to_thread.run_sync(journal.traces_between, after, upto))
            after = upto
        if found:
            unfinished = await anyio.to_thread.run_sync(self.ledger.unfinished_among, list(found))
            for lead in sorted(found - unfinished):
                # Counted as finished now: compacted when the count or the time says so.
                if lead not in self.finished:
                    self.finished[lead] = 0
                    self.fresh += 1
        self.scanned = True
        if 0 < self.settings.every_leads <= self.fresh:
            self.doorbell.set()


@final
class Housekeeper:
    """Saves the usage every few seconds and compacts when due, until stopped."""

    def __init__(self, state: Housekeeping) -> None:
        self.state = state
        self._stopping = anyio.Event()

    async def run(self, *, task_status: TaskStatus[None] = TASK_STATUS_IGNORED) -> None:
        state = self.state
        settings = state.settings
        task_status.started()
        await state.scan()
        last = anyio.current_time()
        while not self._stopping.is_set():
            due_at = last + settings.every_minutes * 60 if settings.every_minutes else None
            wait = settings.usage_every_s
            if due_at is not None and state.finished:
                wait = min(wait, max(0.0, due_at - anyio.current_time()))
            with anyio.move_on_after(wait):
                await _first(state.doorbell, self._stopping)
            if state.doorbell.is_set():
                state.doorbell = anyio.Event()
            await state.save_usage()
            now = anyio.current_time()
            by_count = 0 < settings.every_leads <= state.fresh
            by_time = due_at is not None and now >= due_at
            if self._stopping.is_set():
                break  # what is left is compacted by the next start
            if state.finished and (by_count or by_time):
                await state.compact()
                last = anyio.current_time()
            elif by_time:
                last = now

    def stop(self, *, drain: bool = True) -> None:
        """Finish the transaction under way and return; the next start goes on."""
        self._stopping.set()


async def _first(*events: anyio.Event) -> None:
    """Return when any of ``events`` is set."""
    async with anyio.create_task_group() as group:

        async def wait(event: anyio.Event) -> None:
            await event.wait()
            group.cancel_scope.cancel()

        for event in events:
            group.start_soon(wait, event)
