"""A lead's story, rebuilt from the journal: each message, who sent it and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bus import JournalEntry
from messages import (
    DeadLetter,
    HumanReviewRequested,
    LeadOutcome,
    LeadRejected,
    LeadScore,
    Message,
    OutreachDraft,
    ResearchResult,
    RetryRequested,
    ReviewApproved,
    ValidationFailed,
    ValidationPassed,
)


@dataclass(slots=True)
class TraceNode:
    """One message in a lead's causal tree."""

    entry: JournalEntry
    children: list[TraceNode] = field(default_factory=list)
    after_s: float | None = None
    """Seconds since its cause was published."""

    @property
    def detail(self) -> str:
        return entry_detail(self.entry)

    def to_dict(self) -> dict[str, Any]:
        entry = self.entry
        return {
            "seq": entry.seq,
            "message_id": entry.message_id,
            "causation_id": entry.causation_id,
            "kind": entry.kind,
            "producer": entry.producer,
            "attempt": entry.attempt,
            "approved": entry.approved,
            "created_at": entry.created_at.isoformat(),
            "after_s": self.after_s,
            "detail": self.detail,
            "delivered_to": [{"subscriber": s, "acked": a} for s, a in self.entry.deliveries],
            "children": [child.to_dict() for child in self.children],
        }


def build_trace(entries: list[JournalEntry]) -> list[TraceNode]:
    """The causal forest of a trace: roots are messages whose cause is not in it."""
    nodes = {entry.message_id: TraceNode(entry) for entry in entries}
    roots: list[TraceNode] = []
    for node in nodes.values():
        cause = node.entry.causation_id
        parent = nodes.get(cause) if cause is not None else None
        if parent is None:
            roots.append(node)
            continue
        parent.children.append(node)
        delta = node.entry.created_at - parent.entry.created_at
        node.after_s = delta.total_seconds()
    return roots


def entry_detail(entry: JournalEntry) -> str:
    """What a journal entry's message said: described now, or as it was when compacted."""
    return describe(entry.message) if entry.message is not None else (entry.detail or "")


def describe(message: Message) -> str:
    """One line on what a message says, for the kinds whose content tells the story."""
    match message:
        case ValidationFailed():
            rules = ", ".join(v.rule for v in message.violations)
            return f"verdict {message.verdict.value}: {rules}"
        case ValidationPassed():
            return f"passed ({message.stage.value})"
        case LeadScore():
            line = f"fit {message.fit.value}, score {message.score}, icp {message.icp_score}"
            return line + _prompt(message.prompt)
        case ResearchResult():
            doubts = (
                f"; doubts: {', '.join(d.rule for d in message.doubts)}" if message.doubts else ""
            )
            line = f"{len(message.claims)} claims from {len(message.evidence)} evidence items"
            if message.reused_from is not None:
                line += f"; reused the research of lead {message.reused_from}"
            return line + doubts + _prompt(message.prompt)
        case OutreachDraft():
            return f"subject {message.subject!r}" + _prompt(message.prompt)
        case HumanReviewRequested():
            return f"review: {message.failure.value}: {message.reason}"[:200]
        case DeadLetter():
            return f"dead letter: {message.failure.value}: {message.reason}"[:200]
        case LeadOutcome():
            return f"outcome {message.outcome.value}: {message.reason}"[:200]
        case LeadRejected():
            return "rejected: " + "; ".join(message.reasons)
        case ReviewApproved():
            sent = "draft sent" if message.send else "recorded as disqualified"
            by = f" by {message.reviewer}" if message.reviewer else ""
            return f"approved{by} (review item {message.item}): {sent}"
        case RetryRequested():
            return f"retry {message.retry} of the {message.stage.value} step"
        case _:
            return ""


def _prompt(version: str | None) -> str:
    """Which prompt made an output, for its line: ``; prompt research@3f2a9c1b0d4e``."""
    return f"; prompt {version}" if version else ""
