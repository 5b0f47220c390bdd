"""What a client sends the API: a JSON body read within its limit, the leads in it checked
(once: the inbox takes the verdict as it is), and the 4xx answer that says why one is
refused."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any, final

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.requests import ClientDisconnect

from actors import Claim, Receipt
from actors.intake import CheckedRecord, fields_of
from console._limits import StreamSlots
from console._models import Problem, SubmittedLead
from console._paths import api_lead
from supervision.system import System

BODY_LIMIT = 4 * 1024 * 1024
"""Bytes a ``POST`` body may hold."""
VALIDATE_LIMIT = 256 * 1024
"""Bytes a ``/v1/validate`` body may hold: a stage's output is a few kilobytes."""
BATCH_LIMIT = 1000
"""Leads one ``POST`` may hold."""
RETRY_AFTER_S = 2
"""What a client is told to wait when the inbox is full or the service is stopping."""


def problem(
    status: int, detail: str, *, errors: list[dict[str, Any]] | None = None, retry: bool = False
) -> JSONResponse:
    """An error answer: ``status``, what is wrong, and ``Retry-After`` when ``retry``."""
    headers = {"Retry-After": str(RETRY_AFTER_S)} if retry else None
    body = Problem(detail=detail, errors=errors or [])
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def open_stream(
    request: Request, stream: Callable[[], AsyncIterator[str]]
) -> AsyncIterator[str] | Response:
    """The stream ``stream()`` opens, in one of the server's event-stream slots, or a 503
    when all are taken (and then it is not opened)."""
    slots: StreamSlots = request.app.state.streams
    if slots.open >= slots.limit:
        return problem(
            503, f"{slots.limit} event streams are open already; retry later", retry=True
        )
    held = slots.take(stream())
    assert held is not None, "a slot was free a moment ago, on this event loop"
    return held


async def read_body(request: Request, limit: int = BODY_LIMIT) -> bytes | Response:
    """The JSON body, read up to ``limit`` bytes, or the 4xx that says why not."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        return problem(415, "send the body as application/json")
    declared = request.headers.get("content-length")
    if declared is not None and (not _is_number(declared) or int(declared) > limit):
        return problem(413, f"the body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return problem(413, f"the body is over {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        # The client went, or its connection was closed for sending too slowly.
        return problem(400, "the body was not sent in time")
    return b"".join(chunks)


def _is_number(text: str) -> bool:
    """ASCII digits alone: ``str.isdigit`` also takes "²", which ``int`` refuses."""
    return text.isascii() and text.isdigit()


def parse_json(body: bytes) -> Any:
    """``body`` as JSON; ``ValueError`` when it is not, or when an object in it names one
    key twice (which JSON parsers settle differently, so it is refused, not guessed)."""
    return json.loads(body, object_pairs_hook=_without_repeats)


def _without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"the key {key[:100]!r} appears twice in one object")
        found[key] = value
    return found


def read_leads(body: bytes) -> list[CheckedRecord] | Response:
    """The leads of a body, each checked as a file's records are, or a 4xx."""
    try:
        data = parse_json(body)
    except (ValueError, RecursionError) as exc:
        return problem(422, f"the body is not JSON ({str(exc)[:200]})")
    items = data if isinstance(data, list) else [data]
    if not items:
        return problem(422, "the array is empty; send at least one lead")
    if len(items) > BATCH_LIMIT:
        return problem(413, f"at most {BATCH_LIMIT} leads per request")
    leads: list[CheckedRecord] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        checked = CheckedRecord.of(fields_of(item, f"lead {index}"))
        if checked.reasons:
            errors.append({"index": index, "id": checked.lead_id, "reasons": list(checked.reasons)})
        leads.append(checked)
    if errors:
        return problem(
            422,
            f"{len(errors)} of {len(items)} leads are invalid; nothing was submitted",
            errors=errors,
        )
    return leads


@final
class HttpInput:
    """Every lead posted to this process, as one input whose lines are numbered in the
    order the posts arrived: one transaction a request, not two."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.input_id: int | None = None
        self.lines = 0

    async def submit(self, leads: list[CheckedRecord], claim: Claim | None = None) -> list[Receipt]:
        """Submit ``leads`` as the next lines, under ``claim`` (an idempotency key)."""
        if self.input_id is None:
            self.input_id = await self.system.open_input("http")
        first = self.lines + 1
        self.lines += len(leads)
        rows = list(enumerate(leads, start=first))
        return await self.system.submit(self.input_id, rows, claim)


def submitted(receipt: Receipt) -> SubmittedLead:
    """What the answer to a ``POST`` says of one lead."""
    return SubmittedLead(
        id=receipt.lead_id,
        record=receipt.record,
        status=receipt.outcome,
        submission=receipt.submission.value,
        reason=receipt.reason,
        location=api_lead(receipt.lead_id),
    )
