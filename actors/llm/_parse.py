"""Turning a raw reply into a stage's reply model, or a precise error."""

from __future__ import annotations

import json

from pydantic import BaseModel, ValidationError

from actors.llm._gateway import LlmReply
from actors.llm._replies import REPLY_TYPES
from messages import MalformedReply, SchemaMismatch, Stage


def parse_reply(stage: Stage, reply: LlmReply) -> BaseModel:
    """Parse and validate ``reply`` against ``stage``'s schema.

    Raises ``MalformedReply`` for text that is not a JSON object (cut short, refused,
    prose) and ``SchemaMismatch`` for JSON that does not fit; both keep the raw text.
    """
    text = reply.text
    if reply.finish_reason == "length":
        raise MalformedReply("The reply was cut short (finish_reason=length).", raw=text)
    if reply.finish_reason == "refusal":
        raise MalformedReply("The model refused to answer.", raw=text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedReply(
            f"The reply is not JSON: {exc.msg} at offset {exc.pos}.", raw=text
        ) from None
    if not isinstance(data, dict):
        raise MalformedReply(
            f"The reply is JSON but not an object: {type(data).__name__}.", raw=text
        )
    try:
        return REPLY_TYPES[stage].model_validate(data)
    except ValidationError as exc:
        errors = tuple(
            f"{'.'.join(str(part) for part in error['loc']) or '<root>'}: {error['msg']}"
            for error in exc.errors()
        )
        raise SchemaMismatch(
            f"The reply does not fit the {stage.value} schema: {'; '.join(errors)}",
            raw=text,
            errors=errors,
        ) from None
