"""The review console: server-rendered pages over the live system, with htmx for the
parts that update in place (the edited draft's verdict) and server-sent events for the
dashboard.

Lead data is untrusted: templates autoescape everything, pages forbid inline scripts
(Content-Security-Policy), and every change goes through ``supervision.system``'s
operations, with the session's reviewer and a CSRF-checked form.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import FormData

from console._token import same_token
from console._ui_dashboard import Dashboard
from console._ui_drift import DriftPlots
from console._ui_session import (
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    Session,
    Sessions,
    check_csrf,
    set_cookie,
)
from console._ui_views import highlight, inbox, lead_view, letters, spans
from messages import UsageError
from supervision.system import (
    UNOVERRIDABLE,
    DraftEdit,
    DraftRefused,
    System,
    approve,
    draft_violations,
    export_csv,
    open_item,
    reject,
    replay,
    replayable,
)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""No inline script or style runs, so markup smuggled in through lead data stays inert
even where escaping were to fail."""
STATIC = Path(__file__).resolve().parent / "static"
"""htmx (pinned), the console's script and its style sheet."""
REVIEWER_LIMIT = 80
"""Characters a reviewer's name may have."""


def templates() -> Environment:
    """The console's Jinja environment: every template autoescaped."""
    env = Environment(
        loader=PackageLoader("console", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["highlight"] = highlight
    env.globals["spans"] = spans
    env.globals["UNOVERRIDABLE"] = UNOVERRIDABLE
    return env


def ui_router(system: System) -> APIRouter:
    """The console's pages, served at ``/``."""
    router = APIRouter(include_in_schema=False)
    env = templates()
    sessions = Sessions()
    stores = system.stores
    board = Dashboard(system)
    drift = DriftPlots(system)

    def page(
        request: Request, name: str, session: Session | None, status: int = 200, **context: Any
    ) -> HTMLResponse:
        html = env.get_template(name).render(
            session=session, msg=request.query_params.get("msg", ""), **context
        )
        response = HTMLResponse(html, status_code=status)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    async def posted(request: Request) -> tuple[Session, FormData]:
        session = sessions.need(request)
        form = await request.form()
        check_csrf(form, session.csrf)
        return session, form

    def back(path: str, msg: str, form: FormData | None = None) -> RedirectResponse:
        """To ``path`` (or the form's own page, ``next``) with a message."""
        wanted = form.get("next") if form is not None else None
        if isinstance(wanted, str) and wanted in ("/", "/dead"):
            path = wanted
        return RedirectResponse(f"{path}?{urlencode({'msg': msg})}", status_code=303)

    # Signing in

    @router.get("/signin", response_class=HTMLResponse)
    async def signin_form(request: Request) -> Response:
        token = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(32)
        response = page(request, "signin.html", None, csrf=token, error="")
        set_cookie(response, SIGNIN_COOKIE, token)
        return response

    @router.post("/signin", response_class=HTMLResponse)
    async def signin(request: Request) -> Response:
        form = await request.form()
        check_csrf(form, request.cookies.get(SIGNIN_COOKIE, ""))
        token = str(form.get("token", "")).strip()
        reviewer = " ".join(str(form.get("reviewer", "")).split())[:REVIEWER_LIMIT]
        error = ""
        if not same_token(token, request.app.state.token):
            error = "That token is not this server's; see LEADWRIGHT_TOKEN or the token file."
        elif not reviewer:
            error = "Give your name: every decision records who made it."
        if error:
            csrf = str(form.get("csrf", ""))
            return page(request, "signin.html", None, 401, csrf=csrf, error=error)
        session = sessions.open(reviewer)
        response = RedirectResponse("/", status_code=303)
        set_cookie(response, SESSION_COOKIE, session.id)
        response.delete_cookie(SIGNIN_COOKIE, path="/")
        return response

    @router.post("/signout")
    async def signout(request: Request) -> Response:
        session, _ = await posted(request)
        sessions.close(session)
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # The inbox

    @router.get("/", response_class=HTMLResponse)
    async def inbox_page(
        request: Request, stage: str = "", failure: str = "", rule: str = ""
    ) -> Response:
        session = sessions.need(request)
        view = await anyio.to_thread.run_sync(
            lambda: inbox(stores, stage=stage, failure=failure, rule=rule)
        )
        return page(
            request, "inbox.html", session, inbox=view, stage=stage, failure=failure, rule=rule
        )

    @router.post("/inbox/bulk")
    async def bulk(request: Request) -> Response:
        session, form = await posted(request)
        ids = [int(i) for i in form.getlist("ids") if isinstance(i, str) and i.isdigit()]
        action = form.get("action")
        reason = str(form.get("reason", "")).strip()
        if not ids:
            return back("/", "Select at least one item.")
        done: list[str] = []
        errors: list[str] = []
        for item_id in ids:
            try:
                if action == "approve":
                    decision = await approve(system, item_id, reviewer=session.reviewer)
                    done.append(f"#{item_id} {decision.outcome}")
                elif action == "reject":
                    await _reject(item_id, reason, session.reviewer)
                    done.append(f"#{item_id} rejected")
                else:
                    return back("/", f"Unknown action {action!r}: approve or reject.")
            except UsageError as exc:
                errors.append(str(exc))
        summary = f"{action}: {', '.join(done) or 'nothing'}."
        return back("/", " ".join([summary, *errors]))

    async def _reject(item_id: int, reason: str, reviewer: str) -> None:
        await anyio.to_thread.run_sync(lambda: reject(stores, item_id, reason, reviewer=reviewer))

    # A lead

    async def lead_page(
        request: Request, session: Session, lead_id: str, status: int = 200, **extra: Any
    ) -> Response:
        view = await anyio.to_thread.run_sync(lambda: lead_view(stores, lead_id))
        if view is None:
            return page(request, "missing.html", session, 404, what=f"lead {lead_id!r}")
        context: dict[str, Any] = {"edit": None, "violations": None, "error": ""}
        item = view.open_item
        if item is not None and view.draft is not None and "violations" not in extra:
            context["violations"] = list(item.request.violations)
        context.update(extra)
        return page(request, "lead.html", session, status, view=view, **context)

    @router.get("/leads/{lead_id}", response_class=HTMLResponse)
    async def lead(request: Request, lead_id: str) -> Response:
        return await lead_page(request, sessions.need(request), lead_id)

    async def item_lead(item_id: int) -> str:
        item = await anyio.to_thread.run_sync(lambda: stores.review.item(item_id))
        if item is None:
            raise HTTPException(404, f"no review item {item_id}; see the inbox")
        return item.lead_id

    @router.post("/items/{item_id}/approve")
    async def approve_one(request: Request, item_id: int) -> Response:
        session, form = await posted(request)
        lead_id = await item_lead(item_id)
        note = str(form.get("note", "")).strip()
        try:
            decision = await approve(
                system,
                item_id,
                reviewer=session.reviewer,
                note=note,
                override=form.get("override") == "on",
            )
        except UsageError as exc:
            return back(f"/leads/{lead_id}", f"#{item_id}: {exc}", form)
        return back(f"/leads/{lead_id}", f"Approved #{item_id}: {decision.outcome}.", form)

    @router.post("/items/{item_id}/edit", response_class=HTMLResponse)
    async def edit(request: Request, item_id: int) -> Response:
        session, form = await posted(request)
        lead_id = await item_lead(item_id)
        change = DraftEdit(str(form.get("subject", "")), str(form.get("body", "")))
        note = str(form.get("note", "")).strip()
        if form.get("intent") == "check":
            try:
                item = await anyio.to_thread.run_sync(lambda: open_item(stores, item_id))
                _, found = draft_violations(system, item, change)
            except UsageError as exc:
                return page(request, "_verdict.html", session, 409, violations=[], error=str(exc))
            return page(request, "_verdict.html", session, violations=list(found), error="")
        try:
            decision = await approve(
                system,
                item_id,
                reviewer=session.reviewer,
                note=note,
                edit=change,
                override=form.get("override") == "on",
            )
        except DraftRefused as exc:
            refused = {"edit": change, "violations": list(exc.violations), "error": str(exc)}
            return await lead_page(request, session, lead_id, 422, **refused)
        except UsageError as exc:
            return await lead_page(request, session, lead_id, 409, edit=change, error=str(exc))
        return back(f"/leads/{lead_id}", f"Edited and approved: the lead is {decision.outcome}.")

    @router.post("/items/{item_id}/reject")
    async def reject_one(request: Request, item_id: int) -> Response:
        session, form = await posted(request)
        lead_id = await item_lead(item_id)
        try:
            await _reject(item_id, str(form.get("reason", "")), session.reviewer)
        except UsageError as exc:
            return back(f"/leads/{lead_id}", str(exc))
        return back(f"/leads/{lead_id}", "Rejected: the lead is failed.")

    # Dead letters

    @router.get("/dead", response_class=HTMLResponse)
    async def dead(request: Request, status: str = "") -> Response:
        session = sessions.need(request)
        view = await anyio.to_thread.run_sync(lambda: letters(stores, status=status))
        return page(request, "dead.html", session, letters=view, chosen=status)

    @router.get("/dead/{letter_id}", response_class=HTMLResponse)
    async def dead_letter(request: Request, letter_id: int) -> Response:
        session = sessions.need(request)
        letter = await anyio.to_thread.run_sync(lambda: stores.dead.item(letter_id))
        if letter is None:
            return page(request, "missing.html", session, 404, what=f"dead letter {letter_id}")
        return page(request, "letter.html", session, letter=letter, payload=_pretty(letter.payload))

    @router.post("/dead/replay")
    async def replay_letters(request: Request) -> Response:
        _, form = await posted(request)
        rejected = form.get("rejected") == "on"
        ids = [int(i) for i in form.getlist("ids") if isinstance(i, str) and i.isdigit()]
        done: list[str] = []
        errors: list[str] = []
        try:
            chosen = ids or await anyio.to_thread.run_sync(lambda: replayable(stores, None))
        except UsageError as exc:
            return back("/dead", str(exc))
        for letter_id in chosen:
            try:
                decision = await replay(system, letter_id, rejected=rejected)
                done.append(f"#{letter_id} {decision.outcome}")
            except UsageError as exc:
                errors.append(str(exc))
        return back("/dead", " ".join([f"Replayed: {', '.join(done) or 'nothing'}.", *errors]))

    # The dashboard

    @router.get("/dashboard", response_class=HTMLResponse)
    async def dashboard(request: Request) -> Response:
        session = sessions.need(request)
        now = await board.read()
        return page(request, "dashboard.html", session, counts=now, rules=now["rules"])

    @router.get("/dashboard/stream")
    async def dashboard_stream(request: Request) -> StreamingResponse:
        sessions.need(request)
        return StreamingResponse(
            board.stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    @router.get("/dashboard/drift", response_class=HTMLResponse)
    async def drift_page(request: Request) -> Response:
        session = sessions.need(request)
        return page(request, "drift.html", session, drift=await drift.view())

    @router.get("/dashboard/drift/{name}")
    async def drift_plot(request: Request, name: str) -> Response:
        sessions.need(request)
        path = drift.plot(name)
        if path is None:
            raise HTTPException(404, f"no drift plot {name!r}; open /dashboard/drift first")
        return FileResponse(path, media_type="image/png")

    # The CRM

    @router.get("/crm", response_class=HTMLResponse)
    async def crm(request: Request) -> Response:
        session = sessions.need(request)
        rows = await anyio.to_thread.run_sync(stores.crm.rows)
        return page(request, "crm.html", session, rows=rows)

    @router.get("/crm.csv")
    async def crm_csv(request: Request) -> Response:
        sessions.need(request)
        text = await anyio.to_thread.run_sync(lambda: export_csv(stores))
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="crm.csv"'},
        )

    return router


def _pretty(payload: str) -> str:
    try:
        return json.dumps(json.loads(payload), indent=2, ensure_ascii=False)
    except ValueError:
        return payload
