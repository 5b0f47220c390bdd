"""The review console in a real browser (Debian's Chromium under Playwright), against a
real ``run.py serve`` seeded with review items and dead letters (see ``tests.support.console``).

Every test checks the run directory through ``report`` and ``export`` too, not only the
page. One server serves the module; each test works on its own leads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from messages import REDACTED, Stage
from tests.support.console import (
    INVENTED,
    REVIEWER,
    SECRET,
    TOKEN,
    XSS_NOTES,
    Served,
    serve,
    sign_in,
)

pytestmark = pytest.mark.slow

EDITED = "PS: the reviewer rewrote this paragraph in the console."


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("console") / "run") as running:
        yield running


@pytest.fixture
def page(browser: Browser, served: Served, tmp_path: Path) -> Iterator[Page]:
    """A fresh browser context, signed in as ``REVIEWER``; a screenshot when it ends."""
    context = browser.new_context(base_url=served.url, accept_downloads=True)
    tab = context.new_page()
    sign_in(tab)
    yield tab
    tab.screenshot(path=str(tmp_path / "last.png"), full_page=True)
    context.close()


def shot(page: Page, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


def item_of(served: Served, lead_id: str) -> int:
    """The open review item of a lead, from ``review list --json``."""
    for line in served.cli("review", "list", "--json").splitlines():
        row = json.loads(line)
        if row["lead_id"] == lead_id:
            return int(row["id"])
    raise AssertionError(f"no open review item for {lead_id}")


def select(page: Page, item: int) -> None:
    """Move the inbox's cursor with j or k until it is on ``item``, from wherever the
    server put it (the row after the last decision)."""
    target = page.locator(f'tr[data-item="{item}"]')
    expect(target).to_be_visible()
    page.wait_for_load_state("load")  # the keys' script has run
    rows = page.locator("tr[data-item]")
    order: list[str] = rows.evaluate_all("rows => rows.map(row => row.dataset.item)")
    for _ in range(2 * len(order)):
        if "current" in (target.get_attribute("class") or ""):
            break
        current = page.locator("tr[data-item].current")
        here = order.index(current.get_attribute("data-item") or "") if current.count() else -1
        page.keyboard.press("j" if here < order.index(str(item)) else "k")
    expect(target).to_have_class(re.compile("current"))


def test_sign_in_opens_a_strict_http_only_session(
    browser: Browser, served: Served, tmp_path: Path
) -> None:
    """A wrong token is refused; the right one gives an HttpOnly, SameSite=Strict cookie."""
    context = browser.new_context(base_url=served.url)
    page = context.new_page()
    sign_in(page, token="not-the-token")
    expect(page.get_by_role("alert")).to_contain_text("not this server's")
    shot(page, tmp_path, "signin")
    sign_in(page)
    expect(page.locator("#reviewer")).to_have_text(REVIEWER)
    [cookie] = [c for c in context.cookies() if c["name"] == "lw_session"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""
    shot(page, tmp_path, "inbox")
    context.close()
    assert served.outcomes()["R-1"] == "needs_review"


def test_a_form_without_its_csrf_token_changes_nothing(served: Served) -> None:
    """A signed-in POST without the form's CSRF token is refused with 403."""
    item = item_of(served, "R-6")
    with httpx.Client(base_url=served.url) as client:
        form = client.get("/signin").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf is not None
        signed = client.post(
            "/signin", data={"csrf": csrf.group(1), "token": TOKEN, "reviewer": "Mallory"}
        )
        assert signed.status_code == 303
        refused = client.post(f"/items/{item}/approve", data={"note": "no token"})
        assert refused.status_code == 403
    assert served.outcomes()["R-6"] == "needs_review"


def test_approve_one_from_the_keyboard(page: Page, served: Served, tmp_path: Path) -> None:
    """j moves to a row and a approves it: the lead completes and reaches the CRM."""
    item = item_of(served, "R-1")
    select(page, item)
    page.keyboard.press("a")
    expect(page.locator("#flash")).to_contain_text(f"Approved #{item}: completed")
    expect(page).to_have_url(re.compile(r"/\?(cursor=\d+&)?msg="))
    assert served.outcomes()["R-1"] == "completed"
    assert served.crm()["R-1"]["outcome"] == "completed"
    page.goto("/leads/R-1")
    expect(page.locator("#history")).to_contain_text(REVIEWER)
    expect(page.locator("#crm")).to_contain_text("completed")
    shot(page, tmp_path, "lead")


