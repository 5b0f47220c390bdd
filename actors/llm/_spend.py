"""What LLM calls used and cost: by stage, in all, and per completed lead.

One owner for the figures the summary, ``report --cost``, ``/metrics`` and the dashboard
show, and for the sentence that says why there is no cost: "offline: no cost" for the
offline engine, "no price for model X" for a model missing from the price table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, final

from actors.llm._caller_statistics import Usage

OFFLINE_NO_COST = "offline: no cost"
"""Why the offline engine's calls have no cost."""
OFFLINE = OFFLINE_NO_COST
"""The earlier name of ``OFFLINE_NO_COST``, kept importable from ``actors.llm``."""


@final
@dataclass(frozen=True, slots=True)
class Spend:
    """``usage`` by stage and model, and the leads completed with it."""

    usage: Mapping[tuple[str, str], Usage] = field(default_factory=dict)
    completed: int = 0

    def by_stage(self) -> dict[str, Usage]:
        stages: dict[str, Usage] = {}
        for (stage, _), used in sorted(self.usage.items()):
            stages.setdefault(stage, Usage()).add(used)
        return stages

    @property
    def total(self) -> Usage:
        total = Usage()
        for used in self.usage.values():
            total.add(used)
        return total

    @property
    def unpriced_models(self) -> list[str]:
        return sorted({model for (_, model), used in self.usage.items() if used.unpriced})

    @property
    def priced(self) -> bool:
        """Whether any call had a price: then ``cost_usd`` is a sum worth showing."""
        total = self.total
        return total.calls > total.free + total.unpriced

    @property
    def cost_usd(self) -> float | None:
        """The cost of the priced calls; ``None`` when no call had a price."""
        return self.total.cost_usd if self.priced else None

    def cost_by_stage(self) -> dict[str, float]:
        return (
            {stage: used.cost_usd for stage, used in self.by_stage().items()} if self.priced else {}
        )

    def per_completed_lead(self, value: float) -> float | None:
        return value / self.completed if self.completed else None

    def note(self) -> str:
        """One line on the cost: the sum and per completed lead, or why there is none."""
        total = self.total
        if total.calls == 0:
            return "no LLM calls"
        unpriced = self.unpriced_models
        missing = ""
        if unpriced:
            names = ", ".join(unpriced)
            missing = f"no price for model {names} (give one with --prices FILE)"
        if not self.priced:
            return missing or OFFLINE_NO_COST
        line = f"${total.cost_usd:,.4f}"
        each = self.per_completed_lead(total.cost_usd)
        if each is not None:
            line += f" (${each:,.4f} per completed lead)"
        return f"{line}; {missing}" if missing else line

    def to_json(self) -> dict[str, Any]:
        """The figures as the summary's ``--json`` and ``report --cost --json`` print them."""
        total = self.total
        per_lead = self.per_completed_lead
        return {
            "calls": total.calls,
            "tokens": total.prompt_tokens + total.completion_tokens,
            "prompt_tokens": total.prompt_tokens,
            "cached_tokens": total.cached_tokens,
            "completion_tokens": total.completion_tokens,
            "cost_usd": _round(self.cost_usd),
            "completed": self.completed,
            "tokens_per_completed_lead": _round(
                per_lead(total.prompt_tokens + total.completion_tokens), 1
            ),
            "calls_per_completed_lead": _round(per_lead(total.calls), 3),
            "cost_usd_per_completed_lead": _round(
                per_lead(total.cost_usd) if self.priced else None
            ),
            "by_stage": {
                stage: {
                    "calls": used.calls,
                    "tokens": used.prompt_tokens + used.completion_tokens,
                    "cached_tokens": used.cached_tokens,
                    "cost_usd": _round(used.cost_usd) if self.priced else None,
                }
                for stage, used in self.by_stage().items()
            },
            "note": self.note(),
        }


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)
