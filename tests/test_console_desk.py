"""The review desk in the console, in-process over a live system on a run directory that
holds every kind of item: drafts that broke a rule, leads with no evidence, machine
failures in Operations, and finished leads in the CRM.

Each test works on its own copy of the directory, built once for the module.
"""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest
from _sites import Reply, Site
from _sites import html as page_html

from actors import KNOWLEDGE_FILE, Icp, KnowledgeBase, RetrySchedule
from actors.intake import RawRecord, read_records
from actors.llm import ChaosLlm, Fault, OfflineLlm
from actors.validation import NO_EVIDENCE
from console import create_app
from supervision.system import Gate, PipelineConfig, System, open_system, run_pipeline

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "desk-token"
SCHEDULE = RetrySchedule(retries=4, first_s=3600.0, jitter=0.0)
"""Operations' first automatic retry an hour away: nothing retries itself under a test."""


def config(
    out: Path, *faults: Fault, kb: KnowledgeBase | None = None, private: bool = False
) -> PipelineConfig:
    gateway = OfflineLlm(seed=1, imperfection_rate=0.0)
    return PipelineConfig(
        out=out,
        gateway=ChaosLlm(gateway, rate=1.0, seed=1, faults=list(faults)) if faults else gateway,
        icp=Icp.load(ROOT / "examples" / "icp.toml"),
        source=kb if kb is not None else KnowledgeBase.load(ROOT / "examples" / "companies.json"),
        ops_retry=SCHEDULE,
        allow_private_sources=private,
    )


