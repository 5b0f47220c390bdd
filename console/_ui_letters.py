"""Dead letters: the list, one letter with its raw payload, and replaying one, a
selection, or every open one."""

from __future__ import annotations

import json

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from console._ui_page import ItemId, Ui, back, chosen_ids
from console._ui_views import letters
from messages import UsageError
from supervision.system import replay, replayable

router = APIRouter(include_in_schema=False)


@router.get("/dead", response_class=HTMLResponse)
async def dead(request: Request, ui: Ui, status: str = "") -> Response:
    session = ui.need(request)
    view = await anyio.to_thread.run_sync(lambda: letters(ui.stores, status=status))
    return ui.page(request, "dead.html", session, letters=view, chosen=status)


@router.get("/dead/{letter_id}", response_class=HTMLResponse)
async def dead_letter(request: Request, letter_id: ItemId, ui: Ui) -> Response:
    session = ui.need(request)
    letter = await anyio.to_thread.run_sync(lambda: ui.stores.dead.item(letter_id))
    if letter is None:
        return ui.page(request, "missing.html", session, 404, what=f"dead letter {letter_id}")
    return ui.page(request, "letter.html", session, letter=letter, payload=_pretty(letter.payload))


@router.post("/dead/replay")
async def replay_letters(request: Request, ui: Ui) -> Response:
    _, form = await ui.posted(request)
    rejected = form.get("rejected") == "on"
    ids = chosen_ids(form)
    done: list[str] = []
    errors: list[str] = []
    try:
        chosen = ids or await anyio.to_thread.run_sync(lambda: replayable(ui.stores, None))
    except UsageError as exc:
        return back("/dead", str(exc))
    for letter_id in chosen:
        try:
            decision = await replay(ui.system, letter_id, rejected=rejected)
            done.append(f"#{letter_id} {decision.outcome}")
        except UsageError as exc:
            errors.append(str(exc))
    return back("/dead", " ".join([f"Replayed: {', '.join(done) or 'nothing'}.", *errors]))


def _pretty(payload: str) -> str:
    """A JSON payload indented, or the payload as it is when it is not JSON."""
    try:
        return json.dumps(json.loads(payload), indent=2, ensure_ascii=False)
    except ValueError:
        return payload
