"""Scoring rules: ranges, a fit that agrees with its score, confidence, and the ICP check."""

from __future__ import annotations

import math
from collections.abc import Iterator

from actors.validation._context import RuleContext
from actors.validation._rule import rule
from messages import Fit, LeadScore


def fit_for(score: int, ctx: RuleContext) -> Fit:
    """The fit band that ``score`` falls in under the ICP thresholds of ``ctx``."""
    if score >= ctx.fit_high:
        return Fit.HIGH
    if score >= ctx.fit_medium:
        return Fit.MEDIUM
    return Fit.LOW


def _band(fit: Fit, ctx: RuleContext) -> str:
    match fit:
        case Fit.HIGH:
            return f"{ctx.fit_high}-100"
        case Fit.MEDIUM:
            return f"{ctx.fit_medium}-{ctx.fit_high - 1}"
        case Fit.LOW:
            return f"0-{ctx.fit_medium - 1}"


@rule("score.range")
def in_range(score: LeadScore, ctx: RuleContext) -> Iterator[str]:
    """The score is within 0-100 and the confidence within 0-1.

    The contract already enforces both; this is defence in depth against an output built
    without validation (``model_construct``).
    """
    if not 0 <= score.score <= 100:
        yield f"Score {score.score!r} is outside 0-100; give a whole number from 0 to 100."
    if not (math.isfinite(score.confidence) and 0.0 <= score.confidence <= 1.0):
        yield f"Confidence {score.confidence!r} is outside 0-1; give a number from 0.0 to 1.0."


@rule("score.consistency")
def fit_matches_score(score: LeadScore, ctx: RuleContext) -> Iterator[str]:
    """The fit is the band that the score falls in."""
    expected = fit_for(score.score, ctx)
    if score.fit != expected:
        yield (
            f'Fit "{score.fit}" disagrees with score {score.score}, which is in the '
            f'"{expected}" band ({_band(expected, ctx)}); make the fit and the score agree.'
        )


@rule("score.confidence")
def confident(score: LeadScore, ctx: RuleContext) -> Iterator[str]:
    """The confidence reaches the threshold; below it, a human decides."""
    if not score.confidence >= ctx.confidence_threshold:
        yield (
            f"Confidence {score.confidence!r} is below the threshold "
            f"{ctx.confidence_threshold!r}, so a human must review the score."
        )


@rule("score.icp_disagreement")
def agrees_with_icp(score: LeadScore, ctx: RuleContext) -> Iterator[str]:
    """The score is within the tolerance of the deterministic ICP score."""
    gap = abs(score.score - score.icp_score)
    if gap > ctx.icp_tolerance:
        yield (
            f"Score {score.score} is {gap} points from the deterministic ICP score "
            f"{score.icp_score}, more than the tolerance of {ctx.icp_tolerance}, so a human "
            "must review the score."
        )
