"""The OpenAI gateway against a real HTTP server: requests, replies and every failure class."""

from __future__ import annotations

import socket
import traceback
from collections.abc import AsyncIterator, Callable

import openai
import pytest

from actors.llm import DraftReply, reply_schema
from actors.llm._gateway import LlmRequest
from actors.llm._openai import OpenAiLlm
from actors.llm._parse import parse_reply
from actors.llm._pricing import Price
from actors.llm._strict_schema import strict_schema
from actors.llm.testing import (
    FakeOpenAI,
    Response,
    auth_failed,
    completion,
    cut_short,
    not_json,
    quota_exhausted,
    rate_limited,
    refusal,
    server_error,
    slow,
    truncated,
)
from messages import (
    AuthFailed,
    ClosedResourceError,
    LlmError,
    LlmTimeout,
    MalformedReply,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    SchemaMismatch,
    Stage,
    UsageError,
)

pytestmark = pytest.mark.anyio

SECRET = "sk-test-SECRET123"
DRAFT = {"subject": "Hello", "body": "A short note."}


@pytest.fixture(autouse=True)
def key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with the secret exported, as an operator would have it."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def request(*, timeout: float = 10.0, model: str | None = None) -> LlmRequest:
    return LlmRequest(
        stage=Stage.WRITING,
        schema_name="writing_reply",
        json_schema=reply_schema(Stage.WRITING),
        system="You write first emails.",
        prompt="<data>{}</data>",
        inputs={},
        trace_id="L1",
        timeout=timeout,
        model=model,
    )


Gateway = Callable[[FakeOpenAI], OpenAiLlm]


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    """Build gateways on a fake server's URL, with the secret key; close them afterwards."""
    made: list[OpenAiLlm] = []

    def make(server: FakeOpenAI) -> OpenAiLlm:
        llm = OpenAiLlm(model="gpt-4o-mini", base_url=server.url, api_key=SECRET)
        made.append(llm)
        return llm

    yield make
    for llm in made:
        await llm.aclose()


def assert_no_secret(error: BaseException) -> None:
    """Neither the error's text, its repr, nor its whole formatted traceback holds the key."""
    assert SECRET not in str(error)
    assert SECRET not in repr(error)
    assert SECRET not in "".join(traceback.format_exception(error))


async def test_a_clean_completion_parses_into_the_stage_reply(gateway: Gateway) -> None:
    """A 200 completion comes back as text that parse_reply turns into a DraftReply."""
    with FakeOpenAI([completion(DRAFT, prompt_tokens=120, completion_tokens=30)]) as server:
        reply = await gateway(server).complete(request())
    assert reply.finish_reason == "stop"
    assert (reply.model, reply.prompt_tokens, reply.completion_tokens) == ("gpt-4o-mini", 120, 30)
    assert reply.latency_s >= 0
    assert parse_reply(Stage.WRITING, reply) == DraftReply(subject="Hello", body="A short note.")
    assert SECRET not in repr(reply)


async def test_the_request_carries_the_strict_schema_messages_model_and_timeout(
    gateway: Gateway,
) -> None:
    """The provider receives the strict schema, system and user messages, and the model."""
    with FakeOpenAI([completion(DRAFT)]) as server:
        await gateway(server).complete(request(timeout=7.5))
    (sent,) = server.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.body["model"] == "gpt-4o-mini"
    assert sent.body["messages"] == [
        {"role": "system", "content": "You write first emails."},
        {"role": "user", "content": "<data>{}</data>"},
    ]
    assert sent.body["response_format"] == {
        "type": "json_schema",
        "json_schema": {
            "name": "writing_reply",
            "schema": strict_schema(reply_schema(Stage.WRITING)),
            "strict": True,
        },
    }
    assert "max_completion_tokens" not in sent.body
    assert sent.headers["x-stainless-read-timeout"] == "7.5"
    assert sent.headers["authorization"] == "<redacted>"


async def test_a_request_model_overrides_the_default(gateway: Gateway) -> None:
    """LlmRequest.model (the fallback model, say) is the model asked for."""
    with FakeOpenAI([completion(DRAFT)]) as server:
        reply = await gateway(server).complete(request(model="gpt-4.1-mini"))
    assert server.requests[0].body["model"] == "gpt-4.1-mini"
    assert reply.model == "gpt-4.1-mini"


