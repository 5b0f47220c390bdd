"""Who may call the API: a bearer token, compared in constant time, with failures
throttled per client address (``Throttle``) and logged, redacted, to the event log."""

from __future__ import annotations

from fastapi import HTTPException, Request

from actors import EventLog
from console._throttle import Throttle, retry_after
from console._token import same_token


def client_address(request: Request) -> str:
    """The connection's peer address (a proxy's, behind one)."""
    return request.client.host if request.client is not None else "unknown"


def refuse_if_throttled(request: Request) -> None:
    """A 429 with ``Retry-After`` while the client's address must wait after failures."""
    throttle: Throttle = request.app.state.throttle
    wait = throttle.wait(client_address(request))
    if wait > 0:
        raise HTTPException(
            status_code=429,
            detail="too many failed tokens from this address; retry later",
            headers={"Retry-After": retry_after(wait)},
        )


def count_failure(request: Request, kind: str) -> None:
    """Count a wrong token from the request's address, and log it (never the token)."""
    throttle: Throttle = request.app.state.throttle
    address = client_address(request)
    failures, wait = throttle.failed(address)
    log: EventLog = request.app.state.log
    log.warning(
        "auth_failed",
        actor="console",
        kind=kind,
        client=address,
        path=request.url.path[:200],
        failures=failures,
        wait_s=wait,
    )


async def require_token(request: Request) -> None:
    """Refuse a request without the service's bearer token, with 401 (429 while its
    address waits after too many failures)."""
    refuse_if_throttled(request)
    expected: str = request.app.state.token
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not same_token(given.strip(), expected):
        count_failure(request, "bearer")
        raise HTTPException(
            status_code=401,
            detail="send Authorization: Bearer <token> (LEADWRIGHT_TOKEN, or the run "
            "directory's token file)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.app.state.throttle.succeeded(client_address(request))
