"""A rule set: which validator rules run, and the thresholds they read, from a TOML file.

A team changes its rules the way it changes a model: in a file that ``run --rules`` and
``evaluate --rules`` read, so a change can be measured before it ships. The format:

    # rules.toml
    disable = ["score.icp_disagreement"]   # rule ids that do not run
    enable = []                            # with entries, only these run (and not disabled)

    [thresholds]                           # any field of RuleContext but the sender's domain
    confidence_threshold = 0.5
    icp_tolerance = 30
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, final

from actors.validation._check import RULE_SETS
from actors.validation._context import RuleContext
from actors.validation._rule import rule_id_of
from messages import UsageError

RULE_IDS: tuple[str, ...] = tuple(
    rule_id_of(each) for rules in RULE_SETS for each in (*rules.reask, *rules.review)
)
"""Every rule's id, stage by stage, in the order the validator runs them."""
THRESHOLDS: tuple[str, ...] = tuple(
    f.name
    for f in dataclasses.fields(RuleContext)
    if f.name not in ("sender_domain", "disabled", "fit_high", "fit_medium")
)
"""The settings a rule set may change; the sender's domain and the fit bands are the ICP's."""
_KEYS = frozenset({"disable", "enable", "thresholds"})


@final
@dataclass(frozen=True, slots=True)
class RulePolicy:
    """Which rules are off, and the thresholds that differ from the defaults."""

    disabled: frozenset[str] = frozenset()
    thresholds: Mapping[str, float] = field(default_factory=dict)
    source: str = ""
    """The file it was read from, for messages and reports; empty for the default."""

    @staticmethod
    def load(path: Path) -> RulePolicy:
        """Read a rule set file; a bad one raises ``UsageError`` naming the problem."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(
                f"{path}: cannot read the rule set ({exc.strerror}); pass --rules FILE"
            ) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: not a valid TOML file ({exc}); fix it") from None
        return RulePolicy.from_mapping(data, source=str(path))

    @staticmethod
    def from_mapping(data: Mapping[str, Any], *, source: str = "") -> RulePolicy:
        where = source or "the rule set"
        unknown = sorted(set(data) - _KEYS)
        if unknown:
            raise UsageError(
                f"{where}: unknown key {unknown[0]!r}; a rule set has disable, enable and "
                "[thresholds]"
            )
        disable = _rule_ids(data.get("disable", []), "disable", where)
        enable = _rule_ids(data.get("enable", []), "enable", where)
        disabled = set(disable)
        if enable:
            disabled |= set(RULE_IDS) - set(enable)
        thresholds = data.get("thresholds", {})
        if not isinstance(thresholds, Mapping):
            raise UsageError(f"{where}: [thresholds] must be a table of numbers")
        values: dict[str, float] = {}
        for name, value in thresholds.items():
            if name not in THRESHOLDS:
                raise UsageError(
                    f"{where}: unknown threshold {name!r}; pick one of {', '.join(THRESHOLDS)}"
                )
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise UsageError(f"{where}: threshold {name} = {value!r} must be a number")
            values[name] = value
        policy = RulePolicy(frozenset(disabled), values, source)
        policy.applied(RuleContext(sender_domain="example.com"))  # the ranges, checked now
        return policy

    def applied(self, base: RuleContext) -> RuleContext:
        """``base`` with this policy's thresholds and disabled rules."""
        changes: dict[str, Any] = {
            name: int(value) if isinstance(getattr(base, name), int) else float(value)
            for name, value in self.thresholds.items()
        }
        try:
            return dataclasses.replace(base, disabled=base.disabled | self.disabled, **changes)
        except UsageError as exc:
            where = self.source or "the rule set"
            raise UsageError(f"{where}: {exc}") from None

    def describe(self) -> str:
        """One line: what this policy changes, for a report."""
        parts = []
        if self.disabled:
            parts.append("disabled " + ", ".join(sorted(self.disabled)))
        if self.thresholds:
            parts.append(", ".join(f"{k}={v:g}" for k, v in sorted(self.thresholds.items())))
        return "; ".join(parts) or "the default rules"


def _rule_ids(value: object, key: str, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f'{where}: {key} must be a list of rule ids, such as ["draft.markup"]')
    ids: Iterable[str] = value
    for rule_id in ids:
        if rule_id not in RULE_IDS:
            raise UsageError(
                f"{where}: {key} names {rule_id!r}, which is no rule; the rules are "
                f"{', '.join(RULE_IDS)}"
            )
    return list(ids)
