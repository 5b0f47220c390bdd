"""The ICP profile scores leads deterministically, from firmographics alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors import Icp
from messages import Fit, Lead, UsageError

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "icp.toml"


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
