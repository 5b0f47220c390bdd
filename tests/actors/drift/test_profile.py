"""Profiles and the profile builder: bounded samples, JSON round trips, the lead columns."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.drift import (
    INPUT_COLUMNS,
    OUTPUT_COLUMNS,
    PROFILE_FILE,
    Profile,
    ProfileBuilder,
    title_seniority,
)
from messages import Fit, Lead, LeadScore, OutreachDraft, ResearchResult, UsageError

START = datetime(2025, 1, 1, tzinfo=UTC)


def lead(**changes: Any) -> Lead:
    """A lead with every optional field filled, with ``changes`` applied."""
    fields: dict[str, Any] = {
        "lead_id": "L1",
        "record": 1,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@acme.example",
        "title": "Head of Data",
        "company": "Acme",
        "domain": "acme.example",
        "industry": "Software",
        "employees": 1000,
        "country": "GB",
        "notes": "Wants fewer scripts.",
    }
    return Lead.model_validate(fields | changes)


def score(the_lead: Lead, fit: Fit = Fit.HIGH) -> LeadScore:
    """An approved-looking score for ``the_lead``."""
    return LeadScore(
        research=ResearchResult(lead=the_lead, evidence=(), summary="s", claims=()),
        icp_score=80,
        icp_fit=fit,
        fit=fit,
        score=80,
        confidence=0.9,
        reasons=(),
    )


def test_a_numeric_column_keeps_a_bounded_uniform_sample_and_an_exact_count() -> None:
    """Past ``max_rows`` values, reservoir sampling keeps the sample size and counts every row."""
    profile = Profile(max_rows=100, seed=7)
    for n in range(10_000):
        profile.add_numeric("x", n, role="input")
    column = profile.columns["x"]
    assert column.rows == 10_000
    assert len(column.values) == 100
    assert len(set(column.values)) == 100
    assert max(column.values) > 5_000  # late values replace early ones
    assert 2_500 < sum(column.values) / 100 < 7_500


def test_the_same_seed_samples_the_same_values() -> None:
    """The reservoir's RNG is seeded, so a profile is reproducible."""
    profiles = [Profile(max_rows=10, seed=3) for _ in range(2)]
    for profile in profiles:
        for n in range(1_000):
            profile.add_numeric("x", n, role="input")
    assert profiles[0].columns["x"].values == profiles[1].columns["x"].values


def test_a_categorical_column_counts_exactly_and_lumps_categories_past_the_bound() -> None:
    """Categories are counted exactly; once ``max_rows`` are known, new ones count as other."""
    profile = Profile(max_rows=2)
    for value in ["a", "b", "a", "c", "d", "b"]:
        profile.add_category("c", value, role="output")
    column = profile.columns["c"]
    assert column.rows == 6
    assert dict(column.counts) == {"a": 2, "b": 2, "(other)": 2}


def test_misuse_names_the_value_and_the_fix() -> None:
    """A non-finite value, a retyped column and a zero bound raise exact ``UsageError``s."""
    profile = Profile()
    with pytest.raises(UsageError, match=r"^value=nan of column 'x' must be a finite number$"):
        profile.add_numeric("x", math.nan, role="input")
    profile.add_numeric("x", 1.0, role="input")
    with pytest.raises(UsageError) as caught:
        profile.add_category("x", "a", role="input")
    assert str(caught.value) == (
        "Column 'x' is numeric (input), not categorical (input); give the new column another name"
    )
    with pytest.raises(UsageError, match=r"^max_rows=0 must be >= 1$"):
        Profile(max_rows=0)


@given(
    st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=20),
    st.lists(st.text(max_size=5), max_size=20),
    st.integers(min_value=1, max_value=10),
)
def test_a_profile_round_trips_through_json(
    values: list[float], labels: list[str], max_rows: int
) -> None:
    """``to_dict`` then ``from_dict`` through JSON gives back every column exactly."""
    profile = Profile(max_rows=max_rows, seed=5)
    for value in values:
        profile.add_numeric("x", value, role="input")
    for label in labels:
        profile.add_category("c", label, role="output")
    loaded = Profile.from_dict(json.loads(json.dumps(profile.to_dict())))
    assert loaded.to_dict() == profile.to_dict()
    assert loaded.columns == profile.columns


