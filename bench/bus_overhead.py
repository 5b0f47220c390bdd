"""How much the bus costs over a bare anyio memory object stream.

A producer task sends small messages to a consumer task through ``InProcessBus`` (the
consumer takes from its mailbox and acks, as an actor does), and through a bare memory
object stream of the same capacity. Both paths wrap each message in a new ``Envelope``, so
only the transport differs. The two paths alternate over several rounds, so that a change
in the machine's load during the run weighs on both alike. The last line of output is one
JSON object::

    python bench/bus_overhead.py [--messages N] [--capacity C] [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Literal

import anyio
from anyio import EndOfStream, create_memory_object_stream

from bus import InProcessBus
from messages import Envelope, Message

PRODUCER = "bench-producer"
CONSUMER = "bench-consumer"


class BenchTick(Message):
    """A small message, as most messages on the bus are."""

    kind: Literal["bench_tick"] = "bench_tick"
    n: int
    """The sequence number."""


async def through_bus(count: int, capacity: int) -> float:
    """Seconds to move ``count`` messages through ``InProcessBus``."""
    bus = InProcessBus(default_capacity=capacity)
    mailbox = bus.subscribe(CONSUMER, BenchTick)
    received = 0

    async def produce() -> None:
        for n in range(count):
            await bus.publish(Envelope.new(BenchTick(n=n), producer=PRODUCER))
        await bus.aclose()

    async def consume() -> None:
        nonlocal received
        while True:
            try:
                envelope = await mailbox.take()
            except EndOfStream:
                return
            mailbox.ack(envelope)
            received += 1

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        tg.start_soon(produce)
    elapsed = time.perf_counter() - started
    if received != count:
        raise RuntimeError(f"the bus delivered {received} of {count} messages")
    return elapsed


async def through_stream(count: int, capacity: int) -> float:
    """Seconds to move ``count`` messages through a bare memory object stream."""
    send, receive = create_memory_object_stream[Envelope[Message]](capacity)
    received = 0

    async def produce() -> None:
        async with send:
            for n in range(count):
                await send.send(Envelope.new(BenchTick(n=n), producer=PRODUCER))

    async def consume() -> None:
        nonlocal received
        async with receive:
            async for _envelope in receive:
                received += 1

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        tg.start_soon(produce)
    elapsed = time.perf_counter() - started
    if received != count:
        raise RuntimeError(f"the stream delivered {received} of {count} messages")
    return elapsed


async def main(count: int, capacity: int, rounds: int) -> None:
    # A short warm-up of both paths first, so that neither pays for first-call costs.
    await through_stream(1_000, capacity)
    await through_bus(1_000, capacity)
    per_round = count // rounds
    plain = bus = 0.0
    for _ in range(rounds):
        plain += await through_stream(per_round, capacity)
        bus += await through_bus(per_round, capacity)
    sent = per_round * rounds
    print(f"messages: {sent} per path, capacity: {capacity}, rounds: {rounds}")
    print(f"bus:   {bus:.3f} s")
    print(f"plain: {plain:.3f} s")
    bus_rate = sent / bus
    plain_rate = sent / plain
    result = {
        "bus_msgs_per_s": round(bus_rate),
        "plain_msgs_per_s": round(plain_rate),
        "ratio": round(bus_rate / plain_rate, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--capacity", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    anyio.run(main, args.messages, args.capacity, args.rounds, backend="asyncio")
