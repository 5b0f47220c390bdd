"""Evidence sources: where research finds what it may say about a company."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol, final

from messages import Evidence, Lead, UsageError


class EvidenceSource(Protocol):
    """Returns evidence items about a lead's company; the LLM summarises only these."""

    async def gather(self, lead: Lead) -> tuple[Evidence, ...]: ...

    def why_empty(self, lead: Lead) -> str:
        """Why ``gather`` found no evidence for ``lead``: the cause, then the fix."""
        ...

    async def aclose(self) -> None:
        """Release what the source holds (a connection pool); gathering after is an error."""
        ...


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


@final
class KnowledgeBase:
    """A JSON knowledge base of companies keyed by domain (``examples/companies.json``)."""

    def __init__(self, companies: dict[str, dict[str, object]]) -> None:
        self._companies = {domain.casefold(): entry for domain, entry in companies.items()}

    @staticmethod
    def load(path: Path) -> KnowledgeBase:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(
                f"{path}: cannot read the knowledge base ({exc.strerror}); pass --kb FILE"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(
                f"{path}: not a JSON file ({exc}); pass a JSON object keyed by domain"
            ) from None
        if not isinstance(data, dict):
            raise UsageError(
                f"{path}: not a JSON object keyed by domain; see examples/companies.json"
            )
        return KnowledgeBase(data)

    async def aclose(self) -> None:
        """Nothing to release: the knowledge base is in memory."""

    def why_empty(self, lead: Lead) -> str:
        known = lead.domain.casefold() in self._companies
        cause = "has an empty entry" if known else "has no entry"
        return (
            f"the knowledge base {cause} for {lead.domain}; pass --kb FILE with an entry "
            "for it, or --sources web"
        )

    async def gather(self, lead: Lead) -> tuple[Evidence, ...]:
        entry = self._companies.get(lead.domain.casefold())
        if entry is None:
            return ()
        source = f"kb:{lead.domain}"
        texts = [str(entry.get("description", ""))]
        facts = entry.get("facts", [])
        if isinstance(facts, list):
            texts.extend(str(fact) for fact in facts)
        return tuple(
            Evidence(evidence_id=f"e{number}", source=source, text=text)
            for number, text in enumerate(texts, start=1)
            if text.strip()
        )
