"""Research rules: claims exist, cite known evidence, and quote it verbatim."""

from __future__ import annotations

import pytest

from actors.validation import RESEARCH_RULES, check
from messages import Stage
from tests.support.outputs import CLAIMS, CTX, claim, evidence, fired, reasons, research


def test_valid_research_passes() -> None:
    """The fixture research breaks no rule, so each test below can change one thing."""
    report = check(research(), CTX)
    assert report.passed
    assert RESEARCH_RULES.stage is Stage.RESEARCH


def test_no_claims() -> None:
    """Research without claims breaks research.claims.empty, and only that rule."""
    assert fired(research(claims=())) == {"research.claims.empty"}


@pytest.mark.parametrize("summary", ["", "   ", "\n\t"])
def test_blank_summary(summary: str) -> None:
    """A blank summary breaks research.summary.empty."""
    assert fired(research(summary=summary)) == {"research.summary.empty"}


def test_unknown_evidence_id() -> None:
    """A claim citing an id that is not in the evidence breaks unknown_evidence, named."""
    bad = claim("It raised money.", ("e2", "e9"), "Raised a €12M Series A")
    output = research(claims=(*CLAIMS, bad))
    assert fired(output) == {"research.grounding.unknown_evidence"}
    assert reasons(output) == [
        'Claim 4 cites evidence "e9", which is not among the evidence shown '
        "(e1, e2, e3, e4); cite only those ids."
    ]


def test_quote_not_in_cited_evidence() -> None:
    """A quote absent from the evidence it cites breaks quote_not_found, with the quote."""
    bad = claim("It raised $90M.", ("e3",), "raised $90M")
    output = research(claims=(CLAIMS[0], bad))
    assert fired(output) == {"research.grounding.quote_not_found"}
    assert reasons(output) == [
        'Claim 2 quotes "raised $90M" but evidence e3 does not contain it; '
        "quote the evidence verbatim."
    ]


def test_quote_in_uncited_evidence_is_not_grounded() -> None:
    """A quote found only in evidence the claim does not cite still breaks quote_not_found."""
    bad = claim("It partners with universities.", ("e2", "e4"), "Partners with 42 universities")
    output = research(claims=(bad,))
    assert fired(output) == {"research.grounding.quote_not_found"}
    assert "none of evidence e2, e4 contains it" in reasons(output)[0]


def test_blank_quote() -> None:
    """A quote of whitespace alone is grounded in nothing, so it breaks quote_not_found."""
    output = research(claims=(claim("It exists.", ("e1",), "  \n "),))
    assert fired(output) == {"research.grounding.quote_not_found"}


def test_quote_compared_folded() -> None:
    """Case, runs of whitespace and curly quotes do not make a verbatim quote ungrounded."""
    items = (evidence("e1", "Arclight’s platform\nserves 42 universities."),)
    good = claim("It serves universities.", ("e1",), "ARCLIGHT'S  platform serves")
    assert fired(research(evidence=items, claims=(good,))) == set()


def test_unknown_ids_alone_do_not_break_quote_rule() -> None:
    """A claim citing only unknown ids is reported once, as unknown evidence."""
    output = research(claims=(claim("It is big.", ("x1",), "not in anything"),))
    assert fired(output) == {"research.grounding.unknown_evidence"}
