"""The gate's language (``supervision/evaluation/_gate.py``): conditions on the candidate
and the baseline, their one-line errors, and numbers compared as Python compares them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages import UsageError
from supervision.evaluation import Condition

CANDIDATE = {"completed_rate": 0.61, "rule:draft.placeholder": 0.004, "kappa": 0.81}
BASELINE = {"completed_rate": 0.70, "rule:draft.placeholder": 0.021}


@pytest.mark.parametrize(
    ("text", "holds", "detail"),
    [
        (
            "completed_rate < baseline - 0.02",
            True,
            "completed_rate 0.61 < 0.68 (baseline.completed_rate 0.7 - 0.02)",
        ),
        ("rule:draft.placeholder > 0.01", False, "rule:draft.placeholder 0.004 > 0.01"),
        ("rule:draft.placeholder > 1%", False, "rule:draft.placeholder 0.004 > 0.01"),
        (
            "baseline.rule:draft.placeholder >= 2%",
            True,
            "baseline.rule:draft.placeholder 0.021 >= 0.02",
        ),
        ("kappa < 0.7", False, "kappa 0.81 < 0.7"),
        ("cost_per_lead > 0.01", True, "cost_per_lead is not measured, so the condition holds"),
    ],
)
def test_conditions_compare_the_candidate_with_numbers_and_the_baseline(
    text: str, holds: bool, detail: str
) -> None:
    """A bare metric is the candidate's, ``baseline`` the same metric's baseline figure, and
    an unmeasured figure makes the condition hold."""
    assert Condition.parse(text).holds(CANDIDATE, BASELINE) == (holds, detail)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "it is empty"),
        ("completed_rate <", "expected a number or a metric at its end"),
        ("kappa 0.7", "expected a comparison (< <= > >= == !=), found '0.7'"),
        ("kappa < 0.7 0.8", "unexpected '0.8' after the comparison"),
        ("kappa < 0.7)", "cannot read ')' at character 12"),
        ("baseline > 1", "'baseline' needs a metric to stand for"),
        ("kappa < baseline", "kappa compares the two sides already"),
        ("speed > 1", "'speed' is no metric; use one of completed_rate"),
        ("rule:draft.typo > 0", "'draft.typo' is no rule; the rules are research.claims.empty"),
        ("__import__('os') > 1", "cannot read '(' at character 11"),
    ],
)
def test_a_bad_condition_is_one_line_naming_it(text: str, why: str) -> None:
    """Every mistake is a UsageError that quotes the condition and says what is wrong."""
    with pytest.raises(UsageError) as caught:
        Condition.parse(text)
    message = str(caught.value)
    assert message.startswith(f"--fail-if {text!r}: {why}")
    assert message.endswith("; see docs/evaluate.md") and "\n" not in message


@given(
    st.floats(0, 1000, allow_nan=False), st.floats(0, 1000, allow_nan=False),
    st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
)  # fmt: skip
def test_numbers_compare_as_python_compares_them(left: float, right: float, op: str) -> None:
    """Two numbers compare exactly as the operator says, never through eval()."""
    import operator

    ops = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
           "==": operator.eq, "!=": operator.ne}  # fmt: skip
    condition = Condition.parse(f"{left!r} {op} {right!r}")
    assert condition.holds({}, {})[0] is ops[op](left, right)
