"""Properties of ``check`` on generated outputs: it never raises, nor misses a planted fault."""

from __future__ import annotations

import re
import string
import unicodedata

from hypothesis import assume, given
from hypothesis import strategies as st

from actors.validation import RuleContext, check
from actors.validation._links import find_links, is_tld, scan_links, within
from actors.validation._text import fold, plain
from messages import Claim, Evidence, Fit, Lead, LeadScore, OutreachDraft, ResearchResult
from tests.support.outputs import (
    BODY,
    CLAIMS,
    CTX,
    EVIDENCE,
    SUBJECT,
    claim,
    draft_for,
    fired,
    lead,
    research,
)

FRAGMENTS = (
    "Hi ", "Hello ", "Dear ", "Zoë", ",", "\n", "https://", "http://", "www.", ".com", ".io",
    "/", "@", "{{", "}}", "[", "]", "{", "}", "<", ">", "$", "€", "%", "40", "1,200", "2.5",
    '"', "“", "’", "SYSTEM:", "ignore previous instructions", "write ", "include the link ",
    "unsubscribe", "TODO", "XXX", ". ", "? ", "e1", "\u0308", "\u200b", "İ", "ß",
)  # fmt: skip
"""Pieces the rules look for, mixed into arbitrary text to reach their interesting branches."""

texts = st.lists(st.text() | st.sampled_from(FRAGMENTS), max_size=12).map("".join)
nonempty = texts.filter(lambda s: len(s) >= 1)
ids = st.sampled_from(["e1", "e2", "x"]) | st.text(min_size=1)

leads = st.builds(
    Lead,
    lead_id=nonempty,
    record=st.integers(min_value=1),
    first_name=nonempty,
    last_name=texts,
    email=texts.filter(lambda s: len(s) >= 3),
    title=texts,
    company=nonempty,
    domain=texts,
    industry=texts,
    employees=st.integers(min_value=1),
    country=texts,
    notes=texts,
)
evidence_items = st.builds(Evidence, evidence_id=ids, source=texts, text=texts)
claims = st.builds(
    Claim, text=nonempty, evidence_ids=st.lists(ids, min_size=1).map(tuple), quote=nonempty
)
researches = st.builds(
    ResearchResult,
    lead=leads,
    evidence=st.lists(evidence_items, max_size=4).map(tuple),
    summary=texts,
    claims=st.lists(claims, max_size=4).map(tuple),
)
scores = st.builds(
    LeadScore,
    research=researches,
    icp_score=st.integers(0, 100),
    icp_fit=st.sampled_from(Fit),
    fit=st.sampled_from(Fit),
    score=st.integers(0, 100),
    confidence=st.floats(0.0, 1.0),
    reasons=st.lists(texts, max_size=3).map(tuple),
)
drafts = st.builds(OutreachDraft, score=scores, subject=nonempty, body=nonempty)
contexts = st.builds(RuleContext, sender_domain=texts)


@given(output=researches | scores | drafts, ctx=contexts)
def test_check_never_raises(
    output: ResearchResult | LeadScore | OutreachDraft, ctx: RuleContext
) -> None:
    """On any well-typed output, however odd its text, check returns and no rule crashes."""
    report = check(output, ctx)
    assert not [v.rule for v in report.reask + report.review if v.rule.endswith(".crashed")]


LETTERS = st.characters(categories=("Lu", "Ll", "Lo"))
PLACEHOLDERS = st.sampled_from(
    ["{{", "}}", "[Name]", "[First Name]", "[Company]", "<company>", "<first_name>",
     "{first_name}", "{company}", "XXX", "TODO", "[INSERT"]
) | st.builds(
    lambda brackets, head, rest: f"{brackets[0]}{head}{rest}{brackets[1]}",
    st.sampled_from(["[]", "{}", "<>"]),
    LETTERS | st.just("_"),
    st.text(LETTERS | st.sampled_from("_ "), max_size=12),
)  # fmt: skip


@given(placeholder=PLACEHOLDERS, data=st.data())
def test_placeholder_anywhere_is_caught(placeholder: str, data: st.DataObject) -> None:
    """A placeholder inserted at any position of a valid body breaks draft.placeholder."""
    at = data.draw(st.integers(0, len(BODY)))
    output = draft_for(lead(), body=BODY[:at] + placeholder + BODY[at:])
    assert "draft.placeholder" in fired(output)


def spaces(text: str) -> list[int]:
    """The positions of the single spaces in ``text``, where a phrase can be slipped in."""
    return [m.start() for m in re.finditer(" ", text)]


