"""The system on a shared NATS bus, in one test process: its hooks, its stage workers."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from _nats import WAIT_S, nats_server
from _serving import sample_leads

from actors import Icp, KnowledgeBase
from actors.llm import OfflineLlm
from bus import NatsServer
from messages import Envelope, LeadAccepted, LeadSubmitted, Message
from supervision.system import PipelineConfig, open_system

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

__all__ = ["nats_server"]

ROOT = Path(__file__).resolve().parent.parent
ICP = Icp.load(ROOT / "examples" / "icp.toml")
KB = KnowledgeBase.load(ROOT / "examples" / "companies.json")


async def test_the_system_on_nats_shows_its_hooks_what_it_publishes(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """config.hooks see what the stateful side publishes on NATS, as on the in-process bus."""
    seen: list[Envelope[Message]] = []
    accepted = anyio.Event()

    def tap(envelope: Envelope[Message]) -> None:
        seen.append(envelope)
        if isinstance(envelope.message, LeadAccepted):
            accepted.set()

    config = PipelineConfig(
        out=tmp_path / "run",
        gateway=OfflineLlm(seed=1),
        icp=ICP,
        source=KB,
        bus=nats_server.url,
        hooks=(tap,),
    )
    [lead] = sample_leads(1)
    async with open_system(config) as system:
        input_id = await system.open_input("test")
        await system.submit(input_id, [(1, lead)])
        with anyio.fail_after(WAIT_S):
            await accepted.wait()
        system.stop_by = anyio.current_time()  # the stages are not running: stop at once
    kinds = [type(e.message) for e in seen if e.trace_id == lead["id"]]
    assert kinds[:2] == [LeadSubmitted, LeadAccepted]
