"""The SDR pipeline as one supervised actor system, and a run of it over input records."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import final

import anyio

from actors import (
    Crm,
    CrmStore,
    DeadLetters,
    DeadLetterStore,
    EvidenceSource,
    FlakyCrm,
    Icp,
    LedgerStore,
    LlmCaller,
    LlmGateway,
    Metrics,
    MetricsBook,
    OutcomeLedger,
    Research,
    ReviewQueue,
    ReviewStore,
    RuleContext,
    RunControl,
    Scoring,
    SqliteCrm,
    Validator,
    Writer,
)
from actors.intake import Intake, RawRecord, lead_id_for
from bus import InProcessBus, PublishHook, Unrouted
from messages import (
    Envelope,
    LeadOutcome,
    LeadScore,
    LeadSubmitted,
    Message,
    Outcome,
    OutreachDraft,
    ResearchResult,
    RunHalted,
)
from supervision._spec import actor_child
from supervision._supervisor import Supervisor

VALIDATOR = "validator"
OPERATOR = "operator"


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
        self._in_flight.add(record)
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
    records: Iterable[RawRecord | Injection],
    *,
    total: int | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> RunSummary:
    """Run every record not already finished in ``config.out`` through the pipeline.

    An ``Injection`` is published as it is, for a record whose outcome was cleared.
    """
    config.out.mkdir(parents=True, exist_ok=True)
    ledger = LedgerStore(config.out / "journal.sqlite")
    sqlite_crm = SqliteCrm(config.out / "crm.sqlite")
    review = ReviewStore(config.out / "review.sqlite")
    dead = DeadLetterStore(config.out / "dead_letters.sqlite")
    try:
        return await _run(config, records, total, on_progress, ledger, sqlite_crm, review, dead)
    finally:
        for store in (ledger, sqlite_crm, review, dead):
            store.close()


async def _run(
    config: PipelineConfig,
    records: Iterable[RawRecord | Injection],
    total: int | None,
    on_progress: Callable[[Progress], None] | None,
    ledger: LedgerStore,
    sqlite_crm: SqliteCrm,
    review: ReviewStore,
    dead: DeadLetterStore,
) -> RunSummary:
    done_before = ledger.done_records()
    admission = _Admission(config.window)
    halted: list[RunHalted] = []
    stop_feeding = anyio.Event()
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
            stats = caller.statistics()
            on_progress(
                Progress(
                    total=total,
                    done=sum(counts.values()),
                    outcomes=dict(counts),
                    llm_calls=stats.calls,
                    retries=stats.retries + stats.reasks,
                    in_flight_calls=stats.in_flight,
                )
            )

    def on_outcome(outcome: LeadOutcome) -> None:
        if admission.settle(outcome.record):
            counts[outcome.outcome.value] = counts.get(outcome.outcome.value, 0) + 1
            progress()

    def on_halt(message: RunHalted) -> None:
        halted.append(message)
        stop_feeding.set()

    bus = InProcessBus(
        validators={ResearchResult: VALIDATOR, LeadScore: VALIDATOR, OutreachDraft: VALIDATOR},
        unrouted=Unrouted.DEAD_LETTER,
        default_capacity=config.mailbox_capacity,
        hooks=config.hooks,
    )
    io = {"concurrency": config.window}
    rules = RuleContext(
        sender_domain=config.icp.sender.domain,
        fit_high=config.icp.fit_high,
        fit_medium=config.icp.fit_medium,
    )
    children = [
        actor_child(bus, lambda: RunControl(on_halt)),
        actor_child(bus, lambda: OutcomeLedger(ledger, on_outcome)),
        actor_child(bus, lambda: Metrics(book)),
        actor_child(bus, lambda: DeadLetters(dead)),
        actor_child(bus, lambda: ReviewQueue(review)),
        actor_child(bus, lambda: Crm(crm, **io)),
        actor_child(bus, lambda: Validator(rules, name=VALIDATOR)),
        actor_child(bus, lambda: Writer(caller, config.icp, timeout=config.timeout, **io)),
        actor_child(bus, lambda: Scoring(caller, config.icp, timeout=config.timeout, **io)),
        actor_child(bus, lambda: Research(caller, config.source, timeout=config.timeout, **io)),
        actor_child(bus, lambda: Intake(seen=ledger.seen_keys())),
    ]
    supervisor = Supervisor("pipeline", children, max_restarts=10, period=5.0)

    leads = 0

    async def feed(feeding: anyio.CancelScope) -> None:
        nonlocal leads
        for raw in records:
            if isinstance(raw, Injection):
                await admission.admit(raw.record)
                await bus.publish(raw.envelope)
                continue
            leads += 1
            lead_id = lead_id_for(raw.fields, raw.record)
            ledger.add_records([(raw.record, lead_id, raw.fields)])
            if raw.record in done_before:
                continue
            await admission.admit(raw.record)
            submitted = LeadSubmitted(record=raw.record, lead_id=lead_id, fields=raw.fields)
            await bus.publish(Envelope.new(submitted, producer=OPERATOR, trace_id=lead_id))
        await admission.wait_idle()
        feeding.cancel()

    async def halt_when_told(feeding: anyio.CancelScope) -> None:
        await stop_feeding.wait()
        feeding.cancel()

    started = time.perf_counter()
    try:
        async with anyio.create_task_group() as system:
            await system.start(supervisor.run)
            async with anyio.create_task_group() as feeding:
                feeding.start_soon(feed, feeding.cancel_scope)
                feeding.start_soon(halt_when_told, feeding.cancel_scope)
            supervisor.stop(drain=not halted)
    finally:
        await bus.aclose()
    makespan = time.perf_counter() - started

    report = ledger.report()
    outcomes = {o.value: 0 for o in Outcome}
    pending = 0
    for row in report:
        if row.outcome == "pending":
            pending += 1
        else:
            outcomes[row.outcome] += 1
    stats = caller.statistics()
    return RunSummary(
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
    )
