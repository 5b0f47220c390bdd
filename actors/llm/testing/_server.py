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

import enum
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Self, final

import anyio.to_thread

from actors.llm._tokens import CHARS_PER_TOKEN
from actors.llm.testing._http import Answer, Headers, Serving
from actors.llm.testing._prefix_cache import PrefixCache, cache_text
from actors.llm.testing._responses import (
    Completion,
    ErrorReply,
    RawReply,
    Response,
    auth_failed,
    model_not_found,
    response_format_refused,
    server_error,
)
from actors.llm.testing._wire import (
    MODEL_PATHS,
    PATHS,
    completion_body,
    error_body,
    models_body,
    prompt_tokens,
)
from messages import UsageError

Script = Callable[[Mapping[str, Any], int], Response]
"""Answers request number ``n`` (from 1), given its JSON body."""

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
        self.prefix_cache = PrefixCache(cache_block_tokens * CHARS_PER_TOKEN)
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
        self._serving: Serving | None = None
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
        self._serving = Serving(port, self, name="FakeOpenAI")
        self._port = self._serving.port

    def _stop_serving(self) -> None:
        if self._serving is not None:
            self._serving.stop()
            self._serving = None

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

    # The HTTP server's owner: called from its handler threads.

    def get(self, path: str, headers: Headers) -> Answer:
        refused = self._refused_key(headers)
        if refused is not None:
            return refused
        if path not in MODEL_PATHS:
            return Answer(404, error_body(f"No route {path!r} on the fake server.", "not_found"))
        with self._lock:
            self.listings += 1
        return Answer(200, models_body(self.models if self.models is not None else (self.model,)))

    def post(self, path: str, headers: Headers, body: bytes) -> Answer | None:
        if path not in PATHS:
            return Answer(404, error_body(f"No route {path!r} on the fake server.", "not_found"))
        refused = self._refused_key(headers)
        if refused is not None:
            return refused
        try:
            request = json.loads(body)
        except json.JSONDecodeError as exc:
            return Answer(400, error_body(f"The request body is not JSON: {exc.msg}.", "bad_json"))
        recorded = {
            name.lower(): "<redacted>" if name.lower() == "authorization" else value
            for name, value in headers
        }
        number = self._record(path, recorded, request)
        response = self._refusal(request) or self._next(request, number)
        if response.delay > 0 and self._stopping.wait(response.delay):
            return None  # the server is closing: answer nothing
        answer = self._render(response, request, number, _bearer(headers))
        self._answered(number, response)
        return answer

    def sent(self, answer: Answer) -> None:
        self._maybe_start_outage(answer.number)

    def failed(self, error: Exception) -> None:
        with self._lock:
            self._errors.append(error)

    def _refused_key(self, headers: Headers) -> Answer | None:
        """With an ``api_key`` set, a 401 for a request that presents another one."""
        bearer = _bearer(headers)
        if self.api_key is None or bearer == self.api_key:
            return None
        reply = auth_failed(401)
        message = reply.message.replace("{api_key}", bearer)
        return Answer(401, error_body(message, reply.type, reply.code))

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
            self.failed(exc)
            return server_error(500, message=f"The fake server's script failed: {exc!r}")

    def _render(
        self, response: Response, request: Mapping[str, Any], number: int, bearer: str
    ) -> Answer:
        """``response`` on the wire, its usage counted (the prefix cache read) here."""
        match response:
            case Completion():
                prompt = prompt_tokens(response, request)
                cached = response.cached_tokens
                if cached is None:
                    cached_chars = self.prefix_cache.read(cache_text(request))
                    cached = min(prompt, cached_chars // CHARS_PER_TOKEN)
                with self._lock:
                    self.cached_tokens += cached
                payload = completion_body(
                    response,
                    request,
                    number,
                    model=self.model,
                    prompt_tokens=prompt,
                    cached_tokens=cached,
                )
                return Answer(200, payload, number=number)
            case ErrorReply():
                message = response.message.replace("{api_key}", bearer)
                payload = error_body(message, response.type, response.code)
                return Answer(response.status, payload, dict(response.headers), number=number)
            case RawReply():
                headers = {"Content-Type": response.content_type, **response.headers}
                return Answer(
                    response.status, response.body, headers, response.missing_bytes, number
                )


def _bearer(headers: Headers) -> str:
    """The key the first ``Authorization`` header presents, or ``""``."""
    value = next((v for name, v in headers if name.lower() == "authorization"), "")
    return value.removeprefix("Bearer ").strip()
