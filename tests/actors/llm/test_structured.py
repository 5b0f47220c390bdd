"""The structured-output ladder against a real HTTP server that refuses some modes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import structlog
from structlog.testing import LogCapture

from actors.llm import (
    MODES_FILE,
    LlmCaller,
    ModeMemory,
    Rung,
    ScoreReply,
    describe_schema,
    reply_schema,
)
from actors.llm._gateway import LlmRequest
from actors.llm._openai import OpenAiLlm
from actors.llm._parse import parse_reply
from actors.llm.testing import FakeOpenAI, Response, completion, response_format_refused
from messages import ProviderError, SchemaMismatch, Stage, UsageError

pytestmark = pytest.mark.anyio

SECRET = "sk-test-SECRET123"
SCORE = {"fit": "high", "score": 88, "confidence": 0.9, "reasons": ["Fits the ICP."]}


def request(stage: Stage = Stage.SCORING, *, trace_id: str = "L1") -> LlmRequest:
    return LlmRequest(
        stage=stage,
        schema_name=f"{stage.value}_reply",
        json_schema=reply_schema(stage),
        system="You judge leads.",
        prompt="<data>{}</data>",
        inputs={},
        trace_id=trace_id,
    )


Gateway = Callable[..., OpenAiLlm]


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    """Build gateways on a fake server's URL; close them afterwards."""
    made: list[OpenAiLlm] = []

    def make(server: FakeOpenAI, **options: Any) -> OpenAiLlm:
        llm = OpenAiLlm(model="local-model", base_url=server.url, api_key=SECRET, **options)
        made.append(llm)
        return llm

    yield make
    for llm in made:
        await llm.aclose()


def kinds(server: FakeOpenAI) -> list[str | None]:
    """The response_format type of every request the server received."""
    return [(r.body.get("response_format") or {}).get("type") for r in server.requests]


async def test_auto_steps_down_to_json_object_with_schema_when_json_schema_is_refused(
    gateway: Gateway,
) -> None:
    """A 500 naming response_format (llama.cpp's answer) moves the same call one rung down."""
    server_formats = {"text", "json_object"}
    with FakeOpenAI([completion(SCORE)], formats=server_formats) as server:
        llm = gateway(server)
        reply = await llm.complete(request())
    assert kinds(server) == ["json_schema", "json_object"]
    sent = server.requests[1].body
    assert sent["response_format"]["schema"]["properties"]["score"]["maximum"] == 100
    assert '"score": integer 0..100' in sent["messages"][0]["content"]
    assert reply.extra["structured_mode"] == "json_object_schema"
    assert reply.extra["structured_refused"] == ("json_schema",)
    assert llm.structured_rung() is Rung.JSON_OBJECT_SCHEMA
    assert parse_reply(Stage.SCORING, reply) == ScoreReply(**SCORE)


async def test_a_call_that_starts_on_the_lower_rung_still_names_the_refused_one(
    gateway: Gateway,
) -> None:
    """What the server refused is a fact about the server, not about the call that met it:
    when many calls are in flight, the first to answer may be one that never asked for
    json_schema, and the mode logged once must still say json_schema was refused."""
    with FakeOpenAI([completion(SCORE)] * 2, formats={"text", "json_object"}) as server:
        llm = gateway(server)
        await llm.complete(request())
        later = await llm.complete(request())
    assert kinds(server) == ["json_schema", "json_object", "json_object"]
    assert later.extra["structured_mode"] == "json_object_schema"
    assert later.extra["structured_refused"] == ("json_schema",)


async def test_a_400_naming_response_format_also_steps_down(gateway: Gateway) -> None:
    """vLLM-style 400s count as a refusal, and the next call starts on the working rung."""
    script: list[Response] = [
        response_format_refused(status=400),
        completion(SCORE),
        completion(SCORE),
    ]
    with FakeOpenAI(script) as server:
        llm = gateway(server)
        await llm.complete(request())
        await llm.complete(request())
    assert kinds(server) == ["json_schema", "json_object", "json_object"]