def records(start: int, stop: int) -> list[RawRecord]:
    every = read_records(ROOT / "examples" / "leads.csv")
    return [record for n, record in enumerate(every) if start <= n < stop]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three drafts with a placeholder, three leads with no evidence, two machine
    failures, and twelve finished leads."""
    out = tmp_path_factory.mktemp("desk") / "run"
    anyio.run(run_pipeline, config(out, Fault.PLACEHOLDER), records(0, 3))
    anyio.run(run_pipeline, config(out, kb=KnowledgeBase({})), records(3, 6))
    anyio.run(run_pipeline, config(out, Fault.PROSE), records(6, 8))
    anyio.run(run_pipeline, config(out), records(8, 20))
    return out


@pytest.fixture
def out(built: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(built, copy)
    return copy


@pytest.fixture
def site() -> Iterator[Site]:
    about = "Northwind Analytics runs data pipelines for 300 hospitals across Portugal and Spain."
    with Site({"/about": Reply(page_html(f"<main><p>{about}</p></main>"))}) as running:
        yield running


@pytest.fixture
async def system(out: Path) -> AsyncIterator[System]:
    async with open_system(config(out, private=True), admit=False) as running:
        yield running


@pytest.fixture
async def client(system: System) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(system, Gate(), TOKEN))
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as c:
        await sign_in(c)
        yield c


async def sign_in(client: httpx.AsyncClient) -> None:
    form = await client.get("/signin")
    data = {"csrf": csrf_of(form.text), "token": TOKEN, "reviewer": "Ana"}
    assert (await client.post("/signin", data=data)).status_code == 303


def csrf_of(text: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', text)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


def rows(text: str, attribute: str = "data-item") -> list[str]:
    return re.findall(rf'<tr {attribute}="([^"]+)"', text)


def current(text: str) -> str:
    found = re.search(r'<tr data-item="(\d+)"[^>]*class="current"', text)
    assert found is not None, "no row is current"
    return found.group(1)


def row_html(text: str, item: str) -> str:
    found = re.search(rf'<tr data-item="{item}".*?</tr>', text, re.S)
    assert found is not None
    return found.group(0)


async def post(client: httpx.AsyncClient, path: str, **form: str) -> httpx.Response:
    csrf = csrf_of((await client.get("/")).text)
    return await client.post(path, data=form | {"csrf": csrf})


async def test_each_inbox_row_shows_the_lead_the_fit_the_draft_and_why_in_plain_words(
    system: System, client: httpx.AsyncClient
) -> None:
    """A row names the contact, title, company and notes, the fit score with a reason, the
    draft's subject and first lines, and why it is here in plain words; the rule's id is
    only in the folded details, once."""
    page = (await client.get("/")).text
    items = {i.id: i for i in system.stores.review.items(status="open")}
    assert sorted(map(int, rows(page))) == sorted(items)
    for item_id, item in items.items():
        row = html.unescape(row_html(page, str(item_id)))
        lead, draft = item.request.lead, item.draft
        assert draft is not None
        for shown in (lead.first_name, lead.title, lead.company, draft.subject):
            assert shown in row
        assert f">{draft.score.score}<" in row and draft.score.reasons[0] in row
        assert draft.body.split()[0] in row
        if lead.notes:
            assert lead.notes in row
        [plain] = re.findall(r'<ul class="plain"><li>(.*?)</li>', row)
        assert plain == item.why.split(". ")[0].rstrip(".") + "."
        tech = row.split('<details class="tech">', 1)[1]
        for rule in {v.rule for v in item.request.violations}:
            assert row.count(f"<code>{rule}</code>") == 1 and f"<code>{rule}</code>" in tech
    placeholder = next(i for i in items.values() if i.request.violations)
    row = html.unescape(row_html(page, str(placeholder.id)))
    assert "The email still contains the placeholder" in row and "<mark>" in row
    no_evidence = next(i for i in items.values() if "No evidence" in i.why)
    row = html.unescape(row_html(page, str(no_evidence.id)))
    assert "#evidence-facts" in row and "--kb" not in row


async def test_the_why_filter_names_rules_by_topic(client: httpx.AsyncClient) -> None:
    """The filter lists each reason by its topic with a count, and keeps only its items."""
    page = (await client.get("/")).text
    assert ">A placeholder left in the email (3)</option>" in page
    assert ">No evidence about the company (3)</option>" in page
    only = (await client.get("/", params={"rule": "draft.placeholder"})).text
    assert len(rows(only)) == 3


async def test_approving_from_the_inbox_puts_the_cursor_on_the_next_row(
    system: System, client: httpx.AsyncClient
) -> None:
    """After approving the second row, the inbox opens again with the third row current,
    not the first; after the last row, the row before it."""
    page = (await client.get("/")).text
    order = rows(page)
    assert current(page) == order[0]
    answer = await post(client, f"/items/{order[1]}/approve", next="/", cursor=order[2], rule="")
    assert answer.status_code == 303
    where = answer.headers["location"]
    assert parse_qs(urlsplit(where).query)["cursor"] == [order[2]]
    after = (await client.get(where)).text
    assert current(after) == order[2] and order[1] not in rows(after)
    assert "Approved #" in after
    declined = await post(
        client, f"/items/{order[-1]}/decline", next="/", cursor=order[-2], reason="Not a fit"
    )
    assert current((await client.get(declined.headers["location"])).text) == order[-2]


async def test_a_decline_without_a_reason_is_refused_in_plain_words(
    client: httpx.AsyncClient,
) -> None:
    """Declining needs a reason; the refusal says so without naming a command-line flag."""
    item = rows((await client.get("/")).text)[0]
    answer = await post(client, f"/items/{item}/decline", next="/", reason=" ")
    page = (await client.get(answer.headers["location"])).text
    assert "Say why the lead is declined" in page and "--reason" not in page
    assert item in rows(page)


async def test_a_draft_that_breaks_a_rule_is_refused_in_the_consoles_words(
    system: System, client: httpx.AsyncClient
) -> None:
    """Approving a draft with a placeholder says to edit it or approve anyway with a note,
    in the page's words (no command-line flag); approving anyway needs the note, and with
    it the draft goes out as it is."""
    item = next(i for i in system.stores.review.items(status="open") if i.request.violations)
    answer = await post(client, f"/items/{item.id}/approve", next="/")
    said = (await client.get(answer.headers["location"])).text
    assert "the draft still breaks a rule (a placeholder left in the email)" in said
    assert "--override" not in said and "--note" not in said
    answer = await post(client, f"/items/{item.id}/approve", override="on", note=" ")
    said = (await client.get(answer.headers["location"])).text
    assert "to approve anyway, say why in the note" in said
    assert system.stores.review.item(item.id).status == "open"  # type: ignore[union-attr]
    answer = await post(
        client, f"/items/{item.id}/approve", override="on", note="The client asked for it"
    )
    assert "Approved #" in (await client.get(answer.headers["location"])).text
    page = html.unescape((await client.get(f"/leads/{item.lead_id}")).text)
    assert "with an override by Ana: " in page and "The client asked for it" in page


async def test_a_decision_on_a_lead_page_opens_the_next_open_item(
    system: System, client: httpx.AsyncClient
) -> None:
    """Approve, edit and decline on a lead's page each open the next item of the inbox;
    after the last one, the inbox, saying it is empty."""
    order = [int(i) for i in rows((await client.get("/")).text)]
    leads = {i.id: i.lead_id for i in system.stores.review.items(status="open")}
    item = system.stores.review.item(order[0])
    assert item is not None and item.draft is not None
    steps = [
        (f"/items/{order[0]}/approve", {}),
        (f"/items/{order[1]}/edit", {"subject": item.draft.subject, "body": "x"}),
        (f"/items/{order[1]}/decline", {"reason": "Duplicate"}),
    ]
    answer = await post(client, steps[0][0])
    assert urlsplit(answer.headers["location"]).path == f"/leads/{leads[order[1]]}"
    refused = await post(client, steps[1][0], **steps[1][1])
    assert refused.status_code == 422  # the edit breaks rules: the same page, with them
    answer = await post(client, steps[2][0], **steps[2][1])
    assert urlsplit(answer.headers["location"]).path == f"/leads/{leads[order[2]]}"
    for item_id in order[2:]:
        answer = await post(client, f"/items/{item_id}/decline", reason="Duplicate")
    assert urlsplit(answer.headers["location"]).path == "/"
    assert "The inbox is empty." in (await client.get(answer.headers["location"])).text


async def test_each_decision_shows_the_draft_version_and_who_decided(
    system: System, client: httpx.AsyncClient
) -> None:
    """The decided view and the lead page say which draft was approved (the model's,
    version 1, or an edit, version 2) and by whom; a decline shows its reason."""
    open_items = system.stores.review.items(status="open")
    placeholder = next(i for i in open_items if i.request.violations)
    plain = next(i for i in open_items if not i.request.violations)
    assert placeholder.draft is not None
    body = re.sub(r"\{\{[^}]*\}\}|\[[^\]]+\]", "", placeholder.draft.body)
    edited = await post(client, f"/items/{placeholder.id}/edit", subject="A short note", body=body)
    assert edited.status_code == 303, edited.text
    await post(client, f"/items/{plain.id}/approve")
    declined = next(i for i in open_items if i.id not in (placeholder.id, plain.id))
    await post(client, f"/items/{declined.id}/decline", reason="Wrong person")
    page = html.unescape((await client.get("/", params={"view": "decided"})).text)
    assert "approved an edited draft (version 2) by Ana" in page
    assert "approved the draft as the model wrote it (version 1) by Ana" in page
    assert "declined by Ana" in page and "Wrong person" in page
    lead = html.unescape((await client.get(f"/leads/{placeholder.lead_id}")).text)
    assert "approved an edited draft (version 2) by Ana" in lead
    assert 'id="approved-by"' in lead and "A short note" in lead


async def test_retry_with_pasted_facts_stores_them_and_runs_the_lead_again(
    system: System, client: httpx.AsyncClient, out: Path
) -> None:
    """A no-evidence lead's page offers a form, not a command; the facts pasted go to the
    run's knowledge base, and the lead is researched again with them."""
    item = next(i for i in system.stores.review.items(status="open") if "No evidence" in i.why)
    page = (await client.get(f"/leads/{item.lead_id}")).text
    # The folded technical details show the stored messages as they are.
    readable = page.split('id="technical"', 1)[0]
    assert 'id="evidence-facts"' in readable and "--kb" not in readable
    fact = f"{item.request.lead.company} serves 40 hospitals across Portugal."
    answer = await post(client, f"/items/{item.id}/retry", facts=f"{fact}\n\n", url="")
    assert answer.status_code == 303
    assert "Ran the lead again" in (await client.get(answer.headers["location"])).text
    assert fact in (out / KNOWLEDGE_FILE).read_text(encoding="utf-8")
    settled = system.stores.review.item(item.id)
    assert settled is not None and settled.status == "retried"


