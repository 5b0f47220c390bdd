"""Where validated research of companies is kept between leads: the key it is kept
under, the ``ResearchStore`` protocol, and a store in memory."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, final

from messages import Evidence, ResearchResult


@final
@dataclass(frozen=True, slots=True)
class ResearchKey:
    """What makes two leads' research the same: company, evidence and prompt."""

    domain: str
    digest: str
    """SHA-256 of the evidence, canonical JSON, in hex."""
    prompt: str
    """The version of the research prompt (``research@...``)."""


def evidence_digest(evidence: Sequence[Evidence]) -> str:
    """The SHA-256 of ``evidence`` (ids, sources and texts, in order), in hex."""
    items = [[e.evidence_id, e.source, e.text] for e in evidence]
    text = json.dumps(items, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResearchStore(Protocol):
    """Where validated research is kept between leads (and runs, when durable)."""

    async def find(self, key: ResearchKey, *, since: float) -> ResearchResult | None:
        """The research kept under ``key`` at ``since`` or later, if any."""
        ...

    async def keep(
        self, key: ResearchKey, research: ResearchResult, *, at: float, stale: float
    ) -> None:
        """Keep ``research`` under ``key``, stamped ``at``, replacing what was there; drop
        what was stamped before ``stale``, which will never be reused."""
        ...


@final
class MemoryResearchStore:
    """A ``ResearchStore`` in memory, for tests and for a process with no run directory."""

    def __init__(self) -> None:
        self.kept: dict[ResearchKey, tuple[ResearchResult, float]] = {}

    async def find(self, key: ResearchKey, *, since: float) -> ResearchResult | None:
        found = self.kept.get(key)
        return found[0] if found is not None and found[1] >= since else None

    async def keep(
        self, key: ResearchKey, research: ResearchResult, *, at: float, stale: float
    ) -> None:
        self.kept = {k: kept for k, kept in self.kept.items() if kept[1] >= stale}
        self.kept[key] = (research, at)