async def test_the_working_rung_is_remembered_in_the_run_directory(
    gateway: Gateway, tmp_path: Path
) -> None:
    """A second gateway on the same base URL and model starts where the first one landed."""
    memory = ModeMemory(tmp_path / MODES_FILE)
    with FakeOpenAI(
        [completion(SCORE), completion(SCORE)], formats={"text", "json_object"}
    ) as server:
        await gateway(server, memory=memory).complete(request())
        await gateway(server, memory=memory).complete(request())
        key = ModeMemory.key(server.url, "local-model")
    assert kinds(server) == ["json_schema", "json_object", "json_object"]
    assert json.loads((tmp_path / MODES_FILE).read_text()) == {key: "json_object_schema"}


async def test_a_pinned_mode_that_is_refused_says_to_use_auto(gateway: Gateway) -> None:
    """--structured json_schema never steps down; the error names the fix."""
    with (
        FakeOpenAI(formats={"text", "json_object"}) as server,
        pytest.raises(ProviderError) as caught,
    ):
        await gateway(server, structured="json_schema").complete(request())
    assert len(server.requests) == 1
    assert str(caught.value).endswith(
        "; the server refuses structured mode json_schema: run with --structured auto."
    )


async def test_json_object_mode_falls_back_to_plain_json_object(gateway: Gateway) -> None:
    """--structured json_object tries the schema first, then plain json_object."""
    script: list[Response] = [response_format_refused("json_object", status=422), completion(SCORE)]
    with FakeOpenAI(script) as server:
        reply = await gateway(server, structured="json_object").complete(request())
    assert [r.body["response_format"] for r in server.requests][1] == {"type": "json_object"}
    assert reply.extra["structured_mode"] == "json_object"


async def test_prompt_mode_sends_no_response_format_and_reads_a_fenced_reply(
    gateway: Gateway,
) -> None:
    """The prompt carries the schema; a reply in a code fence still parses."""
    fenced = "```json\n" + json.dumps(SCORE) + "\n```"
    with FakeOpenAI([completion(fenced)]) as server:
        reply = await gateway(server, structured="prompt").complete(request())
    (sent,) = server.requests
    assert "response_format" not in sent.body
    assert "exactly one JSON object" in sent.body["messages"][0]["content"]
    assert parse_reply(Stage.SCORING, reply) == ScoreReply(**SCORE)


async def test_an_out_of_range_score_from_a_weaker_mode_is_still_caught(gateway: Gateway) -> None:
    """ "score": 102 from a grammar-constrained reply is a schema mismatch, as in strict mode."""
    with FakeOpenAI([completion({**SCORE, "score": 102})], formats={"json_object"}) as server:
        reply = await gateway(server).complete(request())
    assert reply.extra["structured_mode"] == "json_object_schema"
    with pytest.raises(SchemaMismatch) as caught:
        parse_reply(Stage.SCORING, reply)
    assert caught.value.errors == ("score: Input should be less than or equal to 100",)


async def test_the_caller_logs_the_mode_once_per_model(gateway: Gateway) -> None:
    """Three calls, one structured_output event naming the rung and what was refused."""
    capture = LogCapture()
    log = structlog.wrap_logger(None, processors=[capture])
    script = [completion(SCORE)] * 3
    with FakeOpenAI(script, formats={"text", "json_object"}) as server:
        caller = LlmCaller(gateway(server))
        for _ in range(3):
            await caller.call(request(), log=log)
    events = [e for e in capture.entries if e["event"] == "structured_output"]
    assert events == [
        {
            "event": "structured_output",
            "log_level": "info",
            "model": "local-model",
            "mode": "json_object_schema",
            "refused": ["json_schema"],
        }
    ]


def test_the_schema_sketch_is_compact_and_complete() -> None:
    """The prompt's description of the scoring schema names every field and its range."""
    assert describe_schema(reply_schema(Stage.SCORING)) == (
        '{"fit": "high"|"medium"|"low", "score": integer 0..100, '
        '"confidence": number 0.0..1.0, "reasons": [string]}'
    )
    research = describe_schema(reply_schema(Stage.RESEARCH))
    assert research == (
        '{"summary": string, "claims": [{"text": string (not empty), "evidence_ids": '
        '[string, at least 1], "quote": string (not empty)}]}'
    )


def test_an_unknown_mode_is_a_usage_error() -> None:
    """A mode outside the ladder names the choices."""
    with pytest.raises(UsageError) as caught:
        OpenAiLlm(model="m", api_key=SECRET, structured="grammar")
    assert str(caught.value) == (
        "structured='grammar' is not a mode; pick one of auto|json_schema|json_object|prompt"
    )
