"""The console's sign-in, as a person's browser does it, through an in-process client."""

from __future__ import annotations

import re

import httpx

TOKEN = "console-token-0123456789"
"""The API token the in-process console tests' app is built with."""
AUTH = {"Authorization": f"Bearer {TOKEN}"}
"""The header that authenticates an API request under ``TOKEN``."""


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, reviewer: str = "Ada", token: str = TOKEN) -> str:
    """Sign in as ``reviewer``; the session's CSRF token."""
    form = await client.get("/signin")
    answer = await client.post(
        "/signin", data={"csrf": csrf_of(form.text), "token": token, "reviewer": reviewer}
    )
    assert answer.status_code == 303
    return csrf_of((await client.get("/")).text)
