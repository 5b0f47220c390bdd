"""Research rules: the result makes claims, and every claim is grounded in its evidence."""

from __future__ import annotations

from collections.abc import Iterator

from actors.validation._context import RuleContext
from actors.validation._rule import rule
from actors.validation._text import fold, show
from messages import ResearchResult

NO_EVIDENCE = "research.no_evidence"
"""The doubt of research whose sources found nothing about the company: it is no rule an
output can break, but a reason a person decides on the lead's draft."""


@rule("research.claims.empty")
def has_claims(result: ResearchResult, ctx: RuleContext) -> Iterator[str]:
    """Research that was shown evidence makes at least one claim.

    With no evidence there is nothing to claim: such research has none, and carries the
    ``research.no_evidence`` doubt instead (research makes no LLM call for it).
    """
    if result.evidence and not result.claims:
        yield (
            "The research has no claims; make at least one claim that cites the evidence "
            "and quotes it verbatim."
        )


@rule("research.summary.empty")
def has_summary(result: ResearchResult, ctx: RuleContext) -> Iterator[str]:
    """The research has a summary that is not blank."""
    if not result.summary.strip():
        yield "The research summary is blank; summarise what the evidence says about the company."


@rule("research.grounding.unknown_evidence")
def cites_known_evidence(result: ResearchResult, ctx: RuleContext) -> Iterator[str]:
    """Every claim cites only evidence ids that the result's evidence contains."""
    known = [item.evidence_id for item in result.evidence]
    shown = (", ".join(known[:10]) + (", ..." if len(known) > 10 else "")) if known else "none"
    for number, claim in enumerate(result.claims, start=1):
        for evidence_id in dict.fromkeys(claim.evidence_ids):
            if evidence_id not in known:
                yield (
                    f"Claim {number} cites evidence {show(evidence_id)}, which is not among "
                    f"the evidence shown ({shown}); cite only those ids."
                )


@rule("research.grounding.quote_not_found")
def quotes_evidence(result: ResearchResult, ctx: RuleContext) -> Iterator[str]:
    """Every claim's quote appears, folded, in at least one evidence item it cites.

    Quotes and evidence are compared after NFC, straightening curly quotes, collapsing
    whitespace and casefolding, so only the words must be verbatim. Cited ids that do not
    exist are left to ``research.grounding.unknown_evidence``.
    """
    texts = {item.evidence_id: fold(item.text) for item in result.evidence}
    for number, claim in enumerate(result.claims, start=1):
        cited = [i for i in dict.fromkeys(claim.evidence_ids) if i in texts]
        quote = fold(claim.quote)
        if not quote:
            yield f"Claim {number} has a blank quote; quote its evidence verbatim."
        elif cited and not any(quote in texts[i] for i in cited):
            where = (
                f"evidence {cited[0]} does not contain it"
                if len(cited) == 1
                else f"none of evidence {', '.join(cited)} contains it"
            )
            yield (
                f"Claim {number} quotes {show(claim.quote)} but {where}; "
                "quote the evidence verbatim."
            )
