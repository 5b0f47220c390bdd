"""The inbox on the command line: list, show, approve, edit, decline, retry with evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from actors import ReviewItem, ReviewStatus
from actors.validation import explain
from cli._cards import review_card
from cli._common import (
    DEFAULT_OUT,
    Json,
    Out,
    Tsv,
    fail,
    plain,
    review_app,
    stderr,
    table,
    with_journal,
    with_stores,
)
from cli._operator import operate
from messages import UsageError
from supervision.system import DraftEdit, DraftRefused, Operator, Stores, entry_detail

Reviewer = Annotated[str, typer.Option(help="Who decides (kept in the audit).")]


def item_row(item: ReviewItem) -> dict[str, Any]:
    """An item as ``review list --json`` prints it."""
    lead = item.request.lead
    draft = item.draft
    return {
        "id": item.id,
        "record": item.record,
        "lead_id": item.lead_id,
        "name": f"{lead.first_name} {lead.last_name}".strip(),
        "title": lead.title,
        "company": lead.company,
        "email": lead.email,
        "fit": None if draft is None else draft.score.fit.value,
        "score": None if draft is None else draft.score.score,
        "subject": None if draft is None else draft.subject,
        "stage": item.stage,
        "failure": item.failure,
        "status": item.status,
        "why": item.why,
        "reason": item.reason,
    }


@review_app.command("list")
def review_list(
    out: Out = DEFAULT_OUT,
    everything: Annotated[bool, typer.Option("--all", help="Include decided items.")] = False,
    json_output: Json = False,
    tsv: Tsv = False,
) -> None:
    """Items waiting for a person: who, the draft's subject, and why, in plain words."""
    status = None if everything else ReviewStatus.OPEN.value
    items = with_stores(out, lambda stores: stores.review.items(status=status))
    if json_output:
        for item in items:
            typer.echo(json.dumps(item_row(item), ensure_ascii=False))
        return
    if not items and not tsv:
        plain("The inbox is empty." if not everything else "No review items in this run.")
        return
    rows = []
    for item in items:
        row = item_row(item)
        fit = "" if row["fit"] is None else f"{row['score']} {row['fit']}"
        rows.append(
            [str(item.id), row["name"], row["company"], fit, row["subject"] or "", item.why]
            + ([item.status] if everything else [])
        )
    headers = ["id", "name", "company", "fit", "subject", "why"]
    table(headers + (["status"] if everything else []), rows, tsv=tsv, long={"subject", "why"})


@review_app.command("show")
def review_show(
    item_id: Annotated[int, typer.Argument(help="The review item id.")],
    out: Out = DEFAULT_OUT,
    json_output: Json = False,
) -> None:
    """One item as a card: why it is here, the lead, evidence and claims, the score and
    why, the draft, and its history (--json: the item as data)."""

    def read(stores: Stores) -> tuple[ReviewItem, list[tuple[str, str, str, str]]]:
        item = stores.review.item(item_id)
        if item is None:
            fail(f"no review item {item_id}; see review list")
        return item, stores.review.audit(item_id)

    item, audit = with_stores(out, read)
    if json_output:
        reasons = item.request.violations + (item.draft.doubts if item.draft else ())
        data = item_row(item) | {
            "reasons": [
                {"rule": v.rule, "reason": v.reason, "plain": explain(v)}
                for v in dict.fromkeys(reasons)
            ],
            "request": item.request.model_dump(mode="json"),
            "history": [
                {"at": at, "action": action, "note": note, "reviewer": reviewer}
                for at, action, note, reviewer in audit
            ],
        }
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    entries = with_journal(out, lambda journal: journal.trace(item.lead_id))
    trail = [
        f"{entry.created_at:%Y-%m-%d %H:%M:%S} {entry.kind} #{entry.attempt} from "
        f"{entry.producer}" + (f": {detail}" if (detail := entry_detail(entry)) else "")
        for entry in entries
    ]
    plain(review_card(item, audit, trail))


