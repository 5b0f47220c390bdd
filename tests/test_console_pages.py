"""The console's pages in-process, through the app's own client over a live system:
who may see them, what a form needs, and what each page answers."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest

from actors import Icp, KnowledgeBase
from actors.drift import ProfileBuilder
from actors.llm import OfflineLlm
from console import create_app
from messages import Lead
from supervision.system import Gate, PipelineConfig, System, open_system

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TOKEN = "pages-token"
# A safety net so that a deadlock fails the test instead of hanging CI; not a timing claim.
DEADLOCK_GUARD_S = 60


@pytest.fixture
async def client(system: System) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(system, Gate(), TOKEN))
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as c:
        yield c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, reviewer: str = "Ada") -> str:
    """Sign in; the session's CSRF token."""
    form = await client.get("/signin")
    answer = await client.post(
        "/signin", data={"csrf": csrf_of(form.text), "token": TOKEN, "reviewer": reviewer}
    )
    assert answer.status_code == 303
    return csrf_of((await client.get("/")).text)


async def test_every_page_sends_a_stranger_to_sign_in(client: httpx.AsyncClient) -> None:
    """Without a session each page redirects to /signin, and no data is shown."""
    pages = ["/", "/?view=decided", "/leads/L0001", "/ops", "/ops/1", "/dead", "/dead/1"]
    for path in [*pages, "/dashboard", "/crm", "/crm.csv"]:
        answer = await client.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/signin"), path


async def test_sign_in_needs_the_form_token_the_token_and_a_name(
    client: httpx.AsyncClient,
) -> None:
    """The sign-in form is CSRF-checked, a wrong token is 401, and a name is required."""
    csrf = csrf_of((await client.get("/signin")).text)
    stale = await client.post("/signin", data={"csrf": "x", "token": TOKEN, "reviewer": "A"})
    assert stale.status_code == 403
    wrong = await client.post("/signin", data={"csrf": csrf, "token": "no", "reviewer": "A"})
    assert wrong.status_code == 401 and "not this server" in wrong.text
    nameless = await client.post("/signin", data={"csrf": csrf, "token": TOKEN, "reviewer": " "})
    assert nameless.status_code == 401 and "Give your name" in nameless.text
    assert "lw_session" not in client.cookies


async def test_pages_forbid_inline_scripts(client: httpx.AsyncClient) -> None:
    """Every page carries a Content-Security-Policy without 'unsafe-inline' scripts."""
    await sign_in(client)
    for path in ["/", "/?view=decided", "/ops", "/dashboard", "/crm", "/signin"]:
        policy = (await client.get(path)).headers["content-security-policy"]
        assert "script-src 'self';" in policy, path


async def test_unknown_leads_items_and_letters_are_404(client: httpx.AsyncClient) -> None:
    """A lead, review item or Operations item that does not exist answers 404."""
    csrf = await sign_in(client)
    assert (await client.get("/leads/nobody")).status_code == 404
    assert (await client.get("/ops/99")).status_code == 404
    approve = await client.post("/items/99/approve", data={"csrf": csrf})
    assert approve.status_code == 404


async def test_finished_leads_show_in_the_crm_and_its_csv(
    system: System, client: httpx.AsyncClient
) -> None:
    """Leads that finish appear on the CRM page and in its CSV export, one row each."""
    await sign_in(client)
    with (EXAMPLES / "leads.csv").open(encoding="utf-8") as f:
        rows = [row for _, row in zip(range(3), csv.DictReader(f), strict=False)]
    input_id = await system.open_input("test")
    await system.submit(input_id, list(enumerate(rows, start=1)))
    with anyio.fail_after(DEADLOCK_GUARD_S):
        await system.wait_finished()
    page = (await client.get("/crm")).text
    exported = list(csv.DictReader(io.StringIO((await client.get("/crm.csv")).text)))
    assert {row["lead_id"] for row in exported} == {"L0001", "L0002", "L0003"}
    for row in exported:
        assert f'data-lead="{row["lead_id"]}"' in page
    lead = await client.get("/leads/L0001")
    assert lead.status_code == 200 and "CRM row" in lead.text and "completed" in lead.text


