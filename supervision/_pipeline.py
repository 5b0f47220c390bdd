"""A run: records in, one outcome each, through the supervised actor system."""

from __future__ import annotations

import contextlib
import itertools
import json
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import final

import anyio

from actors import (
    PENDING,
    CircuitBreaker,
    CrmStore,
    DeadLetterStore,
    EventLog,
    EvidenceSource,
    FlakyCrm,
    Icp,
    LedgerStore,
    LlmCaller,
    LlmGateway,
    MetricsBook,
    ReviewStore,
    RunNotice,
    SqliteCrm,
    null_log,
)
from actors.drift import PROFILE_FILE, Profile, ProfileBuilder
from actors.intake import RawRecord, lead_id_for
from bus import PublishHook, SqliteJournal
from messages import (
    DriftDetected,
    Envelope,
    LeadOutcome,
    LeadSubmitted,
    Message,
    Outcome,
    ProfileFlush,
    ProfileSaved,
    RunHalted,
    UsageError,
)
from supervision._resume import Resumption, plan_resumption
from supervision._system import SystemParts, build_bus, build_supervisor

OPERATOR = "operator"
JOURNAL_FILE = "journal.sqlite"
DRAIN_S = 10.0
"""How long in-flight leads may take to finish after SIGINT or SIGTERM."""
SUMMARY_FILE = "summary.json"


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Everything a run needs, built by the command line (or a test) and handed in."""

    out: Path
    gateway: LlmGateway
    icp: Icp
    source: EvidenceSource
    concurrency: int = 16
    """LLM calls in flight at most; the admission window is twice this."""
    timeout: float = 30.0
    crm_fault_rate: float = 0.0
    seed: int = 0
    fallback_model: str | None = None
    crm: CrmStore | None = None
    """A CRM to use instead of ``crm.sqlite`` (tests inject failing ones)."""
    hooks: tuple[PublishHook, ...] = ()
    """Called with every envelope the bus accepts, before delivery."""
    baseline: Profile | None = None
    """A drift baseline to compare this run's profile with."""
    baseline_name: str = ""
    journal: bool = True
    """Journal every message, so that a stopped or crashed run resumes where it was."""
    handle_signals: bool = False
    """Drain and stop on SIGINT or SIGTERM (the command line sets this)."""
    log: EventLog | None = None
    """Where events go (``events.jsonl`` from the command line); nowhere if ``None``."""

    @property
    def window(self) -> int:
        """Leads in flight at most: admission control keeps every mailbox below its bound."""
        return 2 * self.concurrency

    @property
    def mailbox_capacity(self) -> int:
        # Each admitted lead has at most two messages queued anywhere at once (an
        # output and its verdict), so the feedback cycle can never fill a mailbox.
        return 2 * self.window + 8


