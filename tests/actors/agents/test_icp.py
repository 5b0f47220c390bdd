"""The ICP profile scores leads deterministically, from firmographics alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors import Icp
from messages import Fit, Lead, UsageError
from tests.support.paths import EXAMPLES

EXAMPLE = EXAMPLES / "icp.toml"


@pytest.fixture(scope="module")
def icp() -> Icp:
    return Icp.load(EXAMPLE)


def lead(**changes: object) -> Lead:
    fields: dict[str, object] = {
        "lead_id": "L1", "record": 1, "first_name": "Ana", "last_name": "Ruiz",
        "email": "ana@acme.io", "title": "VP of Engineering", "company": "Acme",
        "domain": "acme.io", "industry": "Software", "employees": 1200, "country": "US",
        "notes": "",
    }  # fmt: skip
    fields.update(changes)
    return Lead.model_validate(fields)


def test_best_lead_scores_high(icp: Icp) -> None:
    """A VP at a 1,200-person US software company is a high fit."""
    assert icp.score(lead()) == round(30 + 30 + 15 + 25 * 0.9)
    assert icp.fit_of(icp.score(lead())) is Fit.HIGH


def test_poor_lead_scores_low(icp: Icp) -> None:
    """An analyst at a 10-person government body abroad is a low fit."""
    poor = lead(title="Data Analyst", industry="Government", employees=10, country="BR")
    assert icp.fit_of(icp.score(poor)) is Fit.LOW


@pytest.mark.parametrize(
    ("title", "level"),
    [
        ("Vice President of Sales", "vp"),
        ("Co-Founder & CTO", "c_level"),
        ("Head of Data", "head"),
        ("Senior Data Engineer", "senior"),
        ("Data Analyst", "individual"),
        ("Director of Operations", "director"),
    ],
)
def test_seniority_from_title(icp: Icp, title: str, level: str) -> None:
    """Titles map to seniority levels, multi-word phrases before single words."""
    assert icp.seniority_of(title) == level


@given(employees=st.integers(min_value=1, max_value=10**9), title=st.text(max_size=60))
def test_score_is_always_within_bounds(employees: int, title: str) -> None:
    """Any lead scores within 0-100."""
    icp = Icp.load(EXAMPLE)
    assert 0 <= icp.score(lead(employees=employees, title=title)) <= 100


def test_missing_file_is_an_operator_error(tmp_path: Path) -> None:
    """A missing ICP file names itself and the option that fixes it."""
    with pytest.raises(UsageError, match=r"cannot read the ICP file .*; pass --icp FILE"):
        Icp.load(tmp_path / "nope.toml")


def test_wrong_shape_is_an_operator_error(tmp_path: Path) -> None:
    """A TOML file that is not a profile is refused with a pointer to the example."""
    path = tmp_path / "icp.toml"
    path.write_text("[weights]\nindustry = 10\n")
    with pytest.raises(UsageError, match=r"not an ICP profile .*see examples/icp.toml"):
        Icp.load(path)


@pytest.mark.parametrize(
    ("missing", "field"),
    [
        ({"industry": ""}, "industry"),
        ({"employees": None}, "employees"),
        ({"country": ""}, "country"),
        ({"title": ""}, "title"),
    ],
)
def test_a_missing_field_is_unknown_not_a_miss(
    icp: Icp, missing: dict[str, object], field: str
) -> None:
    """A dimension the row lacks neither adds nor subtracts: the score is the known
    dimensions' share, so a lead strong on everything it gives stays high, below full
    confidence, with the field named as unknown."""
    full = icp.assess(lead())
    partial = icp.assess(lead(**missing))

    assert partial.unknown == (field,)
    assert partial.confidence < 1.0 == full.confidence
    assert icp.fit_of(partial.score) is Fit.HIGH
    assert abs(partial.score - full.score) <= 5
    assert field in partial.reason and full.reason == ""


def test_an_unknown_field_scores_higher_than_a_miss(icp: Icp) -> None:
    """An unlisted country is a miss (no points); a missing one is not counted at all."""
    assert icp.score(lead(country="")) > icp.score(lead(country="BR"))


def test_a_lead_with_nothing_known_is_medium_with_no_confidence(icp: Icp) -> None:
    """With no dimension known, the score sits on the medium threshold and a person decides."""
    nothing = icp.assess(lead(industry="", employees=None, country="", title=""))

    assert (nothing.score, nothing.confidence) == (icp.fit_medium, 0.0)
    assert nothing.unknown == ("industry", "employees", "country", "title")


@pytest.mark.parametrize(
    ("low", "high", "headcount"), [(51, 200, 101), (1001, 5000, 2237), (10_001, 10_000_000, 10_001)]
)
def test_a_head_count_range_scores_at_its_geometric_midpoint(
    icp: Icp, low: int, high: int, headcount: int
) -> None:
    """A closed range is scored as √(low × high); an open one (10,001+) as its low end."""
    ranged = lead(employees=low, employees_max=high)

    assert ranged.headcount == headcount
    assert icp.score(ranged) == icp.score(lead(employees=headcount))
