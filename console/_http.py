"""The HTTP face of ``serve``: uvicorn, inside the system's task group, on its event loop.

The server's own signal handling is off: the system owns SIGINT and SIGTERM, drains, and
then cancels the face.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import final

import anyio
import uvicorn
from anyio.abc import TaskStatus

from console._app import create_app
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

    async def __call__(self, system: System, gate: Gate, *, task_status: TaskStatus[None]) -> None:
        app = create_app(system, gate, self.token)
        config = uvicorn.Config(
            app,
            host=self.host,
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        server = _Server(config)
        # Bound here, not by uvicorn: a taken port is an error now, and connections queue
        # in the backlog from this moment, so the face is ready as soon as it says so.
        listener = _listen(self.host, self.port)
        async with anyio.create_task_group() as group:
            group.start_soon(server.serve, [listener])
            port = listener.getsockname()[1]
            host = f"[{self.host}]" if ":" in self.host else self.host
            self.on_listening(f"http://{host}:{port}")
            task_status.started()
            try:
                await anyio.sleep_forever()
            finally:
                server.should_exit = True
