"""OpenAI SDK exceptions, classified into the failure taxonomy.

    openai exception                        Leadwright error
    APITimeoutError                         LlmTimeout
    RateLimitError, insufficient_quota      QuotaExhausted     (never retried: the run stops)
    any other HTTP 429                      RateLimited        (retry_after from the headers)
    HTTP 401, HTTP 403                      AuthFailed         (never retried: the run stops)
    HTTP 5xx                                ProviderError
    any other HTTP 4xx                      ProviderError      (the status is in the message)
    APIConnectionError                      ProviderError      (refused, reset, body cut short)
    APIResponseValidationError              ProviderError      (a body that is no completion)
    json.JSONDecodeError                    ProviderError      (an HTTP body that is no JSON)
    any other OpenAIError                   ProviderError

Another 4xx (400, 404, 422) is a ``ProviderError`` rather than a bug of ours: it is most
often a model that a server does not have or a schema feature it does not support, and
the caller's retry goes to the fallback model, which may well have it.

The model's *content* not being JSON is not classified here: that text is returned and
``parse_reply`` makes it a ``MalformedReply``.

No message carries the API key or any request header: messages are built from the
status, the provider's error code and message, and the exception's cause, and
``redact`` scrubs what the provider echoed back (some echo the key, masked or not).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from actors.runtime import lazy_module
from messages import AuthFailed, LlmError, LlmTimeout, ProviderError, QuotaExhausted, RateLimited

if TYPE_CHECKING:
    import openai
else:
    openai = lazy_module("openai")  # a second to import: only for runs that use it

MAX_DETAIL_CHARS = 300
"""How much of a provider's error text a message keeps."""

_KEYLIKE = re.compile(r"sk-[A-Za-z0-9_\-*.]{4,}")
_BEARER = re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=*\-]+")
_SPACE = re.compile(r"\s+")


def classify(
    exc: openai.OpenAIError | json.JSONDecodeError,
    *,
    secrets: Iterable[str] = (),
    timeout: float | None = None,
    now: datetime | None = None,
) -> LlmError:
    """The taxonomy's error for ``exc``; no part of ``secrets`` is in its message.

    ``timeout`` (seconds) names the deadline in a timeout's message; ``now`` anchors a
    ``retry-after`` given as an HTTP date (the current time by default).
    """
    secrets = tuple(secrets)
    match exc:
        case openai.APITimeoutError():
            within = f" within {timeout:g} s" if timeout is not None else ""
            return LlmTimeout(f"No reply from the provider{within} (the HTTP request timed out).")
        case openai.APIConnectionError():
            return ProviderError(redact(_connection_failure(exc), secrets))
        case openai.APIResponseValidationError():
            return ProviderError(
                redact(
                    f"The provider's HTTP {exc.status_code} response is not a chat completion: "
                    f"{exc.message}",
                    secrets,
                )
            )
        case openai.APIStatusError():
            return _status_error(exc, secrets, now)
        case json.JSONDecodeError():
            return ProviderError(
                f"The provider's HTTP body is not valid JSON: {exc.msg} at offset {exc.pos}."
            )
        case _:
            return ProviderError(
                redact(f"The OpenAI client failed: {type(exc).__name__}: {exc}", secrets)
            )


def _status_error(
    exc: openai.APIStatusError, secrets: tuple[str, ...], now: datetime | None
) -> LlmError:
    status = exc.status_code
    detail = _detail(exc, secrets)
    request_id = f" (request id {exc.request_id})" if exc.request_id else ""
    if status == 429:
        code = exc.code or exc.type or "rate_limit_exceeded"
        if "insufficient_quota" in (exc.code, exc.type):
            return QuotaExhausted(
                f"The provider's quota is exhausted (HTTP 429 insufficient_quota){detail}"
                f"{request_id}. Check the plan and billing of the account behind "
                "OPENAI_API_KEY."
            )
        retry_after = retry_after_seconds(exc.response.headers, now=now)
        advice = f"retry after {retry_after:g} s" if retry_after is not None else "no retry-after"
        return RateLimited(
            redact(f"Rate limited by the provider (HTTP 429 {code}, {advice}){detail}", secrets)
            + f"{request_id}.",
            retry_after=retry_after,
        )
    if status in (401, 403):
        return AuthFailed(
            f"The provider refused the credentials (HTTP {status}){detail}{request_id}. "
            "Check OPENAI_API_KEY and OPENAI_BASE_URL."
        )
    if status >= 500:
        return ProviderError(
            f"The provider failed (HTTP {status}){detail}{request_id}.", status=status
        )
    return ProviderError(
        f"The provider rejected the request (HTTP {status}){detail}{request_id}.", status=status
    )


def _detail(exc: openai.APIStatusError, secrets: tuple[str, ...]) -> str:
    """The provider's own words about the error, scrubbed and shortened: ``": ..."``."""
    body = exc.body
    message: object = body.get("message") if isinstance(body, Mapping) else body
    if not isinstance(message, str) or not message.strip():
        return ""
    text = _SPACE.sub(" ", redact(message, secrets)).strip().rstrip(".")
    if len(text) > MAX_DETAIL_CHARS:
        text = text[:MAX_DETAIL_CHARS] + "…"
    return f": {text}"


def _connection_failure(exc: openai.APIConnectionError) -> str:
    url = exc.request.url
    # Host and port only: a base URL's path or query may hold a deployment key.
    where = f"{url.host}:{url.port}" if url.port is not None else url.host
    cause = exc.__cause__
    if cause is None:
        return f"Could not talk to the provider at {where}: {exc.message}"
    reason = _SPACE.sub(" ", str(cause)).strip() or "no detail"
    if "complete message body" in reason:
        return (
            f"The provider at {where} closed the connection before its HTTP response was "
            f"complete ({type(cause).__name__}: {reason})."
        )
    return f"Could not talk to the provider at {where} ({type(cause).__name__}: {reason})."


def retry_after_seconds(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """The pause a 429 advises, in seconds, or None when it advises none (or garbage).

    ``retry-after-ms`` (milliseconds, OpenAI's own) wins over ``retry-after``, which is
    either seconds or an HTTP date; a date in the past advises no pause (0).
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    millis = _number(lowered.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000.0
    value = lowered.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without any of ``secrets``, key-like tokens (``sk-…``) or bearer tokens."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[REDACTED]")
    text = _BEARER.sub("Bearer [REDACTED]", text)
    return _KEYLIKE.sub("sk-[REDACTED]", text)
