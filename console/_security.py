"""Who may call the API: a bearer token, compared in constant time."""

from __future__ import annotations

from fastapi import HTTPException, Request

from console._token import same_token


async def require_token(request: Request) -> None:
    """Refuse a request without the service's bearer token, with 401."""
    expected: str = request.app.state.token
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not same_token(given.strip(), expected):
        raise HTTPException(
            status_code=401,
            detail="send Authorization: Bearer <token> (LEADWRIGHT_TOKEN, or the run "
            "directory's token file)",
            headers={"WWW-Authenticate": "Bearer"},
        )
