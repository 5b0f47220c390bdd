"""Writer: drafts the first email for every lead that fits well enough."""

from __future__ import annotations

from typing import Unpack, final

from pydantic import BaseModel

from actors._context import Context
from actors._icp import Icp
from actors._prompts import writing_request
from actors._stage import LlmStage, StageOptions
from actors.llm._caller import LlmCaller
from actors.llm._gateway import LlmRequest
from actors.llm._replies import DraftReply
from messages import Lead, LeadScore, OutreachDraft, Stage, ValidationFailed


@final
class Writer(LlmStage[LeadScore | ValidationFailed, LeadScore]):
    """Approved LeadScore → OutreachDraft (to the validator). Low fit is not drafted."""

    handles = (LeadScore, ValidationFailed)
    stage = Stage.WRITING

    def __init__(self, caller: LlmCaller, icp: Icp, **options: Unpack[StageOptions]) -> None:
        super().__init__(caller, **options)
        self.icp = icp

    async def handle(self, ctx: Context[LeadScore | ValidationFailed]) -> None:
        match ctx.message:
            case LeadScore() as score:
                # A disqualified lead is the CRM's to record; there is nothing to write.
                if not score.disqualified:
                    await self.produce(ctx, score)
            case ValidationFailed() as failed:
                await self.retry_rejected(ctx, failed)

    def request(self, basis: LeadScore, *, attempt: int, feedback: tuple[str, ...]) -> LlmRequest:
        return writing_request(
            basis,
            self.icp,
            attempt=attempt,
            feedback=feedback,
            timeout=self.timeout,
            prompts=self.prompts,
        )

    def assemble(self, basis: LeadScore, reply: BaseModel) -> OutreachDraft:
        assert isinstance(reply, DraftReply)
        return OutreachDraft(score=basis, subject=reply.subject, body=reply.body)

    def lead_of(self, basis: LeadScore) -> Lead:
        return basis.lead

    def stage_input(self, basis: LeadScore) -> LeadScore:
        return basis

    def basis_from_rejected(self, failed: ValidationFailed) -> LeadScore:
        assert isinstance(failed.rejected, OutreachDraft)
        return failed.rejected.score
