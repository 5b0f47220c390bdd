"""The validator: the only actor that sees LLM output before it is approved."""

from __future__ import annotations

from typing import Unpack, final

from actors._actor import Actor, ActorOptions
from actors._context import Context
from actors.validation import RuleContext, check
from messages import (
    STAGE_ATTEMPTS,
    FailureKind,
    HumanReviewRequested,
    LeadScore,
    OutreachDraft,
    ResearchResult,
    ValidationFailed,
    ValidationPassed,
    Verdict,
    input_of,
    stage_of,
)

Output = ResearchResult | LeadScore | OutreachDraft


@final
class Validator(Actor[Output]):
    """Checks every probabilistic output against its stage's rules.

    - All rules pass: ``ValidationPassed``, then the output again, approved, for its
      consumers.
    - A re-ask rule fails and the stage has attempts left: ``ValidationFailed`` with
      verdict ``retry``, back to the producer.
    - Otherwise (attempts spent, or a review rule such as low confidence failed):
      ``ValidationFailed`` with verdict ``review``, and ``HumanReviewRequested``.
    """

    validates = (ResearchResult, LeadScore, OutreachDraft)

    def __init__(self, rules: RuleContext, **options: Unpack[ActorOptions]) -> None:
        super().__init__(**options)
        self.rules = rules

    async def handle(self, ctx: Context[Output]) -> None:
        output = ctx.message
        attempt = ctx.envelope.attempt
        stage = stage_of(output)
        lead = output.lead
        report = check(output, self.rules)
        if report.passed:
            passed = ValidationPassed(
                stage=stage,
                lead_id=lead.lead_id,
                attempt=attempt,
                output_id=ctx.envelope.message_id,
            )
            await ctx.publish(passed, attempt=attempt)
            await ctx.publish(output, attempt=attempt, approved=True)
            return
        retry = bool(report.reask) and attempt < STAGE_ATTEMPTS
        violations = report.reask or report.review
        ctx.log.info(
            "validation_failed",
            stage=stage.value,
            attempt=attempt,
            verdict="retry" if retry else "review",
            rules=[v.rule for v in violations],
        )
        verdict = ValidationFailed(
            stage=stage,
            lead_id=lead.lead_id,
            attempt=attempt,
            violations=violations,
            verdict=Verdict.RETRY if retry else Verdict.REVIEW,
            rejected=output,
        )
        await ctx.publish(verdict, attempt=attempt)
        if retry:
            return
        failure = FailureKind.RULE_VIOLATION if report.reask else FailureKind.LOW_CONFIDENCE
        reason = "; ".join(f"[{v.rule}] {v.reason}" for v in violations)
        review = HumanReviewRequested(
            lead=lead,
            stage=stage,
            failure=failure,
            reason=reason,
            attempts=attempt,
            violations=violations,
            last_output=output,
            stage_input=input_of(output),
        )
        await ctx.publish(review, attempt=attempt)
