"""What the LLM caller adds to one call: its limiter, deadline, breaker and bookkeeping.

Run by hand from the repository root, never by pytest::

    PYTHONPATH=. python bench/caller.py [--calls 20000] [--rounds 5]

A gateway that answers at once, without a turn of the event loop, is called directly
and through ``LlmCaller``, the two taking turns round by round; each figure is the best
round's µs a call (the least disturbed by other work on the machine). The difference is
the caller's own cost, which every LLM call of a run pays. The last line of output is one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Awaitable, Callable

import anyio

from actors.llm import LlmCaller, LlmReply, LlmRequest, reply_schema
from messages import Stage

REPLY = LlmReply(text="{}", model="bench", prompt_tokens=1, completion_tokens=1, latency_s=0.0)
REQUEST = LlmRequest(
    stage=Stage.RESEARCH,
    schema_name="research_reply",
    json_schema=reply_schema(Stage.RESEARCH),
    system="",
    prompt="",
    inputs={},
    trace_id="L1",
)


class Instant:
    """A gateway whose reply is ready at once."""

    inner = None

    async def complete(self, request: LlmRequest) -> LlmReply:
        return REPLY

    async def aclose(self) -> None:
        """Nothing to release."""


async def best_us(call: Callable[[LlmRequest], Awaitable[LlmReply]], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        await call(REQUEST)
    return (time.perf_counter() - started) / calls * 1e6


async def main(calls: int, rounds: int) -> None:
    gateway = Instant()
    caller = LlmCaller(gateway)
    await best_us(caller.call, 1000)  # warm-up: the first call of a stage sets up its samples
    bare: list[float] = []
    through: list[float] = []
    for _ in range(rounds):
        bare.append(await best_us(gateway.complete, calls))
        through.append(await best_us(caller.call, calls))
    result = {
        "calls": calls,
        "rounds": rounds,
        "gateway_us_per_call": round(min(bare), 2),
        "caller_us_per_call": round(min(through), 2),
        "caller_overhead_us": round(min(through) - min(bare), 2),
    }
    bare_us, through_us = result["gateway_us_per_call"], result["caller_us_per_call"]
    print(f"gateway alone {bare_us} µs a call, through the caller {through_us} µs")
    print(json.dumps(result))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, each system once")
    args = parser.parse_args()
    anyio.run(main, args.calls, args.rounds, backend="asyncio")
