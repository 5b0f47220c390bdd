"""A replay: a past run's leads, with the evidence they were researched with, through a
candidate configuration, in a scratch run directory of its own.

Nothing leaves the scratch directory: research reads the recorded evidence (no web
fetch), the CRM is a list in memory, and a new run directory has no webhook endpoints.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import final

from actors import CrmRow, EvidenceSource
from actors.intake import RawRecord
from messages import Evidence, Lead, RawValue
from supervision.evaluation._budget import Budget, BudgetedLlm
from supervision.evaluation._facts import RunFacts
from supervision.evaluation._reader import finished_records, open_journal, read_run
from supervision.system import PipelineConfig, close_backends, event_log, run_pipeline

ConfigFor = Callable[[int, Path], PipelineConfig]
"""The candidate's configuration for one draw (0, 1, ...) into a scratch directory: the
command line builds it as ``run`` builds its own, with the seed moved on by the draw."""


@final
class RecordedEvidence:
    """Research's evidence, as the baseline recorded it for each lead; ``fallback`` (the
    baseline's knowledge base) for a lead whose research left no record."""

    def __init__(
        self, recorded: Mapping[str, tuple[Evidence, ...]], fallback: EvidenceSource | None
    ) -> None:
        self.recorded = dict(recorded)
        self.fallback = fallback

    async def gather(self, lead: Lead) -> tuple[Evidence, ...]:
        found = self.recorded.get(lead.lead_id)
        if found is not None:
            return found
        return await self.fallback.gather(lead) if self.fallback is not None else ()

    def why_empty(self, lead: Lead) -> str:
        if lead.lead_id in self.recorded or self.fallback is None:
            return "the baseline recorded no evidence for this lead; evaluate as it was"
        return self.fallback.why_empty(lead)

    async def aclose(self) -> None:
        if self.fallback is not None:
            await self.fallback.aclose()


@final
class ScratchCrm:
    """A CRM that keeps its rows in memory: a replay writes no CRM anywhere."""

    def __init__(self) -> None:
        self.rows: dict[str, CrmRow] = {}

    async def upsert(self, row: CrmRow) -> None:
        self.rows[row.lead_id] = row


@final
@dataclass(frozen=True, slots=True)
class Replay:
    """One draw of the candidate over the chosen leads."""

    draw: int
    out: Path
    facts: RunFacts
    halted: str | None
    """Why it stopped before every lead had an outcome (a budget spent), if it did."""
    crm_rows: int
    """Rows the candidate would have written to the CRM (kept in memory only)."""


async def replay(
    baseline: RunFacts,
    lead_ids: Sequence[str],
    config_for: ConfigFor,
    *,
    scratch: Path,
    draw: int,
    budget: Budget,
    own_source: bool = False,
    kb_fallback: bool = False,
) -> Replay:
    """Replay ``lead_ids`` of ``baseline`` as draw number ``draw`` of the candidate.

    ``own_source``: research with the candidate's own evidence source (its ``--kb``)
    instead of the evidence the baseline recorded. ``kb_fallback``: a lead whose research
    the baseline did not record (it failed before) is researched from the candidate's
    knowledge base, as the baseline's was; otherwise it has no evidence.
    """
    out = scratch / f"candidate-{draw + 1}"
    if out.exists():
        raise FileExistsError(f"{out} exists: an evaluation writes into a new directory")
    config = config_for(draw, out)
    leads = [baseline.leads[lead_id] for lead_id in lead_ids]
    crm = ScratchCrm()
    source = config.source
    if not own_source:
        recorded = {f.lead_id: f.evidence for f in leads if f.evidence is not None}
        source = RecordedEvidence(recorded, fallback=config.source if kb_fallback else None)
    records = [RawRecord(position, _fields(f.fields)) for position, f in enumerate(leads, 1)]
    try:
        with event_log(out) as log:
            run = replace(
                config,
                gateway=BudgetedLlm(config.gateway, budget),
                source=source,
                crm=crm,
                log=log,
                # Ctrl-C stops the replay as it stops a run: what finished is compared.
                handle_signals=True,
            )
            summary = await run_pipeline(run, records, total=len(records), source="evaluation")
    finally:
        await close_backends(config.gateway, config.source)
    with open_journal(out, out) as c:
        facts = read_run(c, out, finished_records(c))
    halted = summary.halted
    if summary.interrupted is not None:
        halted = f"stopped by {signal.Signals(summary.interrupted).name}"
    return Replay(draw, out, facts, halted, len(crm.rows))


def _fields(fields: Mapping[str, RawValue]) -> dict[str, RawValue]:
    return dict(fields)