def test_edit_a_draft_that_invents_a_fact_then_approve(
    page: Page, served: Served, tmp_path: Path
) -> None:
    """The invented "3,605" is highlighted and fails draft.unsupported_fact; once edited
    out, the rules pass and the edited text is what the CRM holds."""
    select(page, item_of(served, "E-1"))
    page.keyboard.press("e")
    expect(page).to_have_url(re.compile(r"/leads/E-1#edit-body$"))
    page.wait_for_function("() => document.activeElement?.id === 'edit-body'")
    expect(page.locator("#draft-body mark").first).to_have_text("3,605")
    expect(page.locator('#verdict [data-rule="draft.unsupported_fact"]')).to_be_visible()
    body = page.locator("#edit-body").input_value()
    assert INVENTED in body
    page.locator("#edit-body").fill(body.replace(INVENTED, EDITED + " We cut 3,605 hours."))
    page.locator("#check").click()
    expect(page.locator('#verdict [data-rule="draft.unsupported_fact"]')).to_contain_text("3,605")
    page.locator("#edit-approve").click()
    expect(page.locator("#error")).to_contain_text("a fact nothing supports")
    assert served.outcomes()["E-1"] == "needs_review"
    shot(page, tmp_path, "edit")
    page.locator("#edit-body").fill(body.replace(INVENTED, EDITED))
    page.locator("#check").click()
    expect(page.locator("#verdict [data-passes]")).to_be_visible()
    page.locator("#edit-approve").click()
    expect(page.locator("#flash")).to_contain_text("Edited and approved")
    expect(page).not_to_have_url(re.compile(r"/leads/E-1"))  # the next item opens
    assert served.outcomes()["E-1"] == "completed"
    row = served.crm()["E-1"]
    assert EDITED in row["draft_body"]
    assert "3,605" not in row["draft_body"]
    page.goto("/leads/E-1")
    expect(page.locator("#history")).to_contain_text(
        f"approved an edited draft (version 2) by {REVIEWER}"
    )
    expect(page.locator("#draft-body")).to_contain_text(EDITED)


def test_decline_one_and_nothing_replays_it(page: Page, served: Served, tmp_path: Path) -> None:
    """r opens the row's reason; Enter declines: the lead ends declined with the reason,
    no failure and nothing in Operations."""
    item = item_of(served, "R-2")
    select(page, item)
    page.keyboard.press("r")
    reason = page.locator(f'tr[data-item="{item}"] input[name=reason]')
    expect(reason).to_be_focused()
    reason.fill("Wrong company: a duplicate of another lead.")
    reason.press("Enter")
    expect(page.locator("#flash")).to_contain_text("Declined")
    assert served.outcomes()["R-2"] == "declined"
    assert "R-2" not in served.crm()
    page.goto("/leads/R-2")
    expect(page.locator("#history")).to_contain_text("Wrong company")
    page.goto("/ops?show=all")
    expect(page.locator('tr[data-lead="R-2"]')).to_have_count(0)
    shot(page, tmp_path, "ops")


def test_bulk_approve_three(page: Page, served: Served, tmp_path: Path) -> None:
    """Three selected items are approved with one click: each lead resumes to its end
    (research without claims may score too low for a draft) and reaches the CRM."""
    for lead in ("R-3", "R-4", "R-5"):
        page.locator(f'tr[data-item="{item_of(served, lead)}"] input[type=checkbox]').check()
    shot(page, tmp_path, "bulk")
    page.get_by_role("button", name="Approve selected").click()
    expect(page.locator("#flash")).to_contain_text("Approved:")
    outcomes = served.outcomes()
    crm = served.crm()
    for lead in ("R-3", "R-4", "R-5"):
        assert outcomes[lead] in {"completed", "disqualified"}
        assert crm[lead]["outcome"] == outcomes[lead]
    expect(page.locator("#open-count")).to_have_text(str(len(served.open_items())))


