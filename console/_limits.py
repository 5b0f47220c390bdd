"""What ``serve`` holds for any one client at most: time to send a request, bytes of a
form, open connections and open event streams. Past a limit a client gets a 413 or a 503,
or its connection is closed; nothing a client sends can hold the server's memory or file
descriptors for long.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import final

from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


@final
@dataclass(frozen=True, slots=True)
class HttpLimits:
    """The limits of one server; the defaults are what ``serve`` uses."""

    header_timeout_s: float = 10.0
    """Seconds from a connection's first byte (or its opening) to the end of the request's
    headers; then the connection is closed."""
    body_timeout_s: float = 60.0
    """Seconds from the end of the headers to the end of the body; then it is closed."""
    keep_alive_s: float = 5.0
    """Seconds an idle connection is kept open between two requests."""
    max_connections: int = 256
    """Open connections at most; a request beyond them gets a 503."""
    max_header_bytes: int = 16 * 1024
    """Bytes of a request line and headers at most; beyond them, a 400."""
    max_streams: int = 32
    """Event streams (``/v1/events``, ``/dashboard/stream``) open at once at most; the next
    gets a 503 with ``Retry-After``."""
    form_bytes: int = 64 * 1024
    """Bytes of a console form body at most (a 413 past them, before it is parsed)."""
    form_fields: int = 1100
    """Fields of a console form at most (a bulk action names up to 1,000 items)."""
    session_idle_s: float = 2 * 3600.0
    """Seconds without a request after which a reviewer's session ends."""
    session_max_s: float = 12 * 3600.0
    """Seconds after sign-in at which a reviewer's session ends."""


@final
class BodyLimit:
    """ASGI middleware: a body outside ``/v1/`` (a console form) over ``limit`` bytes is a
    413, before anything parses it: at once when its ``Content-Length`` says so, else as
    soon as the bytes read pass the limit. The API reads its own bodies with its limits."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope["path"]).startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            answer = PlainTextResponse(self._too_large(), status_code=413)
            await answer(scope, receive, send)
            return
        read = 0

        async def limited() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > self.limit:
                    raise HTTPException(413, self._too_large())
            return message

        await self.app(scope, limited, send)

    def _too_large(self) -> str:
        return f"the form is over {self.limit} bytes"


@final
class _Slot:
    """One stream's place among the open ones."""


@final
class StreamSlots:
    """The event streams open now, at most ``limit`` of them.

    A stream's slot is held by the stream itself: it is given back when the stream ends or
    is closed, and also when a stream that never started is dropped.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: weakref.WeakSet[_Slot] = weakref.WeakSet()

    @property
    def open(self) -> int:
        """Streams open now."""
        return len(self._open)

    def take(self, stream: AsyncIterator[str]) -> AsyncIterator[str] | None:
        """``stream`` in a slot of its own, or ``None`` when every slot is taken."""
        if len(self._open) >= self.limit:
            return None
        slot = _Slot()
        self._open.add(slot)
        return self._hold(stream, slot)

    async def _hold(self, stream: AsyncIterator[str], slot: _Slot) -> AsyncIterator[str]:
        try:
            async for chunk in stream:
                yield chunk
        finally:
            self._open.discard(slot)
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
