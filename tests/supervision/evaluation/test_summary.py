"""The closing line of an evaluation (``supervision/evaluation/_summary.py``)."""

from __future__ import annotations

from pathlib import Path

from actors.drift import Profile
from supervision.evaluation import LeadFacts, Plan, Replay, RunFacts
from supervision.evaluation._evaluate import assemble
from supervision.system import PipelineConfig


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


def test_the_closing_line_counts_the_compacted_leads_it_could_not_replay(tmp_path: Path) -> None:
    """A run compacts as its leads finish: "no differences" on the few leads left whole
    must not read as a verdict on the whole run."""
    plan = Plan(scratch=tmp_path, config_for=_never, candidate="x", settings={})
    one = RunFacts(leads={"L1": LeadFacts("L1", 1, {}, "completed", "")}, profile=Profile())
    replay = Replay(0, tmp_path, one, None, 0)
    result = assemble(kind="baseline", source="b", plan=plan, baseline=one, ids=["L1"],
                      draws=[replay], skipped={"compacted": 28})  # fmt: skip
    assert result.summary.startswith("candidate: no differences on 1 leads; ")
    assert result.summary.endswith(
        "; 28 compacted leads not replayed (a run compacts as leads finish: run the baseline "
        "with --compact-every 0 --compact-minutes 0 to keep them whole)"
    )
    empty = RunFacts(leads={}, profile=Profile())
    nothing = Replay(0, tmp_path, empty, None, 0)
    result = assemble(kind="baseline", source="b", plan=plan, baseline=empty, ids=[],
                      draws=[nothing], skipped={"compacted": 1})  # fmt: skip
    assert result.summary.startswith("nothing to compare: 1 compacted lead not replayed")


def _never(draw: int, out: Path) -> PipelineConfig:
    raise AssertionError("no replay in this test")
