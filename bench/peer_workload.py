"""Leadwright's runtime on the peers' workload (issue 16), journal off and on.

Run by hand from the repository root, never by pytest; it takes a minute or so::

    PYTHONPATH=. python bench/peer_workload.py                     # configs A and B
    PYTHONPATH=. python bench/peer_workload.py --configs B --autogen

The workload is ``bench/_peer.py``'s: N leads, research, score and draft, each stage one
call of the issue's fake LLM. Here it runs as four actors on ``InProcessBus``: research,
score and draft, each with C workers, and a validator that receives the research and
score outputs (marked probabilistic) unvalidated, applies one trivial rule (the output is
about its own lead and says something) and publishes them again, approved. A collector
takes the drafts. As in the pipeline, a feeder admits at most 2C leads at once (an admission
window, so the mailboxes, of 4C + 8, never fill) and publishes every lead that finds a
free place in one commit. With ``--journal`` on, every message is journaled in SQLite
before it is delivered, with the acks of the handled ones.

The clock starts before the bus, the journal and the actors are made, and stops after
they have stopped and the journal is closed. Each run is its own process (so that its peak
RSS is its own); each system (journal off, journal on, autogen-core) runs ``--rounds``
times, taking turns round by round, one JSON line per run, then a line for each median.
``--autogen`` adds ``bench/peer_autogen.py``, run in a virtual environment with
``autogen-core==0.7.5``, made on first use under ``~/.cache/leadwright-bench``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar, Literal

import anyio
from _peer import CONFIGS, FakeLlm, Run, check, leads, median_of, stage_input
from anyio import WouldBlock

from actors import Actor, Context
from bus import InProcessBus, SqliteJournal
from messages import Envelope, Message

HERE = Path(__file__).resolve().parent
AUTOGEN_VERSION = "0.7.5"
AUTOGEN_VENV = Path.home() / ".cache" / "leadwright-bench" / f"autogen-core-{AUTOGEN_VERSION}"

Fields = dict[str, str | int]


class PeerLead(Message):
    """A lead of the peers' workload."""

    kind: Literal["peer_lead"] = "peer_lead"
    lead: Fields
    """``{"id", "name", "company"}``."""


class PeerResearch(Message):
    """The research stage's output, before or after the validator."""

    probabilistic: ClassVar[bool] = True
    kind: Literal["peer_research"] = "peer_research"
    lead: Fields
    """The lead."""
    research: Fields
    """What the fake LLM returned for research."""


class PeerScore(Message):
    """The score stage's output, before or after the validator."""

    probabilistic: ClassVar[bool] = True
    kind: Literal["peer_score"] = "peer_score"
    lead: Fields
    """The lead."""
    research: Fields
    """The approved research."""
    score: Fields
    """What the fake LLM returned for scoring."""


class PeerDraft(Message):
    """The draft stage's output: the lead is done."""

    kind: Literal["peer_draft"] = "peer_draft"
    lead: Fields
    """The lead."""
    research: Fields
    """The approved research."""
    score: Fields
    """The approved score."""
    draft: Fields
    """What the fake LLM returned for the draft."""


class ResearchStage(Actor[PeerLead]):
    handles = (PeerLead,)

    def __init__(self, llm: FakeLlm, concurrency: int, capacity: int) -> None:
        super().__init__(name="research", concurrency=concurrency, mailbox_capacity=capacity)
        self.llm = llm

    async def handle(self, ctx: Context[PeerLead]) -> None:
        lead = ctx.message.lead
        research = await self.llm("research", stage_input(lead, None))
        await ctx.publish(PeerResearch(lead=lead, research=research))


class ScoreStage(Actor[PeerResearch]):
    handles = (PeerResearch,)

    def __init__(self, llm: FakeLlm, concurrency: int, capacity: int) -> None:
        super().__init__(name="score", concurrency=concurrency, mailbox_capacity=capacity)
        self.llm = llm

    async def handle(self, ctx: Context[PeerResearch]) -> None:
        message = ctx.message
        score = await self.llm("score", stage_input(message.lead, message.research))
        await ctx.publish(PeerScore(lead=message.lead, research=message.research, score=score))


class DraftStage(Actor[PeerScore]):
    handles = (PeerScore,)

    def __init__(self, llm: FakeLlm, concurrency: int, capacity: int) -> None:
        super().__init__(name="draft", concurrency=concurrency, mailbox_capacity=capacity)
        self.llm = llm

    async def handle(self, ctx: Context[PeerScore]) -> None:
        message = ctx.message
        draft = await self.llm("draft", stage_input(message.lead, message.score))
        await ctx.publish(
            PeerDraft(
                lead=message.lead, research=message.research, score=message.score, draft=draft
            )
        )


class PeerValidator(Actor[PeerResearch | PeerScore]):
    validates = (PeerResearch, PeerScore)

    def __init__(self, capacity: int) -> None:
        super().__init__(name="validator", mailbox_capacity=capacity)

    async def handle(self, ctx: Context[PeerResearch | PeerScore]) -> None:
        message = ctx.message
        output = message.research if isinstance(message, PeerResearch) else message.score
        if output["lead_id"] != message.lead["id"] or not output["text"]:
            raise ValueError(f"output {output!r} is not about lead {message.lead['id']!r}")
        await ctx.publish(message, attempt=ctx.envelope.attempt, approved=True)


