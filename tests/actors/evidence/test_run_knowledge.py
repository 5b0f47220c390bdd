"""The run directory's knowledge base: a reviewer's facts about a company, found for
every lead of that company and for no other."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.evidence import KNOWLEDGE_FILE, KnowledgeBase, RunKnowledge, add_facts
from messages import Lead, UsageError
from tests.support.outputs import lead

pytestmark = pytest.mark.anyio


async def texts(knowledge: RunKnowledge, of: Lead) -> list[str]:
    return [item.text for item in await knowledge.gather(of)]


async def test_facts_are_kept_by_domain_and_found_for_every_lead_of_the_company(
    tmp_path: Path,
) -> None:
    path = tmp_path / KNOWLEDGE_FILE
    knowledge = RunKnowledge(path, KnowledgeBase({}))
    assert add_facts(path, lead(), ["Arclight runs 40 campuses."]) == 1
    colleague = lead(lead_id="L2", email="ana@arclight-academy.com", first_name="Ana")
    assert await texts(knowledge, colleague) == ["Arclight runs 40 campuses."]
    other = lead(lead_id="L3", email="bo@vireo.fr", domain="vireo.fr", company="Vireo")
    assert await texts(knowledge, other) == []


async def test_companies_without_a_domain_keep_their_facts_apart(tmp_path: Path) -> None:
    """Leads whose row names no domain (a personal email, a name and a company) are told
    apart by their company's name: one company's facts are never another's."""
    path = tmp_path / KNOWLEDGE_FILE
    knowledge = RunKnowledge(path, KnowledgeBase({}))
    acme = lead(email="zoe@gmail.com", domain="", company="Acme  Robotics")
    add_facts(path, acme, ["Acme builds warehouse robots."])
    same = lead(lead_id="L2", email="bo@yahoo.com", domain="", company="acme robotics")
    other = lead(lead_id="L3", email="li@gmail.com", domain="", company="Vireo Academy")
    assert await texts(knowledge, same) == ["Acme builds warehouse robots."]
    assert await texts(knowledge, other) == []


def test_the_knowledge_base_says_why_a_lead_without_a_domain_found_nothing() -> None:
    nowhere = lead(email="zoe@gmail.com", domain="")
    assert KnowledgeBase({"": {"description": "not a company"}}).why_empty(nowhere) == (
        "the lead's row names no company domain or website to look it up by; give it a "
        "domain or website column, or --sources web with a website"
    )


def test_no_facts_is_refused_naming_the_company(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no facts about Acme"):
        add_facts(tmp_path / KNOWLEDGE_FILE, lead(domain="", company="Acme"), ["  "])
