"""The deliveries one process holds: delivered, not yet acknowledged, kept alive meanwhile.

A delivery stays unacknowledged while its message waits in a mailbox or is being
handled, so that a process that dies has it redelivered to another. While held, it is
told to the server as in progress, well within ``ack_wait``, so that a long LLM call
does not lose it; when the bus stops, what is still held is handed back.
"""

from __future__ import annotations

import math
from contextlib import suppress
from typing import final

import anyio
import nats.errors
from nats.aio.msg import Msg

from bus._journal import Ack


@final
class Held:
    """Deliveries by (subscriber, message id): the latest one, whose reply subject acks it."""

    def __init__(self) -> None:
        self._deliveries: dict[tuple[str, str], Msg] = {}
        self.kept_alive = 0
        """In-progress notices sent."""
        self._acks, self._to_ack = anyio.create_memory_object_stream[Msg](math.inf)

    def hold(self, subscriber: str, message_id: str, msg: Msg) -> bool:
        """Hold ``msg``; whether an earlier delivery of it was held here already."""
        key = (subscriber, message_id)
        again = key in self._deliveries
        self._deliveries[key] = msg
        return again

    def release(self, ack: Ack) -> Msg | None:
        """Stop holding the message that ``ack`` names; its delivery, if it was held."""
        return self._deliveries.pop((ack.subscriber, ack.message_id), None)

    def ack_soon(self, ack: Ack) -> None:
        """Ack the held delivery without waiting: ``send_acks`` sends it."""
        held = self.release(ack)
        if held is not None:
            self._acks.send_nowait(held)

    async def send_acks(self) -> None:
        async with self._to_ack:
            async for msg in self._to_ack:
                # If lost, it is redelivered and handled again, harmlessly: it published nothing.
                with suppress(nats.errors.Error):
                    await msg.ack()

    async def keep_alive(self, ack_wait: float) -> None:
        """Tell the server, well within ``ack_wait``, that held messages are in progress."""
        while True:
            await anyio.sleep(ack_wait / 3)
            for msg in list(self._deliveries.values()):
                # If reconnecting, the message may be redelivered, which is safe.
                with suppress(nats.errors.Error):
                    await msg.in_progress()
                    self.kept_alive += 1

    def close(self) -> None:
        """Take no more acks to send."""
        self._acks.close()

    def discard(self) -> None:
        """Close the queue of acks, once ``send_acks`` is over (or never ran)."""
        self._to_ack.close()

    async def hand_back(self, delay: float) -> None:
        """Hand every held message back to the server, for another process, in ``delay``.

        Not at once: the server would hand it to this process's last pull request, which
        is open until it expires, and so to no one, until ``ack_wait`` runs out.
        """
        held, self._deliveries = list(self._deliveries.values()), {}
        for msg in held:
            with suppress(nats.errors.Error):
                await msg.nak(delay=delay)