async def test_the_key_and_base_url_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no arguments, OPENAI_API_KEY and OPENAI_BASE_URL are used."""
    with FakeOpenAI([completion(DRAFT)]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        async with OpenAiLlm(model="gpt-4o-mini") as llm:
            await llm.complete(request())
    assert len(server.requests) == 1


async def test_a_missing_key_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key anywhere stops before any request, with the fix in the message."""
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(UsageError) as caught:
        OpenAiLlm(model="gpt-4o-mini")
    assert str(caught.value) == "OPENAI_API_KEY is not set; export it, or run with --llm offline"


@pytest.mark.parametrize(
    "url", ["http://urluser:urlPASS@127.0.0.1:9/v1", "https://urluser@api.example/v1"]
)
def test_credentials_in_the_base_url_are_refused_beside_the_key(url: str) -> None:
    """A base URL with a user name (and password) would replace the key in the Authorization
    header; it is refused in one line, before any request."""
    with pytest.raises(UsageError) as caught:
        OpenAiLlm(model="gpt-4o-mini", api_key=SECRET, base_url=url)
    assert str(caught.value) == (
        "OPENAI_BASE_URL holds a user name and password, which the HTTP client would send "
        "instead of OPENAI_API_KEY; remove them from the URL (the API key is what is sent)"
    )
    assert "urlPASS" not in str(caught.value)


@pytest.mark.parametrize("value", [0, -1])
def test_limits_must_be_positive(value: int) -> None:
    """An rpm below 1 is refused with the value and the fix."""
    with pytest.raises(UsageError) as caught:
        OpenAiLlm(model="m", api_key=SECRET, rpm=value)
    assert str(caught.value) == f"rpm={value!r} must be >= 1, or None for no limit."


FAILURES: list[tuple[str, Response, type[LlmError], str]] = [
    (
        "429 retry-after",
        rate_limited(retry_after=2.0),
        RateLimited,
        "Rate limited by the provider (HTTP 429 rate_limit_exceeded, retry after 2 s): "
        "Rate limit reached for requests. Please try again later (request id req_fake_1).",
    ),
    (
        "429 retry-after-ms",
        rate_limited(retry_after_ms=300),
        RateLimited,
        "Rate limited by the provider (HTTP 429 rate_limit_exceeded, retry after 0.3 s): "
        "Rate limit reached for requests. Please try again later (request id req_fake_1).",
    ),
    (
        "quota",
        quota_exhausted(),
        QuotaExhausted,
        "The provider's quota is exhausted (HTTP 429 insufficient_quota): You exceeded your "
        "current quota, please check your plan and billing details (request id req_fake_1). "
        "Check the plan and billing of the account behind OPENAI_API_KEY.",
    ),
    (
        "401",
        auth_failed(401),
        AuthFailed,
        "The provider refused the credentials (HTTP 401): Incorrect API key provided: "
        "[REDACTED] (request id req_fake_1). Check OPENAI_API_KEY and OPENAI_BASE_URL.",
    ),
    (
        "403",
        auth_failed(403),
        AuthFailed,
        "The provider refused the credentials (HTTP 403): Your key [REDACTED] is not allowed "
        "to use this model (request id req_fake_1). Check OPENAI_API_KEY and OPENAI_BASE_URL.",
    ),
    (
        "500",
        server_error(500),
        ProviderError,
        "The provider failed (HTTP 500): The server had an error (request id req_fake_1).",
    ),
    (
        "502 html",
        not_json(status=502),
        ProviderError,
        "The provider failed (HTTP 502): <html><body>502 Bad Gateway</body></html> "
        "(request id req_fake_1).",
    ),
    (
        "503",
        server_error(503, message="Overloaded"),
        ProviderError,
        "The provider failed (HTTP 503): Overloaded (request id req_fake_1).",
    ),
    (
        "404",
        server_error(404, message="The model `gpt-4o-mini` does not exist"),
        ProviderError,
        "The provider rejected the request (HTTP 404): The model `gpt-4o-mini` does not "
        "exist (request id req_fake_1).",
    ),
    (
        "html body",
        not_json(),
        ProviderError,
        "The provider's HTTP body is not a chat completion: "
        "'<html><body>502 Bad Gateway</body></html>'.",
    ),
    (
        "garbage json body",
        not_json("{not json", content_type="application/json"),
        ProviderError,
        "The provider's HTTP body is not valid JSON: Expecting property name enclosed in "
        "double quotes at offset 1.",
    ),
    (
        "json but no completion",
        not_json('{"hello": "world"}', content_type="application/json"),
        ProviderError,
        "The provider's response is not a chat completion with a choice.",
    ),
]


