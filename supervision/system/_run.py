"""A run: the live system fed by one input (a file, or a pipe read as it arrives), that
stops when the input is done and every lead is finished, or on a signal."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, final

import anyio

from actors import PENDING, Submission
from actors.intake import RawRecord
from actors.llm import Spend
from messages import LeadOutcome, Outcome
from supervision.system._config import PipelineConfig
from supervision.system._signals import Stopper
from supervision.system._system import System

SUMMARY_FILE = "summary.json"


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a run has got; handed to the progress callback as outcomes arrive."""

    total: int | None
    done: int
    """Lines of the input with an outcome, including those finished by an earlier run."""
    outcomes: dict[str, int]
    llm_calls: int
    retries: int
    in_flight_calls: int
    finished_earlier: int = 0
    """Lines whose lead an earlier run in this directory had already finished."""


@dataclass(frozen=True, slots=True)
class RunSummary:
    leads: int
    """Lines of this run's input."""
    outcomes: dict[str, int]
    pending: int
    llm_calls: int
    retries: int
    validation_failures: int
    makespan_s: float
    leads_per_s: float
    tokens_by_stage: dict[str, int] = field(default_factory=dict)
    failures_by_rule: dict[str, int] = field(default_factory=dict)
    halted: str | None = None
    """Why the run stopped early, for the operator; ``None`` when it finished."""
    drifted: tuple[str, ...] = ()
    """Columns whose distribution drifted from the baseline."""
    latency_p50_s: dict[str, float] = field(default_factory=dict)
    latency_p95_s: dict[str, float] = field(default_factory=dict)
    cost_usd_by_stage: dict[str, float] = field(default_factory=dict)
    interrupted: int | None = None
    """The signal that stopped the run, if one did."""
    finished_earlier: int = 0
    """Lines whose lead an earlier run in this directory had already finished."""
    input_id: int | None = None
    """The input's number in the run directory, for ``report --input``."""
    cost: dict[str, Any] = field(default_factory=dict)
    """What the LLM calls used and cost, by stage and per completed lead (``Spend``)."""

    def contract(self) -> dict[str, object]:
        """The ``--json`` summary: DESIGN.md's keys, and ``cost``."""
        return {
            "leads": self.leads,
            "outcomes": self.outcomes,
            "llm_calls": self.llm_calls,
            "retries": self.retries,
            "validation_failures": self.validation_failures,
            "makespan_s": round(self.makespan_s, 3),
            "leads_per_s": round(self.leads_per_s, 2),
            "cost": self.cost,
        }