async def test_signing_out_ends_the_session(client: httpx.AsyncClient) -> None:
    """After sign-out the same cookie no longer opens a page."""
    csrf = await sign_in(client)
    assert (await client.get("/")).status_code == 200
    assert (await client.post("/signout", data={"csrf": csrf})).status_code == 303
    assert (await client.get("/")).status_code == 303


async def test_htmx_is_served_pinned(client: httpx.AsyncClient) -> None:
    """The page loads htmx from the package, at its pinned version, not from a CDN."""
    await sign_in(client)
    page = (await client.get("/")).text
    assert '<script src="/static/htmx-2.0.11.min.js" defer></script>' in page
    script = await client.get("/static/htmx-2.0.11.min.js")
    assert script.status_code == 200 and 'version:"2.0.11"' in script.text.replace(" ", "")


async def test_without_a_baseline_the_drift_page_says_how_to_get_one(
    client: httpx.AsyncClient,
) -> None:
    """No baseline: the drift page names the option instead of a report."""
    await sign_in(client)
    page = await client.get("/dashboard/drift")
    assert page.status_code == 200 and "--baseline RUN_DIR" in page.text


async def test_drift_against_a_baseline_is_shown_with_its_plots(tmp_path: Path) -> None:
    """Against a baseline of much larger firms, employees drift, and its plot is served."""
    builder = ProfileBuilder()
    for n in range(60):
        big = {"company": "Big", "domain": "big.example", "industry": "Mining", "country": "US"}
        person = {"first_name": "Ada", "last_name": "L", "title": "CEO", "notes": ""}
        email = f"ada{n}@big.example"
        fields = {"lead_id": f"B{n}", "record": n + 1, "email": email, "employees": 50_000 + n}
        builder.add_lead(Lead.model_validate(fields | big | person))
    config = PipelineConfig(
        out=tmp_path,
        gateway=OfflineLlm(seed=0, imperfection_rate=0.0),
        icp=Icp.load(EXAMPLES / "icp.toml"),
        source=KnowledgeBase.load(EXAMPLES / "companies.json"),
        baseline=builder.profile,
        baseline_name="big firms",
    )
    async with open_system(config) as system:
        with (EXAMPLES / "leads.csv").open(encoding="utf-8") as f:
            rows = [row for _, row in zip(range(8), csv.DictReader(f), strict=False)]
        await system.submit(await system.open_input("test"), list(enumerate(rows, start=1)))
        with anyio.fail_after(DEADLOCK_GUARD_S):
            await system.wait_finished()
        transport = httpx.ASGITransport(app=create_app(system, Gate(), TOKEN))
        async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
            await sign_in(client)
            page = (await client.get("/dashboard/drift")).text
            assert "big firms" in page
            plot = re.search(r'src="/dashboard/drift/(drift_employees\.png)"', page)
            assert plot is not None, page
            image = await client.get(f"/dashboard/drift/{plot.group(1)}")
            assert image.headers["content-type"] == "image/png"
            assert image.content.startswith(b"\x89PNG")
            assert (await client.get("/dashboard/drift/..%2Fjournal.sqlite")).status_code == 404


async def test_the_lead_page_shows_what_intake_remarked(
    system: System, client: httpx.AsyncClient
) -> None:
    """A domain column unlike the email's is a remark the reviewer sees on the lead page,
    above the lead, not a row of its field table."""
    await sign_in(client)
    row = {
        "id": "R1", "first_name": "Zoë", "email": "zoe@arclight-academy.com",
        "company": "Arclight Academy", "domain": "arclight-group.com",
    }  # fmt: skip
    await system.submit(await system.open_input("test"), [(1, row)])
    with anyio.fail_after(DEADLOCK_GUARD_S):
        await system.wait_finished()

    page = (await client.get("/leads/R1")).text

    remarks = re.search(r'<ul class="remarks" id="remarks">(.*?)</ul>', page, re.S)
    assert remarks is not None, page
    assert "The domain column says arclight-group.com, but the email is at " in remarks.group(1)
    assert 'data-field="remarks"' not in page
