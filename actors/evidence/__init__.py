"""Evidence sources: where research finds what it may say about a company.

The ``EvidenceSource`` protocol, the knowledge base (``--kb``), the run directory's own
knowledge base of facts reviewers added, the web source (a company's site, read through
a guard against server-side request forgery) and ``FirstFound``, which asks several in
order. The guard (``refusal``) also checks the addresses webhooks are sent to.
"""

from actors.evidence._first_found import FirstFound
from actors.evidence._knowledge_base import KnowledgeBase
from actors.evidence._run_knowledge import KNOWLEDGE_FILE, RunKnowledge, add_facts
from actors.evidence._source import EvidenceSource
from actors.evidence._web_guard import (
    METADATA,
    IpAddress,
    Resolver,
    StaticResolver,
    SystemResolver,
    refusal,
)
from actors.evidence._web_source import DEFAULT_TTL, WebSource, WebSourceStatistics

__all__ = [
    "DEFAULT_TTL",
    "KNOWLEDGE_FILE",
    "METADATA",
    "EvidenceSource",
    "FirstFound",
    "IpAddress",
    "KnowledgeBase",
    "Resolver",
    "RunKnowledge",
    "StaticResolver",
    "SystemResolver",
    "WebSource",
    "WebSourceStatistics",
    "add_facts",
    "refusal",
]
