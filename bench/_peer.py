"""The peers' workload (issue 16), shared by every system that runs it.

N leads ``{"id": i, "name": f"Lead {i}", "company": f"Company {i % 97}"}``, all made before
the clock starts; each lead goes research, then score, then draft, each stage one call of
``FakeLlm`` that receives the lead with the previous stage's output. ``FakeLlm`` is the
issue's fake LLM: a semaphore of C made inside the event loop, a sleep of L ms under it
(which still yields once at L = 0), and a small dict back.

This module needs only the standard library and anyio, so that the peers' scripts, which
run in their own virtual environments, share it with Leadwright's. Each run prints one
JSON line (``Run.line``); ``check`` raises unless every lead finished with its own three
outputs, the calls were exactly 3N, and never more than C were in flight.
"""

from __future__ import annotations

import json
import math
import resource
import statistics
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, final

import anyio

STAGES = ("research", "score", "draft")
CONFIGS = {"A": (1000, 50.0, 32), "B": (2000, 0.0, 32)}
"""(N, L in ms, C) of the issue's configurations."""

Lead = dict[str, Any]
Output = dict[str, Any]


def leads(count: int) -> list[Lead]:
    """The workload's ``count`` leads, ids 0 to ``count - 1``."""
    return [{"id": i, "name": f"Lead {i}", "company": f"Company {i % 97}"} for i in range(count)]


def stage_input(lead: Lead, previous: Output | None) -> Lead:
    """What a stage hands the fake LLM: the lead, with the previous stage's output."""
    return lead if previous is None else {**lead, "previous": previous}


@final
class FakeLlm:
    """The issue's fake LLM, counting calls and the most ever in flight."""

    def __init__(self, latency_ms: float, concurrency: int) -> None:
        self.latency_s = latency_ms / 1000
        self.limiter = anyio.Semaphore(concurrency)  # made inside the event loop
        self.calls = 0
        self.in_flight = 0
        self.peak_in_flight = 0

    async def __call__(self, stage: str, lead: Lead) -> Output:
        async with self.limiter:
            self.calls += 1
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            try:
                await anyio.sleep(self.latency_s)
            finally:
                self.in_flight -= 1
        return {"stage": stage, "lead_id": lead["id"], "text": f"{stage} for {lead['name']}"}


def check(
    count: int, concurrency: int, llm: FakeLlm, finished: Mapping[int, Sequence[Output]]
) -> None:
    """Raise unless every lead has its own three outputs, 3N calls, at most C in flight."""
    if sorted(finished) != list(range(count)):
        raise RuntimeError(f"{len(finished)} of {count} leads finished")
    for lead_id, outputs in finished.items():
        stages = tuple(output["stage"] for output in outputs)
        if stages != STAGES or any(output["lead_id"] != lead_id for output in outputs):
            raise RuntimeError(f"lead {lead_id} finished with the wrong outputs: {outputs!r}")
    if llm.calls != 3 * count:
        raise RuntimeError(f"{llm.calls} LLM calls, not 3 * {count}")
    if llm.peak_in_flight > concurrency:
        raise RuntimeError(f"{llm.peak_in_flight} calls in flight, above C = {concurrency}")


@final
@dataclass(frozen=True, slots=True)
class Run:
    """One measured run of the workload."""

    system: str
    journal: bool
    n: int
    latency_ms: float
    concurrency: int
    makespan_s: float
    peak_in_flight: int
    cpu_s: float
    """CPU time (user and system, every thread) the process spent in the same window:
    less sensitive than the makespan to a machine shared with other work."""

    def report(self) -> dict[str, Any]:
        ideal = math.ceil(3 * self.n / self.concurrency) * self.latency_ms / 1000
        return {
            "system": self.system,
            "journal": self.journal,
            "n": self.n,
            "latency_ms": self.latency_ms,
            "concurrency": self.concurrency,
            "makespan_s": round(self.makespan_s, 4),
            "efficiency": round(ideal / self.makespan_s, 3),
            "leads_per_s": round(self.n / self.makespan_s, 1),
            "us_per_lead": round(self.makespan_s / self.n * 1e6, 1),
            "cpu_us_per_lead": round(self.cpu_s / self.n * 1e6, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "peak_in_flight": self.peak_in_flight,
        }

    def line(self) -> str:
        return json.dumps(self.report())


def peak_rss_mb() -> float:
    """This process's peak resident set size so far (one run per process)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def median_of(lines: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median makespan, marked as the median of ``len(lines)``, with the
    median of the runs' CPU time a lead (which may come from another run)."""
    middle = statistics.median_low(line["makespan_s"] for line in lines)
    chosen = next(line for line in lines if line["makespan_s"] == middle)
    cpu = statistics.median(line["cpu_us_per_lead"] for line in lines)
    return {**chosen, "median_of": len(lines), "median_cpu_us_per_lead": round(cpu, 1)}
