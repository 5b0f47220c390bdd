"""The benchmark's workload: seeded synthetic leads, and the per-lead work of the baselines.

``synthetic_records`` makes N valid leads spread over the companies of
``examples/companies.json``, so research always finds evidence. The baselines (the
naive loop and the hand-written anyio pipeline) run the same three LLM steps as
Leadwright's stages: the same prompts (``actors.agents._prompts``), the same offline engine,
the replies parsed with the reply types of ``actors.llm``, but no validator, no CRM and
no journal.
"""

from __future__ import annotations

import json
import random
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import final

from actors import Icp, KnowledgeBase, LlmGateway
from actors.agents import research_request, scoring_request, writing_request
from actors.intake import RawRecord, check_record, lead_id_for
from actors.llm import DraftReply, ResearchReply, ScoreReply
from messages import Claim, Fit, Lead, LeadScore, OutreachDraft, RawValue, ResearchResult

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"
TIMEOUT = 30.0
"""Seconds per LLM call, as Leadwright's default."""

_FIRST_NAMES = (
    "Emily", "Priya", "Benoît", "Zoë", "Kwame", "Mei", "Lars", "Sofía", "Aiko", "Omar",
    "Ingrid", "Mateo", "Chloé", "Tomasz", "Amara", "Jonas", "Ayşe", "Diego", "Hannah", "Ravi",
    "Nadia", "Liam", "Yuki", "Fatima", "Erik", "Lucía", "Oliver", "Anouk", "Sven", "Grace",
)  # fmt: skip
_LAST_NAMES = (
    "Bennett", "Sharma", "Girard", "O'Brien", "Mensah", "Chen", "Andersson", "García",
    "Tanaka", "Haddad", "Larsen", "Rossi", "Dubois", "Nowak", "Okafor", "Müller", "Yılmaz",
    "Fernández", "Schmidt", "Iyer", "Kowalski", "Murphy", "Sato", "Rahman", "Lindqvist",
    "Moreno", "Walsh", "de Vries", "Berg", "Kim",
)  # fmt: skip
_TITLES = (
    "Chief Data Officer", "CTO", "VP of Engineering", "Vice President, Analytics",
    "Director of Data Platform", "Senior Director, Data Engineering", "Head of Analytics",
    "Head of BI", "Data Engineering Manager", "Analytics Lead", "Senior Analytics Engineer",
    "Principal Data Engineer", "Staff Software Engineer", "Data Analyst", "Data Scientist",
    "Co-founder", "Operations Manager", "Software Engineer",
)  # fmt: skip
_INDUSTRIES = (
    "Software", "Fintech", "Retail", "Logistics", "Healthcare", "Manufacturing", "Energy",
    "Media", "Education", "Government",
)  # fmt: skip
_COUNTRIES = ("US", "GB", "CA", "NL", "DE", "SE", "IE", "DK", "FR", "ES", "CH", "PL", "BR")
_SIZES = ((5, 49), (50, 199), (200, 999), (1_000, 4_999), (5_000, 19_999), (20_000, 90_000))
_NOTES = (
    "",
    "",
    "",
    "Met at a data conference; asked about pricing.",
    "Prefers email over calls, timezone matters.",
    "Downloaded the migration whitepaper.",
    "Referred by an existing customer.",
)


def synthetic_records(
    count: int, *, seed: int, companies: Path = EXAMPLES / "companies.json"
) -> list[RawRecord]:
    """``count`` valid, distinct leads at the knowledge base's companies, from ``seed``."""
    known: dict[str, dict[str, object]] = json.loads(companies.read_text(encoding="utf-8"))
    rng = random.Random(seed)
    firms = []
    for domain in sorted(known):
        low, high = rng.choice(_SIZES)
        name = str(known[domain].get("name") or domain.partition(".")[0].title())
        firms.append((domain, name, rng.choice(_INDUSTRIES), rng.randint(low, high)))
    records = []
    for record in range(1, count + 1):
        domain, company, industry, employees = firms[(record - 1) % len(firms)]
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        local = f"{_ascii(first)}.{_ascii(last)}.{record}"
        fields: dict[str, RawValue] = {
            "id": f"B{record:07d}",
            "first_name": first,
            "last_name": last,
            "email": f"{local}@{domain}",
            "title": rng.choice(_TITLES),
            "company": company,
            "domain": domain,
            "industry": industry,
            "employees": str(max(1, employees + rng.randint(-employees // 10, employees // 10))),
            "country": rng.choice(_COUNTRIES),
            "notes": rng.choice(_NOTES),
        }
        records.append(RawRecord(record=record, fields=fields))
    return records


def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def lead_of(raw: RawRecord) -> Lead:
    """Intake for the baselines: the record checked and made a ``Lead``."""
    checked = check_record(raw.fields)
    if isinstance(checked, list):
        raise ValueError(f"record {raw.record} is invalid: {'; '.join(checked)}")
    return Lead(lead_id=lead_id_for(raw.fields), record=raw.record, **checked)


@final
@dataclass(frozen=True, slots=True)
class Steps:
    """The three LLM steps of one lead, without validation: what the baselines run."""

    llm: LlmGateway
    icp: Icp
    source: KnowledgeBase

    async def research(self, lead: Lead) -> ResearchResult:
        evidence = await self.source.gather(lead)
        request = research_request(lead, evidence, attempt=1, feedback=(), timeout=TIMEOUT)
        reply = ResearchReply.model_validate_json((await self.llm.complete(request)).text)
        claims = tuple(
            Claim(text=c.text, evidence_ids=tuple(c.evidence_ids), quote=c.quote)
            for c in reply.claims
        )
        return ResearchResult(lead=lead, evidence=evidence, summary=reply.summary, claims=claims)

    async def score(self, research: ResearchResult) -> LeadScore:
        request = scoring_request(research, self.icp, attempt=1, feedback=(), timeout=TIMEOUT)
        reply = ScoreReply.model_validate_json((await self.llm.complete(request)).text)
        icp_score = self.icp.score(research.lead)
        return LeadScore(
            research=research,
            icp_score=icp_score,
            icp_fit=self.icp.fit_of(icp_score),
            fit=Fit(reply.fit),
            score=reply.score,
            confidence=reply.confidence,
            reasons=tuple(reply.reasons),
        )

    async def write(self, score: LeadScore) -> OutreachDraft:
        request = writing_request(score, self.icp, attempt=1, feedback=(), timeout=TIMEOUT)
        reply = DraftReply.model_validate_json((await self.llm.complete(request)).text)
        return OutreachDraft(score=score, subject=reply.subject, body=reply.body)
