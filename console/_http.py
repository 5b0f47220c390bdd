"""The HTTP face of ``serve``: uvicorn, inside the system's task group, on its event loop.

The server's own signal handling is off: the system owns SIGINT and SIGTERM, drains, and
then cancels the face, which shuts the server down as uvicorn does (open event streams are
ended first, so that none is cut mid-answer). The server's limits are ``HttpLimits``.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import final

import anyio
import uvicorn
from anyio.abc import TaskStatus

from console._app import create_app
from console._limits import HttpLimits
from console._protocol import DeadlineProtocol
from supervision.system import Gate, System


@final
class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(2048)
    except OSError:
        listener.close()
        raise
    return listener


@final
@dataclass(frozen=True, slots=True)
class HttpFace:
    """Serves the API on ``host:port`` (port 0: any free one) while the system runs."""

    host: str
    port: int
    token: str
    on_listening: Callable[[str], None]
    """Told the URL once the socket listens."""
    limits: HttpLimits = field(default_factory=HttpLimits)

    async def __call__(self, system: System, gate: Gate, *, task_status: TaskStatus[None]) -> None:
        limits = self.limits
        app = create_app(system, gate, self.token, limits=limits)
        config = uvicorn.Config(
            app,
            host=self.host,
            port=self.port,
            http=DeadlineProtocol.with_limits(limits),
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            timeout_keep_alive=int(max(1, limits.keep_alive_s)),
            limit_concurrency=limits.max_connections,
            h11_max_incomplete_event_size=limits.max_header_bytes,
        )
        server = _Server(config)
        # Bound here, not by uvicorn: a taken port is an error now, and connections queue
        # in the backlog from this moment, so the face is ready as soon as it says so.
        listener = _listen(self.host, self.port)
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(_serve_until_told, server, listener)
                port = listener.getsockname()[1]
                host = f"[{self.host}]" if ":" in self.host else self.host
                self.on_listening(f"http://{host}:{port}")
                task_status.started()
                try:
                    await anyio.sleep_forever()
                finally:
                    # Cancelled: the server shuts down as uvicorn does, answering what is in
                    # flight and ending open event streams (DeadlineProtocol.shutdown).
                    server.should_exit = True
        finally:
            listener.close()


async def _serve_until_told(server: uvicorn.Server, listener: socket.socket) -> None:
    """Serve until ``server.should_exit``: shielded, so that the face's cancellation is a
    graceful shutdown (a deadline of ``timeout_graceful_shutdown``), not a cut."""
    with anyio.CancelScope(shield=True):
        await server.serve([listener])