@final
class Run:
    """One input through the live system, in named steps: feed, finish, summarise (and the
    stopper's drain, after a signal).

    ``stream=True`` reads the input one record at a time off the event loop (a pipe),
    so each lead starts as soon as its line arrives; otherwise records are read in
    chunks of an admission window.
    """

    def __init__(
        self,
        config: PipelineConfig,
        records: Iterable[RawRecord],
        *,
        source: str = "input",
        total: int | None = None,
        stream: bool = False,
        path: Path | None = None,
        count_records: Callable[[], int] | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.config = config
        self.records = iter(records)
        self.source = source
        self.path = path
        """The file ``records`` are read from, if they are: the same file again, once
        finished, is recognised by its digest without reading it."""
        self.total = total
        self.count_records = count_records
        """Counts the input's records (a blocking read of the file), for the progress's
        total: it runs in a thread beside the run, and not at all for an input recognised
        by its digest, whose lines are known without reading it."""
        self.stream = stream
        self.on_progress = on_progress
        self.system: System | None = None
        self.stopper = Stopper()
        self.input_id: int | None = None
        self.lines = 0
        self.done = 0
        self.finished_earlier = 0
        self.lines_by_outcome: dict[str, int] = {}
        """Lines of the input with an outcome, by outcome."""
        self._waiting: dict[int, int] = {}
        """Records of this input without an outcome yet, and how many lines name each."""

    async def __call__(self) -> RunSummary:
        started = time.perf_counter()
        summary: RunSummary | None = None
        async with self.stopper.guarding(self.config) as system:
            self.system = system
            stop_listening = system.listen(self._heard)
            try:
                await self.stopper.until_stopped(system, lambda: self._feed_and_finish(system))
                await self.stopper.drain(system)
            finally:
                stop_listening()
                summary = self.summarise(system, time.perf_counter() - started)
        assert summary is not None
        return summary

    async def _feed_and_finish(self, system: System) -> None:
        await self.feed(system)
        await self.finish(system)

    async def feed(self, system: System) -> None:
        """Submit the input's records as the inbox has room; each is durable once submitted."""
        self.input_id = input_id = await system.open_input(self.source)
        ledger = system.stores.ledger
        digest = None if self.path is None else await anyio.to_thread.run_sync(_digest, self.path)
        if digest is not None and (repeated := await ledger.repeat_input(input_id, digest)):
            self.lines = self.finished_earlier = self.total = sum(repeated.values())
            system.log.info("input_repeated", lines=self.lines, digest=digest[:16])
            for outcome, lines in repeated.items():
                self._done(outcome, lines)
            self._progress()
            return
        async with anyio.create_task_group() as counting:
            if self.count_records is not None and self.total is None:
                counting.start_soon(self._read_total, self.count_records)
            await self._submit_all(system, input_id)
        # Only a file read whole, and unchanged while it was read, can be recognised later.
        if digest is not None and digest == await anyio.to_thread.run_sync(_digest, self.path):
            await ledger.note_digest(input_id, digest)

    async def _read_total(self, count_records: Callable[[], int]) -> None:
        # Abandoned if the run stops first: counting holds nothing the run needs.
        self.total = await anyio.to_thread.run_sync(count_records, abandon_on_cancel=True)
        self._progress()

    async def _submit_all(self, system: System, input_id: int) -> None:
        while True:
            await system.wait_for_room()
            chunk = await self._read(system.inbox_room())
            if not chunk:
                break
            receipts = await system.submit(input_id, [(r.record, r.fields) for r in chunk])
            self.lines += len(chunk)
            for receipt in receipts:
                if receipt.outcome == PENDING:
                    self._waiting[receipt.record] = self._waiting.get(receipt.record, 0) + 1
                else:
                    self.finished_earlier += receipt.submission is Submission.KNOWN
                    self._done(receipt.outcome, 1)
            self._progress()

    async def _read(self, room: int) -> list[RawRecord]:
        if self.stream:
            one = await anyio.to_thread.run_sync(_next, self.records)
            return [] if one is None else [one]
        size = max(1, min(room, self.config.window))
        return await anyio.to_thread.run_sync(_take, self.records, size)

    async def finish(self, system: System) -> None:
        """Wait for every lead to end, then have the drift profile saved. Operations'
        retries that were due at start are started first; none starts after that, so
        that the run ends (the next owner of the directory runs those due later)."""
        await system.stop_retrying()
        await system.wait_finished()
        await system.flush_profile()

    def _heard(self, outcome: LeadOutcome) -> None:
        lines = self._waiting.pop(outcome.record, 0)
        if lines:
            self._done(outcome.outcome.value, lines)
            self._progress()

    def _done(self, outcome: str, lines: int) -> None:
        """``lines`` more lines of the input have ``outcome``."""
        self.done += lines
        self.lines_by_outcome[outcome] = self.lines_by_outcome.get(outcome, 0) + lines

    def _progress(self) -> None:
        if self.on_progress is None or self.system is None:
            return
        # The counters, not caller.statistics(): that sorts the latency samples, and
        # doing so after every outcome made a long run slow down as it went.
        calls = self.system.caller.stats
        self.on_progress(
            Progress(
                total=self.total,
                done=self.done,
                outcomes=dict(self.lines_by_outcome),
                llm_calls=calls.calls,
                retries=calls.retried,
                in_flight_calls=calls.in_flight,
                finished_earlier=self.finished_earlier,
            )
        )

    def summarise(self, running: System, makespan: float) -> RunSummary:
        """The summary of this input, written to ``summary.json`` and the event log."""
        outcomes = {o.value: 0 for o in Outcome}
        pending = 0
        ledger = running.stores.ledger
        counts = ledger.counts(input_id=self.input_id) if self.input_id is not None else {}
        for outcome, count in counts.items():
            if outcome == PENDING:
                pending = count
            else:
                outcomes[outcome] = count
        system = running.statistics()
        stats = system.caller
        summary = RunSummary(
            leads=self.lines,
            outcomes=outcomes,
            pending=pending,
            llm_calls=stats.calls,
            retries=stats.retried,
            validation_failures=system.book.validation_failures,
            makespan_s=makespan,
            leads_per_s=self.lines / makespan if makespan > 0 else 0.0,
            tokens_by_stage=stats.tokens_by_stage,
            failures_by_rule=dict(system.book.failures_by_rule),
            halted=system.halted,
            drifted=tuple(system.drifted),
            latency_p50_s=stats.latency_p50_by_stage,
            latency_p95_s=stats.latency_p95_by_stage,
            cost_usd_by_stage=stats.cost_by_stage,
            interrupted=self.stopper.signal,
            finished_earlier=self.finished_earlier,
            input_id=self.input_id,
            cost=Spend(stats.usage, outcomes[Outcome.COMPLETED.value]).to_json(),
        )
        (self.config.out / SUMMARY_FILE).write_text(json.dumps(asdict(summary), indent=2) + "\n")
        log = running.log
        contract = summary.contract()
        contract.pop("cost")
        log.info("run_finished", **contract, pending=pending, cost=summary.cost["note"])
        if summary.halted is not None:
            log.error("run_halted", reason=summary.halted)
        if summary.interrupted is not None:
            log.warning("run_interrupted", signal=summary.interrupted, pending=pending)
        if summary.drifted:
            log.warning("drift_detected", columns=list(summary.drifted))
        return summary


def _digest(path: Path | None) -> str:
    assert path is not None
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _next(records: Iterator[RawRecord]) -> RawRecord | None:
    return next(records, None)


def _take(records: Iterator[RawRecord], size: int) -> list[RawRecord]:
    return list(itertools.islice(records, size))


async def run_pipeline(
    config: PipelineConfig,
    records: Iterable[RawRecord],
    *,
    total: int | None = None,
    stream: bool = False,
    source: str = "input",
    path: Path | None = None,
    count_records: Callable[[], int] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> RunSummary:
    """Run ``records`` through the system on ``config.out`` until each has an outcome."""
    run = Run(
        config,
        records,
        source=source,
        total=total,
        stream=stream,
        path=path,
        count_records=count_records,
        on_progress=on_progress,
    )
    return await run()
