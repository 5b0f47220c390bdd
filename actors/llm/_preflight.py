"""The preflight: before any lead is admitted, make sure the model can be reached at all.

A run whose server is unreachable, whose key is refused or whose model does not exist
is not a run of leads that need a person; it is one operator error. The preflight finds
it in one request or two and says it in one line that names the fix:

    what failed                         the line names
    connection refused, reset           the host and port; start the server or fix the URL
    DNS failure                         the host; check OPENAI_BASE_URL
    TLS failure                         the host and port; http or https, the certificate
    no answer in time                   the host and port; is it up
    HTTP 401, 403                       OPENAI_API_KEY
    unknown model (404)                 the model, and the models the server lists

For an OpenAI-compatible server it lists the models (``GET /models``); when the model is
not listed (or there is no list) it makes one tiny call, since some servers answer for
models they do not list.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from actors.llm._gateway import LlmGateway, innermost
from actors.llm._openai_errors import redact
from messages import UsageError

if TYPE_CHECKING:
    import openai

PREFLIGHT_TIMEOUT_S = 15.0
"""How long the preflight waits for each of its requests."""

_DNS = ("name or service not known", "nodename nor servname", "name resolution", "getaddrinfo")
_TLS = ("ssl", "tls", "certificate")


class PreflightFailed(UsageError):
    """The model cannot be used at all; the message is the one line for the operator."""


@runtime_checkable
class Preflighted(Protocol):
    """A gateway that can check, before a run, that it can answer at all."""

    async def preflight(self) -> None:
        """Return when the gateway can answer; raise ``PreflightFailed`` if it cannot."""
        ...


async def preflight(gateway: LlmGateway) -> None:
    """Check that the backend behind ``gateway`` (past any wrapper) can answer at all.

    Raises ``PreflightFailed`` with one line naming the fix. Backends with nothing to
    check (the offline engine) pass at once.
    """
    backend = innermost(gateway)
    if isinstance(backend, Preflighted):
        await backend.preflight()


async def check_openai_server(
    client: openai.AsyncOpenAI,
    model: str,
    *,
    secrets: Iterable[str] = (),
    request_timeout: float = PREFLIGHT_TIMEOUT_S,
) -> None:
    """The preflight of an OpenAI-compatible server, through a copy of ``client``."""
    import openai  # on first use: only a run on the openai backend needs it

    secrets = tuple(secrets)
    url = client.base_url
    where = f"{url.host}:{url.port}" if url.port is not None else str(url.host)
    probe = client.with_options(
        http_client=openai.DefaultAsyncHttpxClient(), max_retries=0, timeout=request_timeout
    )
    try:
        listed = await _list_models(probe)
        if listed is None or model not in listed:
            await _tiny_call(probe, model, where, listed)
    except PreflightFailed:
        raise
    except openai.APITimeoutError:
        failure = (
            f"the LLM server at {where} did not answer within {request_timeout:g} s; check that it "
            "is up and that OPENAI_BASE_URL points at it"
        )
    except openai.APIConnectionError as exc:
        failure = _unreachable(exc, where)
    except openai.APIStatusError as exc:
        if exc.status_code in (401, 403):
            failure = (
                f"the LLM server at {where} refused the credentials (HTTP {exc.status_code}); "
                "check OPENAI_API_KEY"
            )
        else:
            failure = f"the LLM server at {where} failed the preflight: {_status(exc)}"
    else:
        return
    finally:
        await probe.close()
    # Raised outside the except clauses: the SDK's exception holds the request and key.
    raise PreflightFailed(redact(failure, secrets))


async def _list_models(client: openai.AsyncOpenAI) -> list[str] | None:
    """The ids ``GET /models`` lists, or None when the server has no such route."""
    import openai

    try:
        page = await client.models.list()
    except openai.APIStatusError as exc:
        if exc.status_code in (404, 405, 501):
            return None
        raise
    return [entry.id for entry in page.data]


async def _tiny_call(
    client: openai.AsyncOpenAI, model: str, where: str, listed: list[str] | None
) -> None:
    """One call of one token: only an unknown model (or credentials) fails it."""
    import openai

    try:
        await client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Reply with OK."}],
            max_completion_tokens=1,
        )
    except openai.APIStatusError as exc:
        if exc.status_code in (401, 403):
            raise
        if exc.status_code != 404 and exc.code != "model_not_found":
            return  # the server answered about something else: the model is there
        status, code = exc.status_code, exc.code or "not found"
    else:
        return
    has = f"; it lists {', '.join(listed[:10])}" if listed else ""
    raise PreflightFailed(
        f"the LLM server at {where} has no model {model!r} (HTTP {status} {code}){has}; "
        "pick one with --model"
    )


def _unreachable(exc: openai.APIConnectionError, where: str) -> str:
    reasons: list[str] = []
    refused = False
    cause: BaseException | None = exc.__cause__ or exc.__context__
    while cause is not None and len(reasons) < 8:
        reasons.append(" ".join(str(cause).split()))
        refused = refused or isinstance(cause, ConnectionRefusedError)
        cause = cause.__cause__ or cause.__context__
    reason = next((r for r in reasons if r), "no detail")
    lowered = " ".join(reasons).lower()
    host = where.rsplit(":", 1)[0]
    if any(word in lowered for word in _DNS):
        return f"cannot resolve the LLM server's host {host!r} ({reason}); check OPENAI_BASE_URL"
    if any(word in lowered for word in _TLS):
        return (
            f"TLS with the LLM server at {where} failed ({reason}); check that OPENAI_BASE_URL "
            "says http or https as the server does, and the server's certificate"
        )
    if refused or "refused" in lowered:
        return (
            f"cannot reach the LLM server at {where} (connection refused); start it, or point "
            "OPENAI_BASE_URL at it"
        )
    return f"cannot reach the LLM server at {where} ({reason}); check OPENAI_BASE_URL"


def _status(exc: openai.APIStatusError) -> str:
    return f"HTTP {exc.status_code} {' '.join(exc.message.split())[:200]}"
