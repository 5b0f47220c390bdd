"""Operations: machine failures, from the moment they fail, each with what broke in an
operator's words, what to check, and when it is retried next by itself (or that its
schedule is spent); one item with its error, raw reply and payload; and retrying one, a
selection, or every open one. The words are the Operations item's own (``explain``,
``check``, ``next_retry``), the same the command line's ``ops`` prints.

The old dead-letter pages lead here: ``/dead`` and ``/dead/{id}`` redirect, and a form
posted to ``/dead/replay`` retries as ``/ops/retry`` does.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from actors import DeadLetterItem, LetterStatus
from console._ui_page import ItemId, Ui, back, chosen_ids
from messages import Envelope, Lead, UsageError
from supervision.system import Stores

router = APIRouter(include_in_schema=False)
WAITING = (LetterStatus.OPEN.value, LetterStatus.REJECTED.value)
"""The items an operator still has to act on (``ops list`` without ``--all``)."""


@dataclass(frozen=True, slots=True)
class OpsLine:
    """One Operations item as its row shows it: the item, and the lead it concerns."""

    item: DeadLetterItem
    lead: Lead | None

    @property
    def name(self) -> str:
        lead = self.lead
        if lead is None:
            return self.item.lead_id or ""
        return " ".join(p for p in (lead.first_name, lead.last_name) if p) or lead.lead_id

    @property
    def waiting(self) -> bool:
        return self.item.status in WAITING and self.item.record is not None


@dataclass(frozen=True, slots=True)
class Ops:
    """Operations items, newest first, and how many there are by status."""

    lines: list[OpsLine]
    by_status: dict[str, int]
    everything: bool


def operations(stores: Stores, *, everything: bool) -> Ops:
    """The items waiting for a retry (every item, with ``everything``), newest first."""
    items = stores.dead.items()
    shown = [i for i in reversed(items) if everything or i.status in WAITING]
    return Ops(
        [OpsLine(i, lead_of(i)) for i in shown],
        dict(Counter(i.state for i in items)),
        everything,
    )


def lead_of(item: DeadLetterItem) -> Lead | None:
    """The lead an item's payload concerns, when the payload says."""
    try:
        message: object = Envelope.from_json(item.payload).message
    except (UsageError, ValueError):
        return None
    for holder in (message, getattr(message, "rejected", None)):
        lead = getattr(holder, "lead", None)
        if isinstance(lead, Lead):
            return lead
    return None


@router.get("/ops", response_class=HTMLResponse)
async def ops(request: Request, ui: Ui, show: str = "open") -> Response:
    session = ui.need(request)
    everything = show == "all"
    view = await anyio.to_thread.run_sync(lambda: operations(ui.stores, everything=everything))
    allowed = ui.system.config.ops_retry.retries
    return ui.page(request, "ops.html", session, ops=view, allowed=allowed)


@router.get("/ops/{item_id}", response_class=HTMLResponse)
async def ops_item(request: Request, item_id: ItemId, ui: Ui) -> Response:
    session = ui.need(request)
    item = await anyio.to_thread.run_sync(lambda: ui.stores.dead.item(item_id))
    if item is None:
        return ui.page(request, "missing.html", session, 404, what=f"Operations item {item_id}")
    return ui.page(
        request,
        "ops_item.html",
        session,
        line=OpsLine(item, lead_of(item)),
        allowed=ui.system.config.ops_retry.retries,
        payload=_pretty(item.payload),
    )


@router.post("/ops/retry")
@router.post("/dead/replay")
async def retry_items(request: Request, ui: Ui) -> Response:
    """Retry the chosen items now, or every open one when none is chosen."""
    session, form = await ui.posted(request)
    operator = ui.operator(session)
    rejected = form.get("rejected") == "on"
    ids = chosen_ids(form)
    done: list[str] = []
    errors: list[str] = []
    try:
        chosen = ids or await anyio.to_thread.run_sync(operator.retryable)
    except UsageError as exc:
        return back("/ops", str(exc))
    if not chosen:
        return back("/ops", "Nothing to retry: Operations is empty.")
    for item_id in chosen:
        try:
            decision = await operator.retry(item_id, rejected=rejected)
            done.append(f"#{item_id} {decision.outcome}")
        except UsageError as exc:
            errors.append(str(exc))
    return back("/ops", " ".join([f"Retried: {', '.join(done) or 'nothing'}.", *errors]))


@router.get("/dead")
async def dead(request: Request, ui: Ui) -> Response:
    """The dead letters are Operations now."""
    ui.need(request)
    return RedirectResponse("/ops", status_code=303)


@router.get("/dead/{item_id}")
async def dead_letter(request: Request, item_id: ItemId, ui: Ui) -> Response:
    ui.need(request)
    return RedirectResponse(f"/ops/{item_id}", status_code=303)


def _pretty(payload: str) -> str:
    """A JSON payload indented, or the payload as it is when it is not JSON."""
    try:
        return json.dumps(json.loads(payload), indent=2, ensure_ascii=False)
    except ValueError:
        return payload
