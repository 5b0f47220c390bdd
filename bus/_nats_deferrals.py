"""Rate limits on NATS: a delivery handed back with a delayed ``nak``, free of charge.

A rate limit is the provider's, not the message's: a worker hands the message back with
``nak(delay=...)`` rather than holding it, and another worker (or this one, later) takes
it once the pause is over. The server counts that delivery like any other, so the poison
budget is not the server's ``max_deliver`` (the consumers leave it unlimited) but the
bus's: deliveries less the rate limits the message met, counted in the ``LW_DEFERRALS``
key-value bucket, one key per consumer and stream sequence. The count is written before
the nak, so a process that dies in between errs towards one more delivery, never one
fewer. A bucket rather than a republished copy with a count in a header, because a stage
may not publish the approved subjects its input came on (validator-first, enforced by
the server), and a role's permissions can hold it to its own keys.
"""

from __future__ import annotations

import math
from contextlib import suppress
from dataclasses import dataclass
from typing import final

import anyio
import nats.errors
import nats.js.errors
from anyio import WouldBlock
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.kv import KeyValue

from bus._nats_settings import NatsSettings
from bus._nats_wire import DEFERRALS, deferral_key


@dataclass(frozen=True, slots=True)
class _Deferral:
    """A delivery to hand back after a rate limit."""

    subscriber: str
    msg: Msg
    delay: float


def bucket_config(settings: NatsSettings) -> KeyValueConfig:
    """The bucket: one value per delivery that met a rate limit, kept as long as its message."""
    storage = StorageType.MEMORY if settings.memory else StorageType.FILE
    return KeyValueConfig(
        bucket=DEFERRALS, history=1, ttl=settings.max_age, storage=storage, direct=True
    )


@final
class Deferrals:
    """Hands rate-limited deliveries back to the server, and counts them per delivery.

    ``defer`` does not wait: ``run`` (a task of the bus) writes the count and sends the
    nak. ``bind`` looks the bucket up once it exists.
    """

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js
        self._bucket: KeyValue | None = None
        self._send, self._receive = anyio.create_memory_object_stream[_Deferral](math.inf)
        self.deferred = 0
        """Deliveries handed back so far."""

    async def bind(self) -> None:
        self._bucket = await self._js.key_value(DEFERRALS)

    def defer(self, subscriber: str, msg: Msg, delay: float) -> None:
        """Hand ``msg`` back to the server in ``delay`` seconds, counted as a rate limit."""
        self.deferred += 1
        self._send.send_nowait(_Deferral(subscriber, msg, max(0.0, delay)))

    async def count(self, subscriber: str, msg: Msg) -> int:
        """How many of the deliveries of ``msg`` to ``subscriber`` were rate limits."""
        if self._bucket is None:
            return 0
        key = deferral_key(subscriber, msg.metadata.stream, msg.metadata.sequence.stream)
        try:
            entry = await self._bucket.get(key)
        except nats.js.errors.KeyNotFoundError:
            return 0
        except nats.errors.Error:
            return 0  # unreadable: count every delivery, rather than loop for ever
        return int(entry.value or b"0")

    async def run(self) -> None:
        async with self._receive:
            async for deferral in self._receive:
                await self._hand_back(deferral)

    def close(self) -> None:
        """Take no more deferrals; ``release`` hands back those still queued."""
        self._send.close()

    async def release(self) -> None:
        """Hand back what ``run`` has not, when the bus stops."""
        while True:
            try:
                deferral = self._receive.receive_nowait()
            except (WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                break
            await self._hand_back(deferral)

    def discard(self) -> None:
        """Close the queue, once ``run`` is over (or never ran)."""
        self._receive.close()

    async def _hand_back(self, deferral: _Deferral) -> None:
        msg = deferral.msg
        # If the count or the nak is lost, the message comes back after ack_wait anyway.
        with suppress(nats.errors.Error):
            if self._bucket is not None:
                count = await self.count(deferral.subscriber, msg)
                key = deferral_key(
                    deferral.subscriber, msg.metadata.stream, msg.metadata.sequence.stream
                )
                await self._bucket.put(key, str(count + 1).encode())
            await msg.nak(delay=deferral.delay)
