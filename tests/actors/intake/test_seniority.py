"""One seniority classifier for every reader of job titles: the ICP, drift and the offline
engine each read a title exactly as they did with a classifier of their own."""

from __future__ import annotations

import functools
import re

from hypothesis import given
from hypothesis import strategies as st

from actors import Icp
from actors.drift import title_seniority
from actors.intake import SeniorityScale
from actors.llm._offline_answers import PART_IN_A_PURCHASE
from tests.support.paths import ROOT

ICP = Icp.load(ROOT / "examples" / "icp.toml")

# The classifiers as each reader had them before they shared one: the oracles.


@functools.lru_cache(maxsize=4096)
def icp_before(keywords: tuple[tuple[str, str], ...], title: str) -> str:
    words = " ".join(re.findall(r"[\w&-]+", title.casefold()))
    for keyword, level in keywords:
        if re.search(rf"(?<![\w-]){re.escape(keyword)}(?![\w-])", words):
            return level
    return "individual"


_DRIFT = (
    (
        "c_level",
        r"chief|c[etfoimrpd]o|ciso|co-?founder|founder|(?<!vice[ -])president|owner|partner"
        r"|managing director",
    ),
    ("vp", r"[sea]?vp|vice[ -]president"),
    ("director", r"director"),
    ("head", r"head"),
    ("manager", r"manager|lead|supervisor"),
    ("senior", r"senior|sr|principal|staff"),
)
_DRIFT_LEVELS = tuple((level, re.compile(rf"\b(?:{words})\b")) for level, words in _DRIFT)


def drift_before(title: str) -> str:
    text = " ".join(re.findall(r"[a-z]+(?:-[a-z]+)*", title.lower()))
    if not text:
        return "unknown"
    for level, pattern in _DRIFT_LEVELS:
        if pattern.search(text):
            return level
    return "individual"


_SENIOR = re.compile(r"\b(chief|c[a-z]o|vp|vice president|head|director|founder|president)\b")
_INFLUENCER = re.compile(r"\b(lead|manager|principal|senior|staff)\b")


def offline_before(title: str) -> str:
    if _SENIOR.search(title.casefold()):
        return "a senior decision-maker"
    if _INFLUENCER.search(title.casefold()):
        return "likely to influence a purchase"
    return "a hands-on practitioner"


WORDS = [
    "chief",
    "Chief",
    "CEO",
    "cto",
    "CAO",
    "ciso",
    "VP",
    "svp",
    "evp",
    "vice",
    "president",
    "Vice President",
    "vice-president",
    "head",
    "Head",
    "director",
    "Managing Director",
    "managing",
    "founder",
    "Co-Founder",
    "cofounder",
    "owner",
    "partner",
    "manager",
    "lead",
    "supervisor",
    "senior",
    "Sr",
    "principal",
    "staff",
    "engineer",
    "sales",
    "of",
    "data",
    "R&D",
    "Directora",
    "Président",
    "Großhändler",
    "ſr",
    "ﬁnance",
]
"""Words of titles, and words that sit at the edges of how each reader cuts a title up."""
SEPARATORS = [" ", "  ", "-", ", ", "/", "&", "_", ".", "\n", "2", "–", "é", "ß", ""]
TITLES = st.one_of(
    st.lists(st.sampled_from(WORDS + SEPARATORS), max_size=8).map("".join),
    st.text(max_size=40),
)


@given(TITLES)
def test_the_profile_reads_a_title_as_it_did(title: str) -> None:
    """The example profile's keywords give every title the level they gave it before."""
    assert ICP.seniority_of(title) == icp_before(ICP.seniority_keywords, title)


@given(
    st.lists(
        st.tuples(st.sampled_from(WORDS).map(str.casefold), st.sampled_from(["a", "b", "c"])),
        max_size=6,
    ),
    TITLES,
)
def test_any_keywords_read_a_title_as_they_did(keywords: list[tuple[str, str]], title: str) -> None:
    """A scale of literal keywords matches them as whole words, in their order."""
    scale = SeniorityScale.of_keywords(keywords)
    assert scale.level(title) == icp_before(tuple(keywords), title)


@given(TITLES)
def test_drift_reads_a_title_as_it_did(title: str) -> None:
    """Drift's levels are those of its earlier classifier, so old profiles stay comparable."""
    assert title_seniority(title) == drift_before(title)


@given(TITLES)
def test_the_offline_engine_reads_a_title_as_it_did(title: str) -> None:
    """The offline engine's score reasons say of a title what they said before."""
    assert PART_IN_A_PURCHASE.level(title) == offline_before(title)


def test_a_title_without_words_has_the_empty_level() -> None:
    """Drift names a title of no words ``unknown``; the others give their default."""
    assert title_seniority(" - ") == "unknown"
    assert ICP.seniority_of("") == "individual"
    assert PART_IN_A_PURCHASE.level("") == "a hands-on practitioner"
