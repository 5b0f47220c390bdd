"""Console sessions end after an idle time and an absolute one, and live in the run
directory, so that a restart signs no one out."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from bus import FakeClock, SqliteFile
from console import HttpLimits, create_app
from console._ui_session import SessionPolicy, Sessions
from supervision.system import Gate, open_system
from tests.support.pipeline import offline_config

pytestmark = pytest.mark.anyio

TOKEN = "sessions-token-0123456789"


async def test_a_session_ends_after_its_idle_time() -> None:
    """A session used within its idle time lives on; one idle for longer is gone."""
    clock = FakeClock()
    sessions = Sessions(policy=SessionPolicy(idle_s=60, max_s=3600), clock=clock.now)
    session = await sessions.open("Ada")
    clock.advance(59)
    assert sessions.find(session.id) == session
    clock.advance(59)
    assert sessions.find(session.id) == session, "each request restarts the idle time"
    clock.advance(61)
    assert sessions.find(session.id) is None


async def test_a_session_ends_at_its_absolute_time_however_busy() -> None:
    """A session used every minute still ends ``max_s`` after sign-in."""
    clock = FakeClock()
    sessions = Sessions(policy=SessionPolicy(idle_s=120, max_s=300), clock=clock.now)
    session = await sessions.open("Ada")
    for _ in range(5):
        clock.advance(60)
        assert sessions.find(session.id) == session
    clock.advance(1)
    assert sessions.find(session.id) is None


async def test_sessions_survive_a_restart_and_keep_only_a_digest(tmp_path: Path) -> None:
    """Sessions stored in a file are found by a new ``Sessions`` over it (a restart), with
    their expiry; the file holds a digest of each id, never the id."""
    clock = FakeClock(start=1_000_000.0)
    policy = SessionPolicy(idle_s=600, max_s=3600)
    db = SqliteFile(tmp_path / "journal.sqlite", "")
    first = Sessions(db, policy=policy, clock=clock.now)
    kept = await first.open("Ada")
    ended = await first.open("Grace")
    await first.close(ended)
    clock.advance(300)
    again = Sessions(db, policy=policy, clock=clock.now)
    assert again.find(kept.id) == kept
    assert again.find(ended.id) is None
    clock.advance(601)
    assert Sessions(db, policy=policy, clock=clock.now).find(kept.id) is None
    stored = db.run_sync(lambda c: c.execute("SELECT * FROM console_sessions").fetchall())
    assert kept.id not in repr(stored)
    db.close()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def test_a_restarted_server_knows_its_reviewers(tmp_path: Path) -> None:
    """Signed in, the server restarts on the same run directory: the same cookie opens the
    inbox, and its forms still carry the session's CSRF token."""
    cookies = httpx.Cookies()
    for restart in range(2):
        async with open_system(offline_config(tmp_path)) as system:
            transport = httpx.ASGITransport(app=create_app(system, Gate(), TOKEN))
            async with httpx.AsyncClient(
                transport=transport, base_url="http://console", cookies=cookies
            ) as client:
                if restart == 0:
                    form = await client.get("/signin")
                    data = {"csrf": csrf_of(form.text), "token": TOKEN, "reviewer": "Ada"}
                    assert (await client.post("/signin", data=data)).status_code == 303
                inbox = await client.get("/")
                assert inbox.status_code == 200, f"signed out after restart {restart}"
                assert "Ada" in inbox.text
                cookies = client.cookies


async def test_an_ended_session_is_sent_to_sign_in(tmp_path: Path) -> None:
    """With an idle time of zero, the next request after sign-in is sent to sign in."""
    limits = HttpLimits(session_idle_s=0.0)
    async with open_system(offline_config(tmp_path)) as system:
        transport = httpx.ASGITransport(app=create_app(system, Gate(), TOKEN, limits=limits))
        async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
            form = await client.get("/signin")
            data = {"csrf": csrf_of(form.text), "token": TOKEN, "reviewer": "Ada"}
            assert (await client.post("/signin", data=data)).status_code == 303
            answer = await client.get("/")
            assert (answer.status_code, answer.headers["location"]) == (303, "/signin")
