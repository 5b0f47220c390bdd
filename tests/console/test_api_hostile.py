"""The HTTP API against hostile clients, in-process through the app's own client over a
live system: races on one Idempotency-Key, odd ids, odd headers and bodies, and the
validator as a service under a flood."""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from console import create_app
from supervision.system import Gate, System
from tests.support.outputs import draft
from tests.support.paths import EXAMPLES

pytestmark = pytest.mark.anyio

TOKEN = "hostile-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def client(system: System) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(system, Gate(), TOKEN))
    async with httpx.AsyncClient(transport=transport, base_url="http://api", headers=AUTH) as c:
        yield c


def sample(count: int) -> list[dict[str, str]]:
    """``count`` distinct sample leads, each with its own id and email."""
    with (EXAMPLES / "leads.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[:count]
    return [row | {"id": f"K{n}", "email": f"k{n}.{row['email']}"} for n, row in enumerate(rows)]


async def lead_count(client: httpx.AsyncClient) -> int:
    return len((await client.get("/v1/leads", params={"limit": 1000})).json()["leads"])


async def test_concurrent_posts_with_one_key_submit_one_body(client: httpx.AsyncClient) -> None:
    """Five concurrent POSTs with one Idempotency-Key and five bodies: one 202, four 409,
    and one lead in the run directory."""
    answers: list[httpx.Response] = []

    async def post(lead: dict[str, Any]) -> None:
        headers = {"Idempotency-Key": "race-1"}
        answers.append(await client.post("/v1/leads", json=lead, headers=headers))

    async with anyio.create_task_group() as group:
        for lead in sample(5):
            group.start_soon(post, lead)

    assert sorted(a.status_code for a in answers) == [202, 409, 409, 409, 409]
    assert await lead_count(client) == 1
    [accepted] = [a for a in answers if a.status_code == 202]
    again = await client.post(
        "/v1/leads",
        content=accepted.request.content,
        headers={"Idempotency-Key": "race-1", "Content-Type": "application/json"},
    )
    assert (again.status_code, again.json()) == (202, accepted.json())


async def test_concurrent_posts_of_one_body_and_key_answer_alike(
    client: httpx.AsyncClient,
) -> None:
    """The same body five times at once with one key: five 202s with one answer, one lead."""
    [lead] = sample(1)
    answers: list[httpx.Response] = []

    async def post() -> None:
        headers = {"Idempotency-Key": "same-1"}
        answers.append(await client.post("/v1/leads", json=lead, headers=headers))

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(post)

    assert [a.status_code for a in answers] == [202] * 5
    assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1
    assert await lead_count(client) == 1


@pytest.mark.parametrize("key", ["", "   ", "k" * 256])
async def test_an_empty_or_overlong_idempotency_key_is_a_400(
    client: httpx.AsyncClient, key: str
) -> None:
    """An empty Idempotency-Key is no key: 400 with the fix, and nothing submitted."""
    answer = await client.post("/v1/leads", json=sample(1)[0], headers={"Idempotency-Key": key})
    assert answer.status_code == 400
    assert answer.json()["detail"] == (
        "Idempotency-Key must hold 1 to 255 characters; or leave it out"
    )
    assert await lead_count(client) == 0


@pytest.mark.parametrize("lead_id", ["🚀1", "a b?c#d/../e", "50%/x", "ünï/cödé"])
async def test_any_id_gets_a_location_that_finds_the_lead(
    system: System, client: httpx.AsyncClient, lead_id: str
) -> None:
    """An id with non-Latin-1 letters, spaces, ``?``, ``#``, ``/`` or ``%`` is accepted with
    a percent-encoded Location; that Location, the console's lead page and the CRM page's
    link all find the lead."""
    [lead] = sample(1)
    posted = await client.post("/v1/leads", json=lead | {"id": lead_id})
    assert posted.status_code == 202, posted.text
    location = posted.headers["location"]
    assert location.isascii() and location == posted.json()["leads"][0]["location"]
    found = await client.get(location)
    assert (found.status_code, found.json()["id"]) == (200, lead_id)
    with anyio.fail_after(60):
        await system.wait_finished()
    await sign_in(client)
    crm = (await client.get("/crm")).text
    [link] = [p for p in crm.split('href="')[1:] if p.startswith("/leads/")]
    page = await client.get(link.split('"', 1)[0])
    assert page.status_code == 200 and "lead" in page.text


async def test_an_id_of_dots_is_refused(client: httpx.AsyncClient) -> None:
    """An id that a URL would read as "here" or "up" is a 422 with the reason."""
    answer = await client.post("/v1/leads", json=sample(1)[0] | {"id": ".."})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["reasons"] == [
        "id '..' cannot name the lead's page in a URL; choose another"
    ]


async def sign_in(client: httpx.AsyncClient) -> str:
    """Sign the client in to the console; the session's CSRF token."""
    form = await client.get("/signin")
    csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    data = {"csrf": csrf, "token": TOKEN, "reviewer": "Ada"}
    assert (await client.post("/signin", data=data)).status_code == 303
    page = (await client.get("/")).text
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def links_draft(count: int, form: str = "https://evil{}.example/pay") -> bytes:
    """A draft (the validator fixtures') whose body holds ``count`` foreign links."""
    output = draft()
    links = " ".join(form.format(n) for n in range(count))
    return output.model_copy(update={"body": output.body + "\n" + links}).model_dump_json().encode()


async def test_a_huge_validate_body_is_a_413(client: httpx.AsyncClient) -> None:
    """3.8 MB of links is refused before it is read: a stage's output is kilobytes."""
    body = links_draft(150_000)
    assert len(body) > 3_500_000
    answer = await client.post(
        "/v1/validate/draft", content=body, headers={"Content-Type": "application/json"}
    )
    assert (answer.status_code, answer.json()["detail"]) == (413, "the body is over 262144 bytes")


async def test_a_verdict_lists_a_hundred_violations_and_counts_the_rest(
    client: httpx.AsyncClient,
) -> None:
    """A draft with thousands of foreign links gets the first 100 violations and ``more``."""
    body = links_draft(5000)
    answer = await client.post(
        "/v1/validate/draft", content=body, headers={"Content-Type": "application/json"}
    )
    verdict = answer.json()
    assert answer.status_code == 200 and verdict["passed"] is False
    assert len(verdict["violations"]) == 100
    assert verdict["more"] >= 4900


async def test_health_answers_while_a_large_output_is_judged(client: httpx.AsyncClient) -> None:
    """The rules run in a worker thread: ``/healthz`` answers while a verdict is worked out."""
    order: list[str] = []
    body = links_draft(25_000, "e{}.ly")  # about a second of rules, under the body limit

    async def judge() -> None:
        answer = await client.post(
            "/v1/validate/draft", content=body, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 200
        order.append("verdict")

    async def health() -> None:
        await anyio.wait_all_tasks_blocked()
        assert (await client.get("/healthz")).status_code == 200
        order.append("health")

    async with anyio.create_task_group() as group:
        group.start_soon(judge)
        group.start_soon(health)
    assert order == ["health", "verdict"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/leads", b'{"id": "A1", "id": "A2", "email": "a@b.io"}'),
        ("/v1/validate/score", b'{"kind": "lead_score", "score": 10, "score": 90}'),
    ],
)
async def test_a_key_named_twice_is_a_422(
    client: httpx.AsyncClient, path: str, body: bytes
) -> None:
    """JSON parsers settle a repeated key differently, so one is refused, never guessed."""
    answer = await client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422
    assert "appears twice in one object" in answer.json()["detail"]
    assert await lead_count(client) == 0
