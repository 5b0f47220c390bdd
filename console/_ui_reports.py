"""What the console reports: the live dashboard and its stream, drift against the
baseline with its plots, and the CRM as a page and as CSV."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse

from console._api_input import open_stream
from console._ui_page import Ui
from supervision.system import export_csv

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


@router.get("/crm", response_class=HTMLResponse)
async def crm(request: Request, ui: Ui) -> Response:
    session = ui.need(request)
    rows = await anyio.to_thread.run_sync(ui.stores.crm.rows)
    return ui.page(request, "crm.html", session, rows=rows)


@router.get("/crm.csv")
async def crm_csv(request: Request, ui: Ui) -> Response:
    ui.need(request)
    text = await anyio.to_thread.run_sync(lambda: export_csv(ui.stores))
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="crm.csv"'},
    )
