"""Scoring rules: ranges, a fit that agrees with its score band, confidence, the ICP check."""

from __future__ import annotations

import math

import pytest

from actors.validation import SCORING_RULES, RuleContext, check
from messages import Fit, LeadScore, Stage
from tests.support.outputs import CTX, fired, reasons, research, score


def constructed(**changes: object) -> LeadScore:
    """The valid score with ``changes`` applied past the contract, as a buggy producer might."""
    return LeadScore.model_construct(**(dict(score()) | changes))


def test_valid_score_passes() -> None:
    """The fixture score breaks no rule, so each test below can change one thing."""
    assert check(score(), CTX).passed
    assert SCORING_RULES.stage is Stage.SCORING


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {"score": 101, "icp_score": 100},
            "Score 101 is outside 0-100; give a whole number from 0 to 100.",
        ),
        (
            {"confidence": 1.5},
            "Confidence 1.5 is outside 0-1; give a number from 0.0 to 1.0.",
        ),
        (
            {"confidence": math.inf},
            "Confidence inf is outside 0-1; give a number from 0.0 to 1.0.",
        ),
    ],
)
def test_out_of_range(changes: dict[str, object], reason: str) -> None:
    """A score or confidence outside its range, built past the contract, breaks score.range."""
    output = constructed(**changes)
    assert fired(output) == {"score.range"}
    assert reasons(output) == [reason]


@pytest.mark.parametrize(
    ("value", "fit"),
    [
        (100, Fit.HIGH),
        (70, Fit.HIGH),
        (69, Fit.MEDIUM),
        (40, Fit.MEDIUM),
        (39, Fit.LOW),
        (0, Fit.LOW),
    ],
)
def test_fit_bands(value: int, fit: Fit) -> None:
    """A fit that matches the band of its score passes consistency, on both sides of each edge."""
    output = score(score=value, fit=fit, icp_score=value)
    assert fired(output) == set()


def test_fit_disagrees_with_score() -> None:
    """A fit outside its score's band breaks score.consistency, naming the band."""
    output = score(score=55, fit=Fit.HIGH, icp_score=60)
    assert fired(output) == {"score.consistency"}
    assert reasons(output) == [
        'Fit "high" disagrees with score 55, which is in the "medium" band (40-69); '
        "make the fit and the score agree."
    ]


def test_fit_bands_follow_context() -> None:
    """The band edges come from the context, not from constants."""
    output = score(score=65, fit=Fit.HIGH, icp_score=65)
    assert fired(output) == {"score.consistency"}
    assert fired(output, RuleContext(sender_domain="leadwright.example", fit_high=60)) == set()


def test_low_confidence_goes_to_review() -> None:
    """A confidence below the threshold breaks score.confidence, a review rule."""
    report = check(score(confidence=0.59), CTX)
    assert report.reask == ()
    assert [v.rule for v in report.review] == ["score.confidence"]
    assert report.review[0].reason == (
        "Confidence 0.59 is below the threshold 0.6, so a human must review the score."
    )


def test_confidence_at_threshold_passes() -> None:
    """A confidence equal to the threshold is enough."""
    assert fired(score(confidence=0.6)) == set()


def test_nan_confidence() -> None:
    """A NaN confidence, built past the contract, is out of range and not confident."""
    assert fired(constructed(confidence=math.nan)) == {"score.range", "score.confidence"}


def test_icp_disagreement_goes_to_review() -> None:
    """A score further than the tolerance from the ICP score breaks icp_disagreement, review."""
    report = check(score(icp_score=56), CTX)
    assert report.reask == ()
    assert [v.rule for v in report.review] == ["score.icp_disagreement"]
    assert report.review[0].reason == (
        "Score 82 is 26 points from the deterministic ICP score 56, more than the tolerance "
        "of 25, so a human must review the score."
    )


def test_icp_at_tolerance_passes() -> None:
    """A gap equal to the tolerance is still agreement."""
    assert fired(score(icp_score=57)) == set()


def test_research_is_not_rechecked() -> None:
    """Scoring rules judge the score alone; the approved research inside is not re-checked."""
    assert fired(score(research=research(claims=()))) == set()