def test_save_then_load_from_the_file_or_its_run_directory(tmp_path: Path) -> None:
    """A saved profile loads back from its file and from the directory that holds it."""
    builder = ProfileBuilder()
    builder.add_lead(lead())
    path = builder.profile.save(tmp_path / PROFILE_FILE)
    assert Profile.load(path).to_dict() == builder.profile.to_dict()
    assert Profile.load(tmp_path).to_dict() == builder.profile.to_dict()
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_bad_baseline_path_raises_a_one_line_usage_error(tmp_path: Path) -> None:
    """A missing path, a directory without a profile and a non-profile file each say the fix."""
    missing = tmp_path / "nope"
    with pytest.raises(UsageError) as caught:
        Profile.load(missing)
    assert str(caught.value) == (
        f"Baseline {str(missing)!r} does not exist; pass a run directory or its profile.json"
    )
    with pytest.raises(UsageError) as caught:
        Profile.load(tmp_path)
    assert str(caught.value) == (
        f"Baseline {str(tmp_path)!r} holds no profile.json; pass the directory of a "
        "finished run, or a profile file"
    )
    for text in ("not json", '{"version": 1}', "[]", '{"version": 2}'):
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        with pytest.raises(UsageError) as caught:
            Profile.load(bad)
        assert str(caught.value) == (
            f"Baseline {str(bad)!r} is not a drift profile; pass a profile.json written by a run"
        )


def test_a_lead_fills_every_input_column() -> None:
    """``add_lead`` records industry, country, log10 headcount, seniority, notes and gaps."""
    builder = ProfileBuilder()
    builder.add_lead(lead())
    builder.add_lead(lead(lead_id="L2", last_name="", title="", notes="", industry=" "))
    columns = builder.profile.columns
    assert tuple(columns) == INPUT_COLUMNS
    assert all(c.role == "input" for c in columns.values())
    assert dict(columns["industry"].counts) == {"software": 1, "": 1}
    assert dict(columns["country"].counts) == {"GB": 2}
    assert columns["employees"].values == [3.0, 3.0]
    assert dict(columns["title_seniority"].counts) == {"head": 1, "unknown": 1}
    assert columns["notes_length"].values == [20.0, 0.0]
    assert columns["missing_fields"].values == [0.0, 4.0]


def test_outputs_fill_fit_score_retries_verdicts_and_latency() -> None:
    """Scores, drafts and verdicts fill the output columns; latency ends at the last output."""
    builder = ProfileBuilder()
    kept, dropped = lead(), lead(lead_id="L2")
    builder.add_lead(kept, at=START)
    builder.add_lead(dropped, at=START)
    builder.add_verdict(passed=False)
    builder.add_verdict(passed=True)
    builder.add_score(score(kept), attempt=2, at=START + timedelta(seconds=5))
    builder.add_draft(
        OutreachDraft(score=score(kept), subject="Hi", body="Hello there"),
        at=START + timedelta(seconds=12),
    )
    builder.add_score(score(dropped, Fit.LOW), at=START + timedelta(seconds=3))
    columns = builder.profile.columns
    assert set(OUTPUT_COLUMNS) == {c.name for c in columns.values() if c.role == "output"}
    assert dict(columns["fit"].counts) == {"high": 1, "low": 1}
    assert columns["score"].values == [80.0, 80.0]
    assert columns["confidence"].values == [0.9, 0.9]
    assert columns["draft_length"].values == [11.0]
    assert dict(columns["validation_failed"].counts) == {"fail": 1, "pass": 1}
    assert dict(columns["retried"].counts) == {"yes": 1, "no": 2}
    assert columns["latency_s"].values == [12.0, 3.0]


def test_latency_needs_the_acceptance_time() -> None:
    """An output of a lead whose acceptance this run never saw adds no latency."""
    builder = ProfileBuilder(max_pending=1)
    builder.add_lead(lead(), at=START)
    builder.add_lead(lead(lead_id="L2"), at=START)  # evicts L1's clock
    builder.add_score(score(lead(), Fit.LOW), at=START + timedelta(seconds=1))
    assert "latency_s" not in builder.profile.columns


def test_a_custom_seniority_classifier_replaces_the_built_in_one() -> None:
    """``seniority`` takes any callable from title to level."""
    builder = ProfileBuilder(seniority=lambda title: "exec" if "Head" in title else "other")
    builder.add_lead(lead())
    assert dict(builder.profile.columns["title_seniority"].counts) == {"exec": 1}


@pytest.mark.parametrize(
    ("title", "level"),
    [
        ("CEO", "c_level"),
        ("Co-Founder & CTO", "c_level"),
        ("Chief Data Officer", "c_level"),
        ("Managing Director", "c_level"),
        ("VP Engineering", "vp"),
        ("Vice-President, Sales", "vp"),
        ("Senior Director of Data", "director"),
        ("Head of Analytics", "head"),
        ("Data Engineering Manager", "manager"),
        ("Team Lead", "manager"),
        ("Sr. Data Engineer", "senior"),
        ("Principal Engineer", "senior"),
        ("Data Analyst", "individual"),
        ("Headhunter", "individual"),
        ("  ", "unknown"),
    ],
)
def test_title_seniority_names_the_most_senior_level(title: str, level: str) -> None:
    """The classifier picks the most senior whole word of a title, or ``unknown`` for none."""
    assert title_seniority(title) == level
