"""Reviewing: the inbox of open items, a lead's page, and the decisions on its item
(approve, edit and approve, decline), one at a time or several together. Every decision
goes through ``supervision.system``'s operations, with the session's reviewer."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from console._paths import console_lead
from console._ui_page import Console, ItemId, Ui, back, chosen_ids
from console._ui_session import Session
from console._ui_views import inbox, lead_view
from messages import UsageError
from supervision.system import (
    DraftEdit,
    DraftRefused,
    approve,
    decline,
    draft_violations,
    open_item,
)

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def inbox_page(
    request: Request, ui: Ui, stage: str = "", failure: str = "", rule: str = ""
) -> Response:
    session = ui.need(request)
    view = await anyio.to_thread.run_sync(
        lambda: inbox(ui.stores, stage=stage, failure=failure, rule=rule)
    )
    return ui.page(
        request, "inbox.html", session, inbox=view, stage=stage, failure=failure, rule=rule
    )


@router.post("/inbox/bulk")
async def bulk(request: Request, ui: Ui) -> Response:
    session, form = await ui.posted(request)
    ids = chosen_ids(form)
    action = form.get("action")
    reason = str(form.get("reason", "")).strip()
    if not ids:
        return back("/", "Select at least one item.")
    done: list[str] = []
    errors: list[str] = []
    for item_id in ids:
        try:
            if action == "approve":
                decision = await approve(ui.system, item_id, reviewer=session.reviewer)
                done.append(f"#{item_id} {decision.outcome}")
            elif action in ("decline", "reject"):
                await _decline(ui, item_id, reason, session.reviewer)
                done.append(f"#{item_id} declined")
            else:
                return back("/", f"Unknown action {action!r}: approve or decline.")
        except UsageError as exc:
            errors.append(str(exc))
    summary = f"{action}: {', '.join(done) or 'nothing'}."
    return back("/", " ".join([summary, *errors]))


@router.get("/leads/{lead_id:path}", response_class=HTMLResponse)
async def lead(request: Request, lead_id: str, ui: Ui) -> Response:
    return await _lead_page(ui, request, ui.need(request), lead_id)


@router.post("/items/{item_id}/approve")
async def approve_one(request: Request, item_id: ItemId, ui: Ui) -> Response:
    session, form = await ui.posted(request)
    lead_id = await _item_lead(ui, item_id)
    note = str(form.get("note", "")).strip()
    try:
        decision = await approve(
            ui.system,
            item_id,
            reviewer=session.reviewer,
            note=note,
            override=form.get("override") == "on",
        )
    except UsageError as exc:
        return back(console_lead(lead_id), f"#{item_id}: {exc}", form)
    return back(console_lead(lead_id), f"Approved #{item_id}: {decision.outcome}.", form)


@router.post("/items/{item_id}/edit", response_class=HTMLResponse)
async def edit(request: Request, item_id: ItemId, ui: Ui) -> Response:
    session, form = await ui.posted(request)
    lead_id = await _item_lead(ui, item_id)
    change = DraftEdit(str(form.get("subject", "")), str(form.get("body", "")))
    if form.get("intent") == "check":
        return await _check_edit(ui, request, session, item_id, change)
    try:
        decision = await approve(
            ui.system,
            item_id,
            reviewer=session.reviewer,
            note=str(form.get("note", "")).strip(),
            edit=change,
            override=form.get("override") == "on",
        )
    except DraftRefused as exc:
        refused = {"edit": change, "violations": list(exc.violations), "error": str(exc)}
        return await _lead_page(ui, request, session, lead_id, 422, **refused)
    except UsageError as exc:
        return await _lead_page(ui, request, session, lead_id, 409, edit=change, error=str(exc))
    return back(console_lead(lead_id), f"Edited and approved: the lead is {decision.outcome}.")


@router.post("/items/{item_id}/reject")
async def reject_one(request: Request, item_id: ItemId, ui: Ui) -> Response:
    session, form = await ui.posted(request)
    lead_id = await _item_lead(ui, item_id)
    try:
        await _decline(ui, item_id, str(form.get("reason", "")), session.reviewer)
    except UsageError as exc:
        return back(console_lead(lead_id), str(exc))
    return back(console_lead(lead_id), "Declined: the lead is declined.")


async def _lead_page(
    ui: Console, request: Request, session: Session, lead_id: str, status: int = 200, **extra: Any
) -> Response:
    """The lead page; ``extra`` is what an edit that was refused shows with it."""
    view = await anyio.to_thread.run_sync(lambda: lead_view(ui.stores, lead_id))
    if view is None:
        return ui.page(request, "missing.html", session, 404, what=f"lead {lead_id!r}")
    context: dict[str, Any] = {"edit": None, "violations": None, "error": ""}
    item = view.open_item
    if item is not None and view.draft is not None and "violations" not in extra:
        context["violations"] = list(item.request.violations)
    context.update(extra)
    return ui.page(request, "lead.html", session, status, view=view, **context)


async def _check_edit(
    ui: Console, request: Request, session: Session, item_id: int, change: DraftEdit
) -> Response:
    """The draft policy's verdict on an edit, as the fragment htmx puts in place."""
    try:
        item = await anyio.to_thread.run_sync(lambda: open_item(ui.stores, item_id))
        # The rules are CPU work on text a person typed: off the event loop.
        _, found = await anyio.to_thread.run_sync(lambda: draft_violations(ui.system, item, change))
    except UsageError as exc:
        return ui.page(request, "_verdict.html", session, 409, violations=[], error=str(exc))
    return ui.page(request, "_verdict.html", session, violations=list(found), error="")


async def _item_lead(ui: Console, item_id: int) -> str:
    """The lead of a review item; 404 for an unknown item."""
    item = await anyio.to_thread.run_sync(lambda: ui.stores.review.item(item_id))
    if item is None:
        raise HTTPException(404, f"no review item {item_id}; see the inbox")
    return item.lead_id


async def _decline(ui: Console, item_id: int, reason: str, reviewer: str) -> None:
    await anyio.to_thread.run_sync(lambda: decline(ui.system, item_id, reason, reviewer=reviewer))
