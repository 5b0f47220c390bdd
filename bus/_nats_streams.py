"""The streams and consumers NatsBus works on: made if missing, waited for if not ours to make.

Every process asks for the same streams, so whichever starts first makes them; a process
whose NATS user may not (a worker's, in deploy/nats-server.conf) waits until one that may
(``serve``'s) has. Each subscriber is one durable pull consumer, filtered on the subjects
it subscribed, and shared by every process that runs an actor of that name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from functools import partial

import anyio
import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig

from bus._nats_deferrals import bucket_config
from bus._nats_settings import NatsSettings
from bus._nats_wire import DEFERRALS, STREAM_SUBJECTS

STREAM_WAIT_S = 0.2
"""How often a process whose user may not create a missing stream looks for it again."""

OnWait = Callable[[str], None]
"""Told, once per stream, why the process waits for it."""


async def ensure_streams(
    js: JetStreamContext, settings: NatsSettings, on_wait: OnWait | None = None
) -> None:
    """Create each stream this user may create, if it is missing; wait for the others.

    A worker's user may not create ``LEADWRIGHT`` (only ``serve``'s may): a worker
    started before ``serve`` waits here until ``serve`` has made it, and then works,
    so the order in which processes start does not matter. The same holds for the
    bucket of rate limits.
    """
    for stream, subjects in STREAM_SUBJECTS.items():
        config = stream_config(stream, subjects, settings)
        await _ensure(js, stream, partial(js.add_stream, config), on_wait)
    bucket = bucket_config(settings)
    await _ensure(js, f"KV_{DEFERRALS}", partial(js.create_key_value, bucket), on_wait)


def stream_config(stream: str, subjects: Collection[str], settings: NatsSettings) -> StreamConfig:
    """A stream that keeps its messages for ``max_age`` and drops republished duplicates."""
    return StreamConfig(
        name=stream,
        subjects=list(subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.MEMORY if settings.memory else StorageType.FILE,
        duplicate_window=settings.duplicate_window,
        max_age=settings.max_age,
    )


async def bind_consumer(
    js: JetStreamContext,
    stream: str,
    subscriber: str,
    subjects: Collection[str],
    settings: NatsSettings,
) -> JetStreamContext.PullSubscription:
    """Make (or find) the subscriber's durable consumer on ``stream``, and pull from it."""
    config = ConsumerConfig(
        durable_name=subscriber,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=settings.ack_wait,
        # Unlimited: the pump counts deliveries less rate limits against max_deliver,
        # and turns the first one past it into the dead letter.
        max_deliver=-1,
        max_ack_pending=settings.max_ack_pending,
        filter_subjects=sorted(subjects),
    )
    await js.add_consumer(stream, config)
    return await js.pull_subscribe_bind(durable=subscriber, stream=stream)


async def _ensure(
    js: JetStreamContext,
    stream: str,
    create: Callable[[], Awaitable[object]],
    on_wait: OnWait | None,
) -> None:
    """Return once ``stream`` exists, made by ``create`` if this user may."""
    if await _stream_exists(js, stream):
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
        if await _stream_exists(js, stream):
            return


async def _stream_exists(js: JetStreamContext, stream: str) -> bool:
    try:
        await js.stream_info(stream)
    except nats.js.errors.NotFoundError:
        return False
    return True
