"""What the offline engine reads from ``LlmRequest.inputs``: the material of each stage's
prompt, as data, validated before the engine answers from it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from messages import Lead


class Inputs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class EvidenceInput(Inputs):
    evidence_id: str
    source: str = ""
    text: str


class ClaimInput(Inputs):
    text: str
    evidence_ids: tuple[str, ...] = ()
    quote: str


class ResearchInput(Inputs):
    summary: str = ""
    claims: tuple[ClaimInput, ...] = ()
    facts: tuple[str, ...] = ()
    """The claims' quotes, as the writing prompt gives them."""

    @property
    def quotes(self) -> tuple[str, ...]:
        return self.facts or tuple(claim.quote for claim in self.claims)


class Thresholds(Inputs):
    high: int = 70
    medium: int = 40


class SenderInput(Inputs):
    company: str
    domain: str
    name: str
    product: str = ""
    value_proposition: str = ""
    signature: str = ""


class LeadInput(Inputs):
    """The fields of a lead a stage's prompt gives (a prompt leaves out those it does not
    need, and those the row left empty)."""

    lead_id: str = "lead"
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    title: str = ""
    company: str = ""
    domain: str = ""
    industry: str = ""
    employees: int | None = None
    employees_max: int | None = None
    country: str = ""
    notes: str = ""

    def as_lead(self) -> Lead:
        return Lead(record=1, **self.model_dump())


class CompanyInput(Inputs):
    name: str = ""
    domain: str = ""


class ResearchInputs(Inputs):
    company: CompanyInput = CompanyInput()
    lead: LeadInput | None = None
    """What an older prompt sent instead of the company."""
    evidence: tuple[EvidenceInput, ...] = ()

    @property
    def company_name(self) -> str:
        name = self.company.name or (self.lead.company if self.lead is not None else "")
        return name or self.company.domain or "The company"


class ScoringInputs(Inputs):
    lead: LeadInput
    icp_score: int
    thresholds: Thresholds = Thresholds()


class WritingInputs(Inputs):
    lead: LeadInput
    research: ResearchInput
    sender: SenderInput
