"""Scoring: the deterministic ICP score, and an LLM's judgement of fit beside it."""

from __future__ import annotations

from typing import Unpack, final

from pydantic import BaseModel

from actors.agents._icp import Icp
from actors.agents._prompts import scoring_request
from actors.agents._stage import LlmStage, StageOptions
from actors.llm import LlmCaller, LlmRequest, ScoreReply
from actors.runtime import Context
from messages import (
    Fit,
    Lead,
    LeadScore,
    ResearchResult,
    RetryRequested,
    Stage,
    ValidationFailed,
)


@final
class Scoring(LlmStage[ResearchResult | ValidationFailed | RetryRequested, ResearchResult]):
    """Approved ResearchResult → LeadScore (to the validator)."""

    handles = (ResearchResult, ValidationFailed, RetryRequested)
    stage = Stage.SCORING

    def __init__(self, caller: LlmCaller, icp: Icp, **options: Unpack[StageOptions]) -> None:
        super().__init__(caller, **options)
        self.icp = icp

    async def handle(
        self, ctx: Context[ResearchResult | ValidationFailed | RetryRequested]
    ) -> None:
        match ctx.message:
            case ResearchResult() as research:
                await self.produce(ctx, research, retry=research.retry)
            case RetryRequested(stage=Stage.SCORING, start=ResearchResult() as research) as again:
                await self.produce(ctx, research, retry=again.retry)
            case RetryRequested():
                return
            case ValidationFailed() as failed:
                await self.retry_rejected(ctx, failed)

    def request(
        self, basis: ResearchResult, *, attempt: int, feedback: tuple[str, ...]
    ) -> LlmRequest:
        return scoring_request(
            basis,
            self.icp,
            attempt=attempt,
            feedback=feedback,
            timeout=self.timeout,
            prompts=self.prompts,
        )

    def assemble(self, basis: ResearchResult, reply: BaseModel) -> LeadScore:
        """The score as the model gave it, except where the lead's row lacks fields: then
        the confidence is scaled by ``0.5 + 0.5 * share known`` and a reason names them."""
        assert isinstance(reply, ScoreReply)
        icp = self.icp.assess(basis.lead)
        reasons = tuple(reply.reasons)
        confidence = reply.confidence
        if icp.unknown:
            reasons = (*reasons, icp.reason)
            confidence = round(confidence * (0.5 + 0.5 * icp.confidence), 2)
        return LeadScore(
            research=basis,
            icp_score=icp.score,
            icp_fit=self.icp.fit_of(icp.score),
            fit=Fit(reply.fit),
            score=reply.score,
            confidence=confidence,
            reasons=reasons,
        )

    def lead_of(self, basis: ResearchResult) -> Lead:
        return basis.lead

    def stage_input(self, basis: ResearchResult) -> ResearchResult:
        return basis

    def basis_from_rejected(self, failed: ValidationFailed) -> ResearchResult:
        assert isinstance(failed.rejected, LeadScore)
        return failed.rejected.research
