"""Run metrics: validator verdicts and CRM writes, counted for the summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Unpack, final

from actors.runtime import Actor, ActorOptions, Context
from messages import CrmUpdated, LeadRejected, ValidationFailed, ValidationPassed, Verdict


@dataclass(slots=True)
class MetricsBook:
    """The counters, kept outside the actor so that they survive its restarts."""

    validations_passed: int = 0
    validation_failures: int = 0
    retry_verdicts: int = 0
    failures_by_rule: Counter[str] = field(default_factory=Counter)
    crm_writes: int = 0
    rejected: int = 0


@final
class Metrics(Actor[ValidationPassed | ValidationFailed | CrmUpdated | LeadRejected]):
    """Counts what the summary reports."""

    handles = (ValidationPassed, ValidationFailed, CrmUpdated, LeadRejected)

    def __init__(self, book: MetricsBook, **options: Unpack[ActorOptions]) -> None:
        super().__init__(**options)
        self.book = book

    async def handle(
        self, ctx: Context[ValidationPassed | ValidationFailed | CrmUpdated | LeadRejected]
    ) -> None:
        book = self.book
        match ctx.message:
            case ValidationPassed():
                book.validations_passed += 1
            case ValidationFailed(violations=violations, verdict=verdict):
                book.validation_failures += 1
                book.retry_verdicts += verdict is Verdict.RETRY
                book.failures_by_rule.update(v.rule for v in violations)
            case CrmUpdated():
                book.crm_writes += 1
            case LeadRejected():
                book.rejected += 1
