"""The CRM: where finished leads land, one row per lead, written idempotently."""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, Unpack, final

import stamina

from actors._crm_query import CrmPage, CrmQuery, search
from actors.runtime import Actor, ActorOptions, CircuitBreaker, Context
from bus import SqliteFile
from messages import (
    POLICIES,
    CrmUpdated,
    DraftSummary,
    FailureKind,
    Fit,
    LeadOutcome,
    LeadScore,
    Outcome,
    OutreachDraft,
    ReviewApproved,
    ScoreSummary,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
    lead_id TEXT PRIMARY KEY,
    record INTEGER NOT NULL,
    email TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    company TEXT NOT NULL,
    domain TEXT NOT NULL,
    outcome TEXT NOT NULL,
    fit TEXT NOT NULL,
    score INTEGER NOT NULL,
    icp_score INTEGER NOT NULL,
    confidence REAL NOT NULL,
    draft_subject TEXT,
    draft_body TEXT,
    updated_at TEXT NOT NULL
);
"""

_DOWNSTREAM = POLICIES[FailureKind.DOWNSTREAM_UNAVAILABLE]


class CrmUnavailable(Exception):
    """The CRM could not take a write just now; retrying later may succeed."""


@dataclass(frozen=True, slots=True)
class CrmRow:
    lead_id: str
    record: int
    email: str
    first_name: str
    last_name: str
    company: str
    domain: str
    outcome: Outcome
    fit: Fit
    score: int
    icp_score: int
    confidence: float
    draft_subject: str | None
    draft_body: str | None

    @staticmethod
    def of(score: LeadScore, draft: OutreachDraft | None) -> CrmRow:
        lead = score.lead
        return CrmRow(
            lead_id=lead.lead_id,
            record=lead.record,
            email=lead.email,
            first_name=lead.first_name,
            last_name=lead.last_name,
            company=lead.company,
            domain=lead.domain,
            outcome=Outcome.COMPLETED if draft is not None else Outcome.DISQUALIFIED,
            fit=score.fit,
            score=score.score,
            icp_score=score.icp_score,
            confidence=score.confidence,
            draft_subject=draft.subject if draft is not None else None,
            draft_body=draft.body if draft is not None else None,
        )


class CrmStore(Protocol):
    """Where CRM rows go. ``upsert`` must be idempotent; it raises ``CrmUnavailable``."""

    async def upsert(self, row: CrmRow) -> None: ...


@final
class SqliteCrm:
    """The CRM as ``crm.sqlite``, table ``contacts`` keyed by ``lead_id``."""

    def __init__(self, path: Path) -> None:
        self.db = SqliteFile(path, _SCHEMA)

    async def upsert(self, row: CrmRow) -> None:
        values = (
            row.lead_id, row.record, row.email, row.first_name, row.last_name, row.company,
            row.domain, row.outcome.value, row.fit.value, row.score, row.icp_score, row.confidence,
            row.draft_subject, row.draft_body, datetime.now(UTC).isoformat(),
        )  # fmt: skip
        await self.db.run(
            lambda c: c.execute(
                "INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(lead_id) DO UPDATE SET record=excluded.record, email=excluded.email, "
                "first_name=excluded.first_name, last_name=excluded.last_name, "
                "company=excluded.company, domain=excluded.domain, outcome=excluded.outcome, "
                "fit=excluded.fit, score=excluded.score, icp_score=excluded.icp_score, "
                "confidence=excluded.confidence, draft_subject=excluded.draft_subject, "
                "draft_body=excluded.draft_body, updated_at=excluded.updated_at",
                values,
            )
        )

    def rows(self) -> list[dict[str, Any]]:
        def read(c: Any) -> list[dict[str, Any]]:
            cursor = c.execute("SELECT * FROM contacts ORDER BY record")
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

        return self.db.run_sync(read)

    def search(self, query: CrmQuery) -> CrmPage:
        """One page of rows: filtered, searched and sorted as ``query`` says."""
        return self.db.run_sync(lambda c: search(c, query))

    def row(self, lead_id: str) -> dict[str, Any] | None:
        """One lead's row, if the CRM has it."""

        def read(c: Any) -> dict[str, Any] | None:
            cursor = c.execute("SELECT * FROM contacts WHERE lead_id = ?", (lead_id,))
            names = [d[0] for d in cursor.description]
            found = cursor.fetchone()
            return None if found is None else dict(zip(names, found, strict=True))

        return self.db.run_sync(read)

    def leads(self) -> dict[int, str]:
        """The lead id of every row, by record number."""
        rows = self.db.run_sync(
            lambda c: c.execute("SELECT record, lead_id FROM contacts").fetchall()
        )
        return {int(record): str(lead_id) for record, lead_id in rows}

    def remove(self, records: Collection[int]) -> None:
        """Delete the rows of ``records``, in one transaction."""
        self.db.run_sync(
            lambda c: c.executemany(
                "DELETE FROM contacts WHERE record = ?", [(record,) for record in records]
            )
        )

    def close(self) -> None:
        self.db.close()


