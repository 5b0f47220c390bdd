"""Reviewing: the inbox of open items (and the decided view), a lead's page, and the
decisions on its item (approve, edit and approve, decline, retry with evidence), one at a
time or several together. Every decision goes through ``supervision.system``'s
operations, with the session's reviewer.

A decision taken in the inbox returns to the inbox with the cursor on the next row; one
taken on a lead's page opens the next open item, so that a reviewer never hunts for it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from actors.validation import topic
from console._paths import console_lead
from console._ui_page import (
    BadQuery,
    ItemId,
    Pages,
    Ui,
    back,
    chosen_ids,
    page_number,
    sign_notice,
    to_inbox,
)
from console._ui_session import Session
from console._ui_views import decided, inbox, lead_view, next_open
from messages import UsageError
from supervision.system import UNOVERRIDABLE, DraftEdit, DraftRefused, Operator

router = APIRouter(include_in_schema=False)
VIEWS = ("open", "decided")


@router.get("/", response_class=HTMLResponse)
async def inbox_page(
    request: Request,
    ui: Ui,
    view: str = "open",
    rule: str = "",
    cursor: str = "",
    page: str = "",
) -> Response:
    session = ui.need(request)
    try:
        if view not in VIEWS:
            raise BadQuery(f"view must be open or decided, not {view[:40]!r}")
        number = page_number(page)
    except BadQuery as exc:
        return ui.page(request, "bad.html", session, 422, error=str(exc), back="/")
    if view == "decided":
        done = await anyio.to_thread.run_sync(lambda: decided(ui.stores, number))
        return ui.page(request, "decided.html", session, decided=done)
    shown = await anyio.to_thread.run_sync(lambda: inbox(ui.stores, rule=rule))
    # The cursor's row (the one after the last decision), else the first: never a row
    # that is no longer there.
    ids = [line.item.id for line in shown.lines]
    at = int(cursor) if cursor.isascii() and cursor.isdigit() and len(cursor) < 20 else 0
    current = at if at in ids else (ids[0] if ids else 0)
    return ui.page(request, "inbox.html", session, inbox=shown, rule=rule, current=current)


@router.post("/inbox/bulk")
async def bulk(request: Request, ui: Ui) -> Response:
    session, form = await ui.posted(request)
    ids = chosen_ids(form)
    action = form.get("action")
    reason = str(form.get("reason", "")).strip()
    if not ids:
        return to_inbox("Select at least one item.", form)
    if action not in ("approve", "decline", "reject"):
        return to_inbox(f"Unknown action {str(action)[:40]!r}: approve or decline.", form)
    done: list[str] = []
    errors: list[str] = []
    operator = ui.operator(session)
    for item_id in ids:
        try:
            if action == "approve":
                decision = await operator.approve(item_id)
                done.append(f"#{item_id} {decision.outcome}")
            else:
                await _decline(operator, item_id, reason)
                done.append(f"#{item_id} declined")
        except UsageError as exc:
            errors.append(refusal(item_id, exc))
    verb = "Approved" if action == "approve" else "Declined"
    return to_inbox(" ".join([f"{verb}: {', '.join(done) or 'nothing'}.", *errors]), form)


@router.get("/leads/{lead_id:path}", response_class=HTMLResponse)
async def lead(request: Request, lead_id: str, ui: Ui) -> Response:
    return await _lead_page(ui, request, ui.need(request), lead_id)


@router.post("/items/{item_id}/approve")
async def approve_one(request: Request, item_id: ItemId, ui: Ui) -> Response:
    session, form = await ui.posted(request)
    lead_id = await _item_lead(ui, item_id)
    note = str(form.get("note", "")).strip()
    try:
        decision = await ui.operator(session).approve(
            item_id, note=note, override=_override(form, note)
        )
    except UsageError as exc:
        if _from_inbox(form):
            return to_inbox(refusal(item_id, exc), form)
        return back(console_lead(lead_id), refusal(item_id, exc))
    said = f"Approved #{item_id}: {decision.outcome}."
    return await _onwards(ui, form, item_id, said)


@router.post("/items/{item_id}/edit", response_class=HTMLResponse)
async def edit(request: Request, item_id: ItemId, ui: Ui) -> Response:
    session, form = await ui.posted(request)
    lead_id = await _item_lead(ui, item_id)
    change = DraftEdit(str(form.get("subject", "")), str(form.get("body", "")))
    if form.get("intent") == "check":
        return await _check_edit(ui, request, session, item_id, change)
    note = str(form.get("note", "")).strip()
    try:
        decision = await ui.operator(session).approve(
            item_id, note=note, edit=change, override=_override(form, note)
        )
    except DraftRefused as exc:
        error = refusal(item_id, exc)
        refused = {"edit": change, "violations": list(exc.violations), "error": error}
        return await _lead_page(ui, request, session, lead_id, 422, **refused)
    except UsageError as exc:
        error = refusal(item_id, exc)
        return await _lead_page(ui, request, session, lead_id, 409, edit=change, error=error)
    said = f"Edited and approved #{item_id}: the lead is {decision.outcome}."
    return await _onwards(ui, form, item_id, said)


@router.post("/items/{item_id}/decline")
@router.post("/items/{item_id}/reject")
async def decline_one(request: Request, item_id: ItemId, ui: Ui) -> Response:
    session, form = await ui.posted(request)
    lead_id = await _item_lead(ui, item_id)
    try:
        await _decline(ui.operator(session), item_id, str(form.get("reason", "")))
    except UsageError as exc:
        if _from_inbox(form):
            return to_inbox(refusal(item_id, exc), form)
        return back(console_lead(lead_id), refusal(item_id, exc))
    return await _onwards(ui, form, item_id, f"Declined #{item_id}: the lead is declined.")


@router.post("/items/{item_id}/retry", response_class=HTMLResponse)
async def retry_with_evidence(request: Request, item_id: ItemId, ui: Ui) -> Response:
    """Add the facts (or the page at the URL) to the run's knowledge base, then run the
    lead again from research; a refusal shows the form again with what was typed."""
    session, form = await ui.posted(request)
    lead_id = await _item_lead(ui, item_id)
    typed = str(form.get("facts", ""))
    url = str(form.get("url", "")).strip()
    facts = [line.strip() for line in typed.splitlines() if line.strip()]
    if not facts and not url:
        error = "Paste at least one fact about the company, or the address of a page about it."
        return await _lead_page(
            ui, request, session, lead_id, 422, error=error, facts=typed, url=url
        )
    try:
        decision = await ui.operator(session).retry_lead(item_id, facts=facts, url=url)
    except UsageError as exc:
        return await _lead_page(
            ui, request, session, lead_id, 422, error=str(exc), facts=typed, url=url
        )
    said = f"Ran the lead again with the evidence you gave: it is now {decision.outcome}."
    return back(console_lead(lead_id), said)


async def _lead_page(
    ui: Pages, request: Request, session: Session, lead_id: str, status: int = 200, **extra: Any
) -> Response:
    """The lead page; ``extra`` is what a refused edit or retry shows with it."""
    view = await anyio.to_thread.run_sync(lambda: lead_view(ui.stores, lead_id))
    if view is None:
        return ui.page(request, "missing.html", session, 404, what=f"lead {lead_id!r}")
    context: dict[str, Any] = {
        "edit": None,
        "violations": None,
        "error": "",
        "facts": "",
        "url": "",
        "allowed": ui.system.config.ops_retry.retries,
    }
    item = view.open_item
    if item is not None and view.draft is not None and "violations" not in extra:
        context["violations"] = list(item.request.violations)
    context.update(extra)
    return ui.page(request, "lead.html", session, status, view=view, **context)


async def _check_edit(
    ui: Pages, request: Request, session: Session, item_id: int, change: DraftEdit
) -> Response:
    """The draft policy's verdict on an edit, as the fragment htmx puts in place."""
    operator = ui.operator(session)
    try:
        item = await anyio.to_thread.run_sync(lambda: operator.open_item(item_id))
        # The rules are CPU work on text a person typed: off the event loop.
        _, found = await anyio.to_thread.run_sync(lambda: operator.draft_violations(item, change))
    except UsageError as exc:
        return ui.page(request, "_verdict.html", session, 409, violations=[], error=str(exc))
    return ui.page(request, "_verdict.html", session, violations=list(found), error="")


