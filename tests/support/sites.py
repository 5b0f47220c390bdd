"""Company sites on 127.0.0.1: one threaded HTTP server per site, answering by path.

``Site`` serves what a test tells it (``serve(path, Reply)``), 404 otherwise, and records
every request it gets (``seen``). A reply can be held until the site closes (a slow
page), sent without a length (chunked), or be as large as the test likes. The e2e test
runs several as the company sites of an export, from a separate process.
"""

from __future__ import annotations

import ssl
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self


@dataclass(frozen=True, slots=True)
class Reply:
    """What the site answers one request with."""

    body: bytes = b""
    status: int = 200
    content_type: str | None = "text/html; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)
    hold: Literal["no", "headers"] = "no"
    """``headers``: answer only when the site closes (a page slower than any timeout)."""
    length: bool = True
    """False: no Content-Length; the body streams until the connection closes."""


@dataclass(frozen=True, slots=True)
class Seen:
    """One request as it reached the site."""

    host: str
    path: str
    user_agent: str


class Site:
    """A threaded HTTP/1.0 server on 127.0.0.1 that answers by path; 404 otherwise."""

    def __init__(
        self, pages: Mapping[str, Reply] | None = None, *, tls: ssl.SSLContext | None = None
    ) -> None:
        self.replies: dict[str, Reply] = dict(pages or {})
        self.tls = tls
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._seen: list[Seen] = []
        self._errors: list[BaseException] = []
        self._httpd = _Server(self)
        if tls is not None:  # HTTPS: each accepted connection is wrapped, handshake included
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, name="Site"
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/"

    @property
    def seen(self) -> tuple[Seen, ...]:
        with self._lock:
            return tuple(self._seen)

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

    def serve(self, path: str, reply: Reply) -> None:
        self.replies[path] = reply

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()  # joins every handler thread
        self._thread.join()
        if self._errors:
            raise self._errors[0]

    def _answer(self, handler: _Handler) -> None:
        with self._lock:
            self._seen.append(
                Seen(
                    handler.headers.get("Host") or "",
                    handler.path,
                    handler.headers.get("User-Agent") or "",
                )
            )
        reply = self.replies.get(handler.path, Reply(b"not here", 404, "text/plain"))
        if reply.hold == "headers":
            self.release.wait()
        handler.send_response(reply.status)
        if reply.content_type is not None:
            handler.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if reply.length:
            handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        view = memoryview(reply.body)
        for start in range(0, len(view), 64 * 1024):
            handler.wfile.write(view[start : start + 64 * 1024])


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() joins every handler thread
    block_on_close = True

    def __init__(self, site: Site) -> None:
        self.site = site
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up is expected (timeouts, byte caps); anything else fails the test."""
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, OSError):
            self.site._errors.append(error)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: ``Site.seen`` is the log."""

    def do_GET(self) -> None:
        self.server.site._answer(self)


def html(body: str, *, head: str = "") -> bytes:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>".encode()


def company_site(name: str, sector: str, city: str, *, founded: int = 2014) -> dict[str, Reply]:
    """A small company site: a home page linking to an about, a customers and a news page."""
    nav = '<nav><a href="/about">About us</a> <a href="/customers">Customers</a> '
    nav += '<a href="/news/">News</a> <a href="/careers">Careers</a></nav>'
    return {
        "/": Reply(
            html(
                f"{nav}<h1>{name}: {sector} software for teams that ship</h1>"
                f"<p>{name} builds {sector} software for mid-sized companies across Europe "
                f"and North America.</p><p>Founded in {founded} in {city}, {name} now serves "
                "customers in eleven countries.</p><footer>Copyright 2024</footer>",
                head=f"<title>{name} | {sector} software</title>",
            )
        ),
        "/about": Reply(
            html(
                f"{nav}<h1>About {name}</h1><p>{name} is headquartered in {city} and is "
                "owned by its founders and employees.</p>"
            )
        ),
        "/customers": Reply(
            html(
                f"{nav}<h1>Customers</h1><p>Retailers, logistics firms and banks run their "
                f"daily {sector} work on {name}.</p>"
            )
        ),
        "/news/": Reply(
            html(
                f"{nav}<h1>News</h1><p>{name} opened a second office this spring to support "
                "its growing customer base.</p>"
            )
        ),
        "/robots.txt": Reply(b"User-agent: *\nAllow: /\n", content_type="text/plain"),
    }
