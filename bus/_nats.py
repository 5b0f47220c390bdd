"""The bus on NATS JetStream: the same ``Bus`` as the in-process one, across processes.

Each subscriber is one durable pull consumer, so every process that runs an actor of the
same name shares that actor's work. A pump per consumer fetches messages into the
actor's bounded mailbox, which is where the actor takes them from, exactly as on the
in-process bus; the NATS message stays unacknowledged until the actor's committer
commits what its handler produced. ``commit`` publishes each effect and waits for the
server's acknowledgement, and only then acks the inputs: a process that dies in between
has its inputs redelivered after ``ack_wait``, and the handler's second run publishes
effects with the same ids (``stamp``), which the server's duplicate window drops.

A rate limit hands a message back with ``nak(delay=...)`` rather than holding it, at no
cost to its ``max_deliver`` budget (``bus/_nats_deferrals.py`` says how).
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import replace
from functools import partial
from types import MappingProxyType
from typing import final

import anyio
import nats
import nats.errors
import nats.js.errors
from anyio import WouldBlock
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from bus._journal import Ack
from bus._mailbox import Mailbox
from bus._nats_deferrals import Deferrals, bucket_config
from bus._nats_settings import NatsSettings
from bus._nats_wire import (
    DEFERRALS,
    MSG_ID,
    STREAM_SUBJECTS,
    check_subject,
    derived_id,
    envelope_subject,
    stamp,
    stream_of,
    subject_of,
)
from bus._protocol import PublishHook
from bus._rules import check_publisher, check_unvalidated_subscriber, open_mailbox
from bus._statistics import BusStatistics
from bus._unrouted import BUS_PRODUCER, unrouted_letter
from messages import (
    ClosedResourceError,
    DeadLetter,
    Envelope,
    FailureKind,
    Message,
    UnroutedMessage,
    UsageError,
)

log = logging.getLogger(__name__)

FETCH_WAIT_S = 1.0
"""How long one pull request waits for messages before the pump asks again."""
CONNECT_RETRIES = 1
"""Retries of the first connection, two seconds apart, before ``connect`` gives up."""
RETRY_WAIT_S = 0.5
"""How long a pump waits after the connection failed under it, before it asks again."""
STREAM_WAIT_S = 0.2
"""How often a process whose user may not create a missing stream looks for it again."""
"""How long a pump waits after the connection failed under it, before it asks again."""


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
        self._held: dict[tuple[str, str], Msg] = {}
        """Delivered and not yet acked, by (subscriber, message id): the latest delivery."""
        acks: tuple[MemoryObjectSendStream[Msg], MemoryObjectReceiveStream[Msg]]
        acks = anyio.create_memory_object_stream[Msg](math.inf)
        self._ack_send, self._ack_receive = acks
        self._deferrals = Deferrals(self.js)
        self._open = True
        self._published = 0
        self._delivered = 0
        self._dead_lettered = 0

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
        on_wait: Callable[[str], None] | None = None,
    ) -> AsyncIterator[NatsBus]:
        """Connect, make sure the streams exist, and run the pumps until the block ends.

        ``name`` also names the connection's inbox prefix (``_INBOX_<name>``), so that a
        role's server permissions can keep other roles from reading its replies. ``hooks``
        see what this process publishes, as the in-process bus's hooks see every envelope
        it accepts; what other processes publish, their own hooks see.
        """
        errors: list[Exception] = []

        async def note(error: Exception) -> None:
            errors.append(error)

        try:
            client = await nats.connect(
                servers=[url],
                user=user,
                password=password,
                name=name,
                inbox_prefix=f"_INBOX_{name}",
                max_reconnect_attempts=CONNECT_RETRIES,
                error_cb=note,
            )
        except (OSError, nats.errors.Error) as exc:
            cause = errors[-1] if errors else exc
            raise UsageError(
                f"Cannot connect to NATS at {url} ({cause or type(cause).__name__}); "
                "start nats-server there, or fix --bus and the credentials"
            ) from None
        # Once connected, a lost server is waited for, however long it takes.
        client.options["max_reconnect_attempts"] = -1
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
                    tasks.start_soon(bus._keep_alive)
                    tasks.start_soon(bus._send_acks)
                    tasks.start_soon(bus._deferrals.run)
                    yield bus
                finally:
                    await bus.aclose()
                    tasks.cancel_scope.cancel()
                    with anyio.CancelScope(shield=True):
                        await bus._release()
        finally:
            if bus is not None:
                bus._ack_receive.close()  # in case _send_acks never ran
                bus._deferrals.discard()
            with anyio.CancelScope(shield=True):
                await client.close()

    async def ensure_streams(self, on_wait: Callable[[str], None] | None = None) -> None:
        """Create each stream this user may create, if it is missing; wait for the others.

        A worker's user may not create ``LEADWRIGHT`` (only ``serve``'s may): a worker
        started before ``serve`` waits here until ``serve`` has made it, and then works,
        so the order in which processes start does not matter. The same holds for the
        bucket of rate limits. ``on_wait`` is told, once per stream, why this waits.
        """
        storage = StorageType.MEMORY if self.settings.memory else StorageType.FILE
        for stream, subjects in STREAM_SUBJECTS.items():
            config = StreamConfig(
                name=stream,
                subjects=list(subjects),
                retention=RetentionPolicy.LIMITS,
                storage=storage,
                duplicate_window=self.settings.duplicate_window,
                max_age=self.settings.max_age,
            )
            await self._ensure(stream, partial(self.js.add_stream, config), on_wait)
        bucket = bucket_config(self.settings)
        await self._ensure(f"KV_{DEFERRALS}", partial(self.js.create_key_value, bucket), on_wait)
        await self._deferrals.bind()

    async def _ensure(
        self,
        stream: str,
        create: Callable[[], Awaitable[object]],
        on_wait: Callable[[str], None] | None,
    ) -> None:
        """Return once ``stream`` exists, made by ``create`` if this user may."""
        if await self._stream_exists(stream):
            return
        try:
            await create()
            return
        except nats.errors.TimeoutError:
            pass  # refused: the server answers a forbidden request with silence
        except nats.js.errors.BadRequestError:
            pass  # another process made it at the same moment
        if on_wait is not None:
            on_wait(
                f"Waiting for stream {stream}, which this NATS user may not create: start "
                "serve --bus, whose user makes it (a deploy/nats-server.conf older than this "
                "version lacks the permissions for it)"
            )
        # The server's stream advisories are subjects this user may not subscribe to,
        # so it looks again, until the stream is there.
        while True:
            await anyio.sleep(STREAM_WAIT_S)
            if await self._stream_exists(stream):
                return

    async def _stream_exists(self, stream: str) -> bool:
        try:
            await self.js.stream_info(stream)
        except nats.js.errors.NotFoundError:
            return False
        return True

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
        self._show_hooks(stamped)
        if len(stamped) == 1:
            await self._publish_one(stamped[0], subjects[0])
        else:
            async with anyio.create_task_group() as publishing:
                for envelope, subject in zip(stamped, subjects, strict=True):
                    publishing.start_soon(self._publish_one, envelope, subject)
        self._published += len(stamped)
        if on_durable is not None:
            on_durable()
        for ack in acks:
            held = self._held.pop((ack.subscriber, ack.message_id), None)
            # An ack lost with the connection means one more delivery, and the handler's
            # second run publishes its effects under the same ids: dropped by the server.
            if held is not None:
                with suppress(nats.errors.Error):
                    await held.ack()

    def ack(self, ack: Ack) -> None:
        """Ack a handled message that published nothing; sent by a task, without waiting."""
        held = self._held.pop((ack.subscriber, ack.message_id), None)
        if held is not None:
            self._ack_send.send_nowait(held)

    def defer(self, ack: Ack, delay: float) -> None:
        """Hand a message back for ``delay`` seconds (a rate limit), without waiting: a
        task counts the rate limit against the delivery, then naks it with the delay."""
        held = self._held.pop((ack.subscriber, ack.message_id), None)
        if held is not None:
            self._deferrals.defer(ack.subscriber, held, delay)

    def statistics(self) -> BusStatistics:
        return BusStatistics(
            open=self._open,
            published=self._published,
            delivered=self._delivered,
            unrouted=self._dead_lettered,
            mailboxes=tuple(mailbox.statistics() for mailbox in self._mailboxes.values()),
            deferred=self._deferrals.deferred,
        )

    async def aclose(self) -> None:
        """Refuse new messages and close the mailboxes; what is queued can still be taken."""
        self._open = False
        for mailbox in self._mailboxes.values():
            mailbox.close()
        self._ack_send.close()
        self._deferrals.close()

    def _routed(self, envelope: Envelope[Message]) -> Envelope[Message]:
        """``envelope``, or the dead letter that stands in for it if no one takes it."""
        message_type = type(envelope.message)
        unvalidated = message_type.probabilistic and not envelope.approved
        if unvalidated or self._takes(message_type):  # an unvalidated one: its validator's
            return envelope
        self._dead_lettered += 1
        state = "approved " if message_type.probabilistic else ""
        problem = f"No subscriber for {state}{message_type.__name__}"
        if isinstance(envelope.message, DeadLetter) or not self._takes(DeadLetter):
            raise UnroutedMessage(
                f"{problem} from {envelope.producer!r}; subscribe an actor to it, "
                "or add its type to the bus's routes"
            )
        # Its id comes from the original's, so a handler run twice publishes it once.
        letter = unrouted_letter(envelope, problem)
        return replace(letter, message_id=derived_id(envelope.message_id, "unrouted"))

    def _takes(self, message_type: type[Message]) -> bool:
        return self.routes is None or message_type in self.routes or message_type in self._taken

    def _subject_for(self, envelope: Envelope[Message]) -> str:
        self._check_open(f"publish {envelope.kind}")
        check_publisher(self.validators, envelope)
        return envelope_subject(envelope)

    async def _publish_one(self, envelope: Envelope[Message], subject: str) -> None:
        await self.js.publish(
            subject, envelope.to_json().encode("utf-8"), headers={MSG_ID: envelope.message_id}
        )

    async def _pump(self, subscriber: str, stream: str) -> None:
        """Fetch the consumer's messages into the subscriber's mailbox, for good."""
        mailbox = self._mailboxes[subscriber]
        self._consuming.add((subscriber, stream))
        subjects = sorted(self._subjects[(subscriber, stream)])
        settings = self.settings
        config = ConsumerConfig(
            durable_name=subscriber,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=settings.ack_wait,
            # Unlimited: the pump counts deliveries less rate limits against max_deliver,
            # and turns the first one past it into the dead letter.
            max_deliver=-1,
            max_ack_pending=settings.max_ack_pending,
            filter_subjects=subjects,
        )
        await self.js.add_consumer(stream, config)
        pull = await self.js.pull_subscribe_bind(durable=subscriber, stream=stream)
        try:
            await self._pull(subscriber, mailbox, pull)
        finally:
            with anyio.CancelScope(shield=True), suppress(nats.errors.Error):
                await pull.unsubscribe()

    async def _pull(
        self, subscriber: str, mailbox: Mailbox, pull: JetStreamContext.PullSubscription
    ) -> None:
        while True:
            stats = mailbox.statistics()
            room = max(1, mailbox.capacity - stats.queued - stats.redelivery)
            try:
                messages = await pull.fetch(batch=room, timeout=FETCH_WAIT_S)
            except TimeoutError:  # nats-py raises its own subclass, or asyncio's
                continue
            except nats.errors.Error:
                # The connection is reconnecting; the client does that on its own.
                await anyio.sleep(RETRY_WAIT_S)
                continue
            for msg in messages:
                try:
                    await self._receive(subscriber, mailbox, msg)
                except nats.errors.Error:
                    # Its dead letter or term was lost with the connection: the delivery
                    # is not acknowledged, so it comes back after ack_wait, to try again.
                    continue

    async def _receive(self, subscriber: str, mailbox: Mailbox, msg: Msg) -> None:
        """Hand one delivery to the mailbox, or make it a dead letter."""
        delivered = msg.metadata.num_delivered
        try:
            envelope = Envelope.from_json(msg.data)
            check_subject(envelope, msg.subject)
        except (ValueError, UsageError) as exc:
            reason = f"Undecodable message on {msg.subject}: {exc}"
            await self._dead_letter(subscriber, msg, FailureKind.SCHEMA_MISMATCH, reason)
            return
        if delivered > self.settings.max_deliver:
            # Only now is the bucket asked: deliveries handed back for a rate limit are free.
            spent = delivered - await self._deferrals.count(subscriber, msg)
            if spent > self.settings.max_deliver:
                reason = (
                    f"{envelope.kind} {envelope.message_id} was delivered to {subscriber!r} "
                    f"{spent - 1} times without being acknowledged (max_deliver)"
                )
                await self._dead_letter(
                    subscriber, msg, FailureKind.ACTOR_CRASH, reason, envelope, attempts=spent - 1
                )
                return
        key = (subscriber, envelope.message_id)
        again = key in self._held
        self._held[key] = msg  # acks go to the latest delivery's reply subject
        if again:
            return  # still queued or being handled here: not a second time
        self._delivered += 1
        await mailbox.put(envelope)

    async def _dead_letter(
        self,
        subscriber: str,
        msg: Msg,
        failure: FailureKind,
        reason: str,
        envelope: Envelope[Message] | None = None,
        *,
        attempts: int = 1,
    ) -> None:
        """Publish a dead letter for a delivery, then end its deliveries with ``term``."""
        payload = msg.data.decode("utf-8", errors="replace")
        letter = DeadLetter(
            failure=failure,
            reason=reason[:1000],
            actor=subscriber,
            payload=payload,
            attempts=max(1, attempts),
        )
        # Its id comes from the delivery, so a dead letter published twice is stored once.
        message_id = derived_id(msg.metadata.stream, msg.metadata.sequence.stream, subscriber)
        wrapped = Envelope(
            message=letter,
            producer=BUS_PRODUCER,
            trace_id=envelope.trace_id if envelope is not None else message_id,
            causation_id=envelope.message_id if envelope is not None else None,
            message_id=message_id,
        )
        try:
            self._show_hooks([wrapped])
        except Exception as exc:
            # A failed delivery, as if its handler had failed: left unacknowledged, it comes
            # back after ack_wait, and that delivery counts against max_deliver too.
            log.warning(
                "A publish hook raised %r on the dead letter of %s %d for %r; "
                "it is delivered again after ack_wait",
                exc,
                msg.metadata.stream,
                msg.metadata.sequence.stream,
                subscriber,
            )
            return
        await self._publish_one(wrapped, envelope_subject(wrapped))
        self._dead_lettered += 1
        if envelope is not None:
            self._held.pop((subscriber, envelope.message_id), None)
        await msg.term()

    async def _keep_alive(self) -> None:
        """Tell the server, well within ``ack_wait``, that held messages are in progress."""
        while True:
            await anyio.sleep(self.settings.ack_wait / 3)
            for msg in list(self._held.values()):
                # If reconnecting, the message may be redelivered, which is safe.
                with suppress(nats.errors.Error):
                    await msg.in_progress()

    async def _send_acks(self) -> None:
        async with self._ack_receive:
            async for msg in self._ack_receive:
                # If lost, it is redelivered and handled again, harmlessly: it published nothing.
                with suppress(nats.errors.Error):
                    await msg.ack()

    async def _release(self) -> None:
        """Hand every held message back to the server, for another process, soon.

        Not at once: the server would hand it to this process's last pull request, which
        is open until it expires, and so to no one, until ``ack_wait`` runs out.
        """
        held, self._held = list(self._held.values()), {}
        for msg in held:
            with suppress(nats.errors.Error):
                await msg.nak(delay=2 * FETCH_WAIT_S)
        await self._deferrals.release()

    def _show_hooks(self, envelopes: Sequence[Envelope[Message]]) -> None:
        for envelope in envelopes:
            for hook in self.hooks:
                hook(envelope)

    def _check_open(self, action: str) -> None:
        if not self._open:
            raise ClosedResourceError(f"Cannot {action}, as the bus has been closed.")