async def test_retry_with_a_page_address_alone_reads_the_page(
    system: System, client: httpx.AsyncClient, out: Path, site: Site
) -> None:
    """With only a URL, the page is read through the web source and what it says is kept
    as the company's facts, with the page as their source."""
    item = next(i for i in system.stores.review.items(status="open") if "No evidence" in i.why)
    url = f"{site.url}about"
    answer = await post(client, f"/items/{item.id}/retry", facts="", url=url)
    assert answer.status_code == 303, answer.text
    known = (out / KNOWLEDGE_FILE).read_text(encoding="utf-8")
    assert "300 hospitals across Portugal and Spain" in known and url in known
    assert "/about" in site.paths()


async def test_a_page_that_cannot_be_read_is_said_and_nothing_typed_is_lost(
    system: System, client: httpx.AsyncClient, site: Site
) -> None:
    """A URL that answers 404 is refused with the reason on the same page, the address
    still in its field; nothing runs and the item stays open."""
    item = next(i for i in system.stores.review.items(status="open") if "No evidence" in i.why)
    url = f"{site.url}missing"
    answer = await post(client, f"/items/{item.id}/retry", facts="", url=url)
    assert answer.status_code == 422
    text = html.unescape(answer.text)
    assert "the page could not be read" in text and "HTTP 404" in text
    assert f'value="{url}"' in text
    nothing = await post(client, f"/items/{item.id}/retry", facts=" \n", url="")
    assert nothing.status_code == 422 and "Paste at least one fact" in nothing.text
    assert system.stores.review.item(item.id).status == "open"  # type: ignore[union-attr]


