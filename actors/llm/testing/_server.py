"""A fake OpenAI-compatible server: real HTTP/1.1 on 127.0.0.1, answering from a script.

It speaks ``POST /v1/chat/completions`` (and ``/chat/completions``) well enough for the
OpenAI SDK, so tests exercise the real client, its HTTP stack and our error
classification. Each request is answered by the script, either a sequence of replies
taken in order or a function ``(request_json, request_number) -> Response``; every
request is recorded with the monotonic time it arrived and was answered, so a test can
assert what reached the provider, and when.

    with FakeOpenAI([rate_limited(retry_after_ms=300), completion({"ok": True})]) as server:
        llm = OpenAiLlm(model="gpt-4o-mini", base_url=server.url, api_key="sk-test")

Handlers run in the server's threads; a slow reply waits there, never in the test.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, final

import anyio.to_thread

from actors.llm._tokens import CHARS_PER_TOKEN
from messages import UsageError


@dataclass(frozen=True, slots=True)
class Completion:
    """A 200 chat completion. Usage tokens left None are counted from the texts (4 chars each)."""

    content: str | None
    finish_reason: str = "stop"
    refusal: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    """Prompt tokens read from the cache; counted by the server's prefix cache when None."""
    model: str | None = None
    """The model the reply names; the requested model when None."""
    delay: float = 0.0
    """Seconds the server waits before answering."""


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """An OpenAI-style error: ``{"error": {"message", "type", "param", "code"}}``.

    ``{api_key}`` in ``message`` is replaced by the bearer token the request presented,
    as a careless provider or proxy might echo it: tests use it to prove redaction.
    """

    status: int
    message: str
    type: str
    code: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class RawReply:
    """Any bytes at all; ``missing_bytes`` are promised by Content-Length but never sent."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    missing_bytes: int = 0
    delay: float = 0.0


Response = Completion | ErrorReply | RawReply
"""What the server answers one request with."""


def completion(content: str | Mapping[str, Any], **fields: Any) -> Completion:
    """A clean completion whose content is ``content`` (a mapping is sent as JSON)."""
    text = content if isinstance(content, str) else json.dumps(content)
    return Completion(text, **fields)


def cut_short(content: str) -> Completion:
    """A completion stopped by the token limit: ``finish_reason`` "length"."""
    return Completion(content, finish_reason="length")


def refusal(text: str = "I'm sorry, I can't help with that.") -> Completion:
    """A refusal: no content, ``message.refusal`` set, as strict structured output does."""
    return Completion(None, refusal=text)


def rate_limited(
    *, retry_after: float | str | None = None, retry_after_ms: float | None = None
) -> ErrorReply:
    """A 429 rate_limit_exceeded, advising a pause by ``retry-after`` and/or ``retry-after-ms``."""
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["retry-after"] = (
            f"{retry_after:g}" if isinstance(retry_after, float | int) else retry_after
        )
    if retry_after_ms is not None:
        headers["retry-after-ms"] = f"{retry_after_ms:g}"
    return ErrorReply(
        429,
        "Rate limit reached for requests. Please try again later.",
        "requests",
        "rate_limit_exceeded",
        headers=headers,
    )


def quota_exhausted() -> ErrorReply:
    """A 429 insufficient_quota: the account is out of credit."""
    return ErrorReply(
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota",
        "insufficient_quota",
    )


def auth_failed(status: int = 401) -> ErrorReply:
    """A 401 (bad key, echoed back in the message) or 403 (key not allowed)."""
    if status == 401:
        return ErrorReply(
            401,
            "Incorrect API key provided: {api_key}.",
            "invalid_request_error",
            "invalid_api_key",
        )
    return ErrorReply(
        status,
        "Your key {api_key} is not allowed to use this model.",
        "invalid_request_error",
        "model_not_allowed",
    )


def server_error(status: int = 500, *, message: str = "The server had an error.") -> ErrorReply:
    """A 5xx with an OpenAI-style body."""
    return ErrorReply(status, message, "server_error")


def model_not_found(model: str = "no-such-model") -> ErrorReply:
    """A 404 model_not_found, as OpenAI answers a model the account cannot use."""
    return ErrorReply(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    )


def response_format_refused(kind: str = "json_schema", *, status: int = 500) -> ErrorReply:
    """A refusal of a ``response_format`` type, in llama.cpp server's words (a 500 there)."""
    return ErrorReply(
        status,
        f"1 validation error for CreateChatCompletionRequest\nresponse_format.type\n  Input "
        f"should be 'text' or 'json_object' [type=literal_error, input_value='{kind}', "
        "input_type=str]",
        "internal_server_error" if status >= 500 else "invalid_request_error",
    )


