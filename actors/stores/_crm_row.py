"""A CRM row: what the CRM holds of one finished lead."""

from __future__ import annotations

from dataclasses import dataclass

from messages import Fit, LeadScore, Outcome, OutreachDraft


@dataclass(frozen=True, slots=True)
class CrmRow:
    lead_id: str
    record: int
    email: str
    first_name: str
    last_name: str
    company: str
    domain: str
    outcome: Outcome
    fit: Fit
    score: int
    icp_score: int
    confidence: float
    draft_subject: str | None
    draft_body: str | None

    @staticmethod
    def of(score: LeadScore, draft: OutreachDraft | None) -> CrmRow:
        lead = score.lead
        return CrmRow(
            lead_id=lead.lead_id,
            record=lead.record,
            email=lead.email,
            first_name=lead.first_name,
            last_name=lead.last_name,
            company=lead.company,
            domain=lead.domain,
            outcome=Outcome.COMPLETED if draft is not None else Outcome.DISQUALIFIED,
            fit=score.fit,
            score=score.score,
            icp_score=score.icp_score,
            confidence=score.confidence,
            draft_subject=draft.subject if draft is not None else None,
            draft_body=draft.body if draft is not None else None,
        )
