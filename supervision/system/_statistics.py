"""The live system at one moment, as the faces show it (the dashboard, ``/metrics``,
``/v1/drift``) and a run's summary counts it: frozen snapshots, never the counters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import final

from actors import CompanyResearchStatistics, MetricsBook
from actors.drift import DriftReport
from actors.llm import CallerStatistics, Spend
from supervision.system._housekeeping import HousekeepingStatistics


@final
@dataclass(frozen=True, slots=True)
class BookStatistics:
    """What the metrics actor has counted: validator verdicts, CRM writes, rejections."""

    validations_passed: int
    validation_failures: int
    retry_verdicts: int
    """Failed verdicts that sent the output back to its stage to ask again."""
    failures_by_rule: Mapping[str, int]
    crm_writes: int
    rejected: int

    @staticmethod
    def of(book: MetricsBook) -> BookStatistics:
        return BookStatistics(
            validations_passed=book.validations_passed,
            validation_failures=book.validation_failures,
            retry_verdicts=book.retry_verdicts,
            failures_by_rule=dict(book.failures_by_rule),
            crm_writes=book.crm_writes,
            rejected=book.rejected,
        )


@final
@dataclass(frozen=True, slots=True)
class SystemStatistics:
    """The system at one moment, since this process opened it."""

    settled: Mapping[str, int]
    """Leads that ended, by outcome: settled by the actors or decided by a person."""
    queued: int
    """Records submitted and unfinished that hold no admission place yet."""
    in_flight: int
    """Records admitted and unfinished."""
    unfinished: int
    caller: CallerStatistics
    """The LLM calls every stage made through the caller."""
    spend: Spend
    """What those calls used and cost, and the leads completed with them."""
    book: BookStatistics
    companies: CompanyResearchStatistics
    """Research reused per company."""
    housekeeping: HousekeepingStatistics
    halted: str | None
    """Why the system stopped admitting for good (quota, auth), if it did."""
    drifted: tuple[str, ...]
    """Columns whose distribution drifted from the baseline."""
    live_drift: DriftReport | None
    """The verdict on the last full live drift window, when there is a baseline."""
    drift_windows: int
    """Live drift windows judged."""
    window_leads: int
    """Accepted leads in the live drift window being filled."""
