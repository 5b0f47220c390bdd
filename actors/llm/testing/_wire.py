"""The OpenAI wire format the fake server speaks: its routes, and the JSON bodies of a chat
completion, an error and a list of models."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from actors.llm._tokens import CHARS_PER_TOKEN
from actors.llm.testing._responses import Completion

PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})
MODEL_PATHS = frozenset({"/v1/models", "/models"})


def prompt_tokens(reply: Completion, request: Mapping[str, Any]) -> int:
    """The prompt tokens a completion reports: as scripted, or counted from the messages."""
    if reply.prompt_tokens is not None:
        return reply.prompt_tokens
    messages = request.get("messages") or []
    prompt_chars = sum(len(str(m.get("content") or "")) for m in messages if isinstance(m, dict))
    return max(1, prompt_chars // CHARS_PER_TOKEN)


def completion_body(
    reply: Completion,
    request: Mapping[str, Any],
    number: int,
    *,
    model: str,
    prompt_tokens: int,
    cached_tokens: int,
) -> bytes:
    """A ``chat.completion`` answering ``request`` (the ``number``-th) with ``reply``; it
    names ``reply.model``, else the requested model, else ``model``."""
    completion_tokens = reply.completion_tokens
    if completion_tokens is None:
        completion_tokens = max(1, len(reply.content or reply.refusal or "") // 4)
    payload = {
        "id": f"chatcmpl-fake-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": reply.model or request.get("model") or model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": reply.content,
                    "refusal": reply.refusal,
                },
                "finish_reason": reply.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens},
        },
    }
    return json.dumps(payload).encode()


def error_body(message: str, type_: str, code: str | None = None) -> bytes:
    """An OpenAI-style error: ``{"error": {"message", "type", "param", "code"}}``."""
    error = {"message": message, "type": type_, "param": None, "code": code}
    return json.dumps({"error": error}).encode()


def models_body(models: Iterable[str]) -> bytes:
    """The answer to ``GET /models``: a list of ``models``."""
    data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in models]
    return json.dumps({"object": "list", "data": data}).encode()
