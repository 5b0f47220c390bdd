"""The fake OpenAI-compatible server itself: real HTTP, scripted replies, records, lifecycle."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import pytest

from actors.llm.testing import (
    FakeOpenAI,
    Response,
    auth_failed,
    completion,
    rate_limited,
    refusal,
    slow,
    truncated,
)
from messages import UsageError

pytestmark = pytest.mark.anyio

SECRET = "sk-test-SECRET123"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x" * 40}]}


def post(
    server: FakeOpenAI, body: Mapping[str, Any] = BODY, *, path: str = "/v1/chat/completions"
) -> tuple[int, dict[str, str], bytes]:
    """One POST with plain http.client: status, lower-cased headers, body."""
    url = urlsplit(server.url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port)
    try:
        connection.request(
            "POST",
            path,
            body=json.dumps(body),
            headers={"Authorization": f"Bearer {SECRET}", "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        return (
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            response.read(),
        )
    finally:
        connection.close()


def test_a_completion_echoes_the_model_and_counts_usage() -> None:
    """A scripted completion is a chat.completion with the requested model and filled usage."""
    with FakeOpenAI([completion({"a": 1})]) as server:
        status, headers, raw = post(server)
    assert status == 200
    assert headers["x-request-id"] == "req_fake_1"
    body = json.loads(raw)
    assert body["object"] == "chat.completion"
    assert body["model"] == "gpt-4o-mini"
    assert body["choices"][0]["message"]["content"] == '{"a": 1}'
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"] == {
        "prompt_tokens": 10,
        "completion_tokens": 2,
        "total_tokens": 12,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


def test_a_refusal_has_no_content() -> None:
    """A refusal carries message.refusal and null content."""
    with FakeOpenAI([refusal("No.")]) as server:
        _, _, raw = post(server)
    message = json.loads(raw)["choices"][0]["message"]
    assert (message["content"], message["refusal"]) == (None, "No.")


def test_the_short_path_is_served_and_others_are_not() -> None:
    """/chat/completions works as /v1/chat/completions does; any other path is a 404."""
    with FakeOpenAI([completion("{}")]) as server:
        assert post(server, path="/chat/completions")[0] == 200
        assert post(server, path="/v1/embeddings")[0] == 404
    assert [r.path for r in server.requests] == ["/chat/completions"]


def test_a_rate_limit_sends_both_retry_headers() -> None:
    """rate_limited() sets retry-after and retry-after-ms as asked, with an OpenAI error body."""
    with FakeOpenAI([rate_limited(retry_after=2, retry_after_ms=1500)]) as server:
        status, headers, raw = post(server)
    assert status == 429
    assert (headers["retry-after"], headers["retry-after-ms"]) == ("2", "1500")
    assert json.loads(raw)["error"]["code"] == "rate_limit_exceeded"


def test_a_401_echoes_the_presented_key_so_redaction_is_really_tested() -> None:
    """The fake provider leaks the key in its 401 body, as careless ones do."""
    with FakeOpenAI([auth_failed(401)]) as server:
        status, _, raw = post(server)
    assert status == 401
    assert SECRET in json.loads(raw)["error"]["message"]


def test_requests_are_recorded_without_the_authorization_value() -> None:
    """Each request is kept with its body, times and reply; the key is not."""
    reply = completion("{}")
    with FakeOpenAI([reply]) as server:
        post(server)
    (recorded,) = server.requests
    assert recorded.number == 1
    assert recorded.body == BODY
    assert recorded.headers["authorization"] == "<redacted>"
    assert SECRET not in repr(recorded)
    assert recorded.answered_at is not None
    assert recorded.answered_at >= recorded.received_at
    assert recorded.response == reply


def test_a_truncated_body_promises_more_than_it_sends() -> None:
    """Content-Length exceeds the bytes sent, and then the server hangs up."""
    with (
        FakeOpenAI([truncated(missing_bytes=10)]) as server,
        pytest.raises(http.client.IncompleteRead),
    ):
        post(server)


def test_a_script_function_gets_the_body_and_the_request_number() -> None:
    """A function script sees each request's JSON and its number, from 1."""
    seen: list[tuple[int, str]] = []

    def script(body: Mapping[str, Any], number: int) -> Response:
        seen.append((number, body["model"]))
        return completion("{}")

    with FakeOpenAI(script) as server:
        post(server)
        post(server, {**BODY, "model": "other"})
    assert seen == [(1, "gpt-4o-mini"), (2, "other")]


