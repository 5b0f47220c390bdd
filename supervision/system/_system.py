"""The live system on one run directory: its actors under one supervisor, its durable
inbox, and admission control. Feeders (a file, a pipe, HTTP) submit records; the system
admits them in order, a window at a time, and tells listeners each outcome.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import final

import anyio
from anyio.abc import TaskStatus

from actors import (
    PENDING,
    CircuitBreaker,
    CrmStore,
    FlakyCrm,
    LedgerStore,
    LlmCaller,
    MetricsBook,
    Receipt,
    RunNotice,
    StoredRecord,
    Submission,
    null_log,
)
from actors.drift import PROFILE_FILE, DriftReport, Profile, ProfileBuilder
from bus import Bus, InProcessBus
from messages import (
    DriftDetected,
    Envelope,
    LeadOutcome,
    LeadSubmitted,
    Message,
    ProfileFlush,
    ProfileSaved,
    RawValue,
    RunHalted,
    UsageError,
)
from supervision._supervisor import Supervisor
from supervision.system._admission import Admission
from supervision.system._config import PipelineConfig
from supervision.system._resume import InFlight, in_flight, restarts
from supervision.system._stores import Stores
from supervision.system._wiring import (
    OPERATOR,
    SystemParts,
    build_bus,
    build_supervisor,
    routes,
)
from supervision.system._worker import VALIDATORS

STOP_S = 10.0
"""How long stopping the actors may take before they are cancelled."""
_RESTART_BATCH = 256
"""Unfinished records looked up in the journal at a time when they are admitted."""

OutcomeListener = Callable[[LeadOutcome], None]


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
        self._cursor = 0
        self._fresh_after = stores.ledger.last_record()
        self._unfinished = stores.ledger.unfinished() if admit else 0
        self._finished = anyio.Event()
        self._more = anyio.Event()
        self._room = anyio.Event()
        self._profile_saved = anyio.Event()
        self._admitting = anyio.CancelScope()
        self._in_flight = InFlight({}, [])
        self.profile = ProfileBuilder(seed=config.seed, window=config.drift_window)
        self.live_drift: DriftReport | None = None
        """The verdict on the last full live drift window, when there is a baseline."""
        self.windows = 0
        # A resumed run adds to the profile of the leads done before, rather than replacing it.
        if (config.out / PROFILE_FILE).is_file():
            with contextlib.suppress(UsageError):
                self.profile.profile = Profile.load(config.out / PROFILE_FILE)
        self.distributed = bus is not None
        """Whether the stages run in other processes, on a shared bus."""
        self._local: InProcessBus | None = None
        if bus is None:
            bus = self._local = build_bus(config.mailbox_capacity, config.hooks, stores.journal)
        self.bus: Bus = bus
        self.supervisor: Supervisor = build_supervisor(
            self.bus, self._parts(), stages=not self.distributed
        )
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
            source=config.source,
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
        self, input_id: int, rows: Sequence[tuple[int, Mapping[str, RawValue]]]
    ) -> list[Receipt]:
        """Submit ``(position, fields)`` rows; durable when this returns."""
        receipts = await self._inbox.submit(input_id, rows)
        fresh = sum(r.submission is Submission.NEW for r in receipts)
        if fresh:
            self._unfinished += fresh
            if self._finished.is_set():
                self._finished = anyio.Event()
            self._more.set()
        return receipts

    async def resume(self, record: int, envelope: Envelope[Message]) -> str:
        """Publish ``envelope`` for a record whose outcome was just cleared, and wait for
        its new outcome (an operator's approval or replay)."""
        if self._admission.holds(record):
            raise UsageError(f"record {record} is already in flight; wait for its outcome")
        self._unfinished += 1
        if self._finished.is_set():
            self._finished = anyio.Event()
        done = self._waiters.setdefault(record, anyio.Event())
        await self._admission.admit(record)
        await self.bus.publish(envelope)
        await done.wait()
        return self.stores.ledger.outcome_of(record)

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
        """Admit nothing more; what is unfinished stays in the inbox for the next start."""
        self._admitting.cancel()

    async def flush_profile(self) -> None:
        """Have the drift monitor save (and compare) the profile, and wait for it."""
        self._profile_saved = anyio.Event()
        await self.bus.publish(Envelope.new(ProfileFlush(), producer=OPERATOR))
        await self._profile_saved.wait()

    # Running

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start the actors, pick up what a crash left, then admit records until stopped."""
        async with anyio.create_task_group() as group:
            await group.start(self.supervisor.run)
            if not self.admits:
                task_status.started()
                return
            if self.stores.journal is not None:
                self._in_flight = in_flight(self.stores.journal)
            # Handlers are idempotent for work already done, so the loose ends (about no
            # record, or a finished one) are simply delivered again; only unfinished
            # leads take places in the admission window.
            loose = list(self._in_flight.loose)
            for record in list(self._in_flight.by_record):
                if self.stores.ledger.outcome_of(record) != PENDING:
                    loose.extend(self._in_flight.by_record.pop(record))
            for envelope, subscriber in loose:
                await self._redeliver(envelope, subscriber)
            self.log.info(
                "run_started",
                out=str(self.config.out),
                unfinished=self._unfinished,
                redelivered=len(loose) + sum(map(len, self._in_flight.by_record.values())),
                concurrency=self.config.concurrency,
            )
            group.start_soon(self._admit)
            task_status.started()

    async def _admit(self) -> None:
        with self._admitting:
            while True:
                self._more = anyio.Event()
                batch = await self.stores.ledger.unfinished_after(self._cursor, _RESTART_BATCH)
                batch = [s for s in batch if not self._admission.holds(s.record)]
                if not batch:
                    await self._more.wait()
                    continue
                await self._admit_batch(batch)

    async def _admit_batch(self, batch: list[StoredRecord]) -> None:
        older = [s for s in batch if s.record <= self._fresh_after]
        plans = restarts(self.stores.journal, older) if older else {}
        ready: list[Envelope[Message]] = []
        for stored in batch:
            if not self._admission.try_admit(stored.record):
                # Before waiting for a place, publish what is ready, so its outcomes can
                # free one; leads that found a place go out together, in one commit.
                await self.bus.commit(ready)
                ready = []
                await self._admission.admit(stored.record)
            self._cursor = stored.record
            if self.distributed and self.stores.ledger.outcome_of(stored.record) != PENDING:
                # Its outcome came, from the shared bus, while it waited for a place.
                self._admission.settle(stored.record)
                continue
            redeliveries = self._in_flight.by_record.pop(stored.record, [])
            if redeliveries:
                for envelope, subscriber in redeliveries:
                    await self._redeliver(envelope, subscriber)
            elif stored.record in plans:
                ready.append(plans[stored.record])
            else:
                ready.append(_submitted(stored, stable=self.distributed))
        await self.bus.commit(ready)

    async def _redeliver(self, envelope: Envelope[Message], subscriber: str) -> None:
        # Only a journal has anything to redeliver, and only the in-process bus has one;
        # on a shared bus, the server redelivers what no one acknowledged.
        assert self._local is not None, "a journal is kept only on the in-process bus"
        await self._local.redeliver(envelope, subscriber)

    def _on_outcome(self, outcome: LeadOutcome, first: bool) -> None:
        self._admission.settle(outcome.record)
        if not first:
            return
        self._unfinished -= 1
        self.heard[outcome.outcome.value] = self.heard.get(outcome.outcome.value, 0) + 1
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


@dataclass(eq=False, slots=True)
class _Submission:
    input_id: int
    rows: Sequence[tuple[int, Mapping[str, RawValue]]]
    receipts: list[Receipt] | None = None
    error: BaseException | None = None


@final
class GroupSubmit:
    """Submissions that arrive while one is being written go in the next transaction
    together: a service under many concurrent requests pays one trip to the disk for
    all of them, not one each (the journal's group commit, for the inbox)."""

    def __init__(self, ledger: LedgerStore) -> None:
        self._ledger = ledger
        self._queue: list[_Submission] = []
        self._writing: anyio.Event | None = None

    async def submit(
        self, input_id: int, rows: Sequence[tuple[int, Mapping[str, RawValue]]]
    ) -> list[Receipt]:
        item = _Submission(input_id, rows)
        self._queue.append(item)
        while item.receipts is None and item.error is None:
            if self._writing is not None:
                await self._writing.wait()
                continue
            batch, self._queue = self._queue, []
            self._writing = writing = anyio.Event()
            try:
                with anyio.CancelScope(shield=True):
                    results = await self._ledger.submit_many(
                        [(each.input_id, each.rows) for each in batch]
                    )
                for each, receipts in zip(batch, results, strict=True):
                    each.receipts = receipts
            except Exception as exc:
                for each in batch:
                    each.error = exc
            finally:
                self._writing = None
                writing.set()
        if item.error is not None:
            raise item.error
        assert item.receipts is not None
        return item.receipts


def _submitted(stored: StoredRecord, *, stable: bool = False) -> Envelope[Message]:
    """The record's ``LeadSubmitted``; with ``stable``, under an id derived from the record,
    so that admitting it again after a restart is dropped by the server's duplicate window
    while the first copy is still in the stream."""
    message = LeadSubmitted(record=stored.record, lead_id=stored.lead_id, fields=stored.fields)
    envelope = Envelope.new(message, producer=OPERATOR, trace_id=stored.lead_id)
    if stable:
        text = f"submitted/{stored.record}/{stored.lead_id}"
        message_id = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
        envelope = dataclasses.replace(envelope, message_id=message_id)
    return envelope


@contextlib.contextmanager
def _sole_error() -> Iterator[None]:
    """Raise a task group's only error as itself: an operator error stays one line."""
    try:
        yield
    except BaseExceptionGroup as group:
        leaves = _leaves(group)
        if len(leaves) == 1 and isinstance(leaves[0], Exception):
            raise leaves[0] from None
        raise


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            found.extend(_leaves(error))
        else:
            found.append(error)
    return found


@asynccontextmanager
async def open_system(config: PipelineConfig, *, admit: bool = True) -> AsyncIterator[System]:
    """The system on ``config.out``, running until the block ends.

    Leaving the block stops admission and the actors; what is unfinished stays in the
    run directory, and the next system on it picks it up. Stopping is bounded by
    ``STOP_S``: actors still busy then are cancelled, their messages unacked.
    """
    config.out.mkdir(parents=True, exist_ok=True)
    if config.bus is None:
        async with _open_system(config, admit=admit, bus=None) as system:
            yield system
        return
    from bus import NatsBus  # needs nats-py, which only the NATS bus needs

    async with (
        NatsBus.connect(
            config.bus,
            validators=VALIDATORS,
            user=config.bus_user,
            password=config.bus_password,
            name="serve",
            settings=config.nats,
            default_capacity=config.mailbox_capacity,
            hooks=config.hooks,
            routes=routes(),
        ) as shared,
        _open_system(config, admit=admit, bus=shared) as system,
    ):
        yield system


@asynccontextmanager
async def _open_system(
    config: PipelineConfig, *, admit: bool, bus: Bus | None
) -> AsyncIterator[System]:
    # On a shared bus the server keeps every message; the ledger stays the durable inbox.
    stores = Stores.open(config.out, journal=config.journal and bus is None)
    # On a shared bus, the server may hold a CrmUpdated that settles a stray row.
    settles = bus is None
    try:
        if settles:
            _settle_crm(stores, config)
        system = System(config, stores, admit=admit, bus=bus)
        try:
            with _sole_error():
                async with anyio.create_task_group() as group:
                    await group.start(system.run)
                    try:
                        yield system
                    finally:
                        system.stop_admitting()
                        drain = system.halted is None and system.in_flight == 0
                        system.supervisor.stop(drain=drain)
                        # Cancelled if the actors overrun: a deadline, not a wish.
                        stop_by = system.stop_by
                        if stop_by is None:
                            stop_by = anyio.current_time() + STOP_S
                        group.cancel_scope.deadline = stop_by
        finally:
            await system.bus.aclose()
            # After a failure too, if the files still allow it; if not, the next start does.
            if settles:
                with contextlib.suppress(sqlite3.Error, OSError):
                    _settle_crm(stores, config)
    finally:
        stores.close()


def _settle_crm(stores: Stores, config: PipelineConfig) -> None:
    if settled := stores.settle_crm():
        log = config.log if config.log is not None else null_log()
        log.warning("crm_settled", removed=settled, reason="leads still pending after a crash")
