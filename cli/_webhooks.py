"""``webhooks``: the endpoints that receive a run directory's events, and their deliveries.

These commands work while ``serve`` runs on the same directory: endpoints and deliveries
are rows in ``journal.sqlite``, which SQLite lets two processes share, and the service
picks a change up within a few seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import anyio
import typer

from actors.webhooks import (
    DISABLE_AFTER_S,
    STANDARD_RETRIES,
    Delivery,
    Endpoint,
    EndpointPolicy,
    SecretFiles,
    WebhookStore,
    attempt,
    check_url,
    parse_retries,
)
from cli._common import DEFAULT_OUT, Json, Out, app, fail, fold, must_exist, plain, table
from messages import TEST_EVENT, LeadwrightError, TestEventData, WebhookEvent, new_id
from supervision.system import Stores, prepare

webhooks_app = typer.Typer(help="Webhooks: endpoints, their deliveries, and redelivery.")
app.add_typer(webhooks_app, name="webhooks")

T = TypeVar("T")
_STANDARD = ",".join(f"{r:g}" for r in STANDARD_RETRIES)


def _with_hooks(
    out: Path, work: Callable[[WebhookStore, SecretFiles], T], *, new: bool = False
) -> T:
    """Run ``work`` on the directory's webhook store and secrets (making the directory, if
    ``new``); its error, if any, as one line."""
    try:
        if new:
            prepare(out)
        else:
            must_exist(out)
        stores = Stores.open(out)
        try:
            return work(stores.webhooks, SecretFiles(out))
        finally:
            stores.close()
    except LeadwrightError as exc:
        fail(str(exc))


@webhooks_app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="Where to POST events: an http(s) URL.")],
    out: Out = DEFAULT_OUT,
    events: Annotated[
        str | None,
        typer.Option(help="Comma-separated event types (default: all), such as lead.completed."),
    ] = None,
    allow_private: Annotated[
        bool,
        typer.Option(help="Allow a loopback or private address (a receiver on this network)."),
    ] = False,
    retries: Annotated[
        str, typer.Option(help="Seconds before each retry, comma-separated.")
    ] = _STANDARD,
    disable_after: Annotated[
        float, typer.Option(min=1.0, help="Seconds of failures after which it is disabled.")
    ] = DISABLE_AFTER_S,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to answer.")] = 15.0,
    breaker_cooldown: Annotated[
        float, typer.Option(min=0.0, help="Seconds it is left alone after failures in a row.")
    ] = 30.0,
) -> None:
    """Send events to URL; prints its signing secret, this once."""
    chosen = [e.strip() for e in (events or "").split(",") if e.strip()]

    def write(store: WebhookStore, secrets: SecretFiles) -> tuple[Endpoint, str]:
        check_url(url, allow_private=allow_private)
        policy = EndpointPolicy(
            retries=parse_retries(retries),
            disable_after=disable_after,
            timeout=timeout,
            allow_private=allow_private,
            breaker_cooldown=breaker_cooldown,
        )
        endpoint = store.add(url.strip(), chosen, policy)
        try:
            return endpoint, secrets.make(endpoint.id)
        except OSError:
            store.remove(endpoint.id)
            raise

    try:
        endpoint, secret = _with_hooks(out, write, new=True)
    except OSError as exc:
        fail(f"{out}: cannot keep the signing secret ({exc.strerror or exc})")
    plain(f"endpoint {endpoint.id}: {endpoint.url} ({', '.join(endpoint.events)})")
    plain(f"signing secret, shown this once (kept in {SecretFiles(out).path(endpoint.id)}):")
    typer.echo(secret)


@webhooks_app.command("list")
def list_(out: Out = DEFAULT_OUT, json_output: Json = False) -> None:
    """Every endpoint, whether it is enabled, and its deliveries by status."""
    endpoints, counts = _with_hooks(out, lambda store, _: (store.endpoints(), store.counts()))
    if json_output:
        for e in endpoints:
            line = {
                "id": e.id,
                "url": e.url,
                "events": list(e.events),
                "state": e.state.value,
                "disabled_reason": e.disabled_reason,
                "deliveries": counts.get(e.id, {}),
            }
            typer.echo(json.dumps(line))
        return
    rows = []
    for e in endpoints:
        state = e.state.value + (f": {e.disabled_reason}" if e.disabled_reason else "")
        tally = " ".join(f"{k}={v}" for k, v in sorted(counts.get(e.id, {}).items()))
        rows.append([str(e.id), e.url, ", ".join(e.events), state, tally])
    table(["id", "url", "events", "state", "deliveries"], rows)


@webhooks_app.command("remove")
def remove(
    endpoint_id: Annotated[int, typer.Argument(help="The endpoint id.")], out: Out = DEFAULT_OUT
) -> None:
    """Stop sending to an endpoint, and forget it, its deliveries and its secret."""

    def write(store: WebhookStore, secrets: SecretFiles) -> None:
        store.remove(endpoint_id)
        secrets.forget(endpoint_id)

    _with_hooks(out, write)
    plain(f"endpoint {endpoint_id} removed")


@webhooks_app.command("enable")
def enable(
    endpoint_id: Annotated[int, typer.Argument(help="The endpoint id.")], out: Out = DEFAULT_OUT
) -> None:
    """Send to a disabled endpoint again, from its pending deliveries on."""
    _with_hooks(out, lambda store, _: store.enable(endpoint_id))
    plain(f"endpoint {endpoint_id} enabled")


@webhooks_app.command("test")
def send_test(
    endpoint_id: Annotated[int, typer.Argument(help="The endpoint id.")], out: Out = DEFAULT_OUT
) -> None:
    """Send a signed webhook.test event to an endpoint now, and say how it answered."""
    endpoint, secret = _with_hooks(
        out, lambda store, secrets: (store.need(endpoint_id), secrets.read(endpoint_id))
    )
    event = WebhookEvent(
        type=TEST_EVENT,
        timestamp=datetime.now(UTC),
        data=TestEventData(endpoint=endpoint.id, message="a test from leadwright webhooks test"),
    )
    import httpx2  # only this command sends one itself: loaded when it does

    async def send() -> tuple[int | None, str | None, float]:
        async with httpx2.AsyncClient(trust_env=False, timeout=None) as client:
            result = await attempt(
                client,
                endpoint.url,
                endpoint.policy,
                secret,
                f"msg_{new_id()}",
                event.model_dump_json(),
            )
        return result.status, result.error, result.duration_s

    status, error, took = anyio.run(send, backend="asyncio")
    if error is not None:
        fail(f"endpoint {endpoint.id}: {error}")
    plain(f"endpoint {endpoint.id} answered HTTP {status} in {took:.2f} s")


@webhooks_app.command("deliveries")
def deliveries(
    out: Out = DEFAULT_OUT,
    endpoint: Annotated[int | None, typer.Option(help="Only this endpoint's.")] = None,
    status: Annotated[
        str | None, typer.Option(help="Only those pending, delivered or failed.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="The latest N.")] = 50,
    json_output: Json = False,
) -> None:
    """The latest deliveries: each event to each endpoint, its status and last answer."""
    found = _with_hooks(
        out, lambda store, _: store.deliveries(endpoint=endpoint, status=status, limit=limit)
    )
    if json_output:
        for d in found:
            typer.echo(json.dumps(_delivery_json(d)))
        return
    rows = [
        [
            str(d.id),
            str(d.endpoint),
            d.event_type,
            d.lead_id or "",
            d.status.value,
            str(d.attempts),
            "" if d.last_status is None else str(d.last_status),
            fold(d.last_error or "", 60),
            _when(d),
        ]
        for d in found
    ]
    table(
        ["id", "endpoint", "event", "lead", "status", "attempts", "http", "last error", "next"],
        rows,
    )


@webhooks_app.command("redeliver")
def redeliver(
    delivery_id: Annotated[int, typer.Argument(help="The delivery id (see deliveries).")],
    out: Out = DEFAULT_OUT,
) -> None:
    """Send a delivery again, now, with the same webhook-id and a fresh retry schedule."""
    found = _with_hooks(out, lambda store, _: store.redeliver(delivery_id))
    plain(
        f"delivery {found.id} ({found.event_type} to endpoint {found.endpoint}) is due now; "
        "serve or the next run sends it"
    )


def _delivery_json(d: Delivery) -> dict[str, object]:
    return {
        "id": d.id,
        "event_id": d.event_id,
        "type": d.event_type,
        "endpoint": d.endpoint,
        "lead_id": d.lead_id,
        "status": d.status.value,
        "attempts": d.attempts,
        "last_status": d.last_status,
        "last_error": d.last_error,
        "last_at": d.last_at,
        "delivered_at": d.delivered_at,
        "next_at": d.next_at,
    }


def _when(d: Delivery) -> str:
    if d.status.value != "pending":
        return d.delivered_at or d.last_at or ""
    return datetime.fromtimestamp(d.next_at, UTC).isoformat(timespec="seconds")
