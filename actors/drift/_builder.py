"""The profile builder: turns the pipeline's messages into the columns of a run's profile."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import final

from actors.drift._profile import MAX_ROWS, Profile
from actors.drift._seniority import title_seniority
from messages import Lead, LeadScore, OutreachDraft

OPTIONAL_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "title",
    "company",
    "industry",
    "employees",
    "country",
    "notes",
)
"""The lead fields that intake lets through empty; ``missing_fields`` counts them."""

INPUT_COLUMNS = (
    "industry",
    "country",
    "employees",
    "title_seniority",
    "notes_length",
    "missing_fields",
)
OUTPUT_COLUMNS = (
    "fit",
    "score",
    "confidence",
    "draft_length",
    "validation_failed",
    "retried",
    "latency_s",
)


@final
class ProfileBuilder:
    """Builds one run's profile from leads, approved outputs and verdicts.

    The monitor keeps its state here, not in itself: the composer creates the builder
    once and hands the same one to every incarnation of the monitor, so the profile
    survives a restart (as ``MetricsBook`` does for ``Metrics``).

    Input columns: ``industry``, ``country`` and ``title_seniority`` (categorical),
    ``employees`` (log10 of the headcount, when known; a range's ``Lead.headcount``),
    ``notes_length`` and ``missing_fields``.
    Output columns: ``fit``, ``score`` and ``confidence`` of approved scores,
    ``draft_length`` of approved drafts, ``validation_failed`` ("pass"/"fail" per
    verdict), ``retried`` ("yes" when an approved output took more than one attempt) and
    ``latency_s``, from a lead's acceptance to its last approved output: the draft, or
    the score when the score disqualifies the lead.
    """

    def __init__(
        self,
        *,
        seniority: Callable[[str], str] = title_seniority,
        max_rows: int = MAX_ROWS,
        seed: int = 0,
        max_pending: int = 10_000,
        window: int = 0,
    ) -> None:
        self.profile = Profile(max_rows=max_rows, seed=seed)
        self.seniority = seniority
        self.max_pending = max_pending
        self.window = window
        """Leads per live window (0: no window): a long-lived system has no end of run, so
        its drift is judged on windows of this many accepted leads, one after another."""
        self.current: Profile | None = Profile(max_rows=max_rows, seed=seed) if window else None
        self.window_leads = 0
        self._accepted_at: dict[str, datetime] = {}

    @property
    def window_full(self) -> bool:
        return self.current is not None and self.window_leads >= self.window

    def next_window(self) -> Profile:
        """The window just filled; profiling goes on in a new, empty one."""
        assert self.current is not None
        full = self.current
        self.current = Profile(max_rows=full.max_rows, seed=full.seed)
        self.window_leads = 0
        return full

    def _profiles(self) -> tuple[Profile, ...]:
        return (self.profile,) if self.current is None else (self.profile, self.current)

    def add_lead(self, lead: Lead, *, at: datetime | None = None) -> None:
        """Profile an accepted lead; ``at`` (its acceptance) starts its latency clock."""
        seniority = self.seniority(lead.title)
        missing = sum(not str(getattr(lead, name) or "").strip() for name in OPTIONAL_FIELDS)
        headcount = lead.headcount
        for profile in self._profiles():
            profile.add_category("industry", lead.industry.strip().lower(), role="input")
            profile.add_category("country", lead.country, role="input")
            if headcount is not None:  # unknown is no size: the column compares known ones
                profile.add_numeric("employees", math.log10(headcount), role="input")
            profile.add_category("title_seniority", seniority, role="input")
            profile.add_numeric("notes_length", len(lead.notes), role="input")
            profile.add_numeric("missing_fields", missing, role="input")
        self.window_leads += 1
        if at is not None:
            if len(self._accepted_at) >= self.max_pending:
                # Leads that never finish (reviewed, dead-lettered) must not pile up.
                del self._accepted_at[next(iter(self._accepted_at))]
            self._accepted_at[lead.lead_id] = at

    def add_score(self, score: LeadScore, *, attempt: int = 1, at: datetime | None = None) -> None:
        """Profile an approved score; a disqualifying one ends the lead's latency."""
        for profile in self._profiles():
            profile.add_category("fit", score.fit.value, role="output")
            profile.add_numeric("score", score.score, role="output")
            profile.add_numeric("confidence", score.confidence, role="output")
        self._add_retried(attempt)
        if score.disqualified:
            self._add_latency(score.lead.lead_id, at)

    def add_draft(
        self, draft: OutreachDraft, *, attempt: int = 1, at: datetime | None = None
    ) -> None:
        """Profile an approved draft, which ends the lead's latency."""
        for profile in self._profiles():
            profile.add_numeric("draft_length", len(draft.body), role="output")
        self._add_retried(attempt)
        self._add_latency(draft.lead.lead_id, at)

    def add_verdict(self, *, passed: bool) -> None:
        """Profile one validator verdict."""
        for profile in self._profiles():
            profile.add_category("validation_failed", "pass" if passed else "fail", role="output")

    def _add_retried(self, attempt: int) -> None:
        for profile in self._profiles():
            profile.add_category("retried", "yes" if attempt > 1 else "no", role="output")

    def _add_latency(self, lead_id: str, at: datetime | None) -> None:
        accepted = self._accepted_at.pop(lead_id, None)
        if accepted is not None and at is not None:
            latency = max((at - accepted).total_seconds(), 0.0)
            for profile in self._profiles():
                profile.add_numeric("latency_s", latency, role="output")
