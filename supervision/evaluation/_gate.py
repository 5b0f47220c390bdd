"""The gate: ``--fail-if`` conditions in a small expression language, read by hand.

    condition := sum OP sum              OP: < <= > >= == !=
    sum       := term (("+" | "-") term)*
    term      := NUMBER ["%"] | METRIC | "baseline" | "baseline." METRIC
    METRIC    := completed_rate | rule:draft.placeholder | kappa | cost_per_lead | ...

A metric is the candidate's figure; ``baseline.<metric>`` is the baseline's, and a bare
``baseline`` is the baseline's figure of the condition's first metric, so
``completed_rate < baseline - 0.02`` reads as it sounds. ``2%`` is 0.02. A metric the
evaluation could not measure (kappa with no lead scored, flip_rate without --repeat)
makes its condition hold: a gate never passes on a figure it does not have.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import final

from actors.validation import RULE_IDS
from messages import UsageError
from supervision.evaluation._compare import RATE_OUTCOMES

CHECKS = ("fit", "outcome", "must_mention", "must_not_mention", "never_say")
"""The expectations a golden set's line can hold, each a ``golden:<check>`` metric."""
METRICS: tuple[str, ...] = (
    *(f"{outcome}_rate" for outcome in RATE_OUTCOMES),
    "changed_rate",
    "measured_rate",
    "kappa",
    "fit_agreement",
    "cost",
    "cost_per_lead",
    "tokens_per_lead",
    "calls_per_lead",
    "latency_p50",
    "latency_p95",
    "flip_rate",
    "drifted_outputs",
    "golden_pass_rate",
    *(f"golden:{check}" for check in CHECKS),
)
"""Every metric a condition can name but ``rule:<id>``."""
COMPARATIVE = frozenset(
    {"changed_rate", "measured_rate", "kappa", "fit_agreement", "flip_rate", "drifted_outputs"}
    | {"golden_pass_rate", *(f"golden:{check}" for check in CHECKS)}
)
"""Metrics of the comparison itself, which have no baseline figure."""

_OPS: Mapping[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?%?)"
    r"|(?P<op><=|>=|==|!=|<|>|\+|-)"
    r"|(?P<name>[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*(?::[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*)?))"
)

Values = Mapping[str, float | None]


@final
@dataclass(frozen=True, slots=True)
class Term:
    """A number, or a metric of one side."""

    number: float | None = None
    metric: str | None = None
    side: str = "candidate"
    """``candidate`` or ``baseline``."""

    def text(self) -> str:
        if self.metric is None:
            return f"{self.number:g}"
        return self.metric if self.side == "candidate" else f"baseline.{self.metric}"


