"""Drift statistics: false alarms, shifted columns, both Evidently paths, PSI bands.

The synthetic pipeline below feeds a ``ProfileBuilder`` the way the monitor does: a lead,
its verdicts, its approved score and, unless the score disqualifies it, its draft. A
``Mix`` sets the distributions a test shifts.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binomtest  # type: ignore[import-untyped]

from actors.drift import DRIFT_SHARE, Profile, ProfileBuilder, compare, psi_band
from actors.drift._statistics import categorical_psi, numeric_psi
from messages import Fit, Lead, LeadScore, OutreachDraft, ResearchResult

INDUSTRIES = ("software", "education", "healthcare", "finance", "retail", "manufacturing")
COUNTRIES = ("US", "GB", "DE", "FR", "ES", "NL")
TITLES = (
    "CEO",
    "VP Engineering",
    "Director of Data",
    "Head of Analytics",
    "Data Manager",
    "Senior Data Engineer",
    "Data Analyst",
)
START = datetime(2025, 1, 1, tzinfo=UTC)
SEEDS = range(40)


@dataclass(frozen=True)
class Mix:
    """The distributions the synthetic leads are drawn from."""

    industries: tuple[float, ...] = (30, 20, 15, 15, 10, 10)
    countries: tuple[float, ...] = (35, 20, 15, 10, 10, 10)
    employees_median: float = 200.0


SAME = Mix()


def synthetic_lead(rng: random.Random, n: int, mix: Mix) -> Lead:
    """One lead drawn from ``mix``, with optional fields sometimes left empty."""
    return Lead(
        lead_id=f"L{n:05d}",
        record=n + 1,
        first_name="Ada",
        last_name="" if rng.random() < 0.05 else "Lovelace",
        email=f"ada{n}@acme.example",
        title="" if rng.random() < 0.05 else rng.choice(TITLES),
        company="Acme",
        domain="acme.example",
        industry="" if rng.random() < 0.03 else rng.choices(INDUSTRIES, mix.industries)[0],
        country=rng.choices(COUNTRIES, mix.countries)[0],
        employees=max(1, round(rng.lognormvariate(math.log(mix.employees_median), 1.0))),
        notes="" if rng.random() < 0.1 else "n" * max(1, round(rng.gauss(120, 40))),
    )


def synthetic_run(seed: int, leads: int, mix: Mix = SAME) -> Profile:
    """The profile of a run of ``leads`` leads through a pipeline that behaves the same."""
    rng = random.Random(seed)
    builder = ProfileBuilder()
    for n in range(leads):
        lead = synthetic_lead(rng, n, mix)
        at = START + timedelta(minutes=n)
        builder.add_lead(lead, at=at)
        points = min(100, max(0, round(rng.gauss(60, 15))))
        fit = Fit.HIGH if points >= 70 else Fit.MEDIUM if points >= 40 else Fit.LOW
        score = LeadScore(
            research=ResearchResult(lead=lead, evidence=(), summary="s", claims=()),
            icp_score=points,
            icp_fit=fit,
            fit=fit,
            score=points,
            confidence=rng.betavariate(8, 2),
            reasons=(),
        )
        retried = rng.random() < 0.1
        if retried:
            builder.add_verdict(passed=False)
        builder.add_verdict(passed=True)
        at += timedelta(seconds=rng.gammavariate(4, 2))
        builder.add_score(score, attempt=2 if retried else 1, at=at)
        if not score.disqualified:
            body = "b" * max(1, round(rng.gauss(700, 120)))
            builder.add_verdict(passed=True)
            at += timedelta(seconds=rng.gammavariate(4, 2))
            builder.add_draft(OutreachDraft(score=score, subject="Hi", body=body), at=at)
    return builder.profile


def drifted(reference: Profile, current: Profile) -> set[str]:
    return {c.name for c in compare(reference, current).drifted}


def test_same_distribution_false_alarms_stay_at_five_percent_per_column() -> None:
    """Over 40 seeds of 300 vs 300 leads from one generator, column tests alarm at 5%.

    Each column is tested at p < 0.05, so about one column in twenty alarms by chance and
    some seed almost always has one: the count must be what a 5% rate gives, not
    significantly more (a one-sided binomial test). The dataset flag needs half the
    columns (``DRIFT_SHARE``), so it never fires here.
    """
    alarms = tests = 0
    for seed in SEEDS:
        report = compare(synthetic_run(2 * seed, 300), synthetic_run(2 * seed + 1, 300))
        assert len(report.columns) == 13
        assert {c.test for c in report.columns} == {"ks", "chisquare"}
        tests += len(report.columns)
        alarms += len(report.drifted)
        assert not report.drift
    assert binomtest(alarms, tests, 0.05, alternative="greater").pvalue > 0.01
    assert alarms / tests < 0.1


@pytest.mark.parametrize(
    ("column", "shift"),
    [
        ("industry", Mix(industries=(10, 10, 15, 15, 25, 25))),
        ("country", Mix(countries=(15, 15, 15, 15, 15, 25))),
        ("employees", Mix(employees_median=400.0)),
    ],
)
def test_a_shifted_input_is_flagged_on_its_column(column: str, shift: Mix) -> None:
    """A shifted industry mix, country mix or headcount drifts its column in every seed."""
    for seed in range(5):
        reference, current = synthetic_run(2 * seed, 300), synthetic_run(2 * seed + 1, 300, shift)
        assert column in drifted(reference, current)


def test_one_drifted_column_does_not_make_the_dataset_drift() -> None:
    """The dataset flag is Evidently's: at least half the compared columns must drift."""
    report = compare(synthetic_run(0, 300), synthetic_run(1, 300, Mix(employees_median=2000.0)))
    assert "employees" in {c.name for c in report.drifted}
    assert len(report.drifted) < DRIFT_SHARE * len(report.columns)
    assert not report.drift


