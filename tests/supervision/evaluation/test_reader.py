"""Reading a run for an evaluation: what each lead is charged for."""

from __future__ import annotations

from supervision.evaluation._facts import Call, LeadFacts
from supervision.evaluation._reader import _settle_shared_research


def call(stage: str, tokens: int) -> Call:
    return Call(stage, "offline", 0.1, tokens, 0, None)


def lead(lead_id: str, record: int, researched: bool) -> LeadFacts:
    """A lead of one company, its own draft failing a rule when it is L1; when it
    ``researched`` the company, a failed try and research that passed too."""
    own = ("draft.placeholder",) if lead_id == "L1" else ()
    research = ("research.grounding.quote_not_found",) if researched else ()
    return LeadFacts(
        lead_id=lead_id, record=record, fields={}, outcome="completed", reason="",
        rules_failed=(*research, *own),
        checks={"research": 2, "writing": 1} if researched else {"writing": 1},
        calls=(
            *((call("research", 300), call("research", 310)) if researched else ()),
            call("scoring", 50),
        ),
    )  # fmt: skip


def settled(first_researched: bool) -> dict[str, LeadFacts]:
    """Two leads of one company, L1 submitted first; one of them won the race to research."""
    if first_researched:
        leads = {"L1": lead("L1", 1, researched=True), "L2": lead("L2", 2, researched=False)}
        by = {"L1": "L1", "L2": "L1"}
    else:
        leads = {"L1": lead("L1", 1, researched=False), "L2": lead("L2", 2, researched=True)}
        by = {"L1": "L2", "L2": "L2"}
    _settle_shared_research(leads, by, {})
    return leads


def test_a_companys_research_is_charged_to_its_first_submitted_lead_whoever_researched() -> None:
    """Which lead of a company researches is a race; what each lead is charged is not."""
    assert settled(first_researched=True) == settled(first_researched=False)
    leads = settled(first_researched=False)
    assert [c.stage for c in leads["L1"].calls] == ["research", "research", "scoring"]
    assert leads["L1"].rules_failed == ("research.grounding.quote_not_found", "draft.placeholder")
    assert leads["L1"].checks == {"writing": 1, "research": 2}
    assert leads["L2"].rules_failed == ()
    assert [c.stage for c in leads["L2"].calls] == ["scoring"]
    assert leads["L2"].checks == {"writing": 1}


def test_research_by_a_lead_left_out_of_the_sample_is_charged_to_the_first_sampled() -> None:
    """L1 researched, and only L2 and L3 are sampled: the replay of the sample researches
    the company once, so the baseline's research is charged to L2, not lost."""
    leads = {"L2": lead("L2", 2, researched=False), "L3": lead("L3", 3, researched=False)}
    unread = {"L1": lead("L1", 1, researched=True)}
    _settle_shared_research(leads, {"L2": "L1", "L3": "L1"}, unread)
    assert [c.stage for c in leads["L2"].calls] == ["research", "research", "scoring"]
    assert leads["L2"].rules_failed == ("research.grounding.quote_not_found",)
    assert leads["L2"].checks == {"writing": 1, "research": 2}
    assert [c.stage for c in leads["L3"].calls] == ["scoring"]
