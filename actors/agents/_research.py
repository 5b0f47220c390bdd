"""Research: gathers evidence about the lead's company and has an LLM summarise it."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Unpack, final

from pydantic import BaseModel

from actors.agents._company_research import CompanyResearch, Reused, research_key, reuse_for
from actors.agents._prompts import research_request
from actors.agents._stage import LlmStage, StageOptions
from actors.evidence import EvidenceSource
from actors.llm import LlmCaller, LlmRequest, ResearchReply
from actors.runtime import Context
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
    Verdict,
)

ResearchBasis = tuple[Lead, tuple[Evidence, ...]]


@final
class Research(
    LlmStage[LeadAccepted | ValidationFailed | RetryRequested | ResearchResult, ResearchBasis]
):
    """LeadAccepted → ResearchResult (to the validator), citing the evidence it was given.

    With no evidence there is nothing to summarise, and no retry can change that: no LLM
    call is made, and the result has no claims and a doubt that sends the lead's draft
    to the inbox.

    With ``companies``, research is done once per company: a lead whose company was
    researched (same evidence, within the TTL) gets that research, and leads of a company
    being researched wait for it (see ``_company_research``). Approved research comes back
    here to be kept. An Operations retry always asks again.
    """

    handles = (LeadAccepted, ValidationFailed, RetryRequested, ResearchResult)
    stage = Stage.RESEARCH

    def __init__(
        self,
        caller: LlmCaller,
        source: EvidenceSource,
        *,
        companies: CompanyResearch | None = None,
        **options: Unpack[StageOptions],
    ) -> None:
        super().__init__(caller, **options)
        self.source = source
        self.companies = companies if companies is not None else CompanyResearch(ttl=0)
        self._made: set[str] = set()
        """Leads whose research call gave an output this handling (see ``assemble``)."""

    async def handle(
        self, ctx: Context[LeadAccepted | ValidationFailed | RetryRequested | ResearchResult]
    ) -> None:
        match ctx.message:
            case LeadAccepted(lead=lead):
                await self.research(ctx, lead, retry=0)
            case RetryRequested(stage=Stage.RESEARCH, lead=lead, retry=retry):
                await self.research(ctx, lead, retry=retry)
            case RetryRequested():
                return
            case ValidationFailed() as failed:
                if failed.stage is self.stage and failed.verdict is Verdict.REVIEW:
                    self.companies.failed(failed.lead_id)
                await self._produce(ctx, failed.lead_id, self.retry_rejected(ctx, failed))
            case ResearchResult() as approved:
                await self.companies.approved(approved)

    async def research(self, ctx: Context[Any], lead: Lead, *, retry: int) -> None:
        """Gather the evidence, and have it summarised (or reuse the company's research);
        with none, say so and go on."""
        evidence = await self.source.gather(lead)
        if not evidence:
            cause = self.source.why_empty(lead)
            ctx.log.warning("no_evidence", domain=lead.domain, cause=cause)
            await ctx.publish(no_evidence(lead, cause, retry=retry))
            return
        if retry == 0 and await self._reused(ctx, lead, evidence):
            return
        await self._produce(ctx, lead.lead_id, self.produce(ctx, (lead, evidence), retry=retry))

    async def _reused(self, ctx: Context[Any], lead: Lead, evidence: tuple[Evidence, ...]) -> bool:
        """Publish the research of ``lead``'s company if there is some (or once the lead
        researching it is done); ``False`` when this lead is to research it."""
        key = research_key(lead, evidence, self.prompts.version(self.stage))
        # One handler always stays free of waiting: the verdict a wait ends on needs one.
        turn = await self.companies.turn(
            lead, key, may_wait=self.companies.waiting < self.concurrency - 1
        )
        if not isinstance(turn, Reused):
            return False
        reused = reuse_for(turn.research, lead)
        ctx.log.info("research_reused", domain=key.domain, reused_from=reused.reused_from)
        await ctx.publish(reused)
        return True

    async def _produce(self, ctx: Context[Any], lead_id: str, producing: Awaitable[None]) -> None:
        """Await ``producing``; if it published no research, a lead waiting for it goes on."""
        self._made.discard(lead_id)
        await producing
        if lead_id not in self._made:
            self.companies.failed(lead_id)
        self._made.discard(lead_id)

    async def on_start(self) -> None:
        self.companies.hold()

    def stop(self, *, drain: bool = True) -> None:
        super().stop(drain=drain)
        # A lead waiting for another's research would hold up the stop: it researches.
        self.companies.release()

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
        self._made.add(lead.lead_id)
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
        rule=NO_EVIDENCE,
        reason=f'There is no evidence about "{lead.domain or lead.company}": {cause}.',
    )
    return ResearchResult(
        lead=lead,
        evidence=(),
        summary=f"Nothing is known about {lead.company}: no source had evidence about it.",
        claims=(),
        retry=retry,
        doubts=(doubt,),
    )
