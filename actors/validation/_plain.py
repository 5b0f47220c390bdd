"""Plain words for a rule a lead broke, as a sales person reads them ("The email still
contains the placeholder [Company]"). A violation's own reason is written for the model,
to fix its next answer; these sentences are written for the reviewer, who decides."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

from actors.validation._research import NO_EVIDENCE
from messages import RuleViolation

_QUOTED = re.compile(r'"([^"]*)"')
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _quoted(reason: str) -> str:
    """The first value a reason quotes (``show`` quotes them), or nothing."""
    found = _QUOTED.search(reason)
    return found.group(1) if found else ""


def _clause(reason: str) -> str:
    """A reason up to its advice: "The body has 120 characters, fewer than 200"."""
    return reason.split(";", 1)[0].strip().rstrip(".")


def _numbers(reason: str) -> list[str]:
    return _NUMBER.findall(reason)


def _length(reason: str) -> str:
    return _clause(reason).replace("The body", "The email", 1)


def _confidence(reason: str) -> str:
    numbers = _numbers(reason)
    if len(numbers) >= 2:
        return (
            f"The fit score is uncertain (confidence {numbers[0]}, below {numbers[1]}): "
            "check the fit before the email goes out"
        )
    return "The fit score is uncertain: check the fit before the email goes out"


def _disagreement(reason: str) -> str:
    numbers = _numbers(reason)
    if len(numbers) >= 4:
        score, _, icp, _ = numbers[:4]
        return f"The model scored the fit {score}, far from the profile's own {icp}: check the fit"
    return "The model's fit score is far from the profile's own score: check the fit"


_SENTENCES: Mapping[str, Callable[[str], str]] = MappingProxyType(
    {
        "draft.placeholder": lambda r: f"The email still contains the placeholder {_quoted(r)}",
        "draft.greeting": lambda r: "The email does not greet the contact by first name",
        "draft.company": lambda r: f"The email never names the company {_quoted(r)}",
        "draft.markup": lambda r: f"The email contains markup ({_quoted(r)}): edit it out",
        "draft.length": _length,
        "draft.subject_length": lambda r: _clause(r).replace("The subject", "The subject line"),
        "draft.unsupported_fact": lambda r: (
            f"The email states {_quoted(r)}, which nothing in the research supports"
        ),
        "draft.foreign_link": lambda r: (
            f"The email links to {_quoted(r)}, outside the lead's and your own domains: "
            "edit the link out"
        ),
        "draft.opt_out": lambda r: "The email has no opt-out line",
        "draft.injection_echo": lambda r: (
            f"The email repeats words from instructions hidden in the lead's notes "
            f"({_quoted(r)}): edit them out"
        ),
        NO_EVIDENCE: lambda r: (
            f"No evidence about {_quoted(r)}: this draft uses only the lead's row"
        ),
        "research.claims.empty": lambda r: (
            "The research found nothing usable in the sources: the draft claims nothing "
            "about the company"
        ),
        "research.summary.empty": lambda r: "The research came back without a summary",
        "research.grounding.quote_not_found": lambda r: (
            "A research claim quoted words its source does not contain: it was left out"
        ),
        "research.grounding.unknown_evidence": lambda r: (
            "A research claim cited a source that does not exist: it was left out"
        ),
        "score.confidence": _confidence,
        "score.icp_disagreement": _disagreement,
        "score.consistency": lambda r: (
            "The model's fit label disagreed with its score: the fit shown follows the score"
        ),
        "score.range": lambda r: "The model's score was out of range",
        "input.personal_email": lambda r: (
            f"The email is a personal address at {_quoted(r)}: check that it reaches this "
            "person at this company"
        ),
        "input.shared_mailbox": lambda r: (
            f"The email goes to a shared mailbox ({_quoted(r)}), not to a person"
        ),
        "input.placeholder": lambda r: (
            f"The lead's row holds a placeholder ({_quoted(r)}) where a name should be"
        ),
    }
)


def explain(violation: RuleViolation) -> str:
    """One sentence for a reviewer on why ``violation`` matters; the rule's own reason,
    cut to its first clause, for a rule without a sentence of its own."""
    sentence = _SENTENCES.get(violation.rule)
    text = sentence(violation.reason) if sentence is not None else _clause(violation.reason)
    return text.rstrip(".") + "."


def explain_all(violations: Sequence[RuleViolation]) -> list[str]:
    """A sentence per violation, the same sentence once."""
    return list(dict.fromkeys(explain(v) for v in violations))


_TOPICS: Mapping[str, str] = MappingProxyType(
    {
        "draft.placeholder": "A placeholder left in the email",
        "draft.greeting": "No greeting by first name",
        "draft.company": "The company is not named",
        "draft.markup": "Markup in the email",
        "draft.length": "The email's length",
        "draft.subject_length": "The subject line's length",
        "draft.unsupported_fact": "A fact nothing supports",
        "draft.foreign_link": "A link to another site",
        "draft.opt_out": "No opt-out line",
        "draft.injection_echo": "Words from hidden instructions",
        NO_EVIDENCE: "No evidence about the company",
        "research.claims.empty": "Nothing usable in the sources",
        "research.summary.empty": "Research without a summary",
        "research.grounding.quote_not_found": "A research claim was left out",
        "research.grounding.unknown_evidence": "A research claim was left out",
        "score.confidence": "An uncertain fit score",
        "score.icp_disagreement": "A fit score far from the profile's",
        "score.consistency": "A fit label unlike its score",
        "score.range": "A score out of range",
        "input.personal_email": "A personal email address",
        "input.shared_mailbox": "A shared mailbox, not a person",
        "input.placeholder": "A placeholder in the lead's row",
    }
)


def topic(rule: str) -> str:
    """What a rule is about, in a few words, to sort and filter items by ("A placeholder
    left in the email"); the rule's id for a rule without words of its own."""
    return _TOPICS.get(rule, rule)
