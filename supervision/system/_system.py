"""The live system on one run directory: its actors under one supervisor, fed by any
number of feeders. Feeders (a file, a pipe, HTTP) submit records to the durable inbox;
the admitter (``_admitter``) hands them to the actors in order, a window at a time; the
system counts what is unfinished and tells listeners each outcome. ``open_system``
(``_lifespan``) opens and closes it.
"""

from __future__ import annotations

import contextlib
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
    FlakyCrm,
    LlmCaller,
    MetricsBook,
    Receipt,
    RunKnowledge,
    RunNotice,
    Submission,
    null_log,
)
from actors.drift import PROFILE_FILE, DriftReport, Profile, ProfileBuilder
from actors.llm import Spend, Usage
from actors.webhooks import SecretFiles, Webhooks
from bus import Bus
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
from supervision.system._group_submit import GroupSubmit
from supervision.system._housekeeping import Housekeeping
from supervision.system._retries import RetryRunner
from supervision.system._stores import Stores
from supervision.system._wiring import (
    OPERATOR,
    SystemParts,
    build_bus,
    build_supervisor,
)

OutcomeListener = Callable[[LeadOutcome], None]
COMPLETED = Outcome.COMPLETED.value


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
        self.config = config
        self.admits = admit
        """Whether it admits the inbox's records; an operator's one-off action does not,
        so that it touches no lead but the one it acts on."""
        self.stores = stores
        self.log = config.log if config.log is not None else null_log()
        self.caller = LlmCaller(
            config.gateway, limit=config.concurrency, fallback_model=config.fallback_model
        )
        self.book = MetricsBook()
        self.companies = CompanyResearch(
            stores.research, ttl=config.research_ttl, now=config.research_clock
        )
        """Research reused per company, kept in ``journal.sqlite``."""
        self._usage_saved: dict[tuple[str, str], Usage] = {}
        self.housekeeping = Housekeeping(
            stores.journal, stores.ledger, self.save_usage, config.compaction, log=self.log
        )
        """Finished leads compacted, and usage saved, while the system runs."""
        self.halted: RunHalted | None = None
        self.drifted: list[str] = []
        self.heard: dict[str, int] = {}
        """Outcomes this process has settled, by outcome."""
        self.halt = anyio.Event()
        self.stop_by: float | None = None
        """When stopping must be over (``anyio.current_time``); ``STOP_S`` from the stop
        if ``None``."""
        self._admission = Admission(config.window)
        self._inbox = GroupSubmit(stores.ledger)
        self._listeners: list[OutcomeListener] = []
        self._waiters: dict[int, anyio.Event] = {}
        self._unfinished = stores.ledger.unfinished() if admit else 0
        self._finished = anyio.Event()
        self._room = anyio.Event()
        self._profile_saved = anyio.Event()
        self.profile = ProfileBuilder(seed=config.seed, window=config.drift_window)
        self.live_drift: DriftReport | None = None
        """The verdict on the last full live drift window, when there is a baseline."""
        self.windows = 0
        # A resumed run adds to the profile of the leads done before, rather than replacing it.
        if (config.out / PROFILE_FILE).is_file():
            with contextlib.suppress(UsageError):
                self.profile.profile = Profile.load(config.out / PROFILE_FILE)
        self.webhooks = Webhooks(stores.webhooks, SecretFiles(config.out))
        """The run directory's webhooks; sent while the system runs, if it admits leads (an
        operator's one-off action leaves them to the service or the next run)."""
        if bus is None:
            bus = build_bus(config.mailbox_capacity, config.hooks, stores.journal)
        self.bus: Bus = bus
        self.distributed = bus.shared
        """Whether the stages run in other processes, on a shared bus."""
        self.supervisor: Supervisor = build_supervisor(
            self.bus, self._parts(), stages=not self.distributed
        )
        self._admitter = Admitter(stores, self._admission, self.bus)
        self.retries = RetryRunner(self, self.log)
        """Operations' automatic retries, run by a system that admits (owns the run)."""
        self._check_finished()

    def _parts(self) -> SystemParts:
        config = self.config
        crm: CrmStore = config.crm if config.crm is not None else self.stores.crm
        if config.crm_fault_rate > 0:
            crm = FlakyCrm(crm, rate=config.crm_fault_rate, seed=config.seed)
        return SystemParts(
            out=config.out,
            caller=self.caller,
            icp=config.icp,
            # What reviewers added comes first: a lead retried with evidence finds it.
            source=RunKnowledge(config.out / KNOWLEDGE_FILE, config.source),
            prompts=config.prompts,
            crm=crm,
            ledger=self.stores.ledger,
            review=self.stores.review,
            dead=self.stores.dead,
            book=self.book,
            profile=self.profile,
            baseline=config.baseline,
            baseline_name=config.baseline_name,
            on_outcome=self._on_outcome,
            on_notice=self._on_notice,
            on_window=self._on_window,
            breaker=CircuitBreaker(),
            handlers=config.window,
            timeout=config.timeout,
            log=self.log,
            ops_retry=config.ops_retry,
            webhooks=self.webhooks if self.admits else None,
            companies=self.companies,
            housekeeping=self.housekeeping if self.admits else None,
        )

    # Feeding

    async def open_input(self, source: str) -> int:
        """Register an input (a file, stdin, an HTTP request) and return its number."""
        return await self.stores.ledger.open_input(source)

    @property
    def queued(self) -> int:
        """Records submitted and unfinished that hold no admission place yet."""
        return max(0, self._unfinished - self._admission.in_flight)

    def inbox_room(self) -> int:
        """How many more records the inbox takes before feeders must wait."""
        return max(0, self.config.inbox_limit - self.queued)

    async def wait_for_room(self) -> None:
        """Return once the inbox has room for at least one more record."""
        while self.inbox_room() == 0:
            if self._room.is_set():
                self._room = anyio.Event()
            await self._room.wait()

    async def submit(
        self,
        input_id: int,
        rows: Sequence[tuple[int, Mapping[str, RawValue]]],
        claim: Claim | None = None,
    ) -> list[Receipt]:
        """Submit ``(position, fields)`` rows; durable when this returns. Under a ``claim``
        (an idempotency key), in its transaction: no receipts when it was taken before."""
        receipts = await self._inbox.submit(input_id, rows, claim)
        fresh = sum(r.submission is Submission.NEW for r in receipts)
        if fresh:
            self._unfinished += fresh
            if self._finished.is_set():
                self._finished = anyio.Event()
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
                await self.stores.ledger.db.run(write)
            except BaseException:
                self._admission.settle(record)
                raise
            self._unfinished += 1
            if self._finished.is_set():
                self._finished = anyio.Event()
            done = self._waiters.setdefault(record, anyio.Event()) if wait else None
            await self.bus.publish(envelope)
        if done is None:
            return None
        await done.wait()
        return self.stores.ledger.outcome_of(record)

    def holds(self, record: int) -> bool:
        """Whether ``record`` holds an admission place: it is in flight."""
        return self._admission.holds(record)

    def heard_decision(self, outcome: str) -> None:
        """Count an outcome a person set without the actors (a decline), as if heard."""
        self.heard[outcome] = self.heard.get(outcome, 0) + 1

    def listen(self, listener: OutcomeListener) -> Callable[[], None]:
        """Call ``listener`` with every outcome from now on; returns how to stop."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @property
    def in_flight(self) -> int:
        return self._admission.in_flight

    @property
    def unfinished(self) -> int:
        return self._unfinished

    async def wait_finished(self) -> None:
        """Return once every submitted record has an outcome."""
        await self._finished.wait()

    async def wait_settled(self) -> None:
        """Return once no admitted record is in flight."""
        await self._admission.wait_idle()

    def stop_admitting(self) -> None:
        """Admit nothing more, and start no retry; what is unfinished stays in the inbox
        for the next start."""
        self._admitter.stop()
        self.retries.cancel()

    async def stop_retrying(self) -> None:
        """Start no more automatic retries, once those due at start have started (a run
        that has fed its input: it finishes what it started, and no more)."""
        await self.retries.stop()

    async def flush_profile(self) -> None:
        """Have the drift monitor save (and compare) the profile, and wait for it."""
        self._profile_saved = anyio.Event()
        await self.bus.publish(Envelope.new(ProfileFlush(), producer=OPERATOR))
        await self._profile_saved.wait()

    # Usage

    def spend(self) -> Spend:
        """What this process's LLM calls used and cost, and the leads it completed."""
        return Spend(self.caller.statistics().usage, self.heard.get(COMPLETED, 0))

    def _unsaved_usage(self) -> tuple[dict[tuple[str, str], Usage], dict[tuple[str, str], Usage]]:
        """The usage now, and what of it is not saved yet."""
        now = self.caller.statistics().usage
        unsaved = {
            key: used.minus(self._usage_saved.get(key, Usage())) for key, used in now.items()
        }
        return now, {key: used for key, used in unsaved.items() if used.calls}

    async def save_usage(self) -> None:
        """Add the LLM usage not saved yet to the run directory's (for ``report --cost``)."""
        now, unsaved = self._unsaved_usage()
        await self.stores.usage.add(unsaved)
        self._usage_saved = now

    def save_usage_now(self) -> None:
        """``save_usage``, blocking: for a system that is closing."""
        now, unsaved = self._unsaved_usage()
        self.stores.usage.add_now(unsaved)
        self._usage_saved = now

    # Running

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start the actors, pick up what a crash left, then admit records until stopped."""
        async with anyio.create_task_group() as group:
            await group.start(self.supervisor.run)
            if not self.admits:
                task_status.started()
                return
            redelivered = await self._admitter.pick_up()
            self.log.info(
                "run_started",
                out=str(self.config.out),
                unfinished=self._unfinished,
                redelivered=redelivered,
                concurrency=self.config.concurrency,
            )
            group.start_soon(self._admitter.run)
            await group.start(self.retries.run)
            task_status.started()

    # What the actors tell it

    def _on_outcome(self, outcome: LeadOutcome, first: bool) -> None:
        self._admission.settle(outcome.record)
        if not first:
            return
        self._unfinished -= 1
        self.webhooks.ring()
        self.housekeeping.note_finished(outcome.lead_id)
        self.heard[outcome.outcome.value] = self.heard.get(outcome.outcome.value, 0) + 1
        if outcome.outcome is Outcome.FAILED:
            self.retries.wake()  # its retry was scheduled with its dead letter
        self._room.set()
        waiter = self._waiters.pop(outcome.record, None)
        if waiter is not None:
            waiter.set()
        for listener in list(self._listeners):
            listener(outcome)
        self._check_finished()

    def _check_finished(self) -> None:
        if self._unfinished <= 0:
            self._finished.set()

    def _on_window(self, report: DriftReport) -> None:
        self.live_drift = report
        self.windows += 1

    def _on_notice(self, notice: RunNotice) -> None:
        match notice:
            case RunHalted():
                if self.halted is None:
                    self.halted = notice
                self.stop_admitting()
                self.halt.set()
            case DriftDetected(columns=columns):
                self.drifted.extend(c.name for c in columns if c.name not in self.drifted)
            case ProfileSaved():
                self._profile_saved.set()
