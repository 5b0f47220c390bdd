"""A rule an output broke: the validator's unit of feedback, and a reviewer's reason."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from messages._base import Message


class RuleViolation(Message):
    """One validator rule that an output broke."""

    kind: Literal["rule_violation"] = "rule_violation"
    rule: str = Field(min_length=1)
    """The rule's id, such as ``draft.placeholder``."""
    reason: str
    """What exactly is wrong, phrased so that it can be fed back to the LLM."""