@pytest.mark.parametrize(
    ("response", "error", "message"),
    [failure[1:] for failure in FAILURES],
    ids=[failure[0] for failure in FAILURES],
)
async def test_each_provider_failure_maps_to_its_error_after_one_request(
    gateway: Gateway, response: Response, error: type[LlmError], message: str
) -> None:
    """Each HTTP failure becomes its taxonomy error, exactly once (the SDK retries nothing)."""
    with FakeOpenAI([response]) as server, pytest.raises(LlmError) as caught:
        await gateway(server).complete(request())
    assert type(caught.value) is error
    assert str(caught.value) == message
    assert len(server.requests) == 1
    assert_no_secret(caught.value)


@pytest.mark.parametrize(
    ("response", "answered"),
    [(server_error(404, message="No such model"), True), (server_error(503), False)],
    ids=["404", "503"],
)
async def test_a_refused_request_says_the_provider_answered(
    gateway: Gateway, response: Response, answered: bool
) -> None:
    """A 4xx is the request's fault, a 5xx may be an outage: the breaker counts only the
    second."""
    with FakeOpenAI([response]) as server, pytest.raises(ProviderError) as caught:
        await gateway(server).complete(request())
    assert caught.value.answered is answered


async def test_a_rate_limit_carries_the_advised_pause(gateway: Gateway) -> None:
    """retry-after-ms becomes RateLimited.retry_after in seconds."""
    with (
        FakeOpenAI([rate_limited(retry_after_ms=300)]) as server,
        pytest.raises(RateLimited) as caught,
    ):
        await gateway(server).complete(request())
    assert caught.value.retry_after == 0.3


async def test_a_reply_slower_than_the_timeout_is_an_llm_timeout(gateway: Gateway) -> None:
    """The per-call timeout reaches the SDK: a slow reply is LlmTimeout after one request."""
    slow_reply = slow(completion(DRAFT), 30.0)
    with FakeOpenAI([slow_reply]) as server, pytest.raises(LlmTimeout) as caught:
        await gateway(server).complete(request(timeout=0.2))
    assert str(caught.value) == (
        "No reply from the provider within 0.2 s (the HTTP request timed out)."
    )
    assert len(server.requests) == 1
    assert_no_secret(caught.value)


async def test_a_body_cut_short_is_a_provider_error(gateway: Gateway) -> None:
    """A body shorter than its Content-Length, then a hang-up, is a ProviderError that says so."""
    with FakeOpenAI([truncated(missing_bytes=64)]) as server:
        with pytest.raises(ProviderError) as caught:
            await gateway(server).complete(request())
        where = server.url.removeprefix("http://").removesuffix("/v1")
    assert str(caught.value).startswith(
        f"The provider at {where} closed the connection before its HTTP response was complete "
        "(RemoteProtocolError: "
    )
    assert len(server.requests) == 1
    assert_no_secret(caught.value)