def not_json(
    body: str = "<html><body>502 Bad Gateway</body></html>",
    *,
    status: int = 200,
    content_type: str = "text/html",
) -> RawReply:
    """An HTTP body that is no JSON, such as a proxy's HTML page."""
    return RawReply(status, body.encode(), content_type)


def truncated(missing_bytes: int = 64) -> RawReply:
    """The start of a completion, then the connection closes short of its Content-Length."""
    return RawReply(200, b'{"id": "chatcmpl-cut", "object": "chat.com', missing_bytes=missing_bytes)


def slow(response: Response, delay: float) -> Response:
    """``response``, answered only after ``delay`` seconds (waited in the server's thread)."""
    return replace(response, delay=delay)


Script = Callable[[Mapping[str, Any], int], Response]
"""Answers request number ``n`` (from 1), given its JSON body."""

PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})
MODEL_PATHS = frozenset({"/v1/models", "/models"})
FORMATS: frozenset[str] = frozenset({"text", "json_object", "json_schema"})
"""Every ``response_format`` type the server takes, by default."""


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as it reached the server."""

    number: int
    """1 for the first request the server received."""
    path: str
    headers: Mapping[str, str]
    """Lower-cased names; the ``authorization`` value is replaced by ``<redacted>``."""
    body: Mapping[str, Any]
    received_at: float
    """``time.monotonic()`` when the request had been read."""
    answered_at: float | None = None
    """``time.monotonic()`` just before the reply was written; None while unanswered."""
    response: Response | None = None
    """What the script answered; None while it has not."""


class _State(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    CLOSED = "closed"


@final
class FakeOpenAI:
    """A chat-completions server on 127.0.0.1 (a free port, or ``port``), for tests and trials.

    Use it as a context manager (``with`` or ``async with``); ``url`` is the base URL to
    hand the client. A script that raises, or a sequence that runs out, gets a 500
    reply, and the error is raised again when the server closes.

    ``models`` are the models it has: ``GET /models`` lists them, and a chat request for
    any other gets a 404 ``model_not_found`` without reaching the script. None (the
    default) has every model and lists ``model``. ``formats`` are the ``response_format``
    types it takes; a request with another gets ``response_format_refused`` (a 500, as
    llama.cpp's server answers ``json_schema``). With ``api_key``, any request that
    presents another key gets a 401. ``go_down()`` and ``come_back()`` close and reopen
    its port, so calls meanwhile are refused a connection; ``schedule_outage`` does both
    on its own, mid-run.

    Like a provider's prompt cache, it reports ``usage.prompt_tokens_details.cached_tokens``
    for the part of a prompt that repeats the start of an earlier one, in whole blocks of
    ``cache_block_tokens`` (4 characters a token; as vLLM's prefix caching counts; 0
    turns it off). ``cached_tokens`` sums what it reported.
    """

    def __init__(
        self,
        script: Script | Iterable[Response] = (),
        *,
        model: str = "fake-model",
        models: Iterable[str] | None = None,
        formats: Iterable[str] = FORMATS,
        api_key: str | None = None,
        port: int = 0,
        cache_block_tokens: int = 16,
    ) -> None:
        if cache_block_tokens < 0:
            raise UsageError(f"cache_block_tokens={cache_block_tokens!r} must be >= 0 (0: off)")
        self.model = model
        self.prefix_cache = _PrefixCache(cache_block_tokens * CHARS_PER_TOKEN)
        self.cached_tokens = 0
        """Prompt tokens reported as read from the cache, over every reply."""
        self._wanted_port = port
        self.api_key = api_key
        self.models = tuple(models) if models is not None else None
        self.formats = frozenset(formats)
        self.listings = 0
        """``GET /models`` requests answered."""
        self._script: Script | None = script if callable(script) else None
        self._queue: deque[Response] = deque() if callable(script) else deque(script)
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._errors: list[Exception] = []
        self._state = _State.NEW
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._port = 0
        self._down = False
        self._outage: tuple[int, float] | None = None
        self._outage_thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:PORT/v1``, while the server runs."""
        if self._port == 0 or self._state is not _State.RUNNING:
            raise UsageError(
                "FakeOpenAI has no URL until it runs; use `with FakeOpenAI(...) as server:`."
            )
        return f"http://127.0.0.1:{self._port}/v1"

    @property
    def port(self) -> int:
        """The port it serves on; it keeps it across ``go_down`` and ``come_back``."""
        return int(self.url.rsplit(":", 1)[1].removesuffix("/v1"))

    @property
    def requests(self) -> tuple[RecordedRequest, ...]:
        """Every request received so far, in order of arrival."""
        with self._lock:
            return tuple(self._requests)

    def push(self, *responses: Response) -> None:
        """Queue more replies after those already scripted."""
        if self._script is not None:
            raise UsageError("FakeOpenAI was given a script function; push() needs a sequence.")
        with self._lock:
            self._queue.extend(responses)

    def start(self) -> None:
        """Bind a free port on 127.0.0.1 and serve in a background thread."""
        if self._state is not _State.NEW:
            raise UsageError(f"FakeOpenAI is {self._state.value}; a server starts only once.")
        self._serve(self._wanted_port)
        self._state = _State.RUNNING

    def go_down(self) -> None:
        """Close the port and cut every connection: calls now fail to connect."""
        if self._state is not _State.RUNNING:
            raise UsageError(f"FakeOpenAI is {self._state.value}; only a running server goes down.")
        with self._lock:
            if self._down:
                return
            self._down = True
        self._stop_serving()

    def come_back(self) -> None:
        """Serve again on the same port after ``go_down``."""
        if self._state is not _State.RUNNING:
            raise UsageError(
                f"FakeOpenAI is {self._state.value}; only a running server comes back."
            )
        if self._down:
            self._serve(self._port)
            self._down = False

    @property
    def is_down(self) -> bool:
        return self._down

    def schedule_outage(self, *, after: int, seconds: float) -> None:
        """Go down once request number ``after`` is answered, and come back ``seconds`` later."""
        if after < 1 or seconds <= 0:
            raise UsageError(f"after={after!r} must be >= 1 and seconds={seconds!r} > 0")
        self._outage = (after, seconds)

    def _maybe_start_outage(self, number: int) -> None:
        if self._outage is None or number != self._outage[0]:
            return
        seconds = self._outage[1]

        def outage() -> None:
            self.go_down()
            if not self._stopping.wait(seconds):
                self.come_back()

        self._outage_thread = threading.Thread(target=outage, name="FakeOpenAI-outage")
        self._outage_thread.start()

    def _serve(self, port: int) -> None:
        self._httpd = _HttpServer(("127.0.0.1", port), _Handler, self)
        self._port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="FakeOpenAI",
            daemon=True,
        )
        self._thread.start()

    def _stop_serving(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.cut_connections()
            self._httpd.server_close()
            if self._thread is not None:
                self._thread.join()
            self._httpd = None

    def close(self) -> None:
        """Stop serving, cut open connections, join every thread; then raise a script error."""
        if self._state is _State.RUNNING:
            self._stopping.set()
            if self._outage_thread is not None:
                self._outage_thread.join()
            self._state = _State.CLOSED
            self._stop_serving()
        self._state = _State.CLOSED
        with self._lock:
            errors, self._errors = self._errors, []
        if errors:
            raise errors[0]

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self.close)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # Called from the handler threads.

    def _record(self, path: str, headers: Mapping[str, str], body: Mapping[str, Any]) -> int:
        with self._lock:
            number = len(self._requests) + 1
            self._requests.append(
                RecordedRequest(number, path, headers, body, received_at=time.monotonic())
            )
            return number

    def _answered(self, number: int, response: Response) -> None:
        with self._lock:
            index = number - 1
            self._requests[index] = replace(
                self._requests[index], answered_at=time.monotonic(), response=response
            )

    def _refusal(self, body: Mapping[str, Any]) -> Response | None:
        """The answer to a request this server cannot take, before the script sees it."""
        model = body.get("model")
        if self.models is not None and model not in self.models:
            return model_not_found(str(model))
        fmt = body.get("response_format")
        kind = fmt.get("type") if isinstance(fmt, Mapping) else None
        if isinstance(kind, str) and kind not in self.formats:
            return response_format_refused(kind)
        return None

    def _next(self, body: Mapping[str, Any], number: int) -> Response:
        try:
            if self._script is not None:
                return self._script(body, number)
            with self._lock:
                if self._queue:
                    return self._queue.popleft()
            raise UsageError(
                f"FakeOpenAI's script ran out at request {number}; push() more replies "
                "or pass a function."
            )
        except Exception as exc:
            self._fail(exc)
            return server_error(500, message=f"The fake server's script failed: {exc!r}")

    def _fail(self, error: Exception) -> None:
        with self._lock:
            self._errors.append(error)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() joins every handler thread
    block_on_close = True

    def __init__(self, address: tuple[str, int], handler: type[_Handler], fake: FakeOpenAI) -> None:
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

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
        """A client hanging up is expected (timeouts); any other error is raised on close."""
        error = sys.exc_info()[1]
        if isinstance(error, Exception) and not isinstance(error, OSError):
            self.fake._fail(error)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the recorded requests are the log."""

    def _refused_key(self) -> bool:
        """With an ``api_key`` set, answer a request that presents another one with a 401."""
        fake = self.server.fake
        bearer = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if fake.api_key is None or bearer == fake.api_key:
            return False
        reply = auth_failed(401)
        message = reply.message.replace("{api_key}", bearer)
        self._send(401, _error_body(message, reply.type, reply.code))
        return True

    def do_GET(self) -> None:
        fake = self.server.fake
        path = self.path.split("?", 1)[0]
        if self._refused_key():
            return
        if path not in MODEL_PATHS:
            self._send(404, _error_body(f"No route {path!r} on the fake server.", "not_found"))
            return
        with fake._lock:
            fake.listings += 1
        models = fake.models if fake.models is not None else (fake.model,)
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in models]
        self._send(200, json.dumps({"object": "list", "data": data}).encode())

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        path = self.path.split("?", 1)[0]
        if path not in PATHS:
            self._send(404, _error_body(f"No route {path!r} on the fake server.", "not_found"))
            return
        if self._refused_key():
            return
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as exc:
            self._send(400, _error_body(f"The request body is not JSON: {exc.msg}.", "bad_json"))
            return
        headers = {
            name.lower(): "<redacted>" if name.lower() == "authorization" else value
            for name, value in self.headers.items()
        }
        number = fake._record(path, headers, body)
        response = fake._refusal(body) or fake._next(body, number)
        if response.delay > 0 and fake._stopping.wait(response.delay):
            self.close_connection = True  # the server is closing: answer nothing
            return
        bearer = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        status, extra_headers, payload, missing = _render(response, body, number, fake, bearer)
        fake._answered(number, response)
        self._send(status, payload, extra_headers, missing=missing, number=number)
        fake._maybe_start_outage(number)

    def _send(
        self,
        status: int,
        payload: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        missing: int = 0,
        number: int = 0,
    ) -> None:
        headers = {"Content-Type": "application/json", **(headers or {})}
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("x-request-id", f"req_fake_{number}")
            self.send_header("Content-Length", str(len(payload) + missing))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True  # the client hung up, as a timed-out client does
        if missing:
            self.close_connection = True  # then hang up before the promised bytes


def _render(
    response: Response, body: Mapping[str, Any], number: int, fake: FakeOpenAI, bearer: str
) -> tuple[int, Mapping[str, str], bytes, int]:
    """Status, headers, body bytes and the bytes promised but withheld."""
    match response:
        case Completion():
            return 200, {}, _completion_body(response, body, number, fake), 0
        case ErrorReply():
            message = response.message.replace("{api_key}", bearer)
            payload = _error_body(message, response.type, response.code)
            return response.status, dict(response.headers), payload, 0
        case RawReply():
            headers = {"Content-Type": response.content_type, **response.headers}
            return response.status, headers, response.body, response.missing_bytes


def _completion_body(
    reply: Completion, request: Mapping[str, Any], number: int, fake: FakeOpenAI
) -> bytes:
    messages = request.get("messages") or []
    prompt_chars = sum(len(str(m.get("content") or "")) for m in messages if isinstance(m, dict))
    prompt_tokens = reply.prompt_tokens
    if prompt_tokens is None:
        prompt_tokens = max(1, prompt_chars // CHARS_PER_TOKEN)
    cached_tokens = reply.cached_tokens
    if cached_tokens is None:
        cached_chars = fake.prefix_cache.read(_cache_text(request))
        cached_tokens = min(prompt_tokens, cached_chars // CHARS_PER_TOKEN)
    with fake._lock:
        fake.cached_tokens += cached_tokens
    completion_tokens = reply.completion_tokens
    if completion_tokens is None:
        completion_tokens = max(1, len(reply.content or reply.refusal or "") // 4)
    payload = {
        "id": f"chatcmpl-fake-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": reply.model or request.get("model") or fake.model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": reply.content,
                    "refusal": reply.refusal,
                },
                "finish_reason": reply.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens},
        },
    }
    return json.dumps(payload).encode()


def _cache_text(request: Mapping[str, Any]) -> str:
    """What a provider's prompt cache keys on: the model, then each message in order."""
    messages = request.get("messages") or []
    parts = [str(request.get("model"))]
    parts += [f"<{m.get('role')}>{m.get('content') or ''}" for m in messages if isinstance(m, dict)]
    return "\n".join(parts)


@final
class _PrefixCache:
    """Blocks of prompt text, each known by the hash of everything up to its end: a prompt
    whose first blocks were seen before reads them from the cache."""

    def __init__(self, block_chars: int) -> None:
        self.block_chars = block_chars
        self._seen: set[bytes] = set()
        self._lock = threading.Lock()

    def read(self, text: str) -> int:
        """Characters of ``text`` read from the cache; then all of its blocks are cached."""
        if self.block_chars == 0:
            return 0
        chain = hashlib.sha256()
        hits, hashes = 0, []
        for start in range(0, len(text) - self.block_chars + 1, self.block_chars):
            chain.update(text[start : start + self.block_chars].encode())
            hashes.append(chain.digest())
        with self._lock:
            for digest in hashes:
                if digest not in self._seen:
                    break
                hits += 1
            self._seen.update(hashes)
        return hits * self.block_chars


def _error_body(message: str, type_: str, code: str | None = None) -> bytes:
    error = {"message": message, "type": type_, "param": None, "code": code}
    return json.dumps({"error": error}).encode()
