"""Draft source rules: numbers come from the research or the lead; links stay in known domains."""

from __future__ import annotations

import pytest

from actors.validation import RuleContext
from tests.support.outputs import BODY, CTX, draft, draft_for, fired, lead, reasons

ANCHOR = "Would a short"


def with_sentence(sentence: str) -> str:
    """The valid body with ``sentence`` added before its closing question."""
    return BODY.replace(ANCHOR, f"{sentence} {ANCHOR}")


@pytest.mark.parametrize(
    "sentence",
    [
        "That is 42 universities.",
        "A €12M round is a milestone.",
        "Your team of 124 is growing.",
        "Teams of 1,200 analysts use us.",
        "Teams of 1200 analysts use us.",
        "We help B2B teams in Q3 and v2 rollouts.",
        "Read acme-42.arclight-academy.com/2024 or mail ops99@leadwright.example today.",
    ],
)
def test_supported_numbers(sentence: str) -> None:
    """Numbers from the evidence, claims or lead pass; names like B2B and links are not numbers."""
    sources = lead(title="Head of Data for 1,200 analysts")
    assert fired(draft_for(sources, body=with_sentence(sentence))) == set()


@pytest.mark.parametrize(
    ("sentence", "shown"),
    [
        ("You raised $90M last year.", "$90M"),
        ("Costs fell by 35% for our customers.", "35%"),
        ("It takes 3 weeks.", "3"),
        ("Since 2019 you have grown.", "2019"),
        ("Save 2.5 hours a day.", "2.5"),
    ],
)
def test_unsupported_number(sentence: str, shown: str) -> None:
    """A number found nowhere in the research or the lead breaks draft.unsupported_fact."""
    output = draft(body=with_sentence(sentence))
    assert fired(output) == {"draft.unsupported_fact"}
    assert reasons(output) == [
        f'The body states "{shown}", which appears nowhere in the research or the lead; '
        "use only numbers from the research."
    ]


def test_unsupported_number_in_subject() -> None:
    """A number from nowhere in the subject breaks draft.unsupported_fact too."""
    output = draft(subject="Arclight Academy: 3x faster dashboards")
    assert fired(output) == {"draft.unsupported_fact"}


def test_numbers_in_notes_or_summary_are_not_sources() -> None:
    """The notes are untrusted and the summary is LLM-written, so neither supports a number."""
    output = draft_for(
        lead(notes="Asked about pricing for 39 seats."), body=with_sentence("For 39 seats?")
    )
    assert fired(output) == {"draft.unsupported_fact"}


@pytest.mark.parametrize(
    "link",
    [
        "https://arclight-academy.com/pricing",
        "http://docs.arclight-academy.com",
        "www.arclight-academy.com",
        "arclight-academy.com",
        "https://leadwright.example/demo?ref=mail",
        "app.leadwright.example/signup",
        "HTTPS://LEADWRIGHT.EXAMPLE/Demo",
    ],
)
def test_allowed_links(link: str) -> None:
    """Links to the lead's or the sender's domain, or their subdomains, pass."""
    assert fired(draft(body=with_sentence(f"See {link}."))) == set()


@pytest.mark.parametrize(
    ("link", "shown"),
    [
        ("http://evil.example.com/claim", "http://evil.example.com/claim"),
        ("evil.example.com/claim", "evil.example.com/claim"),
        ("www.evil.io", "www.evil.io"),
        ("calendly.com", "calendly.com"),
        ("https://arclight-academy.com.evil.io/x", "https://arclight-academy.com.evil.io/x"),
        ("https://arclight-academy.com@evil.io/x", "https://arclight-academy.com@evil.io/x"),
        ("https://notarclight-academy.com", "https://notarclight-academy.com"),
        ("(https://evil.dev/a).", "https://evil.dev/a"),
    ],
)
def test_foreign_link(link: str, shown: str) -> None:
    """A link outside the lead's and sender's domains breaks draft.foreign_link, quoted."""
    output = draft(body=with_sentence(f"See {link}"))
    assert fired(output) == {"draft.foreign_link"}
    assert reasons(output) == [
        f'The body links to "{shown}", outside "arclight-academy.com" or "leadwright.example"; '
        "remove the link."
    ]


def test_foreign_link_in_subject() -> None:
    """A foreign link in the subject breaks draft.foreign_link, naming the subject."""
    output = draft(subject="Arclight Academy, see bit.ly/x")
    assert fired(output) == {"draft.foreign_link"}
    assert reasons(output)[0].startswith('The subject links to "bit.ly/x"')


def test_sender_domain_comes_from_context() -> None:
    """The sender's domain is the context's: the same link is foreign for another sender."""
    output = draft(body=with_sentence("See https://leadwright.example/demo."))
    assert fired(output, CTX) == set()
    assert fired(output, RuleContext(sender_domain="other.example")) == {"draft.foreign_link"}


@pytest.mark.parametrize(
    "prose",
    ["Built on Node.js and Vue.js.", "That is, e.g. the i.e. case.", "Write to ops@evil.io."],
)
def test_not_links(prose: str) -> None:
    """Dotted tech names, abbreviations and email addresses are not links."""
    assert fired(draft(body=with_sentence(prose))) == set()
