"""Title seniority: a small keyword classifier for job titles."""

from __future__ import annotations

import re
from typing import Literal

Seniority = Literal[
    "c_level", "vp", "director", "head", "manager", "senior", "individual", "unknown"
]

_KEYWORDS: tuple[tuple[Seniority, str], ...] = (
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
"""Most senior first: the first level whose words appear in a title is its level."""

_LEVELS = tuple((level, re.compile(rf"\b(?:{words})\b")) for level, words in _KEYWORDS)


def title_seniority(title: str) -> Seniority:
    """The most senior level any word of ``title`` names; ``unknown`` for an empty title.

    Seniority wins over function: "Senior Director" is ``director``, and "VP, Head of
    Data" is ``vp``. A title that names no level is ``individual``.
    """
    text = " ".join(re.findall(r"[a-z]+(?:-[a-z]+)*", title.lower()))
    if not text:
        return "unknown"
    for level, pattern in _LEVELS:
        if pattern.search(text):
            return level
    return "individual"
