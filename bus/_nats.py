"""The bus on NATS JetStream: the same ``Bus`` as the in-process one, across processes.

Each subscriber is one durable pull consumer, so every process that runs an actor of the
same name shares that actor's work. A pump per consumer (``bus/_nats_pumps.py``) fetches
messages into the actor's bounded mailbox, which is where the actor takes them from,
exactly as on the in-process bus; the NATS message stays unacknowledged, held
(``bus/_nats_held.py``), until the actor's committer commits what its handler produced.
``commit`` publishes each effect and waits for the server's acknowledgement, and only
then acks the inputs: a process that dies in between has its inputs redelivered after
``ack_wait``, and the handler's second run publishes effects with the same ids
(``stamp``), which the server's duplicate window drops.

A rate limit hands a message back with ``nak(delay=...)`` rather than holding it, at no
cost to its ``max_deliver`` budget (``bus/_nats_deferrals.py`` says how). The streams
and consumers are made, or waited for, as ``bus/_nats_streams.py`` says.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from types import MappingProxyType
from typing import final

import anyio
import nats.errors
import nats.js.errors
import stamina
from anyio import WouldBlock
from anyio.abc import TaskGroup
from nats.aio.client import Client
from nats.js import JetStreamContext

from bus._journal import Ack
from bus._mailbox import Mailbox
from bus._nats_connection import open_connection
from bus._nats_deferrals import Deferrals
from bus._nats_held import Held
from bus._nats_letters import unrouted_stand_in
from bus._nats_pumps import FETCH_WAIT_S, Pumps
from bus._nats_settings import NatsSettings
from bus._nats_streams import OnWait, ensure_streams
from bus._nats_wire import MSG_ID, envelope_subject, stamp, stream_of, subject_of
from bus._protocol import PublishHook
from bus._rules import check_publisher, check_unvalidated_subscriber, open_mailbox
from bus._statistics import BusStatistics
from messages import (
    ClosedResourceError,
    DeadLetter,
    Envelope,
    Message,
    UnroutedMessage,
    UsageError,
)

_SERVER_AWAY = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
)
"""What a publish meets while the server restarts: it is tried again until the server is
back, as a worker waits out a lost server."""


@final
class NatsBus:
    """Routes envelopes through NATS JetStream into subscribers' mailboxes, validator first.

    Build it with ``NatsBus.connect``, which owns the connection and the pumps. The same
    rules as on the in-process bus hold in this process (only a type's validator may
    subscribe to it unvalidated or publish it approved), and the server enforces them
    between processes through per-role users (``deploy/nats-server.conf``).
    """

    def __init__(
        self,
        client: Client,
        tasks: TaskGroup,
        *,
        errors: list[Exception],
        validators: Mapping[type[Message], str],
        settings: NatsSettings,
        default_capacity: int,
        hooks: Sequence[PublishHook] = (),
        routes: Collection[type[Message]] | None = None,
    ) -> None:
        if default_capacity < 1:
            raise UsageError(f"default_capacity={default_capacity!r} must be >= 1")
        self.client = client
        self.errors = errors
        """What the server reported to this connection, such as permissions violations."""
        self.js: JetStreamContext = client.jetstream()
        self.validators: Mapping[type[Message], str] = MappingProxyType(dict(validators))
        self.settings = settings
        self.default_capacity = default_capacity
        self.hooks = tuple(hooks)
        """Shown every envelope this process publishes, before the server has it."""
        self.routes = frozenset(routes) if routes is not None else None
        """The system's routing table: every type that some process's actor takes
        (approved, if probabilistic). Another type is published as a dead letter instead,
        as the in-process bus does; ``None`` publishes it, to wait in its stream."""
        self._taken: set[type[Message]] = set()
        """Types subscribed in this process (approved, if probabilistic)."""
        self._tasks = tasks
        self._mailboxes: dict[str, Mailbox] = {}
        self._subjects: dict[tuple[str, str], set[str]] = {}
        """Per (subscriber, stream), the subjects its consumer filters on."""
        self._consuming: set[tuple[str, str]] = set()
        """The (subscriber, stream) pairs whose consumer's subjects are settled."""
        self._held = Held()
        self._deferrals = Deferrals(self.js)
        self._pumps = Pumps(
            self.js,
            settings,
            held=self._held,
            deferrals=self._deferrals,
            hooks=self.hooks,
            send=self._send,
        )
        self._open = True
        self._published = 0
        self._unrouted = 0

    @staticmethod
    @asynccontextmanager
    async def connect(
        url: str,
        *,
        validators: Mapping[type[Message], str],
        user: str | None = None,
        password: str | None = None,
        name: str = "leadwright",
        settings: NatsSettings | None = None,
        default_capacity: int = 64,
        hooks: Sequence[PublishHook] = (),
        routes: Collection[type[Message]] | None = None,
        on_wait: OnWait | None = None,
    ) -> AsyncIterator[NatsBus]:
        """Connect, make sure the streams exist, and run the pumps until the block ends.

        ``name`` also names the connection's inbox prefix (``_INBOX_<name>``), so that a
        role's server permissions can keep other roles from reading its replies. ``hooks``
        see what this process publishes, as the in-process bus's hooks see every envelope
        it accepts; what other processes publish, their own hooks see.
        """
        errors: list[Exception] = []
        client = await open_connection(url, user=user, password=password, name=name, errors=errors)
        bus: NatsBus | None = None
        try:
            async with anyio.create_task_group() as tasks:
                bus = NatsBus(
                    client,
                    tasks,
                    errors=errors,
                    validators=validators,
                    settings=settings or NatsSettings(),
                    default_capacity=default_capacity,
                    hooks=hooks,
                    routes=routes,
                )
                try:
                    await bus.ensure_streams(on_wait)
                    bus._start(tasks)
                    yield bus
                finally:
                    await bus._stop(tasks)
        finally:
            if bus is not None:
                bus._discard()
            with anyio.CancelScope(shield=True):
                await client.close()

    async def ensure_streams(self, on_wait: OnWait | None = None) -> None:
        """Create each stream this user may create, if it is missing; wait for the others.

        ``on_wait`` is told, once per stream, why this waits (``ensure_streams`` in
        ``bus/_nats_streams.py`` says when).
        """
        await ensure_streams(self.js, self.settings, on_wait)
        await self._deferrals.bind()

    def open_mailbox(self, owner: str, *, capacity: int | None = None) -> Mailbox:
        self._check_open(f"open a mailbox for {owner!r}")
        return open_mailbox(self._mailboxes, owner, capacity, self.default_capacity)

    def subscribe(
        self, subscriber: str, message_type: type[Message], *, unvalidated: bool = False
    ) -> Mailbox:
        """Deliver ``message_type`` into the subscriber's mailbox, through its consumer.

        The consumer is made (or found) once the caller yields, with every subject
        subscribed until then; subscribing a new type after that is refused.
        """
        self._check_open(f"subscribe {subscriber!r}")
        mailbox = self.open_mailbox(subscriber)
        name = message_type.__name__
        if unvalidated:
            check_unvalidated_subscriber(self.validators, subscriber, message_type)
        subject = subject_of(message_type, approved=not unvalidated)
        if not unvalidated:
            self._taken.add(message_type)
        key = (subscriber, stream_of(subject))
        subjects = self._subjects.setdefault(key, set())
        if subject in subjects:
            return mailbox
        if key in self._consuming:
            raise UsageError(
                f"Cannot subscribe {subscriber!r} to {name} after its consumer started; "
                "subscribe every type before the first await (Actor.attach does)"
            )
        subjects.add(subject)
        if len(subjects) == 1:
            self._tasks.start_soon(self._pump, *key)
        return mailbox

    @property
    def shared(self) -> bool:
        """Always: other processes publish and consume on the same streams."""
        return True

    def deliver_now(self, effects: Sequence[Envelope[Message]]) -> bool:
        """Never: every effect goes through the server first."""
        return False

    async def redeliver(self, envelope: Envelope[Message], subscriber: str) -> None:
        """Refused: the server redelivers what no one acknowledged, with no journal here."""
        raise UsageError(
            f"Cannot redeliver {envelope.kind} to {subscriber!r} on NATS: the server "
            "redelivers what no one acknowledged"
        )

    async def publish(self, envelope: Envelope[Message]) -> None:
        """Publish ``envelope`` and wait for the server to have stored it."""
        await self.commit([envelope])

    def publish_nowait(self, envelope: Envelope[Message]) -> None:
        """Always ``WouldBlock``: nothing reaches another process without waiting."""
        self._check_open(f"publish {envelope.kind}")
        raise WouldBlock

    async def commit(
        self,
        effects: Sequence[Envelope[Message]],
        *,
        acks: Sequence[Ack] = (),
        on_durable: Callable[[], None] | None = None,
    ) -> None:
        """Publish ``effects``, wait for the server's PubAcks, then ack the inputs.

        ``on_durable`` runs once the server has every effect. Nothing needs a shield: an
        effect whose PubAck never came is published again when its input is redelivered.
        """
        stamped = [self._routed(envelope) for envelope in stamp(effects, acks)]
        subjects = [self._subject_for(envelope) for envelope in stamped]
        # A hook that raises (fault injection) stops the commit before anything is sent.
        for envelope in stamped:
            for hook in self.hooks:
                hook(envelope)
        await self._send_all(stamped, subjects)
        self._published += len(stamped)
        if on_durable is not None:
            on_durable()
        for ack in acks:
            held = self._held.release(ack)
            # An ack lost with the connection means one more delivery, and the handler's
            # second run publishes its effects under the same ids: dropped by the server.
            if held is not None:
                with suppress(nats.errors.Error):
                    await held.ack()

    def ack(self, ack: Ack) -> None:
        """Ack a handled message that published nothing; sent by a task, without waiting."""
        self._held.ack_soon(ack)

    def defer(self, ack: Ack, delay: float) -> None:
        """Hand a message back for ``delay`` seconds (a rate limit), without waiting: a
        task counts the rate limit against the delivery, then naks it with the delay."""
        held = self._held.release(ack)
        if held is not None:
            self._deferrals.defer(ack.subscriber, held, delay)

    def statistics(self) -> BusStatistics:
        return BusStatistics(
            open=self._open,
            published=self._published,
            delivered=self._pumps.delivered,
            unrouted=self._unrouted + self._pumps.dead_lettered,
            mailboxes=tuple(mailbox.statistics() for mailbox in self._mailboxes.values()),
            deferred=self._deferrals.deferred,
            kept_alive=self._held.kept_alive,
        )

    async def aclose(self) -> None:
        """Refuse new messages and close the mailboxes; what is queued can still be taken."""
        self._open = False
        for mailbox in self._mailboxes.values():
            mailbox.close()
        self._held.close()
        self._deferrals.close()

    def _start(self, tasks: TaskGroup) -> None:
        """Start what runs beside the pumps: keep-alives, acks, and rate-limit hand-backs."""
        tasks.start_soon(self._held.keep_alive, self.settings.ack_wait)
        tasks.start_soon(self._held.send_acks)
        tasks.start_soon(self._deferrals.run)

    async def _stop(self, tasks: TaskGroup) -> None:
        """Close, stop every task, and hand what is held back to the server for another
        process: delayed past this process's last pull request, which would take it."""
        await self.aclose()
        tasks.cancel_scope.cancel()
        with anyio.CancelScope(shield=True):
            await self._held.hand_back(delay=2 * FETCH_WAIT_S)
            await self._deferrals.release()

    def _discard(self) -> None:
        """Close the queues of acks and deferrals, in case their tasks never ran."""
        self._held.discard()
        self._deferrals.discard()

    async def _pump(self, subscriber: str, stream: str) -> None:
        """Run the subscriber's pump on ``stream``, on the subjects subscribed until now."""
        key = (subscriber, stream)
        mailbox = self._mailboxes[subscriber]
        self._consuming.add(key)  # from here on, its subjects are settled
        await self._pumps.run(subscriber, stream, frozenset(self._subjects[key]), mailbox)

    def _routed(self, envelope: Envelope[Message]) -> Envelope[Message]:
        """``envelope``, or the dead letter that stands in for it if no one takes it."""
        message_type = type(envelope.message)
        unvalidated = message_type.probabilistic and not envelope.approved
        if unvalidated or self._takes(message_type):  # an unvalidated one: its validator's
            return envelope
        self._unrouted += 1
        state = "approved " if message_type.probabilistic else ""
        problem = f"No subscriber for {state}{message_type.__name__}"
        if isinstance(envelope.message, DeadLetter) or not self._takes(DeadLetter):
            raise UnroutedMessage(
                f"{problem} from {envelope.producer!r}; subscribe an actor to it, "
                "or add its type to the bus's routes"
            )
        return unrouted_stand_in(envelope, problem)

    def _takes(self, message_type: type[Message]) -> bool:
        return self.routes is None or message_type in self.routes or message_type in self._taken

    def _subject_for(self, envelope: Envelope[Message]) -> str:
        self._check_open(f"publish {envelope.kind}")
        check_publisher(self.validators, envelope)
        return envelope_subject(envelope)

    async def _send_all(
        self, envelopes: Sequence[Envelope[Message]], subjects: Sequence[str]
    ) -> None:
        """Publish each envelope on its subject, at once, and wait for every PubAck."""
        if len(envelopes) == 1:
            await self._send(envelopes[0], subjects[0])
            return
        async with anyio.create_task_group() as publishing:
            for envelope, subject in zip(envelopes, subjects, strict=True):
                publishing.start_soon(self._send, envelope, subject)

    async def _send(self, envelope: Envelope[Message], subject: str) -> None:
        """Publish one envelope under its id, so that the server drops a second copy.

        A publish is retried for as long as the server is away (restarting, or JetStream
        not yet serving its streams again): under its id, a copy that did land is dropped.
        """
        body = envelope.to_json().encode("utf-8")
        async for attempt in stamina.retry_context(
            on=_SERVER_AWAY, attempts=None, timeout=None, wait_initial=0.1, wait_max=2.0
        ):
            with attempt:
                await self.js.publish(subject, body, headers={MSG_ID: envelope.message_id})

    def _check_open(self, action: str) -> None:
        if not self._open:
            raise ClosedResourceError(f"Cannot {action}, as the bus has been closed.")
