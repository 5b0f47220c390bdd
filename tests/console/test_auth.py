"""Failed tokens and sign-ins: a wait that grows per client address on a controllable
clock, a redacted line in the event log for each, and a minimum token length."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

import run as cli
from bus import FakeClock
from console import create_app, load_token
from console._throttle import Throttle
from messages import UsageError
from supervision.system import EVENTS_FILE, Gate, event_log, open_system
from tests.support.pipeline import offline_config

TOKEN = "auth-token-0123456789abcdef"
WRONG = "guess-0123456789-wrong-token"


def test_the_wait_doubles_after_the_free_failures_and_is_capped() -> None:
    """Five failures are free; then 1, 2, 4 ... seconds, at most the cap."""
    clock = FakeClock()
    throttle = Throttle(clock=clock.now, free=5, base_s=1.0, cap_s=8.0)
    waits = [throttle.failed("10.0.0.1")[1] for _ in range(10)]
    assert waits == [0, 0, 0, 0, 0, 1, 2, 4, 8, 8]
    assert throttle.wait("10.0.0.1") == 8 and throttle.wait("10.0.0.2") == 0


def test_the_wait_runs_out_with_the_clock_and_a_success_forgets() -> None:
    """The wait shrinks as the clock moves; a success, or a long quiet, forgets it."""
    clock = FakeClock()
    throttle = Throttle(clock=clock.now, free=0, base_s=4.0, forget_s=60.0)
    throttle.failed("a")
    clock.advance(3)
    assert throttle.wait("a") == 1
    clock.advance(1)
    assert throttle.wait("a") == 0
    assert throttle.failed("a") == (2, 8.0)
    throttle.succeeded("a")
    assert throttle.wait("a") == 0
    throttle.failed("b")
    clock.advance(61)
    assert throttle.failed("b") == (1, 4.0), "an address quiet for long starts again"


@pytest.fixture
async def logged(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, FakeClock, Path]]:
    """A client of the app over a live system whose event log is a file, with a throttle
    on a fake clock."""
    clock = FakeClock()
    with event_log(tmp_path) as log:
        config = replace(offline_config(tmp_path), log=log)
        async with open_system(config) as system:
            app = create_app(system, Gate(), TOKEN, throttle=Throttle(clock=clock.now))
            transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4711))
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                yield client, clock, tmp_path


@pytest.mark.anyio
async def test_wrong_bearer_tokens_wait_longer_and_are_logged_redacted(
    logged: tuple[httpx.AsyncClient, FakeClock, Path],
) -> None:
    """Five wrong tokens are 401s; the sixth makes the address wait: a 429 with
    Retry-After, even for the right token, until the clock passes it. Each failure is an
    ``auth_failed`` event naming the address, never the token tried."""
    client, clock, out = logged
    wrong = {"Authorization": f"Bearer {WRONG}"}
    right = {"Authorization": f"Bearer {TOKEN}"}
    codes = [(await client.get("/v1/leads", headers=wrong)).status_code for _ in range(6)]
    assert codes == [401] * 6
    waiting = await client.get("/v1/leads", headers=right)
    assert (waiting.status_code, waiting.headers["retry-after"]) == (429, "1")
    clock.advance(1)
    assert (await client.get("/v1/leads", headers=right)).status_code == 200
    text = (out / EVENTS_FILE).read_text(encoding="utf-8")
    assert WRONG not in text
    failed = [json.loads(line) for line in text.splitlines() if "auth_failed" in line]
    assert [e["failures"] for e in failed] == [1, 2, 3, 4, 5, 6]
    assert {(e["client"], e["kind"], e["path"]) for e in failed} == {
        ("203.0.113.7", "bearer", "/v1/leads")
    }


@pytest.mark.anyio
async def test_wrong_sign_ins_wait_longer_too(
    logged: tuple[httpx.AsyncClient, FakeClock, Path],
) -> None:
    """The sign-in form counts wrong tokens like the API: after the free ones, a 429."""
    client, _, _ = logged
    page = await client.get("/signin")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    form = {"csrf": csrf, "token": WRONG, "reviewer": "Mallory"}
    codes = [(await client.post("/signin", data=form)).status_code for _ in range(7)]
    assert codes == [401] * 6 + [429]


def test_a_short_token_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A LEADWRIGHT_TOKEN or a token file shorter than 16 characters is refused."""
    monkeypatch.setenv("LEADWRIGHT_TOKEN", "x")
    with pytest.raises(UsageError) as caught:
        load_token(tmp_path)
    assert str(caught.value) == (
        "LEADWRIGHT_TOKEN holds a token of 1 characters; use at least 16, such as: "
        "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
    )
    monkeypatch.delenv("LEADWRIGHT_TOKEN")
    (tmp_path / "token").write_text("short\n", encoding="utf-8")
    with pytest.raises(UsageError, match="token of 5 characters"):
        load_token(tmp_path)


def test_serve_with_a_short_token_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``serve`` stops before listening, with the one line and exit code 1."""
    monkeypatch.setenv("LEADWRIGHT_TOKEN", "abc")
    assert cli.main(["serve", "--out", str(tmp_path / "run"), "--port", "0"]) == 1
    assert capsys.readouterr().err.startswith(
        "error: LEADWRIGHT_TOKEN holds a token of 3 characters; use at least 16"
    )
