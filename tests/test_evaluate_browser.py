"""The evaluation report in a real browser (Debian's Chromium under Playwright): it opens
from the file with no console error, asks for nothing over the network, and a lead's
markup stays text. With LEADWRIGHT_DOCS_SCREENSHOTS=1 it refreshes docs/evaluate-report.png.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, FloatRect, Request, sync_playwright

import run as cli
from actors.llm.testing import Behaviour, FakeOpenAI, OfflineModel

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
ROWS = 60
PAYLOAD = "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"


def leads(tmp_path: Path) -> Path:
    """The first sample leads, and one whose title and notes carry markup."""
    lines = (ROOT / "examples" / "leads.csv").read_text(encoding="utf-8").splitlines(True)
    rows = list(csv.DictReader(io.StringIO("".join(lines[: ROWS + 1]))))
    hostile = dict(rows[0])
    hostile |= {"id": "LXSS", "email": "xss@ember-labs.ai", "title": f"Head of {PAYLOAD}",
                "notes": PAYLOAD}  # fmt: skip
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows([*rows, hostile])
    path = tmp_path / "leads.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An evaluation of a sloppier, cheaper model against the flawless one."""
    tmp = tmp_path_factory.mktemp("evaluation")
    script = OfflineModel(behaviours={"gpt-4.1-nano": Behaviour(placeholder_rate=0.3)})
    with (
        FakeOpenAI(script, models=["gpt-4o-mini", "gpt-4.1-nano"]) as fake,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setenv("OPENAI_API_KEY", "sk-test-browser")
        patch.setenv("OPENAI_BASE_URL", fake.url)
        base = ["run", str(leads(tmp)), "--out", str(tmp / "base"), "--llm", "openai"]
        assert cli.main([*base, "--model", "gpt-4o-mini", "--json"]) == 0
        code = cli.main([
            "evaluate", "--baseline", str(tmp / "base"), "--out", str(tmp / "e"),
            "--model", "gpt-4.1-nano", "--repeat", "2",
            "--fail-if", "rule:draft.placeholder > 0.05", "--fail-if", "kappa < 0.7",
        ])  # fmt: skip
    assert code == 3
    return tmp / "e" / "report.html"


@pytest.fixture(scope="module")
def browser(report: Path) -> Iterator[Browser]:
    """Chromium, started after the evaluation: Playwright's own event loop would stop the
    command line from running one."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def test_the_report_opens_with_no_error_and_no_request_and_inert_lead_text(
    browser: Browser, report: Path, tmp_path: Path
) -> None:
    """No console message of type error or warning, no request but the file itself (plots
    are data URIs), the hostile lead's markup shown as text, nothing it carries run."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    messages: list[ConsoleMessage] = []
    requests: list[Request] = []
    page.on("console", lambda message: messages.append(message))
    page.on("request", lambda request: requests.append(request))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    assert [(m.type, m.text) for m in messages if m.type in ("error", "warning")] == []
    fetched = [r.url for r in requests if not r.url.startswith("data:")]
    assert fetched == [report.as_uri()]
    assert page.title().startswith("Leadwright evaluation")
    assert page.locator("img[src='x']").count() == 0 and page.locator("script").count() == 0
    hostile = page.locator("tr[data-lead='LXSS']")
    assert hostile.count() == 1
    page.locator("details", has_text="Drafts of LXSS").locator("summary").click()
    assert "<script>" in page.locator("details", has_text="Drafts of LXSS").inner_text()
    summary = page.locator("#summary").inner_text()
    assert summary.startswith("candidate: ") and "draft.placeholder" in summary
    assert page.locator("#gate .holds").count() == 1
    assert page.locator("#flip-rate").count() == 1
    plots = page.locator("img[src^='data:image/png;base64,']")
    assert plots.count() >= 3
    assert all(plots.nth(i).evaluate("i => i.naturalWidth > 0") for i in range(plots.count()))
    page.locator("#leads details summary").first.click()
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    if os.environ.get("LEADWRIGHT_DOCS_SCREENSHOTS") == "1":
        top: FloatRect = {"x": 0, "y": 0, "width": 1280, "height": 2200}
        page.screenshot(path=str(ROOT / "docs" / "evaluate-report.png"), full_page=True, clip=top)
    page.close()
    data = json.loads(report.with_name("report.json").read_text())
    assert data["gate"][0]["holds"] is True
