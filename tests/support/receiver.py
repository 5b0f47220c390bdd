"""A real HTTP server on 127.0.0.1 that receives webhooks for a test: it keeps every
request and answers as the test says."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True, slots=True)
class Received:
    """One request as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Answer:
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    wait: threading.Event | None = None
    """Held until this is set (a receiver that does not answer in time)."""


Answering = Callable[[Received, int], Answer]
"""The answer to a request, given it and how many came before it."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answering: Answering, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.answering = answering
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        with self.server.lock:
            count = len(self.server.received)
            self.server.received.append(got)
            self.server.arrived.notify_all()
        answer = self.server.answering(got, count)
        if answer.wait is not None:
            answer.wait.wait(30)
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(answer.body)))
        self.end_headers()
        with suppress(OSError):  # a sender that read enough and hung up
            self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Receiver:
    """The running server: its URL, and what it received."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        host, port = server.server_address[:2]
        self.url = f"http://{host!s}:{port}/hook"

    @property
    def received(self) -> list[Received]:
        with self._server.lock:
            return list(self._server.received)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """The first ``count`` requests, waiting for them with a deadline."""
        with self._server.arrived:
            done = self._server.arrived.wait_for(
                lambda: len(self._server.received) >= count, timeout
            )
            assert done, f"{len(self._server.received)} requests came, not {count}"
            return list(self._server.received)


@contextmanager
def receiving(answering: Answering | None = None, *, port: int = 0) -> Iterator[Receiver]:
    """A receiver for the block (on ``port``, or any free one), answering 204 unless told
    otherwise."""
    server = _Server(answering or (lambda _, __: Answer()), port)
    # A short poll, so that shutting the server down at the end of a test is quick.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        yield Receiver(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
