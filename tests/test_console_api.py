"""The HTTP API in-process, through the app's own client over a live system: what
``GET /v1/leads/{id}`` shows of a lead's raw LLM replies, and how its schema says so."""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
import pytest

from actors import Icp, KnowledgeBase
from actors.llm import FunctionLlm, LlmRequest, OfflineLlm
from console import create_app
from messages import Stage
from supervision.system import Gate, PipelineConfig, System, compact_run, open_system

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TOKEN = "api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# A safety net so that a deadlock fails the test instead of hanging CI; not a timing claim.
DEADLOCK_GUARD_S = 60
MARKUP = "</script><script>alert(1)</script><img src=x onerror=alert(2)> {{ 7*7 }} &amp;"
"""What the model puts in the research summary of an ``R-`` lead: text, never markup."""


class Model:
    """The offline engine, except that an ``R-`` lead's research has no claims (so it goes
    to review) and markup in its summary; it keeps each reply it sent, by lead and stage."""

    def __init__(self) -> None:
        self.engine = OfflineLlm(seed=0, imperfection_rate=0.0)
        self.sent: dict[tuple[str, Stage], str] = {}

    async def __call__(self, request: LlmRequest) -> str:
        text = (await self.engine.complete(request)).text
        if request.trace_id.startswith("R-") and request.stage is Stage.RESEARCH:
            reply = json.loads(text)
            reply["claims"] = []
            reply["summary"] += " " + MARKUP
            text = json.dumps(reply)
        self.sent[request.trace_id, request.stage] = text
        return text


@pytest.fixture
def model() -> Model:
    return Model()


@asynccontextmanager
async def scripted_system(out: Path, model: Model) -> AsyncIterator[System]:
    """The live system on ``out`` with the scripted model."""
    config = PipelineConfig(
        out=out,
        gateway=FunctionLlm(model),
        icp=Icp.load(EXAMPLES / "icp.toml"),
        source=KnowledgeBase.load(EXAMPLES / "companies.json"),
    )
    async with open_system(config) as running:
        yield running


@asynccontextmanager
async def api_client(system: System) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app over ``system``, with the token."""
    transport = httpx.ASGITransport(app=create_app(system, Gate(), TOKEN))
    async with httpx.AsyncClient(transport=transport, base_url="http://api", headers=AUTH) as c:
        yield c


@pytest.fixture
async def scripted(tmp_path: Path, model: Model) -> AsyncIterator[System]:
    async with scripted_system(tmp_path, model) as running:
        yield running


@pytest.fixture
async def client(scripted: System) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(scripted) as c:
        yield c


async def run_leads(system: System, ids: dict[str, str]) -> None:
    """Submit example leads under new ids (``{new: example}``) and wait for their outcomes."""
    with (EXAMPLES / "leads.csv").open(encoding="utf-8") as f:
        rows = {row["id"]: row for row in csv.DictReader(f)}
    chosen = [rows[example] | {"id": new} for new, example in ids.items()]
    await system.submit(await system.open_input("test"), list(enumerate(chosen, start=1)))
    with anyio.fail_after(DEADLOCK_GUARD_S):
        await system.wait_finished()


async def test_a_finished_lead_shows_each_stages_raw_reply(
    scripted: System, client: httpx.AsyncClient, model: Model
) -> None:
    """A completed lead's view has the raw reply of research, scoring and writing, each the
    text the model sent."""
    await run_leads(scripted, {"C-1": "L0001"})
    answer = await client.get("/v1/leads/C-1")
    assert answer.status_code == 200 and answer.json()["status"] == "completed"
    assert answer.json()["raw_replies"] == {
        stage.value: model.sent["C-1", stage] for stage in Stage
    }


async def test_a_lead_in_review_shows_its_reply_as_text_and_null_for_the_rest(
    scripted: System, client: httpx.AsyncClient, model: Model
) -> None:
    """A lead whose research stayed without claims waits in the inbox with its draft: each
    stage's reply is there, the research's markup and all, as a JSON string."""
    await run_leads(scripted, {"R-1": "L0001"})
    answer = await client.get("/v1/leads/R-1")
    assert answer.headers["content-type"] == "application/json"
    view = answer.json()
    assert view["status"] == "needs_review"
    sent = model.sent["R-1", Stage.RESEARCH]
    assert MARKUP in json.loads(sent)["summary"]
    assert view["raw_replies"] == {stage.value: model.sent["R-1", stage] for stage in Stage}


async def test_after_compaction_only_a_review_item_keeps_its_reply(
    tmp_path: Path, model: Model
) -> None:
    """Once ``compact`` has dropped the journal's messages of finished leads, a completed
    lead's raw replies are null and a lead in review still has its item's reply: the
    draft's."""
    async with scripted_system(tmp_path, model) as system:
        await run_leads(system, {"C-1": "L0001", "R-1": "L0002"})
    assert compact_run(tmp_path).compacted == 2
    async with scripted_system(tmp_path, model) as system, api_client(system) as client:
        done = (await client.get("/v1/leads/C-1")).json()
        held = (await client.get("/v1/leads/R-1")).json()
    assert done["status"] == "completed" and held["status"] == "needs_review"
    assert done["raw_replies"] == {"research": None, "scoring": None, "writing": None}
    assert held["raw_replies"]["writing"] == model.sent["R-1", Stage.WRITING]


async def test_the_schema_documents_the_raw_replies(client: httpx.AsyncClient) -> None:
    """The OpenAPI document gives the lead view a ``raw_replies`` object with a nullable
    string per stage, each always present."""
    schema = (await client.get("/openapi.json")).json()
    components = schema["components"]["schemas"]
    view = schema["paths"]["/v1/leads/{lead_id}"]["get"]["responses"]["200"]["content"]
    assert view["application/json"]["schema"] == {"$ref": "#/components/schemas/LeadStatus"}
    lead = components["LeadStatus"]
    assert "raw_replies" in lead["required"]
    assert lead["properties"]["raw_replies"] == {"$ref": "#/components/schemas/RawReplies"}
    replies = components["RawReplies"]
    assert set(replies["required"]) == set(replies["properties"]) == {s.value for s in Stage}
    for stage in Stage:
        assert replies["properties"][stage.value]["anyOf"] == [
            {"type": "string"},
            {"type": "null"},
        ]
        assert replies["properties"][stage.value]["description"]


@pytest.mark.parametrize(
    "path", ["/v1/leads/NOPE", "/healthz", "/metrics", "/openapi.json", "/signin"]
)
async def test_every_answer_forbids_sniffing_its_type(client: httpx.AsyncClient, path: str) -> None:
    """JSON, plain text, errors and the console's pages alike carry ``nosniff``, so that no
    client renders an LLM's text as HTML."""
    response = await client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
