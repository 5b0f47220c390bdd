"""The validator: the only actor that sees LLM output before it is approved."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Unpack, final

from actors.runtime import Actor, ActorOptions, Context
from actors.validation import INPUT_RULES, NO_EVIDENCE, Report, RuleContext, check, settle
from messages import (
    STAGE_ATTEMPTS,
    FailureKind,
    HumanReviewRequested,
    LeadScore,
    Message,
    OutreachDraft,
    ResearchResult,
    RuleViolation,
    ValidationFailed,
    ValidationPassed,
    Verdict,
    stage_of,
)

Output = ResearchResult | LeadScore | OutreachDraft

_UNSURE = frozenset({"score.confidence", "score.icp_disagreement"})
"""The doubts that make a lead's inbox item a question of fit (``low_confidence``)."""
_SUSPECT = frozenset(INPUT_RULES)
"""The doubts that make it a question of the lead's row (``suspect_input``)."""


@final
class Validator(Actor[Output]):
    """Checks every probabilistic output against its stage's rules.

    - All rules pass: ``ValidationPassed``, then the output again, approved, for its
      consumers; but a draft of a lead with doubts goes to the inbox instead, with the
      doubts as the reason (``HumanReviewRequested``).
    - A re-ask rule fails and the stage has attempts left: ``ValidationFailed`` with
      verdict ``retry``, back to the producer.
    - Otherwise (attempts spent, or a review rule such as low confidence failed):
      ``ValidationFailed`` with verdict ``review``, and then a draft goes to the inbox as
      it is; research and a score go on, approved with their violations as doubts
      (``validation.settle``), so that the lead is drafted and a person decides on it.
    """

    validates = (ResearchResult, LeadScore, OutreachDraft)

    @classmethod
    def bus_validators(cls, name: str) -> Mapping[type[Message], str]:
        """The bus's table of validators for a validator named ``name``: every output it
        validates, which the bus then delivers unapproved to it alone."""
        return MappingProxyType(dict.fromkeys(cls.validates, name))

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
            if isinstance(output, OutreachDraft) and output.doubts:
                await self._to_inbox(ctx, output, (), attempt)
                return
            await self._approve(ctx, output, attempt)
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
        match output:
            case OutreachDraft():
                await self._to_inbox(ctx, output, _all(report), attempt)
            case ResearchResult() | LeadScore():
                await self._approve(ctx, settle(output, report, self.rules), attempt)

    async def _approve(self, ctx: Context[Output], output: Output, attempt: int) -> None:
        passed = ValidationPassed(
            stage=stage_of(output),
            lead_id=output.lead.lead_id,
            attempt=attempt,
            output_id=ctx.envelope.message_id,
        )
        await ctx.publish(passed, attempt=attempt)
        await ctx.publish(output, attempt=attempt, approved=True)

    async def _to_inbox(
        self,
        ctx: Context[Output],
        draft: OutreachDraft,
        violations: tuple[RuleViolation, ...],
        attempt: int,
    ) -> None:
        """A person decides on ``draft``: it broke ``violations``, or its lead has doubts."""
        reasons = violations + draft.doubts
        review = HumanReviewRequested(
            lead=draft.lead,
            stage=stage_of(draft),
            failure=failure_of(violations, draft.doubts),
            reason="; ".join(f"[{v.rule}] {v.reason}" for v in reasons),
            attempts=attempt,
            violations=violations,
            last_output=draft,
            stage_input=draft.score,
        )
        await ctx.publish(review, attempt=attempt)


def failure_of(
    violations: tuple[RuleViolation, ...], doubts: tuple[RuleViolation, ...]
) -> FailureKind:
    """The row of the taxonomy an inbox item stands for: the draft's own rules first, then
    a lead without evidence, then a doubtful score."""
    if violations:
        return FailureKind.RULE_VIOLATION
    rules = {doubt.rule for doubt in doubts}
    if NO_EVIDENCE in rules:
        return FailureKind.NO_EVIDENCE
    if rules & _SUSPECT:
        return FailureKind.SUSPECT_INPUT
    if rules & _UNSURE:
        return FailureKind.LOW_CONFIDENCE
    return FailureKind.RULE_VIOLATION


def _all(report: Report) -> tuple[RuleViolation, ...]:
    return report.reask + report.review
