"""Delivering webhooks: the retry schedule, one attempt against a real receiver, and the
sender that retries, holds a failing endpoint back and disables a dead one."""

from __future__ import annotations

import random
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import anyio
import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook

from actors.intake import read_records
from actors.webhooks import (
    STANDARD_RETRIES,
    Attempt,
    DeliveryStatus,
    EndpointPolicy,
    EndpointRefused,
    EndpointState,
    SecretFiles,
    Webhooks,
    announce_outcome,
    attempt,
    check_url,
    new_secret,
    retry_after,
)
from actors.webhooks._address import Target, resolve
from messages import Outcome
from supervision.system import Stores
from tests.support.paths import EXAMPLES
from tests.support.receiver import Answer, Received, Receiver, receiving

pytestmark = pytest.mark.anyio

QUICK = EndpointPolicy(allow_private=True, retries=(0.05,) * 8, timeout=5.0, jitter=0.0)
BODY = '{"type":"lead.failed"}'


# The schedule


@given(failed=st.integers(min_value=1, max_value=len(STANDARD_RETRIES)), seed=st.integers())
def test_each_retry_waits_its_scheduled_delay_within_the_jitter(failed: int, seed: int) -> None:
    """After n failures the next attempt waits the schedule's n-th delay, give or take 10%."""
    delay = EndpointPolicy().delay(failed, random.Random(seed))
    planned = STANDARD_RETRIES[failed - 1]
    assert delay is not None and 0.9 * planned <= delay <= 1.1 * planned


def test_the_schedule_spans_three_days_then_gives_up() -> None:
    """Standard Webhooks' schedule: 5 s first, 24 h last, about 75 hours in all, then None."""
    policy = EndpointPolicy(jitter=0.0)
    delays = [policy.delay(n, random.Random(0)) for n in range(1, len(STANDARD_RETRIES) + 2)]
    assert delays[0] == 5 and delays[-2] == 86400 and delays[-1] is None
    assert 75 * 3600 < sum(d for d in delays if d is not None) < 76 * 3600


def test_a_retry_after_is_honoured_but_never_beyond_a_day() -> None:
    """Retry-After in seconds or as an HTTP date holds the next attempt back, up to a day."""
    policy = EndpointPolicy(jitter=0.0)
    assert policy.delay(1, random.Random(0), retry_after=120.0) == 120.0
    assert policy.delay(1, random.Random(0), retry_after=1.0) == 5.0
    assert policy.delay(1, random.Random(0), retry_after=10**9) == 86400.0
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert retry_after("soon") is None and retry_after("-3") == 0.0


# The address


def test_a_private_address_is_refused_unless_allowed_and_metadata_always() -> None:
    """127.0.0.1, localhost and 10.0.0.1 need allow_private; 169.254.169.254 never passes."""
    for url in ("http://127.0.0.1:8000/", "http://localhost/", "https://10.0.0.1/x"):
        with pytest.raises(EndpointRefused, match="--allow-private"):
            check_url(url, allow_private=False)
        check_url(url, allow_private=True)
    with pytest.raises(EndpointRefused, match="not an http or https URL"):
        check_url("ftp://example.com/", allow_private=True)
    with pytest.raises(EndpointRefused, match="leave credentials out"):
        check_url("https://user:pw@example.com/", allow_private=False)


async def test_a_name_that_resolves_to_a_private_address_is_refused() -> None:
    """After DNS, every address must be public: localhost's 127.0.0.1 is refused without
    allow_private; a metadata address is refused with it too."""
    local = Target("http://localhost/", "http", "localhost", 80, "/")
    with pytest.raises(
        EndpointRefused, match=r"resolves to 127\.0\.0\.1, which is a loopback address"
    ):
        await resolve(local, allow_private=False)
    assert await resolve(local, allow_private=True) in ("127.0.0.1", "::1")
    metadata = Target("http://169.254.169.254/", "http", "169.254.169.254", 80, "/")
    with pytest.raises(EndpointRefused, match="metadata"):
        await resolve(metadata, allow_private=True)


# One attempt


async def send(url: str, policy: EndpointPolicy = QUICK, secret: str = "") -> Attempt:
    async with httpx2.AsyncClient(trust_env=False, timeout=None) as client:
        return await attempt(client, url, policy, secret or new_secret(), "msg_1", BODY)


async def test_an_attempt_is_signed_as_standard_webhooks_says(receiver: Receiver) -> None:
    """The receiver gets the body as stored, and its headers verify with standardwebhooks."""
    secret = new_secret()
    result = await send(receiver.url, secret=secret)
    [got] = receiver.received
    assert result.delivered and result.status == 204
    assert got.body.decode() == BODY and got.headers["webhook-id"] == "msg_1"
    assert Webhook(secret).verify(got.body, got.headers) == {"type": "lead.failed"}


@pytest.mark.parametrize(
    ("answer", "error", "gone"),
    [
        (Answer(500, body=b"database  down"), "HTTP 500: database down", False),
        (Answer(302, {"location": "http://127.0.0.1:9/"}), "HTTP 302", False),
        (Answer(410), "HTTP 410", True),
        (Answer(200, body=b"x" * 5_000_000), None, False),
    ],
)
async def test_an_answer_is_judged_and_a_redirect_is_not_followed(
    answer: Answer, error: str | None, gone: bool
) -> None:
    """2xx delivers (a huge answer is read only in part); a 5xx or a 3xx fails with its
    reason, the 3xx not followed; a 410 says the receiver is gone."""
    with receiving(lambda _, __: answer) as receiver:
        result = await send(receiver.url)
        assert len(receiver.received) == 1
    assert result.error == error and result.gone is gone