class Collector(Actor[PeerDraft]):
    handles = (PeerDraft,)

    def __init__(self, count: int, window: anyio.Semaphore, capacity: int) -> None:
        super().__init__(name="collector", mailbox_capacity=capacity)
        self.count = count
        self.window = window
        self.finished: dict[int, tuple[dict[str, Any], ...]] = {}
        self.done = anyio.Event()

    async def handle(self, ctx: Context[PeerDraft]) -> None:
        message = ctx.message
        lead_id = int(message.lead["id"])
        self.finished[lead_id] = (dict(message.research), dict(message.score), dict(message.draft))
        self.window.release()
        if len(self.finished) == self.count:
            self.done.set()


async def run_once(config: str, journal: bool) -> Run:
    """One run of ``config`` on Leadwright's runtime."""
    count, latency_ms, concurrency = CONFIGS[config]
    records = leads(count)
    with tempfile.TemporaryDirectory(prefix="leadwright-peer-") as scratch:
        started, cpu = time.perf_counter(), time.process_time()
        llm = FakeLlm(latency_ms, concurrency)
        window = anyio.Semaphore(2 * concurrency)
        capacity = 4 * concurrency + 8
        store = SqliteJournal(Path(scratch) / "journal.sqlite") if journal else None
        bus = InProcessBus(
            validators={PeerResearch: "validator", PeerScore: "validator"},
            default_capacity=capacity,
            journal=store,
        )
        collector = Collector(count, window, capacity)
        actors: list[Actor[Any]] = [
            ResearchStage(llm, concurrency, capacity),
            ScoreStage(llm, concurrency, capacity),
            DraftStage(llm, concurrency, capacity),
            PeerValidator(capacity),
            collector,
        ]
        async with anyio.create_task_group() as tg:
            for actor in actors:
                await tg.start(actor.run, bus)
            await feed(bus, records, window)
            await collector.done.wait()
            for actor in actors:
                actor.stop()
        await bus.aclose()
        if store is not None:
            store.close()
        makespan, cpu = time.perf_counter() - started, time.process_time() - cpu
    check(count, concurrency, llm, collector.finished)
    return Run(
        "leadwright", journal, count, latency_ms, concurrency, makespan, llm.peak_in_flight, cpu
    )


async def feed(bus: InProcessBus, records: list[dict[str, Any]], window: anyio.Semaphore) -> None:
    """Publish every lead, each batch that finds free places in the window in one commit."""
    position = 0
    while position < len(records):
        await window.acquire()
        end = position + 1
        while end < len(records):
            try:
                window.acquire_nowait()
            except WouldBlock:
                break
            end += 1
        await bus.commit(
            [Envelope.new(PeerLead(lead=lead), producer="feeder") for lead in records[position:end]]
        )
        position = end


def ensure_autogen() -> Path:
    """The Python of the autogen-core venv, made (once) if it is missing."""
    python = AUTOGEN_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(AUTOGEN_VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                f"autogen-core=={AUTOGEN_VERSION}",
                "anyio",
            ],
            check=True,
        )
    return python


def measure(commands: list[list[str]], rounds: int) -> list[dict[str, Any]]:
    """Run each command ``rounds`` times, round by round, so that a change in the machine's
    load weighs on every system alike; print each run's JSON line, then each median, and
    return the medians."""
    lines: list[list[dict[str, Any]]] = [[] for _ in commands]
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    for _ in range(rounds):
        for command, runs in zip(commands, lines, strict=True):
            done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
            line = json.loads(done.stdout.strip().splitlines()[-1])
            print(json.dumps(line), flush=True)
            runs.append(line)
    medians = [median_of(runs) for runs in lines]
    for median in medians:
        print(json.dumps(median), flush=True)
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="A,B", help="comma-separated: A, B")
    parser.add_argument("--rounds", type=int, default=3, help="runs per (config, journal)")
    parser.add_argument("--autogen", action="store_true", help="also run autogen-core")
    parser.add_argument("--one", choices=sorted(CONFIGS), help=argparse.SUPPRESS)
    parser.add_argument("--journal", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        run = anyio.run(run_once, args.one, args.journal, backend="asyncio")
        print(run.line())
        return
    me = [sys.executable, str(Path(__file__).resolve())]
    for config in args.configs.split(","):
        commands = [[*me, "--one", config], [*me, "--one", config, "--journal"]]
        if args.autogen:
            commands.append([str(ensure_autogen()), str(HERE / "peer_autogen.py"), "--one", config])
        medians = measure(commands, args.rounds)
        if args.autogen:
            off, on, peer = medians
            print(
                json.dumps(
                    {
                        "config": config,
                        "ratio_off": round(off["leads_per_s"] / peer["leads_per_s"], 2),
                        "ratio_on": round(on["leads_per_s"] / peer["leads_per_s"], 2),
                        "cpu_ratio_off": round(
                            peer["median_cpu_us_per_lead"] / off["median_cpu_us_per_lead"], 2
                        ),
                        "cpu_ratio_on": round(
                            peer["median_cpu_us_per_lead"] / on["median_cpu_us_per_lead"], 2
                        ),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
