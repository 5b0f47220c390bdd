"""Signing in and out: the server's bearer token once, and a reviewer's name that every
decision records."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from console._security import client_address, count_failure, refuse_if_throttled
from console._token import same_token
from console._ui_page import Ui, read_form
from console._ui_session import SESSION_COOKIE, SIGNIN_COOKIE, check_csrf, set_cookie

REVIEWER_LIMIT = 80
"""Characters a reviewer's name may have."""

router = APIRouter(include_in_schema=False)


@router.get("/signin", response_class=HTMLResponse)
async def signin_form(request: Request, ui: Ui) -> Response:
    token = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(32)
    response = ui.page(request, "signin.html", None, csrf=token, error="")
    set_cookie(response, SIGNIN_COOKIE, token)
    return response


@router.post("/signin", response_class=HTMLResponse)
async def signin(request: Request, ui: Ui) -> Response:
    refuse_if_throttled(request)
    form = await read_form(request)
    check_csrf(form, request.cookies.get(SIGNIN_COOKIE, ""))
    token = str(form.get("token", "")).strip()
    reviewer = " ".join(str(form.get("reviewer", "")).split())[:REVIEWER_LIMIT]
    error = ""
    if not same_token(token, request.app.state.token):
        count_failure(request, "signin")
        error = "That token is not this server's; see LEADWRIGHT_TOKEN or the token file."
    elif not reviewer:
        error = "Give your name: every decision records who made it."
    if error:
        csrf = str(form.get("csrf", ""))
        return ui.page(request, "signin.html", None, 401, csrf=csrf, error=error)
    request.app.state.throttle.succeeded(client_address(request))
    session = await ui.sessions.open(reviewer)
    response = RedirectResponse("/", status_code=303)
    set_cookie(response, SESSION_COOKIE, session.id)
    response.delete_cookie(SIGNIN_COOKIE, path="/")
    return response


@router.post("/signout")
async def signout(request: Request, ui: Ui) -> Response:
    session, _ = await ui.posted(request)
    await ui.sessions.close(session)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