async def test_a_receiver_that_does_not_answer_in_time_fails_the_attempt() -> None:
    """No answer within the timeout is a failure that says so; nothing waits longer."""
    released = threading.Event()
    with receiving(lambda _, __: Answer(wait=released)) as receiver:
        policy = EndpointPolicy(allow_private=True, timeout=0.3)
        try:
            result = await send(receiver.url, policy)
        finally:
            released.set()
    assert result.error == "no answer within 0.3 s"


async def test_an_attempt_to_a_private_address_without_the_flag_sends_nothing(
    receiver: Receiver,
) -> None:
    """A policy without allow_private fails the attempt as refused, and no request is made."""
    result = await send(receiver.url, EndpointPolicy())
    assert receiver.received == []
    assert str(result.error).startswith("refused: 127.0.0.1 is a loopback address")


# The sender


@asynccontextmanager
async def sending(
    out: Path, url: str, policy: EndpointPolicy, outcomes: int = 1, concurrency: int = 8
) -> AsyncIterator[tuple[Stores, Webhooks]]:
    """A run directory with an endpoint and ``outcomes`` failed leads queued for it, and a
    sender delivering them for the block."""
    await anyio.Path(out).mkdir()
    stores = Stores.open(out)
    endpoint = stores.webhooks.add(url, [], policy)
    SecretFiles(out).make(endpoint.id)
    leads = read_records(EXAMPLES / "leads.csv")
    input_id = await stores.ledger.open_input("test")
    receipts = await stores.ledger.submit(
        input_id, [(n, next(leads).fields) for n in range(1, outcomes + 1)]
    )
    records = [receipt.record for receipt in receipts]
    stores.ledger.db.run_sync(
        lambda c: [announce_outcome(c, record, Outcome.FAILED, "x") for record in records]
    )
    hooks = Webhooks(
        stores.webhooks, SecretFiles(out), rng=random.Random(0), concurrency=concurrency
    )
    sender = hooks.sender()
    try:
        async with anyio.create_task_group() as group:
            await group.start(sender.run)
            yield stores, hooks
            sender.stop(drain=False)
    finally:
        stores.close()


async def until(hooks: Webhooks, condition: Callable[[], bool], deadline_s: float = 20.0) -> None:
    """Wait, attempt by attempt, until ``condition`` holds; fail the test at the deadline."""
    with anyio.fail_after(deadline_s):
        while not condition():
            await hooks.wait_recorded()


async def test_a_failing_delivery_is_retried_until_it_is_delivered(tmp_path: Path) -> None:
    """Two failures (one asking Retry-After: 0), then 204: delivered on the third attempt,
    with every attempt recorded and the same webhook-id each time."""

    def answer(_: Received, count: int) -> Answer:
        return [Answer(503, {"retry-after": "0"}), Answer(500)][count] if count < 2 else Answer()

    with receiving(answer) as receiver:
        async with sending(tmp_path / "run", receiver.url, QUICK) as (stores, hooks):
            await until(hooks, lambda: hooks.delivered == 1)
            [delivery] = stores.webhooks.deliveries()
            attempts = stores.webhooks.attempts(delivery.id)
        got = receiver.received
    assert delivery.status is DeliveryStatus.DELIVERED and delivery.attempts == 3
    assert [status for _, status, _, _ in attempts] == [503, 500, 204]
    assert len({r.headers["webhook-id"] for r in got}) == 1


async def test_a_breaker_holds_back_an_endpoint_that_is_down(tmp_path: Path) -> None:
    """After two failures in a row the endpoint's breaker opens: its other deliveries wait
    for the cool-down instead of each trying a dead receiver (one attempt at a time here)."""
    policy = EndpointPolicy(
        allow_private=True, retries=(60.0,), breaker_threshold=2, breaker_cooldown=60.0
    )
    with receiving(lambda _, __: Answer(503)) as receiver:
        out = tmp_path / "run"
        async with sending(out, receiver.url, policy, outcomes=6, concurrency=1) as (_, hooks):
            await until(hooks, lambda: hooks.statistics().held == 1)
            await until(hooks, lambda: not hooks.in_flight)
            tried = len(receiver.received)
    assert tried == 2, "the open breaker kept the rest from being tried"


async def test_an_endpoint_failing_past_its_limit_or_gone_is_disabled(tmp_path: Path) -> None:
    """One that fails longer than disable_after is disabled with the reason; one that
    answers 410 Gone at once; a disabled endpoint is sent nothing more."""
    policy = EndpointPolicy(
        allow_private=True, retries=(0.05,) * 50, disable_after=0.3, breaker_cooldown=0.05
    )
    with receiving(lambda _, __: Answer(500)) as receiver:
        async with sending(tmp_path / "a", receiver.url, policy) as (stores, hooks):
            await until(hooks, lambda: stores.webhooks.need(1).state is EndpointState.DISABLED)
            endpoint = stores.webhooks.need(1)
    assert str(endpoint.disabled_reason).startswith("every attempt failed since")
    with receiving(lambda _, __: Answer(410)) as receiver:
        async with sending(tmp_path / "b", receiver.url, QUICK) as (stores, hooks):
            await until(hooks, lambda: stores.webhooks.need(1).state is EndpointState.DISABLED)
            await until(hooks, lambda: not hooks.in_flight)
            assert stores.webhooks.need(1).disabled_reason == "it answered 410 Gone"
            assert len(receiver.received) == 1
            [delivery] = stores.webhooks.deliveries()
            assert delivery.status is DeliveryStatus.PENDING, "kept for when it is enabled"
