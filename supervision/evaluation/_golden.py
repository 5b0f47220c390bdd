"""Golden sets: leads with what a person expects of them, as JSON lines.

    {"lead": {"id": "L0001", "first_name": "Zoë", ..., "domain": "arclight.com"},
     "evidence": ["Arclight runs 42 universities' data."],
     "expect": {"fit": "high", "outcome": "completed", "must_mention": ["Arclight"],
                "must_not_mention": ["Series B"], "never_say": ["guarantee"]}}

``lead`` holds a lead's fields as a leads file would (``id``, ``first_name``, ...);
``evidence`` (optional) is what research may read about the company, otherwise the
candidate's knowledge base is; ``expect`` may hold any of its keys. Blank lines and
lines starting with ``#`` are skipped. The candidate runs each lead once and each
expectation is checked: the fit band, the outcome, phrases the draft (subject or body)
must mention, must not mention, and must never say, all case-insensitively.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from actors.drift import Profile
from actors.intake import lead_id_for
from messages import Evidence, Fit, Outcome, RawValue, UsageError
from supervision.evaluation._compare import side
from supervision.evaluation._evaluate import Plan, assemble, draws_of
from supervision.evaluation._facts import LeadFacts, RunFacts
from supervision.evaluation._gate import CHECKS
from supervision.evaluation._result import Check, Evaluation, Expectation, LeadResult


@final
class GoldenLead(BaseModel):
    """One line of a golden set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lead: dict[str, RawValue]
    evidence: tuple[str, ...] | None = None
    expect: Expectation = Field(default_factory=Expectation)


def load_golden(path: Path) -> list[GoldenLead]:
    """The golden set in ``path``; a bad line raises ``UsageError`` naming it."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the golden set ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text; a golden set is JSON lines") from None
    leads: list[GoldenLead] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            golden = GoldenLead.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}:{number}: not JSON ({exc.msg})") from None
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "the line"
            raise UsageError(f"{path}:{number}: {where}: {error['msg']}") from None
        _check_values(path, number, golden.expect)
        lead_id = lead_id_for(golden.lead)
        if lead_id in seen:
            raise UsageError(f"{path}:{number}: lead {lead_id} is in the golden set twice")
        seen.add(lead_id)
        leads.append(golden)
    if not leads:
        raise UsageError(f"{path}: no leads; a golden set has one JSON object per line")
    return leads


def _check_values(path: Path, number: int, expect: Expectation) -> None:
    fits = [f.value for f in Fit]
    if expect.fit is not None and expect.fit not in fits:
        raise UsageError(f"{path}:{number}: expect.fit {expect.fit!r} is not one of {fits}")
    outcomes = [o.value for o in Outcome]
    if expect.outcome is not None and expect.outcome not in outcomes:
        raise UsageError(
            f"{path}:{number}: expect.outcome {expect.outcome!r} is not one of {outcomes}"
        )


async def evaluate_golden(path: Path, plan: Plan, golden: Sequence[GoldenLead]) -> Evaluation:
    """Run ``golden`` (read from ``path``) through the candidate, and check each
    expectation."""
    leads: dict[str, LeadFacts] = {}
    expected: dict[str, Expectation] = {}
    for number, line in enumerate(golden, 1):
        lead_id = lead_id_for(line.lead)
        leads[lead_id] = LeadFacts(
            lead_id=lead_id,
            record=number,
            fields=line.lead,
            outcome=line.expect.outcome or "",
            reason="expected",
            fit=line.expect.fit,
            evidence=_evidence(line, lead_id),
        )
        expected[lead_id] = line.expect
    baseline = RunFacts(leads=leads, profile=Profile())
    ids = list(leads)
    draws = await draws_of(baseline, ids, plan)
    first = draws[0].facts
    results = []
    for lead_id in ids:
        got = first.leads.get(lead_id)
        measured = got is not None and got.outcome != "pending"
        results.append(_result(leads[lead_id], expected[lead_id], got if measured else None))
    checks = [c for r in results if r.candidate is not None for c in r.checks]
    scored = [r for r in results if r.candidate is not None]
    values: dict[str, float | None] = {
        "golden_pass_rate": (
            sum(all(c.passed for c in r.checks) for r in scored) / len(scored) if scored else None
        ),
    }
    for name in CHECKS:
        mine = [c.passed for c in checks if c.name == name]
        values[f"golden:{name}"] = sum(mine) / len(mine) if mine else None
    return assemble(
        kind="golden",
        source=str(path),
        plan=plan,
        baseline=baseline,
        ids=ids,
        draws=draws,
        skipped={},
        results=results,
        golden=values,
    )


def _evidence(line: GoldenLead, lead_id: str) -> tuple[Evidence, ...] | None:
    if line.evidence is None:
        return None
    source = f"golden:{line.lead.get('domain') or lead_id}"
    return tuple(
        Evidence(evidence_id=f"e{n}", source=source, text=text)
        for n, text in enumerate(line.evidence, 1)
    )


def _result(facts: LeadFacts, expect: Expectation, got: LeadFacts | None) -> LeadResult:
    fields = facts.fields
    name = " ".join(str(fields.get(k) or "") for k in ("first_name", "last_name")).strip()
    return LeadResult(
        lead_id=facts.lead_id,
        name=name,
        company=str(fields.get("company") or ""),
        baseline=None,
        candidate=side(got) if got is not None else None,
        expected=expect,
        checks=checks_of(expect, got) if got is not None else (),
    )


def checks_of(expect: Expectation, got: LeadFacts) -> tuple[Check, ...]:
    """Each of ``expect``'s expectations, met by ``got`` or not."""
    checks: list[Check] = []
    if expect.fit is not None:
        checks.append(
            Check(
                name="fit",
                passed=got.fit == expect.fit,
                detail=f"expected {expect.fit}, got {got.fit or 'no score'}",
            )
        )
    if expect.outcome is not None:
        checks.append(
            Check(
                name="outcome",
                passed=got.outcome == expect.outcome,
                detail=f"expected {expect.outcome}, got {got.outcome}",
            )
        )
    text = f"{got.subject or ''}\n{got.body or ''}".casefold()
    drafted = got.body is not None
    if expect.must_mention:
        missing = [p for p in expect.must_mention if p.casefold() not in text]
        detail = (
            "no draft"
            if not drafted
            else ("mentions every one" if not missing else f"does not mention {_quoted(missing)}")
        )
        checks.append(Check(name="must_mention", passed=drafted and not missing, detail=detail))
    avoided: tuple[tuple[Literal["must_not_mention", "never_say"], tuple[str, ...]], ...] = (
        ("must_not_mention", expect.must_not_mention),
        ("never_say", expect.never_say),
    )
    for name, phrases in avoided:
        if phrases:
            found = [p for p in phrases if p.casefold() in text]
            detail = f"says {_quoted(found)}" if found else "says none of them"
            checks.append(Check(name=name, passed=not found, detail=detail))
    return tuple(checks)


def _quoted(phrases: Sequence[str]) -> str:
    return ", ".join(f'"{p}"' for p in phrases)
