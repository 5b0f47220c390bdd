"""The statistics of an evaluation (``supervision/evaluation/_stats.py``): Wilson
intervals, Cohen's kappa and the word diff of two drafts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervision.evaluation import Proportion, cohen_kappa, word_diff


def test_wilson_intervals_match_the_textbook() -> None:
    """3 of 100 gives Wilson's [1.03%, 8.45%]; none of none spans everything."""
    p = Proportion.of(3, 100)
    assert (p.rate, round(p.low, 4), round(p.high, 4)) == (0.03, 0.0103, 0.0845)
    assert Proportion.of(0, 0) == Proportion(0, 0, 0.0, 1.0)


def test_cohen_kappa_matches_a_worked_example() -> None:
    """Kappa is 1 for full agreement and (0.7 - 0.5) / 0.5 = 0.4 for this table."""
    labels = ("yes", "no")
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10
    pairs += [("no", "no")] * 15
    assert cohen_kappa(pairs, labels) == pytest.approx(0.4)
    assert cohen_kappa([("yes", "yes"), ("no", "no")], labels) == 1.0
    assert cohen_kappa([], labels) is None


@given(st.text(max_size=80), st.text(max_size=80))
def test_a_word_diff_gives_back_both_texts(before: str, after: str) -> None:
    """Kept and deleted runs are the first text; kept and inserted runs the second."""
    runs = word_diff(before, after)
    assert "".join(t for op, t in runs if op != "insert") == before
    assert "".join(t for op, t in runs if op != "delete") == after


def test_a_word_diff_marks_the_changed_words() -> None:
    """One word replaced is one deletion and one insertion, the rest kept."""
    assert word_diff("Hi Zoë, a call?", "Hi [Name], a call?") == [
        ("equal", "Hi "), ("delete", "Zoë,"), ("insert", "[Name],"), ("equal", " a call?"),
    ]  # fmt: skip