async def test_a_refused_connection_is_a_provider_error() -> None:
    """Nothing listening on the port is a ProviderError naming host and port, not the key."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with OpenAiLlm(model="m", base_url=f"http://127.0.0.1:{port}/v1") as llm:
        with pytest.raises(ProviderError) as caught:
            await llm.complete(request())
    assert str(caught.value).startswith(
        f"Could not talk to the provider at 127.0.0.1:{port} (ConnectError: "
    )
    assert_no_secret(caught.value)


async def test_finish_reason_length_comes_back_and_parses_as_malformed(gateway: Gateway) -> None:
    """A reply cut by the token limit keeps finish_reason "length"; parse_reply rejects it."""
    with FakeOpenAI([cut_short('{"subject": "Hel')]) as server:
        reply = await gateway(server).complete(request())
    assert (reply.text, reply.finish_reason) == ('{"subject": "Hel', "length")
    with pytest.raises(MalformedReply, match=r"cut short \(finish_reason=length\)"):
        parse_reply(Stage.WRITING, reply)


async def test_a_refusal_comes_back_as_its_text_and_parses_as_malformed(gateway: Gateway) -> None:
    """message.refusal becomes the text with finish_reason "refusal"; parse_reply rejects it."""
    with FakeOpenAI([refusal("I can't help with that.")]) as server:
        reply = await gateway(server).complete(request())
    assert (reply.text, reply.finish_reason) == ("I can't help with that.", "refusal")
    with pytest.raises(MalformedReply, match="refused"):
        parse_reply(Stage.WRITING, reply)


async def test_prose_content_is_returned_and_parses_as_malformed(gateway: Gateway) -> None:
    """Content that is no JSON is the model's fault, not the provider's: MalformedReply."""
    with FakeOpenAI([completion("Sure! Here is your email: Hello")]) as server:
        reply = await gateway(server).complete(request())
    with pytest.raises(MalformedReply, match="not JSON"):
        parse_reply(Stage.WRITING, reply)


async def test_json_content_off_the_schema_parses_as_a_schema_mismatch(gateway: Gateway) -> None:
    """Content that is JSON but misses fields is a SchemaMismatch."""
    with FakeOpenAI([completion({"subject": "Hi"})]) as server:
        reply = await gateway(server).complete(request())
    with pytest.raises(SchemaMismatch, match="body: Field required"):
        parse_reply(Stage.WRITING, reply)


async def test_tokens_and_cost_are_counted(gateway: Gateway) -> None:
    """Usage tokens and the list-price cost land in the reply and the statistics."""
    replies = [
        completion(
            DRAFT, model="gpt-4o-mini-2024-07-18", prompt_tokens=1000, completion_tokens=500
        ),
        completion(DRAFT, model="llama3.1:8b", prompt_tokens=10, completion_tokens=5),
    ]
    with FakeOpenAI(replies) as server:
        llm = gateway(server)
        priced = await llm.complete(request())
        unpriced = await llm.complete(request(model="llama3.1:8b"))
    expected = (1000 * 0.15 + 500 * 0.60) / 1e6
    assert priced.extra["cost_usd"] == pytest.approx(expected)
    assert unpriced.extra["cost_usd"] is None
    stats = llm.statistics()
    assert (stats.requests, stats.failures, stats.waiting) == (2, 0, 0)
    assert (stats.prompt_tokens, stats.completion_tokens) == (1010, 505)
    assert stats.cost_usd == pytest.approx(expected)
    assert stats.unpriced == 1


async def test_custom_prices_price_a_self_hosted_model() -> None:
    """prices= overrides the table, for a model the table does not know."""
    with FakeOpenAI([completion(DRAFT, prompt_tokens=1_000_000, completion_tokens=0)]) as server:
        async with OpenAiLlm(
            model="local", base_url=server.url, prices={"local": Price(0.5, 1.0)}
        ) as llm:
            reply = await llm.complete(request())
    assert reply.extra["cost_usd"] == 0.5


async def test_a_given_client_is_used_with_its_retries_off() -> None:
    """An injected client that would retry 5 times sends exactly one request per call."""
    with FakeOpenAI([server_error(503)]) as server:
        async with openai.AsyncOpenAI(api_key=SECRET, base_url=server.url, max_retries=5) as client:
            llm = OpenAiLlm(model="gpt-4o-mini", client=client)
            with pytest.raises(ProviderError):
                await llm.complete(request())
            await llm.aclose()
            assert not client.is_closed()
    assert llm.client.max_retries == 0
    assert len(server.requests) == 1


async def test_failures_are_counted(gateway: Gateway) -> None:
    """statistics() counts requests and the ones that failed."""
    with FakeOpenAI([server_error(500), completion(DRAFT)]) as server:
        llm = gateway(server)
        with pytest.raises(ProviderError):
            await llm.complete(request())
        await llm.complete(request())
    assert (llm.statistics().requests, llm.statistics().failures) == (2, 1)


async def test_a_closed_gateway_refuses_calls(gateway: Gateway) -> None:
    """After aclose(), complete() raises a precise ClosedResourceError."""
    with FakeOpenAI([]) as server:
        llm = gateway(server)
        await llm.aclose()
        with pytest.raises(ClosedResourceError) as caught:
            await llm.complete(request())
    assert str(caught.value) == "Cannot complete a request, as the OpenAiLlm is closed."
    assert server.requests == ()


async def test_the_gateway_repr_shows_no_key(gateway: Gateway) -> None:
    """repr names the model and URL, never the key."""
    with FakeOpenAI([]) as server:
        text = repr(gateway(server))
    assert text.startswith("OpenAiLlm(model='gpt-4o-mini', base_url='http://127.0.0.1:")
    assert SECRET not in text
