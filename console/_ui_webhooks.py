"""Webhooks: each endpoint with its state, its latest deliveries with their status and
last answer, a redeliver button on each, and enabling a disabled endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from actors.webhooks import Delivery, Endpoint, WebhookStore
from console._ui_page import Ui, back
from messages import UsageError

router = APIRouter(include_in_schema=False)
SHOWN = 100
"""Deliveries listed at most, the latest first."""


@dataclass(frozen=True, slots=True)
class HooksView:
    endpoints: list[tuple[Endpoint, dict[str, int]]]
    deliveries: list[Delivery]


def _view(store: WebhookStore, endpoint: int | None, status: str | None) -> HooksView:
    counts = store.counts()
    return HooksView(
        endpoints=[(e, counts.get(e.id, {})) for e in store.endpoints()],
        deliveries=store.deliveries(endpoint=endpoint, status=status, limit=SHOWN),
    )


def _when(delivery: Delivery) -> str:
    if delivery.status.value == "pending":
        return "due " + datetime.fromtimestamp(delivery.next_at, UTC).isoformat(timespec="seconds")
    return delivery.delivered_at or delivery.last_at or ""


@router.get("/webhooks", response_class=HTMLResponse)
async def webhooks(
    request: Request, ui: Ui, endpoint: int | None = None, status: str = ""
) -> Response:
    session = ui.need(request)
    chosen = status if status in ("pending", "delivered", "failed") else None
    store = ui.stores.webhooks
    view = await anyio.to_thread.run_sync(lambda: _view(store, endpoint, chosen))
    return ui.page(
        request,
        "webhooks.html",
        session,
        view=view,
        chosen=chosen or "",
        when=_when,
        endpoint=endpoint,
    )


@router.post("/webhooks/deliveries/{delivery_id}/redeliver")
async def redeliver(request: Request, delivery_id: int, ui: Ui) -> Response:
    await ui.posted(request)
    try:
        delivery = await anyio.to_thread.run_sync(lambda: ui.stores.webhooks.redeliver(delivery_id))
    except UsageError as exc:
        return back("/webhooks", str(exc))
    ui.system.send_webhooks()
    return back(
        "/webhooks", f"Delivery {delivery.id} ({delivery.event_type}) will be sent again now."
    )


@router.post("/webhooks/{endpoint_id}/enable")
async def enable(request: Request, endpoint_id: int, ui: Ui) -> Response:
    await ui.posted(request)
    try:
        await anyio.to_thread.run_sync(lambda: ui.stores.webhooks.enable(endpoint_id))
    except UsageError as exc:
        return back("/webhooks", str(exc))
    ui.system.send_webhooks()
    return back("/webhooks", f"Endpoint {endpoint_id} is enabled again.")
