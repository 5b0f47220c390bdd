"""The ideal customer profile, and the deterministic score every LLM score is checked against."""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, final

from actors.validation import RuleContext, RulePolicy
from messages import Fit, Lead, UsageError


@dataclass(frozen=True, slots=True)
class Sender:
    """Who the outreach comes from."""

    company: str
    domain: str
    name: str
    product: str


@dataclass(frozen=True, slots=True)
class EmployeeBand:
    minimum: int
    maximum: int
    fraction: float


@final
@dataclass(frozen=True, slots=True)
class Icp:
    """An ideal customer profile, as loaded from ``icp.toml`` (see ``examples/README.md``)."""

    sender: Sender
    weights: Mapping[str, int]
    industries: Mapping[str, float]
    employee_bands: tuple[EmployeeBand, ...]
    countries: Mapping[str, float]
    seniority: Mapping[str, float]
    seniority_keywords: tuple[tuple[str, str], ...]
    """(keyword, level) pairs, longest phrases first so 'vice president' beats 'president'."""
    fit_high: int
    fit_medium: int
    policy: RulePolicy = field(default_factory=RulePolicy)
    """The rule set the validator applies (``--rules``): every rule, by default."""

    @staticmethod
    def load(path: Path) -> Icp:
        """Read a profile file; a bad file raises ``UsageError`` naming the problem."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(
                f"{path}: cannot read the ICP file ({exc.strerror}); pass --icp FILE"
            ) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(
                f"{path}: not a valid TOML file ({exc}); fix it or pass another --icp"
            ) from None
        try:
            return Icp.from_mapping(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(
                f"{path}: not an ICP profile (bad or missing {exc}); see examples/icp.toml"
            ) from None

    @staticmethod
    def from_mapping(data: Mapping[str, Any]) -> Icp:
        keywords = [
            (str(word).casefold(), str(level))
            for level, words in data["seniority_keywords"].items()
            for word in words
        ]
        # Stable sort: among phrases of equal length, the file's order still decides.
        keywords.sort(key=lambda pair: -len(pair[0].split()))
        return Icp(
            sender=Sender(**{k: str(v) for k, v in data["sender"].items()}),
            weights={k: int(v) for k, v in data["weights"].items()},
            industries={k.casefold(): float(v) for k, v in data["industries"].items()},
            employee_bands=tuple(
                EmployeeBand(int(b["min"]), int(b["max"]), float(b["fraction"]))
                for b in data["employee_bands"]
            ),
            countries={k.upper(): float(v) for k, v in data["countries"].items()},
            seniority={k: float(v) for k, v in data["seniority"].items()},
            seniority_keywords=tuple(keywords),
            fit_high=int(data["fit"]["high"]),
            fit_medium=int(data["fit"]["medium"]),
        )

    def rules(self) -> RuleContext:
        """What the validator's rules need of this profile: the sender and the fit bands,
        under its rule set."""
        return self.policy.applied(
            RuleContext(
                sender_domain=self.sender.domain, fit_high=self.fit_high, fit_medium=self.fit_medium
            )
        )

    def with_policy(self, policy: RulePolicy) -> Icp:
        """This profile, validated under ``policy`` (checked against its fit bands now)."""
        changed = replace(self, policy=policy)
        changed.rules()
        return changed

    def seniority_of(self, title: str) -> str:
        """The seniority level a job title names; ``individual`` when none matches."""
        return _seniority(self.seniority_keywords, title)

    def fit_of(self, score: int) -> Fit:
        """The fit band of a 0-100 score."""
        if score >= self.fit_high:
            return Fit.HIGH
        if score >= self.fit_medium:
            return Fit.MEDIUM
        return Fit.LOW

    def score(self, lead: Lead) -> int:
        """The lead's 0-100 fit, from its firmographics alone."""
        band = next(
            (b.fraction for b in self.employee_bands if b.minimum <= lead.employees <= b.maximum),
            0.0,
        )
        fractions = {
            "industry": self.industries.get(lead.industry.casefold(), 0.0),
            "employees": band,
            "country": self.countries.get(lead.country.upper(), 0.0),
            "seniority": self.seniority.get(self.seniority_of(lead.title), 0.0),
        }
        total = sum(self.weights.get(name, 0) * fraction for name, fraction in fractions.items())
        return max(0, min(100, round(total)))


@functools.lru_cache(maxsize=4096)
def _seniority(keywords: tuple[tuple[str, str], ...], title: str) -> str:
    """Cached: a lead's title is looked up for its prompt, its score and its check, and
    titles repeat across leads."""
    words = " ".join(re.findall(r"[\w&-]+", title.casefold()))
    for keyword, level in keywords:
        if re.search(rf"(?<![\w-]){re.escape(keyword)}(?![\w-])", words):
            return level
    return "individual"
