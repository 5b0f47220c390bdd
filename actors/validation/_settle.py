"""What the validator keeps of research or a score whose re-asks are spent, and the doubts
that go on with it, so that a person decides on the lead's draft.

Research keeps only the claims that are grounded (each checked alone); a score keeps its
number and takes the fit of that number's band. Neither failure is a machine's to fix
by asking again, nor a reason to stop the lead: a person sees the draft and decides.
"""

from __future__ import annotations

from actors.validation._context import RuleContext
from actors.validation._research import cites_known_evidence, quotes_evidence
from actors.validation._rule import Report
from actors.validation._scoring import fit_for
from messages import Claim, LeadScore, ResearchResult, RuleViolation


def settle(
    output: ResearchResult | LeadScore, report: Report, ctx: RuleContext
) -> ResearchResult | LeadScore:
    """``output`` as it may go on, with every violation of ``report`` among its doubts."""
    doubts = output.doubts + report.reask + report.review
    match output:
        case ResearchResult():
            kept: ResearchResult | LeadScore = grounded_only(output, ctx)
        case LeadScore():
            kept = output.model_copy(update={"fit": fit_for(output.score, ctx)})
    return kept.model_copy(update={"doubts": _unique(doubts)})


def grounded_only(result: ResearchResult, ctx: RuleContext) -> ResearchResult:
    """``result`` without the claims that cite unknown evidence or misquote it, and with a
    plain summary if its own is blank."""
    kept = tuple(claim for claim in result.claims if _grounded(result, claim, ctx))
    summary = result.summary
    if not summary.strip():
        summary = f"No usable summary about {result.lead.company}."
    return result.model_copy(update={"claims": kept, "summary": summary})


def _grounded(result: ResearchResult, claim: Claim, ctx: RuleContext) -> bool:
    alone = result.model_copy(update={"claims": (claim,)})
    return not (cites_known_evidence(alone, ctx) or quotes_evidence(alone, ctx))


def _unique(doubts: tuple[RuleViolation, ...]) -> tuple[RuleViolation, ...]:
    return tuple(dict.fromkeys(doubts))