async def test_operations_lists_machine_failures_with_their_schedule_and_retries_one(
    system: System, client: httpx.AsyncClient
) -> None:
    """/ops shows each machine failure in an operator's words, what to check and when it
    is retried next; none is in the inbox; Retry runs it again; /dead leads here."""
    letters = system.stores.dead.items(status="open")
    assert len(letters) == 2
    page = html.unescape((await client.get("/ops")).text)
    assert sorted(rows(page, "data-letter")) == sorted(str(d.id) for d in letters)
    for letter in letters:
        assert letter.explain in page and letter.check in page
        assert letter.next_retry(SCHEDULE.retries) in page
        assert "next at" in letter.next_retry(SCHEDULE.retries)
    inbox = (await client.get("/")).text
    assert not {d.lead_id for d in letters} & set(re.findall(r'href="/leads/([^"#]+)"', inbox))
    item = (await client.get(f"/ops/{letters[0].id}")).text
    assert "What to check" in item and html.escape(letters[0].check) in item
    answer = await post(client, "/ops/retry", ids=str(letters[0].id))
    assert answer.status_code == 303
    assert "Retried: #" in (await client.get(answer.headers["location"])).text
    assert system.stores.dead.item(letters[0].id).state == "retried"  # type: ignore[union-attr]
    assert (await client.get("/dead")).headers["location"] == "/ops"
    assert (await client.get("/dead/7")).headers["location"] == "/ops/7"
    assert '<a href="/ops">Operations</a>' in inbox


