"""The evidence source: where research finds what it may say about a company."""

from __future__ import annotations

from typing import Protocol

from messages import Evidence, Lead


class EvidenceSource(Protocol):
    """Returns evidence items about a lead's company; the LLM summarises only these."""

    async def gather(self, lead: Lead) -> tuple[Evidence, ...]: ...

    def why_empty(self, lead: Lead) -> str:
        """Why ``gather`` found no evidence for ``lead``: the cause, then the fix."""
        ...

    async def aclose(self) -> None:
        """Release what the source holds (a connection pool); gathering after is an error."""
        ...
