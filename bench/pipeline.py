"""Leadwright against a naive loop and a hand-written anyio pipeline (DESIGN.md targets).

Run by hand from the repository root, never by pytest; it takes a minute or so::

    PYTHONPATH=. python bench/pipeline.py
    PYTHONPATH=. python bench/pipeline.py --leads 1000 --latency-ms 50 --concurrency 32 \\
        --naive-leads 100 --seed 0
    PYTHONPATH=. python bench/pipeline.py --skip-naive

Every system gets the same seeded synthetic leads (``bench/_workload.py``) and its own
``OfflineLlm`` with the same seed, sleeping L ms per call:

1. Leadwright: ``run_pipeline`` with the validator, the CRM writes and the SQLite journal,
   into a fresh temporary ``--out``. Its re-asks are counted in ``llm_calls``.
2. A naive loop: research, scoring, then writing (skipped for a low fit, as Leadwright
   does) for one lead after another, no concurrency. At 150 ms a lead it runs on the first
   ``--naive-leads`` leads only.
3. A hand-written anyio pipeline: three stages of C workers joined by memory object
   streams, a ``CapacityLimiter(C)`` around every LLM call, no validator, no CRM.

``efficiency = ceil(llm_calls / C) * L / makespan``, each system with its own call count.
The overhead per lead is the makespan at L = 0 over N, for Leadwright and the anyio
pipeline. Both first run a short warm-up at L = 0, so neither pays for first-call costs.
The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import final

import anyio
from _workload import EXAMPLES, Steps, lead_of, synthetic_records
from anyio import create_memory_object_stream
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from stamina.instrumentation import set_on_retry_hooks

from actors import Icp, KnowledgeBase
from actors.intake import RawRecord
from actors.llm import LlmReply, LlmRequest, OfflineLlm
from messages import Lead, LeadScore, ResearchResult
from supervision.system import PipelineConfig, RunSummary, run_pipeline

WARM_UP_LEADS = 64


@final
@dataclass(frozen=True, slots=True)
class Measured:
    """One system's run: how many leads and LLM calls, and how long it took."""

    leads: int
    llm_calls: int
    makespan_s: float

    def ideal_s(self, latency_ms: float, concurrency: int) -> float:
        return math.ceil(self.llm_calls / concurrency) * latency_ms / 1000

    def report(self, latency_ms: float, concurrency: int) -> dict[str, float | int]:
        ideal = self.ideal_s(latency_ms, concurrency)
        return {
            "llm_calls": self.llm_calls,
            "makespan_s": round(self.makespan_s, 3),
            "ideal_s": round(ideal, 3),
            "efficiency": round(ideal / self.makespan_s, 3) if self.makespan_s > 0 else 0.0,
        }

    def us_per_lead(self) -> float:
        return round(self.makespan_s / self.leads * 1e6, 1)


@dataclass(frozen=True, slots=True)
class Setting:
    """What every run shares."""

    icp: Icp
    source: KnowledgeBase
    seed: int
    concurrency: int

    def llm(self, latency_ms: float) -> OfflineLlm:
        return OfflineLlm(seed=self.seed, latency_ms=latency_ms)


@final
class _Capped:
    """A gateway behind a ``CapacityLimiter``: at most its total of calls in flight."""

    def __init__(self, llm: OfflineLlm, limiter: anyio.CapacityLimiter) -> None:
        self._llm = llm
        self._limiter = limiter

    @property
    def inner(self) -> OfflineLlm:
        return self._llm

    async def complete(self, request: LlmRequest) -> LlmReply:
        async with self._limiter:
            return await self._llm.complete(request)

    async def aclose(self) -> None:
        await self._llm.aclose()


async def leadwright(
    setting: Setting, records: Sequence[RawRecord], latency_ms: float
) -> tuple[Measured, RunSummary]:
    """Leadwright's run of ``records``, into a fresh temporary run directory."""
    with tempfile.TemporaryDirectory(prefix="leadwright-bench-") as out:
        config = PipelineConfig(
            out=Path(out),
            gateway=setting.llm(latency_ms),
            icp=setting.icp,
            source=setting.source,
            concurrency=setting.concurrency,
            seed=setting.seed,
        )
        summary = await run_pipeline(config, records, total=len(records))
    if summary.halted is not None or summary.pending or summary.leads != len(records):
        raise RuntimeError(
            f"the run did not finish every lead: {summary.leads} read, "
            f"{summary.pending} pending, halted={summary.halted!r}"
        )
    return Measured(len(records), summary.llm_calls, summary.makespan_s), summary


async def naive(setting: Setting, records: Sequence[RawRecord], latency_ms: float) -> Measured:
    """One lead after another, one step after another."""
    llm = setting.llm(latency_ms)
    steps = Steps(llm, setting.icp, setting.source)
    started = time.perf_counter()
    for raw in records:
        score = await steps.score(await steps.research(lead_of(raw)))
        if not score.disqualified:
            await steps.write(score)
    makespan = time.perf_counter() - started
    return Measured(len(records), llm.statistics().calls, makespan)


