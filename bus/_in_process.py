"""The in-process bus: typed routing into bounded mailboxes, validator first."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import final

import anyio
from anyio import CancelScope, WouldBlock

from bus._journal import Ack, Journal, Routed
from bus._mailbox import Mailbox
from bus._protocol import PublishHook, Unrouted
from bus._rules import check_publisher, check_unvalidated_subscriber, open_mailbox
from bus._statistics import BusStatistics
from bus._unrouted import unrouted_letter
from messages import (
    ClosedResourceError,
    DeadLetter,
    DeliveryStalled,
    Envelope,
    Message,
    UnroutedMessage,
    UsageError,
)

DEFAULT_CAPACITY = 64
DELIVERY_DEADLINE_S = 30.0
"""How long a journaled message may wait for room in a mailbox before it counts as stalled."""

_Routed = tuple[Envelope[Message], tuple[Mailbox, ...]]
"""An envelope to deliver and its mailboxes."""


@final
class InProcessBus:
    """Routes each envelope by its message type into subscribers' mailboxes.

    A probabilistic message goes to its validator alone until the validator publishes
    it again, approved; only then does it reach its consumers. The bus enforces this:
    no other actor can subscribe to the unvalidated form, and no other actor can
    publish the approved form.
    """

    def __init__(
        self,
        *,
        validators: Mapping[type[Message], str] | None = None,
        unrouted: Unrouted = Unrouted.RAISE,
        default_capacity: int = DEFAULT_CAPACITY,
        hooks: Sequence[PublishHook] = (),
        journal: Journal | None = None,
    ) -> None:
        if default_capacity < 1:
            raise UsageError(f"default_capacity={default_capacity!r} must be >= 1")
        validators = dict(validators or {})
        for message_type in validators:
            if not message_type.probabilistic:
                raise UsageError(
                    f"{message_type.__name__} is not probabilistic, so it needs no validator; "
                    "set probabilistic = True on it or drop it from validators"
                )
        self.validators: Mapping[type[Message], str] = MappingProxyType(validators)
        self.unrouted = unrouted
        self.default_capacity = default_capacity
        self.hooks = tuple(hooks)
        self.journal = journal
        self._mailboxes: dict[str, Mailbox] = {}
        self._routes: dict[type[Message], tuple[Mailbox, ...]] = {}
        self._unvalidated_routes: dict[type[Message], Mailbox] = {}
        self._open = True
        self._published = 0
        self._delivered = 0
        self._unrouted = 0

    def open_mailbox(self, owner: str, *, capacity: int | None = None) -> Mailbox:
        self._check_open(f"open a mailbox for {owner!r}")
        return open_mailbox(self._mailboxes, owner, capacity, self.default_capacity)

    def subscribe(
        self, subscriber: str, message_type: type[Message], *, unvalidated: bool = False
    ) -> Mailbox:
        self._check_open(f"subscribe {subscriber!r}")
        mailbox = self.open_mailbox(subscriber)
        if unvalidated:
            check_unvalidated_subscriber(self.validators, subscriber, message_type)
            self._unvalidated_routes[message_type] = mailbox
        else:
            routes = self._routes.get(message_type, ())
            if mailbox not in routes:
                self._routes[message_type] = (*routes, mailbox)
        return mailbox

    async def publish(self, envelope: Envelope[Message]) -> None:
        # Journaled, a message on disk must reach its mailboxes, so the wait for room is
        # shielded; unjournaled, nothing is lost by giving up, so the wait is cancellable.
        await self._deliver([envelope], (), None, shield=self.journal is not None)

    async def commit(
        self,
        effects: Sequence[Envelope[Message]],
        *,
        acks: Sequence[Ack] = (),
        on_durable: Callable[[], None] | None = None,
    ) -> None:
        """Journal ``effects`` with ``acks`` in one step, then deliver every effect.

        ``on_durable`` runs once the journal has them, before any is delivered. From then
        on, delivery is shielded from cancellation, because an effect that is on disk but
        delivered nowhere would be lost to this process; the shield has a deadline, so a
        consumer that is gone for good cannot hold a shutdown forever.
        """
        await self._deliver(effects, acks, on_durable, shield=True)

    @property
    def shared(self) -> bool:
        """Never: every publisher and consumer is in this process."""
        return False

    def deliver_now(self, effects: Sequence[Envelope[Message]]) -> bool:
        """Deliver ``effects`` at once if there is nothing to record first; say if it did.

        Only a bus without a journal, and only when every effect has a subscriber and
        every mailbox has room for all of them: otherwise it does nothing and returns
        False, and the caller commits them (all or nothing, as ``publish_nowait``).
        """
        if self.journal is not None:
            return False
        routed: list[_Routed] = []
        needed: dict[Mailbox, int] = {}
        for envelope in effects:
            targets = self._targets(envelope)
            if not targets:
                return False  # a dead letter stands in for it: commit() does that
            for mailbox in targets:
                needed[mailbox] = needed.get(mailbox, 0) + 1
            routed.append((envelope, targets))
        if any(mailbox.room() < count for mailbox, count in needed.items()):
            return False
        self._put_now(self._accept(routed))
        return True

    def ack(self, ack: Ack) -> None:
        """Note that a handler that published nothing is done with its message."""
        if self.journal is not None:
            self.journal.defer_ack(ack)

    def defer(self, ack: Ack, delay: float) -> None:
        """Refused: in one process, a rate limit waits in the LLM caller, holding its message."""
        raise UsageError(
            f"The in-process bus cannot defer {ack.message_id} for {delay:g} s; build the "
            "LlmCaller without defer_rate_limits, so that a rate limit waits in the caller"
        )

    async def redeliver(self, envelope: Envelope[Message], subscriber: str) -> None:
        """Put a journaled envelope back in one subscriber's mailbox (when resuming)."""
        self._check_open(f"redeliver {envelope.kind}")
        mailbox = self._mailboxes.get(subscriber)
        if mailbox is None:
            raise UsageError(
                f"Cannot redeliver {envelope.kind} to {subscriber!r}, which has no mailbox; "
                "start the same actors as the run that journaled it"
            )
        await mailbox.put(envelope)

    def publish_nowait(self, envelope: Envelope[Message]) -> None:
        routed = [self._route(envelope)]
        # All or nothing: a message half-delivered would be both lost and duplicated.
        if not all(mailbox.has_room() for mailbox in routed[0][1]):
            raise WouldBlock
        deliveries = self._accept(routed)
        if self.journal is not None:
            # A short write on this thread: the caller asked not to wait.
            self.journal.commit_nowait(_journal_rows(routed), ())
        self._put_now(deliveries)

    async def _deliver(
        self,
        effects: Sequence[Envelope[Message]],
        acks: Sequence[Ack],
        on_durable: Callable[[], None] | None,
        *,
        shield: bool,
    ) -> None:
        """The one way in for ``publish`` and ``commit``: route, journal, then deliver."""
        if not effects and not acks:
            if on_durable is not None:
                on_durable()
            return
        routed = [self._route(envelope) for envelope in effects]
        deliveries = self._accept(routed)
        if self.journal is not None:
            with CancelScope(shield=True):
                await self.journal.commit(_journal_rows(routed), acks)
                if on_durable is not None:
                    on_durable()
        elif on_durable is not None:
            on_durable()
        # Most mailboxes have room: a delivery that never awaits cannot be interrupted, so
        # it needs no shield. Only from the first full mailbox on does it wait.
        done = self._put_now(deliveries)
        if done == len(deliveries):
            return
        if not shield:
            for envelope, mailbox in deliveries[done:]:
                await mailbox.put(envelope)
                self._delivered += 1
            return
        with anyio.move_on_after(DELIVERY_DEADLINE_S, shield=True) as delivery:
            for envelope, mailbox in deliveries[done:]:
                await mailbox.put(envelope)
                self._delivered += 1
        if delivery.cancelled_caught:
            raise DeliveryStalled(
                f"Delivery of {len(routed)} message(s) stalled for {DELIVERY_DEADLINE_S:g} s: "
                "a consumer stopped taking messages. The journal keeps them for the next run."
            )

    def _accept(self, routed: list[_Routed]) -> list[tuple[Envelope[Message], Mailbox]]:
        """Show routed envelopes to the hooks and count them; return their deliveries."""
        for envelope, _ in routed:
            for hook in self.hooks:
                hook(envelope)
        self._published += len(routed)
        return [(envelope, mailbox) for envelope, targets in routed for mailbox in targets]

    def _put_now(self, deliveries: list[tuple[Envelope[Message], Mailbox]]) -> int:
        """Deliver in order until a mailbox is full; return how many were delivered."""
        done = 0
        for envelope, mailbox in deliveries:
            try:
                mailbox.put_nowait(envelope)
            except WouldBlock:
                break
            done += 1
        self._delivered += done
        return done

    def statistics(self) -> BusStatistics:
        return BusStatistics(
            open=self._open,
            published=self._published,
            delivered=self._delivered,
            unrouted=self._unrouted,
            mailboxes=tuple(mailbox.statistics() for mailbox in self._mailboxes.values()),
        )

    async def aclose(self) -> None:
        self._open = False
        for mailbox in self._mailboxes.values():
            mailbox.close()

    def _route(self, envelope: Envelope[Message]) -> _Routed:
        """The envelope to deliver and its mailboxes: a dead letter if it has none."""
        targets = self._targets(envelope)
        if targets:
            return envelope, targets
        letter = self._unroutable(envelope)
        targets = self._targets(letter)
        if not targets:
            self._unroutable(letter)  # a dead letter that no one takes: this raises
        self._published += 1  # the original was published too, though it reached no one
        return letter, targets

    def _targets(self, envelope: Envelope[Message]) -> tuple[Mailbox, ...]:
        message_type = type(envelope.message)
        self._check_open(f"publish {message_type.__name__}")
        check_publisher(self.validators, envelope)
        if message_type.probabilistic and not envelope.approved:
            mailbox = self._unvalidated_routes.get(message_type)
            return (mailbox,) if mailbox is not None else ()
        return self._routes.get(message_type, ())

    def _unroutable(self, envelope: Envelope[Message]) -> Envelope[Message]:
        """The dead letter that stands in for an unroutable envelope, or raise."""
        self._unrouted += 1
        state = "unvalidated " if envelope.message.probabilistic and not envelope.approved else ""
        problem = f"No subscriber for {state}{type(envelope.message).__name__}"
        if self.unrouted is Unrouted.RAISE or isinstance(envelope.message, DeadLetter):
            raise UnroutedMessage(
                f"{problem} from {envelope.producer!r}; subscribe an actor to it, "
                "or build the bus with unrouted=Unrouted.DEAD_LETTER and a dead-letter actor"
            )
        return unrouted_letter(envelope, problem)

    def _check_open(self, action: str) -> None:
        if not self._open:
            raise ClosedResourceError(f"Cannot {action}, as the bus has been closed.")


def _journal_rows(routed: list[_Routed]) -> list[Routed]:
    """What the journal records of routed envelopes: each, and the names of its subscribers."""
    return [(envelope, tuple(mailbox.owner for mailbox in targets)) for envelope, targets in routed]
