"""Leads/s with 1, 2 and 4 ``run.py worker`` processes on NATS, and the latency of one hop.

Run by hand from the repository root, never by pytest; it takes a few minutes::

    PYTHONPATH=. python bench/distributed.py
    PYTHONPATH=. python bench/distributed.py --leads 200 --latency-ms 200 --concurrency 8 \\
        --workers 1,2,4

For each worker count W, a fresh ``nats-server -js`` (``bus.NatsServer``) on loopback,
then W worker processes running every stage at ``--concurrency`` handlers each, against
the offline LLM sleeping L ms per call. The benchmark plays the stateful side: it
publishes a ``LeadAccepted`` per seeded synthetic lead (``bench/_workload.py``) and
collects the messages that end a lead's stage work (an approved draft, a disqualifying
score, a review, a dead letter). leads/s = N / (time from the first publish to the last
lead's end). The single-process system (``run.py run --json``) runs the same leads at
the same total concurrency, W x C, for comparison.

The hop latency is the median (and p99) time from ``NatsBus.publish`` in one connection
to the envelope arriving in another connection's mailbox, one message at a time, over
loopback. The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

import anyio
import nats.js.errors
from _workload import lead_of, synthetic_records

from bus import Ack, NatsBus, NatsServer
from messages import (
    DeadLetter,
    Envelope,
    HumanReviewRequested,
    LeadAccepted,
    LeadScore,
    Message,
    OutreachDraft,
)
from supervision.system import VALIDATORS

ROOT = Path(__file__).resolve().parent.parent
READY_S = 60.0
"""The longest the workers may take to connect before the benchmark gives up."""


class BenchPing(Message):
    """A small message for the hop latency."""

    kind: Literal["bench_ping"] = "bench_ping"
    n: int
    """The sequence number."""


def ended(envelope: Envelope[Message]) -> bool:
    """Whether ``envelope`` ends its lead's stage work."""
    message = envelope.message
    return not (isinstance(message, LeadScore) and not message.disqualified)


async def wait_for_workers(bus: NatsBus, count: int) -> None:
    """Return once ``count`` workers each have a pull request open on research's consumer."""
    with anyio.fail_after(READY_S):
        while True:
            try:
                info = await bus.js.consumer_info("LEADWRIGHT", "research")
            except nats.js.errors.NotFoundError:  # not made yet: the workers are starting
                pass
            else:
                if (info.num_waiting or 0) >= count:
                    return
            await anyio.sleep(0.1)


def start_workers(
    url: str, count: int, latency_ms: float, concurrency: int
) -> list[subprocess.Popen[bytes]]:
    command = [sys.executable, str(ROOT / "run.py"), "worker", "--bus", url]
    command += ["--concurrency", str(concurrency), "--latency-ms", str(latency_ms)]
    return [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, env=os.environ)
        for _ in range(count)
    ]


def stop_workers(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait()


async def distributed(leads: int, workers: int, latency_ms: float, concurrency: int) -> float:
    """Leads/s of ``workers`` worker processes on a fresh server."""
    batch = [lead_of(raw) for raw in synthetic_records(leads, seed=0)]
    with tempfile.TemporaryDirectory() as store, NatsServer(Path(store)) as server:
        processes = start_workers(server.url, workers, latency_ms, concurrency)
        try:
            async with NatsBus.connect(server.url, validators=VALIDATORS, name="serve") as bus:
                mailbox = bus.open_mailbox("collector", capacity=512)
                for message_type in (LeadScore, OutreachDraft, HumanReviewRequested, DeadLetter):
                    bus.subscribe("collector", message_type)
                await wait_for_workers(bus, workers)
                done: set[str] = set()
                started = time.perf_counter()
                async with anyio.create_task_group() as tasks:
                    for lead in batch:
                        accepted = Envelope.new(
                            LeadAccepted(lead=lead), producer="intake", trace_id=lead.lead_id
                        )
                        tasks.start_soon(bus.publish, accepted)
                while len(done) < len(batch):
                    envelope = await mailbox.take()
                    bus.ack(Ack(envelope.message_id, "collector"))
                    if ended(envelope):
                        done.add(envelope.trace_id)
                elapsed = time.perf_counter() - started
        finally:
            stop_workers(processes)
    return leads / elapsed


def single_process(leads: int, latency_ms: float, concurrency: int) -> float:
    """Leads/s of ``run.py run`` on the same leads at ``concurrency``."""
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "leads.jsonl"
        rows = [json.dumps(raw.fields) for raw in synthetic_records(leads, seed=0)]
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        command = [sys.executable, str(ROOT / "run.py"), "run", str(path), "--out", work + "/out"]
        command += ["--latency-ms", str(latency_ms), "--concurrency", str(concurrency), "--json"]
        out = subprocess.run(command, cwd=ROOT, capture_output=True, check=True, text=True)
        summary = json.loads(out.stdout.strip().splitlines()[-1])
        return leads / float(summary["makespan_s"])


async def hop_latency(count: int) -> tuple[float, float]:
    """Median and p99 milliseconds from publish in one connection to another's mailbox."""
    samples: list[float] = []
    with tempfile.TemporaryDirectory() as store, NatsServer(Path(store)) as server:
        async with (
            NatsBus.connect(server.url, validators=VALIDATORS, name="a") as a,
            NatsBus.connect(server.url, validators=VALIDATORS, name="b") as b,
        ):
            mailbox = b.subscribe("receiver", BenchPing)
            for n in range(count):
                started = time.perf_counter()
                await a.publish(Envelope.new(BenchPing(n=n), producer="bench"))
                envelope = await mailbox.take()
                samples.append((time.perf_counter() - started) * 1000)
                b.ack(Ack(envelope.message_id, "receiver"))
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--hops", type=int, default=500)
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    rows = []
    for workers in counts:
        rate = await distributed(args.leads, workers, args.latency_ms, args.concurrency)
        single = await anyio.to_thread.run_sync(
            single_process, args.leads, args.latency_ms, workers * args.concurrency
        )
        row = {"workers": workers, "leads_per_s": round(rate, 2)}
        row["single_process_leads_per_s"] = round(single, 2)
        rows.append(row)
        print(json.dumps(rows[-1]), file=sys.stderr)
    base = rows[0]["leads_per_s"]
    for row in rows:
        row["speedup"] = round(row["leads_per_s"] / base, 2)
    median, p99 = await hop_latency(args.hops)
    result = {
        "leads": args.leads,
        "latency_ms": args.latency_ms,
        "concurrency_per_worker": args.concurrency,
        "runs": rows,
        "hop_ms_median": round(median, 3),
        "hop_ms_p99": round(p99, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    anyio.run(main, backend="asyncio")
