"""The pumps: each subscriber's consumer, fetched into its mailbox, for as long as the bus runs.

A pump asks for as many messages as the mailbox has room for, so a slow actor holds
back its own consumer and no other (``max_ack_pending`` bounds it over all processes).
A delivery that cannot reach the mailbox becomes a dead letter here, published before
the delivery is ended with ``term``: one that does not decode as the type its subject
declares, and one delivered more than ``max_deliver`` times without an ack (rate limits
do not count, ``bus/_nats_deferrals.py`` says why).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from contextlib import suppress
from typing import final

import anyio
import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from bus._journal import Ack
from bus._mailbox import Mailbox
from bus._nats_deferrals import Deferrals
from bus._nats_held import Held
from bus._nats_letters import delivery_letter
from bus._nats_settings import NatsSettings
from bus._nats_streams import bind_consumer
from bus._nats_wire import check_subject, envelope_subject
from bus._protocol import PublishHook
from messages import DeadLetter, Envelope, FailureKind, Message, UsageError

log = logging.getLogger(__name__)

FETCH_WAIT_S = 1.0
"""How long one pull request waits for messages before the pump asks again."""
RETRY_WAIT_S = 0.5
"""How long a pump waits after the connection failed under it, before it asks again."""

Send = Callable[[Envelope[Message], str], Awaitable[None]]
"""Publishes an envelope on a subject and waits for the server to have stored it."""


@final
class Pumps:
    """Runs one pump per (subscriber, stream), and counts what they delivered.

    ``hooks`` see the dead letters the pumps publish, as they see what the bus publishes.
    """

    def __init__(
        self,
        js: JetStreamContext,
        settings: NatsSettings,
        *,
        held: Held,
        deferrals: Deferrals,
        hooks: Sequence[PublishHook],
        send: Send,
    ) -> None:
        self._js = js
        self._settings = settings
        self._held = held
        self._deferrals = deferrals
        self._hooks = tuple(hooks)
        self._send = send
        self.delivered = 0
        """Deliveries handed to a mailbox."""
        self.dead_lettered = 0
        """Deliveries ended as dead letters."""

    async def run(
        self, subscriber: str, stream: str, subjects: Collection[str], mailbox: Mailbox
    ) -> None:
        """Fetch the consumer's messages into the subscriber's mailbox, for good."""
        pull = await bind_consumer(self._js, stream, subscriber, subjects, self._settings)
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
        try:
            envelope = Envelope.from_json(msg.data)
            check_subject(envelope, msg.subject)
        except (ValueError, UsageError) as exc:
            reason = f"Undecodable message on {msg.subject}: {exc}"
            failure = FailureKind.SCHEMA_MISMATCH
            await self._dead_letter(msg, delivery_letter(subscriber, msg, failure, reason))
            return
        spent = await self._spent(subscriber, msg)
        if spent > self._settings.max_deliver:
            reason = (
                f"{envelope.kind} {envelope.message_id} was delivered to {subscriber!r} "
                f"{spent - 1} times without being acknowledged (max_deliver)"
            )
            letter = delivery_letter(
                subscriber, msg, FailureKind.ACTOR_CRASH, reason, envelope, attempts=spent - 1
            )
            await self._dead_letter(msg, letter)
            return
        # Acks go to the latest delivery's reply subject, so it is held in any case.
        if self._held.hold(subscriber, envelope.message_id, msg):
            return  # still queued or being handled here: not a second time
        self.delivered += 1
        await mailbox.put(envelope)

    async def _spent(self, subscriber: str, msg: Msg) -> int:
        """The deliveries of ``msg`` that count against ``max_deliver``: not rate limits."""
        delivered = msg.metadata.num_delivered
        if delivered <= self._settings.max_deliver:
            return delivered  # within budget however counted: the bucket is not asked
        return delivered - await self._deferrals.count(subscriber, msg)

    async def _dead_letter(self, msg: Msg, letter: Envelope[DeadLetter]) -> None:
        """Publish ``letter`` for a delivery, then end its deliveries with ``term``."""
        if not self._hooks_pass(letter):
            return
        await self._send(letter, envelope_subject(letter))
        self.dead_lettered += 1
        if letter.causation_id is not None:  # it decoded: an earlier delivery may be held
            self._held.release(Ack(letter.causation_id, letter.message.actor))
        await msg.term()

    def _hooks_pass(self, letter: Envelope[DeadLetter]) -> bool:
        """Show ``letter`` to the hooks; ``False``, logged in one line, if one raised.

        A hook that raises fails the delivery as a failed handler does, rather than the
        bus: it is not acknowledged, so it comes back after ``ack_wait``, and that
        delivery counts against ``max_deliver`` like any other.
        """
        try:
            for hook in self._hooks:
                hook(letter)
        except Exception as exc:
            log.warning(
                "A publish hook raised %r on the dead letter %s of a delivery to %r; "
                "the delivery comes back after ack_wait",
                exc,
                letter.message_id,
                letter.message.actor,
            )
            return False
        return True
