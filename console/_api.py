"""The HTTP API under ``/v1``: leads in, their status out, outcomes as server-sent events,
and the validator as a service. Every answer to a client's mistake is a 4xx with the
reason, never a 500.

Each endpoint is a function of the request and ``Api``, the live system it works on,
which the app keeps in its state (``install_api``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal, final

import anyio
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import ValidationError

from actors import PENDING, Receipt
from actors.intake import COLUMNS, NAME_FIELDS
from actors.validation import RuleContext, check
from console._api_input import (
    BATCH_LIMIT,
    VALIDATE_LIMIT,
    HttpInput,
    open_stream,
    parse_json,
    problem,
    read_body,
    read_leads,
    submitted,
)
from console._api_views import lead_page, lead_status
from console._idempotency import KEY_LIMIT, IdempotencyStore, KeyClaim, Stored, digest
from console._models import (
    Accepted,
    LeadPage,
    LeadStatus,
    LiveDrift,
    Problem,
    ValidationVerdict,
    Violation,
)
from console._security import require_token
from messages import LeadOutcome, LeadScore, Outcome, OutreachDraft, ResearchResult, Stage
from supervision.system import Gate, System

MAX_VIOLATIONS = 100
"""Violations a ``/v1/validate`` verdict lists at most; ``more`` counts the rest."""
SSE_BUFFER = 1000
"""Outcomes held for a slow event client before it is disconnected (it may reconnect)."""

CONTRACTS: dict[Stage, type[ResearchResult | LeadScore | OutreachDraft]] = {
    Stage.RESEARCH: ResearchResult,
    Stage.SCORING: LeadScore,
    Stage.WRITING: OutreachDraft,
}
"""The output each stage is checked as."""
STAGE_ALIASES = {"score": Stage.SCORING, "draft": Stage.WRITING}
"""The names ``/v1/validate/{stage}`` was published with before the stages had one
vocabulary; still taken."""
StageName = Literal["research", "scoring", "writing", "score", "draft"]

_LEAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A lead, with the columns of CSV and JSONL intake (export headers such as "
    '"First Name" are matched too); an email, or a name and a company, is required; '
    "unknown keys are ignored.",
    "properties": {
        name: {"type": ["string", "integer", "number", "boolean", "null"]} for name in COLUMNS
    },
    "anyOf": [{"required": ["email"]}] + [{"required": [name, "company"]} for name in NAME_FIELDS],
}
_LEADS_SCHEMA: dict[str, Any] = {
    "oneOf": [_LEAD_SCHEMA, {"type": "array", "items": _LEAD_SCHEMA, "maxItems": BATCH_LIMIT}]
}
_OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The stage's output as its contract's JSON (run.py contracts): "
    "research_result, lead_score or outreach_draft.",
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem} for code in (400, 401, 404, 409, 413, 415, 422, 429, 503)
}


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI of a required JSON body read by hand (for 413 and 415 of our own)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


@final
class LiveApi:
    """What the endpoints work on: the live system, the gate that closes intake when it
    stops, the idempotency keys, the input posted leads join, and the ICP's rules."""

    def __init__(self, system: System, gate: Gate, idempotency: IdempotencyStore) -> None:
        self.system = system
        self.gate = gate
        self.idempotency = idempotency
        self.http_input = HttpInput(system)
        self.rules: RuleContext = system.config.icp.rules()


def _live_api(request: Request) -> LiveApi:
    api: LiveApi = request.app.state.api
    return api


Api = Annotated[LiveApi, Depends(_live_api)]
router = APIRouter(prefix="/v1", dependencies=[Depends(require_token)], responses=_ERRORS)


def install_api(app: FastAPI, system: System, gate: Gate) -> None:
    """Serve the ``/v1`` routes on ``app``, over ``system``."""
    app.state.api = LiveApi(system, gate, IdempotencyStore(system.journal_file()))
    app.include_router(router)


@router.post(
    "/leads", status_code=202, response_model=Accepted, openapi_extra=_json_body(_LEADS_SCHEMA)
)
async def post_leads(request: Request, api: Api) -> Response:
    """Submit one lead or an array of up to 1,000. Answered 202 once they are durable."""
    if not api.gate.open:
        return problem(503, "the service is stopping; retry later", retry=True)
    body = await read_body(request)
    if isinstance(body, Response):
        return body
    leads = read_leads(body)
    if isinstance(leads, Response):
        return leads
    key = request.headers.get("idempotency-key")
    if key is not None and not 0 < len(key.strip()) <= KEY_LIMIT:
        return problem(
            400, f"Idempotency-Key must hold 1 to {KEY_LIMIT} characters; or leave it out"
        )
    if key is not None and (answered := await _answered(api, key, body)) is not None:
        return answered
    if len(leads) > api.system.config.inbox_limit:
        return problem(413, f"at most {api.system.config.inbox_limit} leads fit the inbox")
    if api.system.inbox_room() < len(leads):
        return problem(429, "the inbox is full; retry after a while", retry=True)
    claim = None if key is None else KeyClaim(key, body, _answer)
    receipts = await api.http_input.submit(leads, claim)
    if claim is not None and claim.stored is not None:
        # Another request took the key between the look above and this transaction.
        return _replayed(claim.stored, body)
    text = _answer(receipts)
    headers = {"Location": submitted(receipts[0]).location} if len(receipts) == 1 else None
    return Response(text, 202, headers=headers, media_type="application/json")