@review_app.command("approve")
def review_approve(
    item_ids: Annotated[list[int], typer.Argument(help="One or more review item ids.")],
    out: Out = DEFAULT_OUT,
    note: Annotated[str, typer.Option(help="Why it is approved.")] = "",
    override: Annotated[
        bool, typer.Option(help="Approve a draft that breaks a rule (needs --note).")
    ] = False,
    reviewer: Reviewer = "",
) -> None:
    """Approve items: the CRM takes each draft as shown (no model is asked anything).

    An item that cannot be approved (a draft that still breaks a rule, an item decided
    already) is named on stderr, the others are approved, and the exit code is 1.
    """
    refused: list[str] = []

    async def work(operator: Operator) -> None:
        for item_id in item_ids:
            try:
                decision = await operator.approve(item_id, note=note, override=override)
            except DraftRefused as exc:
                rules = [f"  {v.rule}: {v.reason}" for v in exc.violations]
                refused.append("\n".join([f"error: {exc}", *rules]))
                continue
            except UsageError as exc:
                refused.append(f"error: {exc}")
                continue
            plain(
                f"approved review item {item_id}: record {decision.record} is now "
                f"{decision.outcome}"
            )

    operate(out, work, needs_llm=False, reviewer=reviewer)
    for line in refused:
        stderr.print(line, markup=False)
    if refused:
        raise typer.Exit(1)


@review_app.command("edit")
def review_edit(
    item_id: Annotated[int, typer.Argument(help="The review item id.")],
    subject: Annotated[str, typer.Option(help="The draft's new subject.")],
    body_file: Annotated[Path, typer.Option(help="A file holding the draft's new body.")],
    out: Out = DEFAULT_OUT,
    note: Annotated[str, typer.Option(help="Why, for the audit.")] = "",
    override: Annotated[
        bool, typer.Option(help="Approve although a rule still fails (needs --note).")
    ] = False,
    reviewer: Reviewer = "",
) -> None:
    """Edit a draft and approve it: it runs through the draft policy again first, and the
    edited draft is sent whatever the score."""
    try:
        body = body_file.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"--body-file {body_file}: cannot be read ({exc.strerror or exc})")
    edit = DraftEdit(subject=subject, body=body)

    async def work(operator: Operator) -> None:
        decision = await operator.approve(item_id, note=note, edit=edit, override=override)
        plain(
            f"edited and approved review item {item_id}: record {decision.record} is now "
            f"{decision.outcome}"
        )

    operate(out, work, needs_llm=False, reviewer=reviewer)


Reason = Annotated[str, typer.Option(help="Why the lead is declined (required).")]


@review_app.command("decline")
def review_decline(
    item_ids: Annotated[list[int], typer.Argument(help="One or more review item ids.")],
    reason: Reason,
    out: Out = DEFAULT_OUT,
    reviewer: Reviewer = "",
) -> None:
    """Decline items: each lead ends as declined, with the reason; nothing retries it."""

    async def work(operator: Operator) -> None:
        for item_id in item_ids:
            decision = await operator.decline(item_id, reason)
            plain(f"declined review item {item_id}: record {decision.record} is now declined")

    operate(out, work, needs_llm=False, reviewer=reviewer)


@review_app.command("reject", hidden=True)
def review_reject(
    item_ids: Annotated[list[int], typer.Argument(help="One or more review item ids.")],
    reason: Reason,
    out: Out = DEFAULT_OUT,
    reviewer: Reviewer = "",
) -> None:
    """Deprecated: the same as review decline."""
    stderr.print("note: review reject is now review decline", markup=False)
    review_decline(item_ids, reason, out, reviewer)


@review_app.command("retry")
def review_retry(
    item_id: Annotated[int, typer.Argument(help="The review item id.")],
    out: Out = DEFAULT_OUT,
    fact: Annotated[
        list[str] | None,
        typer.Option(help="A fact about the lead's company, as a page states it (repeatable)."),
    ] = None,
    url: Annotated[
        str,
        typer.Option(help="The page the facts come from; alone, the page is read for them."),
    ] = "",
    reviewer: Reviewer = "",
) -> None:
    """Run an item's lead again from research, after adding facts about its company to
    this run directory's knowledge base (knowledge.json): the way on for a lead that had
    no evidence. The new draft comes back to the inbox, or goes to the CRM."""

    async def work(operator: Operator) -> None:
        decision = await operator.retry_lead(item_id, facts=fact or [], url=url)
        plain(
            f"ran review item {item_id}'s lead again: record {decision.record} is now "
            f"{decision.outcome}"
        )

    operate(out, work, needs_llm=True, reviewer=reviewer)
