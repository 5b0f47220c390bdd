"""The actor: a long-lived owner of private state that handles one mailbox of messages."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar, Generic, TypedDict, TypeVar, cast

import anyio
from anyio import TASK_STATUS_IGNORED, CancelScope, EndOfStream, WouldBlock
from anyio.abc import TaskStatus
from anyio.lowlevel import checkpoint

from actors.runtime._committer import Committer
from actors.runtime._context import Context
from actors.runtime._log import EventLog, null_log
from actors.runtime._outbox import Outbox
from actors.runtime._telemetry import current_telemetry
from bus import Ack, Bus, Mailbox, Publisher
from messages import (
    ActorCrashed,
    DeadLetter,
    Envelope,
    FailureKind,
    Message,
    RateLimited,
    UsageError,
)

In = TypeVar("In", bound=Message)

ON_STOP_TIMEOUT = 5.0


class ActorOptions(TypedDict, total=False):
    """What every actor's constructor takes besides its own parts, checked by mypy where a
    subclass passes them on (``**options: Unpack[ActorOptions]``)."""

    name: str | None
    concurrency: int
    mailbox_capacity: int | None
    poison_after: int
    log: EventLog | None


class Lifecycle(Enum):
    """Where an actor instance is in its one life. A restart makes a new instance."""

    CREATED = "created"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class ActorStatistics:
    """One actor at one moment."""

    name: str
    state: Lifecycle
    concurrency: int
    in_flight: int
    handled: int
    crashed: int


class Actor(ABC, Generic[In]):
    """Subclass this, declare ``handles``, and write ``handle``.

    The runtime runs ``concurrency`` workers over the actor's mailbox, each handling one
    message at a time, so one slow call never holds up another lead's message. What a
    handler publishes goes to the actor's committer, which journals it with the ack of
    the handler's input, in batches, before delivering it. A handler that raises crashes
    the actor: its supervisor restarts a fresh instance, and the message is tried again.
    A message whose handler crashes ``poison_after`` times goes to the dead letters
    instead, and the actor carries on with the rest.
    """

    handles: ClassVar[tuple[type[Message], ...]] = ()
    """The message types this actor handles; probabilistic ones arrive approved."""
    validates: ClassVar[tuple[type[Message], ...]] = ()
    """Probabilistic types this actor receives unvalidated: only for a validator."""

    def __init__(
        self,
        *,
        name: str | None = None,
        concurrency: int = 1,
        mailbox_capacity: int | None = None,
        poison_after: int = 2,
        log: EventLog | None = None,
    ) -> None:
        if concurrency < 1:
            raise UsageError(f"concurrency={concurrency!r} must be >= 1")
        if poison_after < 1:
            raise UsageError(f"poison_after={poison_after!r} must be >= 1")
        self.name = name if name is not None else type(self).__name__.lower()
        self.concurrency = concurrency
        self.mailbox_capacity = mailbox_capacity
        self.poison_after = poison_after
        self.log = log if log is not None else null_log()
        self._state = Lifecycle.CREATED
        self._drain = False
        self._stop_requested = False
        self._mailbox: Mailbox | None = None
        """The mailbox being served, whose waiting workers ``stop`` wakes."""
        self._crash: ActorCrashed | None = None
        self._in_flight = 0
        self._handled = 0
        self._crashed = 0

    @abstractmethod
    async def handle(self, ctx: Context[In]) -> None:
        """Handle one message; publish results through ``ctx``."""

    async def on_start(self) -> None:
        """Called once, before the first message."""

    async def on_stop(self) -> None:
        """Called once when the actor stops, however it stops, if it started."""

    @property
    def state(self) -> Lifecycle:
        return self._state

    def accepts(self, envelope: Envelope[Message]) -> bool:
        message_type = type(envelope.message)
        if message_type.probabilistic and not envelope.approved:
            return message_type in self.validates
        return message_type in self.handles

    async def dispatch(self, envelope: Envelope[Message], publisher: Publisher) -> None:
        """Run the handler on one envelope; the runtime and the test bus both call this."""
        # accepts() checked the type against handles, which mirror the In parameter.
        ctx = Context(cast("Envelope[In]", envelope), publisher, self.name, self.log)
        telemetry = current_telemetry()
        if telemetry is None:
            await self.handle(ctx)
            return
        with telemetry.handling(self.name, envelope) as span:
            ctx.span = span
            await self.handle(ctx)

    def attach(self, bus: Bus) -> Mailbox:
        """Open this actor's mailbox on ``bus`` and subscribe it; safe to repeat."""
        mailbox = bus.open_mailbox(self.name, capacity=self.mailbox_capacity)
        for message_type in self.handles:
            bus.subscribe(self.name, message_type)
        for message_type in self.validates:
            bus.subscribe(self.name, message_type, unvalidated=True)
        return mailbox

    async def run(self, bus: Bus, *, task_status: TaskStatus[None] = TASK_STATUS_IGNORED) -> None:
        """Serve the mailbox until stopped, cancelled, or a handler crashes."""
        if self._state is not Lifecycle.CREATED:
            raise UsageError(
                f"Cannot run actor {self.name!r}, as it is {self._state.value}; "
                "build a new instance to run it again"
            )
        mailbox = self.attach(bus)
        self._mailbox = mailbox
        self._state = Lifecycle.RUNNING
        try:
            await self.on_start()
        except BaseException:
            self._state = Lifecycle.STOPPED
            raise
        task_status.started()
        try:
            await self._serve(mailbox, bus)
        finally:
            self._state = Lifecycle.STOPPING
            mailbox.requeue_in_flight()
            with anyio.move_on_after(ON_STOP_TIMEOUT, shield=True):
                await self.on_stop()
            self._state = Lifecycle.STOPPED
        if self._crash is not None:
            raise self._crash

    def stop(self, *, drain: bool = True) -> None:
        """Ask the actor to stop taking messages and return once its handlers finish.

        With ``drain``, it first handles what is already in its mailbox. Either way,
        nothing is lost: what it does not handle stays in the mailbox. The caller
        bounds the wait, and cancels the actor if it takes too long.
        """
        self._stop_requested = True
        self._drain = drain
        if self._state is Lifecycle.RUNNING:
            self._state = Lifecycle.STOPPING
        if self._mailbox is not None:
            self._mailbox.interrupt()

    def statistics(self) -> ActorStatistics:
        return ActorStatistics(
            name=self.name,
            state=self._state,
            concurrency=self.concurrency,
            in_flight=self._in_flight,
            handled=self._handled,
            crashed=self._crashed,
        )

    async def _serve(self, mailbox: Mailbox, bus: Bus) -> None:
        def durable(envelope: Envelope[Message]) -> None:
            mailbox.ack(envelope)
            self._handled += 1

        committer = Committer(bus, subscriber=self.name, on_durable=durable, limit=mailbox.capacity)
        # One task group is the incarnation: a crash cancels it, workers and committer.
        async with anyio.create_task_group() as incarnation:
            incarnation.start_soon(committer.run)
            async with anyio.create_task_group() as workers:
                for _ in range(self.concurrency):
                    workers.start_soon(
                        self._work, mailbox, bus, committer, incarnation.cancel_scope
                    )
            committer.close()

    async def _work(
        self, mailbox: Mailbox, bus: Bus, committer: Committer, incarnation: CancelScope
    ) -> None:
        """One of ``concurrency`` workers: handle message after message until stopped."""
        while (envelope := await self._next(mailbox)) is not None:
            await self._handle(envelope, mailbox, bus, committer, incarnation)

    async def _next(self, mailbox: Mailbox) -> Envelope[Message] | None:
        """The next envelope; ``None`` once stopping or closed."""
        if not self._stop_requested and self._crash is None:
            if mailbox.ready():
                # One yield per message, so that a busy actor shares the loop (and notices
                # a cancellation) even when its handlers never wait for anything. With
                # nothing queued, the wait below is the yield.
                await checkpoint()
                try:
                    return mailbox.take_nowait()
                except WouldBlock:
                    pass
                except EndOfStream:
                    return None
            # A wait that needs no cancel scope of its own: stop() wakes every waiting
            # worker through the mailbox, and each looks at the request again.
            try:
                while not self._stop_requested:
                    await mailbox.wait()
                    if self._stop_requested:
                        break
                    # The wait has let others run: take without a checkpoint of its own.
                    try:
                        return mailbox.take_nowait()
                    except WouldBlock:
                        pass
            except EndOfStream:
                return None
            # stop() woke the wait: from here on, only what is already queued.
        if self._drain and self._crash is None:
            await checkpoint()
            try:
                return mailbox.take_nowait()
            except (WouldBlock, EndOfStream):
                pass
        return None

    async def _handle(
        self,
        envelope: Envelope[Message],
        mailbox: Mailbox,
        bus: Bus,
        committer: Committer,
        incarnation: CancelScope,
    ) -> None:
        self._in_flight += 1
        outbox = Outbox()
        try:
            await self.dispatch(envelope, outbox)
        except RateLimited as limited:
            # The provider's limit, not the message's fault: the bus delivers it again
            # once the pause is over, and that spends none of its attempts.
            delay = limited.retry_after if limited.retry_after is not None else 1.0
            bus.defer(Ack(envelope.message_id, self.name), delay)
            mailbox.discard(envelope)
        except Exception as exc:
            self._crashed += 1
            await self._on_crash(envelope, mailbox, bus, exc)
            crash = ActorCrashed(self.name, envelope.message_id, envelope.kind)
            crash.__cause__ = exc
            self._crash = self._crash or crash
            # Ending the whole incarnation, not just this handler, is what lets the
            # supervisor restart the actor from a clean state.
            incarnation.cancel()
        else:
            if outbox.envelopes:
                # Its effects are the committer's now: the worker need not wait for the
                # disk before its next message.
                await committer.hand_over(envelope, outbox.envelopes)
            else:
                bus.ack(Ack(envelope.message_id, self.name))
                mailbox.ack(envelope)
                self._handled += 1
        finally:
            self._in_flight -= 1

    async def _on_crash(
        self, envelope: Envelope[Message], mailbox: Mailbox, bus: Bus, exc: Exception
    ) -> None:
        crashes = mailbox.record_crash(envelope)
        log = self.log.bind(
            actor=self.name, trace_id=envelope.trace_id, message_id=envelope.message_id
        )
        log.warning("actor_crashed", kind=envelope.kind, crashes=crashes, error=repr(exc)[:500])
        if crashes < self.poison_after:
            return
        log.error("poison_message", kind=envelope.kind, crashes=crashes)
        letter = DeadLetter(
            failure=FailureKind.ACTOR_CRASH,
            reason=f"{type(exc).__name__}: {exc}"[:1000],
            actor=self.name,
            payload=envelope.to_json(),
            attempts=crashes,
        )
        # Committed (with the ack) before it is discarded: if that fails, the message is
        # redelivered rather than lost.
        letter_envelope = envelope.child(letter, producer=self.name)
        await bus.commit([letter_envelope], acks=[Ack(envelope.message_id, self.name)])
        mailbox.discard(envelope)
