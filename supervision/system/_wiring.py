"""The pipeline's actors, wired onto one bus under one supervisor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from actors import (
    Actor,
    ActorOptions,
    CircuitBreaker,
    CompanyResearch,
    Crm,
    CrmStore,
    DeadLetters,
    DeadLetterStore,
    EventLog,
    EvidenceSource,
    Icp,
    LedgerStore,
    LlmCaller,
    Metrics,
    MetricsBook,
    OutcomeLedger,
    Prompts,
    Research,
    RetrySchedule,
    ReviewQueue,
    ReviewStore,
    RunControl,
    RunNotice,
    Scoring,
    StageOptions,
    Validator,
    Writer,
)
from actors.drift import DriftMonitor, DriftReport, Profile, ProfileBuilder
from actors.intake import Intake
from actors.webhooks import Webhooks
from bus import Bus, InProcessBus, Journal, PublishHook, Unrouted
from messages import LeadOutcome, Message
from supervision import ChildSpec, Supervisor, SupervisorEvent, actor_child
from supervision.system._housekeeping import Housekeeping

VALIDATOR = "validator"
OPERATOR = "operator"
"""The producer of what a run submits, and of what Operations retries."""
REVIEWER = "reviewer"
"""The producer of what a person decides."""


@dataclass(frozen=True, slots=True)
class SystemParts:
    """What the actors are built from: stores, the LLM caller, and the run's listeners.

    State that must outlive an actor's restart (counters, the drift profile, the stores)
    lives here, outside the actors, and each new incarnation is handed the same object.
    """

    out: Path
    caller: LlmCaller
    icp: Icp
    source: EvidenceSource
    prompts: Prompts
    crm: CrmStore
    ledger: LedgerStore
    review: ReviewStore
    dead: DeadLetterStore
    book: MetricsBook
    profile: ProfileBuilder
    baseline: Profile | None
    baseline_name: str
    on_outcome: Callable[[LeadOutcome, bool], None]
    """Told every outcome, and whether it is the record's first."""
    on_notice: Callable[[RunNotice], None]
    on_window: Callable[[DriftReport], None]
    """Told the verdict of each live drift window."""
    breaker: CircuitBreaker
    handlers: int
    """Handlers each I/O-bound actor runs at once: the admission window."""
    log: EventLog
    timeout: float
    ops_retry: RetrySchedule
    webhooks: Webhooks | None = None
    """The webhooks to deliver while the system runs; none are sent if ``None``."""
    companies: CompanyResearch | None = None
    """Research reused per company; every lead is researched if ``None``."""
    housekeeping: Housekeeping | None = None
    """Background compaction and usage saving; none if ``None``."""


def build_bus(
    capacity: int, hooks: tuple[PublishHook, ...], journal: Journal | None
) -> InProcessBus:
    """The bus, with the validator registered for every probabilistic output."""
    return InProcessBus(
        validators=Validator.bus_validators(VALIDATOR),
        unrouted=Unrouted.DEAD_LETTER,
        default_capacity=capacity,
        hooks=hooks,
        journal=journal,
    )


def routes() -> frozenset[type[Message]]:
    """Every type an actor of ``build_supervisor``'s takes (approved, if probabilistic):
    the routing table of a bus that processes share, where no process sees them all."""
    actors: tuple[type[Actor[Any]], ...] = (
        RunControl,
        OutcomeLedger,
        Metrics,
        DriftMonitor,
        DeadLetters,
        ReviewQueue,
        Crm,
        Validator,
        Writer,
        Scoring,
        Research,
        Intake,
    )
    return frozenset(message_type for actor in actors for message_type in actor.handles)


def build_supervisor(bus: Bus, parts: SystemParts, *, stages: bool = True) -> Supervisor:
    """Every actor as a permanent child, consumers first, so that a stop drains intake first.

    ``stages=False`` leaves out the validator and the LLM stages (research, scoring,
    writer): ``run.py worker`` processes run them, on the same NATS server.
    """
    p = parts
    logged: ActorOptions = {"log": p.log}
    io: ActorOptions = {"concurrency": p.handlers, "log": p.log}
    llm: StageOptions = {
        "timeout": p.timeout,
        "concurrency": p.handlers,
        "log": p.log,
        "prompts": p.prompts,
    }
    rules = p.icp.rules()
    stateful = [
        actor_child(bus, lambda: RunControl(p.on_notice, **logged)),
        actor_child(bus, lambda: OutcomeLedger(p.ledger, p.on_outcome, **logged)),
        actor_child(bus, lambda: Metrics(p.book, **logged)),
        actor_child(
            bus,
            lambda: DriftMonitor(
                p.out,
                p.profile,
                baseline=p.baseline,
                baseline_name=p.baseline_name,
                on_window=p.on_window,
                **logged,
            ),
        ),
        actor_child(
            bus,
            lambda: DeadLetters(p.dead, schedule=p.ops_retry, **logged),
        ),
        actor_child(bus, lambda: ReviewQueue(p.review, **logged)),
        actor_child(bus, lambda: Crm(p.crm, breaker=p.breaker, **io)),
    ]
    # Not even built otherwise: a child spec subscribes its actor on the bus at once.
    staged = (
        [
            actor_child(bus, lambda: Validator(rules, name=VALIDATOR, log=p.log)),
            actor_child(bus, lambda: Writer(p.caller, p.icp, **llm)),
            actor_child(bus, lambda: Scoring(p.caller, p.icp, **llm)),
            actor_child(bus, lambda: Research(p.caller, p.source, companies=p.companies, **llm)),
        ]
        if stages
        else []
    )
    # First, so stopped last: it delivers what the others' last outcomes queued.
    hooks = p.webhooks
    delivery = (
        []
        if hooks is None
        else [ChildSpec("webhooks", lambda: hooks.sender(p.log), shutdown_timeout=8.0)]
    )
    keeping = p.housekeeping
    housekeeper = (
        [] if keeping is None else [ChildSpec("housekeeping", keeping.child, shutdown_timeout=5.0)]
    )
    children = [
        *delivery,
        *housekeeper,
        *stateful,
        *staged,
        # Duplicates were refused when the records were submitted, against the ledger.
        actor_child(bus, lambda: Intake(log=p.log)),
    ]

    def log_event(event: SupervisorEvent, /) -> None:
        p.log.warning(type(event).__name__.lower(), **asdict(event))

    return Supervisor("pipeline", children, max_restarts=10, period=5.0, hooks=[log_event])