def _answer(receipts: list[Receipt]) -> str:
    """The body of the 202 for ``receipts``, as an idempotency key keeps it."""
    return Accepted(leads=[submitted(receipt) for receipt in receipts]).model_dump_json()


async def _answered(api: LiveApi, key: str, body: bytes) -> Response | None:
    """The answer already given to ``key`` (409 if it came with another body), or None."""
    stored = await api.idempotency.get(key)
    return None if stored is None else _replayed(stored, body)


def _replayed(stored: Stored, body: bytes) -> Response:
    """The stored answer again for the same body; 409 for another body."""
    if stored.body_sha256 != digest(body):
        return problem(409, "this Idempotency-Key was used with another body")
    return Response(stored.response, stored.status, media_type="application/json")


@router.get("/leads/{lead_id:path}", response_model=LeadStatus)
async def get_lead(lead_id: str, api: Api) -> Response:
    """A lead's status (pending, or its outcome), its CRM row, and its trace."""
    status = await anyio.to_thread.run_sync(lead_status, api.system.stores, lead_id)
    if status is None:
        return problem(404, f"no lead {lead_id!r} here")
    return JSONResponse(status.model_dump())


@router.get("/leads", response_model=LeadPage)
async def list_leads(
    api: Api,
    outcome: Annotated[str | None, Query(description="An outcome, or pending.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> Response:
    """Leads in the order submitted, a page at a time."""
    known = {o.value for o in Outcome} | {PENDING}
    if outcome is not None and outcome not in known:
        return problem(422, f"outcome must be one of: {', '.join(sorted(known))}")
    stores = api.system.stores
    page = await anyio.to_thread.run_sync(
        lambda: lead_page(stores, after=cursor, limit=limit, outcome=outcome)
    )
    return JSONResponse(page.model_dump())


@router.get("/drift", response_model=LiveDrift)
async def drift(api: Api) -> Response:
    """Drift of the live system against the baseline (``--baseline``), by window."""
    config, now = api.system.config, api.system.statistics()
    report = now.live_drift
    live = LiveDrift(
        baseline=config.baseline_name or None,
        window=config.drift_window,
        leads_in_window=now.window_leads,
        windows_judged=now.drift_windows,
        drift=None if report is None else report.drift,
        columns=[] if report is None else report.to_dict()["columns"],
    )
    return JSONResponse(live.model_dump())


@router.get("/events", response_class=StreamingResponse)
async def events(request: Request, api: Api) -> Response:
    """Server-sent events: one ``outcome`` event per lead that ends, as it ends."""
    stream = open_stream(request, lambda: _outcome_events(api.system))
    if isinstance(stream, Response):
        return stream
    return StreamingResponse(stream, media_type="text/event-stream")


def _outcome_events(system: System) -> AsyncIterator[str]:
    """The event stream of outcomes from this moment on; it stops listening when closed,
    or when it falls ``SSE_BUFFER`` outcomes behind (the client may reconnect)."""
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

    return stream()


@router.post(
    "/validate/{stage}",
    response_model=ValidationVerdict,
    openapi_extra=_json_body(_OUTPUT_SCHEMA),
)
async def validate(stage: StageName, request: Request, api: Api) -> Response:
    """The validator as a service: one stage's output (its contract's JSON) in, the
    verdict of the same rule library out. No lead's state is touched."""
    contract = CONTRACTS[STAGE_ALIASES.get(stage) or Stage(stage)]
    body = await read_body(request, VALIDATE_LIMIT)
    if isinstance(body, Response):
        return body
    # Parsing and the rules are CPU work on untrusted input: off the event loop, so that
    # a large output never stalls the service's other answers.
    verdict = await anyio.to_thread.run_sync(_judge, contract, body, api.rules)
    if isinstance(verdict, Response):
        return verdict
    return JSONResponse(verdict.model_dump())


def _judge(
    contract: type[ResearchResult | LeadScore | OutreachDraft], body: bytes, rules: RuleContext
) -> ValidationVerdict | Response:
    """The verdict on ``body``, at most ``MAX_VIOLATIONS`` violations listed; or a 422."""
    try:
        parse_json(body)
        output = contract.model_validate_json(body)
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()[:50]]
        return problem(422, f"not a {contract.__name__}", errors=errors)
    except (ValueError, RecursionError) as exc:
        return problem(422, f"the body is not JSON ({str(exc)[:200]})")
    report = check(output, rules)
    found = [Violation(rule=v.rule, reason=v.reason, then="reask") for v in report.reask]
    found += [Violation(rule=v.rule, reason=v.reason, then="review") for v in report.review]
    return ValidationVerdict(
        passed=report.passed,
        violations=found[:MAX_VIOLATIONS],
        more=max(0, len(found) - MAX_VIOLATIONS),
    )
