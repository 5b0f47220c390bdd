"""The ideal customer profile, and the deterministic score every LLM score is checked against."""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, final

from actors.intake import SeniorityScale
from actors.validation import RuleContext, RulePolicy
from messages import Fit, Lead, UsageError


@dataclass(frozen=True, slots=True)
class Sender:
    """Who the outreach comes from, and the links its drafts may carry."""

    company: str
    domain: str
    """The sender's web domain: drafts may link to it and its subdomains."""
    name: str
    product: str = ""
    """What the sender offers, in a few words ("a managed data platform")."""
    value_proposition: str = ""
    """One or two sentences a draft may use as its pitch; ``""``: built from ``product``."""
    signature: str = ""
    """The lines that sign a draft; ``""``: "Best regards," the name and the company."""
    link_domains: tuple[str, ...] = ()
    """Further domains a draft may link to (the draft policy), besides the sender's own
    domain and the lead's (its email's)."""

    @staticmethod
    def from_mapping(data: Mapping[str, Any]) -> Sender:
        """A ``[sender]`` table: text fields, and ``link_domains`` a list of domains."""
        known = {"company", "domain", "name", "product", "value_proposition", "signature"}
        unknown = sorted(set(data) - known - {"link_domains"})
        if unknown:
            raise KeyError(f"sender.{unknown[0]} (no such field; see {', '.join(sorted(known))})")
        links = data.get("link_domains", ())
        if isinstance(links, str) or not all(isinstance(d, str) for d in links):
            raise TypeError('sender.link_domains (a list of domains, such as ["acme.io"])')
        return Sender(
            **{k: str(v).strip() for k, v in data.items() if k in known},
            link_domains=tuple(d.strip().lower() for d in links if d.strip()),
        )


_NO_SENDER = Sender(company="", domain="", name="")
"""Stands in while a workspace's sender is put in place (``Icp.load(sender=...)``)."""


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
    def load(path: Path, *, sender: Sender | None = None) -> Icp:
        """Read a profile file; a bad file raises ``UsageError`` naming the problem.

        ``sender``, when given (a workspace's), replaces the file's ``[sender]``, which
        the file may then leave out.
        """
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
        if sender is not None:
            data = {**data, "sender": {}}
        try:
            icp = Icp.from_mapping(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(
                f"{path}: not an ICP profile (bad or missing {exc}); see examples/icp.toml"
            ) from None
        return icp if sender is None else replace(icp, sender=sender)

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
            sender=Sender.from_mapping(data["sender"]) if data["sender"] else _NO_SENDER,
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
                sender_domain=self.sender.domain,
                link_domains=self.sender.link_domains,
                sender_text=f"{self.sender.value_proposition}\n{self.sender.signature}".strip(),
                fit_high=self.fit_high,
                fit_medium=self.fit_medium,
            )
        )

    def with_policy(self, policy: RulePolicy) -> Icp:
        """This profile, validated under ``policy`` (checked against its fit bands now)."""
        changed = replace(self, policy=policy)
        changed.rules()
        return changed

    def seniority_of(self, title: str) -> str:
        """The seniority level a job title names; ``individual`` when none matches."""
        return _scale(self.seniority_keywords).level(title)

    def fit_of(self, score: int) -> Fit:
        """The fit band of a 0-100 score."""
        if score >= self.fit_high:
            return Fit.HIGH
        if score >= self.fit_medium:
            return Fit.MEDIUM
        return Fit.LOW

    def score(self, lead: Lead) -> int:
        """The lead's 0-100 fit, from its firmographics alone (``assess(lead).score``)."""
        return self.assess(lead).score

    def assess(self, lead: Lead) -> IcpScore:
        """The lead's fit over the dimensions its row gives, and which ones it lacks.

        A dimension whose field is missing (no industry, head count, country or title)
        is unknown, not a miss: it neither adds nor subtracts. The score is the points
        of the known dimensions over their weight, scaled to 0-100, and the confidence
        is the share of the weight that was known. With nothing known, the score is the
        ``medium`` threshold and the confidence 0: a person decides.
        """
        known: dict[str, float] = {}
        if lead.industry.strip():
            known["industry"] = self.industries.get(lead.industry.casefold(), 0.0)
        if (headcount := lead.headcount) is not None:
            known["employees"] = next(
                (b.fraction for b in self.employee_bands if b.minimum <= headcount <= b.maximum),
                0.0,
            )
        if lead.country.strip():
            known["country"] = self.countries.get(lead.country.upper(), 0.0)
        if lead.title.strip():
            known["seniority"] = self.seniority.get(self.seniority_of(lead.title), 0.0)
        total = sum(self.weights.get(name, 0) for name in DIMENSIONS)
        weight = sum(self.weights.get(name, 0) for name in known)
        unknown = tuple(DIMENSIONS[name] for name in DIMENSIONS if name not in known)
        if weight == 0 or total == 0:
            return IcpScore(score=self.fit_medium, unknown=unknown, confidence=0.0)
        points = sum(self.weights.get(name, 0) * fraction for name, fraction in known.items())
        score = max(0, min(100, round(points * total / weight)))
        return IcpScore(score=score, unknown=unknown, confidence=round(weight / total, 2))


DIMENSIONS = {
    "industry": "industry",
    "employees": "employees",
    "country": "country",
    "seniority": "title",
}
"""The profile's dimensions, and the lead field each one reads."""


@final
@dataclass(frozen=True, slots=True)
class IcpScore:
    """The deterministic ICP score of one lead, and what it could not see."""

    score: int
    """0-100, over the known dimensions."""
    unknown: tuple[str, ...]
    """The lead fields the score could not use because the row lacks them."""
    confidence: float
    """The share of the profile's weight that was known, 0-1."""

    @property
    def reason(self) -> str:
        """One sentence naming the unknown fields, or ``""`` when every field was known."""
        if not self.unknown:
            return ""
        return (
            f"Unknown, counted neither for nor against: {', '.join(self.unknown)} "
            f"(the score rests on {self.confidence:.0%} of the profile)."
        )


@functools.lru_cache(maxsize=64)
def _scale(keywords: tuple[tuple[str, str], ...]) -> SeniorityScale:
    """The profile's keywords as a scale, built once per profile."""
    return SeniorityScale.of_keywords(keywords)
