"""The console's webhooks page: endpoints and deliveries for a signed-in person, untrusted
text inert, and a redeliver button that needs the session's CSRF token."""

from __future__ import annotations

import httpx
import pytest

from actors.intake import read_records
from actors.webhooks import EndpointPolicy, Result, announce_outcome
from messages import Outcome
from supervision.system import System
from tests.support.forms import csrf_of, sign_in
from tests.support.paths import EXAMPLES

pytestmark = pytest.mark.anyio


async def failed_delivery(system: System) -> int:
    """One lead.failed delivery to an endpoint whose last answer was hostile markup."""
    store = system.stores.webhooks
    store.add("https://hooks.example.com/x?a=<b>", [], EndpointPolicy(retries=()))
    input_id = await system.stores.ledger.open_input("test")
    fields = next(read_records(EXAMPLES / "leads.csv")).fields
    [receipt] = await system.stores.ledger.submit(input_id, [(1, fields)])
    system.stores.ledger.db.run_sync(
        lambda c: announce_outcome(c, receipt.record, Outcome.FAILED, "x")
    )
    [due] = await store.due(1e12, 10, busy=[], held=[])
    await store.record(due, Result(500, "HTTP 500: <script>alert(1)</script>", 0.1))
    [delivery] = store.deliveries()
    return delivery.id


async def test_the_page_lists_endpoints_and_deliveries_with_their_text_inert(
    client: httpx.AsyncClient, system: System
) -> None:
    """A stranger is sent to sign in; a person sees each endpoint and each delivery's
    status and last answer, whose markup is escaped."""
    delivery = await failed_delivery(system)
    stranger = await client.get("/webhooks")
    assert (stranger.status_code, stranger.headers["location"]) == (303, "/signin")
    await sign_in(client)
    page = (await client.get("/webhooks")).text
    assert "https://hooks.example.com/x?a=&lt;b&gt;" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert f'data-delivery="{delivery}"' in page and ">failed<" in page


async def test_redeliver_needs_the_csrf_token_and_makes_the_delivery_due(
    client: httpx.AsyncClient, system: System
) -> None:
    """Without the token the button's form is refused (403) and nothing changes; with it,
    the failed delivery is pending again, and the page says so."""
    delivery = await failed_delivery(system)
    csrf = await sign_in(client)
    path = f"/webhooks/deliveries/{delivery}/redeliver"
    refused = await client.post(path, data={"csrf": "wrong"})
    assert refused.status_code == 403
    assert system.stores.webhooks.deliveries()[0].status.value == "failed"
    done = await client.post(path, data={"csrf": csrf})
    assert done.status_code == 303
    assert system.stores.webhooks.deliveries()[0].status.value == "pending"
    assert "will be sent again" in (await client.get(done.headers["location"])).text
    missing = await client.post("/webhooks/deliveries/999/redeliver", data={"csrf": csrf})
    assert "no webhook delivery 999" in (await client.get(missing.headers["location"])).text
    assert csrf_of((await client.get("/webhooks")).text) == csrf
