"""A gateway whose replies come from a function: the seam for scripting LLM behaviour in tests."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import final

from anyio.lowlevel import checkpoint

from actors.llm._gateway import LlmReply, LlmRequest

Script = Callable[[LlmRequest], "str | LlmReply | Awaitable[str | LlmReply]"]


@final
class FunctionLlm:
    """Answers each request with ``script(request)``: text, a full reply, or an exception.

    The script may be async, to hold a call open until a test lets it go. ``requests``
    records every request in order.
    """

    def __init__(self, script: Script, *, model: str = "function-1") -> None:
        self.script = script
        self.model = model
        self.requests: list[LlmRequest] = []

    inner = None
    """A backend: it wraps no gateway."""

    @property
    def provider_name(self) -> str:
        return "leadwright.function"

    @property
    def model_name(self) -> str:
        return self.model

    async def complete(self, request: LlmRequest) -> LlmReply:
        self.requests.append(request)
        await checkpoint()
        result = self.script(request)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, LlmReply):
            return result
        return LlmReply(
            text=result,
            model=request.model or self.model,
            prompt_tokens=max(1, len(request.prompt) // 4),
            completion_tokens=max(1, len(result) // 4),
            latency_s=0.0,
        )

    async def aclose(self) -> None:
        """Nothing to release: the script holds what it holds."""