async def anyio_pipeline(
    setting: Setting, records: Sequence[RawRecord], latency_ms: float
) -> Measured:
    """Three stages of C workers joined by memory object streams, LLM calls capped at C."""
    workers = setting.concurrency
    llm = setting.llm(latency_ms)
    steps = Steps(_Capped(llm, anyio.CapacityLimiter(workers)), setting.icp, setting.source)
    leads_in, leads_out = create_memory_object_stream[Lead](workers)
    research_in, research_out = create_memory_object_stream[ResearchResult](workers)
    scores_in, scores_out = create_memory_object_stream[LeadScore](workers)

    async def feed() -> None:
        async with leads_in:
            for raw in records:
                await leads_in.send(lead_of(raw))

    async def research(
        receive: MemoryObjectReceiveStream[Lead], send: MemoryObjectSendStream[ResearchResult]
    ) -> None:
        async with receive, send:
            async for lead in receive:
                await send.send(await steps.research(lead))

    async def score(
        receive: MemoryObjectReceiveStream[ResearchResult],
        send: MemoryObjectSendStream[LeadScore],
    ) -> None:
        async with receive, send:
            async for result in receive:
                await send.send(await steps.score(result))

    async def write(receive: MemoryObjectReceiveStream[LeadScore]) -> None:
        async with receive:
            async for lead_score in receive:
                if not lead_score.disqualified:
                    await steps.write(lead_score)

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        tg.start_soon(feed)
        for _ in range(workers):
            tg.start_soon(research, leads_out.clone(), research_in.clone())
            tg.start_soon(score, research_out.clone(), scores_in.clone())
            tg.start_soon(write, scores_out.clone())
        leads_out.close()
        research_in.close()
        research_out.close()
        scores_in.close()
        scores_out.close()
    makespan = time.perf_counter() - started
    return Measured(len(records), llm.statistics().calls, makespan)


async def main(args: argparse.Namespace) -> None:
    set_on_retry_hooks([])
    latency, workers = float(args.latency_ms), int(args.concurrency)
    setting = Setting(
        icp=Icp.load(EXAMPLES / "icp.toml"),
        source=KnowledgeBase.load(EXAMPLES / "companies.json"),
        seed=args.seed,
        concurrency=workers,
    )
    records = synthetic_records(args.leads, seed=args.seed)
    subset = records[: min(args.naive_leads, len(records))]

    await leadwright(setting, records[:WARM_UP_LEADS], 0.0)
    await anyio_pipeline(setting, records[:WARM_UP_LEADS], 0.0)

    lw, summary = await leadwright(setting, records, latency)
    plain = await anyio_pipeline(setting, records, latency)
    slow = None if args.skip_naive else await naive(setting, subset, latency)
    lw_zero, _ = await leadwright(setting, records, 0.0)
    plain_zero = await anyio_pipeline(setting, records, 0.0)

    result: dict[str, object] = {
        "leads": len(records),
        "latency_ms": latency,
        "concurrency": workers,
        "leadwright": lw.report(latency, workers),
        "anyio_pipeline": plain.report(latency, workers),
        "naive": None if slow is None else {**slow.report(latency, workers), "leads": slow.leads},
        "overhead_us_per_lead": {
            "leadwright": lw_zero.us_per_lead(),
            "anyio_pipeline": plain_zero.us_per_lead(),
        },
        "overhead_ratio": round(lw_zero.makespan_s / plain_zero.makespan_s, 2),
    }
    _print_table(latency, workers, [("leadwright", lw), ("anyio pipeline", plain)], slow)
    print(f"leadwright outcomes: {summary.outcomes}, re-asks and retries: {summary.retries}")
    print(
        f"overhead per lead at L = 0, N = {len(records)}: "
        f"leadwright {lw_zero.us_per_lead():.1f} µs, "
        f"anyio pipeline {plain_zero.us_per_lead():.1f} µs (ratio {result['overhead_ratio']})"
    )
    print(json.dumps(result))


def _print_table(
    latency: float, workers: int, rows: list[tuple[str, Measured]], slow: Measured | None
) -> None:
    print(f"L = {latency:g} ms, C = {workers}")
    heads = ("system", "leads", "llm calls", "makespan s", "ideal s", "efficiency")
    print(f"{heads[0]:<24}" + "".join(f"{head:>12}" for head in heads[1:]))
    if slow is not None:
        rows = [*rows, ("naive sequential loop", slow)]
    for name, measured in rows:
        shown = measured.report(latency, workers)
        cells = (shown["makespan_s"], shown["ideal_s"], shown["efficiency"])
        print(
            f"{name:<24}{measured.leads:>12}{measured.llm_calls:>12}"
            + "".join(f"{cell:>12.3f}" for cell in cells)
        )
    if slow is not None and slow.leads < rows[0][1].leads:
        print(f"(the naive loop ran on the first {slow.leads} leads; its efficiency is theirs)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1000, help="N, the leads per run")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="L, per LLM call")
    parser.add_argument("--concurrency", type=int, default=32, help="C, LLM calls in flight")
    parser.add_argument("--naive-leads", type=int, default=100, help="leads for the naive loop")
    parser.add_argument("--seed", type=int, default=0, help="seeds the leads and the LLM")
    parser.add_argument("--skip-naive", action="store_true", help="leave the naive loop out")
    anyio.run(main, parser.parse_args(), backend="asyncio")