@final
class FlakyCrm:
    """A CRM that fails a seeded share of writes, to rehearse outages (``--crm-fault-rate``)."""

    def __init__(self, inner: CrmStore, *, rate: float, seed: int = 0) -> None:
        self.inner = inner
        self.rate = rate
        self._rng = random.Random(seed)
        self.failures = 0

    async def upsert(self, row: CrmRow) -> None:
        if self._rng.random() < self.rate:
            self.failures += 1
            raise CrmUnavailable(f"CRM write of {row.lead_id} failed (injected outage)")
        await self.inner.upsert(row)


@final
class Crm(Actor[LeadScore | OutreachDraft | ReviewApproved]):
    """Writes approved drafts (``completed``), low-fit scores (``disqualified``), and what
    a person approved in the inbox (either, as its ``send`` says).

    A low-fit score with doubts is not written: its lead is drafted, and a person decides.
    A failed write is retried with backoff until it succeeds: the lead is never
    dropped, and the upsert makes a repeated write harmless.
    """

    handles = (LeadScore, OutreachDraft, ReviewApproved)

    def __init__(
        self,
        store: CrmStore,
        *,
        breaker: CircuitBreaker | None = None,
        **options: Unpack[ActorOptions],
    ) -> None:
        super().__init__(**options)
        self.store = store
        # Shared by every handler and every incarnation: it describes the CRM, not us.
        self.breaker = breaker if breaker is not None else CircuitBreaker()

    async def _write(self, row: CrmRow) -> None:
        await self.breaker.ready()
        try:
            await self.store.upsert(row)
        except CrmUnavailable:
            self.breaker.failed()
            raise
        self.breaker.succeeded()

    async def handle(self, ctx: Context[LeadScore | OutreachDraft | ReviewApproved]) -> None:
        draft: OutreachDraft | None = None
        match ctx.message:
            case LeadScore() as score:
                if not score.disqualified or score.to_inbox:
                    return
            case OutreachDraft() as written:
                score, draft = written.score, written
            case ReviewApproved(draft=approved, send=send):
                score, draft = approved.score, (approved if send else None)
        row = CrmRow.of(score, draft)
        # Stamina's retry context only once a write has failed: a write that succeeds at
        # once, nearly all of them, pays nothing for the retries it did not need.
        try:
            await self._write(row)
        except CrmUnavailable:
            async for attempt in stamina.retry_context(
                on=CrmUnavailable,
                attempts=None,
                timeout=None,
                wait_initial=_DOWNSTREAM.backoff_initial,
                wait_max=_DOWNSTREAM.backoff_max,
            ):
                with attempt:
                    await self._write(row)
        await ctx.publish(
            CrmUpdated(lead_id=row.lead_id, outcome=row.outcome, fit=row.fit, score=row.score)
        )
        reason = f"fit {row.fit.value}, score {row.score}"
        await ctx.publish(
            LeadOutcome(
                record=row.record,
                lead_id=row.lead_id,
                outcome=row.outcome,
                reason=reason,
                score=ScoreSummary.of(score),
                draft=None if draft is None else DraftSummary.of(draft, approved=True),
            )
        )