def test_on_a_lead_page_a_approves_and_opens_the_next_item(
    page: Page, served: Served, tmp_path: Path
) -> None:
    """On a lead's page, ? shows the keys, and a approves the draft and opens the next
    open item's page, with a line saying what was done."""
    item = item_of(served, "R-6")
    page.goto("/leads/R-6")
    expect(page.locator("#keys table")).to_be_hidden()
    page.keyboard.press("?")
    expect(page.locator("#keys table")).to_be_visible()
    expect(page.locator("#keys")).to_contain_text("approve the draft as shown")
    page.keyboard.press("?")
    page.keyboard.press("a")
    expect(page.locator("#flash")).to_contain_text(f"Approved #{item}")
    expect(page.locator("#flash")).to_contain_text("Next:")
    expect(page).to_have_url(re.compile(r"/leads/(?!R-6)[^?]+\?msg="))
    expect(page.locator("#review")).to_be_visible()
    assert served.outcomes()["R-6"] in {"completed", "disqualified"}
    shot(page, tmp_path, "next")


def test_retry_an_operations_item(page: Page, served: Served, tmp_path: Path) -> None:
    """An Operations item, shown with the model's raw reply, is retried and the lead
    completes."""
    page.goto("/ops")
    page.locator('tr[data-lead="D-1"]').get_by_role("link", name=re.compile("item #")).click()
    expect(page.locator("main")).to_contain_text("Sorry, I cannot answer in JSON today.")
    shot(page, tmp_path, "letter")
    served.model.heal("D-1")
    page.get_by_role("button", name="Retry now").click()
    expect(page.locator("#flash")).to_contain_text("completed")
    assert served.outcomes()["D-1"] == "completed"
    assert served.outcomes()["D-2"] == "failed"
    assert served.crm()["D-1"]["outcome"] == "completed"


def test_dashboard_counts_change_without_a_reload(
    page: Page, served: Served, tmp_path: Path
) -> None:
    """A lead posted to the API moves the dashboard's count over SSE, on the same page."""
    page.goto("/dashboard")
    expect(page.locator("body")).to_have_attribute("data-live", "open")
    completed = page.locator('[data-count="outcome.completed"]')
    before = int(completed.inner_text())
    page.evaluate("window.sameDocument = true")
    served.post_lead("L0013", "N-1")
    expect(completed).to_have_text(str(before + 1))
    assert page.evaluate("window.sameDocument") is True
    assert served.outcomes()["N-1"] == "completed"
    assert "N-1" in served.crm()
    shot(page, tmp_path, "dashboard")


def test_dashboard_figures_change_live_and_agree_with_metrics(
    page: Page, served: Served, tmp_path: Path
) -> None:
    """After a lead is posted, LLM calls, tokens (with thousands separators), validation
    failures and the failures of its rule move over SSE on the same page, to the figures
    /metrics gives."""
    rule = "research.claims.empty"
    page.goto("/dashboard")
    expect(page.locator("body")).to_have_attribute("data-live", "open")
    calls = page.locator('[data-count="llm_calls"]')
    tokens = page.locator('[data-count="tokens"]')
    failures = page.locator('[data-count="validation_failures"]')
    by_rule = page.locator(f'#rules tr[data-rule="{rule}"] .n')
    before = served.metrics()
    rule_key = f"leadwright_validation_failures_total{{rule={rule}}}"
    expect(calls).to_have_text(f"{int(before['leadwright_llm_calls_total']):,}")
    expect(by_rule).to_have_text(str(int(before[rule_key])))
    page.evaluate("window.sameDocument = true")
    served.post_lead("L0014", "R-LIVE")
    served.settle("R-LIVE")
    # Each verdict on the lead's research fails the rule; the validator's counter may
    # trail the outcome, so the page is waited on (expect retries), never slept on.
    trace = httpx.get(
        f"{served.url}/v1/leads/R-LIVE", headers={"Authorization": f"Bearer {TOKEN}"}
    ).json()["trace"]
    verdicts = sum(step["kind"] == "validation_failed" for step in trace)
    assert verdicts >= 1
    wanted = int(before[rule_key]) + verdicts
    expect(by_rule).to_have_text(str(wanted), timeout=30_000)
    after = served.metrics()
    assert after[rule_key] == wanted
    assert after["leadwright_llm_calls_total"] > before["leadwright_llm_calls_total"]
    expect(calls).to_have_text(f"{int(after['leadwright_llm_calls_total']):,}", timeout=30_000)
    spent = sum(v for k, v in after.items() if k.startswith("leadwright_tokens_total{"))
    expect(tokens).to_have_text(f"{int(spent):,}", timeout=30_000)
    expect(failures).not_to_have_text("0")
    assert page.evaluate("window.sameDocument") is True
    assert served.outcomes()["R-LIVE"] == "needs_review"
    shot(page, tmp_path, "dashboard-live")


