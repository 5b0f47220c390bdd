"""The bus as actors see it: the protocols that every bus implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from typing import Protocol

from bus._journal import Ack
from bus._mailbox import Mailbox
from bus._statistics import BusStatistics
from messages import Envelope, Message


class Unrouted(Enum):
    """What the bus does with a message that no one subscribes to. Never: drop it."""

    RAISE = "raise"
    """Raise ``UnroutedMessage`` in the publisher: the right default while wiring."""
    DEAD_LETTER = "dead_letter"
    """Publish a ``DeadLetter`` for it; raise if no one subscribes to those either."""


class PublishHook(Protocol):
    """Sees every envelope the bus accepts, before any subscriber does (journal, taps)."""

    def __call__(self, envelope: Envelope[Message], /) -> None: ...


class Publisher(Protocol):
    """Where an actor sends what it produces."""

    async def publish(self, envelope: Envelope[Message]) -> None:
        """Deliver ``envelope`` to its subscribers, waiting while a mailbox is full."""
        ...

    def publish_nowait(self, envelope: Envelope[Message]) -> None:
        """Deliver ``envelope`` now, or raise ``WouldBlock`` and deliver it nowhere."""
        ...


class Bus(Publisher, Protocol):
    """Routes envelopes into subscribers' mailboxes, validator first."""

    @property
    def shared(self) -> bool:
        """Whether other processes publish and consume on this bus: then its server
        redelivers what no one acknowledged, and a lead's outcome may come from another
        process."""
        ...

    def deliver_now(self, effects: Sequence[Envelope[Message]]) -> bool:
        """Deliver ``effects`` at once when nothing must be recorded or sent first and
        every mailbox has room; say whether it did. Otherwise it does nothing, and the
        caller commits them."""
        ...

    async def redeliver(self, envelope: Envelope[Message], subscriber: str) -> None:
        """Put a journaled envelope back in one subscriber's mailbox (when resuming); a
        shared bus, whose server redelivers by itself, refuses."""
        ...

    def open_mailbox(self, owner: str, *, capacity: int | None = None) -> Mailbox:
        """The mailbox of ``owner``, made on first use; the same one every later time."""
        ...

    def subscribe(
        self, subscriber: str, message_type: type[Message], *, unvalidated: bool = False
    ) -> Mailbox:
        """Deliver ``message_type`` into the subscriber's mailbox from now on.

        A probabilistic type reaches a subscriber only once its validator has approved
        it. ``unvalidated=True`` asks for it before validation, which only the
        validator registered for that type may do.
        """
        ...

    async def commit(
        self,
        effects: Sequence[Envelope[Message]],
        *,
        acks: Sequence[Ack] = (),
        on_durable: Callable[[], None] | None = None,
    ) -> None:
        """Record handlers' effects with the acks of their inputs in one step, then deliver them.

        ``on_durable`` runs once they are recorded and before any is delivered.
        """
        ...

    def ack(self, ack: Ack) -> None:
        """Record, without waiting, that a handler which published nothing is done."""
        ...

    def defer(self, ack: Ack, delay: float) -> None:
        """Hand a message back, unhandled, to be delivered again in ``delay`` seconds
        (a rate limit); this spends none of its delivery budget."""
        ...

    def statistics(self) -> BusStatistics:
        """A snapshot of the bus and every mailbox."""
        ...

    async def aclose(self) -> None:
        """Refuse new messages; what is queued can still be taken."""
        ...


class Recipient(Protocol):
    """Something a test bus can hand a message to directly: an actor, in practice."""

    @property
    def name(self) -> str: ...

    def accepts(self, envelope: Envelope[Message]) -> bool:
        """Whether this recipient declares the message's type (approved or not)."""
        ...

    async def dispatch(self, envelope: Envelope[Message], publisher: Publisher) -> None:
        """Handle one envelope, publishing results through ``publisher``."""
        ...
