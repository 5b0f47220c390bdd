"""Writer: drafts the first email for every lead that fits well enough, and for every lead
a person will decide on, so that they decide on a concrete email."""

from __future__ import annotations

from typing import Unpack, final

from pydantic import BaseModel

from actors.agents._icp import Icp
from actors.agents._prompts import writing_request
from actors.agents._stage import LlmStage, StageOptions
from actors.llm import DraftReply, LlmCaller, LlmRequest
from actors.runtime import Context
from messages import (
    Lead,
    LeadScore,
    OutreachDraft,
    RetryRequested,
    Stage,
    ValidationFailed,
)


@final
class Writer(LlmStage[LeadScore | ValidationFailed | RetryRequested, LeadScore]):
    """Approved LeadScore → OutreachDraft (to the validator).

    A lead that fits too poorly is not drafted, unless it carries doubts: then a person
    decides on it, and sees the email that would be sent.
    """

    handles = (LeadScore, ValidationFailed, RetryRequested)
    stage = Stage.WRITING

    def __init__(self, caller: LlmCaller, icp: Icp, **options: Unpack[StageOptions]) -> None:
        super().__init__(caller, **options)
        self.icp = icp

    async def handle(self, ctx: Context[LeadScore | ValidationFailed | RetryRequested]) -> None:
        match ctx.message:
            case LeadScore() as score:
                # A disqualified lead is the CRM's to record; there is nothing to write.
                if not score.disqualified or score.to_inbox:
                    await self.produce(ctx, score, retry=score.retry)
            case RetryRequested(stage=Stage.WRITING, start=LeadScore() as score) as again:
                await self.produce(ctx, score, retry=again.retry)
            case RetryRequested():
                return
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
