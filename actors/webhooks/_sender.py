"""One attempt to deliver one event to one endpoint: signed, bounded, and judged.

The request is a POST of the event's body as stored, with the Standard Webhooks headers
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``) signed by the
``standardwebhooks`` package with the endpoint's secret at the moment of sending. It goes
to the address ``resolve`` checked; redirects are not followed (a 3xx is a failure: the
URL should be updated); the answer must come within the policy's timeout, and at most
``MAX_ANSWER`` bytes of it are read. 2xx is success; anything else is a failure with a
reason a person can read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import anyio
from standardwebhooks import Webhook

from actors.runtime import lazy_module
from actors.webhooks._address import EndpointRefused, Target, check_url, resolve
from actors.webhooks._policy import EndpointPolicy, retry_after

if TYPE_CHECKING:
    import httpx2
else:
    httpx2 = lazy_module("httpx2")

USER_AGENT = "Leadwright-Webhooks/1"
MAX_ANSWER = 64 * 1024
"""Bytes of a receiver's answer read at most; the rest is never downloaded."""
ERROR_CHARS = 300
"""Characters of a failure's reason kept (an answer's text included)."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt came to."""

    status: int | None
    """The HTTP status, or ``None`` when no answer came."""
    error: str | None
    """Why it failed, in a person's words; ``None`` when delivered."""
    duration_s: float
    retry_after: float | None = None
    """Seconds the receiver asked to wait (``Retry-After``), if it did."""

    @property
    def delivered(self) -> bool:
        return self.error is None

    @property
    def gone(self) -> bool:
        """The receiver wants no more webhooks (410 Gone)."""
        return self.status == 410

    @property
    def overloaded(self) -> bool:
        """No answer, or one that says the receiver is down or busy: the breaker counts it."""
        return self.status is None or self.status == 429 or self.status >= 500


def headers_for(secret: str, event_id: str, body: bytes, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt made at ``at``."""
    signature = Webhook(secret).sign(event_id, at, body)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


async def attempt(
    client: httpx2.AsyncClient,
    url: str,
    policy: EndpointPolicy,
    secret: str,
    event_id: str,
    body: str,
) -> Attempt:
    """Deliver ``body`` once; never raises for anything the receiver or network does."""
    started = anyio.current_time()

    def took() -> float:
        return anyio.current_time() - started

    try:
        target = check_url(url, allow_private=policy.allow_private)
        address = await resolve(target, allow_private=policy.allow_private)
    except EndpointRefused as refused:
        return Attempt(None, f"refused: {refused}"[:ERROR_CHARS], took())
    payload = body.encode("utf-8")
    headers = headers_for(secret, event_id, payload, datetime.now(UTC))
    result: Attempt | None = None
    with anyio.move_on_after(policy.timeout):
        result = await _post(client, target, address, headers, payload, took)
    if result is None:
        return Attempt(None, f"no answer within {policy.timeout:g} s", took())
    return result


async def _post(
    client: httpx2.AsyncClient,
    target: Target,
    address: str,
    headers: dict[str, str],
    payload: bytes,
    took: Callable[[], float],
) -> Attempt:
    host = f"[{address}]" if ":" in address else address
    url = f"{target.scheme}://{host}:{target.port}{target.path}"
    default = 443 if target.scheme == "https" else 80
    headers = {
        **headers,
        "host": target.host if target.port == default else f"{target.host}:{target.port}",
    }
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        request = client.build_request(
            "POST", url, headers=headers, content=payload, extensions=extensions
        )
        response = await client.send(request, stream=True, follow_redirects=False)
        try:
            answer = await _read_capped(response)
        finally:
            await response.aclose()
    except httpx2.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        return Attempt(None, f"{type(exc).__name__}: {reason}"[:ERROR_CHARS], took())
    status = response.status_code
    if 200 <= status < 300:
        return Attempt(status, None, took())
    text = " ".join(answer.decode("utf-8", "replace").split())
    reason = f"HTTP {status}" + (f": {text}" if text else "")
    wait = retry_after(response.headers.get("retry-after"))
    return Attempt(status, reason[:ERROR_CHARS], took(), wait)


async def _read_capped(response: httpx2.Response) -> bytes:
    """At most ``MAX_ANSWER`` bytes of the answer; the rest stays unread."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_ANSWER:
            break
    return b"".join(chunks)[:MAX_ANSWER]
