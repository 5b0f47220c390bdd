"""``/v1/validate/{stage}`` speaks the stages' one vocabulary (research, scoring, writing),
and still takes the names it was first published with (score, draft)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from console import create_app
from messages import LeadScore, OutreachDraft, ResearchResult, Stage
from supervision.system import Gate, System
from tests.support.outputs import draft, research, score

pytestmark = pytest.mark.anyio

TOKEN = "stages-token-0123456789"


@pytest.fixture
async def client(system: System) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(system, Gate(), TOKEN))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers) as c:
        yield c


async def verdict(
    client: httpx.AsyncClient, stage: str, output: ResearchResult | LeadScore | OutreachDraft
) -> httpx.Response:
    body = output.model_dump_json()
    headers = {"Content-Type": "application/json"}
    return await client.post(f"/v1/validate/{stage}", content=body, headers=headers)


@pytest.mark.parametrize(
    ("stage", "output"),
    [(Stage.RESEARCH, research()), (Stage.SCORING, score()), (Stage.WRITING, draft())],
    ids=str,
)
async def test_each_stage_is_validated_under_its_own_name(
    client: httpx.AsyncClient, stage: Stage, output: ResearchResult | LeadScore | OutreachDraft
) -> None:
    """The stage's name, as review items and the journal say it, takes that stage's output."""
    answer = await verdict(client, stage.value, output)

    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"passed", "violations", "more"}


@pytest.mark.parametrize(("alias", "stage"), [("score", "scoring"), ("draft", "writing")])
async def test_the_names_first_published_are_aliases_of_the_stages(
    client: httpx.AsyncClient, alias: str, stage: str
) -> None:
    """``score`` and ``draft`` answer as ``scoring`` and ``writing`` do."""
    output = score() if stage == "scoring" else draft(body="Hi [Name], a short note.")

    old, new = await verdict(client, alias, output), await verdict(client, stage, output)

    assert (old.status_code, old.json()) == (new.status_code, new.json())


async def test_an_output_under_another_stages_name_is_a_422(client: httpx.AsyncClient) -> None:
    """A draft posted as scoring is not a lead score: 422, naming the contract."""
    answer = await verdict(client, "scoring", draft())

    assert answer.status_code == 422
    assert answer.json()["detail"] == "not a LeadScore"


async def test_the_schema_lists_the_stages_and_their_aliases(client: httpx.AsyncClient) -> None:
    """The OpenAPI document names every stage the route takes, the aliases last."""
    paths = (await client.get("/openapi.json")).json()["paths"]
    [parameter] = paths["/v1/validate/{stage}"]["post"]["parameters"]

    assert parameter["schema"]["enum"] == ["research", "scoring", "writing", "score", "draft"]
