"""Title seniority for drift: a fixed scale, so that profiles stay comparable across runs."""

from __future__ import annotations

from typing import Literal, cast

from actors.intake import SeniorityScale

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

_SCALE = SeniorityScale(
    levels=tuple((level, rf"\b(?:{words})\b") for level, words in _KEYWORDS),
    empty="unknown",
    words=r"[a-z]+(?:-[a-z]+)*",
    fold=str.lower,
)


def title_seniority(title: str) -> Seniority:
    """The most senior level any word of ``title`` names; ``unknown`` for an empty title.

    Seniority wins over function: "Senior Director" is ``director``, and "VP, Head of
    Data" is ``vp``. A title that names no level is ``individual``.
    """
    return cast(Seniority, _SCALE.level(title))
