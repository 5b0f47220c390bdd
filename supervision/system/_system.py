"""The live system on one run directory: its actors under one supervisor, fed by any
number of feeders. Feeders (a file, a pipe, HTTP) submit records to the durable inbox;
the admitter (``_admitter``) hands them to the actors in order, a window at a time; the
system counts what is unfinished and tells listeners each outcome. ``open_system``
(``_lifespan``) opens and closes it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import final

import anyio
from anyio.abc import TaskStatus

from actors import (
    KNOWLEDGE_FILE,
    CircuitBreaker,
    Claim,
    CompanyResearch,
    CrmStore,
    EventLog,
    FlakyCrm,
    LlmCaller,
    MetricsBook,
    Receipt,
    RunKnowledge,
    RunNotice,
    Submission,
    null_log,
)
from actors.drift import Profile
from actors.intake import CheckedRecord
from actors.llm import Spend
from actors.webhooks import SecretFiles, Webhooks
from bus import Bus, SqliteFile
from messages import (
    DriftDetected,
    Envelope,
    LeadOutcome,
    Message,
    Outcome,
    ProfileFlush,
    ProfileSaved,
    RawValue,
    RunHalted,
    UsageError,
)
from supervision import Supervisor
from supervision.system._admission import Admission
from supervision.system._admitter import Admitter
from supervision.system._config import PipelineConfig
from supervision.system._drift_watch import DriftWatch
from supervision.system._group_submit import GroupSubmit
from supervision.system._housekeeping import Housekeeping
from supervision.system._outcomes import OutcomeListener, Outcomes
from supervision.system._retries import RetryRunner
from supervision.system._statistics import BookStatistics, SystemStatistics
from supervision.system._stores import Stores
from supervision.system._usage import UsageKeeper
from supervision.system._wiring import (
    OPERATOR,
    SystemParts,
    build_bus,
    build_supervisor,
)


@final
class System:
    """The supervised actor system on one run directory, fed by any number of feeders.

    Build it with ``open_system``. Records are submitted to the ledger (durable from the
    moment ``submit`` returns), and an admitter hands unfinished records to the actors
    in the order they were first submitted, at most ``config.window`` at a time. Records
    an earlier process left unfinished are admitted first, from where their lead stopped.
    """

    def __init__(
        self,
        config: PipelineConfig,
        stores: Stores,
        *,
        admit: bool = True,
        bus: Bus | None = None,
    ) -> None:
        """``bus``, when given, is a bus other processes share (``NatsBus``): this
        process then runs only the stateful actors, and workers run the stages."""
        self._config = config
        self._admits = admit
        self._stores = stores
        self._log = config.log if config.log is not None else null_log()
        self._caller = LlmCaller(
            config.gateway, limit=config.concurrency, fallback_model=config.fallback_model
        )
        self._book = MetricsBook()
        self._companies = CompanyResearch(
            stores.research, ttl=config.research_ttl, now=config.research_clock
        )
        self._usage = UsageKeeper(stores.usage, self._caller)
        self._housekeeping = Housekeeping(
            stores.journal, stores.ledger, self._usage.save, config.compaction, log=self._log
        )
        self._halted: RunHalted | None = None
        self._halt = anyio.Event()
        self._stop_by: float | None = None
        self._admission = Admission(config.window)
        self._inbox = GroupSubmit(stores.ledger)
        self._outcomes = Outcomes(stores.ledger.unfinished() if admit else 0)
        self._drift = DriftWatch(config.out, seed=config.seed, window=config.drift_window)
        # Sent while the system runs, if it admits leads (an operator's one-off action
        # leaves them to the service or the next run).
        self._webhooks = Webhooks(stores.webhooks, SecretFiles(config.out))
        if bus is None:
            bus = build_bus(config.mailbox_capacity, config.hooks, stores.journal)
        self._bus: Bus = bus
        self._supervisor: Supervisor = build_supervisor(
            self._bus, self._parts(), stages=not self.distributed
        )
        self._admitter = Admitter(stores, self._admission, self._bus)
        self._retries = RetryRunner(self, self._log)

    # What it is built from, and its parts

    @property
    def config(self) -> PipelineConfig:
        return self._config

    @property
    def stores(self) -> Stores:
        """The run directory's stores, to read from (the operator's actions write)."""
        return self._stores

    @property
    def log(self) -> EventLog:
        """Where its events go (``events.jsonl`` from the command line)."""
        return self._log

    @property
    def caller(self) -> LlmCaller:
        """The LLM caller every stage goes through (a run's progress reads its cheap
        counters after every outcome; the faces read ``statistics()``)."""
        return self._caller

    @property
    def bus(self) -> Bus:
        return self._bus

    @property
    def distributed(self) -> bool:
        """Whether the stages run in other processes, on a shared bus."""
        return self._bus.shared

    @property
    def housekeeping(self) -> Housekeeping:
        """Finished leads compacted, and usage saved, while the system runs."""
        return self._housekeeping

    @property
    def retries(self) -> RetryRunner:
        """Operations' automatic retries, run by a system that admits (owns the run)."""
        return self._retries

    @property
    def halted(self) -> RunHalted | None:
        """Why the system stopped admitting for good (quota, auth), if it did."""
        return self._halted

    @property
    def stop_by(self) -> float | None:
        """When stopping must be over (``anyio.current_time``); ``STOP_S`` from the stop
        if ``None``."""
        return self._stop_by

    def statistics(self) -> SystemStatistics:
        """The system now: outcomes, admission, LLM calls and their cost, verdicts, reuse,
        compaction, drift."""
        caller, settled = self._caller.statistics(), dict(self._outcomes.settled)
        return SystemStatistics(
            settled=settled,
            queued=self.queued,
            in_flight=self.in_flight,
            unfinished=self.unfinished,
            caller=caller,
            spend=Spend(caller.usage, settled.get(Outcome.COMPLETED.value, 0)),
            book=BookStatistics.of(self._book),
            companies=self._companies.statistics(),
            housekeeping=self._housekeeping.statistics(),
            halted=self._halted.reason if self._halted is not None else None,
            drifted=tuple(self._drift.drifted),
            live_drift=self._drift.live,
            drift_windows=self._drift.windows,
            window_leads=self._drift.builder.window_leads,
        )

    def drift_profile(self) -> Profile:
        """A copy of the live drift profile, taken on the event loop where the drift
        monitor adds to it: what a report compares with the baseline, in a thread."""
        return self._drift.profile()

    def journal_file(self) -> SqliteFile:
        """The run directory's ``journal.sqlite``, where a face keeps its own tables beside
        the run's (sessions, idempotency keys): ``share`` it with their schema."""
        return self._stores.ledger.db

    def send_webhooks(self) -> None:
        """Deliver the webhooks' outbox now: an endpoint was enabled, or a delivery is due
        again."""
        self._webhooks.ring()

    def _parts(self) -> SystemParts:
        config = self._config
        crm: CrmStore = config.crm if config.crm is not None else self._stores.crm
        if config.crm_fault_rate > 0:
            crm = FlakyCrm(crm, rate=config.crm_fault_rate, seed=config.seed)
        return SystemParts(
            out=config.out,
            caller=self._caller,
            icp=config.icp,
            # What reviewers added comes first: a lead retried with evidence finds it.
            source=RunKnowledge(config.out / KNOWLEDGE_FILE, config.source),
            prompts=config.prompts,
            crm=crm,
            ledger=self._stores.ledger,
            review=self._stores.review,
            dead=self._stores.dead,
            book=self._book,
            profile=self._drift.builder,
            baseline=config.baseline,
            baseline_name=config.baseline_name,
            on_outcome=self._on_outcome,
            on_notice=self._on_notice,
            on_window=self._drift.judged,
            breaker=CircuitBreaker(cooldown=config.crm_cooldown),
            handlers=config.window,
            timeout=config.timeout,
            log=self._log,
            ops_retry=config.ops_retry,
            webhooks=self._webhooks if self._admits else None,
            companies=self._companies,
            housekeeping=self._housekeeping if self._admits else None,
        )

    # Feeding

    async def open_input(self, source: str) -> int:
        """Register an input (a file, stdin, an HTTP request) and return its number."""
        return await self._stores.ledger.open_input(source)

    @property
    def queued(self) -> int:
        """Records submitted and unfinished that hold no admission place yet."""
        return max(0, self._outcomes.unfinished - self._admission.in_flight)

    def inbox_room(self) -> int:
        """How many more records the inbox takes before feeders must wait."""
        return max(0, self._config.inbox_limit - self.queued)

    async def wait_for_room(self) -> None:
        """Return once the inbox has room for at least one more record."""
        while self.inbox_room() == 0:
            await self._outcomes.wait_for_outcome()

    async def submit(
        self,
        input_id: int,
        rows: Sequence[tuple[int, Mapping[str, RawValue] | CheckedRecord]],
        claim: Claim | None = None,
    ) -> list[Receipt]:
        """Submit ``(position, fields)`` rows; durable when this returns. ``fields`` are as
        read (checked as they are submitted), or a record a face checked already. Under a
        ``claim`` (an idempotency key), in its transaction: no receipts when it was taken
        before."""
        receipts = await self._inbox.submit(input_id, rows, claim)
        fresh = sum(r.submission is Submission.NEW for r in receipts)
        if fresh:
            self._outcomes.opened(fresh)
            self._admitter.wake()
        return receipts

    async def restart(
        self,
        record: int,
        write: Callable[[sqlite3.Connection], None],
        envelope: Envelope[Message],
        *,
        wait: bool = True,
    ) -> str | None:
        """Take a finished record on again: an operator's decision, or a retry.

        The record holds an admission place first, so that the admitter never takes it
        too; then ``write`` changes the run directory in one transaction (it clears the
        record's outcome, or raises and nothing changes), and ``envelope`` goes out.
        With ``wait``, returns the record's new outcome once it has one.
        """
        if self._admission.holds(record):
            raise UsageError(f"record {record} is already in flight; wait for its outcome")
        await self._admission.admit(record)
        # Whole or not at all once it holds its place: a stop must not clear an outcome
        # and leave the envelope that earns the next one unsent.
        with anyio.CancelScope(shield=True):
            try:
                await self._stores.ledger.db.run(write)
            except BaseException:
                self._admission.settle(record)
                raise
            self._outcomes.opened(1)
            done = self._outcomes.waiter(record) if wait else None
            await self._bus.publish(envelope)
        if done is None:
            return None
        await done.wait()
        return self._stores.ledger.outcome_of(record)

    async def settle(self, write: Callable[[sqlite3.Connection], None], outcome: Outcome) -> None:
        """A person's decision that ends a lead without the actors (a decline): ``write``
        sets its outcome in one transaction, and it is counted as if the actors had."""
        await self._stores.ledger.db.run(write)
        self._outcomes.count(outcome.value)

    def holds(self, record: int) -> bool:
        """Whether ``record`` holds an admission place: it is in flight."""
        return self._admission.holds(record)

    def listen(self, listener: OutcomeListener) -> Callable[[], None]:
        """Call ``listener`` with every outcome from now on; returns how to stop."""
        return self._outcomes.listen(listener)

    @property
    def in_flight(self) -> int:
        return self._admission.in_flight

    @property
    def unfinished(self) -> int:
        return self._outcomes.unfinished

    async def wait_finished(self) -> None:
        """Return once every submitted record has an outcome."""
        await self._outcomes.wait_finished()

    async def wait_settled(self) -> None:
        """Return once no admitted record is in flight."""
        await self._admission.wait_idle()

    async def wait_halted(self) -> None:
        """Return once the system halts (a failure no retry can fix: quota, auth)."""
        await self._halt.wait()

    def stop_admitting(self) -> None:
        """Admit nothing more, and start no retry; what is unfinished stays in the inbox
        for the next start."""
        self._admitter.stop()
        self._retries.cancel()

    def stop_within(self, seconds: float) -> None:
        """Admit nothing more, and have stopping over ``seconds`` from now (the drain after
        a signal): the actors still busy then are cancelled."""
        self.stop_admitting()
        self._stop_by = anyio.current_time() + seconds

    async def stop_retrying(self) -> None:
        """Start no more automatic retries, once those due at start have started (a run
        that has fed its input: it finishes what it started, and no more)."""
        await self._retries.stop()

    async def flush_profile(self) -> None:
        """Have the drift monitor save (and compare) the profile, and wait for it."""
        self._drift.expect_save()
        await self._bus.publish(Envelope.new(ProfileFlush(), producer=OPERATOR))
        await self._drift.wait_saved()

    def save_usage_now(self) -> None:
        """Add the LLM usage not saved yet to the run directory's, blocking: for a system
        that is closing (a running one saves it in the background)."""
        self._usage.save_now()

    # Running

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start the actors, pick up what a crash left, then admit records until stopped."""
        async with anyio.create_task_group() as group:
            await group.start(self._supervisor.run)
            if not self._admits:
                task_status.started()
                return
            redelivered = await self._admitter.pick_up()
            self._log.info(
                "run_started",
                out=str(self._config.out),
                unfinished=self.unfinished,
                redelivered=redelivered,
                concurrency=self._config.concurrency,
            )
            group.start_soon(self._admitter.run)
            await group.start(self._retries.run)
            task_status.started()

    def stop_actors(self) -> None:
        """Stop the actors: draining what is queued, unless the system halted or leads
        are still in flight (then what they hold stays unacknowledged, for the next start)."""
        self.stop_admitting()
        self._supervisor.stop(drain=self._halted is None and self.in_flight == 0)

    # What the actors tell it

    def _on_outcome(self, outcome: LeadOutcome, first: bool) -> None:
        self._admission.settle(outcome.record)
        if not first:
            return
        self._webhooks.ring()
        self._housekeeping.note_finished(outcome.lead_id)
        if outcome.outcome is Outcome.FAILED:
            self._retries.wake()  # its retry was scheduled with its dead letter
        self._outcomes.heard(outcome)

    def _on_notice(self, notice: RunNotice) -> None:
        match notice:
            case RunHalted():
                if self._halted is None:
                    self._halted = notice
                self.stop_admitting()
                self._halt.set()
            case DriftDetected(columns=columns):
                self._drift.drifted_in([c.name for c in columns])
            case ProfileSaved():
                self._drift.saved()