@dataclass(frozen=True, slots=True)
class Injection:
    """An envelope to publish for a record that already went through intake.

    This is how a reviewer's approval resumes a lead, and how a dead letter is replayed:
    the record's outcome is cleared first, and the run waits for its new one.
    """

    record: int
    envelope: Envelope[Message]


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a run has got; handed to the progress callback after every outcome."""

    total: int | None
    done: int
    outcomes: dict[str, int]
    llm_calls: int
    retries: int
    in_flight_calls: int


@dataclass(frozen=True, slots=True)
class RunSummary:
    leads: int
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

    def contract(self) -> dict[str, object]:
        """The ``--json`` summary, exactly as DESIGN.md specifies it."""
        return {
            "leads": self.leads,
            "outcomes": self.outcomes,
            "llm_calls": self.llm_calls,
            "retries": self.retries,
            "validation_failures": self.validation_failures,
            "makespan_s": round(self.makespan_s, 3),
            "leads_per_s": round(self.leads_per_s, 2),
        }


@final
class _Admission:
    """At most ``window`` leads in flight; an outcome frees a place."""

    def __init__(self, window: int) -> None:
        self._places = anyio.Semaphore(window)
        self._in_flight: set[int] = set()
        self._idle = anyio.Event()
        self._idle.set()

    async def admit(self, record: int) -> None:
        await self._places.acquire()
        self._admitted(record)

    def try_admit(self, record: int) -> bool:
        """Admit ``record`` if a place is free now, without waiting."""
        try:
            self._places.acquire_nowait()
        except anyio.WouldBlock:
            return False
        self._admitted(record)
        return True

    def _admitted(self, record: int) -> None:
        self._in_flight.add(record)
        if self._idle.is_set():
            self._idle = anyio.Event()

    def settle(self, record: int) -> bool:
        if record not in self._in_flight:
            return False
        self._in_flight.remove(record)
        self._places.release()
        if not self._in_flight:
            self._idle.set()
        return True

    async def wait_idle(self) -> None:
        await self._idle.wait()


async def run_pipeline(
    config: PipelineConfig,
    records: Iterable[RawRecord],
    *,
    injections: Sequence[Injection] = (),
    total: int | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> RunSummary:
    """Run every record not already finished in ``config.out`` through the pipeline.

    Each ``Injection`` is published as it is, for a record whose outcome was cleared: it,
    and not the journal, says where that record's lead picks up.
    """
    config.out.mkdir(parents=True, exist_ok=True)
    ledger = LedgerStore(config.out / JOURNAL_FILE)
    # One connection to the file for both, so that their writes never contend for its lock.
    journal = SqliteJournal(ledger.db) if config.journal else None
    sqlite_crm = SqliteCrm(config.out / "crm.sqlite")
    review = ReviewStore(config.out / "review.sqlite")
    dead = DeadLetterStore(config.out / "dead_letters.sqlite")
    try:
        return await _run(
            config, records, injections, total, on_progress, ledger, journal, sqlite_crm,
            review, dead,
        )  # fmt: skip
    finally:
        for store in (ledger, journal, sqlite_crm, review, dead):
            if store is not None:
                store.close()


async def _run(
    config: PipelineConfig,
    records: Iterable[RawRecord],
    injections: Sequence[Injection],
    total: int | None,
    on_progress: Callable[[Progress], None] | None,
    ledger: LedgerStore,
    journal: SqliteJournal | None,
    sqlite_crm: SqliteCrm,
    review: ReviewStore,
    dead: DeadLetterStore,
) -> RunSummary:
    done_before = ledger.done_records()
    injected = {injection.record for injection in injections}
    resumption = (
        plan_resumption(journal, done_before | injected)
        if journal is not None
        else Resumption({}, [], {}, ledger.seen_keys())
    )
    admission = _Admission(config.window)
    halted: list[RunHalted] = []
    drifted: list[str] = []
    stop_feeding = anyio.Event()
    interrupted: list[int] = []
    admitting = anyio.CancelScope()
    profile_saved = anyio.Event()
    counts: dict[str, int] = {}
    book = MetricsBook()
    caller = LlmCaller(
        config.gateway, limit=config.concurrency, fallback_model=config.fallback_model
    )
    crm: CrmStore = config.crm if config.crm is not None else sqlite_crm
    if config.crm_fault_rate > 0:
        crm = FlakyCrm(crm, rate=config.crm_fault_rate, seed=config.seed)

    def progress() -> None:
        if on_progress is not None:
            # The counters, not caller.statistics(): that sorts the latency samples, and
            # doing so after every outcome made a long run slow down as it went.
            calls = caller.stats
            on_progress(
                Progress(
                    total=total,
                    done=sum(counts.values()),
                    outcomes=dict(counts),
                    llm_calls=calls.calls,
                    retries=calls.retries + calls.reasks,
                    in_flight_calls=calls.in_flight,
                )
            )

    def on_outcome(outcome: LeadOutcome) -> None:
        if admission.settle(outcome.record):
            counts[outcome.outcome.value] = counts.get(outcome.outcome.value, 0) + 1
            progress()

    def on_notice(notice: RunNotice) -> None:
        match notice:
            case RunHalted():
                halted.append(notice)
                stop_feeding.set()
            case DriftDetected(columns=columns):
                drifted.extend(column.name for column in columns)
            case ProfileSaved():
                profile_saved.set()

    bus = build_bus(config.mailbox_capacity, config.hooks, journal)
    log = config.log if config.log is not None else null_log()
    log.info(
        "run_started",
        out=str(config.out),
        done_before=len(done_before),
        resuming=len(resumption.records),
        concurrency=config.concurrency,
    )
    profile = ProfileBuilder(seed=config.seed)
    # A resumed run adds to the profile of the leads done before, rather than replacing it.
    if (config.out / PROFILE_FILE).is_file():
        with contextlib.suppress(UsageError):
            profile.profile = Profile.load(config.out / PROFILE_FILE)
    parts = SystemParts(
        out=config.out,
        caller=caller,
        icp=config.icp,
        source=config.source,
        crm=crm,
        ledger=ledger,
        review=review,
        dead=dead,
        book=book,
        profile=profile,
        baseline=config.baseline,
        baseline_name=config.baseline_name,
        on_outcome=on_outcome,
        on_notice=on_notice,
        seen=resumption.seen,
        breaker=CircuitBreaker(),
        handlers=config.window,
        timeout=config.timeout,
        log=log,
    )
    supervisor = build_supervisor(bus, parts)
    leads = 0

    async def resume() -> None:
        # Handlers are idempotent for work already done, so the loose ends are simply
        # delivered again; only unfinished leads take places in the admission window.
        for envelope, subscriber in resumption.loose:
            await bus.redeliver(envelope, subscriber)
        for injection in injections:
            await admission.admit(injection.record)
            await bus.publish(injection.envelope)
        for record in sorted(resumption.records):
            await admission.admit(record)
            for envelope, subscriber in resumption.redeliveries.get(record, ()):
                await bus.redeliver(envelope, subscriber)
            if record in resumption.restarts:
                await bus.publish(resumption.restarts[record])

    async def feed(feeding: anyio.CancelScope) -> None:
        with admitting:
            await resume()
            await feed_records()
        await admission.wait_idle()
        if not interrupted:
            await bus.publish(Envelope.new(ProfileFlush(), producer=OPERATOR))
            await profile_saved.wait()
        feeding.cancel()

    async def feed_records() -> None:
        nonlocal leads
        iterator = iter(records)
        # Records rows go in a window's worth at a time, in one transaction off the
        # event loop, and before any lead of the chunk is published: a lead's outcome
        # never lands without its record (resume's duplicate checks join the two).
        while chunk := list(itertools.islice(iterator, config.window)):
            ids = [lead_id_for(raw.fields, raw.record) for raw in chunk]
            await ledger.save_records(
                [(raw.record, lead_id, raw.fields) for raw, lead_id in zip(chunk, ids, strict=True)]
            )
            # Leads that find a free place go out together, in one commit; before waiting
            # for a place, what is ready is published, so that its outcomes can free one.
            ready: list[Envelope[Message]] = []
            for raw, lead_id in zip(chunk, ids, strict=True):
                leads += 1
                if raw.record in done_before or raw.record in resumption.records:
                    continue
                if not admission.try_admit(raw.record):
                    await bus.commit(ready)
                    ready = []
                    await admission.admit(raw.record)
                submitted = LeadSubmitted(record=raw.record, lead_id=lead_id, fields=raw.fields)
                ready.append(Envelope.new(submitted, producer=OPERATOR, trace_id=lead_id))
            await bus.commit(ready)

    async def halt_when_told(feeding: anyio.CancelScope) -> None:
        await stop_feeding.wait()
        feeding.cancel()

    async def stop_on_signal(feeding: anyio.CancelScope) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                interrupted.append(signum)
                admitting.cancel()
                # Leads already admitted get a bounded time to finish; the rest stay
                # pending in the journal, and the next run picks them up.
                with anyio.move_on_after(DRAIN_S):
                    await admission.wait_idle()
                feeding.cancel()
                return

    started = time.perf_counter()
    try:
        async with anyio.create_task_group() as system:
            await system.start(supervisor.run)
            async with anyio.create_task_group() as feeding:
                feeding.start_soon(feed, feeding.cancel_scope)
                feeding.start_soon(halt_when_told, feeding.cancel_scope)
                if config.handle_signals:
                    feeding.start_soon(stop_on_signal, feeding.cancel_scope)
            supervisor.stop(drain=not (halted or interrupted))
    finally:
        await bus.aclose()
    makespan = time.perf_counter() - started

    outcomes = {o.value: 0 for o in Outcome}
    pending = 0
    for outcome, count in ledger.counts().items():
        if outcome == PENDING:
            pending = count
        else:
            outcomes[outcome] = count
    stats = caller.statistics()
    summary = RunSummary(
        leads=leads,
        outcomes=outcomes,
        pending=pending,
        llm_calls=stats.calls,
        retries=stats.retries + stats.reasks,
        validation_failures=book.validation_failures,
        makespan_s=makespan,
        leads_per_s=leads / makespan if makespan > 0 else 0.0,
        tokens_by_stage=stats.tokens_by_stage,
        failures_by_rule=dict(book.failures_by_rule),
        halted=halted[0].reason if halted else None,
        drifted=tuple(drifted),
        latency_p50_s=stats.latency_p50_by_stage,
        latency_p95_s=stats.latency_p95_by_stage,
        cost_usd_by_stage=stats.cost_by_stage,
        interrupted=interrupted[0] if interrupted else None,
    )
    (config.out / SUMMARY_FILE).write_text(json.dumps(asdict(summary), indent=2) + "\n")
    log.info("run_finished", **summary.contract(), pending=pending)
    if summary.halted is not None:
        log.error("run_halted", reason=summary.halted)
    if summary.interrupted is not None:
        log.warning("run_interrupted", signal=summary.interrupted, pending=pending)
    if summary.drifted:
        log.warning("drift_detected", columns=list(summary.drifted))
    return summary
