"""The whole pipeline on the OpenAI backend, over real HTTP to the fake server."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import anyio
import pytest
import stamina

from actors import Icp, KnowledgeBase, LedgerStore
from actors.intake import read_records
from actors.llm import OfflineLlm
from actors.llm._gateway import LlmRequest
from actors.llm._openai import OpenAiLlm
from actors.llm.testing import FakeOpenAI, Response, completion, quota_exhausted
from messages import Stage
from supervision.system import PipelineConfig, RunSummary, run_pipeline
from tests.support.paths import EXAMPLES

pytestmark = pytest.mark.anyio

SECRET = "sk-test-SECRET123"
LEADS = 4
# A safety net so that a deadlock fails the test instead of hanging CI; not a timing claim.
DEADLOCK_GUARD_S = 60


@pytest.fixture(autouse=True)
def no_backoff_waits() -> Iterator[None]:
    """Keep the policy's attempts, without its real backoff sleeps."""
    with stamina.set_testing(True, attempts=3, cap=True):
        yield


class OfflineProvider:
    """A script that answers like a flawless model: the offline engine, fed the prompt's data."""

    def __init__(self) -> None:
        self.engine = OfflineLlm(seed=0, imperfection_rate=0.0)

    def __call__(self, body: Mapping[str, Any], number: int) -> Response:
        name = body["response_format"]["json_schema"]["name"]
        stage = Stage(name.removesuffix("_reply"))
        system, user = (m["content"] for m in body["messages"])
        data = json.loads(user.split("<data>\n", 1)[1].split("\n</data>", 1)[0])
        request = LlmRequest(
            stage=stage,
            schema_name=name,
            json_schema={},
            system=system,
            prompt=user,
            inputs=data,
            trace_id=str(data.get("lead", {}).get("lead_id", number)),
        )
        # The handler thread has no event loop of its own: run the engine in a fresh one.
        reply = anyio.run(self.engine.complete, request)
        return completion(reply.text, model="gpt-4o-mini-2024-07-18")


async def run(out: Path, server: FakeOpenAI) -> RunSummary:
    icp = Icp.load(EXAMPLES / "icp.toml")
    async with OpenAiLlm(model="gpt-4o-mini", base_url=server.url, api_key=SECRET) as llm:
        config = PipelineConfig(
            out=out,
            gateway=llm,
            icp=icp,
            source=KnowledgeBase.load(EXAMPLES / "companies.json"),
            concurrency=4,
        )
        records = itertools.islice(read_records(EXAMPLES / "leads.csv"), LEADS)
        with anyio.fail_after(DEADLOCK_GUARD_S):
            return await run_pipeline(config, records)


def outcomes(out: Path) -> list[str]:
    store = LedgerStore(out / "journal.sqlite")
    try:
        return [row.outcome for row in store.report()]
    finally:
        store.close()


async def test_a_few_leads_run_end_to_end_over_http(tmp_path: Path) -> None:
    """Every lead ends in a final outcome, and every LLM call went over HTTP once."""
    with FakeOpenAI(OfflineProvider()) as server:
        summary = await run(tmp_path, server)
    assert summary.halted is None
    assert len(outcomes(tmp_path)) == LEADS
    assert "pending" not in outcomes(tmp_path)
    # A flawless model needs one call per stage: research, scoring and (unless disqualified)
    # writing; each reached the provider exactly once.
    assert 2 * LEADS <= summary.llm_calls == len(server.requests) <= 3 * LEADS
    assert all(r.body["response_format"]["json_schema"]["strict"] for r in server.requests)


async def test_quota_exhaustion_halts_the_run_and_leaves_leads_pending(tmp_path: Path) -> None:
    """insufficient_quota stops the run with one line; unfinished leads stay pending."""
    with FakeOpenAI(lambda body, number: quota_exhausted()) as server:
        summary = await run(tmp_path, server)
    assert summary.halted is not None
    assert "insufficient_quota" in summary.halted
    assert "\n" not in summary.halted
    assert SECRET not in summary.halted
    assert "pending" in outcomes(tmp_path)
