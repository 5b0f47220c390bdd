"""uvicorn's HTTP/1.1 protocol with deadlines for reading a request.

uvicorn closes an idle keep-alive connection, but a connection that sends its headers or
its body a byte at a time (slowloris) is held for as long as the client likes, with its
file descriptor. Here every request has a deadline for its headers (from the connection's
opening, or from its first byte after the previous answer) and another for its body
(from the end of its headers); a connection that misses one is closed. Answers, event
streams among them, take as long as they take.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from uvicorn.protocols.http.h11_impl import H11Protocol

from console._limits import HttpLimits


class DeadlineProtocol(H11Protocol):
    """``H11Protocol`` with ``header_timeout_s`` and ``body_timeout_s`` (see ``HttpLimits``);
    ``with_limits`` makes the class a server uses."""

    header_timeout_s: ClassVar[float] = HttpLimits().header_timeout_s
    body_timeout_s: ClassVar[float] = HttpLimits().body_timeout_s
    _deadline: asyncio.TimerHandle | None = None
    _watched: object = None
    """The request cycle whose body the deadline is for (``None``: headers)."""

    @classmethod
    def with_limits(cls, limits: HttpLimits) -> type[DeadlineProtocol]:
        """This protocol with the deadlines of ``limits``."""
        return type(
            "DeadlineProtocol",
            (cls,),
            {"header_timeout_s": limits.header_timeout_s, "body_timeout_s": limits.body_timeout_s},
        )

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout_s, None)

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self._between_requests():
            self._arm(self.header_timeout_s, None)
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow()

    def shutdown(self) -> None:
        """The server is stopping: a request in flight is answered, but an answer under
        way (an event stream, which never ends by itself) ends now, as if its client had
        gone, so that the app finishes it cleanly instead of being cancelled."""
        cycle = self.cycle
        if cycle is not None and cycle.response_started and not cycle.response_complete:
            self.transport.close()
            return
        super().shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _follow(self) -> None:
        """Once a request's headers are in, give its body its own deadline; once its body
        is in too, drop the deadline."""
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            return
        if not cycle.more_body:
            self._disarm()
        elif self._watched is not cycle:
            self._arm(self.body_timeout_s, cycle)

    def _arm(self, seconds: float, watched: object) -> None:
        self._disarm()
        self._watched = watched
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._watched = None

    def _expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()
