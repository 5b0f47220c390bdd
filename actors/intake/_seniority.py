"""Seniority from a job title: the one classifier every reader of titles uses.

A ``SeniorityScale`` lists levels, most senior (or most specific) first, each with a
pattern over a title's words; a title's level is the first whose pattern it holds. The
vocabularies differ by reader, and live with them: the ICP's comes from its profile
(``[seniority_keywords]``), drift's is fixed so that profiles stay comparable across runs,
and the offline engine's names a contact's part in a purchase.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import final

WORDS = r"[\w&-]+"
"""A word of a title, by default: letters, digits, ``&`` and ``-`` (``R&D``, ``Co-Founder``)."""


@final
@dataclass(frozen=True, slots=True)
class SeniorityScale:
    """Levels of seniority, each with a regular expression over a title's words.

    A title is read as its words (``words``, a pattern, over the title folded by
    ``fold``) joined by single spaces; its level is the first of ``levels`` whose pattern
    occurs in that text, ``default`` when none does, and ``empty`` (``default`` when
    ``None``) for a title with no words at all.
    """

    levels: tuple[tuple[str, str], ...]
    """``(level, pattern)`` pairs, in the order they are tried."""
    default: str = "individual"
    empty: str | None = None
    words: str = WORDS
    fold: Callable[[str], str] = str.casefold
    _compiled: tuple[tuple[str, re.Pattern[str]], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        compiled = tuple((level, re.compile(pattern)) for level, pattern in self.levels)
        object.__setattr__(self, "_compiled", compiled)

    @staticmethod
    def of_keywords(
        keywords: Sequence[tuple[str, str]], default: str = "individual"
    ) -> SeniorityScale:
        """A scale of literal ``(keyword, level)`` pairs, in order, each matched as whole
        words: not inside a longer word, nor beside a hyphen ("co-founder" is no "founder")."""
        return SeniorityScale(
            levels=tuple(
                (level, rf"(?<![\w-]){re.escape(keyword)}(?![\w-])") for keyword, level in keywords
            ),
            default=default,
        )

    def level(self, title: str) -> str:
        """The level ``title`` names (cached: titles repeat across leads, and one lead's
        title is read for its prompt, its score and its check)."""
        return _level(self, title)


@functools.lru_cache(maxsize=4096)
def _level(scale: SeniorityScale, title: str) -> str:
    text = " ".join(re.findall(scale.words, scale.fold(title)))
    if not text:
        return scale.default if scale.empty is None else scale.empty
    for level, pattern in scale._compiled:
        if pattern.search(text):
            return level
    return scale.default
