"""What the fake OpenAI server answers a request with: a completion, an OpenAI-style error,
or any bytes at all, and the builders a script uses for each case a provider has."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any


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