def test_a_review_items_raw_llm_output_is_shown_redacted(
    page: Page, served: Served, tmp_path: Path
) -> None:
    """The lead page shows the research reply exactly as the model sent it, the server's
    key redacted, and ``review show`` prints it too."""
    served.post_lead("L0015", "R-SECRET")
    served.settle("R-SECRET")
    assert served.outcomes()["R-SECRET"] == "needs_review"
    sent = served.model.sent["R-SECRET", Stage.RESEARCH]
    assert SECRET in sent
    page.goto("/leads/R-SECRET")
    page.locator("#technical summary").click()
    raw = page.locator('#raw [data-raw="research"]')
    expect(raw).to_be_visible()
    assert raw.text_content() == sent.replace(SECRET, REDACTED)
    assert SECRET not in page.content()
    shot(page, tmp_path, "raw")
    shown = served.cli("review", "show", str(item_of(served, "R-SECRET")))
    assert REDACTED in shown and SECRET not in shown
    shown = served.cli("review", "show", str(item_of(served, "R-SECRET")), "--json")
    assert REDACTED in shown and SECRET not in shown


def test_the_lead_page_shows_every_stages_raw_reply(page: Page, served: Served) -> None:
    """A lead that reached the writer shows the raw reply of research, scoring and
    writing, each the text the model sent."""
    page.goto("/leads/E-1")
    page.locator("#technical summary").click()
    for stage in (Stage.RESEARCH, Stage.SCORING, Stage.WRITING):
        raw = page.locator(f'#raw [data-raw="{stage.value}"]')
        expect(raw).to_be_visible()
        assert raw.text_content() == served.model.sent["E-1", stage]
    assert INVENTED in (page.locator('#raw [data-raw="writing"]').text_content() or "")


def test_the_api_shows_each_stages_raw_reply_redacted(served: Served) -> None:
    """``GET /v1/leads/{id}`` has the raw reply of each stage a lead reached, as the model
    sent it with the server's key redacted."""
    served.post_lead("L0016", "R-SECRET-API")
    served.post_lead("L0001", "E-API", email="emily.api@ember-labs.ai")
    served.settle("R-SECRET-API", "E-API")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    held = httpx.get(f"{served.url}/v1/leads/R-SECRET-API", headers=headers)
    assert held.headers["content-type"] == "application/json"
    assert SECRET not in held.text
    sent = served.model.sent["R-SECRET-API", Stage.RESEARCH]
    assert SECRET in sent
    replies = held.json()["raw_replies"]
    assert replies["research"] == sent.replace(SECRET, REDACTED)
    assert replies["writing"] == served.model.sent["R-SECRET-API", Stage.WRITING]
    drafted = httpx.get(f"{served.url}/v1/leads/E-API", headers=headers).json()
    assert drafted["status"] == "needs_review"
    assert drafted["raw_replies"] == {s.value: served.model.sent["E-API", s] for s in Stage}
    assert INVENTED in drafted["raw_replies"]["writing"]


def test_crm_view_and_csv_export(page: Page, served: Served, tmp_path: Path) -> None:
    """The CRM page lists the finished leads and exports what ``export`` prints."""
    page.goto("/crm")
    crm = served.crm()
    expect(page.locator("tr[data-lead]")).to_have_count(len(crm))
    with page.expect_download() as download:
        page.locator("#export").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    assert exported == served.cli("export")
    shot(page, tmp_path, "crm")


def test_lead_data_with_markup_renders_inert(page: Page, served: Served, tmp_path: Path) -> None:
    """Scripts, HTML and template syntax in lead data show as text: no dialog, no element."""
    dialogs: list[str] = []

    def opened(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", opened)
    page.goto("/")
    expect(page.locator('tr[data-href="/leads/R-XSS"]')).to_be_visible()
    page.goto("/leads/R-XSS")
    notes = page.locator('[data-field="notes"]')
    expect(notes).to_have_text(XSS_NOTES)
    expect(page.locator('[data-field="title"]')).to_have_text("<i>CTO</i> {{ title }}")
    assert page.locator("main img, main script, main b:has-text('bold'), main i").count() == 0
    assert page.evaluate("document.body.dataset.pwned") is None
    assert "49" not in notes.inner_text()
    shot(page, tmp_path, "xss")
    assert dialogs == []
    assert served.outcomes()["R-XSS"] == "needs_review"
    assert "R-XSS" not in served.crm()
