"""How rules compare texts, and how they quote a value in a reason."""

from __future__ import annotations

import re
import unicodedata

_STRAIGHT_QUOTES = (("‘", "'"), ("’", "'"), ("“", '"'), ("”", '"'))
_WORD = re.compile(r"\w+")


def nfc(text: str) -> str:
    """``text`` in Unicode NFC, so composed and decomposed letters are the same."""
    return unicodedata.normalize("NFC", text)


def plain(text: str) -> str:
    """``text`` in NFC, with straight quotes and its whitespace collapsed to single spaces."""
    text = nfc(text)
    # str.replace per quote, not str.translate with a mapping, which is ~20 times slower.
    for curly, straight in _STRAIGHT_QUOTES:
        text = text.replace(curly, straight)
    return " ".join(text.split())


def fold(text: str) -> str:
    """``text`` as rules compare it: ``plain`` and casefolded."""
    return plain(text).casefold()


def words(text: str) -> list[str]:
    """The words of ``text``, folded: runs of letters, digits and underscores."""
    return _WORD.findall(fold(text))


def ngrams(tokens: list[str], n: int) -> dict[tuple[str, ...], int]:
    """Every run of ``n`` consecutive tokens, with the position where it first starts."""
    runs: dict[tuple[str, ...], int] = {}
    for start in range(len(tokens) - n + 1):
        runs.setdefault(tuple(tokens[start : start + n]), start)
    return runs


def contains_run(tokens: list[str], run: list[str]) -> bool:
    """Whether ``run`` occurs in ``tokens`` as consecutive tokens."""
    if not run:
        return False
    return tuple(run) in ngrams(tokens, len(run))


def show(value: str, limit: int = 60) -> str:
    """``value`` in double quotes for a reason: on one line, and cut short when long."""
    flat = " ".join(value.split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return f'"{flat}"'


def ends_word(text: str, end: int) -> bool:
    """Whether no letter, digit or combining mark continues ``text`` at ``end``."""
    if end >= len(text):
        return True
    following = text[end]
    return not (
        following.isalnum() or following == "_" or unicodedata.category(following)[0] == "M"
    )
