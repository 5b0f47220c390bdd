"""The knowledge base: a JSON file of companies keyed by domain, as evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import final

from messages import Evidence, Lead, UsageError


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
        if not lead.domain:
            return (
                "the lead's row names no company domain or website to look it up by; give "
                "it a domain or website column, or --sources web with a website"
            )
        known = lead.domain.casefold() in self._companies
        cause = "has an empty entry" if known else "has no entry"
        return (
            f"the knowledge base {cause} for {lead.domain}; pass --kb FILE with an entry "
            "for it, or --sources web"
        )

    async def gather(self, lead: Lead) -> tuple[Evidence, ...]:
        entry = self._companies.get(lead.domain.casefold()) if lead.domain else None
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
