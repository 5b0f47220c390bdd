"""The console's Evaluations page, in-process: reports in the run directory listed, each
shown under its own strict policy, its untrusted lead text inert."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from console import create_app
from supervision.evaluation import REPORT_CSP, REPORT_JSON, Evaluation, LeadResult, Side
from supervision.evaluation._result import GateResult, Usage
from supervision.system import Gate, System

pytestmark = pytest.mark.anyio

TOKEN = "evaluations-token"
XSS = '<script>alert("lead")</script><img src=x onerror=alert(1)>'


@pytest.fixture
async def client(system: System) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(system, Gate(), TOKEN))
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as c:
        yield c


async def sign_in(client: httpx.AsyncClient) -> None:
    form = (await client.get("/signin")).text
    found = re.search(r'name="csrf" value="([^"]+)"', form)
    assert found is not None
    data = {"csrf": found.group(1), "token": TOKEN, "reviewer": "Ada"}
    assert (await client.post("/signin", data=data)).status_code == 303


def evaluation(summary: str = "candidate: 3 more leads completed") -> Evaluation:
    """A small evaluation whose lead carries markup in every text it has."""
    side = Side(outcome="completed", fit="high", score=80, subject=XSS, body=f"Hi {XSS},")
    usage = Usage(
        recorded=True, stages=(), calls=0, tokens=0, cost_usd=0.0, priced=True,
        cost_per_lead=0.0, latency_p50_s=None, latency_p95_s=None,
    )  # fmt: skip
    lead = LeadResult(
        lead_id="L0001", name=XSS, company=XSS, baseline=side,
        candidate=side.model_copy(update={"body": "Hello"}),
        draft_diff=(("delete", f"Hi {XSS},"), ("insert", "Hello")),
    )  # fmt: skip
    return Evaluation(
        kind="baseline", created_at=datetime.now(UTC), baseline="runs/base", candidate=XSS,
        settings={}, leads=1, measured=1,
        outcomes={"baseline": {"completed": 1}, "candidate": {"completed": 1}},
        transitions={"completed": {"completed": 1}}, rules=(), fit_labels=("high",),
        fit_confusion=((1,),), kappa=1.0, usage={"baseline": usage, "candidate": usage},
        metrics={}, baseline_metrics={}, summary=summary, lead_results=(lead,),
        gate=(GateResult(expression="kappa < 0.7", holds=False, detail="kappa 1 < 0.7"),),
    )  # fmt: skip


def store(out: Path, name: str, result: Evaluation) -> None:
    folder = out / "evaluations" / name
    folder.mkdir(parents=True)
    (folder / REPORT_JSON).write_text(result.model_dump_json(), encoding="utf-8")


async def test_the_pages_need_a_session(client: httpx.AsyncClient, system: System) -> None:
    """A stranger is sent to sign in from the list and from a report."""
    store(system.config.out, "first", evaluation())
    for path in ("/evaluations", "/evaluations/first"):
        answer = await client.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/signin")


async def test_the_list_shows_each_evaluation_and_its_closing_line(
    client: httpx.AsyncClient, system: System
) -> None:
    """Each report in the run directory's evaluations folder is a row with its line; an
    unreadable one says so; the candidate's text is escaped."""
    store(system.config.out, "nano-2026", evaluation())
    broken = system.config.out / "evaluations" / "broken"
    broken.mkdir()
    (broken / REPORT_JSON).write_text("{not json")
    await sign_in(client)
    page = await client.get("/evaluations")
    assert page.status_code == 200
    assert 'href="/evaluations/nano-2026"' in page.text
    assert "candidate: 3 more leads completed" in page.text and "gate passed" in page.text
    assert "its report.json cannot be read" in page.text
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    assert 'href="/evaluations"' in (await client.get("/")).text


async def test_an_empty_folder_says_how_to_fill_it(client: httpx.AsyncClient) -> None:
    """With no evaluations, the page says where `evaluate --out` should write."""
    await sign_in(client)
    page = await client.get("/evaluations")
    assert 'id="no-evaluations"' in page.text and "--out" in page.text


async def test_a_report_is_shown_under_its_own_policy_with_its_lead_text_inert(
    client: httpx.AsyncClient, system: System
) -> None:
    """The report is drawn again from report.json: every lead text escaped, no script
    anywhere, served with the report's policy and no framing."""
    store(system.config.out, "nano-2026", evaluation())
    await sign_in(client)
    page = await client.get("/evaluations/nano-2026")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == f"{REPORT_CSP}; frame-ancestors 'none'"
    assert page.headers["cache-control"] == "no-store"
    assert "<script" not in page.text and "<img src=x" not in page.text
    assert page.text.count("&lt;script&gt;") >= 4
    assert "<del>Hi &lt;script&gt;" in page.text and "<ins>Hello</ins>" in page.text


@pytest.mark.parametrize("name", ["nope", "%2E%2E", "..%2Fx", ".hidden", "broken"])
async def test_an_unknown_or_unreadable_report_is_404(
    client: httpx.AsyncClient, system: System, name: str
) -> None:
    """Only a folder of the evaluations with a readable report.json is shown."""
    broken = system.config.out / "evaluations" / "broken"
    broken.mkdir(parents=True)
    (broken / REPORT_JSON).write_text("[]")
    await sign_in(client)
    answer = await client.get(f"/evaluations/{name}")
    assert answer.status_code == 404
