"""The console's pieces without a server: highlighting, escaping, sessions, CSRF, reasons."""

from __future__ import annotations

import pytest
from fastapi import HTTPException
from starlette.datastructures import FormData

from actors import ReviewItem
from console._ui_page import templates
from console._ui_session import Sessions, check_csrf
from console._ui_views import Reason, highlight, reasons_of, spans
from messages import FailureKind, HumanReviewRequested, RuleViolation, Stage
from tests.support.outputs import draft, lead


def violation(reason: str) -> RuleViolation:
    return RuleViolation(rule="draft.unsupported_fact", reason=reason)


def test_spans_are_the_quoted_text_of_reasons() -> None:
    """The text a rule quotes in its reason is what the page highlights, once each."""
    found = spans(
        [
            violation('The body states "3,605", which appears nowhere in the research.'),
            violation('The body states "3,605" again, and "Hi [First Name]," too.'),
        ]
    )
    assert found == ["3,605", "Hi [First Name],"]


def test_highlight_marks_spans_and_escapes_everything_else() -> None:
    """Each span is wrapped in <mark>; markup around and inside it stays text."""
    text = "<b>We</b> saved 3,605 hours <script>x()</script>"
    html = str(highlight(text, ["3,605", "<script>"]))
    assert html == (
        "&lt;b&gt;We&lt;/b&gt; saved <mark>3,605</mark> hours "
        "<mark>&lt;script&gt;</mark>x()&lt;/script&gt;"
    )


def test_highlight_without_spans_only_escapes() -> None:
    """Text with no span to mark comes back escaped, whole."""
    assert str(highlight("{{ 7*7 }} <i>", ["absent"])) == "{{ 7*7 }} &lt;i&gt;"


def test_templates_autoescape_lead_data() -> None:
    """A value rendered in any template is escaped, and template syntax in it stays text."""
    page = (
        templates()
        .get_template("missing.html")
        .render(session=None, msg="<img src=x onerror=alert(1)>", what="{{ 7*7 }}")
    )
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "{{ 7*7 }}" in page
    assert "<img" not in page


@pytest.mark.anyio
async def test_a_session_is_found_by_its_cookie_only() -> None:
    """Sessions have distinct random ids and CSRF tokens; a closed one is gone."""
    sessions = Sessions()
    first, second = await sessions.open("Ada"), await sessions.open("Grace")
    assert len({first.id, second.id, first.csrf, second.csrf}) == 4
    await sessions.close(first)
    assert sessions.find(first.id) is None
    assert sessions.find(second.id) == second
    assert sessions.find("") is None


@pytest.mark.parametrize("given", [None, "", "wrong"])
def test_csrf_refuses_a_missing_or_wrong_token(given: str | None) -> None:
    """A form without the session's CSRF token is refused with 403."""
    form = FormData({} if given is None else {"csrf": given})
    with pytest.raises(HTTPException) as caught:
        check_csrf(form, "expected-token")
    assert caught.value.status_code == 403


def test_csrf_accepts_the_sessions_token() -> None:
    """The session's own token passes."""
    check_csrf(FormData({"csrf": "expected-token"}), "expected-token")


def test_violations_said_in_the_same_words_are_one_reason_with_both_details() -> None:
    """Two claims left out read as one sentence; the folded details keep each reason."""
    shaky = (
        RuleViolation(rule="research.grounding.quote_not_found", reason="Claim 1 quotes x."),
        RuleViolation(rule="research.grounding.quote_not_found", reason="Claim 2 quotes y."),
        RuleViolation(rule="draft.opt_out", reason="The body has no opt-out line."),
    )
    request = HumanReviewRequested(
        lead=lead(), stage=Stage.WRITING, failure=FailureKind.RULE_VIOLATION,
        reason="r", attempts=3, violations=shaky, last_output=draft(),
    )  # fmt: skip
    item = ReviewItem(1, 1, "L0001", "writing", "rule_violation", "r", "open", request)
    assert reasons_of(item) == (
        Reason(
            "A research claim quoted words its source does not contain: it was left out.",
            "research.grounding.quote_not_found",
            "Claim 1 quotes x. Claim 2 quotes y.",
        ),
        Reason("The email has no opt-out line.", "draft.opt_out", "The body has no opt-out line."),
    )
