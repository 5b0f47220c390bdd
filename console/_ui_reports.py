"""What the console reports: the live dashboard and its stream, and drift against the
baseline with its plots (the CRM is ``_ui_crm``)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse

from console._api_input import open_stream
from console._ui_page import Ui

router = APIRouter(include_in_schema=False)


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, ui: Ui) -> Response:
    session = ui.need(request)
    now = await ui.board.read()
    return ui.page(request, "dashboard.html", session, counts=now, rules=now["rules"])


@router.get("/dashboard/stream")
async def dashboard_stream(request: Request, ui: Ui) -> Response:
    ui.need(request)
    stream = open_stream(request, ui.board.stream)
    if isinstance(stream, Response):
        return stream
    return StreamingResponse(
        stream, media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )


@router.get("/dashboard/drift", response_class=HTMLResponse)
async def drift_page(request: Request, ui: Ui) -> Response:
    session = ui.need(request)
    return ui.page(request, "drift.html", session, drift=await ui.drift.view())


@router.get("/dashboard/drift/{name}")
async def drift_plot(request: Request, name: str, ui: Ui) -> Response:
    ui.need(request)
    path = ui.drift.plot(name)
    if path is None:
        raise HTTPException(404, f"no drift plot {name!r}; open /dashboard/drift first")
    return FileResponse(path, media_type="image/png")
