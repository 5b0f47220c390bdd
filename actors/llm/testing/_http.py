"""The fake server's HTTP/1.1: a threaded server on 127.0.0.1 that hands every request to
its owner and writes the answer back, and that can cut its open connections at once."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, final


@final
@dataclass(frozen=True, slots=True)
class Answer:
    """What to write back for one request."""

    status: int
    payload: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    """Sent after ``Content-Type: application/json``, which they may replace."""
    missing: int = 0
    """Bytes promised by ``Content-Length`` but never sent: the connection closes short."""
    number: int = 0
    """The request's number, sent as ``x-request-id: req_fake_<number>``."""


Headers = Sequence[tuple[str, str]]
"""A request's headers, as they came: names in their case, in their order."""


class Owner(Protocol):
    """What answers the server's requests; it is called from the server's threads."""

    def get(self, path: str, headers: Headers) -> Answer: ...

    def post(self, path: str, headers: Headers, body: bytes) -> Answer | None:
        """The answer; ``None`` to answer nothing and hang up (the server is closing)."""
        ...

    def sent(self, answer: Answer) -> None:
        """``answer`` was written (or the client hung up while it was)."""

    def failed(self, error: Exception) -> None:
        """A handler failed in a way no client explains; the owner raises it later."""


@final
class HttpServer(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() joins every handler thread
    block_on_close = True

    def __init__(self, address: tuple[str, int], owner: Owner) -> None:
        self.owner = owner
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        """Shut every open connection, so idle keep-alive handlers return at once."""
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up is expected (timeouts); any other error goes to the owner."""
        error = sys.exc_info()[1]
        if isinstance(error, Exception) and not isinstance(error, OSError):
            self.owner.failed(error)


@final
class Serving:
    """An ``HttpServer`` on 127.0.0.1 (``port``, or a free one when 0), serving in a thread
    of its own until ``stop``."""

    def __init__(self, port: int, owner: Owner, *, name: str) -> None:
        self.server = HttpServer(("127.0.0.1", port), owner)
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=name,
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, cut open connections, close the port and join every thread."""
        self.server.shutdown()
        self.server.cut_connections()
        self.server.server_close()
        self._thread.join()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HttpServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the owner records the requests."""

    def do_GET(self) -> None:
        answer = self.server.owner.get(self.path.split("?", 1)[0], self.headers.items())
        self._send(answer)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        path = self.path.split("?", 1)[0]
        answer = self.server.owner.post(path, self.headers.items(), body)
        if answer is None:
            self.close_connection = True
            return
        self._send(answer)
        self.server.owner.sent(answer)

    def _send(self, answer: Answer) -> None:
        headers = {"Content-Type": "application/json", **answer.headers}
        try:
            self.send_response(answer.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("x-request-id", f"req_fake_{answer.number}")
            self.send_header("Content-Length", str(len(answer.payload) + answer.missing))
            self.end_headers()
            self.wfile.write(answer.payload)
        except OSError:
            self.close_connection = True  # the client hung up, as a timed-out client does
        if answer.missing:
            self.close_connection = True  # then hang up before the promised bytes
