"""A worker: the stateless stage actors of some roles, on a bus that other processes share.

``serve`` keeps the stateful actors; any number of workers, on any host, run research,
scoring, writing and validation. Each role's actor is built exactly as the one-process
system builds it (``build_supervisor``), on the bus handed in for that role: over NATS,
one connection per role, so that the server can hold each role to its permissions.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
from anyio import TASK_STATUS_IGNORED
from anyio.abc import TaskStatus

from actors import (
    DEFAULT_PROMPTS,
    Actor,
    EventLog,
    EvidenceSource,
    Icp,
    LlmCaller,
    Prompts,
    Research,
    Scoring,
    StageOptions,
    Validator,
    Writer,
)
from bus import Bus, NatsSettings
from messages import Message, UsageError
from supervision import ChildSpec, Supervisor, SupervisorEvent, actor_child
from supervision.system._wiring import VALIDATOR, routes

if TYPE_CHECKING:
    from bus import NatsBus


class Role(StrEnum):
    """A stage a worker can run; each is one actor, and one NATS user."""

    RESEARCH = "research"
    SCORING = "scoring"
    WRITER = "writer"
    VALIDATOR = "validator"


VALIDATORS: Mapping[type[Message], str] = Validator.bus_validators(VALIDATOR)
"""Every probabilistic output and its validator, as every bus of the system registers them."""


@dataclass(frozen=True, slots=True)
class WorkerParts:
    """What a worker's stage actors are built from."""

    caller: LlmCaller
    icp: Icp
    source: EvidenceSource
    handlers: int
    """Handlers each stage actor runs at once: the worker's concurrency."""
    log: EventLog
    timeout: float
    """Seconds per LLM call."""
    prompts: Prompts = DEFAULT_PROMPTS
    """The stages' instructions: the same as the service's, or outputs differ by worker."""


def parse_roles(text: str) -> tuple[Role, ...]:
    """Roles from ``research,scoring``, in pipeline order, each once."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    known = {role.value: role for role in Role}
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise UsageError(
            f"--roles {text!r} names no role or an unknown one ({', '.join(unknown)}); "
            f"use a comma-separated list of {', '.join(known)}"
        )
    return tuple(role for role in Role if role.value in names)


def build_worker(buses: Mapping[Role, Bus], parts: WorkerParts) -> Supervisor:
    """A supervisor of one stage actor per role, each on its role's bus, validator first."""
    if not buses:
        raise UsageError("A worker needs at least one role; pass --roles")
    p = parts
    rules = p.icp.rules()
    llm: StageOptions = {
        "timeout": p.timeout,
        "concurrency": p.handlers,
        "log": p.log,
        "prompts": p.prompts,
    }
    factories: dict[Role, Callable[[], Actor[Any]]] = {
        Role.VALIDATOR: lambda: Validator(rules, name=VALIDATOR, log=p.log),
        Role.WRITER: lambda: Writer(p.caller, p.icp, **llm),
        Role.SCORING: lambda: Scoring(p.caller, p.icp, **llm),
        Role.RESEARCH: lambda: Research(p.caller, p.source, **llm),
    }
    # Consumers first, as in build_supervisor, so that a stop drains the producers last.
    order: Sequence[Role] = (Role.VALIDATOR, Role.WRITER, Role.SCORING, Role.RESEARCH)
    children: list[ChildSpec] = [
        actor_child(buses[role], factories[role]) for role in order if role in buses
    ]

    def log_event(event: SupervisorEvent, /) -> None:
        p.log.warning(type(event).__name__.lower(), **asdict(event))

    return Supervisor("worker", children, max_restarts=10, period=5.0, hooks=[log_event])


@dataclass(frozen=True, slots=True)
class Credentials:
    """A role's NATS user and password; no password means no authentication."""

    user: str
    password: str | None


@dataclass(frozen=True, slots=True)
class WorkerSummary:
    """What one worker did, printed as JSON when it stops."""

    roles: tuple[str, ...]
    delivered: dict[str, int]
    """Messages each role's consumer delivered to this process."""
    llm_calls: int

    def contract(self) -> dict[str, Any]:
        return {"roles": list(self.roles), "delivered": self.delivered, "llm_calls": self.llm_calls}


async def run_worker(
    url: str,
    roles: Sequence[Role],
    parts: WorkerParts,
    *,
    credentials: Callable[[Role], Credentials],
    settings: NatsSettings | None = None,
    handle_signals: bool = True,
    task_status: TaskStatus[None] = TASK_STATUS_IGNORED,
) -> WorkerSummary:
    """Connect one bus per role (the validator's first), run the actors until a signal.

    SIGINT or SIGTERM stops the actors; what they hold unacknowledged goes back to the
    server, for this worker's next run or another worker.
    """
    from bus import NatsBus  # needs nats-py, which only a worker needs

    ordered = sorted(roles, key=lambda role: role is not Role.VALIDATOR)
    async with AsyncExitStack() as stack:
        buses: dict[Role, Bus] = {}
        nats_buses: dict[Role, NatsBus] = {}
        for role in ordered:
            login = credentials(role)
            bus = await stack.enter_async_context(
                NatsBus.connect(
                    url,
                    validators=VALIDATORS,
                    user=login.user if login.password is not None else None,
                    password=login.password,
                    name=role.value,
                    settings=settings,
                    # A mailbox no deeper than the handlers: a worker takes from the server
                    # only what it can soon handle, and leaves the rest to other workers.
                    default_capacity=parts.handlers,
                    routes=routes(),
                    on_wait=partial(_waiting, parts.log, role),
                )
            )
            buses[role] = nats_buses[role] = bus
        supervisor = build_worker(buses, parts)
        async with anyio.create_task_group() as tasks:
            if handle_signals:
                tasks.start_soon(_stop_on_signal, supervisor)
            await supervisor.run(task_status=task_status)
            tasks.cancel_scope.cancel()
        return WorkerSummary(
            roles=tuple(role.value for role in Role if role in buses),
            delivered={role.value: nats_buses[role].statistics().delivered for role in buses},
            llm_calls=parts.caller.stats.calls,
        )


def _waiting(log: EventLog, role: Role, reason: str) -> None:
    log.warning("waiting_for_stream", role=role.value, reason=reason)


async def _stop_on_signal(supervisor: Supervisor) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            # Without draining: the bus hands what the actors hold back to the server.
            supervisor.stop(drain=False)
            return
