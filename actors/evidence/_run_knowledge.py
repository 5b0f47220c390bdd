"""The run directory's own knowledge base: facts about companies that reviewers added
(pasted from a page they read), found before any other source's evidence.

It is a JSON object keyed by domain, as ``--kb`` files are, and each entry may name the
page its facts came from. It is read again whenever it changed, so that a running
service sees what a reviewer just added.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, final

from actors.evidence._source import EvidenceSource
from messages import Evidence, Lead, UsageError

KNOWLEDGE_FILE = "knowledge.json"


@final
class RunKnowledge:
    """Evidence about companies from ``knowledge.json`` in a run directory, then from
    ``fallback`` (the configured source); what ``fallback`` says when both are empty."""

    def __init__(self, path: Path, fallback: EvidenceSource) -> None:
        self.path = path
        self.fallback = fallback
        self._seen: tuple[int, int] | None = None
        self._entries: dict[str, dict[str, Any]] = {}

    async def gather(self, lead: Lead) -> tuple[Evidence, ...]:
        found = await self.fallback.gather(lead)
        entry = self._read().get(knowledge_key(lead))
        if entry is None:
            return found
        source = str(entry.get("url") or f"reviewer:{lead.domain or lead.company}")
        facts = [str(fact) for fact in entry.get("facts", []) if str(fact).strip()]
        added = tuple(
            Evidence(evidence_id=f"r{number}", source=source, text=text)
            for number, text in enumerate(facts, start=1)
        )
        return found + added

    def why_empty(self, lead: Lead) -> str:
        return self.fallback.why_empty(lead)

    async def aclose(self) -> None:
        await self.fallback.aclose()

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return {}
        seen = (stat.st_mtime_ns, stat.st_size)
        if seen != self._seen:
            self._entries = read_knowledge(self.path)
            self._seen = seen
        return self._entries


def knowledge_key(lead: Lead) -> str:
    """Where facts about ``lead``'s company are kept: its domain, folded; for a lead whose
    row names no domain (a personal email, a name and a company), its company's name, so
    that facts about one such company are never another's."""
    if lead.domain:
        return lead.domain.casefold()
    if lead.company.strip():
        return "company:" + " ".join(lead.company.casefold().split())
    return f"lead:{lead.lead_id}"


def read_knowledge(path: Path) -> dict[str, dict[str, Any]]:
    """The entries of a run's knowledge base, by folded domain; none if it is unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k).casefold(): v for k, v in data.items() if isinstance(v, dict)}


def add_facts(path: Path, lead: Lead, facts: Sequence[str], url: str = "") -> int:
    """Add a reviewer's facts about ``lead``'s company (and the page they came from) to the
    knowledge base at ``path``; returns how many facts the company has now."""
    kept = [" ".join(fact.split()) for fact in facts if fact.strip()]
    if not kept:
        raise UsageError(
            f"no facts about {lead.domain or lead.company}: paste at least one sentence"
        )
    url = url.strip()
    if url and not url.startswith(("https://", "http://")):
        raise UsageError(f"url {url!r} is not a web address; give one starting with https://")
    entries = read_knowledge(path)
    key = knowledge_key(lead)
    entry = entries.get(key, {"name": lead.company, "facts": []})
    known = [str(fact) for fact in entry.get("facts", [])]
    entry["facts"] = known + [fact for fact in kept if fact not in known]
    if url:
        entry["url"] = url
    entries[key] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(entries, indent=2, ensure_ascii=False) + "\n", "utf-8")
    temporary.replace(path)
    return len(entry["facts"])
