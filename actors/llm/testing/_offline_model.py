"""A script that answers like a flawless model: the offline engine, fed the prompt's data.

With it, ``FakeOpenAI`` is an OpenAI-compatible server that runs the whole pipeline, on
any structured-output rung: the stage is read from the data the prompt carries.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, final

import anyio

from actors.llm._gateway import LlmRequest
from actors.llm._offline import OfflineLlm
from actors.llm.testing._server import Response, completion
from messages import Stage


def stage_of(data: Mapping[str, Any]) -> Stage:
    """The stage a prompt's data is for: research has evidence, scoring an ICP score."""
    if "evidence" in data:
        return Stage.RESEARCH
    if "icp_score" in data:
        return Stage.SCORING
    return Stage.WRITING


@final
class OfflineModel:
    """``FakeOpenAI``'s script for a model that gets everything right (``imperfection_rate``
    0 by default), answering in the model name ``reply_model`` when given."""

    def __init__(self, *, imperfection_rate: float = 0.0, reply_model: str | None = None) -> None:
        self.engine = OfflineLlm(seed=0, imperfection_rate=imperfection_rate)
        self.reply_model = reply_model

    def __call__(self, body: Mapping[str, Any], number: int) -> Response:
        messages = [m for m in body.get("messages") or () if isinstance(m, Mapping)]
        system = next((m["content"] for m in messages if m.get("role") == "system"), "")
        user = next(m["content"] for m in messages if m.get("role") == "user")
        if "<data>" not in user:
            return completion("OK")  # a preflight's tiny call, before any lead
        data = json.loads(user.split("<data>\n", 1)[1].split("\n</data>", 1)[0])
        stage = stage_of(data)
        request = LlmRequest(
            stage=stage,
            schema_name=f"{stage.value}_reply",
            json_schema={},
            system=system,
            prompt=user,
            inputs=data,
            trace_id=str(
                data.get("lead", {}).get("lead_id")
                or data.get("company", {}).get("domain")
                or number
            ),
        )
        # The handler thread has no event loop of its own: run the engine in a fresh one.
        reply = anyio.run(self.engine.complete, request)
        return completion(reply.text, model=self.reply_model)
