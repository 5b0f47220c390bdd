"""The console and the app around it against hostile clients, in-process: malformed
parameters are 4xx (and a property-based fuzz of every console route finds no 5xx), no
redirect names a host the client made up, and the schema needs the token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console import create_app
from supervision.system import Gate, System

pytestmark = pytest.mark.anyio

TOKEN = "hostile-console-token-0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def client(system: System) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(system, Gate(), TOKEN))
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as c:
        yield c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient) -> str:
    """Sign in; the session's CSRF token."""
    form = await client.get("/signin")
    data = {"csrf": csrf_of(form.text), "token": TOKEN, "reviewer": "Ada"}
    assert (await client.post("/signin", data=data)).status_code == 303
    return csrf_of((await client.get("/")).text)


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/inbox/bulk", {"action": "approve", "ids": "²"}),
        ("/inbox/bulk", {"action": "approve", "ids": "99999999999999999999"}),
        ("/dead/replay", {"ids": "-1"}),
        ("/ops/retry", {"ids": "1.5"}),
        ("/items/99999999999999999999/approve", {}),
        ("/items/0/reject", {"reason": "x"}),
        ("/items/0/decline", {"reason": "x"}),
        ("/items/-3/retry", {"facts": "x"}),
        ("/items/²/edit", {"subject": "s", "body": "b"}),
    ],
)
async def test_a_malformed_number_is_a_422(
    client: httpx.AsyncClient, path: str, form: dict[str, str]
) -> None:
    """A superscript digit, a number past SQLite's range or below 1, in a form or a path,
    is a 422 saying what is wrong, never a 500."""
    csrf = await sign_in(client)
    answer = await client.post(path, data=form | {"csrf": csrf})
    assert answer.status_code == 422, answer.text


async def test_a_huge_letter_number_in_a_path_is_a_422(client: httpx.AsyncClient) -> None:
    """``/ops/<20 digits>`` (and the old ``/dead/<20 digits>``) is refused as out of
    range, not looked up."""
    await sign_in(client)
    assert (await client.get("/ops/99999999999999999999")).status_code == 422
    assert (await client.get("/dead/99999999999999999999")).status_code == 422


@pytest.mark.parametrize("path", ["/healthz/", "/v1/leads/", "/crm/", "/dead/", "/ops/"])
async def test_no_redirect_names_the_host_a_client_sent(
    client: httpx.AsyncClient, path: str
) -> None:
    """A trailing slash and ``Host: evil.example`` get a 404 or 401, never a redirect built
    from that host."""
    answer = await client.get(path, headers={"Host": "evil.example"})
    assert answer.status_code in (401, 404)
    assert "location" not in answer.headers


async def test_the_schema_needs_the_token_and_no_page_loads_a_script_from_elsewhere(
    client: httpx.AsyncClient,
) -> None:
    """``/openapi.json`` is a 401 without the token and the schema with it; ``/docs`` and
    ``/redoc`` (which load scripts from a CDN) are not served."""
    assert (await client.get("/openapi.json")).status_code == 401
    schema = await client.get("/openapi.json", headers=AUTH)
    assert schema.status_code == 200 and "/v1/leads" in schema.json()["paths"]
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert (await client.get(path)).status_code == 404


ROUTES = [
    ("GET", "/?rule={s}&cursor={n}&view={s}&page={n}"),
    ("GET", "/?view=decided&page={n}"),
    ("GET", "/leads/{s}"),
    ("GET", "/ops?show={s}"),
    ("GET", "/ops/{n}"),
    ("GET", "/dead/{n}"),
    ("GET", "/dashboard/drift/{s}"),
    ("GET", "/crm?{s}={s}"),
    ("GET", "/crm?q={s}&outcome={s}&fit={s}&sort={s}&order={s}&page={n}"),
    ("GET", "/crm?sort={c}&order={o}&page={n}&q={s}"),
    ("POST", "/items/{n}/approve"),
    ("POST", "/items/{n}/edit"),
    ("POST", "/items/{n}/reject"),
    ("POST", "/items/{n}/decline"),
    ("POST", "/items/{n}/retry"),
    ("POST", "/inbox/bulk"),
    ("POST", "/ops/retry"),
    ("POST", "/dead/replay"),
    ("POST", "/signout"),
    ("POST", "/signin"),
]
TEXT = st.text(max_size=30)
NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70).map(str), TEXT, st.sampled_from(["²", "1e3", "0x10", " 7"])
)
FIELD_NAMES = [
    "ids",
    "action",
    "reason",
    "subject",
    "body",
    "intent",
    "override",
    "next",
    "note",
    "cursor",
    "rule",
    "facts",
    "url",
    "rejected",
]
FIELDS = st.dictionaries(
    st.sampled_from(FIELD_NAMES),
    st.one_of(TEXT, NUMBERS),
    max_size=6,
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    route=st.sampled_from(ROUTES),
    text=TEXT,
    number=NUMBERS,
    fields=FIELDS,
    with_csrf=st.booleans(),
    choice=st.tuples(
        st.sampled_from(["fit", "date", "company", "", "FIT"]),
        st.sampled_from(["asc", "desc", "", "up"]),
    ),
)
async def test_no_console_route_answers_500(
    client: httpx.AsyncClient,
    route: tuple[str, str],
    text: str,
    number: str,
    fields: dict[str, str],
    with_csrf: bool,
    choice: tuple[str, str],
) -> None:
    """Any text or number in any parameter of any console route, any form fields, with or
    without a valid CSRF token, signed in: never a 5xx."""
    csrf = await sign_in(client)
    method, template = route
    path = template.format(
        s=quote(text, safe=""),
        n=quote(number, safe=""),
        c=choice[0],
        o=choice[1],
    )
    if method == "GET":
        answer = await client.get(path)
    else:
        data = fields | ({"csrf": csrf} if with_csrf else {})
        answer = await client.post(path, data=data)
    assert answer.status_code < 500, (method, path, fields, answer.text[:500])


async def test_a_notice_shows_only_what_this_server_wrote(client: httpx.AsyncClient) -> None:
    """``/?msg=`` with a stranger's text shows nothing of it; the notice of an action,
    signed by the server in its redirect, shows."""
    csrf = await sign_in(client)
    lure = "Your session expired; call +1 555 0100 with your token"
    for msg in (lure, "x." + "0" * 32, "%%%.zz"):
        page = await client.get("/", params={"msg": msg})
        assert page.status_code == 200 and "call +1 555" not in page.text
    answer = await client.post("/inbox/bulk", data={"csrf": csrf, "action": "approve"})
    assert answer.status_code == 303
    followed = await client.get(answer.headers["location"])
    assert "Select at least one item." in followed.text
