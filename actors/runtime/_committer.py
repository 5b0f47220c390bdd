"""The committer: an actor's finished handlers, made durable and delivered in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import final

import anyio

from bus import Ack, Bus
from messages import Envelope, Message

Finished = tuple[Envelope[Message], list[Envelope[Message]]]
"""A handled envelope and the effects its handler published."""


@final
class Committer:
    """Commits what an actor's handlers publish, together with the acks of their inputs.

    A handler hands its effects over and its worker goes on to the next message; the
    committer commits everything handed over since its last commit in one step (one
    journal transaction), then delivers it, in the order the handlers finished. So an
    actor never waits for the disk between messages, and a busy actor pays one commit
    for many of them.
    """

    def __init__(
        self,
        bus: Bus,
        *,
        subscriber: str,
        on_durable: Callable[[Envelope[Message]], None],
        limit: int,
    ) -> None:
        self._bus = bus
        self._subscriber = subscriber
        self._on_durable = on_durable
        self._limit = limit
        self._finished: list[Finished] = []
        self._work = anyio.Event()
        self._room = anyio.Event()
        self._closing = False
        self._running = False
        self._committing = False

    async def hand_over(
        self, envelope: Envelope[Message], effects: list[Envelope[Message]]
    ) -> None:
        """Queue one handler's effects; waits only while ``limit`` handlers' are queued.

        With nothing queued or being committed, and nothing to record (a bus without a
        journal), the effects are delivered at once if every mailbox has room.
        """
        # With nothing to record first (an in-process bus without a journal), a hand-over
        # into mailboxes with room is delivered at once, saving a wake-up of the committer.
        if (
            self._running
            and not self._finished
            and not self._committing
            and self._bus.deliver_now(effects)
        ):
            self._on_durable(envelope)
            return
        while len(self._finished) >= self._limit:
            if self._room.is_set():
                self._room = anyio.Event()
            await self._room.wait()
        self._finished.append((envelope, effects))
        self._work.set()

    def close(self) -> None:
        """Have ``run`` commit what is queued, then return."""
        self._closing = True
        self._work.set()

    async def run(self) -> None:
        """Commit whatever has been handed over, batch after batch, until closed."""
        self._running = True
        while self._finished or not self._closing:
            if not self._finished:
                if self._work.is_set():
                    self._work = anyio.Event()
                await self._work.wait()
                continue
            batch, self._finished = self._finished, []
            self._room.set()
            self._committing = True
            try:
                await self._commit(batch)
            finally:
                self._committing = False

    async def _commit(self, batch: list[Finished]) -> None:
        def durable() -> None:
            # Acked in memory as soon as it is durable, before delivery, so that a stalled
            # delivery can never make a message run (and publish) twice. Until then each
            # input stays in flight, and a crash hands it back to the next incarnation.
            for envelope, _ in batch:
                self._on_durable(envelope)

        await self._bus.commit(
            [effect for _, effects in batch for effect in effects],
            acks=[Ack(envelope.message_id, self._subscriber) for envelope, _ in batch],
            on_durable=durable,
        )