async def _onwards(ui: Pages, form: FormData, item_id: int, said: str) -> Response:
    """Where a decision leads: back to the inbox (its cursor on the next row) when it was
    taken there, else to the next open item's page, or the inbox once it is empty."""
    if _from_inbox(form):
        return to_inbox(said, form)
    following = await anyio.to_thread.run_sync(lambda: next_open(ui.stores, item_id))
    if following is None:
        return back("/", f"{said} The inbox is empty.")
    lead = following.request.lead
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p) or following.lead_id
    notice = sign_notice(f"{said} Next: {name} at {lead.company or lead.domain}.")
    where = f"{console_lead(following.lead_id)}?{urlencode({'msg': notice})}"
    return RedirectResponse(where, status_code=303)


class NoteNeeded(UsageError):
    """ "Approve anyway" without a note saying why."""


def _override(form: FormData, note: str) -> bool:
    """Whether the form approves anyway; ``NoteNeeded`` when it does without a note."""
    override = form.get("override") == "on"
    if override and not note:
        raise NoteNeeded("to approve anyway, say why in the note: the audit keeps it")
    return override


def refusal(item_id: int, exc: UsageError) -> str:
    """Why a decision was refused, in the console's words (the operations speak the
    command line's: ``--override``, ``--note``)."""
    if isinstance(exc, DraftRefused):
        topics = ", ".join(dict.fromkeys(topic(v.rule) for v in exc.violations))
        if any(v.rule in UNOVERRIDABLE for v in exc.violations):
            return (
                f"#{item_id}: the draft still has {topics.lower()}: edit it out, then "
                "approve the edited draft."
            )
        return (
            f"#{item_id}: the draft still breaks a rule ({topics.lower()}): edit it, or "
            "tick “approve anyway” and say why in the note."
        )
    return f"#{item_id}: {exc}"


def _from_inbox(form: FormData) -> bool:
    return form.get("next") == "/"


async def _item_lead(ui: Pages, item_id: int) -> str:
    """The lead of a review item; 404 for an unknown item."""
    item = await anyio.to_thread.run_sync(lambda: ui.stores.review.item(item_id))
    if item is None:
        raise HTTPException(404, f"no review item {item_id}; see the inbox")
    return item.lead_id


async def _decline(operator: Operator, item_id: int, reason: str) -> None:
    if not reason.strip():
        raise UsageError("Say why the lead is declined: the reason is kept with the decision.")
    await operator.decline(item_id, reason)
