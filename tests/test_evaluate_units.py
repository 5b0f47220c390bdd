"""The pieces of an evaluation on their own: the gate's language, the statistics, the
sample, the budget and the recorded evidence."""

from __future__ import annotations

from pathlib import Path

import pytest
from _validation_fixtures import lead
from hypothesis import given
from hypothesis import strategies as st

from actors._prompts import research_request
from actors.drift import Profile
from actors.llm import LlmRequest, OfflineLlm
from messages import Evidence, QuotaExhausted, UsageError
from supervision.evaluation import (
    Budget,
    BudgetedLlm,
    Condition,
    LeadFacts,
    Plan,
    Proportion,
    RecordedEvidence,
    Replay,
    RunFacts,
    cohen_kappa,
    stratified,
    word_diff,
)
from supervision.evaluation._evaluate import assemble
from supervision.system import PipelineConfig

pytestmark = pytest.mark.anyio

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


LEAD = lead(lead_id="L1")


def request() -> LlmRequest:
    return research_request(LEAD, (), attempt=1, feedback=(), timeout=5.0)


async def test_a_spent_budget_refuses_the_next_call() -> None:
    """Two calls allowed: the third raises QuotaExhausted, which halts a run."""
    budget = Budget(max_calls=2)
    llm = BudgetedLlm(OfflineLlm(seed=0), budget)
    await llm.complete(request())
    await llm.complete(request())
    with pytest.raises(QuotaExhausted) as caught:
        await llm.complete(request())
    assert "budget of 2 calls is spent (--max-calls)" in str(caught.value)
    assert budget.calls == 2


def test_a_budget_must_allow_something() -> None:
    """Zero calls or no dollars is a UsageError naming the option."""
    with pytest.raises(UsageError, match=r"--max-calls 0 must be >= 1"):
        Budget(max_calls=0)
    with pytest.raises(UsageError, match=r"--max-cost 0 must be > 0"):
        Budget(max_cost=0)


def test_the_budgeted_gateway_names_what_it_wraps_and_nothing_more() -> None:
    """It names the offline model, and has no breaker policy, as the offline engine has none."""
    llm = BudgetedLlm(OfflineLlm(seed=0, model="offline-9"), Budget())
    assert llm.model_name == "offline-9"
    assert not hasattr(llm, "breaker_policy")


async def test_research_reads_the_recorded_evidence() -> None:
    """A recorded lead gets its evidence back; another gets the fallback's, or none."""
    item = Evidence(evidence_id="e1", source="kb:arclight.com", text="Arclight runs data.")
    lead, other = LEAD, LEAD.model_copy(update={"lead_id": "L2"})
    source = RecordedEvidence({"L1": (item,)}, fallback=None)
    assert await source.gather(lead) == (item,)
    assert await source.gather(other) == ()
    assert "recorded no evidence" in source.why_empty(other)


def test_the_closing_line_says_when_there_was_nothing_to_compare(tmp_path: Path) -> None:
    """A baseline with no finished lead, or a candidate stopped before its first, says so."""
    plan = Plan(scratch=tmp_path, config_for=_never, candidate="x", settings={})
    empty = RunFacts(leads={}, profile=Profile())
    replay = Replay(0, tmp_path, empty, None, 0)
    result = assemble(kind="baseline", source="b", plan=plan, baseline=empty, ids=[],
                      draws=[replay], skipped={})  # fmt: skip
    assert result.summary == "nothing to compare: no finished lead to replay"
    one = RunFacts(leads={"L1": LeadFacts("L1", 1, {}, "completed", "")}, profile=Profile())
    pending = RunFacts(leads={"L1": LeadFacts("L1", 1, {}, "pending", "")}, profile=Profile())
    stopped = Replay(0, tmp_path, pending, "the budget is spent", 0)
    result = assemble(kind="baseline", source="b", plan=plan, baseline=one, ids=["L1"],
                      draws=[stopped], skipped={})  # fmt: skip
    assert result.summary == "nothing measured: the candidate finished none of 1 leads"
    assert result.halted == "the budget is spent" and result.partial


def _never(draw: int, out: Path) -> PipelineConfig:
    raise AssertionError("no replay in this test")
