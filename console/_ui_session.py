"""Who is using the console: a session opened with the bearer token once, a reviewer's
name, and a CSRF token that every form carries.

Sessions are kept in the run directory (``journal.sqlite``, by a digest of their id, never
the id itself), so a restart signs no one out. A session ends after ``idle_s`` without a
request and ``max_s`` after sign-in, whichever comes first (``SessionPolicy``; ``serve``'s
``--session-idle-minutes`` and ``--session-max-hours``). The cookie holds only a random id;
it is HttpOnly (no script reads it) and SameSite=Strict (no other site's page sends it),
and the CSRF token is checked on every form besides.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import final

from fastapi import HTTPException, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from bus import SqliteFile

SESSION_COOKIE = "lw_session"
SIGNIN_COOKIE = "lw_signin"
"""The sign-in form's CSRF token (double submit): there is no session yet to hold it."""
SESSION_LIMIT = 1000
"""Sessions kept at most; the oldest is forgotten first."""
SEEN_EVERY_S = 60.0
"""How stale the stored time of a session's last request may get before it is written."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS console_sessions (
    id_sha256 TEXT PRIMARY KEY,
    reviewer TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created REAL NOT NULL,
    seen REAL NOT NULL
);
"""


@final
@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long a session lasts."""

    idle_s: float = 2 * 3600.0
    """Seconds without a request after which a session ends."""
    max_s: float = 12 * 3600.0
    """Seconds after sign-in at which a session ends, however busy."""


@final
@dataclass(frozen=True, slots=True)
class Session:
    """One signed-in browser."""

    id: str
    reviewer: str
    csrf: str


@dataclass(slots=True)
class _Kept:
    reviewer: str
    csrf: str
    created: float
    seen: float
    stored_seen: float


@final
class Sessions:
    """The open sessions of one server, kept in ``db`` (none: in memory alone), on
    ``clock`` (wall-clock seconds, so that they mean the same after a restart)."""

    def __init__(
        self,
        db: SqliteFile | None = None,
        *,
        policy: SessionPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.policy = SessionPolicy() if policy is None else policy
        self.clock = clock
        self.db = None if db is None else db.share(_SCHEMA)
        self._by_digest: dict[str, _Kept] = {}
        if self.db is not None:
            for row in self.db.run_sync(_load):
                digest, reviewer, csrf, created, seen = row
                kept = _Kept(reviewer, csrf, created, seen, seen)
                if not self._ended(kept):
                    self._by_digest[digest] = kept

    async def open(self, reviewer: str) -> Session:
        """A new session for ``reviewer``, stored before it is used."""
        now = self.clock()
        session = Session(secrets.token_urlsafe(32), reviewer, secrets.token_urlsafe(32))
        kept = _Kept(reviewer, session.csrf, now, now, now)
        digest = _digest(session.id)
        self._by_digest[digest] = kept
        while len(self._by_digest) > SESSION_LIMIT:
            del self._by_digest[next(iter(self._by_digest))]
        if self.db is not None:
            oldest = min(now - self.policy.max_s, now)
            stale = now - self.policy.idle_s

            def store(c: sqlite3.Connection) -> None:
                c.execute(
                    "DELETE FROM console_sessions WHERE created < ? OR seen < ?", (oldest, stale)
                )
                c.execute(
                    "INSERT INTO console_sessions VALUES (?, ?, ?, ?, ?)",
                    (digest, reviewer, session.csrf, now, now),
                )

            await self.db.run(store)
        return session

    def find(self, sid: str) -> Session | None:
        """The open session with this id; it counts as a request (its idle time restarts)."""
        if not sid:
            return None
        digest = _digest(sid)
        kept = self._by_digest.get(digest)
        if kept is None:
            return None
        if self._ended(kept):
            del self._by_digest[digest]
            return None
        kept.seen = self.clock()
        return Session(sid, kept.reviewer, kept.csrf)

    def get(self, request: Request) -> Session | None:
        """The request's session, if its cookie names an open one."""
        return self.find(request.cookies.get(SESSION_COOKIE, ""))

    async def close(self, session: Session) -> None:
        """End ``session`` (sign out), here and in the store."""
        digest = _digest(session.id)
        self._by_digest.pop(digest, None)
        if self.db is not None:
            await self.db.run(
                lambda c: c.execute("DELETE FROM console_sessions WHERE id_sha256 = ?", (digest,))
            )

    async def keep(self, session: Session) -> None:
        """Store when ``session`` was last seen, if that is ``SEEN_EVERY_S`` stale: the
        idle time a restart counts from."""
        digest = _digest(session.id)
        kept = self._by_digest.get(digest)
        if self.db is None or kept is None or kept.seen - kept.stored_seen < SEEN_EVERY_S:
            return
        kept.stored_seen = seen = kept.seen
        await self.db.run(
            lambda c: c.execute(
                "UPDATE console_sessions SET seen = ? WHERE id_sha256 = ?", (seen, digest)
            )
        )

    def need(self, request: Request) -> Session:
        """The request's session; a browser without one is sent to sign in."""
        session = self.get(request)
        if session is None:
            raise HTTPException(303, "sign in first", headers={"Location": "/signin"})
        return session

    def _ended(self, kept: _Kept) -> bool:
        now = self.clock()
        return now - kept.seen > self.policy.idle_s or now - kept.created > self.policy.max_s


def _load(c: sqlite3.Connection) -> list[tuple[str, str, str, float, float]]:
    rows = c.execute(
        "SELECT id_sha256, reviewer, csrf, created, seen FROM console_sessions ORDER BY created"
    ).fetchall()
    return [(str(d), str(r), str(t), float(a), float(b)) for d, r, t, a, b in rows]


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8", "surrogatepass")).hexdigest()


def set_cookie(response: Response, name: str, value: str) -> None:
    """A cookie no script reads and no other site sends."""
    response.set_cookie(name, value, httponly=True, samesite="strict", path="/")


def check_csrf(form: FormData, expected: str) -> None:
    """Refuse a form whose CSRF token is missing or wrong, with 403."""
    given = form.get("csrf")
    if not isinstance(given, str) or not expected or not hmac.compare_digest(given, expected):
        raise HTTPException(403, "the form's CSRF token is missing or stale; reload the page")
