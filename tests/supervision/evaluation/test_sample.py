"""The sample of an evaluation (``supervision/evaluation/_sample.py``): stratified by outcome."""

from __future__ import annotations

from supervision.evaluation import stratified


def test_a_sample_keeps_every_outcome_in_proportion() -> None:
    """60/30/9/1 leads sampled to 20: 12, 6, 1 and the one failure, the same each time."""
    outcomes = {f"L{i:03}": "completed" for i in range(60)}
    outcomes |= {f"D{i:03}": "disqualified" for i in range(30)}
    outcomes |= {f"R{i:03}": "needs_review" for i in range(9)} | {"F000": "failed"}
    chosen = stratified(outcomes, 20, seed=3)
    counts = {o: sum(outcomes[c] == o for c in chosen) for o in set(outcomes.values())}
    assert len(chosen) == 20
    assert counts["failed"] == 1 and counts["needs_review"] >= 1
    assert abs(counts["completed"] - 12) <= 1 and abs(counts["disqualified"] - 6) <= 1
    assert chosen == stratified(outcomes, 20, seed=3)
    assert stratified(outcomes, None, seed=0) == list(outcomes)
