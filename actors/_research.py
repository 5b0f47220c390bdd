"""Research: gathers evidence about the lead's company and has an LLM summarise it."""

from __future__ import annotations

from typing import Any, Unpack, final

from pydantic import BaseModel

from actors._context import Context
from actors._evidence import EvidenceSource
from actors._prompts import research_request
from actors._stage import LlmStage, StageOptions
from actors.llm._caller import LlmCaller
from actors.llm._gateway import LlmRequest
from actors.llm._replies import ResearchReply
from actors.validation import NO_EVIDENCE
from messages import (
    Claim,
    Evidence,
    Lead,
    LeadAccepted,
    ResearchResult,
    RetryRequested,
    RuleViolation,
    Stage,
    ValidationFailed,
)

ResearchBasis = tuple[Lead, tuple[Evidence, ...]]


@final
class Research(LlmStage[LeadAccepted | ValidationFailed | RetryRequested, ResearchBasis]):
    """LeadAccepted → ResearchResult (to the validator), citing the evidence it was given.

    With no evidence there is nothing to summarise, and no retry can change that: no LLM
    call is made, and the result has no claims and a doubt that sends the lead's draft
    to the inbox.
    """

    handles = (LeadAccepted, ValidationFailed, RetryRequested)
    stage = Stage.RESEARCH

    def __init__(
        self, caller: LlmCaller, source: EvidenceSource, **options: Unpack[StageOptions]
    ) -> None:
        super().__init__(caller, **options)
        self.source = source

    async def handle(self, ctx: Context[LeadAccepted | ValidationFailed | RetryRequested]) -> None:
        match ctx.message:
            case LeadAccepted(lead=lead):
                await self.research(ctx, lead, retry=0)
            case RetryRequested(stage=Stage.RESEARCH, lead=lead, retry=retry):
                await self.research(ctx, lead, retry=retry)
            case RetryRequested():
                return
            case ValidationFailed() as failed:
                await self.retry_rejected(ctx, failed)

    async def research(self, ctx: Context[Any], lead: Lead, *, retry: int) -> None:
        """Gather the evidence, and have it summarised; with none, say so and go on."""
        evidence = await self.source.gather(lead)
        if evidence:
            await self.produce(ctx, (lead, evidence), retry=retry)
            return
        cause = self.source.why_empty(lead)
        ctx.log.warning("no_evidence", domain=lead.domain, cause=cause)
        await ctx.publish(no_evidence(lead, cause, retry=retry))

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


def no_evidence(lead: Lead, cause: str, *, retry: int = 0) -> ResearchResult:
    """The research of a lead whose company nothing is known about: no claims, and the
    doubt that brings its draft (from the lead's own row) to a person."""
    doubt = RuleViolation(
        rule=NO_EVIDENCE, reason=f'There is no evidence about "{lead.domain}": {cause}.'
    )
    return ResearchResult(
        lead=lead,
        evidence=(),
        summary=f"Nothing is known about {lead.company}: no source had evidence about it.",
        claims=(),
        retry=retry,
        doubts=(doubt,),
    )
