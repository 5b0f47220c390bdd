"""The HTTP API under ``/v1``: leads in, their status out, outcomes as server-sent events,
and the validator as a service. Every answer to a client's mistake is a 4xx with the
reason, never a 500."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal, final

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import ValidationError

from actors import PENDING, Receipt
from actors.intake import COLUMNS, REQUIRED_COLUMNS, check_record, fields_of, lead_id_for
from actors.validation import check
from console._idempotency import IdempotencyStore, digest
from console._models import (
    Accepted,
    LeadLine,
    LeadPage,
    LeadStatus,
    LiveDrift,
    Problem,
    RawReplies,
    SubmittedLead,
    TraceStep,
    ValidationVerdict,
    Violation,
)
from console._security import require_token
from console._ui_views import raw_replies
from messages import LeadOutcome, LeadScore, Outcome, OutreachDraft, RawValue, ResearchResult
from supervision.system import Gate, System, entry_detail

BODY_LIMIT = 4 * 1024 * 1024
"""Bytes a ``POST`` body may hold."""
BATCH_LIMIT = 1000
"""Leads one ``POST`` may hold."""
RETRY_AFTER_S = 2
"""What a client is told to wait when the inbox is full or the service is stopping."""
SSE_BUFFER = 1000
"""Outcomes held for a slow event client before it is disconnected (it may reconnect)."""

STAGES: dict[str, type[ResearchResult | LeadScore | OutreachDraft]] = {
    "research": ResearchResult,
    "score": LeadScore,
    "draft": OutreachDraft,
}

_LEAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A lead, with the columns of CSV and JSONL intake; unknown keys are ignored.",
    "properties": {
        name: {"type": ["string", "integer", "number", "boolean", "null"]} for name in COLUMNS
    },
    "required": list(REQUIRED_COLUMNS),
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem} for code in (401, 404, 409, 413, 415, 422, 429, 503)
}


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI of a required JSON body read by hand (for 413 and 415 of our own)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def problem(
    status: int, detail: str, *, errors: list[dict[str, Any]] | None = None, retry: bool = False
) -> JSONResponse:
    headers = {"Retry-After": str(RETRY_AFTER_S)} if retry else None
    body = Problem(detail=detail, errors=errors or [])
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def api_router(system: System, gate: Gate, idempotency: IdempotencyStore) -> APIRouter:
    """The ``/v1`` routes over one live system."""
    router = APIRouter(prefix="/v1", dependencies=[Depends(require_token)], responses=_ERRORS)
    ledger = system.stores.ledger
    http_input = HttpInput(system)
    icp = system.config.icp
    rules = icp.rules()

    @router.post(
        "/leads",
        status_code=202,
        response_model=Accepted,
        openapi_extra=_json_body(
            {
                "oneOf": [
                    _LEAD_SCHEMA,
                    {"type": "array", "items": _LEAD_SCHEMA, "maxItems": BATCH_LIMIT},
                ]
            }
        ),
    )
    async def post_leads(request: Request) -> Response:
        """Submit one lead or an array of up to 1,000. Answered 202 once they are durable."""
        if not gate.open:
            return problem(503, "the service is stopping; retry later", retry=True)
        body = await _body(request)
        if isinstance(body, Response):
            return body
        parsed = _leads(body)
        if isinstance(parsed, Response):
            return parsed
        key = request.headers.get("idempotency-key")
        if key is not None:
            stored = await idempotency.get(key)
            if stored is not None:
                if stored.body_sha256 != digest(body):
                    return problem(409, "this Idempotency-Key was used with another body")
                return Response(stored.response, stored.status, media_type="application/json")
        if len(parsed) > system.config.inbox_limit:
            return problem(413, f"at most {system.config.inbox_limit} leads fit the inbox")
        if system.inbox_room() < len(parsed):
            return problem(429, "the inbox is full; retry after a while", retry=True)
        receipts = await http_input.submit(parsed)
        accepted = Accepted(leads=[_submitted(receipt) for receipt in receipts])
        text = accepted.model_dump_json()
        if key is not None:
            await idempotency.put(key, body, 202, text)
        headers = {"Location": accepted.leads[0].location} if len(receipts) == 1 else None
        return Response(text, 202, headers=headers, media_type="application/json")

    @router.get("/leads/{lead_id}", response_model=LeadStatus)
    async def get_lead(lead_id: str) -> Response:
        """A lead's status (pending, or its outcome), its CRM row, and its trace."""
        row = await anyio.to_thread.run_sync(ledger.find, lead_id)
        if row is None:
            return problem(404, f"no lead {lead_id!r} here")
        crm = await anyio.to_thread.run_sync(system.stores.crm.row, lead_id)
        journal = system.stores.journal
        entries = await anyio.to_thread.run_sync(journal.trace, lead_id) if journal else []
        items = await anyio.to_thread.run_sync(lambda: system.stores.review.items(lead_id=lead_id))
        trace = [
            TraceStep(
                kind=e.kind,
                producer=e.producer,
                attempt=e.attempt,
                approved=e.approved,
                at=e.created_at.isoformat(),
                detail=entry_detail(e),
            )
            for e in entries
        ]
        raw = raw_replies(items, entries)
        status = LeadStatus(
            id=row.lead_id,
            record=row.record,
            status=row.outcome,
            reason=row.reason,
            crm=crm,
            trace=trace,
            raw_replies=RawReplies(
                research=raw.get("research"), scoring=raw.get("scoring"), writing=raw.get("writing")
            ),
        )
        return JSONResponse(status.model_dump())

    @router.get("/leads", response_model=LeadPage)
    async def list_leads(
        outcome: Annotated[str | None, Query(description="An outcome, or pending.")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: Annotated[int, Query(ge=0, le=2**62)] = 0,
    ) -> Response:
        """Leads in the order submitted, a page at a time."""
        known = {o.value for o in Outcome} | {PENDING}
        if outcome is not None and outcome not in known:
            return problem(422, f"outcome must be one of: {', '.join(sorted(known))}")
        rows = await anyio.to_thread.run_sync(
            lambda: ledger.page(after=cursor, limit=limit, outcome=outcome)
        )
        page = LeadPage(
            leads=[LeadLine(id=r.lead_id, record=r.record, status=r.outcome, reason=r.reason)
                   for r in rows],
            next_cursor=rows[-1].record if len(rows) == limit else None,
        )  # fmt: skip
        return JSONResponse(page.model_dump())

    @router.get("/drift", response_model=LiveDrift)
    async def drift() -> Response:
        """Drift of the live system against the baseline (``--baseline``), by window."""
        report = system.live_drift
        live = LiveDrift(
            baseline=system.config.baseline_name or None,
            window=system.config.drift_window,
            leads_in_window=system.profile.window_leads,
            windows_judged=system.windows,
            drift=None if report is None else report.drift,
            columns=[] if report is None else report.to_dict()["columns"],
        )
        return JSONResponse(live.model_dump())

    @router.get("/events", response_class=StreamingResponse)
    async def events() -> StreamingResponse:
        """Server-sent events: one ``outcome`` event per lead that ends, as it ends."""
        send, receive = anyio.create_memory_object_stream[LeadOutcome](SSE_BUFFER)

        def heard(outcome: LeadOutcome) -> None:
            try:
                send.send_nowait(outcome)
            except (anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
                send.close()

        stop = system.listen(heard)

        async def stream() -> AsyncIterator[str]:
            try:
                yield ": outcomes of leads as they end\n\n"
                async with receive:
                    async for outcome in receive:
                        data = {
                            "id": outcome.lead_id,
                            "record": outcome.record,
                            "outcome": outcome.outcome.value,
                            "reason": outcome.reason,
                        }
                        yield f"event: outcome\ndata: {json.dumps(data)}\n\n"
            finally:
                stop()
                send.close()

        return StreamingResponse(stream(), media_type="text/event-stream")

    @router.post(
        "/validate/{stage}",
        response_model=ValidationVerdict,
        openapi_extra=_json_body(
            {
                "type": "object",
                "description": "The stage's output as its contract's JSON (run.py contracts): "
                "research_result, lead_score or outreach_draft.",
            }
        ),
    )
    async def validate(stage: Literal["research", "score", "draft"], request: Request) -> Response:
        """The validator as a service: one stage's output (its contract's JSON) in, the
        verdict of the same rule library out. No lead's state is touched."""
        contract = STAGES[stage]
        body = await _body(request)
        if isinstance(body, Response):
            return body
        try:
            output = contract.model_validate_json(body)
        except ValidationError as exc:
            errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()[:50]]
            return problem(422, f"not a {contract.__name__}", errors=errors)
        report = check(output, rules)
        verdict = ValidationVerdict(
            passed=report.passed,
            violations=[Violation(rule=v.rule, reason=v.reason, then="reask") for v in report.reask]
            + [Violation(rule=v.rule, reason=v.reason, then="review") for v in report.review],
        )
        return JSONResponse(verdict.model_dump())

    return router


@final
class HttpInput:
    """Every lead posted to this process, as one input whose lines are numbered in the
    order the posts arrived: one transaction a request, not two."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.input_id: int | None = None
        self.lines = 0

    async def submit(self, leads: list[dict[str, RawValue]]) -> list[Receipt]:
        if self.input_id is None:
            self.input_id = await self.system.open_input("http")
        first = self.lines + 1
        self.lines += len(leads)
        return await self.system.submit(self.input_id, list(enumerate(leads, start=first)))


async def _body(request: Request) -> bytes | Response:
    """The JSON body, read up to ``BODY_LIMIT``, or the 4xx that says why not."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        return problem(415, "send the body as application/json")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > BODY_LIMIT):
        return problem(413, f"the body is over {BODY_LIMIT} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > BODY_LIMIT:
            return problem(413, f"the body is over {BODY_LIMIT} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _leads(body: bytes) -> list[dict[str, RawValue]] | Response:
    """The leads of a body, each checked as intake checks a CSV row, or a 4xx."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        return problem(422, f"the body is not JSON ({str(exc)[:200]})")
    items = data if isinstance(data, list) else [data]
    if not items:
        return problem(422, "the array is empty; send at least one lead")
    if len(items) > BATCH_LIMIT:
        return problem(413, f"at most {BATCH_LIMIT} leads per request")
    leads: list[dict[str, RawValue]] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        fields = fields_of(item, f"lead {index}")
        checked = check_record(fields)
        if isinstance(checked, list):
            errors.append({"index": index, "id": lead_id_for(fields), "reasons": checked})
        leads.append(fields)
    if errors:
        return problem(
            422,
            f"{len(errors)} of {len(items)} leads are invalid; nothing was submitted",
            errors=errors,
        )
    return leads


def _submitted(receipt: Receipt) -> SubmittedLead:
    return SubmittedLead(
        id=receipt.lead_id,
        record=receipt.record,
        status=receipt.outcome,
        submission=receipt.submission.value,
        reason=receipt.reason,
        location=f"/v1/leads/{receipt.lead_id}",
    )