@final
@dataclass(frozen=True, slots=True)
class Condition:
    """One parsed ``--fail-if``: two sums of signed terms, compared."""

    text: str
    left: tuple[tuple[int, Term], ...]
    op: str
    right: tuple[tuple[int, Term], ...]

    @staticmethod
    def parse(text: str) -> Condition:
        """Read a condition; a mistake raises ``UsageError``, one line naming it."""
        tokens = _tokens(text)
        position = 0

        def sum_of() -> tuple[tuple[int, Term], ...]:
            nonlocal position
            terms: list[tuple[int, tuple[str, str]]] = []
            sign = 1
            while True:
                if position >= len(tokens):
                    raise _error(text, "expected a number or a metric at its end")
                kind, value = tokens[position]
                if kind == "op" and value in "+-" and not terms:
                    sign = -1 if value == "-" else 1
                    position += 1
                    continue
                if kind == "op":
                    raise _error(text, f"expected a number or a metric before {value!r}")
                terms.append((sign, (kind, value)))
                position += 1
                if position < len(tokens) and tokens[position] in (("op", "+"), ("op", "-")):
                    sign = -1 if tokens[position][1] == "-" else 1
                    position += 1
                    continue
                return tuple((s, _term(text, k, v)) for s, (k, v) in terms)

        left = sum_of()
        if position >= len(tokens) or tokens[position][1] not in _OPS:
            found = f"{tokens[position][1]!r}" if position < len(tokens) else "nothing"
            raise _error(text, f"expected a comparison (< <= > >= == !=), found {found}")
        op = tokens[position][1]
        position += 1
        right = sum_of()
        if position < len(tokens):
            raise _error(text, f"unexpected {tokens[position][1]!r} after the comparison")
        return Condition(text, left, op, right)._bound()

    def _bound(self) -> Condition:
        """``baseline`` alone bound to the condition's first metric."""
        subject = next(
            (t.metric for _, t in (*self.left, *self.right) if t.metric not in (None, "baseline")),
            None,
        )

        def bind(terms: tuple[tuple[int, Term], ...]) -> tuple[tuple[int, Term], ...]:
            bound = []
            for sign, term in terms:
                if term.metric == "baseline":
                    if subject is None:
                        raise _error(self.text, "'baseline' needs a metric to stand for")
                    term = Term(metric=subject, side="baseline")
                if term.side == "baseline" and term.metric in COMPARATIVE:
                    raise _error(self.text, f"{term.metric} compares the two sides already")
                bound.append((sign, term))
            return tuple(bound)

        return Condition(self.text, bind(self.left), self.op, bind(self.right))

    def holds(self, candidate: Values, baseline: Values) -> tuple[bool, str]:
        """Whether the condition holds on these figures, and the figures it compared."""
        left, left_text = _sum(self.left, candidate, baseline)
        right, right_text = _sum(self.right, candidate, baseline)
        if left is None or right is None:
            missing = left_text if left is None else right_text
            return True, f"{missing} is not measured, so the condition holds"
        return _OPS[self.op](left, right), f"{left_text} {self.op} {right_text}"


def _sum(
    terms: tuple[tuple[int, Term], ...], candidate: Values, baseline: Values
) -> tuple[float | None, str]:
    total = 0.0
    shown: list[str] = []
    for sign, term in terms:
        if term.metric is None:
            value: float | None = term.number
        else:
            value = (candidate if term.side == "candidate" else baseline).get(term.metric)
        if value is None:
            return None, term.text()
        total += sign * value
        named = f"{value:g}" if term.metric is None else f"{term.text()} {value:.4g}"
        if shown:
            shown.append(f"{'-' if sign < 0 else '+'} {named}")
        else:
            shown.append(f"-{named}" if sign < 0 else named)
    text = " ".join(shown)
    return total, (f"{total:.4g} ({text})" if len(terms) > 1 else text)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            at = len(text) - len(text[position:].lstrip())
            raise _error(text, f"cannot read {text[at]!r} at character {at + 1}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    if not tokens:
        raise _error(text, "it is empty")
    return tokens


def _term(text: str, kind: str, value: str) -> Term:
    if kind == "number":
        number = float(value.rstrip("%"))
        return Term(number=number / 100 if value.endswith("%") else number)
    side = "candidate"
    name = value
    for prefix in ("baseline.", "candidate."):
        if value.startswith(prefix):
            side, name = prefix[:-1], value.removeprefix(prefix)
    if name == "baseline" and side == "candidate" and value == "baseline":
        return Term(metric="baseline")
    if name.startswith("rule:"):
        rule = name.removeprefix("rule:")
        if rule not in RULE_IDS:
            raise _error(text, f"{rule!r} is no rule; the rules are {', '.join(RULE_IDS)}")
        return Term(metric=name, side=side)
    if name not in METRICS:
        raise _error(
            text, f"{name!r} is no metric; use one of {', '.join(METRICS)} or rule:<rule id>"
        )
    return Term(metric=name, side=side)


def _error(text: str, why: str) -> UsageError:
    return UsageError(f"--fail-if {text!r}: {why}; see docs/evaluate.md")