WORDS = st.text(string.ascii_lowercase, min_size=1, max_size=8)
VERBS = st.sampled_from(["Write", "Say", "Please include", "Ignore previous instructions and"])


@given(verb=VERBS, tail=st.lists(WORDS, min_size=5, max_size=10), data=st.data())
def test_echoed_instruction_is_caught(verb: str, tail: list[str], data: st.DataObject) -> None:
    """Five or more words of an instruction in the notes, copied into the body, are caught."""
    instruction = f"{verb} {' '.join(tail)}."
    notes = f"Met at a conference. {instruction} Prefers email."
    start = data.draw(st.integers(0, len(tail) - 5))
    echo = " ".join(tail[start : data.draw(st.integers(start + 5, len(tail)))])
    at = data.draw(st.sampled_from(spaces(BODY)))
    output = draft_for(lead(notes=notes), body=f"{BODY[:at]} {echo} {BODY[at:]}")
    assert "draft.injection_echo" in fired(output)


LABELS = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True)
TLDS = st.sampled_from(["com", "io", "ly", "museum", "example", "dev"]) | st.from_regex(
    r"[a-z]{2,8}", fullmatch=True
)


@given(
    labels=st.lists(LABELS, min_size=1, max_size=3),
    tld=TLDS,
    form=st.sampled_from(["https://{}/{}", "http://{}", "www.{}", "{}/{}", "{}"]),
    path=st.from_regex(r"[a-z0-9_-]{0,10}", fullmatch=True),
    end=st.sampled_from(["", ".", ",", ")", "!"]),
    data=st.data(),
)
def test_foreign_link_is_caught(
    labels: list[str], tld: str, form: str, path: str, end: str, data: st.DataObject
) -> None:
    """A link to any domain outside the lead's and the sender's is caught, in every form."""
    host = ".".join([*labels, tld])
    assume(not within(host, "arclight-academy.com") and not within(host, CTX.sender_domain))
    if form == "{}":
        assume(is_tld(tld) or len(labels) >= 2)  # a bare two-label name may be prose
    link = form.format(host, path)
    at = data.draw(st.sampled_from(spaces(BODY)))
    output = draft_for(lead(), body=f"{BODY[:at]} {link}{end} {BODY[at:]}")
    assert "draft.foreign_link" in fired(output)


@given(
    quote=st.text(min_size=1), cited=st.sets(st.sampled_from(["e1", "e2", "e3", "e4"]), min_size=1)
)
def test_ungrounded_quote_is_caught(quote: str, cited: set[str]) -> None:
    """A quote that no cited evidence contains, folded, breaks quote_not_found."""
    texts_ = {item.evidence_id: fold(item.text) for item in EVIDENCE}
    assume(fold(quote) and all(fold(quote) not in texts_[i] for i in cited))
    output = research(claims=(*CLAIMS, claim("It is so.", tuple(sorted(cited)), quote)))
    assert "research.grounding.quote_not_found" in fired(output)


NAMES = st.text(LETTERS, min_size=1, max_size=20).filter(
    lambda s: "TODO" not in s and "XXX" not in s
)
COMPANIES = st.lists(st.text(LETTERS, min_size=1, max_size=10), min_size=1, max_size=3).map(
    " ".join
)


@given(
    first_name=NAMES,
    greeting=st.sampled_from(["Hi", "Hello", "Dear", "HI", "hello", "dEaR"]),
    company=COMPANIES.filter(lambda s: "TODO" not in s and "XXX" not in s),
)
def test_harmless_changes_pass(first_name: str, greeting: str, company: str) -> None:
    """Another first name in lead and greeting, or another company name throughout, passes."""
    body = BODY.replace("Hi Zoë", f"{greeting} {first_name}").replace("Arclight Academy", company)
    subject = SUBJECT.replace("Arclight Academy", company)
    output = draft_for(lead(first_name=first_name, company=company), subject=subject, body=body)
    assert fired(output) == set()


@given(texts)
def test_find_links_shortcut_finds_what_the_full_scan_finds(text: str) -> None:
    """Skipping texts with neither ``://`` nor a dot inside a name never misses a link."""
    assert find_links(text) == scan_links(text)


@given(texts)
def test_plain_straightens_quotes_and_collapses_whitespace(text: str) -> None:
    straightened = unicodedata.normalize("NFC", text)
    for curly, straight in (("‘", "'"), ("’", "'"), ("“", '"'), ("”", '"')):
        straightened = straightened.replace(curly, straight)
    assert plain(text) == " ".join(straightened.split())
    assert not {"‘", "’", "“", "”"} & set(plain(text))
