"""Who is using the console: a session opened with the bearer token once, a reviewer's
name, and a CSRF token that every form carries.

Sessions live in memory: a restarted server asks everyone to sign in again. The cookie
holds only a random id; it is HttpOnly (no script reads it) and SameSite=Strict (no other
site's page sends it), and the CSRF token is checked on every form besides.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import final

from fastapi import HTTPException, Request
from starlette.datastructures import FormData
from starlette.responses import Response

SESSION_COOKIE = "lw_session"
SIGNIN_COOKIE = "lw_signin"
"""The sign-in form's CSRF token (double submit): there is no session yet to hold it."""
SESSION_LIMIT = 1000
"""Sessions kept at most; the oldest is forgotten first."""


@final
@dataclass(frozen=True, slots=True)
class Session:
    """One signed-in browser."""

    id: str
    reviewer: str
    csrf: str


@final
class Sessions:
    """The open sessions of one server."""

    def __init__(self) -> None:
        self._by_id: dict[str, Session] = {}

    def open(self, reviewer: str) -> Session:
        """A new session for ``reviewer``."""
        session = Session(secrets.token_urlsafe(32), reviewer, secrets.token_urlsafe(32))
        self._by_id[session.id] = session
        while len(self._by_id) > SESSION_LIMIT:
            del self._by_id[next(iter(self._by_id))]
        return session

    def find(self, sid: str) -> Session | None:
        """The open session with this id."""
        return self._by_id.get(sid) if sid else None

    def get(self, request: Request) -> Session | None:
        """The request's session, if its cookie names an open one."""
        return self.find(request.cookies.get(SESSION_COOKIE, ""))

    def close(self, session: Session) -> None:
        self._by_id.pop(session.id, None)

    def need(self, request: Request) -> Session:
        """The request's session; a browser without one is sent to sign in."""
        session = self.get(request)
        if session is None:
            raise HTTPException(303, "sign in first", headers={"Location": "/signin"})
        return session


def set_cookie(response: Response, name: str, value: str) -> None:
    """A cookie no script reads and no other site sends."""
    response.set_cookie(name, value, httponly=True, samesite="strict", path="/")


def check_csrf(form: FormData, expected: str) -> None:
    """Refuse a form whose CSRF token is missing or wrong, with 403."""
    given = form.get("csrf")
    if not isinstance(given, str) or not expected or not hmac.compare_digest(given, expected):
        raise HTTPException(403, "the form's CSRF token is missing or stale; reload the page")
