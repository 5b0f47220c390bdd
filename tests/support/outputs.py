"""Builders of valid outputs for the validator's tests: each passes every rule.

A test changes one thing and asserts that exactly one rule fires, so every builder takes
keyword overrides and validates the result against the contract.
"""

from __future__ import annotations

from typing import Any

from actors.validation import RuleContext, check
from messages import Evidence, Fit, Lead, LeadScore, OutreachDraft, ResearchResult

CTX = RuleContext(sender_domain="leadwright.example")
"""The context every test uses unless it is about the context."""

NOTES = 'Described the current stack as "a zoo of scripts", wants to consolidate.'

SUBJECT = "Arclight Academy's data stack after the Series A"

BODY = """Hi Zoë,

Congratulations on Arclight Academy's €12M Series A in 2024. With 42 universities on the \
platform and 2 data engineers joining, now is a good moment to consolidate the data stack.

Leadwright Data runs a managed data platform that replaces nightly scripts with \
incremental loads. There is a short overview at https://leadwright.example/platform.

Would a short call next week be useful?

Best,
Alex Morgan

Not interested? Just reply and I won't write again."""


def lead(**changes: Any) -> Lead:
    """A lead that intake accepted, with ``changes`` applied."""
    fields: dict[str, Any] = {
        "lead_id": "L0001",
        "record": 1,
        "first_name": "Zoë",
        "last_name": "Martin",
        "email": "zoe.martin@arclight-academy.com",
        "title": "Head of Data",
        "company": "Arclight Academy",
        "domain": "arclight-academy.com",
        "industry": "Education",
        "employees": 124,
        "country": "ES",
        "notes": NOTES,
    }
    return Lead.model_validate(fields | changes)


def evidence(evidence_id: str, text: str) -> Evidence:
    """One knowledge-base item about the fixture's company."""
    return Evidence(evidence_id=evidence_id, source="kb:arclight-academy.com", text=text)


EVIDENCE = (
    evidence(
        "e1",
        "Arclight Academy builds a learning-management system for universities. "
        "Based in Bilbao, it serves customers across Europe.",
    ),
    evidence("e2", "Raised a €12M Series A in 2024."),
    evidence("e3", "Partners with 42 universities."),
    evidence("e4", "Hiring 2 data engineers."),
)


def claim(text: str, evidence_ids: tuple[str, ...], quote: str) -> dict[str, Any]:
    """The fields of one claim, for ``research(claims=...)``."""
    return {"text": text, "evidence_ids": evidence_ids, "quote": quote}


CLAIMS = (
    claim("Arclight Academy raised a €12M Series A in 2024.", ("e2",), "Raised a €12M Series A"),
    claim("It partners with 42 universities.", ("e1", "e3"), "partners with  42 UNIVERSITIES"),
    claim("It is hiring data engineers.", ("e4",), "Hiring 2 data engineers."),
)


def research(**changes: Any) -> ResearchResult:
    """Research that passes every research rule, with ``changes`` applied."""
    fields: dict[str, Any] = {
        "lead": lead(),
        "evidence": EVIDENCE,
        "summary": "Arclight Academy builds an LMS for universities and is hiring data engineers.",
        "claims": CLAIMS,
    }
    return ResearchResult.model_validate(fields | changes)


def score(**changes: Any) -> LeadScore:
    """A score that passes every scoring rule, with ``changes`` applied."""
    fields: dict[str, Any] = {
        "research": research(),
        "icp_score": 78,
        "icp_fit": Fit.HIGH,
        "fit": Fit.HIGH,
        "score": 82,
        "confidence": 0.85,
        "reasons": ("Education is a core industry of the ICP.",),
    }
    return LeadScore.model_validate(fields | changes)


def draft(**changes: Any) -> OutreachDraft:
    """A draft that passes every writing rule, with ``changes`` applied."""
    fields: dict[str, Any] = {"score": score(), "subject": SUBJECT, "body": BODY}
    return OutreachDraft.model_validate(fields | changes)


def draft_for(the_lead: Lead, **changes: Any) -> OutreachDraft:
    """The valid draft, written for ``the_lead`` instead, with ``changes`` applied."""
    return draft(score=score(research=research(lead=the_lead)), **changes)


def fired(output: ResearchResult | LeadScore | OutreachDraft, ctx: RuleContext = CTX) -> set[str]:
    """The ids of every rule that ``output`` breaks, re-ask and review alike."""
    report = check(output, ctx)
    return {violation.rule for violation in report.reask + report.review}


def reasons(
    output: ResearchResult | LeadScore | OutreachDraft, ctx: RuleContext = CTX
) -> list[str]:
    """The reasons of every violation of ``output``, in rule order."""
    report = check(output, ctx)
    return [violation.reason for violation in report.reask + report.review]