async def test_the_crm_pages_sorts_filters_and_searches_on_the_server(
    system: System, client: httpx.AsyncClient
) -> None:
    """The CRM page shows the rows asked for: by outcome and fit band, by a search in
    name, company or email, sorted by fit, date or company."""
    every = system.stores.crm.rows()
    page = (await client.get("/crm")).text
    assert len(rows(page, "data-lead")) == len(every)
    by_company = rows(
        (await client.get("/crm", params={"sort": "company", "order": "asc"})).text, "data-lead"
    )
    companies = [next(r["company"] for r in every if r["lead_id"] == lead) for lead in by_company]
    assert companies == sorted(companies, key=str.casefold)
    by_fit = rows((await client.get("/crm", params={"sort": "fit"})).text, "data-lead")
    scores = [next(r["score"] for r in every if r["lead_id"] == lead) for lead in by_fit]
    rank = {"high": 3, "medium": 2, "low": 1}
    fits = [rank[next(r["fit"] for r in every if r["lead_id"] == lead)] for lead in by_fit]
    assert fits == sorted(fits, reverse=True) and len(scores) == len(every)
    wanted = every[0]
    for search in (wanted["email"], wanted["company"].upper(), wanted["last_name"]):
        found = rows((await client.get("/crm", params={"q": search})).text, "data-lead")
        assert wanted["lead_id"] in found
    for outcome in ("completed", "disqualified"):
        shown = rows((await client.get("/crm", params={"outcome": outcome})).text, "data-lead")
        assert sorted(shown) == sorted(r["lead_id"] for r in every if r["outcome"] == outcome)
    low = rows((await client.get("/crm", params={"fit": "low"})).text, "data-lead")
    assert sorted(low) == sorted(r["lead_id"] for r in every if r["fit"] == "low")
    none = await client.get("/crm", params={"q": "%_%"})
    assert rows(none.text, "data-lead") == [] and "No row matches." in none.text


@pytest.mark.parametrize(
    "query",
    [
        {"sort": "email"},
        {"order": "sideways"},
        {"outcome": "failed"},
        {"fit": "huge"},
        {"page": "0"},
        {"page": "²"},
        {"page": "99999999999999999999"},
        {"q": "x" * 201},
    ],
)
async def test_a_malformed_crm_parameter_is_a_422_saying_which(
    client: httpx.AsyncClient, query: dict[str, str]
) -> None:
    """A sort, order, outcome, fit band, page or search that makes no sense is a 422
    whose page names the parameter, never a 500."""
    answer = await client.get("/crm", params=query)
    assert answer.status_code == 422
    [name] = query
    assert f"{name if name != 'q' else 'search'}" in html.unescape(answer.text)


async def test_a_bulk_decision_keeps_the_filter_and_the_cursor(
    system: System, client: httpx.AsyncClient
) -> None:
    """Approving several rows returns to the same filter with the cursor on the row the
    form names (the script names the first row left undecided after the current one)."""
    page = (await client.get("/", params={"rule": NO_EVIDENCE})).text
    order = rows(page)
    answer = await post(
        client, "/inbox/bulk", action="decline", reason="Duplicates", rule=NO_EVIDENCE,
        cursor=order[2], ids=order[0],
    )  # fmt: skip
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["rule"] == [NO_EVIDENCE] and query["cursor"] == [order[2]]
    after = (await client.get(answer.headers["location"])).text
    assert current(after) == order[2] and "Declined: #" in after


@pytest.mark.parametrize("query", [{"view": "closed"}, {"view": "decided", "page": "-1"}])
async def test_a_malformed_inbox_parameter_is_a_422(
    client: httpx.AsyncClient, query: dict[str, str]
) -> None:
    """An unknown view or a page that is no page number is a 422 saying which."""
    answer = await client.get("/", params=query)
    assert answer.status_code == 422 and 'id="error"' in answer.text
