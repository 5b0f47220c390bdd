"""Research once per company: validated research reused by every lead of that company.

Research is about a company, not a person: five contacts at one company need one
research call, not five. ``CompanyResearch`` keys validated research by the company's
domain, the digest of the evidence it was made from and the version of the prompt that
made it, and hands it to every later lead of that company for ``ttl`` seconds. A change
of evidence (the site changed, the knowledge base was edited) or of prompt is another
key, so it means new research.

Concurrent leads of one company wait for one call (single flight): the first lead
researches; the others wait until its research is approved by the validator (and reuse
it) or fails (and the next of them researches). A waiting lead holds its message
unacknowledged, so a crash loses nothing: the message is delivered again, finds the
research if it was kept, or researches once more.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import final

import anyio

from actors.stores import MemoryResearchStore, ResearchKey, ResearchStore, evidence_digest
from messages import Evidence, Lead, ResearchResult, UsageError

WEEK_S = 7 * 24 * 3600.0
DEFAULT_RESEARCH_TTL = WEEK_S
"""How long validated research of a company is reused: a week."""
WAIT_LIMIT_S = 300.0
"""Seconds a lead waits for another lead's research of its company at most, before it
researches itself: a bound on what an unforeseen loss of a verdict can cost."""
REMEMBERED = 1024
"""Companies whose research is also kept in memory, the most recent first."""

Now = Callable[[], float]
"""Seconds since the epoch: the time research is stamped with (``time.time``)."""


def research_key(lead: Lead, evidence: Sequence[Evidence], prompt: str) -> ResearchKey:
    return ResearchKey(lead.domain.casefold(), evidence_digest(evidence), prompt)


def reuse_for(research: ResearchResult, lead: Lead) -> ResearchResult:
    """``research`` as ``lead``'s: the same findings, naming the lead they were made for."""
    return research.model_copy(
        update={"lead": lead, "raw_reply": None, "reused_from": research.lead.lead_id, "retry": 0}
    )


@final
@dataclass(frozen=True, slots=True)
class Reused:
    """Research of the lead's company is at hand: publish it as the lead's."""

    research: ResearchResult


@final
@dataclass(frozen=True, slots=True)
class Researching:
    """This lead researches its company; the others of the company wait for it."""

    key: ResearchKey


Turn = Reused | Researching


@dataclass(eq=False, slots=True)
class _Flight:
    leader: str
    """The lead whose research call the others wait for."""
    done: anyio.Event = field(default_factory=anyio.Event)
    research: ResearchResult | None = None
    """Set, with ``done``, when the research was approved; ``None`` when it failed."""
    waiting: int = 0


@final
@dataclass(frozen=True, slots=True)
class CompanyResearchStatistics:
    """Company research at one moment."""

    researched: int
    """Research calls let through: a lead researching its company."""
    reused: int
    """Leads handed research another lead of their company made."""
    kept: int
    """Approved research kept for reuse."""
    waiting: int
    """Leads waiting now for another lead's research."""
    flights: int
    """Companies being researched now."""