def test_push_queues_more_replies() -> None:
    """push() appends to a sequence script."""
    with FakeOpenAI() as server:
        server.push(completion("{}"), refusal())
        assert post(server)[0] == 200
        assert post(server)[0] == 200


def test_a_script_that_runs_out_answers_500_and_raises_on_close() -> None:
    """Running out of replies is a test bug: the client sees a 500 and close() raises."""
    server = FakeOpenAI([])
    server.start()
    assert post(server)[0] == 500
    with pytest.raises(UsageError) as caught:
        server.close()
    assert str(caught.value) == (
        "FakeOpenAI's script ran out at request 1; push() more replies or pass a function."
    )


def test_closing_does_not_wait_for_a_slow_reply() -> None:
    """A reply delayed far beyond the test is abandoned when the server closes."""
    arrived = threading.Event()

    def script(body: Mapping[str, Any], number: int) -> Response:
        arrived.set()
        return slow(completion("{}"), 600.0)

    with FakeOpenAI(script) as server:
        url = urlsplit(server.url)
        connection = http.client.HTTPConnection(url.hostname or "", url.port)
        connection.request("POST", "/v1/chat/completions", body=json.dumps(BODY))
        assert arrived.wait(timeout=10)
    with pytest.raises(http.client.RemoteDisconnected):
        connection.getresponse()
    connection.close()
    (recorded,) = server.requests
    assert recorded.answered_at is None


def test_misuse_is_refused_with_a_precise_sentence() -> None:
    """No URL before start, no second start, no restart, no push onto a function script."""
    server = FakeOpenAI([])
    with pytest.raises(UsageError, match="has no URL until it runs"):
        _ = server.url
    with (
        server,
        pytest.raises(UsageError, match="FakeOpenAI is running; a server starts only once"),
    ):
        server.start()
    with pytest.raises(UsageError, match="FakeOpenAI is closed; a server starts only once"):
        server.start()
    with pytest.raises(UsageError, match="push\\(\\) needs a sequence"):
        FakeOpenAI(lambda body, number: completion("{}")).push(completion("{}"))


async def test_the_server_works_as_an_async_context_manager() -> None:
    """async with starts and stops it, for async tests."""
    async with FakeOpenAI([completion("{}")]) as server:
        assert server.url.startswith("http://127.0.0.1:")
    with pytest.raises(UsageError):
        _ = server.url


def _prompted(lead_id: str, feedback: str = "") -> dict[str, Any]:
    """A chat body as the pipeline sends it: a scoring prompt about one lead."""
    lead = {
        "lead_id": lead_id, "record": 1, "first_name": "Ana", "last_name": "Diaz",
        "email": "ana@acme.io", "title": "CTO", "company": "Acme", "domain": "acme.io",
        "industry": "Software", "employees": 120, "country": "ES", "notes": "",
    }  # fmt: skip
    data = {
        "lead": lead,
        "research": {"summary": "", "claims": []},
        "icp_score": 55,
        "icp_fit": "medium",
        "thresholds": {"high": 70, "medium": 40},
    }
    user = f"<data>\n{json.dumps(data)}\n</data>{feedback}"
    return {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": user}]}


def test_the_offline_model_draws_anew_for_another_seed_and_repeats_a_request() -> None:
    """Asked again about the same lead with another sampling seed (an Operations retry
    moves it on), the fake server's model draws a new answer, so a retry can succeed; the
    same request always gets the same answer, from this server or a fresh one."""
    from actors.llm.testing import OfflineModel

    def answers(model: OfflineModel, seed: int | None) -> list[str | None]:
        bodies = [_prompted(f"L{n}") | ({} if seed is None else {"seed": seed}) for n in range(20)]
        return [getattr(model(body, n), "content", None) for n, body in enumerate(bodies)]

    model = OfflineModel(imperfection_rate=0.5)
    first = answers(model, None)
    assert first == answers(model, None) == answers(OfflineModel(imperfection_rate=0.5), None)
    assert answers(model, 7919) != first
