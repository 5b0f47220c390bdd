"""What one client can hold of ``serve``: form bodies are capped before they are parsed,
slow headers and bodies lose their connection, and connections and event streams past
their limits get a 503. In-process for forms; over real sockets for the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import httpx
import pytest
from anyio.abc import SocketStream

from console import HttpFace
from console._limits import HttpLimits
from supervision.system import Gate, System
from tests.support.forms import AUTH, TOKEN

pytestmark = pytest.mark.anyio

# A safety net so that a server that never closes fails the test instead of hanging it.
GUARD_S = 30


async def test_a_form_over_the_limit_is_a_413_before_it_is_parsed(
    client: httpx.AsyncClient,
) -> None:
    """200 fields of 1 MB to the sign-in form: 413 from its Content-Length, before the CSRF
    check (which would be a 403) reads a byte of it."""
    field = "x" * (1024 * 1024)
    body = "&".join(f"f{n}={field}" for n in range(200)).encode()
    answer = await client.post(
        "/signin", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 413
    assert answer.text == "the form is over 65536 bytes"


async def test_a_streamed_form_over_the_limit_is_a_413(client: httpx.AsyncClient) -> None:
    """A form sent in chunks, with no Content-Length, is cut off once it passes the limit."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"f=" + b"x" * 4096 + b"&"

    answer = await client.post(
        "/signin", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 413
    assert answer.json()["detail"] == "the form is over 65536 bytes"


async def test_a_form_with_too_many_fields_or_a_file_is_a_400(client: httpx.AsyncClient) -> None:
    """Past 1,100 fields, or with a file, a form is refused before any route reads it."""
    many = "&".join(f"f{n}=1" for n in range(1200))
    answer = await client.post(
        "/signin", content=many, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 400
    files = await client.post("/signin", files={"token": ("t.txt", b"x")})
    assert files.status_code == 400


@asynccontextmanager
async def serving(system: System, limits: HttpLimits) -> AsyncIterator[str]:
    """A real server on 127.0.0.1 over ``system`` with ``limits``; its URL."""
    urls: list[str] = []
    face = HttpFace("127.0.0.1", 0, TOKEN, urls.append, limits)
    async with anyio.create_task_group() as group:
        await group.start(face, system, Gate())
        yield urls[0]
        group.cancel_scope.cancel()


def address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


async def closed_by_server(stream: SocketStream) -> bool:
    """Read until the server closes the connection; whether it did (not the guard)."""
    with anyio.move_on_after(GUARD_S):
        try:
            while await stream.receive():
                pass
        except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionError):
            return True
    return False


QUICK = HttpLimits(header_timeout_s=0.3, body_timeout_s=0.3, max_connections=64)


async def test_slow_headers_and_slow_bodies_lose_their_connection(system: System) -> None:
    """Twenty connections that send part of their headers, or part of a body they promised,
    are closed once their deadline passes, whoever they are."""
    async with serving(system, QUICK) as url:
        host, port = address(url)
        streams = [await anyio.connect_tcp(host, port) for _ in range(20)]
        for n, stream in enumerate(streams):
            if n % 2:
                await stream.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            else:
                await stream.send(
                    b"POST /v1/leads HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 1000\r\nAuthorization: Bearer " + TOKEN.encode() + b"\r\n"
                    b'\r\n{"id": '
                )
        for stream in streams:
            assert await closed_by_server(stream)
            await stream.aclose()
        async with httpx.AsyncClient(base_url=url) as client:
            assert (await client.get("/healthz")).status_code == 200


async def test_a_connection_that_sends_nothing_is_closed(system: System) -> None:
    """An idle new connection is closed after the header deadline."""
    async with serving(system, QUICK) as url:
        stream = await anyio.connect_tcp(*address(url))
        assert await closed_by_server(stream)
        await stream.aclose()


async def test_connections_past_the_limit_get_a_503(system: System) -> None:
    """With five connections open, a sixth request gets 503 at once."""
    limits = HttpLimits(max_connections=5, header_timeout_s=GUARD_S)
    async with serving(system, limits) as url:
        idle = [await anyio.connect_tcp(*address(url)) for _ in range(5)]
        async with httpx.AsyncClient(base_url=url) as client:
            assert (await client.get("/healthz")).status_code == 503
        for stream in idle:
            await stream.aclose()


async def test_event_streams_past_the_limit_get_a_503(system: System) -> None:
    """With two event streams open (the limit), a third is refused with 503 and
    Retry-After; once one closes, a new one opens."""
    limits = HttpLimits(max_streams=2)
    async with (
        serving(system, limits) as url,
        httpx.AsyncClient(base_url=url, headers=AUTH, timeout=GUARD_S) as client,
    ):
        async with client.stream("GET", "/v1/events") as first:
            assert first.status_code == 200
            async with client.stream("GET", "/v1/events") as second:
                assert second.status_code == 200
                third = await client.get("/v1/events")
                assert third.status_code == 503 and third.headers["retry-after"] == "2"
                assert third.json()["detail"] == "2 event streams are open already; retry later"
        async with client.stream("GET", "/v1/events") as again:
            assert again.status_code == 200