@final
class CompanyResearch:
    """Single-flight, TTL-bound reuse of validated research, per company.

    ``ttl`` of 0 turns reuse off (every lead researches). ``now`` stamps research with
    the time (a test passes its own). ``wait_limit`` bounds a wait for another lead.
    """

    def __init__(
        self,
        store: ResearchStore | None = None,
        *,
        ttl: float = DEFAULT_RESEARCH_TTL,
        now: Now = time.time,
        wait_limit: float = WAIT_LIMIT_S,
    ) -> None:
        if ttl < 0:
            raise UsageError(f"ttl={ttl!r} must be >= 0 seconds (0 turns reuse off)")
        self.store: ResearchStore = store if store is not None else MemoryResearchStore()
        self.ttl = ttl
        self.now = now
        self.wait_limit = wait_limit
        self._flights: dict[ResearchKey, _Flight] = {}
        self._leading: dict[str, ResearchKey] = {}
        self._recent: OrderedDict[ResearchKey, tuple[ResearchResult, float]] = OrderedDict()
        self._released = False
        self._researched = 0
        self._reused = 0
        self._kept = 0
        self._waiting = 0

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    async def turn(self, lead: Lead, key: ResearchKey, *, may_wait: bool = True) -> Turn:
        """Reuse the company's research, or wait for the lead researching it, or research.

        ``may_wait=False`` never waits (the caller has no handler to spare): a lead of a
        company being researched then researches too.
        """
        if not self.enabled:
            self._researched += 1
            return Researching(key)
        while True:
            found = await self._find(key)
            if found is not None:
                self._reused += 1
                return Reused(found)
            flight = self._flights.get(key)
            if flight is None:
                return self._lead(lead, key)
            if flight.leader == lead.lead_id:
                # Delivered again after a crash: it takes its own flight back, and those
                # waiting for it go on waiting.
                self._researched += 1
                return Researching(key)
            if self._released or not may_wait:
                self._researched += 1
                return Researching(key)
            flight.waiting += 1
            self._waiting += 1
            try:
                with anyio.move_on_after(self.wait_limit):
                    await flight.done.wait()
            finally:
                flight.waiting -= 1
                self._waiting -= 1
            if flight.research is not None:
                self._reused += 1
                return Reused(flight.research)
            if not flight.done.is_set() and self._flights.get(key) is flight:
                self._end(key, None)  # waited too long: the next in line researches
            if self._released:
                self._researched += 1
                return Researching(key)

    @property
    def waiting(self) -> int:
        """Leads waiting now for another lead's research."""
        return self._waiting

    def _lead(self, lead: Lead, key: ResearchKey) -> Researching:
        self._flights[key] = _Flight(lead.lead_id)
        self._leading[lead.lead_id] = key
        self._researched += 1
        return Researching(key)

    async def approved(self, research: ResearchResult) -> None:
        """The validator approved ``research``: keep it, and hand it to those waiting."""
        if not self.enabled or research.reused_from is not None or not research.evidence:
            return
        if research.prompt is None:
            return
        if research.doubts:
            # Research a person must look at is not handed to the company's other leads,
            # which would all come to the inbox for it: each of them asks anew.
            self.failed(research.lead.lead_id)
            return
        key = research_key(research.lead, research.evidence, research.prompt)
        at = self.now()
        self._remember(key, research, at)
        self._end(key, research)
        self._leading.pop(research.lead.lead_id, None)
        await self.store.keep(key, research, at=at, stale=at - self.ttl)
        self._kept += 1

    def failed(self, lead_id: str) -> None:
        """``lead_id``'s research came to nothing: the next lead waiting researches."""
        key = self._leading.pop(lead_id, None)
        if key is not None and (flight := self._flights.get(key)) and flight.leader == lead_id:
            self._end(key, None)

    def release(self) -> None:
        """Stop waiting (the actor is stopping): every waiting lead researches itself,
        and so does every lead from now on, until ``hold``."""
        self._released = True
        for key in list(self._flights):
            self._end(key, None)

    def hold(self) -> None:
        """Let leads wait for one another again (an actor started after ``release``)."""
        self._released = False

    def statistics(self) -> CompanyResearchStatistics:
        return CompanyResearchStatistics(
            researched=self._researched,
            reused=self._reused,
            kept=self._kept,
            waiting=self._waiting,
            flights=len(self._flights),
        )

    def _end(self, key: ResearchKey, research: ResearchResult | None) -> None:
        flight = self._flights.pop(key, None)
        if flight is not None:
            flight.research = research
            flight.done.set()

    async def _find(self, key: ResearchKey) -> ResearchResult | None:
        if not self.enabled:
            return None
        since = self.now() - self.ttl
        recent = self._recent.get(key)
        if recent is not None and recent[1] >= since:
            return recent[0]
        found = await self.store.find(key, since=since)
        # Looked at again after the read: an approval may have come meanwhile.
        recent = self._recent.get(key)
        if found is None and recent is not None and recent[1] >= since:
            return recent[0]
        return found

    def _remember(self, key: ResearchKey, research: ResearchResult, at: float) -> None:
        self._recent[key] = (research, at)
        self._recent.move_to_end(key)
        while len(self._recent) > REMEMBERED:
            self._recent.popitem(last=False)
