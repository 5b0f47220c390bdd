"""The review desk in a real browser (Debian's Chromium under Playwright) on a real
``run.py serve`` fed a ``--chaos 0.3`` run of the sample leads: what a sales reviewer and
an operator each see, what their actions do to the run directory, and the screenshots of
``docs/console.md``, taken from the pages as the code renders them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from messages import POLICIES, FailureKind, Queue
from tests.support.console import REVIEWER, Served, serve_chaos, sign_in
from tests.support.paths import ROOT

pytestmark = pytest.mark.slow

DOCS_SCREENSHOTS = "LEADWRIGHT_DOCS_SCREENSHOTS"
"""Set to 1 to write the screenshots into docs/ (the console's page shows them)."""
VIEWPORT = {"width": 1360, "height": 860}


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go: docs/ when asked, else a temporary folder, so that a test
    run leaves the checkout as it found it."""
    if os.environ.get(DOCS_SCREENSHOTS) == "1":
        return ROOT / "docs"
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve_chaos(tmp_path_factory.mktemp("chaos") / "run", rate=0.3, seed=7) as running:
        yield running


@pytest.fixture
def page(browser: Browser, served: Served) -> Iterator[Page]:
    context = browser.new_context(base_url=served.url, viewport=VIEWPORT)  # type: ignore[arg-type]
    tab = context.new_page()
    sign_in(tab)
    yield tab
    context.close()


def rows(page: Page) -> list[str]:
    """The inbox's item numbers, in the order shown."""
    return [r.get_attribute("data-item") or "" for r in page.locator("tr[data-item]").all()]


def current(page: Page) -> str:
    return page.locator("tr[data-item].current").get_attribute("data-item") or ""


def test_the_desk_on_a_chaos_run(page: Page, served: Served, shots: Path) -> None:
    """The inbox holds only decisions, each row with a subject, and Operations holds the
    machine failures; approving with a completes the lead with the draft shown and asks
    the model nothing, the next row becomes current, and declining gives declined."""
    items = served.open_items()
    assert items, "a chaos run at 0.3 leaves leads to decide on"
    outcomes = served.outcomes()
    failed = {lead for lead, outcome in outcomes.items() if outcome == "failed"}
    assert failed, "a chaos run at 0.3 leaves machine failures"
    for item in items:
        assert POLICIES[FailureKind(item["failure"])].queue is Queue.INBOX, item

    page.goto("/")
    shown = rows(page)
    assert sorted(map(int, shown)) == sorted(item["id"] for item in items)
    for subject in page.locator("tr[data-item] [data-subject]").all():
        assert subject.inner_text().strip()
    assert page.locator("tr[data-item] [data-subject]").count() == len(shown)
    inbox_leads = {item["lead_id"] for item in items}
    shot(page, shots / "console-inbox.png")

    # Read after the inbox: a lead in the inbox cannot fail again without a person.
    page.goto("/ops?show=all")
    on_ops = {r.get_attribute("data-lead") for r in page.locator("tr[data-letter]").all()}
    assert failed <= on_ops and not inbox_leads & on_ops
    page.goto("/ops")
    waiting = {r.get_attribute("data-lead") for r in page.locator("tr[data-letter]").all()}
    assert not inbox_leads & waiting
    shot(page, shots / "console-ops.png")

    sent = {item["id"]: item for item in items}
    chosen = next(
        item
        for item in items
        if item["fit"] != "low" and str(item["id"]) != shown[-1] and item["subject"]
    )
    draft = json.loads(served.cli("review", "show", str(chosen["id"]), "--json"))
    body = draft["request"]["last_output"]["body"]
    calls = served.model.calls[chosen["lead_id"]]
    page.goto("/")
    target = page.locator(f'tr[data-item="{chosen["id"]}"]')
    expect(target.locator("[data-subject]")).to_have_text(chosen["subject"])
    while current(page) != str(chosen["id"]):
        page.keyboard.press("j")
    following = shown[shown.index(str(chosen["id"])) + 1]
    page.keyboard.press("a")
    expect(page.locator("#flash")).to_contain_text(f"Approved #{chosen['id']}: completed")
    expect(page.locator("tr[data-item].current")).to_have_attribute("data-item", following)
    assert served.outcomes()[chosen["lead_id"]] == "completed"
    row = served.crm()[chosen["lead_id"]]
    assert (row["draft_subject"], row["draft_body"]) == (chosen["subject"], body)
    assert served.model.calls[chosen["lead_id"]] == calls, "approving asked the model"

    declined = sent[int(current(page))]
    page.keyboard.press("r")
    reason = page.locator(f'tr[data-item="{declined["id"]}"] input[name=reason]')
    expect(reason).to_be_focused()
    reason.fill("Not a fit: a school, not a company")
    reason.press("Enter")
    expect(page.locator("#flash")).to_contain_text(f"Declined #{declined['id']}")
    assert served.outcomes()[declined["lead_id"]] == "declined"
    assert declined["lead_id"] not in served.crm()

    page.goto("/?view=decided")
    expect(page.locator(f'tr[data-decided="{chosen["id"]}"]')).to_contain_text(
        f"approved the draft as the model wrote it (version 1) by {REVIEWER}"
    )
    expect(page.locator(f'tr[data-decided="{declined["id"]}"]')).to_contain_text(
        "Not a fit: a school, not a company"
    )


def test_screenshots_of_a_lead_and_the_crm(page: Page, served: Served, shots: Path) -> None:
    """A lead waiting for a decision (its evidence form open to the reviewer) and the CRM
    page, searched and sorted, as ``docs/console.md`` shows them."""
    waiting = [item for item in served.open_items() if item["subject"]]
    assert waiting
    best = max(waiting, key=lambda item: (item["score"], -item["id"]))
    page.goto(f"/leads/{best['lead_id']}")
    expect(page.locator("#review")).to_be_visible()
    shot(page, shots / "console-lead.png", full=True)
    page.goto("/crm?sort=fit")
    expect(page.locator("tr[data-lead]").first).to_be_visible()
    assert page.locator("tr[data-lead]").count() == 50
    expect(page.locator("#pager")).to_contain_text("Rows 1–50 of")
    shot(page, shots / "console-crm.png")
    page.locator("#next-page").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.locator("#pager")).to_contain_text("page 2 of")


def shot(page: Page, path: Path, *, full: bool = False) -> None:
    page.screenshot(path=str(path), full_page=full)
    assert path.stat().st_size > 0