def test_more_than_1000_reference_rows_switch_to_wasserstein_and_jensen_shannon() -> None:
    """Above 1000 reference rows, numeric columns use normed Wasserstein and categorical JS."""
    reference = synthetic_run(0, 1200)
    same = compare(reference, synthetic_run(1, 1200))
    inputs = {c.name: c for c in same.columns if c.role == "input"}
    assert inputs["employees"].test == "wasserstein"
    assert inputs["industry"].test == "jensenshannon"
    assert all(c.p_value is None and c.threshold == 0.1 for c in inputs.values())
    assert not any(c.drift for c in inputs.values())
    shifted = Mix(industries=(10, 10, 15, 15, 25, 25), employees_median=600.0)
    assert {"industry", "employees"} <= drifted(reference, synthetic_run(1, 1200, shifted))


def test_a_constant_reference_does_not_divide_by_zero() -> None:
    """Normed Wasserstein floors the reference's deviation, as Evidently does."""
    reference, current = Profile(), Profile()
    for n in range(1001):
        reference.add_numeric("x", 5.0, role="input")
        current.add_numeric("x", 5.0 + n % 2, role="input")
    (column,) = compare(reference, current).columns
    assert column.test == "wasserstein"
    assert column.drift
    assert math.isfinite(column.statistic)


def test_columns_empty_or_missing_on_either_side_are_skipped() -> None:
    """A column that either profile lacks, or holds no rows of, is left out of the report."""
    reference, current = Profile(), Profile()
    reference.add_numeric("both", 1.0, role="input")
    current.add_numeric("both", 2.0, role="input")
    reference.add_category("only_reference", "a", role="output")
    current.add_category("empty", "a", role="output")
    current.columns["empty"].counts.clear()
    reference.add_category("empty", "a", role="output")
    assert [c.name for c in compare(reference, current).columns] == ["both"]
    assert compare(Profile(), Profile()).columns == ()
    assert not compare(Profile(), Profile()).drift


def test_to_json_has_the_documented_keys() -> None:
    """``to_json`` gives the drift flag and, per column, the keys the ``--json`` output names."""
    report = compare(synthetic_run(0, 100), synthetic_run(1, 100))
    data = json.loads(report.to_json())
    assert data == report.to_dict()
    assert set(data) == {"drift", "columns"}
    assert set(data["columns"][0]) == {
        "name",
        "kind",
        "test",
        "statistic",
        "p_value",
        "drift",
        "psi",
        "psi_band",
    }
    assert data["columns"][0]["kind"] == "input"


@pytest.mark.parametrize(
    ("psi", "band"),
    [
        (0.0, "stable"),
        (0.099, "stable"),
        (0.1, "moderate"),
        (0.199, "moderate"),
        (0.2, "significant"),
    ],
)
def test_psi_bands_break_at_one_and_two_tenths(psi: float, band: str) -> None:
    """PSI below 0.1 is stable, below 0.2 moderate, and significant from 0.2."""
    assert psi_band(psi) == band


def test_psi_grows_with_the_shift() -> None:
    """Identical samples are stable, a small shift moderate or less, a large one significant."""
    rng = np.random.default_rng(0)
    reference = rng.normal(0.0, 1.0, 5000)
    assert numeric_psi(reference, reference) == 0.0
    assert psi_band(numeric_psi(reference, rng.normal(0.1, 1.0, 5000))) == "stable"
    assert psi_band(numeric_psi(reference, rng.normal(1.0, 1.0, 5000))) == "significant"
    mix = Counter(a=50, b=50)
    assert psi_band(categorical_psi(mix, Counter(a=45, b=55))) == "stable"
    assert psi_band(categorical_psi(mix, Counter(a=20, b=80))) == "significant"


def test_numeric_psi_survives_a_reference_of_ties() -> None:
    """A reference with one value merges all ten quantile bins into two, and stays finite."""
    psi = numeric_psi(np.zeros(100), np.arange(100.0))
    assert math.isfinite(psi)
    assert psi_band(psi) == "significant"


VALUES = st.lists(st.floats(-1e6, 1e6), max_size=30)
LABELS = st.lists(st.sampled_from("abcde"), max_size=30)


@given(VALUES, VALUES, LABELS, LABELS, st.booleans())
def test_compare_never_crashes_and_reports_valid_columns(
    ref_values: list[float],
    cur_values: list[float],
    ref_labels: list[str],
    cur_labels: list[str],
    large: bool,
) -> None:
    """Any sample sizes, ties or empty sides give a well-formed report, never an exception."""
    reference, current = Profile(), Profile()
    for profile, values, labels in (
        (reference, ref_values, ref_labels),
        (current, cur_values, cur_labels),
    ):
        for value in values:
            profile.add_numeric("x", value, role="input")
        for label in labels:
            profile.add_category("c", label, role="output")
    if large:  # claim many rows, to take the distance path on the same values
        for sample in reference.columns.values():
            sample.rows = 5000
    report = compare(reference, current)
    for column in report.columns:
        assert math.isfinite(column.statistic)
        assert column.p_value is None or 0.0 <= column.p_value <= 1.0
        assert column.psi >= 0.0
        assert column.psi_band == psi_band(column.psi)
    expected = {"x"} if ref_values and cur_values else set()
    expected |= {"c"} if ref_labels and cur_labels else set()
    assert {c.name for c in report.columns} == expected
