"""Cards: one inbox item or one Operations item as a person reads it, in plain text.

A card says first why the item is here in plain words, then what the decision is about
(the lead, its evidence, the score, the draft), then the rule ids and details, then its
history. ``--json`` gives the same item as data instead.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import datetime

from actors import DeadLetterItem, ReviewItem, approval_effect, decision_words
from actors.validation import explain
from messages import Lead, LeadScore, OutreachDraft, ResearchResult, RuleViolation

INDENT = "  "
WIDTH = 94
"""Characters a wrapped line of a card holds, besides its indent."""
Audit = Sequence[tuple[str, str, str, str]]
"""``(at, action, note, reviewer)`` for each action on an item, oldest first."""


def review_card(item: ReviewItem, audit: Audit, trail: Sequence[str] = ()) -> str:
    """An inbox item: why it is here, the lead, evidence and claims, the score and why,
    the draft, the rules and doubts with their ids, and who decided what."""
    request = item.request
    lead = request.lead
    lines = [
        f"Review item {item.id} ({item.status}) · record {item.record} · lead {item.lead_id}",
        "",
        f"Why it is here: {item.why}",
    ]
    draft = item.draft
    lines += ["", "Lead", *_lead(lead)]
    if draft is not None:
        lines += ["", "Evidence and claims", *_research(draft.score.research)]
        lines += ["", "Score", *_score(draft.score)]
        lines += ["", f"Draft to {lead.email} (version 1, as the model wrote it)", *_draft(draft)]
        lines += ["", "If approved", INDENT + approval_effect(draft)]
    elif request.last_output is not None:
        lines += ["", f"Last output ({request.stage.value}); this item has no draft"]
        lines.append(INDENT + request.last_output.model_dump_json(exclude={"raw_reply"}))
    reasons = request.violations + (draft.doubts if draft is not None else ())
    if reasons:
        lines += ["", "Rules and doubts", *_reasons(reasons)]
    lines += ["", "History", *_history(item, audit)]
    if trail:
        lines += ["", "Trace (from the journal)", *(INDENT + line for line in trail)]
    return "\n".join(lines)


def _lead(lead: Lead) -> list[str]:
    name = " ".join(part for part in (lead.first_name, lead.last_name) if part)
    role = f"{lead.title} at " if lead.title else ""
    size = f"{lead.employees_text} employees" if lead.employees is not None else ""
    facts = [lead.industry, size, lead.country]
    lines = [
        f"{INDENT}{name} <{lead.email}>, {role}{lead.company}"
        + (f" ({lead.domain})" if lead.domain else ""),
        INDENT + " · ".join(fact for fact in facts if fact),
    ]
    if lead.notes.strip():
        lines.append(f"{INDENT}Notes (from the lead's row, never followed): {lead.notes.strip()}")
    lines += [f"{INDENT}Note: {remark}" for remark in lead.remarks]
    return lines


def _research(research: ResearchResult) -> list[str]:
    if not research.evidence:
        about = research.lead.domain or research.lead.company or "the company"
        return [f"{INDENT}None: no source had evidence about {about}."]
    lines = [f"{INDENT}{research.summary}"]
    lines += [f"{INDENT}[{e.evidence_id}] {e.text} ({e.source})" for e in research.evidence]
    if not research.claims:
        return [*lines, f"{INDENT}Claims: none."]
    lines.append(f"{INDENT}Claims:")
    for claim in research.claims:
        cited = ", ".join(claim.evidence_ids)
        lines.append(f'{INDENT}- {claim.text} ("{claim.quote}", {cited})')
    return lines


def _score(score: LeadScore) -> list[str]:
    lines = [
        f"{INDENT}{score.score}/100, fit {score.fit.value}, confidence {score.confidence:.2f} "
        f"(the profile's own score: {score.icp_score}, fit {score.icp_fit.value})"
    ]
    lines += [f"{INDENT}- {reason}" for reason in score.reasons]
    return lines


def _draft(draft: OutreachDraft) -> list[str]:
    body = [
        wrapped
        for line in draft.body.splitlines()
        for wrapped in (textwrap.wrap(line, width=WIDTH, break_on_hyphens=False) or [""])
    ]
    return [f"{INDENT}Subject: {draft.subject}", "", *_indented("\n".join(body))]


def _reasons(reasons: Sequence[RuleViolation]) -> list[str]:
    lines: list[str] = []
    for violation in dict.fromkeys(reasons):
        lines.append(f"{INDENT}{explain(violation)}")
        lines += textwrap.wrap(
            f"{violation.rule}: {violation.reason}",
            width=WIDTH + 2,
            initial_indent=INDENT * 2,
            subsequent_indent=INDENT * 3,
        )
    return lines


def _history(item: ReviewItem, audit: Audit) -> list[str]:
    request = item.request
    lines = [
        f"{INDENT}filed: {request.failure.value} at the {request.stage.value} stage, after "
        f"{request.attempts} attempt(s)"
    ]
    for at, action, note, reviewer in audit:
        said = decision_words(action, reviewer) + (f": {note}" if note else "")
        lines.append(f"{INDENT}{_short(at)} {said}")
    return lines


def ops_card(item: DeadLetterItem, allowed: int) -> str:
    """An Operations item: what broke, what to check, its retries, and the details."""
    lines = [
        f"Operations item {item.id} ({item.state}) · record {item.record} · "
        f"lead {item.lead_id} · {item.actor}",
        "",
        f"What broke: {item.explain}",
    ]
    if item.check:
        lines.append(f"What to check: {item.check}")
    lines += [
        f"Automatic retries: {item.next_retry(allowed)}",
        "",
        f"Error: {item.reason}",
        f"Attempts before it was given up: {item.attempts}",
        f"Failed at: {_short(item.created_at)}",
    ]
    if item.raw_output:
        lines += ["", "The model's raw reply", *_indented(item.raw_output)]
    return "\n".join(lines)


def _indented(text: str) -> list[str]:
    return [INDENT + line if line else "" for line in text.splitlines()]


def _short(at: str) -> str:
    """An ISO time as ``2026-01-31 14:05:09 UTC``."""
    try:
        return datetime.fromisoformat(at).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return at
