"""Token estimates: the rough count that budgets and limits need when no tokenizer is at hand."""

from __future__ import annotations

CHARS_PER_TOKEN = 4
"""English text averages about four characters a token in the common tokenizers."""


def estimate_tokens(text: str) -> int:
    """Estimate the tokens in ``text``: a quarter of its length, and never less than one."""
    return max(1, len(text) // CHARS_PER_TOKEN)
