"""Research: gathers evidence about the lead's company and has an LLM summarise it."""

from __future__ import annotations

from typing import Unpack, final

from pydantic import BaseModel

from actors._context import Context
from actors._evidence import EvidenceSource
from actors._prompts import research_request
from actors._stage import LlmStage, StageOptions
from actors.llm._caller import LlmCaller
from actors.llm._gateway import LlmRequest
from actors.llm._replies import ResearchReply
from messages import Claim, Evidence, Lead, LeadAccepted, ResearchResult, Stage, ValidationFailed

ResearchBasis = tuple[Lead, tuple[Evidence, ...]]


@final
class Research(LlmStage[LeadAccepted | ValidationFailed, ResearchBasis]):
    """LeadAccepted → ResearchResult (to the validator), citing the evidence it was given."""

    handles = (LeadAccepted, ValidationFailed)
    stage = Stage.RESEARCH

    def __init__(
        self, caller: LlmCaller, source: EvidenceSource, **options: Unpack[StageOptions]
    ) -> None:
        super().__init__(caller, **options)
        self.source = source

    async def handle(self, ctx: Context[LeadAccepted | ValidationFailed]) -> None:
        match ctx.message:
            case LeadAccepted(lead=lead):
                evidence = await self.source.gather(lead)
                if not evidence:
                    # Research goes on (a reviewer may approve it), but says why it is empty.
                    cause = self.source.why_empty(lead)
                    ctx.log.warning("no_evidence", domain=lead.domain, cause=cause)
                await self.produce(ctx, (lead, evidence))
            case ValidationFailed() as failed:
                await self.retry_rejected(ctx, failed)

    def request(
        self, basis: ResearchBasis, *, attempt: int, feedback: tuple[str, ...]
    ) -> LlmRequest:
        lead, evidence = basis
        return research_request(
            lead,
            evidence,
            attempt=attempt,
            feedback=feedback,
            timeout=self.timeout,
            prompts=self.prompts,
        )

    def assemble(self, basis: ResearchBasis, reply: BaseModel) -> ResearchResult:
        assert isinstance(reply, ResearchReply)
        lead, evidence = basis
        claims = tuple(
            Claim(text=c.text, evidence_ids=tuple(c.evidence_ids), quote=c.quote)
            for c in reply.claims
        )
        return ResearchResult(lead=lead, evidence=evidence, summary=reply.summary, claims=claims)

    def lead_of(self, basis: ResearchBasis) -> Lead:
        return basis[0]

    def stage_input(self, basis: ResearchBasis) -> None:
        return None

    def basis_from_rejected(self, failed: ValidationFailed) -> ResearchBasis:
        assert isinstance(failed.rejected, ResearchResult)
        return failed.rejected.lead, failed.rejected.evidence
