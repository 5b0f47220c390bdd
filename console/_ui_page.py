"""What every console page works on: ``Pages`` (the live system, the open sessions and
the templates), which the app keeps in its state and each route takes as ``Ui``, and the
answers the routes share: a rendered page, and a redirect with a message."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any, final
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import FormData

from actors.validation import topic
from console._paths import segment
from console._ui_dashboard import Dashboard
from console._ui_drift import DriftPlots
from console._ui_session import Session, SessionPolicy, Sessions, check_csrf
from console._ui_views import highlight, spans
from supervision.system import UNOVERRIDABLE, Operator, System

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""No inline script or style runs, so markup smuggled in through lead data stays inert
even where escaping were to fail."""
BACK_TO = ("/", "/ops")
"""The pages a form may ask to go back to (its ``next`` field)."""


def when(at: str | None) -> str:
    """An ISO time as a page shows it, ``2026-01-31 14:05 UTC``; ``""`` for none."""
    if not at:
        return ""
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return at
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


@functools.cache
def templates() -> Environment:
    """The console's Jinja environment: every template autoescaped. One per process: it
    compiles each template once, however many consoles (or tests) open."""
    env = Environment(
        loader=PackageLoader("console", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["segment"] = segment
    env.filters["when"] = when
    env.globals["topic"] = topic
    env.globals["highlight"] = highlight
    env.globals["spans"] = spans
    env.globals["UNOVERRIDABLE"] = UNOVERRIDABLE
    return env


@final
class Pages:
    """The console of one live system: its stores, the open sessions, the templates, the
    dashboard's figures and the drift plots."""

    def __init__(self, system: System, sessions: SessionPolicy | None = None) -> None:
        self.system = system
        self.stores = system.stores
        self.sessions = Sessions(system.journal_file(), policy=sessions)
        self.env = templates()
        self.board = Dashboard(system)
        self.drift = DriftPlots(system)

    def operator(self, session: Session) -> Operator:
        """The operator a session's decisions go through, as its reviewer."""
        return Operator(self.system, reviewer=session.reviewer)

    def need(self, request: Request) -> Session:
        """The request's session; a browser without one is sent to sign in."""
        return self.sessions.need(request)

    async def posted(self, request: Request) -> tuple[Session, FormData]:
        """The session and the form of a ``POST``, its CSRF token checked (403 if wrong)."""
        session = self.sessions.need(request)
        form = await read_form(request)
        check_csrf(form, session.csrf)
        await self.sessions.keep(session)
        return session, form

    def page(
        self,
        request: Request,
        name: str,
        session: Session | None,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        """Template ``name`` rendered, with the notice the query's ``msg`` carries (one this
        server wrote, see ``back``), and headers that keep it inert, private and out of
        caches (``nosniff`` is the app's, on every answer)."""
        notice = read_notice(request.query_params.get("msg", ""))
        html = self.env.get_template(name).render(session=session, msg=notice, **context)
        response = HTMLResponse(html, status_code=status)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response


async def read_form(request: Request) -> FormData:
    """The form of a ``POST``: no files, and at most the server's number of fields (400);
    its bytes were capped before (``BodyLimit``)."""
    fields: int = request.app.state.form_fields
    return await request.form(max_files=0, max_fields=fields)


ID_LIMIT = 2**63 - 1
"""The largest item or letter number: SQLite's largest integer."""
ItemId = Annotated[int, Path(ge=1, le=ID_LIMIT)]
"""A review item's or a dead letter's number in a path: beyond SQLite's range, a 422."""
_ID = re.compile(r"[0-9]{1,19}")


def chosen_ids(form: FormData) -> list[int]:
    """The item or letter numbers a form's ``ids`` fields name; 422 for anything else."""
    ids: list[int] = []
    for value in form.getlist("ids"):
        if not isinstance(value, str) or not _ID.fullmatch(value) or int(value) > ID_LIMIT:
            raise HTTPException(422, f"ids must be item numbers, not {str(value)[:40]!r}")
        ids.append(int(value))
    return ids


def page_number(value: str | None, name: str = "page", most: int = 10**6) -> int:
    """A page number from a query (1 when absent); ``BadQuery`` for anything but 1 to
    ``most`` written in ASCII digits."""
    if value is None or value == "":
        return 1
    if not _ID.fullmatch(value) or not 1 <= int(value) <= most:
        raise BadQuery(f"{name} must be a page number from 1 to {most}, not {value[:40]!r}")
    return int(value)


@final
class BadQuery(Exception):
    """A page's query parameter that makes no sense; the page answers 422 with the text."""


def to_inbox(msg: str, form: FormData) -> RedirectResponse:
    """To the inbox with a message, its filter kept and its cursor on the row the form
    names (``cursor``): the row after the one just decided."""
    query: dict[str, str] = {}
    rule = form.get("rule")
    if isinstance(rule, str) and rule:
        query["rule"] = rule[:200]
    cursor = form.get("cursor")
    if isinstance(cursor, str) and _ID.fullmatch(cursor):
        query["cursor"] = cursor
    query["msg"] = sign_notice(msg)
    return RedirectResponse(f"/?{urlencode(query)}", status_code=303)


def back(path: str, msg: str, form: FormData | None = None) -> RedirectResponse:
    """To ``path`` (or the form's own page, ``next``) with a message, signed."""
    wanted = form.get("next") if form is not None else None
    if isinstance(wanted, str) and wanted in BACK_TO:
        path = wanted
    return RedirectResponse(f"{path}?{urlencode({'msg': sign_notice(msg)})}", status_code=303)


_NOTICE_KEY = secrets.token_bytes(32)
"""This process's key for notices: a link made elsewhere, or before a restart, shows none."""


def sign_notice(text: str) -> str:
    """``text`` as a ``msg`` parameter the page shows: the text and this server's MAC."""
    data = text.encode("utf-8")
    mac = hmac.new(_NOTICE_KEY, data, hashlib.sha256).hexdigest()[:32]
    return f"{base64.urlsafe_b64encode(data).decode('ascii')}.{mac}"


def read_notice(value: str) -> str:
    """The text of a ``msg`` that ``sign_notice`` made here; ``""`` for anything else, so
    that no text from a query string a stranger wrote ever shows on a page."""
    encoded, _, mac = value.rpartition(".")
    try:
        data = base64.urlsafe_b64decode(encoded.encode("ascii"))
        text = data.decode("utf-8")
    except (ValueError, UnicodeError):
        return ""
    expected = hmac.new(_NOTICE_KEY, data, hashlib.sha256).hexdigest()[:32]
    return text if hmac.compare_digest(mac, expected) else ""


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


Ui = Annotated[Pages, Depends(_pages)]
"""A route's ``Pages``."""
