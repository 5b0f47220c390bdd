"""Several evidence sources asked in order, the first with evidence answering."""

from __future__ import annotations

from typing import final

from actors.evidence._source import EvidenceSource
from messages import Evidence, Lead, UsageError


@final
class FirstFound:
    """Sources asked in order: the first with evidence about the lead's company answers.

    ``kb,web`` is ``FirstFound(knowledge_base, web)``: a company the knowledge base
    describes costs no fetch; the web is read only for the others.
    """

    def __init__(self, *sources: EvidenceSource) -> None:
        if not sources:
            raise UsageError("FirstFound needs at least one source; pass kb, web or both.")
        self.sources = sources

    async def gather(self, lead: Lead) -> tuple[Evidence, ...]:
        for source in self.sources:
            evidence = await source.gather(lead)
            if evidence:
                return evidence
        return ()

    def why_empty(self, lead: Lead) -> str:
        return "; and ".join(source.why_empty(lead) for source in self.sources)

    async def aclose(self) -> None:
        for source in self.sources:
            await source.aclose()
