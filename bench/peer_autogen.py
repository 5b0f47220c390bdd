# autogen-core lives in its own venv, not in the one mypy checks with: its names are Any here.
# mypy: disable-error-code="import-not-found,misc,untyped-decorator"
"""autogen-core 0.7.5 on the peers' workload (issue 16): the figure Leadwright is held to.

Runs in its own virtual environment, which ``bench/peer_workload.py --autogen`` makes::

    python3.11 -m venv ~/.cache/leadwright-bench/autogen-core-0.7.5
    ~/.cache/leadwright-bench/autogen-core-0.7.5/bin/pip install autogen-core==0.7.5 anyio
    ~/.cache/leadwright-bench/autogen-core-0.7.5/bin/python bench/peer_autogen.py --one B

Three ``RoutedAgent``s (research, score, draft) on a ``SingleThreadedAgentRuntime``, each
subscribed to its own topic; a lead is published to the research topic, and each agent
calls the fake LLM of ``bench/_peer.py`` and publishes its output to the next topic. The
draft agent records the finished leads. The clock starts before the runtime is made and
stops once ``stop_when_idle`` returns. One JSON line, as ``bench/peer_workload.py`` prints.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass
from typing import Any

from _peer import CONFIGS, FakeLlm, Lead, Output, Run, check, leads, stage_input
from autogen_core import (
    MessageContext,
    RoutedAgent,
    SingleThreadedAgentRuntime,
    TopicId,
    message_handler,
    type_subscription,
)


@dataclass
class LeadMessage:
    lead: Lead


@dataclass
class ResearchMessage:
    lead: Lead
    research: Output


@dataclass
class ScoreMessage:
    lead: Lead
    research: Output
    score: Output


@type_subscription(topic_type="research")
class ResearchAgent(RoutedAgent):
    def __init__(self, llm: FakeLlm) -> None:
        super().__init__("research")
        self.llm = llm

    @message_handler
    async def on_lead(self, message: LeadMessage, ctx: MessageContext) -> None:
        research = await self.llm("research", stage_input(message.lead, None))
        await self.publish_message(
            ResearchMessage(message.lead, research), TopicId("score", self.id.key)
        )


@type_subscription(topic_type="score")
class ScoreAgent(RoutedAgent):
    def __init__(self, llm: FakeLlm) -> None:
        super().__init__("score")
        self.llm = llm

    @message_handler
    async def on_research(self, message: ResearchMessage, ctx: MessageContext) -> None:
        score = await self.llm("score", stage_input(message.lead, message.research))
        await self.publish_message(
            ScoreMessage(message.lead, message.research, score), TopicId("draft", self.id.key)
        )


@type_subscription(topic_type="draft")
class DraftAgent(RoutedAgent):
    def __init__(self, llm: FakeLlm, count: int, finished: dict[int, Any]) -> None:
        super().__init__("draft")
        self.llm = llm
        self.count = count
        self.finished = finished
        self.done = asyncio.Event()

    @message_handler
    async def on_score(self, message: ScoreMessage, ctx: MessageContext) -> None:
        draft = await self.llm("draft", stage_input(message.lead, message.score))
        self.finished[message.lead["id"]] = (message.research, message.score, draft)
        if len(self.finished) == self.count:
            self.done.set()


async def run_once(config: str) -> Run:
    count, latency_ms, concurrency = CONFIGS[config]
    records = leads(count)
    finished: dict[int, Any] = {}
    drafts: list[DraftAgent] = []

    def make_draft() -> DraftAgent:
        drafts.append(DraftAgent(llm, count, finished))
        return drafts[-1]

    started, cpu = time.perf_counter(), time.process_time()
    llm = FakeLlm(latency_ms, concurrency)
    runtime = SingleThreadedAgentRuntime()
    await ResearchAgent.register(runtime, "research", lambda: ResearchAgent(llm))
    await ScoreAgent.register(runtime, "score", lambda: ScoreAgent(llm))
    await DraftAgent.register(runtime, "draft", make_draft)
    runtime.start()
    for lead in records:
        await runtime.publish_message(LeadMessage(lead), TopicId("research", "default"))
    await runtime.stop_when_idle()
    makespan, cpu = time.perf_counter() - started, time.process_time() - cpu
    check(count, concurrency, llm, finished)
    return Run(
        "autogen-core 0.7.5",
        False,
        count,
        latency_ms,
        concurrency,
        makespan,
        llm.peak_in_flight,
        cpu,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", choices=sorted(CONFIGS), required=True, help="the config")
    args = parser.parse_args()
    print(asyncio.run(run_once(args.one)).line())


if __name__ == "__main__":
    main()
