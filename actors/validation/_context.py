"""The settings every rule reads: thresholds, bounds and the sender's domain."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import final

from messages import UsageError


@final
@dataclass(frozen=True, slots=True)
class RuleContext:
    """What a rule needs to know beyond the output it checks.

    One context serves every stage, so the validator actor builds it once from settings.
    """

    sender_domain: str
    """The sender's web domain; drafts may link to it and its subdomains."""
    link_domains: tuple[str, ...] = ()
    """Further domains (and their subdomains) drafts may link to: the draft policy."""
    sender_text: str = ""
    """What the sender says of itself (value proposition, signature): a draft may repeat
    its numbers, as it may the research's."""
    confidence_threshold: float = 0.6
    """A score whose confidence is below this goes to human review, without a re-ask."""
    icp_tolerance: int = 25
    """A score further than this from the deterministic ICP score goes to human review."""
    fit_high: int = 70
    """The lowest score of the ``high`` fit band."""
    fit_medium: int = 40
    """The lowest score of the ``medium`` fit band; below it the fit is ``low``."""
    min_body_chars: int = 200
    max_body_chars: int = 1500
    max_subject_chars: int = 120
    disabled: frozenset[str] = frozenset()
    """Ids of rules that do not run (a rule set's ``disable``; see ``RulePolicy``)."""

    def __post_init__(self) -> None:
        if not math.isfinite(self.confidence_threshold) or not (
            0.0 <= self.confidence_threshold <= 1.0
        ):
            raise UsageError(
                f"confidence_threshold={self.confidence_threshold!r} must be within 0.0-1.0"
            )
        if self.icp_tolerance < 0:
            raise UsageError(f"icp_tolerance={self.icp_tolerance!r} must be >= 0")
        if not 0 <= self.fit_medium <= self.fit_high <= 100:
            raise UsageError(
                f"fit_medium={self.fit_medium!r} and fit_high={self.fit_high!r} must satisfy "
                "0 <= fit_medium <= fit_high <= 100"
            )
        if not 0 <= self.min_body_chars <= self.max_body_chars:
            raise UsageError(
                f"min_body_chars={self.min_body_chars!r} and "
                f"max_body_chars={self.max_body_chars!r} must satisfy "
                "0 <= min_body_chars <= max_body_chars"
            )
        if self.max_subject_chars < 1:
            raise UsageError(f"max_subject_chars={self.max_subject_chars!r} must be >= 1")
