"""What a rule is, how a stage groups its rules, and what running them reports."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar, final

from actors.validation._context import RuleContext
from messages import RuleViolation, Stage, UsageError

T = TypeVar("T")

Rule: TypeAlias = Callable[[T, RuleContext], list[RuleViolation]]
"""A check of one output of type ``T``: no violations means it passed."""

_RULE_ID = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+")
_IDS: dict[Callable[..., object], str] = {}


def rule(rule_id: str) -> Callable[[Callable[[T, RuleContext], Iterable[str]]], Rule[T]]:
    """Make a rule from a function that yields the reasons why an output breaks it.

    Each reason becomes a ``RuleViolation`` with ``rule_id``, so a rule's id is written
    once and ``rule_id_of`` can name the rule even when it crashes.
    """
    if not _RULE_ID.fullmatch(rule_id):
        raise UsageError(
            f"rule_id={rule_id!r} must be dotted lower-case words, such as 'draft.placeholder'"
        )

    def decorate(find_reasons: Callable[[T, RuleContext], Iterable[str]]) -> Rule[T]:
        @functools.wraps(find_reasons)
        def check_rule(output: T, ctx: RuleContext) -> list[RuleViolation]:
            return [RuleViolation(rule=rule_id, reason=r) for r in find_reasons(output, ctx)]

        _IDS[check_rule] = rule_id
        return check_rule

    return decorate


def rule_id_of(rule: Rule[Any]) -> str:
    """The id given to ``rule`` by ``@rule``, or else its qualified name."""
    try:
        return _IDS[rule]
    except (KeyError, TypeError):
        module = getattr(rule, "__module__", None) or "rule"
        return f"{module}.{getattr(rule, '__qualname__', type(rule).__qualname__)}"


@final
@dataclass(frozen=True, slots=True)
class Report:
    """The violations one output has, split by what happens next."""

    reask: tuple[RuleViolation, ...] = ()
    """Violations to feed back to the LLM, which asks again (then human review)."""
    review: tuple[RuleViolation, ...] = ()
    """Violations that send the output straight to human review."""

    @property
    def passed(self) -> bool:
        """Whether the output broke no rule at all."""
        return not self.reask and not self.review


@final
@dataclass(frozen=True, slots=True)
class RuleSet(Generic[T]):
    """The rules of one stage, declared once, in two groups by what a failure means."""

    stage: Stage
    reask: tuple[Rule[T], ...]
    """Failures are fed back to the LLM: asked again, it can fix them."""
    review: tuple[Rule[T], ...]
    """Failures go straight to human review: asking again would not help."""

    def apply(self, output: T, ctx: RuleContext) -> Report:
        """Run every rule on ``output``; a rule that raises is reported, never propagated.

        A rule that raises is a bug in the validator, not in the output. Propagating it
        would let a single odd LLM reply crash the validator, and skipping the rule would
        let an output through that was never checked. So the crash becomes a review
        violation ``<rule id>.crashed``: a human sees the output, and the violation is
        counted like any other. Only ``Exception`` is caught, so cancellation and
        ``KeyboardInterrupt`` still propagate.
        """
        reask: list[RuleViolation] = []
        review: list[RuleViolation] = []
        for rules, found in ((self.reask, reask), (self.review, review)):
            for each in rules:
                if ctx.disabled and rule_id_of(each) in ctx.disabled:
                    continue
                try:
                    found.extend(each(output, ctx))
                except Exception as exc:
                    review.append(_crashed(each, exc))
        return Report(reask=tuple(reask), review=tuple(review))


def _crashed(rule: Rule[Any], exc: Exception) -> RuleViolation:
    name = rule_id_of(rule)
    return RuleViolation(
        rule=f"{name}.crashed",
        reason=f"The validator rule {name} crashed with {type(exc).__name__} on this output, "
        "so the output is unchecked and a human must review it.",
    )
