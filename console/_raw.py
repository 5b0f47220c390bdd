"""The raw LLM replies a lead keeps, as the lead page and ``GET /v1/leads/{id}`` show them.

Each LLM output carries the reply it was parsed from (redacted and capped by the stage);
the journal keeps the outputs until ``compact``, and a review item keeps its own through it.
"""

from __future__ import annotations

from collections.abc import Iterable

from actors import ReviewItem
from bus import JournalEntry
from messages import LeadScore, Message, OutreachDraft, ResearchResult, Stage, stage_of


def raw_replies(items: Iterable[ReviewItem], entries: Iterable[JournalEntry]) -> dict[str, str]:
    """The latest raw LLM reply of each stage that kept one, by stage in pipeline order,
    from a lead's review items (oldest first) and its journal entries.

    The journal's messages (none for a compacted lead) come after the items they caused,
    so a later reply of a stage replaces an earlier one; a review item keeps the outputs it
    holds through compaction."""
    outputs: list[Message | None] = [
        output for i in items for output in (i.request.stage_input, i.request.last_output)
    ]
    outputs += [entry.message for entry in entries]
    found: dict[str, str] = {}
    for output in outputs:
        match output:
            case ResearchResult() | LeadScore() | OutreachDraft() if output.raw_reply is not None:
                found[stage_of(output).value] = output.raw_reply
            case _:
                pass
    return {stage.value: found[stage.value] for stage in Stage if stage.value in found}
